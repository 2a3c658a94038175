//! Finding a hub's scripts: `scripts/**/*.rhai`, named by their path without the extension.

use std::path::{Path, PathBuf};

/// One script file of a hub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptFile {
    /// `tasks/create` for `scripts/tasks/create.rhai`.
    pub name: String,
    /// The file's path.
    pub path: PathBuf,
    /// The path relative to the hub, used as the source name in errors.
    pub source: String,
}

/// Every script under `DIR/scripts`, sorted by name.
pub fn discover(dir: &Path) -> Vec<ScriptFile> {
    discover_in(dir, "scripts")
}

/// Every `.rhai` file under `DIR/folder`, sorted by name.
pub fn discover_in(dir: &Path, folder: &str) -> Vec<ScriptFile> {
    let root = dir.join(folder);
    let mut found = Vec::new();
    walk(&root, &mut found);
    let mut scripts: Vec<ScriptFile> = found
        .into_iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(&root).ok()?.with_extension("");
            let name = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            Some(ScriptFile { source: format!("{folder}/{name}.rhai"), name, path })
        })
        .collect();
    scripts.sort_by(|a, b| a.name.cmp(&b.name));
    scripts
}

/// The names of every script of the hub at `dir`.
pub fn script_names(dir: &Path) -> Vec<String> {
    discover(dir).into_iter().map(|script| script.name).collect()
}

fn walk(folder: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(folder) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rhai") {
            found.push(path);
        }
    }
}
