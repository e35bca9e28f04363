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
    /// Seconds a worker holds a scan job before another worker may take it over.
    #[arg(long, default_value_t = 300)]
    lease_secs: u64,
    /// Claims of a scan job before the version fails closed as `scan_error`.
    #[arg(long, default_value_t = 3)]
    max_attempts: i64,
    /// Test hook: pause this many milliseconds before each scan.
    #[arg(long, hide = true)]
    test_scan_delay_ms: Option<u64>,
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
    /// The verdict policy: show it, preview a switch, or switch.
    Policy(PolicyArgs),
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

fn config(data: &DataArgs, run: Option<&RunArgs>) -> Config {
    let mut c = Config::new(data.data.clone());
    c.database_url = data.database_url.clone().filter(|u| !u.is_empty());
    if let Some(run) = run {
        c.smtp_url = run.smtp_url.clone().filter(|u| !u.is_empty());
        c.mail_from = run.mail_from.clone();
        c.base_url = run.base_url.clone();
        c.lease = Duration::from_secs(run.lease_secs.max(1));
        c.max_attempts = run.max_attempts.max(1);
        c.test_scan_delay = run.test_scan_delay_ms.map(Duration::from_millis);
    }
    c
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
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
    let mut c = config(&args.data, Some(&args.run));
    c.bind = args.bind;
    c.run_worker = !args.no_worker;
    runtime()?.block_on(vetted_server::serve(c))?;
    Ok(0)
}

pub fn worker(args: WorkerArgs) -> anyhow::Result<u8> {
    init_logging();
    let c = config(&args.data, Some(&args.run));
    runtime()?.block_on(vetted_server::run_worker_process(c))?;
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
            let c = config(&a.data, None);
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
        AdminCommand::Policy(a) => policy(a),
    }
}

fn parse_policy(name: &str) -> anyhow::Result<vetted_scan::Policy> {
    name.parse().map_err(|e: String| anyhow::anyhow!(e))
}

fn policy(args: PolicyArgs) -> anyhow::Result<u8> {
    let c = config(args.action.data(), None);
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
