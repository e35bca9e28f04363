//! B702 use_of_mako_templates.
use crate::bandit::helpers::{CallCtx, High, Issue, Medium, has_part, last_part};

pub fn check(c: &CallCtx) -> Option<Issue> {
    (last_part(&c.qual) == "Template" && has_part(&c.qual, "mako")).then(|| {
        Issue::new(
            "B702",
            "use_of_mako_templates",
            Medium,
            High,
            80,
            "Mako templates allow HTML/JS rendering by default and are inherently open to XSS attacks. Ensure variables in all templates are properly sanitized via the 'n', 'h' or 'x' flags (depending on context). For example, to HTML escape the variable 'data' do ${ data |h }.",
        )
    })
}
