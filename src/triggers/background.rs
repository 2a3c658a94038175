//! Runs started by background triggers (cron, watched folders, events): on the blocking pool,
//! never on an async worker, with their outcome logged and their events announced.

use crate::hub::Snapshot;
use crate::runner::{self, Invocation, Outcome};
use std::sync::Arc;
use tokio::sync::Notify;

/// What background runs share: the signal that new events are waiting.
#[derive(Clone, Default)]
pub struct Background {
    pub events_ready: Arc<Notify>,
}

impl Background {
    /// Runs `invocation` on a blocking thread and logs its outcome under `trigger`
    /// (e.g. "cron job `digest`").
    pub async fn run(&self, snapshot: Arc<Snapshot>, invocation: Invocation, trigger: &str) -> Option<Outcome> {
        let script = invocation.script.clone();
        let joined = tokio::task::spawn_blocking(move || runner::run(&snapshot, invocation)).await;
        let outcome = match joined {
            Ok(outcome) => outcome,
            Err(err) => {
                tracing::error!("{trigger}: the run of `{script}` panicked: {err}");
                return None;
            }
        };
        self.announce(&outcome);
        log_outcome(trigger, &outcome);
        Some(outcome)
    }

    /// Wakes the event dispatcher if the run emitted events.
    pub fn announce(&self, outcome: &Outcome) {
        if outcome.emitted > 0 {
            self.events_ready.notify_one();
        }
    }
}

/// One log line per background run, with its printed lines at debug level.
pub fn log_outcome(trigger: &str, outcome: &Outcome) {
    let ms = outcome.duration.as_millis();
    for line in &outcome.lines {
        tracing::debug!(run_id = %outcome.run_id, "[{}] {}", line.level.as_str(), line.text);
    }
    match &outcome.result {
        Ok(_) => tracing::info!(run_id = %outcome.run_id, "{trigger}: `{}` ok in {ms} ms", outcome.script),
        Err(err) => {
            tracing::warn!(run_id = %outcome.run_id, "{trigger}: `{}` {} after {ms} ms: {err}", outcome.script, err.status())
        }
    }
}
