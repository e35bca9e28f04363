//! Revocation: an admin takes any version (uploaded here or imported from an upstream) out of
//! service. A revoked version leaves plugins.xml and exports, its download answers 410 Gone with
//! the reason, and its page says who revoked it, when and why. Revoking also withdraws the
//! approval, and a revoked version cannot be approved: an admin first un-revokes it, after
//! which it waits for an approver like any validated version (un-revoking never publishes by
//! itself). Re-scans and upstream syncs never clear a revocation.

use anyhow::Context;
use serde::Serialize;

use crate::db::{Db, Version, bump_generation, now};

/// Who revoked a version, when, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Revocation {
    pub revoked_at: i64,
    pub revoked_by: Option<String>,
    pub reason: String,
}

/// The revocation of a version, if it is revoked.
pub async fn revocation(db: &Db, version_id: i64) -> anyhow::Result<Option<Revocation>> {
    let row: Option<(Option<i64>, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT v.revoked_at, u.username, v.revoke_reason FROM versions v
         LEFT JOIN users u ON u.id = v.revoked_by WHERE v.id = $1",
    )
    .bind(version_id)
    .fetch_optional(&db.pool)
    .await
    .context("reading the revocation")?;
    Ok(row.and_then(|(at, by, reason)| {
        at.map(|revoked_at| Revocation {
            revoked_at,
            revoked_by: by,
            reason: reason.unwrap_or_default(),
        })
    }))
}

/// Largest reason kept, in characters.
const MAX_REASON: usize = 2000;

/// Revokes `version` as admin `by_user`. The reason is required. Revoking a revoked version
/// again replaces the reason.
pub async fn revoke(db: &Db, version: &Version, by_user: i64, reason: &str) -> anyhow::Result<()> {
    let reason = reason.trim();
    if reason.is_empty() {
        anyhow::bail!(
            "a revocation needs a reason (it is shown on the version page and in refused downloads)"
        );
    }
    let reason: String = reason.chars().take(MAX_REASON).collect();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE versions SET revoked_at = $1, revoked_by = $2, revoke_reason = $3, approved = 0,
           updated_at = $1 WHERE id = $4",
    )
    .bind(now())
    .bind(by_user)
    .bind(&reason)
    .bind(version.id)
    .execute(&mut *tx)
    .await
    .context("revoking the version")?;
    bump_generation(&mut tx).await?;
    tx.commit().await.context("committing the revocation")?;
    tracing::warn!(
        version_id = version.id,
        by_user,
        "version revoked: {reason}"
    );
    Ok(())
}

/// Lifts a revocation. The version stays unapproved: it waits for an approver again.
/// Returns false when the version was not revoked.
pub async fn unrevoke(db: &Db, version: &Version) -> anyhow::Result<bool> {
    let mut tx = db.begin_write().await?;
    let r = sqlx::query(
        "UPDATE versions SET revoked_at = NULL, revoked_by = NULL, revoke_reason = NULL,
           updated_at = $1 WHERE id = $2 AND revoked_at IS NOT NULL",
    )
    .bind(now())
    .bind(version.id)
    .execute(&mut *tx)
    .await
    .context("lifting the revocation")?;
    bump_generation(&mut tx).await?;
    tx.commit().await.context("committing")?;
    Ok(r.rows_affected() == 1)
}
