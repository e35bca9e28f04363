//! Documentation generated from the scanner's rule catalog: an index of every rule by family,
//! one page per rule (its description with the bad and good examples, and the settings in
//! force here), and a page on bundled config files and suppressions.

use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{Markup, html};
use vetted_scan::catalog::catalog;
use vetted_scan::report::Check;

use super::page::{Page, WebError, WebResult, ok, severity_badge};
use super::viewer::Viewer;
use crate::routes::State;
use crate::rules;

pub async fn index(state: State, headers: HeaderMap) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    let settings = rules::admin_settings(&state.db).await?;
    let views = rules::views(&settings);
    let content = html! {
        section.card {
            h1 { "Documentation" }
            p { "Every upload is scanned with the rules below before anyone can download it. A critical finding blocks the version; warnings and info are shown to the author and the approvers." }
            p { a href="/docs/config" { "Config files and suppressions" } ": how authors accept a finding after review, and what it costs." }
            p { a href="/docs/policy" { "Verdict policies" } ": how findings become block, review or pass, rule by rule." }
            p.muted { "Ruleset " code { (catalog().version()) } }
        }
        @for check in Check::ALL {
            section.card {
                h2 id={"family-" (check.id())} { (check.name()) }
                div.scroll {
                    table {
                        thead { tr { th { "Code" } th { "Name" } th { "Severity" } th { "Enabled" } th { "Skippable" } } }
                        tbody {
                            @for v in views.iter().filter(|v| v.family == check.id()) {
                                tr {
                                    td { a.code href={"/docs/rules/" (v.code)} { (v.code) } }
                                    td { (v.name) }
                                    td { (severity_badge(v.severity)) }
                                    td { @if v.enabled { "yes" } @else { "no" } }
                                    td { @if v.skippable { "yes" } @else { "no" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(ok(Page::new("Documentation").render(Some(&viewer), content)))
}

pub async fn rule_page(
    state: State,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    let Some(rule) = catalog().get(&code) else {
        return Err(WebError::not_found(format!("There is no rule {code}.")));
    };
    let settings = rules::admin_settings(&state.db).await?;
    let view = rules::views(&settings)
        .into_iter()
        .find(|v| v.code == rule.code);
    let content = html! {
        section.card.rule-doc {
            p.muted { a href={"/docs/#family-" (rule.check.id())} { (rule.check.name()) } }
            h1 { code { (rule.code) } " " (rule.name) }
            @if let Some(v) = &view {
                p {
                    "Here: " (severity_badge(v.severity)) " · "
                    @if v.enabled { "enabled" } @else { "disabled" } " · "
                    @if v.skippable { "uploaders may skip it" } @else { "cannot be skipped" }
                    @if v.customized { " (changed by an admin; the default is " (rule.severity.as_str()) ")" }
                }
            }
            @if rule.description().is_empty() {
                p { "No description yet." }
            } @else {
                (description(rule.description()))
            }
        }
    };
    let title = format!("{} {}", rule.code, rule.name);
    Ok(ok(Page::new(&title).render(Some(&viewer), content)))
}

/// Lays out a catalog description: paragraphs, indented code examples, `Bad:`/`Good:` labels
/// and inline `code`.
fn description(text: &str) -> Markup {
    enum Block<'a> {
        Para(Vec<&'a str>),
        Code(Vec<&'a str>),
        Label(&'a str),
    }
    let mut blocks: Vec<Block> = Vec::new();
    for line in text.lines() {
        let indented = line.starts_with("    ") || line.starts_with('\t');
        let trimmed = line.trim();
        if trimmed.is_empty() {
            if let Some(Block::Code(lines)) = blocks.last_mut() {
                lines.push("");
            } else {
                blocks.push(Block::Para(Vec::new()));
            }
            continue;
        }
        if indented {
            match blocks.last_mut() {
                Some(Block::Code(lines)) => lines.push(line.strip_prefix("    ").unwrap_or(line)),
                _ => blocks.push(Block::Code(vec![line.strip_prefix("    ").unwrap_or(line)])),
            }
        } else if trimmed.ends_with(':') && trimmed.len() <= 20 {
            blocks.push(Block::Label(trimmed));
        } else {
            match blocks.last_mut() {
                Some(Block::Para(lines)) => lines.push(trimmed),
                _ => blocks.push(Block::Para(vec![trimmed])),
            }
        }
    }
    html! {
        @for b in &blocks {
            @match b {
                Block::Para(lines) => { @if !lines.is_empty() { p { (inline_code(&lines.join(" "))) } } }
                Block::Code(lines) => { pre.example { code { (lines.join("\n").trim_end()) } } }
                Block::Label(l) => { h3 { (l.trim_end_matches(':')) } }
            }
        }
    }
}

/// Text with `backtick` spans as code elements.
fn inline_code(text: &str) -> Markup {
    html! {
        @for (i, part) in text.split('`').enumerate() {
            @if i % 2 == 1 { code { (part) } } @else { (part) }
        }
    }
}

pub async fn config_page(state: State, headers: HeaderMap) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    let content = html! {
        section.card.rule-doc {
            h1 { "Config files and suppressions" }
            p { "Authors can accept a finding after reviewing it. Each way of doing so is recorded: the version's Security tab lists suppressed findings separately, with how each was suppressed, so approvers see what was set aside." }
            h2 { "Inline comments" }
            ul {
                li { code { "# nosec B602" } " on the reported line silences that Bandit test there; a bare " code { "# nosec" } " silences every test on the line and hides more than intended." }
                li { code { "# noqa: E501" } " silences that Flake8 code on the line; a bare " code { "# noqa" } " silences all of them." }
                li { code { "# pragma: allowlist secret" } " marks a string that only looks like a secret (detect-secrets)." }
            }
            h2 { "Bundled config files" }
            p { "Config files at the root of the plugin package are read as the reference tools read them:" }
            ul {
                li { code { ".bandit" } " and " code { "pyproject.toml" } " (" code { "[tool.bandit]" } "): tests to skip or run, folders to exclude." }
                li { code { "setup.cfg" } ", " code { "tox.ini" } " or " code { ".flake8" } " (" code { "[flake8]" } "): the first that has a section, in Flake8's order." }
                li { code { ".secrets.baseline" } ": secrets the author reviewed, by file and hash." }
            }
            p { "A version whose verdict depended on such a file is " (super::status_badge("validated_with_config")) " instead of " (super::status_badge("validated")) ", and its summary says " span.badge.warn { "configured" } " with the files that were used." }
            h2 { "Skipping rules at upload" }
            p { "The upload form lists every rule an admin allows uploaders to skip, each ticked to run. Unticking one skips it for that upload; the skipped rules are stored with the version, listed in its summary, and their findings appear as suppressed (skipped at upload). Rules that are not skippable always run." }
            h2 { "What a suppression costs" }
            p { "Under the " code { "qgis" } " policy a suppressed finding never blocks a version, so a suppression is a promise that the code was reviewed. Under the " code { "vetted" } " policy a suppression of a finding that would block sends the version to review instead: the approver sees it first, as the author's claim. A suppression that hides a real problem is a reason to refuse the version." }
        }
    };
    Ok(ok(
        Page::new("Config files and suppressions").render(Some(&viewer), content)
    ))
}

/// The verdict policies, from docs/policy.md (the same text the repository ships).
pub async fn policy_page(state: State, headers: HeaderMap) -> WebResult<Response> {
    let viewer = Viewer::load(&state, &headers).await?;
    let parser = pulldown_cmark::Parser::new_ext(
        include_str!("../../../../docs/policy.md"),
        pulldown_cmark::Options::ENABLE_TABLES,
    );
    let mut body = String::new();
    pulldown_cmark::html::push_html(&mut body, parser);
    // Our own document, compiled in: not user input.
    let content = html! { section.card.rule-doc { (maud::PreEscaped(body)) } };
    Ok(ok(
        Page::new("Verdict policies").render(Some(&viewer), content)
    ))
}
