//! B614 pytorch_load.
use crate::bandit::helpers::{CallCtx, High, Issue, Lit, Medium};

pub fn check(c: &CallCtx) -> Option<Issue> {
    if !c.imported_exact("torch") {
        return None;
    }
    if c.qual != "torch.load" && c.qual != "torch.serialization.load" {
        return None;
    }
    if c.kw_value("weights_only") == Some(Lit::Str("True".into())) {
        return None;
    }
    Some(
        Issue::new(
            "B614",
            "pytorch_load",
            Medium,
            High,
            502,
            "Use of unsafe PyTorch load",
        )
        .at(c.kw_line("load")),
    )
}
