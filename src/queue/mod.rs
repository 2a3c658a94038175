//! The durable queue: work written to the store before it is acknowledged, run by a pool of
//! workers, retried with backoff, marked dead after its last attempt, and resumed after a crash.

mod on_error;
mod retry;
mod worker;

pub use on_error::on_error_invocation;
pub use retry::{Attempts, Next, on_error_handler};

use crate::config::Policy;
use crate::hub::Snapshot;
use crate::runner::{self, Invocation, Outcome};
use crate::store::{QueueItem, Store, StoreError};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

/// Items written per transaction at most; under load concurrent requests share one commit.
const BATCH: usize = 256;

/// An item to store, the cron firing it carries out (job name, occurrence), and who waits for the commit.
type Pending = (QueueItem, Option<Fired>, oneshot::Sender<Result<(), Arc<StoreError>>>);

/// Why the queue could not start or take an item.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("cannot open the queue: {0}")]
    Open(#[from] StoreError),
    #[error("cannot start the queue writer: {0}")]
    Writer(std::io::Error),
    #[error("the hub is shutting down")]
    Stopping,
    #[error("the queue writer has stopped")]
    WriterStopped,
    /// The batch the item was written in could not be stored.
    #[error("cannot queue: {0}")]
    Insert(Arc<StoreError>),
}

/// A cron job's occurrence: recorded in the transaction that queues its run, so a crash can
/// neither lose a firing already marked done for catch-up nor queue one that is not.
pub type Fired = (String, chrono::DateTime<chrono::Utc>);

/// Gives the snapshot current at the time a worker starts an item.
pub type Current = Arc<dyn Fn() -> Arc<Snapshot> + Send + Sync>;

/// A running queue.
pub struct Queue {
    store: Arc<Store>,
    writer: Mutex<Option<std::sync::mpsc::Sender<Pending>>>,
    wakeup: Notify,
    stopping: AtomicBool,
    waiters: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    current: Current,
    /// Wakes the event dispatcher when a queued run emitted events.
    events_ready: Arc<Notify>,
    /// Items waiting or running: counted once at start, then kept in step, because counting the
    /// table after every item would cost a scan of the whole backlog each time.
    depth: AtomicI64,
}

impl Queue {
    /// Opens the queue in the store at `path`, puts items interrupted by a crash back in line,
    /// and starts `workers` workers on the current runtime.
    pub fn start(
        path: &Path,
        workers: usize,
        current: Current,
        events_ready: Arc<Notify>,
    ) -> Result<Arc<Self>, QueueError> {
        let store = Arc::new(Store::open(path)?);
        let secrets = current().capabilities.secrets.clone();
        let recovered = store.queue_recover(|item| Some(interrupted(item, &secrets)))?;
        let depth = store.queue_depth()?;
        if !recovered.is_empty() {
            tracing::warn!("resuming {} queued items interrupted when the hub stopped", recovered.len());
        }
        let (tx, rx) = std::sync::mpsc::channel::<Pending>();
        let writer_store = Store::open(path)?;
        std::thread::Builder::new()
            .name("switchboard-queue".into())
            .spawn(move || write_loop(&writer_store, &rx))
            .map_err(QueueError::Writer)?;
        let queue = Arc::new(Self {
            store,
            writer: Mutex::new(Some(tx)),
            wakeup: Notify::new(),
            stopping: AtomicBool::new(false),
            waiters: Mutex::new(HashMap::new()),
            workers: Mutex::new(Vec::new()),
            current,
            events_ready,
            depth: AtomicI64::new(depth),
        });
        let handles: Vec<JoinHandle<()>> =
            (0..workers.max(1)).map(|_| tokio::spawn(worker::run(Arc::clone(&queue)))).collect();
        *queue.workers.lock() = handles;
        queue.publish_depth();
        Ok(queue)
    }

    /// Stores `item`; once this returns `Ok` the item survives a crash and will run.
    pub async fn enqueue(&self, item: QueueItem) -> Result<(), QueueError> {
        self.store(item, None).await
    }

    /// Stores `item` and, in the same transaction, the cron firing it carries out.
    async fn store(&self, item: QueueItem, fired: Option<Fired>) -> Result<(), QueueError> {
        if self.stopping.load(Ordering::Relaxed) {
            return Err(QueueError::Stopping);
        }
        let (done, stored) = oneshot::channel();
        let sent = self.writer.lock().as_ref().is_some_and(|writer| writer.send((item, fired, done)).is_ok());
        if !sent {
            return Err(QueueError::WriterStopped);
        }
        stored.await.map_err(|_| QueueError::WriterStopped)?.map_err(QueueError::Insert)?;
        self.depth.fetch_add(1, Ordering::Relaxed);
        self.publish_depth();
        self.wakeup.notify_one();
        Ok(())
    }

    /// Stores `item` with the cron firing it carries out, and waits for its final outcome (after
    /// retries); `None` if the hub stopped first (the item then runs at the next start).
    pub async fn run(&self, item: QueueItem, fired: Fired) -> Result<Option<Outcome>, QueueError> {
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().insert(item.id.clone(), tx);
        let id = item.id.clone();
        if let Err(err) = self.store(item, Some(fired)).await {
            self.waiters.lock().remove(&id);
            return Err(err);
        }
        Ok(rx.await.ok())
    }

    /// Stops taking new work and waits up to `grace` for the items being run; the rest stays
    /// queued for the next start.
    pub async fn stop(&self, grace: Duration) {
        self.stopping.store(true, Ordering::Relaxed);
        self.wakeup.notify_waiters();
        let workers: Vec<JoinHandle<()>> = self.workers.lock().drain(..).collect();
        let all = async {
            for worker in workers {
                let _ = worker.await;
            }
        };
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("queued items still running after the grace period will run again at the next start");
        }
        self.writer.lock().take();
    }

    fn publish_depth(&self) {
        (self.current)().capabilities.host.metrics.set_queue_depth(self.depth.load(Ordering::Relaxed));
    }

    /// An item left the queue for good (done or dead).
    fn finished(&self, id: &str, outcome: Outcome) {
        self.depth.fetch_sub(1, Ordering::Relaxed);
        self.publish_depth();
        if let Some(waiter) = self.waiters.lock().remove(id) {
            let _ = waiter.send(outcome);
        }
    }
}

/// The record of an attempt of `item` cut short when the hub stopped (a crash or `kill -9`): it
/// started when the item was claimed (`not_before`) and has no result. A first attempt keeps the
/// item's id, the run id its caller was given.
fn interrupted(item: &QueueItem, secrets: &crate::secrets::Secrets) -> crate::store::RecordText {
    let retry = item.attempts > 1;
    let trigger = item.event.get("kind").and_then(serde_json::Value::as_str).unwrap_or("manual");
    crate::runner::record::given(
        crate::store::RunRecord {
            id: if retry { crate::runner::new_id() } else { item.id.clone() },
            script: item.script.clone(),
            trigger: trigger.to_string(),
            detail: String::new(),
            started_at: item.not_before.clone(),
            duration_ms: 0.0,
            status: "interrupted".into(),
            error: Some("the hub stopped during this attempt; the item runs again".into()),
            lines: serde_json::json!([]),
            input: item.input.clone(),
            event: item.event.clone(),
            result: None,
            attempt: item.attempts,
            retry_of: retry.then(|| item.id.clone()),
        },
        secrets,
    )
}

/// Group commit: everything that arrived while the last batch was written goes in the next one.
fn write_loop(store: &Store, rx: &std::sync::mpsc::Receiver<Pending>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        let items: Vec<QueueItem> = batch.iter().map(|(item, _, _)| item.clone()).collect();
        let fired: Vec<Fired> = batch.iter().filter_map(|(_, fired, _)| fired.clone()).collect();
        let result = store.queue_insert(&items, &fired).map_err(Arc::new);
        if let Err(err) = &result {
            tracing::error!("cannot queue: {err}");
        }
        for (_, _, done) in batch {
            let _ = done.send(result.clone());
        }
    }
}

/// A queue item that runs `invocation` (its `run_id` becomes the item id) under `policy`
/// (stored with it: [`policy`] reads it back).
pub fn item(invocation: &Invocation, source: String, policy: Policy, on_error: Option<String>) -> QueueItem {
    let now = crate::timestamp::now();
    let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    QueueItem {
        id: invocation.how.run_id.clone().unwrap_or_else(runner::new_id),
        script: invocation.job.script.clone(),
        input: invocation.input_json(),
        event: invocation.event_json(),
        source,
        attempts: 0,
        max_attempts: policy.attempts,
        backoff_ms: millis(policy.backoff),
        max_backoff_ms: millis(policy.max_backoff),
        timeout_ms: invocation.how.timeout.map(millis),
        max_operations: invocation.how.max_operations,
        on_error,
        not_before: now.clone(),
        enqueued_at: now,
    }
}

/// The retry policy `item` was queued with.
fn policy(item: &QueueItem) -> Policy {
    Policy {
        attempts: item.max_attempts,
        backoff: Duration::from_millis(item.backoff_ms),
        max_backoff: Duration::from_millis(item.max_backoff_ms),
    }
}
