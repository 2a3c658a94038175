//! One queue worker: claim the next due item, run it, then finish, reschedule or bury it, in the
//! same transaction as the attempt's run log record and events.

use super::{Queue, on_error_invocation};
use crate::config::Policy;
use crate::runner::{self, Invocation, Outcome, log_outcome};
use crate::store::{Attempt, QueueItem, Settle};
use chrono::{SecondsFormat, Utc};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The longest a worker sleeps before looking for due items again.
const IDLE: Duration = Duration::from_secs(1);

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub async fn run(queue: Arc<Queue>) {
    while !queue.stopping.load(Ordering::Relaxed) {
        let store = Arc::clone(&queue.store);
        let claimed = tokio::task::spawn_blocking(move || store.queue_claim(&now())).await;
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
    let run = Invocation::queued(&item);
    let last_attempt = run.attempt.last;
    let for_record = run.clone();
    let running = Arc::clone(&snapshot);
    let Ok(mut outcome) = tokio::task::spawn_blocking(move || runner::run(&running, run)).await else {
        tracing::error!("queued run of `{}` panicked; it stays queued", item.script);
        return;
    };
    log_outcome(&format!("queued {}", item.source), &outcome);
    let settle = match outcome.result.as_ref().err().map(ToString::to_string) {
        None => Settle::Done,
        Some(error) if !last_attempt => {
            let policy = Policy {
                attempts: item.max_attempts,
                backoff: Duration::from_millis(item.backoff_ms),
                max_backoff: Duration::from_millis(item.max_backoff_ms),
            };
            let pause = policy.pause(item.attempts);
            let not_before = (Utc::now() + chrono::Duration::from_std(pause).unwrap_or_default())
                .to_rfc3339_opts(SecondsFormat::Micros, true);
            tracing::info!(
                "queued {}: attempt {} of {} failed; retrying in {} ms",
                item.source,
                item.attempts,
                item.max_attempts,
                pause.as_millis()
            );
            Settle::Retry { not_before, error }
        }
        Some(error) => Settle::Dead { error },
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
            snapshot.capabilities.host.runlog.commit(held.record, held.secrets, attempt)
        }
        None => {
            let (done, committed) = tokio::sync::oneshot::channel();
            let (store, id, settle) = (Arc::clone(&queue.store), item.id.clone(), settle.clone());
            tokio::task::spawn_blocking(move || {
                let _ = done.send(store.queue_settle(&id, &settle).map_err(|err| err.to_string()));
            });
            committed
        }
    };
    let finish = {
        let queue = Arc::clone(queue);
        async move {
            let committed = committed.await.unwrap_or_else(|_| Err("the run log writer stopped".into()));
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
                    let handler = item.on_error.clone().or_else(|| snapshot.manifest.queue.on_error.clone());
                    if let Some(handler) = handler {
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
