//! Per-route rate limits (governor, keyed by API key or client IP) and their response headers.

use governor::middleware::StateInformationMiddleware;
use governor::{Quota, RateLimiter, clock::Clock, clock::DefaultClock, state::keyed::DefaultKeyedStateStore};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

type Limiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// A rate such as "60/minute", enforced per caller.
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
    /// Parses "N/second", "N/minute" or "N/hour".
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = || format!("`{text}` is not a rate; expected \"N/second\", \"N/minute\" or \"N/hour\"");
        let (count, unit) = text.split_once('/').ok_or_else(invalid)?;
        let limit: u32 = count.trim().parse().map_err(|_| invalid())?;
        let burst = NonZeroU32::new(limit).ok_or_else(invalid)?;
        let (quota, period) = match unit.trim() {
            "second" => (Quota::per_second(burst), Duration::from_secs(1)),
            "minute" => (Quota::per_minute(burst), Duration::from_secs(60)),
            "hour" => (Quota::per_hour(burst), Duration::from_secs(3600)),
            _ => return Err(invalid()),
        };
        let limiter = RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>();
        Ok(Self { limiter, limit, period, checks: AtomicU64::new(0) })
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
    fn parses_rates_and_limits_per_caller() {
        let limit = RateLimit::parse("2/minute").expect("valid");
        assert!(limit.check("a").is_ok());
        assert_eq!(limit.check("a").map(|allowed| allowed.remaining).ok(), Some(0));
        assert!(limit.check("a").is_err());
        assert!(limit.check("b").is_ok(), "callers are limited separately");
        assert!(RateLimit::parse("0/minute").is_err());
        assert!(RateLimit::parse("5/day").is_err());
    }
}
