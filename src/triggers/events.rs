//! Delivering stored events to their `[[on]]` subscribers, each as its own run. Events are in the
//! store before any subscriber runs and are marked delivered only after all of them ran, in the
//! run log writer's transaction that holds (or follows) their records, so a crash delivers them
//! again at the next start (at least once) and never leaves a delivered event without its records.

use super::background::Background;
use crate::config::Subscription;
use crate::hub::Snapshot;
use crate::queue::{Attempts, Next, on_error_handler, on_error_invocation};
use crate::runner::log_outcome;
use crate::runner::{self, Invocation, Outcome};
use crate::store::StoredEvent;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Events read from the store per batch.
const BATCH: usize = 100;
/// Rounds of `switchboard run` delivery, so subscribers that emit to each other cannot loop forever.
const MAX_ROUNDS: usize = 20;

/// Whether `subscription` listens to `name` (`customer.*` matches every `customer.` event).
pub fn subscribes(subscription: &Subscription, name: &str) -> bool {
    match subscription.event.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => subscription.event == name,
    }
}

/// Delivers pending events whenever a run announces some (and every few seconds, for events left
/// by an earlier process), using the snapshot current at delivery.
pub fn spawn(current: crate::queue::Current, background: Background) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            deliver_pending(&current(), &background).await;
            tokio::select! {
                () = background.events_ready.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    })
}

async fn deliver_pending(snapshot: &Arc<Snapshot>, background: &Background) {
    let Ok(store) = snapshot.capabilities.store.get() else { return };
    let mut marked = None;
    loop {
        let reader = Arc::clone(&store);
        let batch = match tokio::task::spawn_blocking(move || reader.events_pending(None, BATCH)).await {
            Ok(Ok(batch)) if batch.first().is_some_and(|first| marked.is_some_and(|last| first.id <= last)) => {
                // The run log could not store the marks (it logged why): try again later.
                tracing::error!("events could not be marked delivered; they will be delivered again");
                return;
            }
            Ok(Ok(batch)) if !batch.is_empty() => batch,
            Ok(Err(err)) => {
                tracing::error!("cannot read pending events: {err}");
                return;
            }
            _ => return,
        };
        for event in batch {
            for subscription in snapshot.manifest.subscriptions.iter().filter(|s| subscribes(s, &event.name)) {
                let trigger = format!("event `{}`", event.name);
                let policy = subscription.retry.unwrap_or_default();
                let on_error = subscription.on_error.as_deref();
                background
                    .run_with(
                        Arc::clone(snapshot),
                        Invocation::subscriber(subscription, &event),
                        &trigger,
                        policy,
                        on_error,
                    )
                    .await;
            }
            snapshot.capabilities.host.runlog.delivered(event.id);
            marked = Some(event.id);
        }
        // The marks must be stored before the next batch is read, or it would hold these again.
        let runlog = snapshot.capabilities.host.runlog.clone();
        if tokio::task::spawn_blocking(move || runlog.flush()).await.is_err() {
            return;
        }
    }
}

/// Delivers the events a `switchboard run` emitted, and those its subscribers emit in turn, on
/// this thread before the command exits, retried and handed to `on_error` as under `serve`.
/// Returns the outcome of every subscriber's last attempt.
pub fn deliver_now(snapshot: &Snapshot, source_run: &str) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    let Ok(store) = snapshot.capabilities.store.get() else { return outcomes };
    let mut sources = vec![source_run.to_string()];
    for _ in 0..MAX_ROUNDS {
        let mut next_sources = Vec::new();
        for source in &sources {
            let events = match store.events_pending(Some(source), usize::MAX) {
                Ok(events) => events,
                Err(err) => {
                    tracing::error!("cannot read the run's events: {err}");
                    return outcomes;
                }
            };
            for event in events {
                for subscription in snapshot.manifest.subscriptions.iter().filter(|s| subscribes(s, &event.name)) {
                    let outcome = deliver_here(snapshot, subscription, &event);
                    if outcome.emitted > 0 {
                        next_sources.push(outcome.run_id.clone());
                    }
                    outcomes.push(outcome);
                }
                if let Err(err) = store.event_delivered(event.id) {
                    tracing::error!("event {} could not be marked delivered: {err}", event.id);
                }
            }
        }
        if next_sources.is_empty() {
            break;
        }
        sources = next_sources;
    }
    outcomes
}

/// Runs `subscription` for `event` on this thread, attempt by attempt as `Background::run_with`
/// does, the pauses slept here.
fn deliver_here(snapshot: &Snapshot, subscription: &Subscription, event: &StoredEvent) -> Outcome {
    let trigger = format!("event `{}`", event.name);
    let invocation = Invocation::subscriber(subscription, event);
    let mut attempts = Attempts::new(subscription.retry.unwrap_or_default());
    loop {
        let mut this = invocation.clone();
        attempts.prepare(&mut this);
        let outcome = runner::run(snapshot, this.clone());
        log_outcome(&trigger, &outcome);
        match attempts.after(&outcome, &trigger) {
            Next::Done => return outcome,
            Next::Retry(pause) => std::thread::sleep(pause),
            Next::Dead => {
                if let Some(handler) = on_error_handler(subscription.on_error.as_deref(), snapshot) {
                    let failed = on_error_invocation(&handler, &outcome, &this, &trigger);
                    log_outcome(&format!("on_error for {trigger}"), &runner::run(snapshot, failed));
                }
                return outcome;
            }
        }
    }
}
