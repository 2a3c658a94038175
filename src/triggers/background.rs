//! Runs started by background triggers (cron, watched folders, events): on the blocking pool,
//! never on an async worker, retried by their `retry` rule, with their outcome logged and their
//! events announced.

use crate::config::Policy;
use crate::hub::Snapshot;
use crate::queue::{Queue, on_error_invocation};
use crate::runner::{self, Attempt, Invocation, Outcome, log_outcome};
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
    /// failed attempt.
    pub async fn run_with(
        &self,
        snapshot: Arc<Snapshot>,
        invocation: Invocation,
        trigger: &str,
        policy: Policy,
        on_error: Option<&str>,
    ) -> Option<Outcome> {
        let mut attempt = 1;
        let mut first_id = None;
        loop {
            let mut this = invocation.clone();
            this.attempt = Attempt {
                number: attempt,
                retry_of: first_id.clone(),
                last: policy.attempts > 1 && attempt >= policy.attempts,
            };
            let outcome = self.run_once(Arc::clone(&snapshot), this.clone(), trigger).await?;
            if outcome.result.is_ok() || attempt >= policy.attempts {
                if outcome.result.is_err()
                    && let Some(handler) =
                        on_error.map(str::to_string).or_else(|| snapshot.manifest.queue.on_error.clone())
                {
                    let failed = on_error_invocation(&handler, &outcome, &this, trigger);
                    self.run_once(Arc::clone(&snapshot), failed, &format!("on_error for {trigger}")).await;
                }
                return Some(outcome);
            }
            let pause = policy.pause(attempt);
            tracing::info!(
                "{trigger}: attempt {attempt} of {} failed; retrying in {} ms",
                policy.attempts,
                pause.as_millis()
            );
            first_id.get_or_insert_with(|| outcome.run_id.clone());
            tokio::time::sleep(pause).await;
            attempt += 1;
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
