//! The running hub of `serve`: the live snapshot and every trigger built from it (HTTP, cron,
//! watches, events, MQTT subscriptions), replaced together when the hub's files change.

use crate::host::Host;
use crate::hub::Snapshot;
use crate::queue::Queue;
use crate::triggers::background::Background;
use crate::triggers::cron::{CronJobs, JobStates};
use crate::triggers::events;
use crate::triggers::http::{AppState, Live, LiveError, Status};
use crate::triggers::mqtt::MqttSubscriptions;
use crate::triggers::watch::{WatchStates, Watches};
use arc_swap::ArcSwap;
use chrono::Utc;
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// How long to wait after a file event for the rest of an editor's save to land.
const SETTLE: Duration = Duration::from_millis(100);

/// Why `serve` could not start a hub.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Http(#[from] LiveError),
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
}

/// A hub being served.
pub struct Service {
    dir: PathBuf,
    host: Host,
    /// The version of the hub being served: HTTP requests, queue workers and the event
    /// dispatcher each load it from here when they start a run; a reload swaps it whole.
    live: Arc<ArcSwap<Live>>,
    pub http: AppState,
    queue: Arc<Queue>,
    background: Background,
    jobs: JobStates,
    cron: Mutex<Option<CronJobs>>,
    watch_states: WatchStates,
    watches: Mutex<Option<Watches>>,
    mqtt: Mutex<MqttSubscriptions>,
    dispatcher: JoinHandle<()>,
}

impl Service {
    /// Serves `snapshot` and starts its queue, cron jobs, watches and the event dispatcher. Call
    /// inside the runtime.
    pub fn start(dir: PathBuf, snapshot: Snapshot) -> Result<Arc<Self>, StartError> {
        let host = snapshot.capabilities.host.clone();
        let snapshot = Arc::new(snapshot);
        let live = Arc::new(ArcSwap::from_pointee(Live::new(Arc::clone(&snapshot))?));
        let events_ready = Arc::new(Notify::new());
        let store = snapshot.capabilities.store.path().to_path_buf();
        let workers = snapshot.manifest.queue.workers;
        let queue = Queue::start(&store, workers, current(&live), Arc::clone(&events_ready))?;
        let http = AppState::new(Arc::clone(&live), Arc::clone(&queue), Arc::clone(&events_ready));
        let background = Background { events_ready, queue: Arc::clone(&queue) };
        let dispatcher = events::spawn(current(&live), background.clone());
        let service = Arc::new(Self {
            dir,
            host,
            live,
            http,
            queue,
            background,
            jobs: JobStates::default(),
            cron: Mutex::new(None),
            watch_states: WatchStates::default(),
            watches: Mutex::new(None),
            mqtt: Mutex::new(MqttSubscriptions::default()),
            dispatcher,
        });
        service.start_triggers(&snapshot);
        Ok(service)
    }

    /// The snapshot being served now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.live.load().snapshot)
    }

    fn start_triggers(&self, snapshot: &Arc<Snapshot>) {
        // Dropping the old jobs stops their schedules; their runs in progress finish on their snapshot.
        *self.cron.lock() = Some(CronJobs::start(snapshot, &self.background, &self.jobs));
        // Old watches finish the file in hand; the new ones' first scan picks up what arrived meanwhile.
        *self.watches.lock() = Some(Watches::start(snapshot, &self.background, &self.watch_states));
        // Subscriptions whose connection is unchanged stay connected; only changed filters move.
        self.mqtt.lock().update(snapshot, &self.background);
    }

    /// Stops the queue's workers, waiting up to `grace` for the items they run; the rest stays
    /// queued for the next start.
    pub async fn stop(&self, grace: Duration) {
        *self.cron.lock() = None;
        // First, so no message is taken that the stopping queue would refuse.
        self.mqtt.lock().stop();
        self.queue.stop(grace).await;
        self.host.runlog.flush();
    }

    /// Rebuilds the snapshot from disk; swaps it in only if everything loads and compiles,
    /// otherwise keeps serving the last good one and reports the error in `/_/health`.
    pub async fn reload(&self) {
        let dir = self.dir.clone();
        let host = self.host.clone();
        let built = tokio::task::spawn_blocking(move || Snapshot::load_in(&dir, &host)).await;
        let result = match built {
            Ok(Ok(snapshot)) if snapshot.problems.is_empty() => {
                Live::new(Arc::new(snapshot)).map_err(|err| err.to_string())
            }
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
                self.live.store(Arc::new(live));
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
        self.dispatcher.abort();
    }
}

/// Reads the snapshot current in `live` each time it is called.
fn current(live: &Arc<ArcSwap<Live>>) -> crate::queue::Current {
    let live = Arc::clone(live);
    Arc::new(move || Arc::clone(&live.load().snapshot))
}
