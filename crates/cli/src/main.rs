//! The `vetted` command: parses arguments, calls the scanner or the repository, prints.

mod config;
mod rule_doc;
mod stdin;
mod text_report;
mod upstream;
mod vendor;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use vetted_scan::catalog::catalog;
use vetted_scan::report::{Report, sarif};
use vetted_scan::{Profile, ScanOptions, Verdict};

mod repository;
use repository::{AdminArgs, ServeArgs, WorkerArgs};

/// Exit code for usage and I/O errors (0 validated, 1 blocked, 2 invalid package).
const EXIT_USAGE: u8 = 3;

#[derive(Parser)]
#[command(name = "vetted", version = version_line(), about = "Vet QGIS plugins: the repository's verdict on your machine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn version_line() -> &'static str {
    static LINE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LINE.get_or_init(|| {
        format!(
            "{} (ruleset {})",
            env!("CARGO_PKG_VERSION"),
            catalog().version()
        )
    })
}

#[derive(Subcommand)]
enum Command {
    /// Scan a plugin ZIP, a plugin folder, any folder or a single file.
    Scan(ScanArgs),
    /// List the rule catalog.
    Rules(RulesArgs),
    /// Run the plugin repository (web server, APIs, and scans unless --no-worker).
    Serve(ServeArgs),
    /// Run scan jobs for a repository whose server runs with --no-worker.
    Worker(WorkerArgs),
    /// Administer the repository (users, catalogue re-scans).
    Admin(AdminArgs),
    /// Upstream repositories: add, list and sync other plugins.xml feeds.
    Upstream(upstream::UpstreamArgs),
    /// Print the QGIS settings that point QGIS at this repository and disable the official one.
    QgisConfig(upstream::QgisConfigArgs),
    /// Write a static repository of the approved versions (plugins.xml, ZIPs, SHA256SUMS,
    /// index.html) into DIR, for a web server or a file share.
    Export(upstream::ExportArgs),
    /// Explain one rule: what, why, a bad and a good example, how to suppress and what it costs.
    Rule(RuleArgs),
    /// Third-party libraries: build the offline index that recognises vendored copies.
    Vendor(vendor::VendorArgs),
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum Format {
    Text,
    Json,
    Sarif,
    /// Bandit's JSON report (Bandit findings only).
    Bandit,
    /// A `.secrets.baseline`-shaped document (secrets only).
    DetectSecrets,
    /// Flake8's `path:line:col: CODE message` lines (Flake8 findings only).
    Flake8,
}

#[derive(Clone, Copy, ValueEnum, Debug)]
enum ProfileArg {
    /// plugins.qgis.org's rule catalog (enabled rules, max line length 120).
    Qgis,
    /// What bandit, detect-secrets and flake8 run with no options.
    ToolDefaults,
}

#[derive(Clone, Copy, ValueEnum, Debug)]
enum PolicyArg {
    /// plugins.qgis.org's decision: any enabled critical finding blocks.
    Qgis,
    /// Decide from the evidence: block, review or pass per finding (docs/policy.md).
    Vetted,
}

/// `--time-budget`: a positive number of seconds.
fn parse_time_budget(value: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a number of seconds"))?;
    if !secs.is_finite() || secs <= 0.0 || secs > 1e9 {
        return Err(format!(
            "{value:?}: the budget must be a positive number of seconds"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[derive(clap::Args, Debug)]
struct ScanArgs {
    /// Plugin ZIP, plugin folder, folder or file; `-` reads one file's source from stdin.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format [default: text, or `format` from the local config].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Rule profile [default: qgis, or `profile` from the local config].
    #[arg(long, value_enum)]
    profile: Option<ProfileArg>,
    /// Only run rules matching these codes, prefixes or family names (comma-separated).
    #[arg(long, value_delimiter = ',')]
    select: Vec<String>,
    /// Never run rules matching these codes, prefixes or family names (comma-separated).
    #[arg(long, value_delimiter = ',')]
    ignore: Vec<String>,
    /// Skip these rules as an uploader may (only skippable rules; findings go to `suppressed`).
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
    /// Apply the rules for a plugin's first version (package name must be a Python identifier).
    #[arg(long)]
    new_plugin: bool,
    /// Stop each scan after this many seconds (fractions allowed); a scan that runs out of time
    /// is blocked with an error, never passed. Unlimited when not given.
    #[arg(long, value_name = "SECS", value_parser = parse_time_budget)]
    time_budget: Option<std::time::Duration>,
    /// Print nothing when the plugin passes and only the verdict line otherwise.
    #[arg(long, short)]
    quiet: bool,
    /// Count findings per rule code, as flake8 --statistics (text: before the summary; other
    /// formats: on stderr).
    #[arg(long)]
    statistics: bool,
    /// The file name to report for source read from stdin (`vetted scan - --stdin-filename …`).
    #[arg(long, value_name = "PATH")]
    stdin_filename: Option<PathBuf>,
    /// Ignore vetted.toml and [tool.vetted] in pyproject.toml.
    #[arg(long)]
    no_config: bool,
    /// Verdict policy. The default stays qgis, so a local run gives plugins.qgis.org's verdict;
    /// a repository chooses its own (a new repository uses vetted).
    #[arg(long, value_enum, default_value = "qgis")]
    policy: PolicyArg,
    /// Offline index of published library files (`vetted vendor index`) to recognise vendored
    /// copies that carry no packaging metadata.
    #[arg(long, value_name = "FILE")]
    vendor_index: Option<PathBuf>,
}

#[derive(clap::Args)]
struct RuleArgs {
    /// A rule code from `vetted rules`, e.g. B602, AWSKeyDetector, E501, FILE_BINARY.
    code: String,
}

#[derive(clap::Args)]
struct RulesArgs {
    /// Only this family: package, bandit, secrets, flake8, files.
    #[arg(long)]
    family: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// The command line with only the `scan` subcommand: building clap's whole command tree costs
/// about half a millisecond, more than a small plugin's package checks. Anything this parser
/// does not accept (help, errors) goes to the full parser, so what a user sees is the same.
/// It has no version line: `--version` belongs to the top-level command, which the full parser
/// handles, and building that line means fingerprinting the whole rule catalog.
#[derive(Parser)]
#[command(name = "vetted")]
struct ScanCli {
    #[command(subcommand)]
    command: ScanOnly,
}

#[derive(Subcommand)]
enum ScanOnly {
    Scan(ScanArgs),
}

fn main() -> ExitCode {
    // The rule catalog is built from its tables on first use, a fraction of a millisecond that
    // every command needs: built here beside argument parsing and the first reads of a scan
    // instead of on their way. Whoever needs it first waits for it.
    let _ = std::thread::Builder::new()
        .name("vetted-catalog".into())
        .spawn(|| {
            let _ = catalog();
        });
    if std::env::args_os().nth(1).is_some_and(|a| a == "scan")
        && let Ok(ScanCli {
            command: ScanOnly::Scan(args),
        }) = ScanCli::try_parse()
    {
        return exit(scan(args));
    }
    // clap exits 2 on a usage error, which is our "invalid package": CI and pre-commit must be
    // able to tell a misconfigured call from a verdict, so usage errors exit 3.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Scan(args) => scan(args),
        Command::Rules(args) => rules(args),
        Command::Serve(args) => repository::serve(args),
        Command::Worker(args) => repository::worker(args),
        Command::Admin(args) => repository::admin(args),
        Command::Rule(args) => rule(args),
        Command::Vendor(args) => vendor::run(args),
        Command::Upstream(args) => upstream::run(args),
        Command::QgisConfig(args) => upstream::qgis_config(args),
        Command::Export(args) => upstream::export(args),
    };
    exit(result)
}

fn exit(result: anyhow::Result<u8>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("vetted: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn scan(mut args: ScanArgs) -> anyhow::Result<u8> {
    let stdin_source = stdin::StdinSource::take(&mut args.paths, args.stdin_filename.as_deref())?;
    // One local config per input; command-line flags win over it (config.rs says why it can
    // never change a verdict).
    let load_configs = || {
        args.paths
            .iter()
            .map(|p| {
                if args.no_config {
                    Ok(config::LocalConfig::default())
                } else {
                    config::LocalConfig::load(p)
                }
            })
            .collect::<anyhow::Result<Vec<_>>>()
    };
    // The profile is the only setting a config gives the scan itself. When the command line
    // names it, the configs (which may mean reading each ZIP's directory) are looked up while
    // the scan runs; otherwise first. Either way a broken config fails the run.
    let mut early_outcomes = None;
    let configs = match args.profile {
        Some(profile) => {
            let options = scan_options(&args, profile)?;
            let (outcomes, configs) = std::thread::scope(|scope| {
                let scanning =
                    scope.spawn(|| (std::time::Instant::now(), scan_all(&args.paths, &options)));
                let configs = load_configs();
                (scanning.join(), configs)
            });
            let outcomes = outcomes.map_err(|_| {
                anyhow::anyhow!("the scan stopped on an internal error (a bug: please report it)")
            })?;
            early_outcomes = Some(outcomes);
            configs?
        }
        None => load_configs()?,
    };
    let format = match args.format {
        Some(f) => f,
        None => first_setting(&configs, config::LocalConfig::format)?.unwrap_or(Format::Text),
    };
    let profile = match args.profile {
        Some(p) => p,
        None => {
            let chosen = first_setting(&configs, config::LocalConfig::profile)?;
            if matches!(chosen, Some(ProfileArg::ToolDefaults)) && !args.quiet {
                // A config file must not quietly turn a local run into a different verdict.
                eprintln!(
                    "vetted: profile tool-defaults from the local config: the repository scans with the qgis profile, so this verdict may differ from its verdict"
                );
            }
            chosen.unwrap_or(ProfileArg::Qgis)
        }
    };
    if format != Format::Text && !args.quiet {
        for c in configs.iter().filter(|c| !c.is_empty()) {
            eprintln!("vetted: local config {}", c.shown_files().join(", "));
        }
    }
    if !args.quiet {
        for plugin in args
            .paths
            .iter()
            .filter_map(|p| config::nested_plugin_folder(p))
        {
            eprintln!(
                "vetted: note: {} holds metadata.txt; scan that folder to get the package checks the repository runs",
                plugin.display()
            );
        }
    }
    let (started, outcomes) = match early_outcomes {
        Some(done) => done,
        None => {
            let options = scan_options(&args, profile)?;
            (std::time::Instant::now(), scan_all(&args.paths, &options))
        }
    };
    let mut reports: Vec<Report> = Vec::new();
    let mut report_configs: Vec<&config::LocalConfig> = Vec::new();
    let mut failures = 0usize;
    for ((path, outcome), config) in args.paths.iter().zip(outcomes).zip(&configs) {
        match outcome {
            Ok(mut report) => {
                if let Some(source) = &stdin_source {
                    source.rewrite(&mut report);
                }
                reports.push(report);
                report_configs.push(config);
            }
            Err(e) => {
                failures += 1;
                eprintln!("vetted: {}: {e}", path.display());
            }
        }
    }
    if args.paths.len() > 1 && !args.quiet {
        eprintln!("{}", summary_line(&reports, failures, started.elapsed()));
    }
    if reports.is_empty() {
        return Ok(EXIT_USAGE);
    }
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = to_terminal && std::env::var_os("NO_COLOR").is_none();
    if args.statistics && format != Format::Text {
        for r in &reports {
            eprint!("{}", text_report::statistics(r));
        }
    }
    let rendered = match format {
        Format::Text => {
            let mut s = String::new();
            let text_options = text_report::TextOptions {
                color,
                statistics: args.statistics,
            };
            for (r, config) in reports.iter().zip(&report_configs) {
                if args.quiet {
                    if let Some(line) = text_report::quiet_line(r) {
                        s.push_str(&line);
                        s.push('\n');
                    }
                    continue;
                }
                if args.paths.len() > 1 {
                    s.push_str(&format!("== {}\n", r.target.path));
                }
                s.push_str(&text_report::render(r, config, text_options));
            }
            s
        }
        Format::Json => {
            // One input gives one report; several give an array, even when some failed.
            let s = if args.paths.len() == 1 {
                serde_json::to_string_pretty(&reports[0])?
            } else {
                serde_json::to_string_pretty(&reports)?
            };
            s + "\n"
        }
        Format::Sarif => {
            let mut runs = Vec::new();
            for r in &reports {
                let mut v = sarif::render(r);
                if let Some(run) = v["runs"].as_array_mut().and_then(|a| a.pop()) {
                    runs.push(run);
                }
            }
            let doc = serde_json::json!({ "$schema": sarif::SCHEMA_URI, "version": "2.1.0", "runs": runs });
            serde_json::to_string_pretty(&doc)? + "\n"
        }
        Format::Bandit => reports
            .iter()
            .map(vetted_scan::bandit::render_report)
            .collect(),
        Format::DetectSecrets => reports
            .iter()
            .map(vetted_scan::secrets::render_report)
            .collect(),
        Format::Flake8 => reports
            .iter()
            .map(vetted_scan::flake8::render_report)
            .collect(),
    };
    match &args.output {
        Some(path) => std::fs::write(path, rendered)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`vetted scan … | head`) is not an error worth a panic.
            let _ = out.write_all(rendered.as_bytes());
        }
    }
    if failures > 0 {
        return Ok(EXIT_USAGE);
    }
    Ok(reports
        .iter()
        .map(|r| r.exit_code() as u8)
        .max()
        .unwrap_or(0))
}

/// What the scanner is asked to do, from the command line and the chosen profile.
fn scan_options(args: &ScanArgs, profile: ProfileArg) -> anyhow::Result<ScanOptions> {
    Ok(ScanOptions {
        profile: match profile {
            ProfileArg::Qgis => Profile::Qgis,
            ProfileArg::ToolDefaults => Profile::ToolDefaults,
        },
        select: args.select.clone(),
        ignore: args.ignore.clone(),
        skip: args.skip.clone(),
        new_plugin: args.new_plugin,
        policy: match args.policy {
            PolicyArg::Qgis => vetted_scan::Policy::Qgis,
            PolicyArg::Vetted => vetted_scan::Policy::Vetted,
        },
        vendor_index: match &args.vendor_index {
            Some(path) => Some(std::sync::Arc::new(vendor::load_index(path)?)),
            None => None,
        },
        time_budget: args.time_budget,
        ..Default::default()
    })
}

/// Scans every input, several at a time when there are several (each input on one thread,
/// one input per core); a single input spreads its files over the cores instead. Results come
/// back in the order of `paths`. A progress bar shows on a terminal.
fn scan_all(
    paths: &[PathBuf],
    options: &ScanOptions,
) -> Vec<Result<Report, vetted_scan::TargetError>> {
    if paths.len() == 1 {
        return vec![vetted_scan::scan_path(&paths[0], options)];
    }
    let per_input = ScanOptions {
        threads: 1,
        ..options.clone()
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(paths.len());
    let progress = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(paths.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} inputs, {elapsed} elapsed, {eta} left  {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<Result<Report, vetted_scan::TargetError>>>> =
        paths.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    let outcome = vetted_scan::scan_path(path, &per_input);
                    if let Ok(mut slot) = slots[i].lock() {
                        *slot = Some(outcome);
                    }
                    progress.set_message(path.display().to_string());
                    progress.inc(1);
                }
            });
        }
    });
    progress.finish_and_clear();
    slots
        .into_iter()
        .map(|slot| {
            slot.into_inner().ok().flatten().unwrap_or_else(|| {
                Err(vetted_scan::TargetError(
                    "the scan of this input did not finish".into(),
                ))
            })
        })
        .collect()
}

/// `12 inputs: 9 validated, 2 blocked, 1 invalid, 0 not readable; 31 findings in 0.84 s`
/// (and `n need review` when a policy sent some there).
fn summary_line(reports: &[Report], failures: usize, elapsed: std::time::Duration) -> String {
    let count = |v: Verdict| reports.iter().filter(|r| r.verdict == v).count();
    let findings: usize = reports.iter().map(|r| r.findings.len()).sum();
    let review = match count(Verdict::Review) {
        0 => String::new(),
        n => format!(" ({n} need review)"),
    };
    format!(
        "{} inputs: {} validated{review}, {} blocked, {} invalid, {} not readable; {} findings in {:.2} s",
        reports.len() + failures,
        count(Verdict::Validated) + count(Verdict::Review),
        count(Verdict::Blocked),
        count(Verdict::Invalid),
        failures,
        findings,
        elapsed.as_secs_f64()
    )
}

/// The first value a local config sets, in input order.
fn first_setting<T>(
    configs: &[config::LocalConfig],
    get: impl Fn(&config::LocalConfig) -> anyhow::Result<Option<T>>,
) -> anyhow::Result<Option<T>> {
    for c in configs {
        if let Some(v) = get(c)? {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

fn rule(args: RuleArgs) -> anyhow::Result<u8> {
    let Some(doc) = rule_doc::render(&args.code) else {
        let hint = rule_doc::suggest(&args.code)
            .map(|c| format!("; did you mean {c}?"))
            .unwrap_or_else(|| "; `vetted rules` lists every code".to_string());
        anyhow::bail!("no rule {:?}{hint}", args.code);
    };
    let _ = std::io::stdout().lock().write_all(doc.as_bytes());
    Ok(0)
}

fn rules(args: RulesArgs) -> anyhow::Result<u8> {
    let cat = catalog();
    let selected: Vec<_> = cat
        .rules()
        .iter()
        .filter(|r| args.family.as_deref().is_none_or(|f| r.check.id() == f))
        .collect();
    if selected.is_empty() {
        anyhow::bail!(
            "no rules for family {:?}; families are package, bandit, secrets, flake8, files",
            args.family.unwrap_or_default()
        );
    }
    let mut out = String::new();
    match args.format {
        Format::Json | Format::Sarif | Format::Bandit | Format::DetectSecrets | Format::Flake8 => {
            out = serde_json::to_string_pretty(&selected)? + "\n"
        }
        Format::Text => {
            out.push_str(&format!(
                "{:<8} {:<28} {:<9} {:<8} {:<10} {}\n",
                "family", "code", "severity", "enabled", "skippable", "name"
            ));
            for r in selected {
                out.push_str(&format!(
                    "{:<8} {:<28} {:<9} {:<8} {:<10} {}\n",
                    r.check.id(),
                    r.code,
                    r.severity.as_str(),
                    r.enabled,
                    r.skippable,
                    r.name
                ));
            }
        }
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `vetted scan …` parsed by the scan-only command line gives the same arguments as the
    /// full one, and what it refuses the full one refuses too.
    #[test]
    fn scan_only_command_line_agrees_with_the_full_one() {
        use clap::CommandFactory;
        ScanCli::command().debug_assert();
        for argv in [
            vec!["vetted", "scan", "a.zip"],
            vec![
                "vetted",
                "scan",
                "--profile",
                "tool-defaults",
                "--format",
                "json",
                "a.zip",
                "b",
            ],
            vec![
                "vetted",
                "scan",
                "--select",
                "bandit,B6",
                "--ignore",
                "E501",
                "-q",
                "dir/",
            ],
        ] {
            let Ok(ScanCli {
                command: ScanOnly::Scan(fast),
            }) = ScanCli::try_parse_from(&argv)
            else {
                panic!("scan-only parser refused {argv:?}");
            };
            let Ok(Cli {
                command: Command::Scan(full),
            }) = Cli::try_parse_from(&argv)
            else {
                panic!("full parser refused {argv:?}");
            };
            assert_eq!(format!("{fast:?}"), format!("{full:?}"), "{argv:?}");
        }
        for argv in [
            vec!["vetted", "scan", "--no-such-flag", "a.zip"],
            vec!["vetted", "scan", "--help"],
            vec!["vetted", "scan", "--format", "nope", "a.zip"],
        ] {
            assert!(ScanCli::try_parse_from(&argv).is_err(), "{argv:?}");
            assert!(Cli::try_parse_from(&argv).is_err(), "{argv:?}");
        }
    }
}
