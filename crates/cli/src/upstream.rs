//! `vetted upstream add|list|sync`: other plugins.xml feeds this repository takes plugins from
//! (the work is in `vetted_server::upstream`).

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
        #[command(flatten)]
        data: DataArgs,
    },
    /// List upstreams, or with NAME that upstream's catalogue.
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
        UpstreamCommand::Add { name, url, data } => {
            let c = config(&data, None)?;
            runtime()?.block_on(async move {
                let db = vetted_server::db::Db::connect(&c).await?;
                let u = vetted_server::upstream::add(&db, &name, &url).await?;
                println!("added upstream {} ({})", u.name, u.url);
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
                        let all = vetted_server::upstream::list(&db).await?;
                        if json {
                            println!("{}", serde_json::to_string_pretty(&all)?);
                        } else if all.is_empty() {
                            println!("No upstreams. Add one with `vetted upstream add NAME URL`.");
                        }
                        if !json {
                            for u in &all {
                                let state = match (&u.last_error, u.last_sync_at) {
                                    (Some(e), _) => format!("last sync failed: {e}"),
                                    (None, Some(_)) => "synced".to_string(),
                                    (None, None) => "never synced".to_string(),
                                };
                                println!("{}\t{}\t{state}", u.name, u.url);
                            }
                        }
                    }
                    Some(name) => {
                        let u = vetted_server::upstream::by_name(&db, &name)
                            .await?
                            .ok_or_else(|| {
                                anyhow::anyhow!("there is no upstream named {name:?}")
                            })?;
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
                let u = vetted_server::upstream::by_name(&db, &name)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("there is no upstream named {name:?}"))?;
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
