//! Watching a hub's own files (manifest, `.env`, scripts, `lib/`, schemas) for edits, so `serve`
//! can rebuild its snapshot without a restart.

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// The hub's folders that hold definition files, watched recursively when they exist.
const DEFINITION_DIRS: [&str; 3] = ["scripts", "lib", "schemas"];

/// Whether a changed path is part of the hub's definition (and not data, or a watched inbox).
pub fn is_hub_file(hub: &Path, path: &Path) -> bool {
    let Ok(relative) = path.strip_prefix(hub) else { return false };
    let name = relative.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let temporary = name.starts_with('.') && name != ".env" || name.ends_with('~') || name.ends_with(".swp");
    if temporary {
        return false;
    }
    let mut parts = relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned());
    match parts.next().as_deref() {
        Some("switchboard.toml" | ".env") => relative.components().count() == 1,
        Some("scripts" | "lib") => relative.extension().is_some_and(|ext| ext == "rhai"),
        Some("schemas") => true,
        _ => false,
    }
}

/// Whether `path` is one of the hub's definition folders itself (created, removed or renamed).
fn is_definition_dir(hub: &Path, path: &Path) -> bool {
    path.strip_prefix(hub).is_ok_and(|relative| {
        relative.components().count() == 1 && DEFINITION_DIRS.iter().any(|dir| relative == Path::new(dir))
    })
}

/// The watch on a hub's definition: its top folder alone (the manifest, `.env`), plus each
/// definition folder recursively. Never `data/` or inboxes: under load the run log writes to
/// `data/` thousands of times a second, and every write would wake the watcher.
pub struct HubWatcher {
    hub: PathBuf,
    watcher: RecommendedWatcher,
    watched: Vec<PathBuf>,
}

impl HubWatcher {
    /// Watches the definition folders that exist now and forgets those that are gone; call it
    /// after every change, so a folder created later (a first `lib/`) is watched too.
    pub fn refresh(&mut self) -> notify::Result<()> {
        let (kept, gone): (Vec<PathBuf>, Vec<PathBuf>) =
            std::mem::take(&mut self.watched).into_iter().partition(|dir| dir.is_dir());
        for dir in gone {
            // The kernel dropped the watch with the folder; this only tidies notify's own list.
            let _ = self.watcher.unwatch(&dir);
        }
        self.watched = kept;
        for name in DEFINITION_DIRS {
            let dir = self.hub.join(name);
            if dir.is_dir() && !self.watched.contains(&dir) {
                self.watcher.watch(&dir, RecursiveMode::Recursive)?;
                self.watched.push(dir);
            }
        }
        Ok(())
    }
}

/// Watches `hub`'s definition; every relevant change sends `()` (many per save: debounce them,
/// then [`HubWatcher::refresh`]).
pub fn watch(hub: &Path) -> notify::Result<(HubWatcher, mpsc::UnboundedReceiver<()>)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let root: PathBuf = hub.to_path_buf();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if event.kind.is_access() {
            return;
        }
        if event.paths.iter().any(|path| is_hub_file(&root, path) || is_definition_dir(&root, path)) {
            let _ = tx.send(());
        }
    })?;
    watcher.watch(hub, RecursiveMode::NonRecursive)?;
    let mut watcher = HubWatcher { hub: hub.to_path_buf(), watcher, watched: Vec::new() };
    watcher.refresh()?;
    Ok((watcher, rx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hub_definition_files_count() {
        let hub = Path::new("/h");
        for yes in [
            "/h/switchboard.toml",
            "/h/.env",
            "/h/scripts/a.rhai",
            "/h/scripts/x/b.rhai",
            "/h/lib/u.rhai",
            "/h/schemas/t.json",
        ] {
            assert!(is_hub_file(hub, Path::new(yes)), "{yes}");
        }
        for no in [
            "/h/data/switchboard.db",
            "/h/inbox/a.csv",
            "/h/scripts/.a.rhai.swp",
            "/h/scripts/a.rhai~",
            "/h/x/switchboard.toml",
            "/other/a.rhai",
        ] {
            assert!(!is_hub_file(hub, Path::new(no)), "{no}");
        }
        assert!(is_definition_dir(hub, Path::new("/h/lib")));
        assert!(!is_definition_dir(hub, Path::new("/h/lib/x")) && !is_definition_dir(hub, Path::new("/h/data")));
    }
}
