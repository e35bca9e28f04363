//! `vetted serve`, `vetted worker` and `vetted admin`: flags into a `vetted_server::Config`,
//! then hand over to the server crate.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use vetted_server::{Config, Role};

/// Where the repository keeps its data; shared by every repository subcommand.
#[derive(clap::Args, Clone)]
pub struct DataArgs {
    /// Data folder: SQLite database, uploaded files, email outbox.
    #[arg(long, default_value = "./vetted-data")]
    data: PathBuf,
    /// Use PostgreSQL (postgres://…) instead of SQLite in the data folder.
    #[arg(long, env = "VETTED_DATABASE_URL")]
    database_url: Option<String>,
    /// Where uploaded files go: a folder, file:///PATH, or
    /// s3://BUCKET[/PREFIX]?endpoint=URL&region=R&path_style=true&allow_http=true&timeout=SECS
    /// (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). Default: DATA/files.
    #[arg(long, env = "VETTED_STORAGE")]
    storage: Option<String>,
}

/// How scans and emails run; shared by `serve` and `worker`.
#[derive(clap::Args, Clone)]
pub struct RunArgs {
    /// SMTP server: smtp://host:port, smtp://user:pass@host:587?tls=required or smtps://host;
    /// without it emails go to DATA/outbox/.
    #[arg(long, env = "VETTED_SMTP_URL")]
    smtp_url: Option<String>,
    /// Sender of the repository's emails.
    #[arg(long, default_value = "Vetted <vetted@localhost>")]
    mail_from: String,
    /// Public URL of the repository (used in plugins.xml and emails).
    #[arg(long)]
    base_url: Option<String>,
    /// Mark session cookies `Secure` (implied by an https --base-url); for a TLS proxy in front.
    #[arg(long)]
    secure_cookies: bool,
    /// Seconds a worker holds a scan job before another worker may take it over.
    #[arg(long, default_value_t = 300)]
    lease_secs: u64,
    /// Claims of a scan job before the version fails closed as `scan_error`.
    #[arg(long, default_value_t = 3)]
    max_attempts: i64,
    /// Scan jobs this process runs at once.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Seconds one scan job may take before it fails closed (blocked with an error); keep it
    /// below --lease-secs.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    scan_time_budget: u64,
    /// Stored files that no version names are removed once this many seconds old.
    #[arg(long, default_value_t = 24 * 3600)]
    orphan_grace_secs: u64,
    /// On SIGTERM, seconds a running scan may take to finish; after that its job is handed
    /// back to the queue for another worker.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    shutdown_grace_secs: u64,
    /// Test hook: pause this many milliseconds before each scan.
    #[arg(long, hide = true)]
    test_scan_delay_ms: Option<u64>,
    /// Seconds between scheduled syncs of each upstream (an upstream's own interval, set with
    /// `vetted upstream schedule`, wins); 0 turns scheduled syncs off. Any number of servers
    /// and workers may run the schedule: one database lease per upstream keeps each sync single.
    #[arg(long, value_name = "SECS", default_value_t = 6 * 3600)]
    upstream_sync_interval: u64,
}

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    run: RunArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Do not scan in this process; run `vetted worker` processes instead.
    #[arg(long)]
    no_worker: bool,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Limits on one client (`serve`): request bodies, brute force and request rates. The counts
/// live in the database, so every server sharing it shares them. 0 turns a limit off.
#[derive(clap::Args, Clone)]
pub struct LimitArgs {
    /// Largest plugin ZIP accepted, in MB; a request declaring a larger body is refused before
    /// it is read.
    #[arg(long, value_name = "MB", default_value_t = 25)]
    max_upload_mb: usize,
    /// Seconds a request body may take to arrive before it is cut (408).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    body_timeout_secs: u64,
    /// A reverse proxy whose X-Forwarded-For header names the client (repeatable). Without
    /// it the socket peer is the client and the header is ignored.
    #[arg(long, value_name = "IP")]
    trusted_proxy: Vec<std::net::IpAddr>,
    /// Seconds failed sign-ins and tokens are counted over; a client over a limit waits until
    /// the window ends. [default: 900]
    #[arg(long, value_name = "SECS")]
    failure_window_secs: Option<u64>,
    /// Failed sign-ins from one address per window. [default: 30]
    #[arg(long, value_name = "N")]
    sign_in_failures_per_ip: Option<u32>,
    /// Failed sign-ins for one account from one address per window. [default: 5]
    #[arg(long, value_name = "N")]
    sign_in_failures_per_account_ip: Option<u32>,
    /// Failed sign-ins for one account from all addresses per window. [default: 50]
    #[arg(long, value_name = "N")]
    sign_in_failures_per_account: Option<u32>,
    /// Unknown, expired or revoked tokens from one address per window. [default: 30]
    #[arg(long, value_name = "N")]
    token_failures_per_ip: Option<u32>,
    /// Uploads per hour by one user. [default: 60]
    #[arg(long, value_name = "N")]
    uploads_per_hour_user: Option<u32>,
    /// Uploads per hour from one address. [default: 300]
    #[arg(long, value_name = "N")]
    uploads_per_hour_ip: Option<u32>,
    /// Other writes per minute by one user. [default: 120]
    #[arg(long, value_name = "N")]
    writes_per_minute_user: Option<u32>,
    /// Other writes per minute from one address. [default: 600]
    #[arg(long, value_name = "N")]
    writes_per_minute_ip: Option<u32>,
    /// Reads (plugins.xml, downloads, pages) per minute from one address. [default: 0, off:
    /// many QGIS clients behind one NAT read plugins.xml at start-up]
    #[arg(long, value_name = "N")]
    reads_per_minute_ip: Option<u32>,
}

impl LimitArgs {
    fn apply(&self, c: &mut Config) {
        c.max_upload_bytes = self.max_upload_mb.max(1) * 1024 * 1024;
        c.body_timeout = Duration::from_secs(self.body_timeout_secs.max(1));
        c.trusted_proxies = self.trusted_proxy.clone();
        let l = &mut c.limits;
        if let Some(s) = self.failure_window_secs {
            l.failure_window = Duration::from_secs(s.max(1));
        }
        for (flag, field) in [
            (self.sign_in_failures_per_ip, &mut l.sign_in_failures_per_ip),
            (
                self.sign_in_failures_per_account_ip,
                &mut l.sign_in_failures_per_account_ip,
            ),
            (
                self.sign_in_failures_per_account,
                &mut l.sign_in_failures_per_account,
            ),
            (self.token_failures_per_ip, &mut l.token_failures_per_ip),
            (self.uploads_per_hour_user, &mut l.uploads_per_hour_user),
            (self.uploads_per_hour_ip, &mut l.uploads_per_hour_ip),
            (self.writes_per_minute_user, &mut l.writes_per_minute_user),
            (self.writes_per_minute_ip, &mut l.writes_per_minute_ip),
            (self.reads_per_minute_ip, &mut l.reads_per_minute_ip),
        ] {
            if let Some(v) = flag {
                *field = v;
            }
        }
    }
}

#[derive(clap::Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(clap::Subcommand)]
enum AdminCommand {
    /// Create a user (the first admin: --admin).
    CreateUser(CreateUserArgs),
    /// Re-scan stored versions with the current rules, after a rule or scanner change.
    Rescan(RescanArgs),
    /// List live worker processes and the scan jobs they hold.
    Workers(WorkersArgs),
    /// Remove stored files that no version names (left by crashes or replaced uploads).
    Sweep(SweepArgs),
    /// The verdict policy: show it, preview a switch, or switch.
    Policy(PolicyArgs),
    /// Revoke a version (uploaded or imported): out of plugins.xml, downloads refused (410).
    Revoke(crate::upstream::RevokeArgs),
    /// Lift a revocation; the version then waits for an approver again.
    Unrevoke(crate::upstream::UnrevokeArgs),
}

#[derive(clap::Args)]
struct WorkersArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(clap::Args)]
struct SweepArgs {
    /// Only files at least this many seconds old are removed (an upload in progress has
    /// written its file but not yet its row).
    #[arg(long, default_value_t = 24 * 3600)]
    grace_secs: u64,
    /// List what would be removed; remove nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(clap::Args)]
struct RescanArgs {
    /// Every stored version of every plugin.
    #[arg(long, conflicts_with = "plugin")]
    all: bool,
    /// Only the versions of this plugin (package name); repeatable.
    #[arg(long, value_name = "NAME")]
    plugin: Vec<String>,
    /// Scan here and list the versions whose status would change; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Scans this command runs itself while it waits (running `vetted worker` and `serve`
    /// processes share the queue); 0 leaves the work to them.
    #[arg(long, default_value_t = default_workers())]
    workers: usize,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    run: RunArgs,
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[derive(clap::Args)]
struct PolicyArgs {
    #[command(subcommand)]
    action: PolicyAction,
}

#[derive(clap::Subcommand)]
enum PolicyAction {
    /// Print the policy new scans use.
    Show {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Re-decide every stored version's latest report under POLICY and list the versions whose
    /// status would change; changes nothing.
    Preview {
        policy: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Use POLICY for every scan from now on (stored versions keep their status).
    Set {
        policy: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Recognise vendored libraries with this offline index (`vetted vendor index`) in every
    /// scan; without PATH, stop using one.
    VendorIndex {
        path: Option<std::path::PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
}

impl PolicyAction {
    fn data(&self) -> &DataArgs {
        match self {
            PolicyAction::Show { data }
            | PolicyAction::Preview { data, .. }
            | PolicyAction::Set { data, .. }
            | PolicyAction::VendorIndex { data, .. } => data,
        }
    }
}

#[derive(clap::Args)]
struct CreateUserArgs {
    name: String,
    #[arg(long)]
    email: String,
    /// Password (at least 8 characters).
    #[arg(long, env = "VETTED_PASSWORD")]
    password: String,
    #[command(flatten)]
    data: DataArgs,
    /// Administrator: rules, approvals, everything.
    #[arg(long, group = "role")]
    admin: bool,
    /// Staff approver.
    #[arg(long, group = "role")]
    staff: bool,
    /// Trusted uploader: may publish immediately.
    #[arg(long, group = "role")]
    trusted: bool,
}

pub(crate) fn config(data: &DataArgs, run: Option<&RunArgs>) -> anyhow::Result<Config> {
    let mut c = Config::new(data.data.clone());
    c.database_url = data.database_url.clone().filter(|u| !u.is_empty());
    if let Some(spec) = data.storage.as_deref().filter(|s| !s.is_empty()) {
        c.storage = Some(vetted_server::storage::StorageConfig::parse(spec)?);
    }
    if let Some(run) = run {
        c.smtp_url = run.smtp_url.clone().filter(|u| !u.is_empty());
        c.mail_from = run.mail_from.clone();
        c.base_url = run.base_url.clone();
        c.secure_cookies = run.secure_cookies;
        c.lease = Duration::from_secs(run.lease_secs.max(1));
        c.max_attempts = run.max_attempts.max(1);
        c.test_scan_delay = run.test_scan_delay_ms.map(Duration::from_millis);
        c.worker_concurrency = run.concurrency.max(1);
        c.scan_time_budget = Duration::from_secs(run.scan_time_budget.max(1));
        c.orphan_grace = Duration::from_secs(run.orphan_grace_secs);
        c.upstream_sync_interval = Duration::from_secs(run.upstream_sync_interval);
        c.shutdown_grace = Duration::from_secs(run.shutdown_grace_secs);
    }
    Ok(c)
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn serve(args: ServeArgs) -> anyhow::Result<u8> {
    init_logging();
    let mut c = config(&args.data, Some(&args.run))?;
    c.bind = args.bind;
    c.run_worker = !args.no_worker;
    args.limits.apply(&mut c);
    let rt = runtime()?;
    rt.block_on(vetted_server::serve(c))?;
    // A scan abandoned at shutdown (its job already handed back) may still be running on a
    // blocking thread; do not wait for it.
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(0)
}

pub fn worker(args: WorkerArgs) -> anyhow::Result<u8> {
    init_logging();
    let c = config(&args.data, Some(&args.run))?;
    let rt = runtime()?;
    rt.block_on(vetted_server::run_worker_process(c))?;
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(0)
}

pub fn admin(args: AdminArgs) -> anyhow::Result<u8> {
    match args.command {
        AdminCommand::CreateUser(a) => {
            let role = if a.admin {
                Role::Admin
            } else if a.staff {
                Role::Staff
            } else if a.trusted {
                Role::Trusted
            } else {
                Role::Plain
            };
            let c = config(&a.data, None)?;
            let id = runtime()?.block_on(vetted_server::create_user(
                c,
                &a.name,
                &a.email,
                &a.password,
                role,
            ))?;
            println!("created user {} (id {id}, {role:?})", a.name);
            Ok(0)
        }
        AdminCommand::Rescan(a) => rescan(a),
        AdminCommand::Workers(a) => list_workers(a),
        AdminCommand::Policy(a) => policy(a),
        AdminCommand::Sweep(a) => sweep(a),
        AdminCommand::Revoke(a) => crate::upstream::revoke(a),
        AdminCommand::Unrevoke(a) => crate::upstream::unrevoke(a),
    }
}

fn list_workers(a: WorkersArgs) -> anyhow::Result<u8> {
    let c = config(&a.data, None)?;
    runtime()?.block_on(async move {
        let db = vetted_server::db::Db::connect(&c).await?;
        let live = vetted_server::workers::live(&db).await?;
        let depth = vetted_server::workers::queue_depth(&db).await?;
        if a.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "workers": live,
                    "queued_jobs": depth,
                }))?
            );
            return Ok(0);
        }
        if live.is_empty() {
            println!("No live workers. {depth} job(s) queued.");
            return Ok(0);
        }
        let now = vetted_server::db::now();
        println!(
            "{} live worker process(es), {depth} job(s) queued:",
            live.len()
        );
        for w in &live {
            println!(
                "  {} (host {}, pid {}, {} at once, up {}s, seen {}s ago)",
                w.name,
                w.host,
                w.pid,
                w.concurrency,
                now - w.started_at,
                now - w.last_seen
            );
            for j in &w.jobs {
                println!(
                    "      job {} ({}, attempt {}) by {}, lease ends in {}s",
                    j.id,
                    j.kind,
                    j.attempts,
                    j.locked_by,
                    j.locked_until - now
                );
            }
        }
        Ok(0)
    })
}

fn sweep(a: SweepArgs) -> anyhow::Result<u8> {
    let c = config(&a.data, None)?;
    runtime()?.block_on(async move {
        let db = vetted_server::db::Db::connect(&c).await?;
        let storage = vetted_server::storage::Storage::open(&c.storage_config())?;
        let s = vetted_server::storage::sweep(
            &db,
            &storage,
            Duration::from_secs(a.grace_secs),
            a.dry_run,
        )
        .await?;
        println!(
            "{} stored file(s) in {}: {} named by a version, {} orphan(s) younger than {}s kept, {} orphan(s) {}.",
            s.objects,
            storage.describe(),
            s.referenced,
            s.young_orphans,
            a.grace_secs,
            s.removed.len(),
            if a.dry_run { "would be removed" } else { "removed" }
        );
        for k in &s.removed {
            println!("  {k}");
        }
        Ok(0)
    })
}

fn rescan(a: RescanArgs) -> anyhow::Result<u8> {
    use vetted_server::rescan::{self, Selection};
    if !a.all && a.plugin.is_empty() {
        anyhow::bail!("say which versions to re-scan: --all, or --plugin NAME");
    }
    let selection = Selection {
        plugins: a.plugin.clone(),
    };
    let c = config(&a.data, Some(&a.run))?;
    let base_url = c
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", c.bind));
    runtime()?.block_on(async move {
        let state = vetted_server::AppState::new(c, base_url).await?;
        let total = rescan::versions(&state, &selection).await?.len() as u64;
        let bar = progress_bar(total, if a.dry_run { "scanning" } else { "re-scanning" });
        if a.dry_run {
            let ticker = bar.clone();
            let plan = rescan::plan(&state, &selection, default_workers(), move || ticker.inc(1))
                .await?;
            bar.finish_and_clear();
            if a.json {
                println!("{}", serde_json::to_string_pretty(&plan)?);
            } else {
                println!(
                    "Dry run with ruleset {}: {} versions scanned, {} unchanged, {} would change, {} could not be scanned. Nothing was changed.",
                    vetted_scan::catalog::catalog().version(),
                    plan.scanned,
                    plan.unchanged,
                    plan.changes.len(),
                    plan.failures.len()
                );
                print_changes(&plan.changes, "would change");
                print_failures(&plan.failures);
            }
            return Ok(if plan.failures.is_empty() { 0 } else { 1 });
        }
        let before = rescan::versions(&state, &selection).await?;
        let batch = rescan::enqueue(&state, &selection).await?;
        let (stop, rx) = tokio::sync::watch::channel(false);
        let mut workers = Vec::new();
        for n in 0..a.workers {
            workers.push(tokio::spawn(vetted_server::jobs::run_worker(
                state.clone(),
                format!("admin-rescan-{}-{n}", std::process::id()),
                rx.clone(),
            )));
        }
        if a.workers == 0 {
            bar.println("Queued; waiting for `vetted worker` or `vetted serve` processes to take the jobs.");
        }
        loop {
            let p = rescan::progress(&state, &batch).await?;
            bar.set_length(p.finished() as u64 + (p.queued + p.running) as u64);
            bar.set_position(p.finished() as u64);
            if p.queued + p.running == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        let _ = stop.send(true);
        for w in workers {
            let _ = w.await;
        }
        bar.finish_and_clear();
        let after = rescan::versions(&state, &selection).await?;
        let changes = rescan::compare(&before, &after);
        let failures = rescan::failures(&state, &batch).await?;
        if a.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "scanned": batch.jobs,
                    "changes": changes,
                    "failures": failures,
                }))?
            );
        } else {
            println!(
                "Re-scanned {} versions with ruleset {}: {} changed status, {} failed.",
                batch.jobs,
                vetted_scan::catalog::catalog().version(),
                changes.len(),
                failures.len()
            );
            print_changes(&changes, "changed");
            print_failures(&failures);
        }
        Ok(if failures.is_empty() { 0 } else { 1 })
    })
}

fn progress_bar(total: u64, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{what} {{bar:40}} {{pos}}/{{len}} versions, {{elapsed}} (eta {{eta}})"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

fn print_changes(changes: &[vetted_server::rescan::Change], verb: &str) {
    if changes.is_empty() {
        return;
    }
    println!("Versions whose status {verb}:");
    for c in changes {
        let mut line = format!("  {} {}: {} -> {}", c.plugin, c.version, c.from, c.to);
        if c.approved && (c.to == "blocked" || c.to == "needs_review") {
            line.push_str(" (was approved: the approval is withdrawn)");
        }
        if !c.critical.is_empty() {
            line.push_str(&format!("; critical: {}", c.critical.join(", ")));
        }
        println!("{line}");
    }
}

fn print_failures(failures: &[vetted_server::rescan::Failure]) {
    if failures.is_empty() {
        return;
    }
    println!("Versions that could not be scanned (their status is unchanged):");
    for f in failures {
        println!("  {} {}: {}", f.plugin, f.version, f.error);
    }
}

fn parse_policy(name: &str) -> anyhow::Result<vetted_scan::Policy> {
    name.parse().map_err(|e: String| anyhow::anyhow!(e))
}

fn policy(args: PolicyArgs) -> anyhow::Result<u8> {
    let c = config(args.action.data(), None)?;
    runtime()?.block_on(async move {
        let db = vetted_server::db::Db::connect(&c).await?;
        match args.action {
            PolicyAction::Show { .. } => {
                let p = db.policy().await?;
                println!("{} {}", p.as_str(), p.version());
            }
            PolicyAction::Set { policy, .. } => {
                let p = parse_policy(&policy)?;
                db.set_policy(p).await?;
                println!(
                    "policy set to {} {}; stored versions keep their status until re-scanned",
                    p.as_str(),
                    p.version()
                );
            }
            PolicyAction::VendorIndex { path, .. } => match path {
                Some(path) => {
                    let path = std::fs::canonicalize(&path)
                        .with_context(|| format!("finding {}", path.display()))?;
                    // Refuse an index the scans could not read.
                    crate::vendor::load_index(&path)?;
                    let shown = path.display().to_string();
                    db.set_setting("vendor_index", Some(&shown)).await?;
                    println!("scans recognise vendored libraries with {shown}");
                }
                None => {
                    db.set_setting("vendor_index", None).await?;
                    println!("scans use no vendor index");
                }
            },
            PolicyAction::Preview { policy, .. } => {
                let p = parse_policy(&policy)?;
                let current = db.policy().await?;
                let changes = vetted_server::scan_job::preview_policy(&db, p).await?;
                println!(
                    "preview: {} {} (current policy {}); nothing is changed",
                    p.as_str(),
                    p.version(),
                    current.as_str()
                );
                for ch in &changes {
                    println!("{} {}: {} -> {}", ch.plugin, ch.version, ch.from, ch.to);
                }
                println!("{} version(s) would change status", changes.len());
            }
        }
        anyhow::Ok(0u8)
    })
}
