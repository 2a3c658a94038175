//! The circuit breaker of a connection (HTTP, SQL servers): closed until `failures`
//! consecutive failures, then open (calls fail fast) for `cooldown`, then half-open (one trial
//! call; success closes, failure opens again). One per connection per snapshot, shared by all
//! its runs.

use crate::config::HttpCircuit;
use crate::metrics::Metrics;
use parking_lot::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The `switchboard_circuit_state` values.
const CLOSED: u8 = 0;
const OPEN: u8 = 1;
const HALF_OPEN: u8 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Calls go through; `failures` counts consecutive failures.
    Closed { failures: u32 },
    /// Calls are refused until `until`.
    Open { failures: u32, until: Instant },
    /// One trial call is in flight; the others are refused.
    HalfOpen { failures: u32 },
}

impl State {
    fn code(self) -> u8 {
        match self {
            State::Closed { .. } => CLOSED,
            State::Open { .. } => OPEN,
            State::HalfOpen { .. } => HALF_OPEN,
        }
    }
}

struct Inner {
    state: State,
    /// Whether the state was published to the metrics yet (it is on first use).
    published: bool,
}

/// A connection's breaker.
pub(crate) struct Circuit {
    failures: u32,
    cooldown: Duration,
    inner: Mutex<Inner>,
}

/// A state change worth a line in the run log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// Closed to open after this many consecutive failures.
    Opened { failures: u32 },
    /// The cooldown passed: this call is the trial.
    Trial,
    /// The trial succeeded.
    Closed,
    /// The trial failed; open for another cooldown.
    Reopened { failures: u32 },
}

/// Why a call was not let through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) failures: u32,
    /// Time until the next trial, or `None` while a trial is in flight.
    pub(crate) next_trial: Option<Duration>,
}

/// A call that was let through; [`Permit::finish`] reports how it went. A trial permit dropped
/// without a report (the call never finished) opens the circuit again, so it cannot stay
/// half-open forever.
pub(crate) struct Permit<'a> {
    circuit: &'a Circuit,
    trial: bool,
    finished: bool,
}

impl Circuit {
    pub(crate) fn new(config: HttpCircuit) -> Self {
        let inner = Inner { state: State::Closed { failures: 0 }, published: false };
        Self { failures: config.failures, cooldown: config.cooldown.0, inner: Mutex::new(inner) }
    }

    /// How long the circuit stays open before a trial.
    pub(crate) fn cooldown(&self) -> Duration {
        self.cooldown
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock()
    }

    /// Lets a call through or refuses it. State changes are published to `metrics` under the
    /// lock, so the gauge never shows an older state than the breaker.
    pub(crate) fn admit(
        &self,
        now: Instant,
        metrics: &Metrics,
        name: &str,
    ) -> Result<(Permit<'_>, Option<Change>), Refused> {
        let mut inner = self.lock();
        if !inner.published {
            inner.published = true;
            metrics.circuit(name, inner.state.code());
        }
        match inner.state {
            State::Closed { .. } => Ok((self.permit(false), None)),
            State::Open { failures, until } if now < until => {
                Err(Refused { failures, next_trial: Some(until.saturating_duration_since(now)) })
            }
            State::Open { failures, .. } => {
                inner.state = State::HalfOpen { failures };
                metrics.circuit(name, HALF_OPEN);
                Ok((self.permit(true), Some(Change::Trial)))
            }
            State::HalfOpen { failures } => Err(Refused { failures, next_trial: None }),
        }
    }

    fn permit(&self, trial: bool) -> Permit<'_> {
        Permit { circuit: self, trial, finished: false }
    }

    /// Records how a call went; a failure is a connect error, a timeout or a 5xx.
    fn record(&self, trial: bool, failed: bool, now: Instant, report: Option<(&Metrics, &str)>) -> Option<Change> {
        let mut inner = self.lock();
        let (state, change) = match (inner.state, trial) {
            (State::HalfOpen { .. }, true) if !failed => (State::Closed { failures: 0 }, Some(Change::Closed)),
            (State::HalfOpen { failures }, true) => {
                let failures = failures.saturating_add(1);
                (State::Open { failures, until: now + self.cooldown }, Some(Change::Reopened { failures }))
            }
            (State::Closed { .. }, false) if !failed => (State::Closed { failures: 0 }, None),
            (State::Closed { failures }, false) => {
                let failures = failures.saturating_add(1);
                if failures >= self.failures {
                    (State::Open { failures, until: now + self.cooldown }, Some(Change::Opened { failures }))
                } else {
                    (State::Closed { failures }, None)
                }
            }
            // A call let through before another one changed the state: the newer state stands.
            (state, _) => (state, None),
        };
        let before = inner.state.code();
        inner.state = state;
        if let Some((metrics, name)) = report
            && state.code() != before
        {
            metrics.circuit(name, state.code());
        }
        change
    }
}

impl Permit<'_> {
    /// Reports the call's result and returns the state change it caused, if any.
    pub(crate) fn finish(mut self, failed: bool, now: Instant, metrics: &Metrics, name: &str) -> Option<Change> {
        self.finished = true;
        self.circuit.record(self.trial, failed, now, Some((metrics, name)))
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.trial && !self.finished {
            // No metrics here: the next call through the breaker sees (and reports) the state.
            self.circuit.record(true, true, Instant::now(), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Duration as ConfigDuration;

    fn circuit(failures: u32, cooldown_ms: u64) -> Circuit {
        Circuit::new(HttpCircuit { failures, cooldown: ConfigDuration(Duration::from_millis(cooldown_ms)) })
    }

    fn state(metrics: &Metrics) -> String {
        metrics.render().lines().find(|line| line.starts_with("switchboard_circuit_state{")).unwrap_or("").to_string()
    }

    #[test]
    fn opens_after_consecutive_failures_and_closes_after_a_good_trial() {
        let (metrics, breaker, start) = (Metrics::default(), circuit(3, 1_000), Instant::now());
        let call = |failed: bool, at: Instant| {
            let (permit, _) = breaker.admit(at, &metrics, "api").expect("admitted");
            permit.finish(failed, at, &metrics, "api")
        };
        assert_eq!(call(true, start), None);
        assert_eq!(call(false, start), None, "a success resets the count");
        assert_eq!(state(&metrics), "switchboard_circuit_state{connection=\"api\"} 0");
        assert_eq!(call(true, start), None);
        assert_eq!(call(true, start), None);
        assert_eq!(call(true, start), Some(Change::Opened { failures: 3 }));
        assert_eq!(state(&metrics), "switchboard_circuit_state{connection=\"api\"} 1");

        let soon = start + Duration::from_millis(400);
        let refused = breaker.admit(soon, &metrics, "api").err().expect("refused while open");
        assert_eq!(refused, Refused { failures: 3, next_trial: Some(Duration::from_millis(600)) });

        let later = start + Duration::from_millis(1_000);
        let (trial, change) = breaker.admit(later, &metrics, "api").expect("trial");
        assert_eq!(change, Some(Change::Trial));
        assert_eq!(state(&metrics), "switchboard_circuit_state{connection=\"api\"} 2");
        let busy = breaker.admit(later, &metrics, "api").err().expect("one trial at a time");
        assert_eq!(busy.next_trial, None);
        assert_eq!(trial.finish(false, later, &metrics, "api"), Some(Change::Closed));
        assert_eq!(state(&metrics), "switchboard_circuit_state{connection=\"api\"} 0");
    }

    #[test]
    fn a_failed_or_abandoned_trial_opens_the_circuit_again() {
        let (metrics, breaker, start) = (Metrics::default(), circuit(1, 100), Instant::now());
        let (permit, _) = breaker.admit(start, &metrics, "api").expect("admitted");
        assert_eq!(permit.finish(true, start, &metrics, "api"), Some(Change::Opened { failures: 1 }));
        let after = start + Duration::from_millis(100);
        let (trial, _) = breaker.admit(after, &metrics, "api").expect("trial");
        assert_eq!(trial.finish(true, after, &metrics, "api"), Some(Change::Reopened { failures: 2 }));
        assert!(breaker.admit(after, &metrics, "api").is_err(), "open for another cooldown");

        let again = after + Duration::from_millis(100);
        drop(breaker.admit(again, &metrics, "api").expect("trial"));
        assert!(matches!(breaker.lock().state, State::Open { failures: 3, .. }));
    }

    #[test]
    fn results_of_calls_admitted_before_a_change_do_not_undo_it() {
        let (metrics, breaker, start) = (Metrics::default(), circuit(1, 1_000), Instant::now());
        let (early, _) = breaker.admit(start, &metrics, "api").expect("admitted");
        let (failing, _) = breaker.admit(start, &metrics, "api").expect("admitted");
        assert_eq!(failing.finish(true, start, &metrics, "api"), Some(Change::Opened { failures: 1 }));
        assert_eq!(early.finish(false, start, &metrics, "api"), None);
        assert!(breaker.admit(start, &metrics, "api").is_err(), "still open");
    }
}
