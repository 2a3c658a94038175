//! One queue worker: claim the next due item, run it, then finish, reschedule or bury it, in the
//! same transaction as the attempt's run log record and events.

use super::retry::{Attempts, Next, on_error_handler};
use super::{Queue, on_error_invocation};
use crate::runlog::NotCommitted;
use crate::runner::{self, Invocation, Outcome, log_outcome};
use crate::store::{Attempt, QueueItem, Settle};
use crate::timestamp;
use chrono::Utc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The longest a worker sleeps before looking for due items again.
const IDLE: Duration = Duration::from_secs(1);

pub async fn run(queue: Arc<Queue>) {
    while !queue.stopping.load(Ordering::Relaxed) {
        let store = Arc::clone(&queue.store);
        let claimed = tokio::task::spawn_blocking(move || store.queue_claim(&timestamp::now())).await;
        match claimed {
            Ok(Ok(Some(item))) => process(&queue, item).await,
            Ok(Ok(None)) => {
                let store = Arc::clone(&queue.store);
                let next = tokio::task::spawn_blocking(move || store.queue_next_due())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .flatten();
                let wait = next
                    .and_then(|due| chrono::DateTime::parse_from_rfc3339(&due).ok())
                    .and_then(|due| (due.with_timezone(&Utc) - Utc::now()).to_std().ok())
                    .map_or(IDLE, |until| until.min(IDLE));
                tokio::select! {
                    () = queue.wakeup.notified() => {}
                    () = tokio::time::sleep(wait) => {}
                }
            }
            Ok(Err(err)) => {
                tracing::error!("cannot claim queued work: {err}");
                tokio::time::sleep(IDLE).await;
            }
            Err(err) => {
                tracing::error!("queue worker: {err}");
                tokio::time::sleep(IDLE).await;
            }
        }
    }
}

async fn process(queue: &Arc<Queue>, item: QueueItem) {
    let snapshot = (queue.current)();
    let mut attempts = Attempts::resume(super::policy(&item), item.attempts, &item.id);
    let mut run = Invocation::queued(&item);
    attempts.prepare(&mut run);
    let for_record = run.clone();
    let running = Arc::clone(&snapshot);
    let Ok(mut outcome) = tokio::task::spawn_blocking(move || runner::run(&running, run)).await else {
        tracing::error!("queued run of `{}` panicked; it stays queued", item.script);
        return;
    };
    let trigger = format!("queued {}", item.source);
    log_outcome(&trigger, &outcome);
    let error = || outcome.result.as_ref().err().map(ToString::to_string).unwrap_or_default();
    let settle = match attempts.after(&outcome, &trigger) {
        Next::Done => Settle::Done,
        Next::Retry(pause) => {
            let not_before = timestamp::text(Utc::now() + chrono::Duration::from_std(pause).unwrap_or_default());
            Settle::Retry { not_before, error: error() }
        }
        Next::Dead => Settle::Dead { error: error() },
    };
    let dead = matches!(settle, Settle::Dead { .. });
    // The item is done (or rescheduled, or dead) exactly when its record is stored: both, with
    // the run's events, go in one transaction of the run log writer.
    let committed = match outcome.held.take() {
        Some(held) => {
            let attempt = Attempt {
                item: item.id.clone(),
                run_id: outcome.run_id.clone(),
                events: held.events,
                settle: settle.clone(),
            };
            snapshot.capabilities.host.runlog.commit(held.record, attempt)
        }
        None => {
            let (done, committed) = tokio::sync::oneshot::channel();
            let (store, id, settle) = (Arc::clone(&queue.store), item.id.clone(), settle.clone());
            tokio::task::spawn_blocking(move || {
                let _ = done.send(store.queue_settle(&id, &settle).map_err(|err| NotCommitted(err.to_string())));
            });
            committed
        }
    };
    let finish = {
        let queue = Arc::clone(queue);
        async move {
            let committed = committed.await.unwrap_or_else(|_| Err(NotCommitted("the run log writer stopped".into())));
            if let Err(err) = committed {
                tracing::error!(
                    "queued {}: could not record how it ended ({err}); it runs again at the next start",
                    item.source
                );
            } else if outcome.emitted > 0 {
                queue.events_ready.notify_one();
            }
            match settle {
                Settle::Retry { .. } => return,
                Settle::Dead { .. } => {
                    if let Some(handler) = on_error_handler(item.on_error.as_deref(), &snapshot) {
                        run_on_error(&snapshot, &handler, &outcome, &for_record, &item.source).await;
                    }
                }
                Settle::Done => {}
            }
            queue.finished(&item.id, outcome);
        }
    };
    if dead {
        // `stop` waits for the workers, and so for the `on_error` run of a dead item.
        finish.await;
    } else {
        // The worker goes on to the next item while the writer commits this one (the item stays
        // `running` until then, so no one else claims it): a batch then holds many attempts.
        tokio::spawn(finish);
    }
}

async fn run_on_error(
    snapshot: &Arc<crate::hub::Snapshot>,
    handler: &str,
    failed: &Outcome,
    failed_invocation: &Invocation,
    source: &str,
) {
    let invocation = on_error_invocation(handler, failed, failed_invocation, source);
    let running = Arc::clone(snapshot);
    if let Ok(outcome) = tokio::task::spawn_blocking(move || runner::run(&running, invocation)).await {
        log_outcome(&format!("on_error for {source}"), &outcome);
    }
}
