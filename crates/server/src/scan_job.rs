//! The scan job: the only place the server runs the security scan. It fetches the stored ZIP,
//! scans it with the admin's rule settings, verdict policy and the uploader's skips, stores the
//! scan (with the policy and its version), turns the verdict into a status (`validated`,
//! `validated_with_config`, `needs_review` or `blocked`), approves trusted "publish
//! immediately" uploads that need no review, and sends the result, approver and approval emails.

use anyhow::Context;
use vetted_scan::catalog::catalog;
use vetted_scan::{Report, ScanOptions, Severity, Verdict};

use crate::AppState;
use crate::db::{Plugin, User, Version, bump_generation, now, status};
use crate::jobs::{self, Job, JobPayload};
use crate::mail;
use crate::rules;
use crate::upload::scan_blocking;

pub async fn run(
    state: &AppState,
    job: &Job,
    worker: &str,
    payload: &JobPayload,
) -> anyhow::Result<()> {
    let JobPayload::Scan {
        version_id,
        manual,
        catalogue,
    } = *payload;
    let db = &state.db;
    let Some(version) = db.version_by_id(version_id).await? else {
        // Nothing to scan any more; not an error worth retrying.
        let mut tx = db.begin_write().await?;
        jobs::finish(&mut tx, job.id, worker, "failed", Some("version not found")).await?;
        tx.commit().await?;
        return Ok(());
    };
    let plugin = db
        .plugin_by_id(version.plugin_id)
        .await?
        .context("the version's plugin is missing")?;
    if let Some(delay) = state.config.test_scan_delay {
        // Test hook: keeps the job leased long enough for a test to kill this worker mid-scan.
        tokio::time::sleep(delay).await;
    }
    let options = options_for(db, &plugin, &version).await?;
    let started = std::time::Instant::now();
    let report = scan_stored(state, &plugin, &version, options).await?;
    state.metrics.scan(started.elapsed());

    let decided = status_for(&report);
    let new_status = if manual {
        None
    } else if catalogue {
        // A catalogue re-scan acts only where the current rules decide differently.
        (decided != version.status).then_some(decided)
    } else {
        Some(decided)
    };
    let uploader = db.user_by_id(version.uploaded_by).await?;
    let approve = if catalogue {
        // An approval survives a catalogue re-scan only while the version stays clean and
        // needs no new review.
        version.approved != 0
            && new_status.is_some_and(|st| status::is_clean(st) && st != status::NEEDS_REVIEW)
    } else {
        // A version that needs review waits for a person, whoever uploaded it.
        new_status.is_some_and(|st| status::is_clean(st) && st != status::NEEDS_REVIEW)
            && version.auto_approve != 0
            && uploader.as_ref().is_some_and(User::trusted)
    };

    let report_json = serde_json::to_string(&report).context("encoding the report")?;
    let mut tx = db.begin_write().await?;
    if !jobs::finish(&mut tx, job.id, worker, "done", None).await? {
        // Another worker took the job over after our lease lapsed; its result will count.
        tx.rollback().await?;
        tracing::warn!(
            job = job.id,
            "lease lost before the scan finished; result dropped"
        );
        return Ok(());
    }
    db.insert_scan(
        &mut tx,
        version.id,
        report.verdict.as_str(),
        &report_json,
        &report.scanner.version,
        &report.scanner.ruleset,
        manual,
        &serde_json::to_string(&report.skipped_rules)?,
        &serde_json::to_string(&report.config_files)?,
        report
            .policy
            .as_ref()
            .map_or(("qgis", "1"), |p| (p.name.as_str(), p.version.as_str())),
    )
    .await?;
    if let Some(st) = new_status {
        sqlx::query(
            "UPDATE versions SET status = $1, approved = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(st)
        .bind(approve as i64)
        .bind(now())
        .bind(version.id)
        .execute(&mut *tx)
        .await?;
        bump_generation(&mut tx).await?;
    }
    tx.commit().await.context("storing the scan")?;
    tracing::info!(
        plugin = %plugin.package_name,
        version = %version.version,
        verdict = report.verdict.as_str(),
        manual,
        catalogue,
        "scan stored"
    );

    let Some(st) = new_status else {
        return Ok(());
    };
    let Some(version) = db.version_by_id(version.id).await? else {
        return Ok(());
    };
    notify(
        state,
        &plugin,
        &version,
        uploader.as_ref(),
        st,
        &report,
        catalogue,
    )
    .await;
    Ok(())
}

/// The scan options of a stored version: the admin's current rule settings and policy, the
/// uploader's skips, and whether it is the plugin's first version.
pub async fn options_for(
    db: &crate::db::Db,
    plugin: &Plugin,
    version: &Version,
) -> anyhow::Result<ScanOptions> {
    let skip: Vec<String> = serde_json::from_str(&version.skip_rules).unwrap_or_default();
    let first_version = db
        .versions_of(plugin.id)
        .await?
        .iter()
        .all(|v| v.id == version.id);
    Ok(ScanOptions {
        settings: rules::admin_settings(db).await?,
        skip,
        new_plugin: first_version,
        policy: db.policy().await?,
        vendor_index: vendor_index(db).await?,
        ..Default::default()
    })
}

/// Fetches a stored version's ZIP and scans it (on a blocking thread).
pub async fn scan_stored(
    state: &AppState,
    plugin: &Plugin,
    version: &Version,
    options: ScanOptions,
) -> anyhow::Result<Report> {
    let bytes = state
        .storage
        .get(&version.file_key)
        .await
        .with_context(|| format!("fetching {}", version.file_key))?;
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let path = dir
        .path()
        .join(format!("{}.{}.zip", plugin.package_name, version.version));
    tokio::fs::write(&path, &bytes)
        .await
        .with_context(|| format!("writing {}", path.display()))?;
    let options = ScanOptions {
        time_budget: options.time_budget.or(Some(state.config.scan_time_budget)),
        ..options
    };
    scan_blocking(&path, options).await
}

/// The offline index of published library files the admin configured
/// (`vetted admin policy vendor-index PATH`), read for each scan so a new index needs no
/// restart. A configured index that cannot be read fails the job (and, retried, the version
/// fails closed) rather than silently deciding without it.
async fn vendor_index(
    db: &crate::db::Db,
) -> anyhow::Result<Option<std::sync::Arc<vetted_scan::policy::vendor::VendorIndex>>> {
    let Some(path) = db.setting("vendor_index").await? else {
        return Ok(None);
    };
    let text = tokio::fs::read_to_string(&path)
        .await
        .with_context(|| format!("reading the vendor index {path}"))?;
    let index = vetted_scan::policy::vendor::VendorIndex::from_json(&text)
        .map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    Ok(Some(std::sync::Arc::new(index)))
}

/// The version status a report's verdict gives.
pub fn status_for(report: &Report) -> &'static str {
    match report.verdict {
        Verdict::Validated if !report.config_files.is_empty() => status::VALIDATED_WITH_CONFIG,
        Verdict::Validated => status::VALIDATED,
        Verdict::Review => status::NEEDS_REVIEW,
        // Invalid cannot pass upload validation; if settings changed since, it still blocks.
        Verdict::Blocked | Verdict::Invalid => status::BLOCKED,
    }
}

/// One version whose status would change under another policy.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PolicyChange {
    pub plugin: String,
    pub version: String,
    pub from: String,
    pub to: String,
}

/// Re-decides the latest stored report of every scanned version under `policy` and lists the
/// versions whose status would change. Changes nothing. Versions still validating, or whose
/// scan failed, are left out: there is no report to re-decide.
pub async fn preview_policy(
    db: &crate::db::Db,
    policy: vetted_scan::Policy,
) -> anyhow::Result<Vec<PolicyChange>> {
    let mut changes = Vec::new();
    for (plugin, version, scan) in db.latest_reports().await? {
        let Some(scan) = scan else { continue };
        if matches!(
            version.status.as_str(),
            status::VALIDATING | status::SCAN_ERROR
        ) {
            continue;
        }
        let mut report: Report = serde_json::from_str(&scan.report).with_context(|| {
            format!(
                "reading the stored report of {} {}",
                plugin.package_name, version.version
            )
        })?;
        vetted_scan::policy::apply(&mut report, policy);
        let to = status_for(&report);
        if to != version.status {
            changes.push(PolicyChange {
                plugin: plugin.package_name.clone(),
                version: version.version.clone(),
                from: version.status.clone(),
                to: to.to_string(),
            });
        }
    }
    Ok(changes)
}

async fn notify(
    state: &AppState,
    plugin: &Plugin,
    version: &Version,
    uploader: Option<&User>,
    st: &str,
    report: &Report,
    catalogue: bool,
) {
    let base = &state.base_url;
    // What blocked: the findings the policy blocked on (reports stored before policies
    // existed: the critical ones).
    let critical: Vec<&vetted_scan::Finding> = report
        .findings
        .iter()
        .filter(|f| match f.outcome {
            Some(o) => o == vetted_scan::Outcome::Block,
            None => f.severity == Severity::Critical,
        })
        .collect();
    let review = mail::review_items(report);
    // A blocked import from an upstream concerns every admin: each gets the findings (the
    // admin who allowed the plugin gets that message instead of the uploader's).
    let origin = if catalogue {
        None
    } else {
        crate::upstream::origin_of(&state.db, version.id)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!("cannot read the version's origin: {e:#}");
                None
            })
    };
    let blocked_import = origin.as_ref().filter(|_| st == status::BLOCKED);
    if let Some(u) = uploader.filter(|u| blocked_import.is_none() || !u.admin()) {
        state
            .mailer
            .send_logged(mail::results(
                u, plugin, version, st, &critical, &review, base,
            ))
            .await;
    }
    if let Some(origin) = blocked_import {
        match state.db.users().await {
            Ok(users) => {
                for admin in users.iter().filter(|u| u.admin()) {
                    state
                        .mailer
                        .send_logged(mail::blocked_import(
                            admin, plugin, version, origin, &critical, &review, base,
                        ))
                        .await;
                }
            }
            Err(e) => tracing::warn!("cannot list admins: {e:#}"),
        }
    }
    if !status::is_clean(st) {
        return;
    }
    if version.approved != 0 {
        // A catalogue re-scan that keeps an approved version clean has nothing new to say.
        if let Some(u) = uploader.filter(|_| !catalogue) {
            state
                .mailer
                .send_logged(mail::approval(u, plugin, version, base))
                .await;
        }
        return;
    }
    // Staff hear about a version only once it is validated and waits for them.
    match state.db.staff_users().await {
        Ok(staff) => {
            for s in staff {
                let mut notice = mail::approver_notice(&s, plugin, version, report, base);
                if let Some(o) = &origin {
                    // A validated import waits for an approver like an upload; say where it
                    // came from.
                    notice.body.push_str(&format!(
                        "\nImported from upstream {} ({}), SHA-256 {}.\n",
                        o.upstream, o.url, o.sha256
                    ));
                }
                state.mailer.send_logged(notice).await;
            }
        }
        Err(e) => tracing::warn!("cannot list approvers: {e:#}"),
    }
}

/// Gives up on a job: the version becomes `scan_error`, never downloadable (fail closed), and
/// the uploader is told. A failed manual re-scan changes nothing on the version.
pub async fn fail_closed(
    state: &AppState,
    job: &Job,
    worker: &str,
    payload: &JobPayload,
    reason: &str,
) -> anyhow::Result<()> {
    let JobPayload::Scan {
        version_id,
        manual,
        catalogue,
    } = *payload;
    // A re-scan (an editor's or the catalogue's) that cannot finish leaves the version as its
    // last completed scan decided; the failure is recorded on the job.
    let manual = manual || catalogue;
    let db = &state.db;
    let mut tx = db.begin_write().await?;
    if !jobs::finish(&mut tx, job.id, worker, "failed", Some(reason)).await? {
        tx.rollback().await?;
        return Ok(());
    }
    if !manual {
        sqlx::query("UPDATE versions SET status = $1, approved = 0, updated_at = $2 WHERE id = $3")
            .bind(status::SCAN_ERROR)
            .bind(now())
            .bind(version_id)
            .execute(&mut *tx)
            .await?;
        bump_generation(&mut tx).await?;
    }
    tx.commit().await?;
    tracing::error!(job = job.id, version_id, "scan failed for good: {reason}");
    if manual {
        return Ok(());
    }
    if let Some(version) = db.version_by_id(version_id).await?
        && let (Some(plugin), Some(user)) = (
            db.plugin_by_id(version.plugin_id).await?,
            db.user_by_id(version.uploaded_by).await?,
        )
    {
        state
            .mailer
            .send_logged(mail::results(
                &user,
                &plugin,
                &version,
                status::SCAN_ERROR,
                &[],
                &[],
                &state.base_url,
            ))
            .await;
    }
    Ok(())
}

/// The scanner and ruleset this server runs, for the API.
pub fn scanner_info() -> serde_json::Value {
    serde_json::json!({
        "scanner_version": env!("CARGO_PKG_VERSION"),
        "ruleset_version": catalog().version(),
    })
}
