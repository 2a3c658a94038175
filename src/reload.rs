//! Watching a hub's own files (manifest, `.env`, scripts, `lib/`, schemas) for edits, so `serve`
//! can rebuild its snapshot without a restart.

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

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

/// Watches `hub` recursively; every relevant change sends `()` (many per save: debounce them).
pub fn watch(hub: &Path) -> notify::Result<(RecommendedWatcher, mpsc::UnboundedReceiver<()>)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let root: PathBuf = hub.to_path_buf();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if event.kind.is_access() {
            return;
        }
        if event.paths.iter().any(|path| is_hub_file(&root, path)) {
            let _ = tx.send(());
        }
    })?;
    watcher.watch(hub, RecursiveMode::Recursive)?;
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
    }
}
