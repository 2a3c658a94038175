//! Repository rules: module docs, no debugging leftovers, stdlib examples and example hubs compile.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches"] {
        let dir = root().join(dir);
        if dir.exists() {
            rust_files(&dir, &mut files);
        }
    }
    files
}

#[test]
fn every_module_starts_with_a_doc_line() {
    for file in sources() {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("//!"), "{} must start with a `//!` line saying what it holds", file.display());
    }
}

#[test]
fn no_debugging_leftovers() {
    // Built from pieces so this file does not trip its own check.
    let banned = [concat!("dbg", "!("), concat!("todo", "!("), concat!("#[", "ignore"), concat!("unimplemented", "!(")];
    for file in sources() {
        let text = std::fs::read_to_string(&file).unwrap();
        for pattern in banned {
            assert!(!text.contains(pattern), "{} contains {pattern}", file.display());
        }
    }
}

#[test]
fn nothing_points_outside_the_repository() {
    // The repository is read on its own (a clone, a package): a doc or comment that sends the
    // reader to a file beside it leads nowhere.
    let outside = concat!("..", "/shared");
    let mut files = sources();
    for doc in ["README.md", "ARCHITECTURE.md", "SECURITY.md", "BENCHMARKS.md", "docs/guide.md"] {
        files.push(root().join(doc));
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains(outside), "{} points to {outside}", file.display());
    }
}

#[test]
fn every_stdlib_function_has_a_rhai_example_that_compiles() {
    let hub = crate::harness::Hub::new();
    let mut count = 0;
    let mut files = Vec::new();
    rust_files(&root().join("src/stdlib"), &mut files);
    rust_files(&root().join("src/engine"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            if line.trim() != "/// ```rhai" {
                continue;
            }
            let mut example = String::new();
            for line in lines.by_ref() {
                let line = line.trim().trim_start_matches("///");
                if line.trim() == "```" {
                    break;
                }
                example.push_str(line.strip_prefix(' ').unwrap_or(line));
                example.push('\n');
            }
            count += 1;
            hub.script(&format!("example_{count}"), &example);
        }
    }
    assert!(count > 40, "expected many stdlib examples, found {count}");
    let out = hub.cmd(&["check"]).output();
    assert_eq!(out.code, 0, "a stdlib doc example does not compile:\n{}", out.stderr);
}

#[test]
fn the_demo_hub_and_every_example_hub_pass_check() {
    let mut hubs = vec![root()];
    if let Ok(entries) = std::fs::read_dir(root().join("examples")) {
        hubs.extend(entries.flatten().map(|entry| entry.path()).filter(|path| path.join("switchboard.toml").exists()));
    }
    for hub in hubs {
        let mut command = std::process::Command::new(crate::harness::binary());
        command.args(["check", "--dir"]).arg(&hub);
        // Example hubs document their secrets in .env.example; check them with those values.
        if let Ok(text) = std::fs::read_to_string(hub.join(".env.example")) {
            for line in text.lines().filter(|line| !line.trim_start().starts_with('#')) {
                if let Some((key, value)) = line.split_once('=') {
                    let value = value.trim();
                    let unquoted = value.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')).unwrap_or(value);
                    command.env(key.trim(), unquoted);
                }
            }
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{}: {}", hub.display(), String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn every_stdlib_function_the_engine_registers_is_in_the_readme() {
    use switchboard::config::{Limits, Manifest};
    use switchboard::host::Host;
    use switchboard::secrets::Secrets;
    use switchboard::stdlib::Capabilities;
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let host = Host::new(dir.path(), runtime.handle().clone());
    let capabilities =
        std::sync::Arc::new(Capabilities::new(dir.path(), &Manifest::default(), Secrets::default(), host).unwrap());
    let engine = switchboard::hub::build_engine(&capabilities, &Limits::default()).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut listed = 0;
    let mut missing = Vec::new();
    for signature in engine.gen_fn_signatures(true) {
        let name = signature.split('(').next().unwrap_or_default();
        let Some((module, function)) = name.rsplit_once("::") else { continue };
        if module.starts_with("std/") || !function.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        listed += 1;
        // A row may list several calls of one module after the first (`also `post`, `put``).
        let mentioned = readme.contains(&format!("{module}::{function}("))
            || readme.contains(&format!("{module}::{function}`"))
            || readme.contains(&format!("`{function}`"));
        if !mentioned && !missing.contains(&name.to_string()) {
            missing.push(name.to_string());
        }
    }
    assert!(listed > 40, "expected the stdlib in the engine's metadata, found {listed}");
    assert!(missing.is_empty(), "README's stdlib reference lacks: {missing:?}");
}

/// The layers of `src/`, bottom (1) to top: a module may name `crate::` paths of its own layer and
/// the ones below it, never of one above. ARCHITECTURE.md draws the same table.
const LAYERS: &[(&str, u8)] = &[
    ("config", 1),
    ("count", 1),
    ("error", 1),
    ("json", 1),
    ("metrics", 1),
    ("secrets", 1),
    ("timestamp", 1),
    ("store", 2),
    ("host", 3),
    ("runlog", 3),
    ("engine", 4),
    ("stdlib", 5),
    ("hub", 6),
    ("runner", 7),
    ("queue", 8),
    ("triggers", 9),
    ("reload", 10),
    ("repl", 10),
    ("service", 10),
    ("cli", 11),
    ("lib", 11),
    ("main", 11),
];

fn layer_of(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(name, _)| *name == module).map(|(_, layer)| *layer)
}

/// The first segment of each path a `use crate::{...}` group names, read up to its closing brace.
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut item = String::new();
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => heads.push(std::mem::take(&mut item)),
            _ if depth == 0 => item.push(c),
            _ => {}
        }
    }
    heads.push(item);
    heads
        .into_iter()
        .filter_map(|item| item.trim().split("::").next().map(str::to_string))
        .filter(|h| !h.is_empty())
        .collect()
}

/// Every top-level module a file of `src/` names, with the line: `crate::x`, `crate::{x, y}` and a
/// `super::` chain long enough to reach the crate root (counted from the file's own depth, so one
/// inside an inline `mod tests` is read as reaching one level higher than it does: strict, never lax).
fn named_modules(file: &Path, text: &str) -> Vec<(usize, String, String)> {
    let relative = file.strip_prefix(root().join("src")).unwrap();
    let mut depth = relative.components().count();
    if relative.file_name().is_some_and(|name| name == "mod.rs") {
        depth -= 1;
    }
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    let ident = |s: &str| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    let mut found = Vec::new();
    for (offset, _) in text.match_indices("crate::") {
        if text[..offset].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &text[offset + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let end = group
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(group.len(), |(end, _)| end);
            for head in group_heads(&group[..end]) {
                found.push((line_of(offset), head.clone(), format!("crate::{{{head}, ..}}")));
            }
        } else {
            let head = ident(rest);
            found.push((line_of(offset), head, format!("crate::{}", ident_path(rest))));
        }
    }
    for (offset, _) in text.match_indices("super::") {
        if text[..offset].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut rest = &text[offset..];
        let mut climbs = 0;
        while let Some(after) = rest.strip_prefix("super::") {
            climbs += 1;
            rest = after;
        }
        if climbs >= depth {
            found.push((line_of(offset), ident(rest), format!("{}{}", "super::".repeat(climbs), ident_path(rest))));
        }
    }
    found
}

/// The path as written, `a::b::C`, for the message.
fn ident_path(s: &str) -> String {
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).unwrap_or(s.len());
    s[..end].trim_end_matches(':').to_string()
}

#[test]
fn each_layer_names_only_the_layers_below_it() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    files.sort();
    let mut violations = Vec::new();
    let mut unknown = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(root().join("src")).unwrap();
        let module =
            relative.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
        let Some(own) = layer_of(&module) else {
            unknown.push(relative.display().to_string());
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (line, head, path) in named_modules(file, &text) {
            let Some(named) = layer_of(&head) else { continue };
            if named > own {
                violations.push(format!("src/{}:{line}: layer {own} -> layer {named} ({path})", relative.display()));
            }
        }
    }
    assert!(unknown.is_empty(), "these files are in no layer; add their module to LAYERS: {unknown:?}");
    assert!(violations.is_empty(), "{} upward arrows:\n{}", violations.len(), violations.join("\n"));
}
