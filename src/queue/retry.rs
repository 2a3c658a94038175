//! The one retry rule of triggered runs (queued requests, cron jobs, watched files, event
//! subscribers): which attempt a run is, whether its failure is tried again after a pause or is
//! final, and so whether its record says `error` or `dead`. Where the pause is waited differs (the
//! queue stores the item with its next time; background triggers wait in memory); the decision
//! does not.

use crate::config::{AfterFailure, Policy};
use crate::hub::Snapshot;
use crate::runner::{Attempt, Invocation, Outcome};

/// One triggered run, attempt by attempt, under its retry policy.
#[derive(Clone, Debug)]
pub struct Attempts {
    policy: Policy,
    /// The current attempt, 1 for the first.
    number: u32,
    /// The run id of the first attempt, once known: later attempts are `retry_of` it.
    first: Option<String>,
}

/// What follows an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// It succeeded.
    Done,
    /// It failed and runs again after this pause.
    Retry(std::time::Duration),
    /// It failed and was the last attempt: its record says `dead` and `on_error` runs.
    Dead,
}

impl Attempts {
    /// A run's first attempt.
    pub fn new(policy: Policy) -> Self {
        Self { policy, number: 1, first: None }
    }

    /// Attempt `number` of a queued item, whose first attempt has the item's id as run id.
    pub fn resume(policy: Policy, number: u32, first: &str) -> Self {
        Self { policy, number: number.max(1), first: Some(first.to_string()) }
    }

    /// `invocation` set up as the current attempt: its number, the first attempt's run id as
    /// `retry_of`, and whether its failure is final (then recorded `dead`).
    pub fn prepare(&self, invocation: &mut Invocation) {
        invocation.attempt = Attempt {
            number: self.number,
            retry_of: if self.number > 1 { self.first.clone() } else { None },
            last: self.policy.is_last(self.number),
        };
    }

    /// What follows the current attempt, which ended in `outcome`; moves on to the next attempt.
    /// `trigger` names the run in the log (e.g. "cron job `digest`").
    pub fn after(&mut self, outcome: &Outcome, trigger: &str) -> Next {
        if outcome.result.is_ok() {
            return Next::Done;
        }
        match self.policy.after_failure(self.number) {
            AfterFailure::GiveUp => Next::Dead,
            AfterFailure::RetryIn(pause) => {
                tracing::info!(
                    "{trigger}: attempt {} of {} failed; retrying in {} ms",
                    self.number,
                    self.policy.attempts,
                    pause.as_millis()
                );
                self.first.get_or_insert_with(|| outcome.run_id.clone());
                self.number += 1;
                Next::Retry(pause)
            }
        }
    }
}

/// The `on_error` script for a run that failed for the last time: its trigger's own, else
/// `[queue] on_error`.
pub fn on_error_handler(own: Option<&str>, snapshot: &Snapshot) -> Option<String> {
    own.or(snapshot.manifest.queue.on_error.as_deref()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RunError;
    use crate::runner::{Body, Reply};

    fn outcome(run_id: &str, failed: bool) -> Outcome {
        Outcome {
            run_id: run_id.into(),
            script: "job".into(),
            started_at: chrono::DateTime::UNIX_EPOCH,
            duration: std::time::Duration::ZERO,
            lines: Vec::new(),
            dropped_lines: 0,
            dropped_bytes: 0,
            result: if failed {
                Err(RunError::Failed { status: 500, message: "no".into() })
            } else {
                Ok(Reply { status: None, headers: Vec::new(), body: Body::Text(String::new()) })
            },
            emitted: 0,
            held: None,
        }
    }

    #[test]
    fn the_last_failed_attempt_is_dead_with_or_without_retries() {
        let mut once = Attempts::new(Policy::ONCE);
        let mut invocation = Invocation::manual("job", &serde_json::json!({}));
        once.prepare(&mut invocation);
        assert!((invocation.attempt.last, invocation.attempt.number) == (true, 1));
        assert_eq!(once.after(&outcome("a", true), "test"), Next::Dead);

        let mut twice = Attempts::new(Policy { attempts: 2, ..Policy::ONCE });
        twice.prepare(&mut invocation);
        assert!(!invocation.attempt.last);
        assert!(matches!(twice.after(&outcome("first", true), "test"), Next::Retry(_)));
        twice.prepare(&mut invocation);
        assert_eq!(
            (invocation.attempt.number, invocation.attempt.retry_of.as_deref(), invocation.attempt.last),
            (2, Some("first"), true)
        );
        assert_eq!(twice.after(&outcome("second", true), "test"), Next::Dead);
        assert_eq!(Attempts::new(Policy::ONCE).after(&outcome("a", false), "test"), Next::Done);
    }

    #[test]
    fn a_resumed_queue_item_is_retry_of_its_id() {
        let policy = Policy { attempts: 3, ..Policy::ONCE };
        let mut invocation = Invocation::manual("job", &serde_json::json!({}));
        Attempts::resume(policy, 1, "item").prepare(&mut invocation);
        assert_eq!((invocation.attempt.number, invocation.attempt.retry_of.as_deref()), (1, None));
        Attempts::resume(policy, 3, "item").prepare(&mut invocation);
        assert_eq!(
            (invocation.attempt.number, invocation.attempt.retry_of.as_deref(), invocation.attempt.last),
            (3, Some("item"), true)
        );
    }
}
