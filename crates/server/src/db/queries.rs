//! Row types and the queries on them, shared by both databases.

use anyhow::Context;
use serde::Serialize;
use sqlx::{Any, FromRow, Transaction};

use super::{Db, now};

/// Validation statuses of a version (see docs: plugins.qgis.org's plus `scan_error`).
pub mod status {
    pub const VALIDATING: &str = "validating";
    pub const VALIDATED: &str = "validated";
    pub const VALIDATED_WITH_CONFIG: &str = "validated_with_config";
    pub const BLOCKED: &str = "blocked";
    /// Validated, but the verdict policy found items a person must review first: never
    /// approved automatically, and approving it takes a reason.
    pub const NEEDS_REVIEW: &str = "needs_review";
    /// The scan could not finish after every attempt: fail closed.
    pub const SCAN_ERROR: &str = "scan_error";

    /// Statuses whose file may be published (once approved).
    pub fn is_clean(s: &str) -> bool {
        s == VALIDATED || s == VALIDATED_WITH_CONFIG || s == NEEDS_REVIEW
    }
}

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    #[serde(skip)]
    pub password_hash: String,
    pub is_admin: i64,
    pub is_staff: i64,
    pub is_trusted: i64,
}

impl User {
    pub fn admin(&self) -> bool {
        self.is_admin != 0
    }
    /// Staff approvers; admins approve too.
    pub fn staff(&self) -> bool {
        self.is_staff != 0 || self.admin()
    }
    pub fn trusted(&self) -> bool {
        self.is_trusted != 0 || self.admin()
    }
}

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Plugin {
    pub id: i64,
    pub package_name: String,
    pub name: String,
    pub created_by: i64,
    pub downloads: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Version {
    pub id: i64,
    pub plugin_id: i64,
    pub version: String,
    pub status: String,
    pub approved: i64,
    pub experimental: i64,
    pub auto_approve: i64,
    pub skip_rules: String,
    pub uploaded_by: i64,
    pub file_key: String,
    pub sha256: String,
    pub size: i64,
    pub metadata: String,
    pub qgis_min: String,
    pub qgis_max: String,
    pub downloads: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Set when an admin revoked the version (`crate::revoke`): never public while set.
    pub revoked_at: Option<i64>,
}

impl Version {
    /// Whether anyone may download it: clean scan, approved and not revoked.
    pub fn public(&self) -> bool {
        super::status::is_clean(&self.status) && self.approved != 0 && self.revoked_at.is_none()
    }
}

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct ScanRow {
    pub id: i64,
    pub version_id: i64,
    pub verdict: String,
    pub report: String,
    pub scanner_version: String,
    pub ruleset_version: String,
    pub manual: i64,
    pub skipped_rules: String,
    pub config_files: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct RuleRow {
    pub code: String,
    pub enabled: i64,
    pub skippable: i64,
    pub severity: String,
}

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct TokenRow {
    pub id: i64,
    pub plugin_id: i64,
    pub user_id: i64,
    #[serde(skip)]
    pub token_hash: String,
    pub description: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked: i64,
}

const USER_COLS: &str = "id, username, email, password_hash, is_admin, is_staff, is_trusted";
const TOKEN_COLS: &str =
    "id, plugin_id, user_id, token_hash, description, created_at, expires_at, revoked";

const VERSION_COLS: &str = "id, plugin_id, version, status, approved, experimental, auto_approve, skip_rules, uploaded_by, file_key, sha256, size, metadata, qgis_min, qgis_max, downloads, created_at, updated_at, revoked_at";

// `sqlx::query` takes only static SQL (or an explicit assertion); the column lists are constants,
// so composing them is safe.
macro_rules! sql {
    ($($part:expr),+ $(,)?) => {
        sqlx::AssertSqlSafe(concat_sql(&[$($part),+]))
    };
}

fn concat_sql(parts: &[&str]) -> String {
    parts.concat()
}

impl Db {
    // ---- users

    pub async fn create_user(
        &self,
        username: &str,
        email: &str,
        password_hash: &str,
        admin: bool,
        staff: bool,
        trusted: bool,
    ) -> anyhow::Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, email, password_hash, is_admin, is_staff, is_trusted, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(username)
        .bind(email)
        .bind(password_hash)
        .bind(admin as i64)
        .bind(staff as i64)
        .bind(trusted as i64)
        .bind(now())
        .fetch_one(&self.pool)
        .await
        .with_context(|| format!("creating user {username}"))?;
        Ok(id)
    }

    pub async fn user_by_name(&self, username: &str) -> anyhow::Result<Option<User>> {
        Ok(sqlx::query_as::<Any, User>(sql!(
            "SELECT ",
            USER_COLS,
            " FROM users WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn user_by_id(&self, id: i64) -> anyhow::Result<Option<User>> {
        Ok(
            sqlx::query_as::<Any, User>(sql!("SELECT ", USER_COLS, " FROM users WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn staff_users(&self) -> anyhow::Result<Vec<User>> {
        Ok(sqlx::query_as::<Any, User>(sql!(
            "SELECT ",
            USER_COLS,
            " FROM users WHERE is_staff = 1 OR is_admin = 1 ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every user, by name (the admin's user list).
    pub async fn users(&self) -> anyhow::Result<Vec<User>> {
        Ok(
            sqlx::query_as::<Any, User>(sql!(
                "SELECT ",
                USER_COLS,
                " FROM users ORDER BY username"
            ))
            .fetch_all(&self.pool)
            .await?,
        )
    }

    pub async fn set_user_roles(
        &self,
        user_id: i64,
        admin: bool,
        staff: bool,
        trusted: bool,
    ) -> anyhow::Result<()> {
        sqlx::query("UPDATE users SET is_admin = $1, is_staff = $2, is_trusted = $3 WHERE id = $4")
            .bind(admin as i64)
            .bind(staff as i64)
            .bind(trusted as i64)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn count_users(&self) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    // ---- sessions

    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: i64,
    ) -> anyhow::Result<()> {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(user_id)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn session_user(&self, token_hash: &str) -> anyhow::Result<Option<User>> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        match id {
            Some(id) => self.user_by_id(id).await,
            None => Ok(None),
        }
    }

    pub async fn delete_session(&self, token_hash: &str) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---- plugins

    pub async fn plugin_by_name(&self, package_name: &str) -> anyhow::Result<Option<Plugin>> {
        Ok(sqlx::query_as::<Any, Plugin>(
            "SELECT id, package_name, name, created_by, downloads, created_at, updated_at
             FROM plugins WHERE package_name = $1",
        )
        .bind(package_name)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn plugin_by_id(&self, id: i64) -> anyhow::Result<Option<Plugin>> {
        Ok(sqlx::query_as::<Any, Plugin>(
            "SELECT id, package_name, name, created_by, downloads, created_at, updated_at
             FROM plugins WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn plugins(&self) -> anyhow::Result<Vec<Plugin>> {
        Ok(sqlx::query_as::<Any, Plugin>(
            "SELECT id, package_name, name, created_by, downloads, created_at, updated_at
             FROM plugins ORDER BY package_name",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// The plugins `user_id` owns (the account page's token form).
    pub async fn owned_plugins(&self, user_id: i64) -> anyhow::Result<Vec<Plugin>> {
        Ok(sqlx::query_as::<Any, Plugin>(
            "SELECT p.id, p.package_name, p.name, p.created_by, p.downloads, p.created_at, p.updated_at
             FROM plugins p JOIN plugin_members m ON m.plugin_id = p.id
             WHERE m.user_id = $1 AND m.role = 'owner' ORDER BY p.package_name",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// `owner`, `editor` or None.
    pub async fn member_role(
        &self,
        plugin_id: i64,
        user_id: i64,
    ) -> anyhow::Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT role FROM plugin_members WHERE plugin_id = $1 AND user_id = $2",
        )
        .bind(plugin_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn plugin_members(&self, plugin_id: i64) -> anyhow::Result<Vec<(String, String)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT u.username, m.role FROM plugin_members m JOIN users u ON u.id = m.user_id
             WHERE m.plugin_id = $1 ORDER BY u.username",
        )
        .bind(plugin_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    pub async fn add_member(&self, plugin_id: i64, user_id: i64, role: &str) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO plugin_members (plugin_id, user_id, role) VALUES ($1, $2, $3)
             ON CONFLICT (plugin_id, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(plugin_id)
        .bind(user_id)
        .bind(role)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn remove_member(&self, plugin_id: i64, user_id: i64) -> anyhow::Result<bool> {
        let r = sqlx::query("DELETE FROM plugin_members WHERE plugin_id = $1 AND user_id = $2")
            .bind(plugin_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    // ---- versions

    pub async fn version_by_id(&self, id: i64) -> anyhow::Result<Option<Version>> {
        Ok(sqlx::query_as::<Any, Version>(sql!(
            "SELECT ",
            VERSION_COLS,
            " FROM versions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn version(&self, plugin_id: i64, version: &str) -> anyhow::Result<Option<Version>> {
        Ok(sqlx::query_as::<Any, Version>(sql!(
            "SELECT ",
            VERSION_COLS,
            " FROM versions WHERE plugin_id = $1 AND version = $2"
        ))
        .bind(plugin_id)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn versions_of(&self, plugin_id: i64) -> anyhow::Result<Vec<Version>> {
        Ok(sqlx::query_as::<Any, Version>(sql!(
            "SELECT ",
            VERSION_COLS,
            " FROM versions WHERE plugin_id = $1 ORDER BY id"
        ))
        .bind(plugin_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every approved version with a clean scan: the candidates for plugins.xml.
    pub async fn public_versions(&self) -> anyhow::Result<Vec<Version>> {
        Ok(sqlx::query_as::<Any, Version>(sql!(
            "SELECT ",
            VERSION_COLS,
            " FROM versions WHERE approved = 1 AND revoked_at IS NULL AND status IN ('validated', 'validated_with_config', 'needs_review') ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every version with `status` (any status when None), oldest first: the review queue.
    pub async fn versions_with_status(&self, status: Option<&str>) -> anyhow::Result<Vec<Version>> {
        Ok(sqlx::query_as::<Any, Version>(sql!(
            "SELECT ",
            VERSION_COLS,
            " FROM versions WHERE $1 = '' OR status = $1 ORDER BY id"
        ))
        .bind(status.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn set_status(&self, version_id: i64, status: &str) -> anyhow::Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE versions SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status)
            .bind(now())
            .bind(version_id)
            .execute(&mut *tx)
            .await?;
        bump_generation(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Approves a version, or withdraws its approval; either changes plugins.xml.
    pub async fn set_approved(&self, version_id: i64, approved: bool) -> anyhow::Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE versions SET approved = $1, updated_at = $2 WHERE id = $3")
            .bind(approved as i64)
            .bind(now())
            .bind(version_id)
            .execute(&mut *tx)
            .await?;
        bump_generation(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn count_download(&self, version: &Version) -> anyhow::Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE versions SET downloads = downloads + 1 WHERE id = $1")
            .bind(version.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE plugins SET downloads = downloads + 1 WHERE id = $1")
            .bind(version.plugin_id)
            .execute(&mut *tx)
            .await?;
        // plugins.xml shows the counts, so this is a catalog change: every server's feed cache
        // is keyed on the generation, and a feed that served counts as of whenever each server
        // last rendered would differ from server to server behind one load balancer.
        bump_generation(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    // ---- scans

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_scan(
        &self,
        tx: &mut Transaction<'_, Any>,
        version_id: i64,
        verdict: &str,
        report_json: &str,
        scanner_version: &str,
        ruleset_version: &str,
        manual: bool,
        skipped_rules: &str,
        config_files: &str,
        policy: (&str, &str),
    ) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO scans (version_id, verdict, report, scanner_version, ruleset_version, manual,
                                skipped_rules, config_files, created_at, policy, policy_version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(version_id)
        .bind(verdict)
        .bind(report_json)
        .bind(scanner_version)
        .bind(ruleset_version)
        .bind(manual as i64)
        .bind(skipped_rules)
        .bind(config_files)
        .bind(now())
        .bind(policy.0)
        .bind(policy.1)
        .fetch_one(&mut **tx)
        .await?)
    }

    /// A repository setting from the `settings` table.
    pub async fn setting(&self, name: &str) -> anyhow::Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Sets (or, with `None`, removes) a repository setting.
    pub async fn set_setting(&self, name: &str, value: Option<&str>) -> anyhow::Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM settings WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if let Some(v) = value {
            sqlx::query("INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3)")
                .bind(name)
                .bind(v)
                .bind(now())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The verdict policy the admin chose (`vetted` when the setting is missing: the default
    /// of a new repository).
    pub async fn policy(&self) -> anyhow::Result<vetted_scan::Policy> {
        match self.setting("policy").await? {
            None => Ok(vetted_scan::Policy::Vetted),
            Some(v) => v
                .parse()
                .map_err(|e: String| anyhow::anyhow!("the stored policy setting: {e}")),
        }
    }

    pub async fn set_policy(&self, policy: vetted_scan::Policy) -> anyhow::Result<()> {
        self.set_setting("policy", Some(policy.as_str())).await
    }

    /// Who approved a version and why (required for versions that needed review).
    pub async fn record_approval(
        &self,
        version_id: i64,
        user_id: i64,
        reason: Option<&str>,
    ) -> anyhow::Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE versions SET approved_by = $1, approval_reason = $2 WHERE id = $3")
            .bind(user_id)
            .bind(reason)
            .bind(version_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn approval_reason(&self, version_id: i64) -> anyhow::Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT approval_reason FROM versions WHERE id = $1")
                .bind(version_id)
                .fetch_optional(&self.pool)
                .await?
                .flatten(),
        )
    }

    /// Every version with the report of its latest scan, for re-deciding under a policy.
    pub async fn latest_reports(&self) -> anyhow::Result<Vec<(Plugin, Version, Option<ScanRow>)>> {
        let mut out = Vec::new();
        for plugin in self.plugins().await? {
            for version in self.versions_of(plugin.id).await? {
                let scan = self.scans_of(version.id).await?.pop();
                out.push((plugin.clone(), version, scan));
            }
        }
        Ok(out)
    }

    pub async fn scans_of(&self, version_id: i64) -> anyhow::Result<Vec<ScanRow>> {
        Ok(sqlx::query_as::<Any, ScanRow>(
            "SELECT id, version_id, verdict, report, scanner_version, ruleset_version, manual,
                    skipped_rules, config_files, created_at
             FROM scans WHERE version_id = $1 ORDER BY id",
        )
        .bind(version_id)
        .fetch_all(&self.pool)
        .await?)
    }

    // ---- rules

    pub async fn rule_rows(&self) -> anyhow::Result<Vec<RuleRow>> {
        Ok(sqlx::query_as::<Any, RuleRow>(
            "SELECT code, enabled, skippable, severity FROM rules ORDER BY code",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn put_rule(
        &self,
        code: &str,
        enabled: bool,
        skippable: bool,
        severity: &str,
        by: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO rules (code, enabled, skippable, severity, updated_by, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (code) DO UPDATE SET enabled = excluded.enabled,
               skippable = excluded.skippable, severity = excluded.severity,
               updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(code)
        .bind(enabled as i64)
        .bind(skippable as i64)
        .bind(severity)
        .bind(by)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    // ---- tokens

    pub async fn create_token(
        &self,
        plugin_id: i64,
        user_id: i64,
        token_hash: &str,
        description: &str,
        expires_at: i64,
    ) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO tokens (plugin_id, user_id, token_hash, description, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(plugin_id)
        .bind(user_id)
        .bind(token_hash)
        .bind(description)
        .bind(now())
        .bind(expires_at)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn token_by_hash(&self, token_hash: &str) -> anyhow::Result<Option<TokenRow>> {
        Ok(sqlx::query_as::<Any, TokenRow>(sql!(
            "SELECT ",
            TOKEN_COLS,
            " FROM tokens WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn token_by_id(&self, id: i64) -> anyhow::Result<Option<TokenRow>> {
        Ok(sqlx::query_as::<Any, TokenRow>(sql!(
            "SELECT ",
            TOKEN_COLS,
            " FROM tokens WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn tokens_of(&self, plugin_id: i64) -> anyhow::Result<Vec<TokenRow>> {
        Ok(sqlx::query_as::<Any, TokenRow>(sql!(
            "SELECT ",
            TOKEN_COLS,
            " FROM tokens WHERE plugin_id = $1 ORDER BY id"
        ))
        .bind(plugin_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn revoke_token(&self, id: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE tokens SET revoked = 1 WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---- counters

    /// Changes whenever anything plugins.xml shows changes, in any process.
    pub async fn catalog_generation(&self) -> anyhow::Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT value FROM counters WHERE name = 'catalog_generation'")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

pub async fn bump_generation(tx: &mut Transaction<'_, Any>) -> anyhow::Result<()> {
    sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'catalog_generation'")
        .execute(&mut **tx)
        .await?;
    Ok(())
}
