//! The thread of one watch: turns notify events and periodic rescans into pending files, and hands
//! complete ones (and vanished ones) to `handle`, one at a time.

use super::stability::{Limits, Pending, Stat};
use crate::config::watch_patterns;
use crate::config::watch_spec::Spec;
use crate::hub::Snapshot;
use crate::triggers::background::Background;
use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use parking_lot::Mutex;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// How often the whole folder is listed again, to catch anything the OS did not report.
const RESCAN: Duration = Duration::from_secs(30);
/// How often the folder is listed while notify is unavailable (it is then the only source).
const POLL: Duration = Duration::from_secs(2);
/// How long a new subfolder is listed at every check: files written into it before the OS watch
/// on it was in place send no events.
const FRESH: Duration = Duration::from_secs(1);

/// Whether the OS reports a writer's close (inotify's CLOSE_WRITE): then a file that was created
/// or written to is complete only once closed, and `settle` is for what no event reported.
const CLOSES_REPORTED: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// How a file showed up in an event.
#[derive(Clone, Copy)]
enum Arrival {
    /// Written to, or touched, by someone whose close will not be reported.
    Changed,
    /// Created or written to by a writer whose close will be reported.
    Writing,
    /// Closed by its writer, or moved into place: complete.
    Complete,
}

/// Whether a file just created was opened by its creator (whose close will come), rather than
/// linked into place: a hard or symbolic link is created whole.
fn created_open(path: &Path) -> bool {
    let Ok(metadata) = std::fs::symlink_metadata(path) else { return false };
    #[cfg(unix)]
    let single = std::os::unix::fs::MetadataExt::nlink(&metadata) <= 1;
    #[cfg(not(unix))]
    let single = true;
    metadata.is_file() && single
}

/// What a watch thread receives.
pub enum Message {
    Event(notify::Result<notify::Event>),
    Stop,
}

/// One watch at work.
pub struct Folder {
    pub spec: Spec,
    pub snapshot: Arc<Snapshot>,
    pub background: Background,
    /// Held while a file is handled; shared with other versions of this watch across reloads.
    pub lock: Arc<Mutex<()>>,
    /// The first start of this watch in this process (`on_start` applies).
    pub first_start: bool,
    pub stopping: Arc<AtomicBool>,
}

/// The work a thread has queued.
#[derive(Default)]
pub struct Queue {
    pub pending: Pending,
    /// Paths reported gone (files or folders), to check against the ledger.
    pub gone: BTreeSet<PathBuf>,
    /// Something arrived by rename: check now rather than at the next tick.
    urgent: bool,
    rescan: bool,
    /// The watched folder itself went away: its OS watch is dead.
    lost: bool,
    /// Subfolders that just appeared, with when.
    fresh: Vec<(PathBuf, Instant)>,
}

impl Folder {
    /// Runs until told to stop.
    pub fn run(self, sender: &mpsc::Sender<Message>, receiver: &mpsc::Receiver<Message>) {
        let root = self.spec.root.clone();
        if let Err(err) = std::fs::create_dir_all(&root) {
            tracing::error!("watch `{}`: cannot create the folder {}: {err}", self.spec.name, root.display());
        }
        let mut watcher = self.watcher(sender);
        let mut queue = Queue::default();
        let waiting = self.scan(&mut queue, self.first_start);
        tracing::info!(
            "watch `{}`: watching {} for {} ({}) -> `{}`; {waiting} files to check",
            self.spec.name,
            self.spec.shown(&root),
            self.spec.globs.join(", "),
            self.spec.events.iter().map(|change| change.as_str()).collect::<Vec<_>>().join(", "),
            self.spec.script,
        );
        let tick = (self.spec.settle / 5).clamp(Duration::from_millis(10), Duration::from_millis(250));
        let mut last_scan = Instant::now();
        let mut last_check = Instant::now();
        loop {
            let every = if watcher.is_some() { RESCAN } else { POLL };
            let busy = !queue.pending.is_empty() || !queue.gone.is_empty() || !queue.fresh.is_empty();
            let wait = if busy { tick } else { every.saturating_sub(last_scan.elapsed()) };
            let first = match receiver.recv_timeout(wait) {
                Ok(message) => Some(message),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            };
            for message in first.into_iter().chain(std::iter::from_fn(|| receiver.try_recv().ok())) {
                match message {
                    Message::Stop => return,
                    Message::Event(Ok(event)) => self.on_event(event, &mut queue),
                    Message::Event(Err(err)) => {
                        tracing::warn!("watch `{}`: file events may be lost ({err}); rescanning", self.spec.name);
                        queue.rescan = true;
                    }
                }
            }
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            if std::mem::take(&mut queue.lost) {
                watcher = None;
            }
            if queue.rescan || last_scan.elapsed() >= every {
                if watcher.is_none() && root.is_dir() {
                    watcher = self.watcher(sender);
                }
                queue.rescan = false;
                self.scan(&mut queue, false);
                last_scan = Instant::now();
            }
            if queue.urgent || last_check.elapsed() >= tick {
                queue.urgent = false;
                last_check = Instant::now();
                let fresh = std::mem::take(&mut queue.fresh);
                for (folder, _) in &fresh {
                    self.discover(folder, &mut queue, false, &mut BTreeSet::new());
                }
                queue.fresh = fresh.into_iter().filter(|(_, at)| at.elapsed() < FRESH).collect();
                self.work(&mut queue);
            }
        }
    }

    fn watcher(&self, sender: &mpsc::Sender<Message>) -> Option<RecommendedWatcher> {
        let events = sender.clone();
        let mode = if self.spec.recursive { RecursiveMode::Recursive } else { RecursiveMode::NonRecursive };
        let started = notify::recommended_watcher(move |event| {
            let _ = events.send(Message::Event(event));
        })
        .and_then(|mut watcher| watcher.watch(&self.spec.root, mode).map(|()| watcher));
        match started {
            Ok(watcher) => Some(watcher),
            Err(err) => {
                tracing::warn!(
                    "watch `{}`: cannot watch {} for changes ({err}); listing it every {}s instead",
                    self.spec.name,
                    self.spec.shown(&self.spec.root),
                    POLL.as_secs()
                );
                None
            }
        }
    }

    /// The relative path of `path` if it is a file this watch runs for; logs why not otherwise.
    pub fn wanted(&self, path: &Path, arrived: bool) -> Option<String> {
        let relative = self.spec.relative(path)?;
        let name = relative.rsplit('/').next().unwrap_or(&relative);
        let skip = if watch_patterns::is_temporary(name) {
            "a temporary, hidden or swap file"
        } else if !self.spec.matcher.matches(&relative) {
            "not matching the pattern"
        } else {
            return Some(relative);
        };
        if arrived {
            tracing::debug!("watch `{}`: ignoring {}: {skip}", self.spec.name, self.spec.shown(path));
        }
        None
    }

    fn on_event(&self, event: notify::Event, queue: &mut Queue) {
        if event.need_rescan() {
            queue.rescan = true;
        }
        let now = Instant::now();
        let arrived = |path: &Path, how: Arrival, queue: &mut Queue| {
            if path.is_dir() {
                // A folder that arrived whole: its files were written before it was watched.
                if self.spec.descends_into(path) {
                    queue.fresh.push((path.to_path_buf(), now));
                }
            } else if self.wanted(path, true).is_some() {
                match how {
                    Arrival::Complete => {
                        queue.pending.renamed(path.to_path_buf(), now);
                        queue.urgent = true;
                    }
                    Arrival::Writing => queue.pending.writing(path.to_path_buf(), now),
                    Arrival::Changed => queue.pending.touch(path.to_path_buf(), now),
                }
            }
        };
        let written = if CLOSES_REPORTED { Arrival::Writing } else { Arrival::Changed };
        match event.kind {
            // The writer closed the file (inotify's CLOSE_WRITE): it is complete now, so it runs at
            // once instead of waiting out `settle`. Other accesses say nothing about completeness
            // (an open may be a reader's, whose close is not reported).
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
                for path in &event.paths {
                    arrived(path, Arrival::Complete, queue);
                }
            }
            EventKind::Access(_) => {}
            // A file created or written to is open for writing until its close is reported,
            // however long its writer pauses.
            EventKind::Create(_) => {
                for path in &event.paths {
                    arrived(path, if created_open(path) { written } else { Arrival::Changed }, queue);
                }
            }
            EventKind::Modify(ModifyKind::Data(_)) => {
                for path in &event.paths {
                    arrived(path, written, queue);
                }
            }
            EventKind::Modify(ModifyKind::Metadata(_)) => {
                for path in &event.paths {
                    arrived(path, Arrival::Changed, queue);
                }
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
                for path in &event.paths {
                    arrived(path, Arrival::Complete, queue);
                }
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
                if let [from, to] = event.paths.as_slice() {
                    self.left(from, queue);
                    arrived(to, Arrival::Complete, queue);
                }
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::From)) | EventKind::Remove(_) => {
                for path in &event.paths {
                    self.left(path, queue);
                }
            }
            EventKind::Modify(_) => {
                for path in &event.paths {
                    if path.exists() { arrived(path, Arrival::Changed, queue) } else { self.left(path, queue) }
                }
            }
            EventKind::Any | EventKind::Other => queue.rescan = true,
        }
    }

    /// `path` (a file or a folder) left the watched folder.
    fn left(&self, path: &Path, queue: &mut Queue) {
        if path == self.spec.root {
            tracing::warn!(
                "watch `{}`: the folder {} was removed or moved away; files are picked up again once it is back",
                self.spec.name,
                self.spec.shown(path)
            );
            queue.lost = true;
            return;
        }
        if path.starts_with(&self.spec.root) && !self.spec.excluded.iter().any(|folder| path.starts_with(folder)) {
            queue.pending.forget_under(path);
            queue.gone.insert(path.to_path_buf());
        }
    }

    /// Lists the folder: files that are new or changed since the ledger saw them become pending
    /// (or, at a first start with `on_start = "ignore"`, are recorded as seen), and files the
    /// ledger has but the folder no longer does are checked as gone. Returns how many are waiting.
    pub fn scan(&self, queue: &mut Queue, starting: bool) -> usize {
        let mut found = BTreeSet::new();
        self.discover(&self.spec.root.clone(), queue, starting, &mut found);
        if !self.spec.root.is_dir() {
            // Not "every file was removed": the folder itself is missing (or not mounted).
            return queue.pending.len();
        }
        let Ok(store) = self.snapshot.capabilities.store.get() else { return queue.pending.len() };
        match store.watch_present(&self.spec.name, None) {
            Ok(entries) => {
                for entry in entries.into_iter().filter(|entry| !found.contains(&entry.path)) {
                    if starting && self.spec.ignore_on_start {
                        self.forget_at_start(&store, &entry.path);
                    } else {
                        queue.gone.insert(self.spec.root.join(entry.path));
                    }
                }
            }
            Err(err) => tracing::error!("watch `{}`: cannot read the ledger: {err}", self.spec.name),
        }
        queue.pending.len() + queue.gone.len()
    }

    /// Queues the files under `folder` that the ledger has not seen as they are now; adds every
    /// file's path (relative to the watched folder) to `found`.
    fn discover(&self, folder: &Path, queue: &mut Queue, starting: bool, found: &mut BTreeSet<String>) {
        let mut files = Vec::new();
        self.list(folder, &mut files);
        let store = self.snapshot.capabilities.store.get().ok();
        let now = Instant::now();
        for path in files {
            if let Some(relative) = self.spec.relative(&path) {
                found.insert(relative);
            }
            let Some(relative) = self.wanted(&path, starting) else { continue };
            let Some(stat) = Stat::of(&path) else { continue };
            let entry = store.as_ref().and_then(|store| store.watch_entry(&self.spec.name, &relative).ok().flatten());
            let entry = entry.filter(|e| e.present && e.size == stat.size && e.mtime_ns == stat.mtime_ns);
            let done = entry.as_ref().is_some_and(|entry| !self.move_due(entry));
            if done || queue.pending.contains(&path) {
                continue;
            }
            if starting && self.spec.ignore_on_start && entry.is_none() {
                self.ignore_at_start(&path, &relative, stat);
            } else {
                queue.pending.touch(path, now);
            }
        }
    }

    /// Every file under `folder` this watch may look at (one level unless recursive).
    fn list(&self, folder: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(folder) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                if self.spec.descends_into(&path) {
                    self.list(&path, out);
                }
            } else {
                out.push(path);
            }
        }
    }

    /// Handles what is complete and what is gone, one file at a time, under the ledger's lock.
    fn work(&self, queue: &mut Queue) {
        let limits = Limits { settle: self.spec.settle, close_timeout: self.spec.close_timeout };
        let checked = queue.pending.check(Instant::now(), limits, Stat::of);
        for path in &checked.unclosed {
            tracing::warn!(
                "watch `{}`: {} is still open for writing after {}; running it as it is now (close_timeout); \
                 if it changes afterwards it counts as modified",
                self.spec.name,
                self.spec.shown(path),
                humantime::format_duration(self.spec.close_timeout)
            );
        }
        for path in checked.vanished {
            tracing::debug!(
                "watch `{}`: {} went away before it was completely written",
                self.spec.name,
                self.spec.shown(&path)
            );
            queue.gone.insert(path);
        }
        if checked.ready.is_empty() && queue.gone.is_empty() {
            return;
        }
        let _guard = self.lock.lock();
        for path in std::mem::take(&mut queue.gone) {
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            self.gone(&path, &mut queue.pending);
        }
        for (path, stat) in checked.ready {
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            // Earlier files of this batch may have taken a while: make sure this one is still as it was.
            if Stat::of(&path) != Some(stat) {
                queue.pending.touch(path, Instant::now());
                continue;
            }
            self.complete(&path, stat);
        }
    }
}
