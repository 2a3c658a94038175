//! How often to try a failed run and how long to wait in between: exponential backoff with
//! jitter, shared by the durable queue, background triggers and `http` calls.

use super::Retry;
use std::time::Duration;

/// How often to try and how long to wait in between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub attempts: u32,
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Policy {
    /// One attempt, no retries.
    pub const ONCE: Policy =
        Policy { attempts: 1, backoff: Duration::from_secs(1), max_backoff: Duration::from_secs(300) };

    /// The policy of a `retry = {...}` setting (one attempt when absent).
    pub fn from_config(retry: Option<&Retry>) -> Self {
        retry.map_or(Self::ONCE, |r| Self {
            attempts: r.attempts.max(1),
            backoff: r.backoff.0,
            max_backoff: r.max_backoff.0,
        })
    }

    /// The pause after failed attempt number `attempt` (1-based): doubling from `backoff`, capped at
    /// `max_backoff`, then scaled by a random 50-100% so that many failures do not retry in step.
    pub fn pause(&self, attempt: u32) -> Duration {
        let doubling = 2u32.saturating_pow(attempt.saturating_sub(1));
        let full = self.backoff.saturating_mul(doubling).min(self.max_backoff);
        full.mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_within_bounds_with_jitter() {
        let policy =
            Policy { attempts: 5, backoff: Duration::from_millis(100), max_backoff: Duration::from_millis(350) };
        for _ in 0..50 {
            let first = policy.pause(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100), "{first:?}");
            let second = policy.pause(2);
            assert!(second >= Duration::from_millis(100) && second <= Duration::from_millis(200), "{second:?}");
            let capped = policy.pause(4);
            assert!(capped <= Duration::from_millis(350), "{capped:?}");
        }
    }
}
