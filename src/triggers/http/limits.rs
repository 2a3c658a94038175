//! Per-route rate limits (governor, keyed by API key or client IP) and their response headers.

use crate::config::{Per, Rate};
use governor::middleware::StateInformationMiddleware;
use governor::{Quota, RateLimiter, clock::Clock, clock::DefaultClock, state::keyed::DefaultKeyedStateStore};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

type Limiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// A route's `rate_limit`, enforced per caller.
pub struct RateLimit {
    limiter: Limiter,
    limit: u32,
    period: Duration,
    checks: AtomicU64,
}

/// The caller is within its rate; the values for the `RateLimit-*` headers.
pub struct Allowed {
    pub limit: u32,
    pub remaining: u32,
    pub reset_seconds: u64,
}

/// The caller is over its rate.
pub struct Denied {
    pub limit: u32,
    pub retry_after_seconds: u64,
}

impl RateLimit {
    /// A limiter for `rate`, keyed by caller.
    pub fn new(rate: Rate) -> Self {
        let quota = match rate.per {
            Per::Second => Quota::per_second(rate.count),
            Per::Minute => Quota::per_minute(rate.count),
            Per::Hour => Quota::per_hour(rate.count),
        };
        let limiter = RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>();
        Self { limiter, limit: rate.count.get(), period: rate.per.duration(), checks: AtomicU64::new(0) }
    }

    /// Counts one request from `caller`.
    pub fn check(&self, caller: &str) -> Result<Allowed, Denied> {
        // Forget idle callers now and then so the table cannot grow without bound.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
        }
        let replenish = self.period.as_secs_f64() / f64::from(self.limit);
        match self.limiter.check_key(&caller.to_string()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = self.limit.saturating_sub(remaining);
                Ok(Allowed { limit: self.limit, remaining, reset_seconds: (replenish * f64::from(used)).ceil() as u64 })
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(Denied { limit: self.limit, retry_after_seconds: wait.as_secs_f64().ceil().max(1.0) as u64 })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_caller() {
        let limit = RateLimit::new("2/minute".parse().expect("valid"));
        assert!(limit.check("a").is_ok());
        assert_eq!(limit.check("a").map(|allowed| allowed.remaining).ok(), Some(0));
        assert!(limit.check("a").is_err());
        assert!(limit.check("b").is_ok(), "callers are limited separately");
    }
}
