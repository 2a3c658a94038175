//! Handling one file that is complete or gone: the ledger decides whether it is new, changed or
//! done; its script runs; the outcome is recorded; the file moves to `move_to` or `error_to`.

use super::folder::Folder;
use super::moving;
use super::stability::{Pending, Stat};
use crate::config::watch_spec::Change;
use crate::runner::Invocation;
use crate::store::{FileStatus, LedgerEntry, LedgerRecord, Store};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

impl Folder {
    /// Where a file goes after a run that ended with `status`, and the key that says so.
    fn destination(&self, status: FileStatus) -> Option<(&Path, &'static str)> {
        match status {
            FileStatus::Ok => self.spec.move_to.as_deref().map(|folder| (folder, "move_to")),
            FileStatus::Error => self.spec.error_to.as_deref().map(|folder| (folder, "error_to")),
            FileStatus::Seen => None,
        }
    }

    /// Whether a file the ledger has handled still has to move (an earlier move was interrupted).
    pub fn move_due(&self, entry: &LedgerEntry) -> bool {
        self.destination(entry.status).is_some()
    }

    fn store(&self) -> Option<Arc<Store>> {
        match self.snapshot.capabilities.store.get() {
            Ok(store) => Some(store),
            Err(err) => {
                tracing::error!("watch `{}`: the ledger is unavailable, files wait for it: {err}", self.spec.name);
                None
            }
        }
    }

    fn record(&self, store: &Store, record: &LedgerRecord<'_>) {
        if let Err(err) = store.watch_record(&self.spec.name, record) {
            tracing::error!(
                "watch `{}`: cannot record {} in the ledger ({err}); it may be handled again after a restart",
                self.spec.name,
                record.path
            );
        }
    }

    /// At a first start with `on_start = "ignore"`: records a file that arrived while the hub was
    /// stopped as seen, without running it.
    pub fn ignore_at_start(&self, path: &Path, relative: &str, stat: Stat) {
        let _guard = self.lock.lock();
        let Some(store) = self.store() else { return };
        let known = matches!(store.watch_entry(&self.spec.name, relative), Ok(Some(entry)) if entry.present);
        let change = if known { Change::Modified } else { Change::Created };
        let record = LedgerRecord {
            path: relative,
            size: stat.size,
            mtime_ns: stat.mtime_ns,
            change: change.as_str(),
            status: FileStatus::Seen,
            run_id: None,
            present: true,
        };
        self.record(&store, &record);
        tracing::info!(
            "watch `{}`: ignoring {} ({}): it changed while the hub was stopped (on_start = \"ignore\")",
            self.spec.name,
            self.spec.shown(path),
            change.as_str()
        );
    }

    /// At a first start with `on_start = "ignore"`: forgets a file removed while the hub was stopped.
    pub fn forget_at_start(&self, store: &Store, relative: &str) {
        let _guard = self.lock.lock();
        if let Err(err) = store.watch_forget(&self.spec.name, relative) {
            tracing::error!("watch `{}`: cannot update the ledger: {err}", self.spec.name);
        }
        tracing::info!(
            "watch `{}`: {} was removed while the hub was stopped; not run (on_start = \"ignore\")",
            self.spec.name,
            self.spec.shown(&self.spec.root.join(relative))
        );
    }

    /// A file that is completely written: runs it if it is new, changed, or failed and changed since.
    pub fn complete(&self, path: &Path, stat: Stat) {
        let Some(relative) = self.spec.relative(path) else { return };
        let Some(store) = self.store() else { return };
        let shown = self.spec.shown(path);
        let entry = match store.watch_entry(&self.spec.name, &relative) {
            Ok(entry) => entry.filter(|entry| entry.present),
            Err(err) => {
                tracing::error!("watch `{}`: {shown} waits: cannot read the ledger: {err}", self.spec.name);
                return;
            }
        };
        let change = match &entry {
            Some(entry) if entry.size == stat.size && entry.mtime_ns == stat.mtime_ns => {
                if self.move_due(entry) {
                    tracing::info!("watch `{}`: finishing the interrupted move of {shown}", self.spec.name);
                    self.finish(&store, entry.status, path, &relative);
                } else {
                    tracing::debug!("watch `{}`: {shown} is unchanged since it was handled", self.spec.name);
                }
                return;
            }
            Some(entry) if entry.status == FileStatus::Error => entry.change.parse().unwrap_or(Change::Created),
            Some(_) => Change::Modified,
            None => Change::Created,
        };
        let mut record = LedgerRecord {
            path: &relative,
            size: stat.size,
            mtime_ns: stat.mtime_ns,
            change: change.as_str(),
            status: FileStatus::Seen,
            run_id: None,
            present: true,
        };
        if !self.spec.runs_for(change) {
            self.record(&store, &record);
            tracing::info!(
                "watch `{}`: {shown} was {}; not run, since `events` does not list it",
                self.spec.name,
                change.as_str()
            );
            return;
        }
        let Some((status, run_id)) = self.run_script(change, path) else { return };
        // The run's record is stored before the ledger says the file was handled, so a crash
        // never leaves a handled file whose run has no record.
        self.snapshot.capabilities.host.runlog.flush();
        // The stat from before the run is recorded: a change made while it ran (by anyone, even the
        // script itself) is a change, and runs again if the watch lists "modified".
        let after = Stat::of(path);
        record.status = status;
        record.run_id = run_id.as_deref();
        record.present = after.is_some();
        self.record(&store, &record);
        if after.is_some() {
            self.finish(&store, status, path, &relative);
        } else if self.destination(status).is_some() {
            tracing::info!(
                "watch `{}`: {shown} is gone after its run (its script took it); nothing to move",
                self.spec.name
            );
        }
    }

    /// Moves a handled file where its outcome sends it, or says why it stays.
    fn finish(&self, store: &Store, status: FileStatus, path: &Path, relative: &str) {
        let shown = self.spec.shown(path);
        let Some((folder, key)) = self.destination(status) else {
            if status == FileStatus::Error {
                tracing::warn!(
                    "watch `{}`: {shown} stays in place after its failed run (no error_to); it runs again once it changes",
                    self.spec.name
                );
            }
            return;
        };
        match moving::move_file(path, folder, relative) {
            Ok(to) => {
                let to = self.spec.shown(&to);
                if let Err(err) = store.watch_moved(&self.spec.name, relative, Some(&to)) {
                    tracing::error!("watch `{}`: cannot record the move of {shown}: {err}", self.spec.name);
                }
                tracing::info!("watch `{}`: moved {shown} to {to} ({key})", self.spec.name);
            }
            Err(err) => tracing::error!(
                "watch `{}`: cannot move {shown} to {} ({key}): {err}; it stays, and the move is retried at the next rescan",
                self.spec.name,
                self.spec.shown(folder)
            ),
        }
    }

    /// Runs the script for `change` of `path`. `None` when the run did not finish because the
    /// hub is stopping (the file is then handled again at the next start).
    fn run_script(&self, change: Change, path: &Path) -> Option<(FileStatus, Option<String>)> {
        let shown = self.spec.shown(path);
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let invocation = Invocation::watch(&self.spec, change.as_str(), &shown, &name);
        let trigger = format!("watch `{}` ({} {shown})", self.spec.name, change.as_str());
        let snapshot = Arc::clone(&self.snapshot);
        let run =
            self.background.run_with(snapshot, invocation, &trigger, self.spec.retry, self.spec.on_error.as_deref());
        match self.snapshot.capabilities.runtime.block_on(run) {
            Some(outcome) => {
                let status = if outcome.result.is_ok() { FileStatus::Ok } else { FileStatus::Error };
                Some((status, Some(outcome.run_id)))
            }
            None if self.stopping.load(Ordering::SeqCst) => {
                tracing::warn!(
                    "watch `{}`: the run for {shown} did not finish; it runs again at the next start",
                    self.spec.name
                );
                None
            }
            None => Some((FileStatus::Error, None)),
        }
    }

    /// `path` (a file or folder) was reported gone: every file the ledger has at or under it that
    /// is really gone runs `removed` (if subscribed) and is forgotten.
    pub fn gone(&self, path: &Path, pending: &mut Pending) {
        if path.is_file() {
            // Back (or replaced) before we looked: treat it as written.
            if self.wanted(path, false).is_some() {
                pending.touch(path.to_path_buf(), Instant::now());
            }
            return;
        }
        let Ok(under) = path.strip_prefix(&self.spec.root) else { return };
        let prefix = crate::config::watch_spec::slashed(under);
        let Some(store) = self.store() else { return };
        let entries = match store.watch_present(&self.spec.name, Some(&prefix)) {
            Ok(entries) => entries,
            Err(err) => {
                tracing::error!("watch `{}`: cannot read the ledger: {err}", self.spec.name);
                return;
            }
        };
        for entry in entries {
            let file = self.spec.root.join(&entry.path);
            if file.exists() {
                continue;
            }
            let shown = self.spec.shown(&file);
            if self.spec.runs_for(Change::Removed) && self.spec.matcher.matches(&entry.path) {
                if self.run_script(Change::Removed, &file).is_none() {
                    return;
                }
                self.snapshot.capabilities.host.runlog.flush();
            } else {
                tracing::info!("watch `{}`: {shown} was removed; forgotten", self.spec.name);
            }
            if let Err(err) = store.watch_forget(&self.spec.name, &entry.path) {
                tracing::error!("watch `{}`: cannot update the ledger for {shown}: {err}", self.spec.name);
            }
        }
    }
}
