//! Which Python files the plugin loads when QGIS starts it: the import chain from the package's
//! `__init__.py` (imports anywhere in a file count: `classFactory` imports the plugin class
//! inside a function). A file that does not compile matters only if it is on that chain.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::Map as HashMap;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Stmt};

/// Modules a file imports, as written: `a.b` for absolute imports, `.a`/`..a.b` for relative
/// ones; `from m import x` also lists `m.x` (x may be a submodule).
pub fn collect(module: &ast::ModModule) -> Vec<String> {
    let mut c = Collector(Vec::new());
    for stmt in &module.body {
        c.visit_stmt(stmt);
    }
    let mut out = c.0;
    out.sort();
    out.dedup();
    out
}

struct Collector(Vec<String>);

impl<'a> Visitor<'a> for Collector {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(i) => {
                for a in &i.names {
                    self.0.push(a.name.id.to_string());
                }
            }
            Stmt::ImportFrom(i) => {
                let dots = ".".repeat(i.level as usize);
                let base = i
                    .module
                    .as_ref()
                    .map_or(String::new(), |m| m.id.to_string());
                let module = format!("{dots}{base}");
                for a in &i.names {
                    if a.name.id.as_str() == "*" {
                        continue;
                    }
                    let sep = if base.is_empty() { "" } else { "." };
                    self.0.push(format!("{module}{sep}{}", a.name.id));
                }
                self.0.push(module);
            }
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }
}

/// The Python files reached from `{root_prefix}__init__.py` through `imports` (path → modules
/// it imports). `files` are every Python path of the input.
pub fn loaded_at_start(
    root_prefix: &str,
    imports: &BTreeMap<String, Vec<String>>,
    files: &BTreeSet<String>,
) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let start = format!("{root_prefix}__init__.py");
    if !files.contains(&start) {
        return seen;
    }
    let mut queue = VecDeque::from([start.clone()]);
    seen.insert(start);
    while let Some(path) = queue.pop_front() {
        let Some(mods) = imports.get(&path) else {
            continue;
        };
        for m in mods {
            for target in resolve(root_prefix, &path, m, files) {
                if seen.insert(target.clone()) {
                    queue.push_back(target);
                }
            }
        }
    }
    seen
}

/// Folders of test support: Python code (and whatever data lies below it) that only tests use,
/// such as a test server with its certificates. A folder qualifies when a file in test material
/// (`is_test_path`) imports something in it, no file outside it and outside test material does,
/// and none of its files is loaded at start. Folders are returned with a trailing `/`.
pub fn test_support(
    root_prefix: &str,
    imports: &BTreeMap<String, Vec<String>>,
    files: &BTreeSet<String>,
    loaded: &BTreeSet<String>,
) -> BTreeSet<String> {
    let rel = |p: &str| p.strip_prefix(root_prefix).unwrap_or(p).to_string();
    // The folders below the package folder that hold Python code outside test material.
    let mut candidates: BTreeSet<String> = BTreeSet::new();
    for path in files {
        if super::is_test_path(&rel(path)) {
            continue;
        }
        let mut dir = path.rsplit_once('/').map_or("", |(d, _)| d).to_string();
        while dir.len() > root_prefix.trim_end_matches('/').len() && dir.starts_with(root_prefix) {
            candidates.insert(format!("{dir}/"));
            dir = dir.rsplit_once('/').map_or("", |(d, _)| d).to_string();
        }
    }
    let mut used_by_tests: BTreeSet<&str> = BTreeSet::new();
    let mut used_by_code: BTreeSet<&str> = BTreeSet::new();
    // Files of one folder importing the same module reach the same files: resolved once.
    let mut resolved: HashMap<(&str, &str), Vec<String>> = HashMap::default();
    for (from, mods) in imports {
        let from_tests = super::is_test_path(&rel(from));
        let from_dir = from.rsplit_once('/').map_or("", |(d, _)| d);
        for m in mods {
            let targets = resolved
                .entry((from_dir, m.as_str()))
                .or_insert_with(|| resolve(root_prefix, from, m, files));
            for target in targets.iter() {
                // The candidate folders holding the target: its own folder and those above.
                let holding = target
                    .match_indices('/')
                    .filter_map(|(i, _)| candidates.get(&target[..=i]));
                for dir in holding {
                    if from.starts_with(dir.as_str()) {
                        continue;
                    }
                    if from_tests {
                        used_by_tests.insert(dir);
                    } else {
                        used_by_code.insert(dir);
                    }
                }
            }
        }
    }
    used_by_tests
        .into_iter()
        .filter(|d| !used_by_code.contains(d))
        .filter(|d| !loaded.iter().any(|l| l.starts_with(d)))
        .map(str::to_string)
        .collect()
}

/// The files `module` may name when imported from `from_path`: relative to the importing
/// package, to the plugin's parent (`plugin.sub`), to the plugin folder (a `sys.path` entry),
/// or to the importing folder (Python 2's implicit relative import). Each package on the way
/// runs its `__init__.py` too.
fn resolve(
    root_prefix: &str,
    from_path: &str,
    module: &str,
    files: &BTreeSet<String>,
) -> Vec<String> {
    let dir = from_path.rsplit_once('/').map_or("", |(d, _)| d);
    let dir = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut bases: Vec<String> = Vec::new();
    let name: &str;
    let level = module.chars().take_while(|c| *c == '.').count();
    if level > 0 {
        let mut base = dir.clone();
        for _ in 1..level {
            base = parent(&base);
        }
        bases.push(base);
        name = &module[level..];
    } else {
        bases.push(parent(root_prefix));
        bases.push(root_prefix.to_string());
        bases.push(dir.clone());
        name = module;
    }
    let mut out = Vec::new();
    // Candidate paths are spelled in one buffer; only those that exist are kept.
    let mut candidate =
        String::with_capacity(root_prefix.len() + from_path.len() + module.len() + 16);
    let mut check = |stem: &str, tail: &str, out: &mut Vec<String>| {
        candidate.clear();
        candidate.push_str(stem);
        candidate.push_str(tail);
        if files.contains(candidate.as_str()) {
            out.push(candidate.clone());
        }
    };
    for base in bases {
        let mut path = String::with_capacity(base.len() + name.len() + 1);
        path.push_str(&base);
        for (i, part) in name.split('.').filter(|p| !p.is_empty()).enumerate() {
            if i > 0 || !path.is_empty() && !path.ends_with('/') {
                path.push('/');
            }
            path.push_str(part);
            check(&path, "/__init__.py", &mut out);
        }
        check(&path, ".py", &mut out);
        if name.is_empty() {
            check(&base, "__init__.py", &mut out);
        }
    }
    out
}

/// `a/b/` → `a/`; `a/` → ``.
fn parent(dir: &str) -> String {
    let trimmed = dir.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((p, _)) => format!("{p}/"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imports_of(src: &str) -> Vec<String> {
        let m = crate::python::load(src.as_bytes()).expect("loads");
        collect(m.parsed.syntax())
    }

    #[test]
    fn imports_are_collected_everywhere_in_a_file() {
        let got = imports_of(
            "import os\nfrom . import tools\ndef classFactory(iface):\n    from .plugin import Main\n    return Main(iface)\n",
        );
        assert_eq!(got, vec![".", ".plugin", ".plugin.Main", ".tools", "os"]);
    }

    #[test]
    fn folders_only_tests_import_are_test_support() {
        let files: BTreeSet<String> = [
            "dummyserver/__init__.py",
            "dummyserver/server.py",
            "helpers/__init__.py",
            "helpers/net.py",
            "lib/__init__.py",
            "test/test_a.py",
            "main.py",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let mut imports = BTreeMap::new();
        imports.insert(
            "test/test_a.py".to_string(),
            vec!["dummyserver.server".to_string(), "helpers.net".to_string()],
        );
        imports.insert("main.py".to_string(), vec!["helpers".to_string()]);
        // A folder's own files importing each other do not make it plugin code.
        imports.insert(
            "dummyserver/server.py".to_string(),
            vec!["dummyserver".to_string()],
        );
        let none = BTreeSet::new();
        let got = test_support("", &imports, &files, &none);
        let expect: BTreeSet<String> = ["dummyserver/".to_string()].into();
        assert_eq!(got, expect, "helpers/ is used by main.py, lib/ by nobody");
        let loaded: BTreeSet<String> = ["dummyserver/server.py".to_string()].into();
        assert!(test_support("", &imports, &files, &loaded).is_empty());
    }

    #[test]
    fn the_chain_follows_relative_absolute_and_implicit_imports() {
        let files: BTreeSet<String> = [
            "p/__init__.py",
            "p/plugin.py",
            "p/sub/__init__.py",
            "p/sub/work.py",
            "p/legacy.py",
            "p/samples/broken.py",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let mut imports = BTreeMap::new();
        imports.insert("p/__init__.py".to_string(), vec![".plugin".to_string()]);
        imports.insert(
            "p/plugin.py".to_string(),
            vec!["p.sub.work".to_string(), "legacy".to_string()],
        );
        let loaded = loaded_at_start("p/", &imports, &files);
        let expect: BTreeSet<String> = [
            "p/__init__.py",
            "p/plugin.py",
            "p/sub/__init__.py",
            "p/sub/work.py",
            "p/legacy.py",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(loaded, expect);
        assert!(!loaded.contains("p/samples/broken.py"));
    }
}
