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
                    command.env(key.trim(), value.trim());
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
    use switchboard::hub::Host;
    use switchboard::secrets::Secrets;
    use switchboard::stdlib::Capabilities;
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let host = Host::new(dir.path(), runtime.handle().clone());
    let capabilities =
        std::sync::Arc::new(Capabilities::new(dir.path(), &Manifest::default(), Secrets::default(), host).unwrap());
    let engine = switchboard::engine::build(&capabilities, &Limits::default()).unwrap();
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
