//! The `vetted` command: parses arguments, calls the scanner or the repository, prints.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use vetted_scan::catalog::catalog;
use vetted_scan::report::{Report, sarif, text};
use vetted_scan::{Profile, ScanOptions};

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
    /// Administer the repository (users).
    Admin(AdminArgs),
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
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

#[derive(Clone, Copy, ValueEnum)]
enum ProfileArg {
    /// plugins.qgis.org's rule catalog (enabled rules, max line length 120).
    Qgis,
    /// What bandit, detect-secrets and flake8 run with no options.
    ToolDefaults,
}

#[derive(clap::Args)]
struct ScanArgs {
    /// Plugin ZIP, plugin folder, folder or file.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "qgis")]
    profile: ProfileArg,
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
}

#[derive(clap::Args)]
struct RulesArgs {
    /// Only this family: package, bandit, secrets, flake8, files.
    #[arg(long)]
    family: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan(args),
        Command::Rules(args) => rules(args),
        Command::Serve(args) => repository::serve(args),
        Command::Worker(args) => repository::worker(args),
        Command::Admin(args) => repository::admin(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("vetted: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn scan(args: ScanArgs) -> anyhow::Result<u8> {
    let options = ScanOptions {
        profile: match args.profile {
            ProfileArg::Qgis => Profile::Qgis,
            ProfileArg::ToolDefaults => Profile::ToolDefaults,
        },
        select: args.select,
        ignore: args.ignore,
        skip: args.skip,
        new_plugin: args.new_plugin,
        ..Default::default()
    };
    let mut reports: Vec<Report> = Vec::new();
    for path in &args.paths {
        reports.push(vetted_scan::scan_path(path, &options)?);
    }
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = to_terminal && std::env::var_os("NO_COLOR").is_none();
    let rendered = match args.format {
        Format::Text => {
            let mut s = String::new();
            for r in &reports {
                if reports.len() > 1 {
                    s.push_str(&format!("== {}\n", r.target.path));
                }
                s.push_str(&text::render(r, text::Style { color }));
            }
            s
        }
        Format::Json => {
            let s = if reports.len() == 1 {
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
    Ok(reports
        .iter()
        .map(|r| r.exit_code() as u8)
        .max()
        .unwrap_or(0))
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
