//! The running hub of `serve`: the live snapshot and every trigger built from it, replaced
//! together when the hub's files change.

use crate::host::Host;
use crate::hub::Snapshot;
use crate::queue::Queue;
use crate::triggers::background::Background;
use crate::triggers::cron::{CronJobs, JobStates};
use crate::triggers::events;
use crate::triggers::http::{AppState, Live, Status};
use crate::triggers::watch::{WatchStates, Watches};
use chrono::Utc;
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How long to wait after a file event for the rest of an editor's save to land.
const SETTLE: Duration = Duration::from_millis(100);

/// A hub being served.
pub struct Service {
    dir: PathBuf,
    host: Host,
    pub http: AppState,
    background: Background,
    jobs: JobStates,
    cron: Mutex<Option<CronJobs>>,
    watch_states: WatchStates,
    watches: Mutex<Option<Watches>>,
    dispatcher: Mutex<Option<JoinHandle<()>>>,
}

impl Service {
    /// Serves `snapshot` and starts its cron jobs and the event dispatcher. Call inside the runtime.
    pub fn start(dir: PathBuf, snapshot: Snapshot) -> Result<Arc<Self>, String> {
        let host = snapshot.capabilities.host.clone();
        let snapshot = Arc::new(snapshot);
        let live = Live::new(Arc::clone(&snapshot))?;
        let http = AppState::new(live);
        let background = Background { events_ready: Arc::clone(&http.events_ready), queue: Arc::clone(&http.queue) };
        let service = Arc::new(Self {
            dir,
            host,
            http,
            background,
            jobs: JobStates::default(),
            cron: Mutex::new(None),
            watch_states: WatchStates::default(),
            watches: Mutex::new(None),
            dispatcher: Mutex::new(None),
        });
        let live = Arc::clone(&service.http.live);
        let current: crate::queue::Current = Arc::new(move || Arc::clone(&live.load().snapshot));
        let store = snapshot.capabilities.store.path().to_path_buf();
        let workers = snapshot.manifest.queue.workers;
        let queue = Queue::start(&store, workers, current, Arc::clone(&service.http.events_ready))
            .map_err(|err| err.to_string())?;
        let _ = service.http.queue.set(queue);
        service.start_triggers(&snapshot);
        let live = Arc::clone(&service.http.live);
        let dispatcher = events::spawn(move || Arc::clone(&live.load().snapshot), service.background.clone());
        *service.dispatcher.lock() = Some(dispatcher);
        Ok(service)
    }

    fn start_triggers(&self, snapshot: &Arc<Snapshot>) {
        // Dropping the old jobs stops their schedules; their runs in progress finish on their snapshot.
        *self.cron.lock() = Some(CronJobs::start(snapshot, &self.background, &self.jobs));
        // Old watches finish the file in hand; the new ones' first scan picks up what arrived meanwhile.
        *self.watches.lock() = Some(Watches::start(snapshot, &self.background, &self.watch_states));
    }

    /// Stops the queue's workers, waiting up to `grace` for the items they run; the rest stays
    /// queued for the next start.
    pub async fn stop(&self, grace: Duration) {
        *self.cron.lock() = None;
        if let Some(queue) = self.http.queue.get() {
            queue.stop(grace).await;
        }
        self.host.runlog.flush();
    }

    /// Rebuilds the snapshot from disk; swaps it in only if everything loads and compiles,
    /// otherwise keeps serving the last good one and reports the error in `/_/health`.
    pub async fn reload(&self) {
        let dir = self.dir.clone();
        let host = self.host.clone();
        let built = tokio::task::spawn_blocking(move || Snapshot::load_in(&dir, &host)).await;
        let result = match built {
            Ok(Ok(snapshot)) if snapshot.problems.is_empty() => Live::new(Arc::new(snapshot)),
            Ok(Ok(snapshot)) => {
                Err(snapshot.problems.iter().map(|(_, p)| p.to_string()).collect::<Vec<_>>().join("\n"))
            }
            Ok(Err(errors)) => Err(errors.to_string()),
            Err(err) => Err(format!("reload panicked: {err}")),
        };
        match result {
            Ok(live) => {
                let snapshot = Arc::clone(&live.snapshot);
                // Status first: once a request sees the new version, health must not still say degraded.
                self.http.status.store(Arc::new(Status { reload_error: None, reloaded_at: Some(Utc::now()) }));
                self.http.live.store(Arc::new(live));
                self.start_triggers(&snapshot);
                tracing::info!(
                    "reloaded: {}, {}",
                    crate::count::count(snapshot.manifest.routes.len(), "route", "routes"),
                    crate::count::count(snapshot.scripts.len(), "script", "scripts")
                );
            }
            Err(error) => {
                tracing::error!("reload failed; still serving the last good version:\n{error}");
                let reloaded_at = self.http.status.load().reloaded_at;
                self.http.status.store(Arc::new(Status { reload_error: Some(error), reloaded_at }));
            }
        }
    }

    /// Reloads whenever the hub's files change, until the watcher is dropped.
    pub fn watch_files(self: &Arc<Self>) -> notify::Result<Arc<Mutex<crate::reload::HubWatcher>>> {
        let (watcher, mut changes) = crate::reload::watch(&self.dir)?;
        let watcher = Arc::new(Mutex::new(watcher));
        let (service, refreshed) = (Arc::clone(self), Arc::downgrade(&watcher));
        tokio::spawn(async move {
            while changes.recv().await.is_some() {
                tokio::time::sleep(SETTLE).await;
                while changes.try_recv().is_ok() {}
                // Before reloading, so a definition folder created since is watched from now on
                // and the reload reads whatever it already holds.
                let Some(watcher) = refreshed.upgrade() else { break };
                if let Err(err) = watcher.lock().refresh() {
                    tracing::warn!("cannot watch the hub's new folders: {err}");
                }
                service.reload().await;
            }
        });
        Ok(watcher)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(dispatcher) = self.dispatcher.lock().take() {
            dispatcher.abort();
        }
    }
}
