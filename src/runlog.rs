//! The run log writer: records are handed over without waiting and written in batches on a
//! thread of their own, so no response waits on a disk flush. Old records are pruned there too.
//! A queued attempt's record comes with its events and its item's new state, which go into the
//! same transaction as the batch; the queue learns when that transaction is committed.

use crate::store::{Attempt, RecordText, Store};
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Records written per transaction at most.
const BATCH: usize = 512;
/// Bytes of records in one batch at most (one more record may pass it): a batch is one SQLite
/// text value, which SQLite refuses past 1 GB, and is held whole while written; 512 records of a
/// run's full `max_output` would pass both.
const BATCH_BYTES: usize = 16 * 1024 * 1024;
/// How long the writer gathers more records once one arrived.
const GATHER: Duration = Duration::from_millis(20);
/// Records waiting for the writer at most; past that, `record` waits (backpressure) rather than
/// let memory grow without bound or drop a record.
const CAPACITY: usize = 16_384;
/// How often old records are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// A `since` filter that is neither a duration nor an RFC 3339 time.
#[derive(Debug, thiserror::Error)]
pub enum SinceError {
    #[error("since `{0}`: expected a duration such as 30m, 1h, 2d or an RFC 3339 time")]
    Unreadable(String),
    #[error("{0}")]
    TooLong(chrono::OutOfRangeError),
}

/// Turns a `since` filter (a duration such as "1h", or an RFC 3339 time) into an RFC 3339 lower
/// bound for run start times.
pub fn since(text: &str) -> Result<String, SinceError> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(crate::timestamp::text(time.with_timezone(&chrono::Utc)));
    }
    let span = humantime::parse_duration(text).map_err(|_| SinceError::Unreadable(text.to_string()))?;
    let span = chrono::Duration::from_std(span).map_err(SinceError::TooLong)?;
    Ok(crate::timestamp::text(chrono::Utc::now() - span))
}

/// A queued attempt's record, with what is committed alongside it and who waits for the commit.
type Committing = (RecordText, Attempt, tokio::sync::oneshot::Sender<Result<(), NotCommitted>>);

enum Message {
    Record(Box<RecordText>),
    Attempt(Box<Committing>),
    /// An event whose subscribers all ran: marked delivered with (or after) their records.
    Delivered(i64),
    Flush(Sender<()>),
}

/// Why a queued attempt's record and its item's new state were not stored: the store's error,
/// as text, since one failed transaction answers every attempt of its batch.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotCommitted(pub String);

/// A handle to the run log of one hub; clones share one writer.
#[derive(Clone)]
pub struct RunLog {
    inner: Arc<Inner>,
}

struct Inner {
    /// The writer's channel, read without a lock by every run; `None` only if the writer could
    /// not be started (or once the log is dropped, to let it finish).
    sender: Option<SyncSender<Message>>,
    /// Joined when the log is dropped.
    writer: Mutex<Option<JoinHandle<()>>>,
    /// The writer's thread, woken early from gathering a batch when someone waits for it.
    thread: Option<std::thread::Thread>,
    keep_for_secs: Arc<AtomicU64>,
    keep_last: Arc<AtomicU64>,
}

impl RunLog {
    /// A run log stored at `path` (the hub's `data/switchboard.db`). Its writer thread starts
    /// here and opens nothing until the first record arrives, so `check` creates no database.
    pub fn new(path: PathBuf) -> Self {
        let keep_for_secs = Arc::new(AtomicU64::new(30 * 24 * 3600));
        let keep_last = Arc::new(AtomicU64::new(100_000));
        let (tx, rx) = mpsc::sync_channel(CAPACITY);
        let (keep_for, keep) = (Arc::clone(&keep_for_secs), Arc::clone(&keep_last));
        let spawned = std::thread::Builder::new()
            .name("switchboard-runlog".into())
            .spawn(move || write_loop(&path, &rx, &keep_for, &keep));
        let (sender, thread, writer) = match spawned {
            Ok(handle) => (Some(tx), Some(handle.thread().clone()), Some(handle)),
            Err(err) => {
                tracing::error!("cannot start the run log writer: {err}");
                (None, None, None)
            }
        };
        Self { inner: Arc::new(Inner { sender, writer: Mutex::new(writer), thread, keep_for_secs, keep_last }) }
    }

    /// Sets how long and how many records are kept (from `[run_log]`).
    pub fn set_retention(&self, keep_for: Duration, keep_last: u64) {
        self.inner.keep_for_secs.store(keep_for.as_secs(), Ordering::Relaxed);
        self.inner.keep_last.store(keep_last, Ordering::Relaxed);
    }

    /// Queues a record for writing; it waits only while `CAPACITY` records are already waiting for
    /// the writer.
    pub fn record(&self, record: RecordText) {
        self.send(Message::Record(Box::new(record)));
    }

    /// Hands over the record of a queued attempt with its events and its item's new state, all
    /// written in one transaction; the answer comes once it is committed (or failed). The writer
    /// does not wait to fill a batch for it: a queue worker is waiting.
    pub fn commit(
        &self,
        record: RecordText,
        attempt: Attempt,
    ) -> tokio::sync::oneshot::Receiver<Result<(), NotCommitted>> {
        let (done, committed) = tokio::sync::oneshot::channel();
        // Should the writer be gone, `done` is dropped and the receiver says so.
        self.send(Message::Attempt(Box::new((record, attempt, done))));
        self.wake();
        committed
    }

    /// Marks the stored event `id` delivered in the same transaction as the records handed over
    /// before (its subscribers' runs), so a crash can never leave an event delivered whose
    /// subscriber runs have no record. `flush` waits for it.
    pub fn delivered(&self, id: i64) {
        self.send(Message::Delivered(id));
    }

    /// Waits until every record handed over so far is written (or the writer gave up).
    pub fn flush(&self) {
        let (done, wait) = mpsc::channel();
        if self.send(Message::Flush(done)) {
            self.wake();
            let _ = wait.recv_timeout(Duration::from_secs(10));
        }
    }

    /// Ends the writer's wait for more records of its batch: someone waits for this one.
    fn wake(&self) {
        if let Some(thread) = &self.inner.thread {
            thread.unpark();
        }
    }

    fn send(&self, message: Message) -> bool {
        self.inner.sender.as_ref().is_some_and(|tx| tx.send(message).is_ok())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel lets the writer finish what it has and exit.
        self.sender.take();
        if let Some(handle) = self.writer.get_mut().take() {
            let _ = handle.join();
        }
    }
}

fn write_loop(path: &std::path::Path, rx: &Receiver<Message>, keep_for: &AtomicU64, keep_last: &AtomicU64) {
    // Opened with the first message: a hub that records nothing (`check`) creates no database.
    let Ok(opening) = rx.recv() else { return };
    let store = match Store::open(path) {
        Ok(store) => store,
        Err(err) => {
            tracing::error!("the run log is unavailable, records are dropped: {err}");
            while rx.recv().is_ok() {}
            return;
        }
    };
    let mut last_prune: Option<Instant> = None;
    let mut since_prune = 0usize;
    let mut behind = false;
    let mut opening = Some(opening);
    while let Some(first) = opening.take().or_else(|| rx.recv().ok()) {
        let mut records = Vec::new();
        let mut bytes = 0;
        let mut attempts = Vec::new();
        let mut waiting = Vec::new();
        let mut delivered = Vec::new();
        let mut flushes = Vec::new();
        if matches!(first, Message::Record(_)) && !behind {
            // Let the batch fill: one wake-up per batch instead of one per record. When the last
            // batch was full the writer is behind, so it goes on at once; a flush or a queued
            // attempt (a worker waits for its commit) unparks it.
            std::thread::park_timeout(GATHER);
        }
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Record(record) => {
                    bytes += record.json().len();
                    records.push(*record);
                }
                Message::Attempt(entry) => {
                    let (record, attempt, done) = *entry;
                    bytes += record.json().len();
                    records.push(record);
                    attempts.push(attempt);
                    waiting.push(done);
                }
                Message::Delivered(id) => delivered.push(id),
                Message::Flush(done) => flushes.push(done),
            }
            if records.len() >= BATCH || bytes >= BATCH_BYTES || !flushes.is_empty() {
                break;
            }
            next = rx.try_recv().ok();
        }
        behind = records.len() >= BATCH || bytes >= BATCH_BYTES;
        let written = if attempts.is_empty() && delivered.is_empty() {
            store.runs_insert(&records)
        } else {
            store.runs_commit(&records, &attempts, &delivered)
        };
        if let Err(err) = &written {
            tracing::error!("could not write {} run log records: {err}", records.len());
        }
        let written = written.map_err(|err| NotCommitted(err.to_string()));
        for done in waiting {
            let _ = done.send(written.clone());
        }
        for done in flushes {
            let _ = done.send(());
        }
        since_prune += records.len();
        let keep = usize::try_from(keep_last.load(Ordering::Relaxed)).unwrap_or(usize::MAX);
        // By time, and also by volume, so a busy hub cannot outgrow `keep_last` many times over.
        let due = last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) || since_prune >= (keep / 10).max(1_000);
        if due {
            since_prune = 0;
            last_prune = Some(Instant::now());
            let age = chrono::Duration::seconds(i64::try_from(keep_for.load(Ordering::Relaxed)).unwrap_or(i64::MAX));
            let before = crate::timestamp::text(chrono::Utc::now() - age);
            match store.runs_prune(&before, keep) {
                Ok(0) => {}
                Ok(pruned) => tracing::info!("pruned {pruned} old run log records"),
                Err(err) => tracing::warn!("could not prune the run log: {err}"),
            }
        }
    }
}
