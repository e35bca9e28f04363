//! B615 huggingface_unsafe_download.
use crate::bandit::helpers::{CallCtx, High, Issue, Lit, Medium, has_part, is_const, last_part};

pub fn check(c: &CallCtx) -> Option<Issue> {
    if !["transformers", "datasets", "huggingface_hub"]
        .iter()
        .any(|m| c.imported_like(m))
    {
        return None;
    }
    let func = last_part(&c.qual);
    let required = match func {
        "from_pretrained" => "transformers",
        "load_dataset" => "datasets",
        "hf_hub_download" | "snapshot_download" | "repository_id" => "huggingface_hub",
        _ => return None,
    };
    if !has_part(&c.qual, required) {
        return None;
    }
    for k in c.keywords() {
        if k.arg
            .as_ref()
            .is_some_and(|a| a.id.as_str() == "revision" || a.id.as_str() == "commit_id")
            && !is_const(&k.value)
        {
            return None;
        }
    }
    let revision = c
        .kw_value("revision")
        .filter(Lit::truthy)
        .or_else(|| c.kw_value("commit_id"));
    if let Some(Lit::Str(r)) = revision {
        let r = r.trim_matches(|ch| ch == '"' || ch == '\'');
        if r.chars().count() >= 7 && r.chars().all(|ch| ch.is_ascii_hexdigit()) {
            return None;
        }
    }
    if let Some(Lit::Str(first)) = c.arg_at(0)
        && (first.starts_with("./") || first.starts_with('/') || first.starts_with("../"))
    {
        return None;
    }
    Some(
        Issue::new(
            "B615",
            "huggingface_unsafe_download",
            Medium,
            High,
            494,
            format!("Unsafe Hugging Face Hub download without revision pinning in {func}()"),
        )
        .at(c.kw_line(func)),
    )
}
