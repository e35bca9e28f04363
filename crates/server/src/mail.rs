//! Outgoing email: receipts, scan results, approver notices and approval notices. Sent over
//! SMTP (lettre) when `--smtp-url` is set, otherwise written as `.eml` files to
//! `<data>/outbox/` so a fresh install works without a mail server.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;

pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: String,
    },
    Outbox {
        dir: PathBuf,
        from: String,
        counter: AtomicU64,
    },
}

/// One message, rendered to plain text by the caller.
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<Mailer> {
        let from = config.mail_from.clone();
        from.parse::<lettre::message::Mailbox>()
            .with_context(|| format!("--mail-from {from:?} is not an address"))?;
        match &config.smtp_url {
            Some(url) => Ok(Mailer::Smtp {
                transport: smtp_transport(url)?,
                from,
            }),
            None => Ok(Mailer::Outbox {
                dir: config.outbox_dir(),
                from,
                counter: AtomicU64::new(0),
            }),
        }
    }

    /// Sends one message. Failures are reported to the caller, who logs them: an email that
    /// cannot go out must not undo an upload or a verdict.
    pub async fn send(&self, mail: Mail) -> anyhow::Result<()> {
        let from = match self {
            Mailer::Smtp { from, .. } | Mailer::Outbox { from, .. } => from,
        };
        let message = Message::builder()
            .from(from.parse().context("parsing the sender address")?)
            .to(mail
                .to
                .parse()
                .with_context(|| format!("parsing recipient {:?}", mail.to))?)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body)
            .context("building the message")?;
        match self {
            Mailer::Smtp { transport, .. } => {
                transport
                    .send(message)
                    .await
                    .with_context(|| format!("sending {:?} to {}", mail.subject, mail.to))?;
            }
            Mailer::Outbox { dir, counter, .. } => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .with_context(|| format!("creating {}", dir.display()))?;
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let name = format!("{}-{}-{n}.eml", crate::db::now(), std::process::id());
                let path = dir.join(name);
                tokio::fs::write(&path, message.formatted())
                    .await
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        Ok(())
    }

    /// Sends and logs a failure instead of returning it.
    pub async fn send_logged(&self, mail: Mail) {
        let subject = mail.subject.clone();
        if let Err(e) = self.send(mail).await {
            tracing::warn!("email {subject:?} not sent: {e:#}");
        }
    }
}

/// lettre's connection URL: `smtp://host[:port]` (plain, a local relay),
/// `smtp://user:password@host:587?tls=required` (STARTTLS) or `smtps://…:465` (TLS).
fn smtp_transport(url: &str) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    Ok(AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .with_context(|| {
            format!(
                "--smtp-url {:?}: expected smtp://host:port, smtp://user:pass@host:587?tls=required or smtps://host",
                crate::db::redact_url(url)
            )
        })?
        .build())
}

// ---- the messages

use crate::db::{Plugin, User, Version};

pub fn receipt(
    user: &User,
    plugin: &Plugin,
    version: &Version,
    skipped: &[String],
    base: &str,
) -> Mail {
    let skipped = if skipped.is_empty() {
        "none".to_string()
    } else {
        skipped.join(", ")
    };
    Mail {
        to: user.email.clone(),
        subject: format!(
            "[Vetted] Received {} {}",
            plugin.package_name, version.version
        ),
        body: format!(
            "Hello {},\n\nVetted received version {} of {} (SHA-256 {}, {} bytes).\n\
             Its security scan is queued; you will get the result by email.\n\
             Rules skipped at your request: {skipped}\n\n\
             Status: {base}/plugins/{}/version/{}/\n",
            user.username,
            version.version,
            plugin.package_name,
            version.sha256,
            version.size,
            plugin.package_name,
            version.version
        ),
    }
}

/// The scan result: validated, blocked (with the critical findings; snippets come from the
/// report, which already masks secrets) or scan error.
pub fn results(
    user: &User,
    plugin: &Plugin,
    version: &Version,
    status: &str,
    critical: &[&vetted_scan::Finding],
    review: &[String],
    base: &str,
) -> Mail {
    let p = &plugin.package_name;
    let v = &version.version;
    let (subject, text) = match status {
        crate::db::status::BLOCKED => {
            let mut text = format!(
                "The security scan BLOCKED version {v} of {p}. It cannot be downloaded or \
                 approved; fix the findings below and upload a new version.\n\nCritical findings:\n"
            );
            text.push_str(&findings_list(critical));
            if !review.is_empty() {
                text.push_str("\nAlso for review:\n");
                text.push_str(&review_list(review));
            }
            (format!("[Vetted] Blocked: {p} {v}"), text)
        }
        crate::db::status::NEEDS_REVIEW => (
            format!("[Vetted] Validated, needs review: {p} {v}"),
            format!(
                "Version {v} of {p} passed the security scan, but the verdict policy found items                  a staff approver must review before it is published (it is never approved                  automatically):\n{}",
                review_list(review)
            ),
        ),
        crate::db::status::SCAN_ERROR => (
            format!("[Vetted] Scan error: {p} {v}"),
            format!(
                "The security scan of version {v} of {p} could not complete. The version is not \
                 downloadable; an administrator has been left the details. Upload it again or \
                 contact the administrators.\n"
            ),
        ),
        _ => (
            format!("[Vetted] Validated: {p} {v}"),
            format!(
                "Version {v} of {p} passed the security scan (status {status}).\n{}",
                if version.approved != 0 {
                    "It is approved and published.\n"
                } else {
                    "It now waits for a staff approver.\n"
                }
            ),
        ),
    };
    Mail {
        to: user.email.clone(),
        subject,
        body: format!(
            "Hello {},\n\n{text}\nSecurity report: {base}/plugins/{p}/version/{v}/\n\
             As JSON: {base}/api/plugins/{p}/versions/{v}/scan\n",
            user.username
        ),
    }
}

/// One line per finding with its place, then its snippet (already masked by the scanner).
fn findings_list(findings: &[&vetted_scan::Finding]) -> String {
    let mut text = String::new();
    for f in findings {
        let place = if f.line > 0 {
            format!("{}:{}", f.path, f.line)
        } else {
            f.path.clone()
        };
        text.push_str(&format!("- {} {place}: {}\n", f.rule, f.message));
        if !f.snippet.is_empty() {
            for line in f.snippet.lines() {
                text.push_str(&format!("      {line}\n"));
            }
        }
    }
    text
}

/// To every admin: a version imported from an upstream was blocked by the scan. It is never
/// served; the findings (secrets masked by the scanner) say why.
pub fn blocked_import(
    admin: &User,
    plugin: &Plugin,
    version: &Version,
    origin: &crate::upstream::Origin,
    critical: &[&vetted_scan::Finding],
    review: &[String],
    base: &str,
) -> Mail {
    let p = &plugin.package_name;
    let v = &version.version;
    let mut text = format!(
        "Hello {},\n\nVersion {v} of {p}, imported from upstream {} ({}), was BLOCKED by the \
         security scan. It is not served and cannot be approved. Check the upstream before \
         trusting its other versions.\n\nSHA-256 of the imported file: {}\n\nCritical findings:\n",
        admin.username, origin.upstream, origin.url, origin.sha256
    );
    text.push_str(&findings_list(critical));
    if !review.is_empty() {
        text.push_str("\nAlso for review:\n");
        text.push_str(&review_list(review));
    }
    Mail {
        to: admin.email.clone(),
        subject: format!(
            "[Vetted] Blocked: {p} {v} (import from upstream {})",
            origin.upstream
        ),
        body: format!(
            "{text}\nSecurity report: {base}/plugins/{p}/version/{v}/\n\
             As JSON: {base}/api/plugins/{p}/versions/{v}/scan\n"
        ),
    }
}

/// The items the verdict policy sent to review, one line each: findings (and suppressed
/// findings, the author's claims) with the rule that decided, and notes on the whole version.
pub fn review_items(report: &vetted_scan::Report) -> Vec<String> {
    let mut out = Vec::new();
    let review = Some(vetted_scan::Outcome::Review);
    for f in report.findings.iter().filter(|f| f.outcome == review) {
        let place = if f.line > 0 {
            format!("{}:{}", f.path, f.line)
        } else {
            f.path.clone()
        };
        out.push(format!(
            "{} {place}: {} ({})",
            f.rule,
            f.message,
            f.because.as_deref().unwrap_or("")
        ));
    }
    for f in report.suppressed.iter().filter(|f| f.outcome == review) {
        out.push(format!(
            "{} {}:{}: {} (suppressed by the author; {})",
            f.rule,
            f.path,
            f.line,
            f.message,
            f.because.as_deref().unwrap_or("")
        ));
    }
    if let Some(policy) = &report.policy {
        for n in policy.notes.iter().filter(|n| Some(n.outcome) == review) {
            out.push(format!("{}: {} ({})", n.path, n.message, n.because));
        }
    }
    out
}

fn review_list(items: &[String]) -> String {
    items.iter().map(|i| format!("- {i}\n")).collect()
}

pub fn approver_notice(
    staff: &User,
    plugin: &Plugin,
    version: &Version,
    report: &vetted_scan::Report,
    base: &str,
) -> Mail {
    let p = &plugin.package_name;
    let v = &version.version;
    Mail {
        to: staff.email.clone(),
        subject: format!("[Vetted] Approval needed: {p} {v}"),
        body: format!(
            "Hello {},\n\nVersion {v} of {p} passed the security scan (status {}) and waits for \
             approval.\n\n{}{}\nReview and approve: {base}/plugins/{p}/version/{v}/\n\
             Scan report as JSON: {base}/api/plugins/{p}/versions/{v}/scan\n\
             Approve through the API: POST {base}/api/plugins/{p}/versions/{v}/approve{}\n",
            staff.username,
            version.status,
            match review_items(report) {
                items if items.is_empty() => String::new(),
                items => format!(
                    "Review first (approving records your reason):\n{}\n",
                    review_list(&items)
                ),
            },
            capability_summary(report),
            if version.status == crate::db::status::NEEDS_REVIEW {
                " with {\"reason\": \"…\"}"
            } else {
                ""
            }
        ),
    }
}

/// What the approver should weigh: the plugin's capabilities (targets as the report has them,
/// credentials already masked), undeclared ones flagged, and the QGIS threat warnings.
fn capability_summary(report: &vetted_scan::Report) -> String {
    let mut out = String::new();
    let summary = vetted_scan::capabilities::summarize(report);
    if summary.is_empty() {
        out.push_str(
            "The scan found no network, process, dynamic-code, credential, package, \
             QGIS-environment, native-code or file-writing capability.\n",
        );
    } else {
        out.push_str("This plugin can:\n");
        for k in summary {
            out.push_str(&format!(
                "  - {} ({} place(s)){}\n",
                k.kind.describe(),
                k.places,
                if k.undeclared {
                    " [not declared in metadata.txt]"
                } else {
                    ""
                }
            ));
            for t in k.targets.iter().take(5) {
                out.push_str(&format!("      {t}\n"));
            }
        }
    }
    let threats: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.check == vetted_scan::report::Check::Qgis)
        .collect();
    if !threats.is_empty() {
        out.push_str("QGIS threat warnings:\n");
        for f in threats.iter().take(10) {
            out.push_str(&format!(
                "  - {} {}:{} {}\n",
                f.rule, f.path, f.line, f.message
            ));
        }
    }
    out
}

pub fn approval(user: &User, plugin: &Plugin, version: &Version, base: &str) -> Mail {
    let p = &plugin.package_name;
    let v = &version.version;
    Mail {
        to: user.email.clone(),
        subject: format!("[Vetted] Approved: {p} {v}"),
        body: format!(
            "Hello {},\n\nVersion {v} of {p} is approved and published.\n\
             Download: {base}/plugins/{p}/version/{v}/download/\n",
            user.username
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn smtp_urls_are_checked_at_start() {
        let mut config = Config::new("unused".into());
        for ok in [
            "smtp://127.0.0.1:2525",
            "smtp://u:p@mail.example.org:587?tls=required",
            "smtps://mail.example.org",
        ] {
            config.smtp_url = Some(ok.into());
            assert!(Mailer::from_config(&config).is_ok(), "{ok}");
        }
        for bad in ["mail.example.org", "http://x", "smtp://"] {
            config.smtp_url = Some(bad.into());
            assert!(Mailer::from_config(&config).is_err(), "{bad}");
        }
        config.smtp_url = None;
        config.mail_from = "not an address".into();
        assert!(Mailer::from_config(&config).is_err());
    }

    #[tokio::test]
    async fn outbox_writes_eml_files() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::new(dir.path().to_path_buf());
        let mailer = Mailer::from_config(&config).unwrap();
        mailer
            .send(Mail {
                to: "a@example.org".into(),
                subject: "Hello".into(),
                body: "Body".into(),
            })
            .await
            .unwrap();
        let files: Vec<_> = std::fs::read_dir(config.outbox_dir()).unwrap().collect();
        assert_eq!(files.len(), 1);
        assert!(
            mailer
                .send(Mail {
                    to: "not an address".into(),
                    subject: "x".into(),
                    body: String::new(),
                })
                .await
                .is_err()
        );
    }
}
