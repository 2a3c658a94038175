//! Watched folders (`[[watch]]`): files that appear in (or change in, or leave) a folder run a
//! script once they are completely written, then move to `move_to` or `error_to`. A ledger in the
//! store remembers every handled file, so neither a restart nor a reload runs a done file again.
//!
//! Each watch has its own thread: notify events and a periodic rescan feed a set of pending files
//! (`stability`), complete files are handled one at a time (`handle`), and their runs go through
//! [`Background::run_with`] on the blocking pool like cron's, retried by the watch's `retry`.

mod folder;
mod handle;
mod moving;
mod stability;

use crate::config::watch_spec::Spec;
use crate::hub::Snapshot;
use crate::triggers::background::Background;
use folder::{Folder, Message};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};

/// What outlives a reload: one lock per ledger, held while a file is handled (so an old and a new
/// version of a watch never handle the same file at once), and which watches have started before
/// (`on_start` applies only to the first start of a watch in this process).
#[derive(Clone, Default)]
pub struct WatchStates {
    inner: Arc<Mutex<States>>,
}

#[derive(Default)]
struct States {
    locks: HashMap<String, Arc<Mutex<()>>>,
    started: HashSet<String>,
}

impl WatchStates {
    /// The lock of the ledger `name`, and whether this is its first start.
    fn claim(&self, name: &str) -> (Arc<Mutex<()>>, bool) {
        let mut states = self.inner.lock();
        let first = states.started.insert(name.to_string());
        (Arc::clone(states.locks.entry(name.to_string()).or_default()), first)
    }
}

/// The watches of one snapshot; dropping this stops them (a file being handled finishes first).
pub struct Watches {
    folders: Vec<(mpsc::Sender<Message>, Arc<AtomicBool>)>,
}

impl Drop for Watches {
    fn drop(&mut self) {
        for (sender, stopping) in &self.folders {
            stopping.store(true, Ordering::SeqCst);
            let _ = sender.send(Message::Stop);
        }
    }
}

impl Watches {
    /// Starts every `[[watch]]` of `snapshot`, each on its own thread. Runs use the snapshot's runtime.
    pub fn start(snapshot: &Arc<Snapshot>, background: &Background, states: &WatchStates) -> Self {
        let store_dir = snapshot.capabilities.store.path().parent().map(|p| p.to_path_buf()).unwrap_or_default();
        let mut folders = Vec::new();
        for (index, watch) in snapshot.manifest.watches.iter().enumerate() {
            let spec = match Spec::resolve(&snapshot.dir, &store_dir, watch) {
                Ok(spec) => spec,
                Err(err) => {
                    // `check` and reload validate watches first; this is a last line of defence.
                    tracing::error!("watch[{index}] `{}` not started: {err}", watch.path);
                    continue;
                }
            };
            let (lock, first_start) = states.claim(&spec.name);
            let (sender, receiver) = mpsc::channel();
            let stopping = Arc::new(AtomicBool::new(false));
            let name = spec.name.clone();
            let folder = Folder {
                spec,
                snapshot: Arc::clone(snapshot),
                background: background.clone(),
                lock,
                first_start,
                stopping: Arc::clone(&stopping),
            };
            let events = sender.clone();
            let thread =
                std::thread::Builder::new().name(format!("watch {name}")).spawn(move || folder.run(&events, &receiver));
            match thread {
                Ok(_) => folders.push((sender, stopping)),
                Err(err) => tracing::error!("watch `{name}` not started: cannot start its thread: {err}"),
            }
        }
        Self { folders }
    }
}
