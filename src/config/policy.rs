//! How often to try a failed run or request and how long to wait in between: exponential backoff
//! with jitter. One `Policy`, read from one `retry = {...}` form, decides for the durable queue,
//! background triggers and `http` calls alike whether a failed attempt is retried or final.

use super::Duration;
use serde::Deserialize;

/// How often to try and how long to wait in between.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "Spec")]
pub struct Policy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The pause before the second attempt; doubled for each further one.
    pub backoff: std::time::Duration,
    /// The longest pause.
    pub max_backoff: std::time::Duration,
}

/// What follows a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again after this pause.
    RetryIn(std::time::Duration),
    /// That was the last attempt: the failure is final.
    GiveUp,
}

/// A `retry = {...}` setting that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "`backoff` ({backoff}) is longer than `max_backoff` ({max_backoff}); the pauses grow from backoff up to max_backoff"
    )]
    BackoffOverMax { backoff: Duration, max_backoff: Duration },
}

impl Policy {
    /// One attempt, no retries: a trigger without `retry`.
    pub const ONCE: Policy = Policy { attempts: 1, ..Self::RUNS };

    /// The defaults of a run's `retry` (queue routes, cron jobs, watches, subscribers).
    pub const RUNS: Policy = Policy {
        attempts: 3,
        backoff: std::time::Duration::from_secs(1),
        max_backoff: std::time::Duration::from_secs(300),
    };

    /// The defaults of an HTTP connection's `retry`: short pauses, since they count against the
    /// run's deadline.
    pub const HTTP: Policy = Policy {
        attempts: 3,
        backoff: std::time::Duration::from_millis(200),
        max_backoff: std::time::Duration::from_secs(5),
    };

    /// Whether the pauses can grow as written: `check` and `serve` refuse a policy that cannot.
    pub fn check(&self) -> Result<(), PolicyError> {
        if self.backoff > self.max_backoff {
            return Err(PolicyError::BackoffOverMax {
                backoff: Duration(self.backoff),
                max_backoff: Duration(self.max_backoff),
            });
        }
        Ok(())
    }

    /// Whether attempt number `attempt` (1-based) is the last this policy allows.
    pub fn is_last(&self, attempt: u32) -> bool {
        attempt >= self.attempts
    }

    /// What follows failed attempt number `attempt` (1-based): another after a pause, or none.
    pub fn after_failure(&self, attempt: u32) -> AfterFailure {
        if self.is_last(attempt) { AfterFailure::GiveUp } else { AfterFailure::RetryIn(self.pause(attempt)) }
    }

    /// The pause after failed attempt number `attempt` (1-based): doubling from `backoff`, capped at
    /// `max_backoff`, then scaled by a random 50-100% so that many failures do not retry in step.
    pub fn pause(&self, attempt: u32) -> std::time::Duration {
        let doubling = 2u32.saturating_pow(attempt.saturating_sub(1));
        let full = self.backoff.saturating_mul(doubling).min(self.max_backoff);
        full.mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self::ONCE
    }
}

/// `retry = { attempts, backoff, max_backoff }` as written: each key optional, over defaults.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Spec {
    #[serde(default, deserialize_with = "attempts")]
    pub attempts: Option<u32>,
    pub backoff: Option<Duration>,
    pub max_backoff: Option<Duration>,
}

impl Spec {
    /// The policy this setting makes of `defaults`: the only way a `Policy` is read from the
    /// manifest (then [`Policy::check`]ed).
    pub fn over(self, defaults: Policy) -> Policy {
        Policy {
            attempts: self.attempts.unwrap_or(defaults.attempts),
            backoff: self.backoff.map_or(defaults.backoff, |backoff| backoff.0),
            max_backoff: self.max_backoff.map_or(defaults.max_backoff, |max| max.0),
        }
    }
}

impl From<Spec> for Policy {
    fn from(spec: Spec) -> Self {
        spec.over(Policy::RUNS)
    }
}

/// `attempts`: from 1 to 100.
pub(super) fn attempts<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let attempts = u32::deserialize(deserializer)?;
    if !(1..=100).contains(&attempts) {
        return Err(serde::de::Error::custom(format!(
            "must be between 1 and 100, not {attempts} (attempts in all, the first included; 1 means no retries)"
        )));
    }
    Ok(Some(attempts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration as Std;

    #[test]
    fn pauses_double_within_bounds_with_jitter() {
        let policy = Policy { attempts: 5, backoff: Std::from_millis(100), max_backoff: Std::from_millis(350) };
        for _ in 0..50 {
            let first = policy.pause(1);
            assert!(first >= Std::from_millis(50) && first <= Std::from_millis(100), "{first:?}");
            let second = policy.pause(2);
            assert!(second >= Std::from_millis(100) && second <= Std::from_millis(200), "{second:?}");
            let capped = policy.pause(4);
            assert!(capped <= Std::from_millis(350), "{capped:?}");
        }
    }

    #[test]
    fn only_the_last_attempt_gives_up() {
        let policy = Policy { attempts: 2, ..Policy::RUNS };
        assert!(matches!(policy.after_failure(1), AfterFailure::RetryIn(_)));
        assert_eq!(policy.after_failure(2), AfterFailure::GiveUp);
        assert_eq!(Policy::ONCE.after_failure(1), AfterFailure::GiveUp);
        assert_eq!(Policy::default(), Policy::ONCE);
    }

    #[test]
    fn a_setting_fills_in_its_defaults_and_check_refuses_backoff_over_max() {
        let read = |text: &str| toml::from_str::<toml::Table>(text).unwrap()["retry"].clone().try_into::<Policy>();
        assert_eq!(
            read("retry = { backoff = \"2s\" }").unwrap(),
            Policy { backoff: Std::from_secs(2), ..Policy::RUNS }
        );
        assert_eq!(read("retry = { attempts = 1 }").unwrap(), Policy::ONCE);
        let refused =
            read("retry = { backoff = \"10m\", max_backoff = \"1s\" }").unwrap().check().unwrap_err().to_string();
        assert!(refused.contains("`backoff` (10m) is longer than `max_backoff` (1s)"), "{refused}");
        assert!(read("retry = { attempts = 0 }").unwrap_err().to_string().contains("between 1 and 100"));
        assert!(read("retry = { atempts = 3 }").is_err());
    }
}
