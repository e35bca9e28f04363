//! `vetted upstream add|list|search|allow|disallow|schedule|sync`: other plugins.xml feeds this
//! repository takes plugins from (the work is in `vetted_server::upstream`); `vetted admin
//! revoke|unrevoke`; `vetted qgis-config`; `vetted export`.

use crate::repository::{DataArgs, config, runtime};

#[derive(clap::Args)]
pub struct UpstreamArgs {
    #[command(subcommand)]
    command: UpstreamCommand,
}

#[derive(clap::Subcommand)]
enum UpstreamCommand {
    /// Add an upstream: NAME and the URL of its plugins.xml (http(s)://…, file:///…, or a path).
    Add {
        name: String,
        url: String,
        /// Seconds between this upstream's scheduled syncs (0: never); default: the server's
        /// --upstream-sync-interval.
        #[arg(long, value_name = "SECS")]
        sync_interval: Option<i64>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Search upstream NAME's catalogue: entries whose name, package, description, tags or
    /// author contain every word of QUERY (an empty QUERY lists everything).
    Search {
        name: String,
        #[arg(default_value = "")]
        query: String,
        /// Page (from 1).
        #[arg(long, default_value_t = 1)]
        page: usize,
        #[arg(long, default_value_t = 50)]
        per_page: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Stop importing PACKAGE from upstream NAME (versions already here stay).
    Disallow {
        name: String,
        package: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Set upstream NAME's schedule: SECS between syncs, 0 for never, `default` for the
    /// server's --upstream-sync-interval.
    Schedule {
        name: String,
        every: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List upstreams (catalogue size, allowed plugins, the last sync: new, changed, gone,
    /// imports), or with NAME that upstream's catalogue.
    List {
        name: Option<String>,
        /// Also list versions no longer in the upstream's feed.
        #[arg(long)]
        gone: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Allow PACKAGE from upstream NAME: pinned with --version, else followed (each new
    /// upstream version is imported at sync). Imports are uploaded as admin USER.
    Allow {
        name: String,
        package: String,
        /// Pin to this version.
        #[arg(long)]
        version: Option<String>,
        /// Approve an import as soon as its scan validates it (else it waits for an approver).
        #[arg(long)]
        approve_validated: bool,
        /// The admin the imports are recorded as uploaded by.
        #[arg(long, value_name = "USER")]
        by: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Fetch every upstream's feed (or NAME's), report what is new, changed and gone, and
    /// import what allowed plugins want (scanned by the server's workers). Exits 1 when a sync
    /// failed.
    Sync {
        name: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArgs,
    },
}

pub fn run(args: UpstreamArgs) -> anyhow::Result<u8> {
    match args.command {
        UpstreamCommand::Add {
            name,
            url,
            sync_interval,
            data,
        } => {
            let c = config(&data, None)?;
            runtime()?.block_on(async move {
                let db = vetted_server::db::Db::connect(&c).await?;
                if sync_interval.is_some_and(|s| s < 0) {
                    anyhow::bail!("--sync-interval is a number of seconds, 0 for never");
                }
                let u = vetted_server::upstream::add(&db, &name, &url).await?;
                if sync_interval.is_some() {
                    vetted_server::upstream::set_interval(&db, &name, sync_interval).await?;
                }
                println!("added upstream {} ({})", u.name, u.url);
                Ok(0)
            })
        }
        UpstreamCommand::Search {
            name,
            query,
            page,
            per_page,
            json,
            data,
        } => {
            let c = config(&data, None)?;
            runtime()?.block_on(async move {
                let db = vetted_server::db::Db::connect(&c).await?;
                let u = vetted_server::upstream::named(&db, &name).await?;
                if page == 0 || per_page == 0 || per_page > 500 {
                    anyhow::bail!("--page counts from 1; --per-page is 1 to 500");
                }
                let found =
                    vetted_server::upstream::search(&db, u.id, &query, page, per_page).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&found)?);
                    return Ok(0);
                }
                let pages = found.total.div_ceil(found.per_page).max(1);
                println!(
                    "{} match(es) in {name}'s catalogue; page {} of {pages}",
                    found.total, found.page
                );
                for e in &found.entries {
                    let field = |k: &str| {
                        serde_json::from_str::<serde_json::Value>(&e.fields)
                            .ok()
                            .and_then(|f| f.get(k).and_then(|v| v.as_str()).map(str::to_string))
                            .unwrap_or_default()
                    };
                    println!(
                        "{}\t{}\t{}{}\t{}\t{}",
                        e.package_name,
                        e.version,
                        e.name,
                        if e.experimental != 0 {
                            " (experimental)"
                        } else {
                            ""
                        },
                        field("author_name"),
                        one_line(&field("description"), 80)
                    );
                }
                Ok(0)
            })
        }
        UpstreamCommand::Disallow {
            name,
            package,
            data,
        } => {
            let c = config(&data, None)?;
            runtime()?.block_on(async move {
                let db = vetted_server::db::Db::connect(&c).await?;
                let u = vetted_server::upstream::named(&db, &name).await?;
                if !vetted_server::upstream::import::disallow(&db, &u, &package).await? {
                    anyhow::bail!("{package:?} is not allowed from upstream {name:?}");
                }
                println!(
                    "{package} is no longer taken from {name}; versions already imported stay"
                );
                Ok(0)
            })
        }
        UpstreamCommand::Schedule { name, every, data } => {
            let interval = match every.as_str() {
                "default" => None,
                s => Some(s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                    anyhow::anyhow!("expected seconds, 0 for never, or `default` (got {s:?})")
                })?),
            };
            let c = config(&data, None)?;
            runtime()?.block_on(async move {
                let db = vetted_server::db::Db::connect(&c).await?;
                vetted_server::upstream::set_interval(&db, &name, interval).await?;
                match interval {
                    None => println!("{name} follows the server's --upstream-sync-interval"),
                    Some(0) => println!("{name} is no longer synced on a schedule"),
                    Some(s) => println!("{name} is synced every {s} seconds"),
                }
                Ok(0)
            })
        }
        UpstreamCommand::List {
            name,
            gone,
            json,
            data,
        } => {
            let c = config(&data, None)?;
            runtime()?.block_on(async move {
                let db = vetted_server::db::Db::connect(&c).await?;
                match name {
                    None => {
                        let all = vetted_server::upstream::summaries(&db).await?;
                        if json {
                            println!("{}", serde_json::to_string_pretty(&all)?);
                        } else if all.is_empty() {
                            println!("No upstreams. Add one with `vetted upstream add NAME URL`.");
                        }
                        if !json {
                            let now = vetted_server::db::now();
                            for s in &all {
                                let u = &s.upstream;
                                let last = match (&s.last_report, &u.last_error, u.last_sync_at) {
                                    (Some(r), _, _) => match &r.error {
                                        Some(e) => format!("last sync {} ago failed: {e}", ago(now - r.at)),
                                        None if r.not_modified => format!("last sync {} ago: not modified", ago(now - r.at)),
                                        None => format!(
                                            "last sync {} ago: {} new, {} changed, {} gone, {} import(s)",
                                            ago(now - r.at),
                                            r.new.len(),
                                            r.changed.len(),
                                            r.gone.len(),
                                            r.imports.len()
                                        ),
                                    },
                                    (None, Some(e), _) => format!("last sync failed: {e}"),
                                    (None, None, Some(t)) => format!("last sync {} ago", ago(now - t)),
                                    (None, None, None) => "never synced".to_string(),
                                };
                                println!(
                                    "{}\t{}\t{} in catalogue, {} allowed\t{last}",
                                    u.name, u.url, s.catalogue_size, s.allowed
                                );
                            }
                        }
                    }
                    Some(name) => {
                        let u = vetted_server::upstream::named(&db, &name).await?;
                        let entries = vetted_server::upstream::catalogue(&db, u.id, gone).await?;
                        if json {
                            println!("{}", serde_json::to_string_pretty(&entries)?);
                        } else {
                            for e in &entries {
                                println!(
                                    "{}\t{}\t{}{}",
                                    e.package_name,
                                    e.version,
                                    e.name,
                                    if e.gone_at.is_some() {
                                        "\t(gone upstream)"
                                    } else {
                                        ""
                                    }
                                );
                            }
                        }
                    }
                }
                Ok(0)
            })
        }
        UpstreamCommand::Allow {
            name,
            package,
            version,
            approve_validated,
            by,
            data,
        } => {
            let c = config(&data, None)?;
            runtime()?.block_on(async move {
                let db = vetted_server::db::Db::connect(&c).await?;
                let u = vetted_server::upstream::named(&db, &name).await?;
                let admin = db
                    .user_by_name(&by)
                    .await?
                    .filter(|u| u.admin())
                    .ok_or_else(|| anyhow::anyhow!("{by:?} is not an admin"))?;
                vetted_server::upstream::import::allow(
                    &db,
                    &u,
                    &package,
                    version.as_deref(),
                    approve_validated,
                    admin.id,
                )
                .await?;
                match &version {
                    Some(v) => println!("allowed {package} from {name}, pinned to {v}"),
                    None => println!("allowed {package} from {name}, following new versions"),
                }
                Ok(0)
            })
        }
        UpstreamCommand::Sync { name, json, data } => {
            let c = config(&data, None)?;
            runtime()?.block_on(async move {
                let base_url = c
                    .base_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{}", c.bind));
                let state = vetted_server::AppState::new(c, base_url).await?;
                let reports =
                    vetted_server::upstream::sync_and_import(&state, name.as_deref()).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&reports)?);
                } else {
                    for r in &reports {
                        println!("{}", r.summary());
                        for (label, list) in
                            [("new", &r.new), ("changed", &r.changed), ("gone", &r.gone)]
                        {
                            for item in list {
                                println!("  {label}: {item}");
                            }
                        }
                        for i in &r.imports {
                            println!(
                                "  import {} {}: {} ({})",
                                i.package, i.version, i.result, i.detail
                            );
                        }
                    }
                }
                Ok(if reports.iter().any(|r| r.error.is_some()) {
                    1
                } else {
                    0
                })
            })
        }
    }
}

#[derive(clap::Args)]
pub struct QgisConfigArgs {
    /// This repository's public URL, as QGIS users reach it.
    #[arg(long)]
    base_url: String,
    /// The repository's name in QGIS's plugin manager.
    #[arg(long, default_value = "Vetted")]
    name: String,
    /// A QGIS authentication configuration id, when the repository needs credentials.
    #[arg(long, default_value = "")]
    authcfg: String,
    /// `ini`: a QGIS global settings file; `pyqgis`: a snippet for one machine's Python console.
    #[arg(long, default_value = "ini", value_parser = ["ini", "pyqgis"])]
    format: String,
}

/// `vetted qgis-config`.
pub fn qgis_config(args: QgisConfigArgs) -> anyhow::Result<u8> {
    let c = vetted_server::qgis_config::QgisConfig {
        name: args.name,
        base_url: args.base_url,
        authcfg: args.authcfg,
    };
    print!(
        "{}",
        if args.format == "pyqgis" {
            c.pyqgis()
        } else {
            c.ini()
        }
    );
    Ok(0)
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The folder to write (replaced atomically; unchanged ZIPs are reused).
    dir: std::path::PathBuf,
    /// Where DIR will be served from (default: its file:// URL).
    #[arg(long)]
    base_url: Option<String>,
    #[command(flatten)]
    data: DataArgs,
}

/// `vetted export`.
pub fn export(args: ExportArgs) -> anyhow::Result<u8> {
    let c = config(&args.data, None)?;
    runtime()?.block_on(async move {
        let state = vetted_server::AppState::new(c, "http://127.0.0.1".into()).await?;
        let r = vetted_server::export::export(&state, &args.dir, args.base_url.as_deref()).await?;
        println!(
            "exported {} version(s) to {} ({} written, {} unchanged)",
            r.versions,
            args.dir.display(),
            r.written,
            r.reused
        );
        Ok(0)
    })
}

fn ago(secs: i64) -> String {
    match secs.max(0) {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 2 * 86400 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86400),
    }
}

/// The first line of `text`, cut to `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line.to_string()
    }
}

#[derive(clap::Args)]
pub struct RevokeArgs {
    /// Package name.
    plugin: String,
    version: String,
    /// Why: shown on the version page and to anyone whose download is refused.
    #[arg(long)]
    reason: String,
    /// The admin the revocation is recorded as made by.
    #[arg(long, value_name = "USER")]
    by: String,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(clap::Args)]
pub struct UnrevokeArgs {
    plugin: String,
    version: String,
    #[command(flatten)]
    data: DataArgs,
}

async fn find_version(
    db: &vetted_server::db::Db,
    plugin: &str,
    version: &str,
) -> anyhow::Result<vetted_server::db::Version> {
    let p = db
        .plugin_by_name(plugin)
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no plugin {plugin:?}"))?;
    db.version(p.id, version)
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no version {version:?} of {plugin:?}"))
}

/// `vetted admin revoke`.
pub fn revoke(a: RevokeArgs) -> anyhow::Result<u8> {
    let c = config(&a.data, None)?;
    runtime()?.block_on(async move {
        let db = vetted_server::db::Db::connect(&c).await?;
        let admin = db
            .user_by_name(&a.by)
            .await?
            .filter(|u| u.admin())
            .ok_or_else(|| anyhow::anyhow!("{:?} is not an admin", a.by))?;
        let v = find_version(&db, &a.plugin, &a.version).await?;
        vetted_server::revoke::revoke(&db, &v, admin.id, &a.reason).await?;
        println!(
            "revoked {} {}: it is out of plugins.xml and its download is refused",
            a.plugin, a.version
        );
        Ok(0)
    })
}

/// `vetted admin unrevoke`.
pub fn unrevoke(a: UnrevokeArgs) -> anyhow::Result<u8> {
    let c = config(&a.data, None)?;
    runtime()?.block_on(async move {
        let db = vetted_server::db::Db::connect(&c).await?;
        let v = find_version(&db, &a.plugin, &a.version).await?;
        if !vetted_server::revoke::unrevoke(&db, &v).await? {
            anyhow::bail!("{} {} is not revoked", a.plugin, a.version);
        }
        println!(
            "{} {} is no longer revoked; it waits for an approver",
            a.plugin, a.version
        );
        Ok(0)
    })
}
