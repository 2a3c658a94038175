//! A `[[watch]]` entry resolved against its hub: absolute folders, compiled globs, the changes it
//! runs for. `check` uses the same helpers, so what it accepts is what `serve` does.

pub(crate) use super::Change;
use super::watch_patterns::{GlobError, Matcher};
use super::{OnStart, Patterns, Policy, Watch};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// How long a file must stay unchanged (size and mtime) before it counts as completely written.
pub const DEFAULT_SETTLE: Duration = Duration::from_millis(500);
/// How long a file still open for writing may stay quiet before it runs anyway.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(600);

/// The globs of a watch; `*` when none are given.
pub fn globs(watch: &Watch) -> Vec<String> {
    match &watch.pattern {
        None => vec!["*".to_string()],
        Some(Patterns::One(glob)) => vec![glob.clone()],
        Some(Patterns::Many(globs)) => globs.clone(),
    }
}

/// The name of a watch's ledger: its `name`, or its `path` tidied (`./inbox/` is `inbox`).
pub fn ledger_name(watch: &Watch) -> String {
    match &watch.name {
        Some(name) => name.clone(),
        None => {
            let tidy = normalize(Path::new(&watch.path));
            if tidy.as_os_str().is_empty() { ".".to_string() } else { slashed(&tidy) }
        }
    }
}

/// `path` without `.` parts and with `..` applied, without touching the disk.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `path` (relative to `hub` or absolute) as an absolute, normalized path.
pub fn absolute(hub: &Path, path: &str) -> PathBuf {
    normalize(&hub.join(path))
}

/// A path with `/` separators, whatever the platform (absolute ones keep their leading `/`).
pub fn slashed(path: &Path) -> String {
    let parts = path.components().filter(|c| !matches!(c, Component::RootDir | Component::Prefix(_)));
    let joined = parts.map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
    if path.has_root() { format!("/{joined}") } else { joined }
}

/// A watch ready to run.
#[derive(Debug)]
pub struct Spec {
    /// The ledger name.
    pub name: String,
    /// `path` as written in the manifest (`event.watch`).
    pub label: String,
    pub script: String,
    /// The hub folder (canonical).
    pub hub: PathBuf,
    /// The watched folder, absolute.
    pub root: PathBuf,
    /// The globs as written.
    pub globs: Vec<String>,
    pub matcher: Matcher,
    pub events: Vec<Change>,
    pub ignore_on_start: bool,
    pub recursive: bool,
    pub move_to: Option<PathBuf>,
    pub error_to: Option<PathBuf>,
    pub settle: Duration,
    /// How long a file a writer still holds open may stay quiet before it runs anyway.
    pub close_timeout: Duration,
    /// Folders under `root` that are never watched: `move_to`, `error_to`, the store's folder.
    pub excluded: Vec<PathBuf>,
    pub timeout: Option<Duration>,
    pub max_operations: Option<u64>,
    /// Attempts of a failed run (in place, before the file counts as failed).
    pub retry: Policy,
    /// A script to run after the last failed attempt.
    pub on_error: Option<String>,
}

impl Spec {
    /// Resolves `watch` of the hub at `hub`, whose store lives in `store_dir`.
    pub fn resolve(hub: &Path, store_dir: &Path, watch: &Watch) -> Result<Self, GlobError> {
        let globs = globs(watch);
        let matcher = Matcher::new(&globs)?;
        let events = match &watch.events {
            None => vec![Change::Created],
            Some(changes) => changes.clone(),
        };
        let move_to = watch.move_to.as_deref().map(|path| absolute(hub, path));
        let error_to = watch.error_to.as_deref().map(|path| absolute(hub, path));
        let root = absolute(hub, &watch.path);
        let excluded = move_to
            .iter()
            .chain(&error_to)
            .cloned()
            .chain([store_dir.to_path_buf()])
            .filter(|folder| folder.starts_with(&root) && *folder != root)
            .collect();
        Ok(Self {
            name: ledger_name(watch),
            label: watch.path.clone(),
            script: watch.script.clone(),
            hub: hub.to_path_buf(),
            root,
            globs,
            matcher,
            events,
            ignore_on_start: watch.on_start == OnStart::Ignore,
            recursive: watch.recursive,
            move_to,
            error_to,
            settle: watch.settle.map_or(DEFAULT_SETTLE, |settle| settle.0),
            close_timeout: watch.close_timeout.map_or(DEFAULT_CLOSE_TIMEOUT, |timeout| timeout.0),
            excluded,
            timeout: watch.timeout.map(|timeout| timeout.0),
            max_operations: watch.max_operations,
            retry: watch.retry.unwrap_or_default(),
            on_error: watch.on_error.clone(),
        })
    }

    /// Whether the watch runs its script for `change`.
    pub fn runs_for(&self, change: Change) -> bool {
        self.events.contains(&change)
    }

    /// `path` under the watched folder, `/`-separated, if it is a file this watch looks at: inside
    /// the folder (directly, unless recursive), outside excluded and hidden folders, not temporary.
    pub fn relative(&self, path: &Path) -> Option<String> {
        let relative = path.strip_prefix(&self.root).ok()?;
        let parts: Vec<_> = relative.components().collect();
        if parts.is_empty() || parts.len() > 1 && !self.recursive {
            return None;
        }
        if self.excluded.iter().any(|folder| path.starts_with(folder)) {
            return None;
        }
        let hidden = parts[..parts.len() - 1].iter().any(|part| part.as_os_str().to_string_lossy().starts_with('.'));
        (!hidden).then(|| slashed(relative))
    }

    /// Whether `path` is a folder a recursive watch descends into.
    pub fn descends_into(&self, path: &Path) -> bool {
        self.recursive
            && path.starts_with(&self.root)
            && !self.excluded.iter().any(|folder| path.starts_with(folder))
            && !path.file_name().is_some_and(|name| name.to_string_lossy().starts_with('.'))
    }

    /// How a file is named to scripts and in logs: relative to the hub when inside it.
    pub fn shown(&self, path: &Path) -> String {
        match path.strip_prefix(&self.hub) {
            Ok(relative) => slashed(relative),
            Err(_) => path.display().to_string(),
        }
    }
}

/// What is wrong with `watch` of the hub at `hub`, as (field, message) pairs; `check` and reload
/// report these, so [`Spec::resolve`] never meets them.
pub fn problems(hub: &Path, watch: &Watch) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    let root = absolute(hub, &watch.path);
    if watch.path.trim().is_empty() {
        problems.push(("path", "must name a folder (relative to the hub, or absolute)".to_string()));
    } else if root.is_file() {
        problems.push(("path", format!("`{}` is a file; expected a folder", watch.path)));
    }
    if watch.name.as_deref().is_some_and(|name| name.trim().is_empty()) {
        problems.push(("name", "must not be empty".to_string()));
    }
    let globs = globs(watch);
    if globs.is_empty() || globs.iter().any(|glob| glob.is_empty()) {
        problems.push(("pattern", "expected one or more non-empty globs, such as \"*.csv\"".to_string()));
    } else if let Err(err) = Matcher::new(&globs) {
        problems.push(("pattern", err.to_string()));
    }
    if watch.events.as_ref().is_some_and(Vec::is_empty) {
        problems.push(("events", "must list at least one of created, modified, removed".to_string()));
    }
    for (field, folder) in [("move_to", &watch.move_to), ("error_to", &watch.error_to)] {
        let Some(folder) = folder else { continue };
        if folder.trim().is_empty() {
            problems.push((field, "must name a folder".to_string()));
        } else if absolute(hub, folder) == root {
            problems.push((field, format!("`{folder}` is the watched folder itself; its files would run again")));
        } else if absolute(hub, folder).is_file() {
            problems.push((field, format!("`{folder}` is a file; expected a folder")));
        }
    }
    if watch.timeout.is_some_and(|timeout| timeout.0.is_zero()) {
        problems.push(("timeout", "must be longer than 0s".to_string()));
    }
    if watch.max_operations == Some(0) {
        problems.push(("max_operations", "must be greater than 0".to_string()));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalize_lexically() {
        assert_eq!(normalize(Path::new("./inbox/")), PathBuf::from("inbox"));
        assert_eq!(normalize(Path::new("inbox/../in/./x")), PathBuf::from("in/x"));
        assert_eq!(normalize(Path::new("../x")), PathBuf::from("../x"));
        assert_eq!(normalize(Path::new("/a/../../b")), PathBuf::from("/b"));
        assert_eq!(absolute(Path::new("/hub"), "inbox/done"), PathBuf::from("/hub/inbox/done"));
        assert_eq!(absolute(Path::new("/hub"), "/elsewhere/in"), PathBuf::from("/elsewhere/in"));
        assert_eq!(slashed(Path::new("/elsewhere/in")), "/elsewhere/in");
        assert_eq!(slashed(Path::new("in/x.csv")), "in/x.csv");
    }

    fn spec(recursive: bool) -> Spec {
        let watch: Watch = toml::from_str(&format!(
            "path = \"./inbox\"\nscript = \"s\"\nmove_to = \"inbox/done\"\nrecursive = {recursive}\n"
        ))
        .unwrap();
        assert_eq!(ledger_name(&watch), "inbox");
        Spec::resolve(Path::new("/hub"), Path::new("/hub/data"), &watch).unwrap()
    }

    #[test]
    fn files_outside_the_watch_are_not_its_own() {
        let flat = spec(false);
        assert_eq!(flat.relative(Path::new("/hub/inbox/a.csv")).as_deref(), Some("a.csv"));
        assert_eq!(flat.relative(Path::new("/hub/inbox/sub/a.csv")), None);
        assert_eq!(flat.relative(Path::new("/hub/inbox")), None);
        assert_eq!(flat.relative(Path::new("/hub/other/a.csv")), None);
        let deep = spec(true);
        assert_eq!(deep.relative(Path::new("/hub/inbox/sub/a.csv")).as_deref(), Some("sub/a.csv"));
        assert_eq!(deep.relative(Path::new("/hub/inbox/done/a.csv")), None);
        assert_eq!(deep.relative(Path::new("/hub/inbox/.git/a.csv")), None);
        assert!(deep.descends_into(Path::new("/hub/inbox/sub")));
        assert!(!deep.descends_into(Path::new("/hub/inbox/done")));
        assert_eq!(deep.shown(Path::new("/hub/inbox/sub/a.csv")), "inbox/sub/a.csv");
        assert_eq!(deep.shown(Path::new("/elsewhere/a.csv")), "/elsewhere/a.csv");
        assert_eq!(deep.events, [Change::Created]);
    }
}
