//! Runs started by background triggers (cron, watched folders, events): on the blocking pool,
//! never on an async worker, retried by their `retry` rule, with their outcome logged and their
//! events announced.

use crate::config::Policy;
use crate::hub::Snapshot;
use crate::queue::{Attempts, Next, Queue, on_error_handler, on_error_invocation};
use crate::runner::{self, Invocation, Outcome, log_outcome};
use std::sync::Arc;
use tokio::sync::Notify;

/// What background runs share: the event signal and the durable queue.
#[derive(Clone)]
pub struct Background {
    pub events_ready: Arc<Notify>,
    /// The durable queue.
    pub queue: Arc<Queue>,
}

impl Background {
    /// Runs `invocation` on a blocking thread and logs its outcome under `trigger` (e.g. "cron
    /// job `digest`"), retrying a failed run by `policy` (waiting in memory: the trigger itself
    /// keeps the work durable) and running `on_error` (or `[queue] on_error`) after the last
    /// failed attempt, as the durable queue does (`queue::Attempts`).
    pub async fn run_with(
        &self,
        snapshot: Arc<Snapshot>,
        invocation: Invocation,
        trigger: &str,
        policy: Policy,
        on_error: Option<&str>,
    ) -> Option<Outcome> {
        let mut attempts = Attempts::new(policy);
        loop {
            let mut this = invocation.clone();
            attempts.prepare(&mut this);
            let outcome = self.run_once(Arc::clone(&snapshot), this.clone(), trigger).await?;
            match attempts.after(&outcome, trigger) {
                Next::Done => return Some(outcome),
                Next::Retry(pause) => tokio::time::sleep(pause).await,
                Next::Dead => {
                    if let Some(handler) = on_error_handler(on_error, &snapshot) {
                        let failed = on_error_invocation(&handler, &outcome, &this, trigger);
                        self.run_once(Arc::clone(&snapshot), failed, &format!("on_error for {trigger}")).await;
                    }
                    return Some(outcome);
                }
            }
        }
    }

    async fn run_once(&self, snapshot: Arc<Snapshot>, invocation: Invocation, trigger: &str) -> Option<Outcome> {
        let script = invocation.job.script.clone();
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
