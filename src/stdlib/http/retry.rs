//! When a failed HTTP request is tried again: the connection's `retry` policy, a call's `retry`
//! option, `Retry-After`, and the run's deadline.

use crate::config::{AfterFailure, HttpRetry, Policy};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use std::time::{Duration, SystemTime};

/// The least time an attempt after a pause must have before the run's deadline; a pause that
/// leaves less is not taken.
const ATTEMPT_FLOOR: Duration = Duration::from_millis(100);

/// A connection's `retry = {...}`.
pub(super) struct ConnectionRetry {
    policy: Policy,
    methods: Vec<Method>,
}

impl ConnectionRetry {
    pub(super) fn new(retry: &HttpRetry) -> Self {
        // The manifest checked the names, so none is dropped here.
        let methods = retry.methods.iter().filter_map(|method| Method::from_bytes(method.as_bytes()).ok()).collect();
        Self { policy: retry.policy, methods }
    }
}

/// What a call's `retry` option said.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum CallRetry {
    /// Nothing: the connection's policy if it lists the method, else one attempt.
    #[default]
    Default,
    /// `retry: false`: one attempt.
    Off,
    /// `retry: true`: the connection's policy (or the defaults) whatever the method.
    On,
    /// `retry: #{...}`: these settings over the connection's policy (or the defaults).
    With { attempts: Option<u32>, backoff: Option<Duration>, max_backoff: Option<Duration> },
}

/// The policy of one call: a plain URL is tried once unless the call asks for retries; a
/// connection's `retry` applies to the methods it lists unless the call says otherwise.
pub(super) fn policy(call: CallRetry, connection: Option<&ConnectionRetry>, method: &Method) -> Policy {
    let base = connection.map_or(Policy::HTTP, |retry| retry.policy);
    let once = Policy { attempts: 1, ..base };
    match call {
        CallRetry::Default => match connection {
            Some(retry) if retry.methods.contains(method) => base,
            _ => once,
        },
        CallRetry::Off => once,
        CallRetry::On => base,
        CallRetry::With { attempts, backoff, max_backoff } => Policy {
            attempts: attempts.unwrap_or(base.attempts),
            backoff: backoff.unwrap_or(base.backoff),
            max_backoff: max_backoff.unwrap_or(base.max_backoff),
        },
    }
}

/// Whether a response status is worth another attempt: 5xx and 429.
pub(super) fn retryable_status(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// The wait a 429 or 503 response asks for in `Retry-After`: seconds or an HTTP date.
pub(super) fn retry_after(status: StatusCode, headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let at = SystemTime::from(date.with_timezone(&chrono::Utc));
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The pause before the next attempt, or why there is none.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Wait this long, then try again.
    Wait(Duration),
    /// Stop and return what the last attempt gave, for this reason (shown in the run log).
    GiveUp(String),
}

/// Decides what follows failed attempt number `attempt` (1-based), as `Policy::after_failure`
/// does for every retried run, and then: a `Retry-After` is waited for exactly, unless it exceeds
/// `max_backoff`; no pause runs into the run's deadline (`left`).
pub(super) fn next(policy: &Policy, attempt: u32, asked: Option<Duration>, left: Option<Duration>) -> Next {
    let AfterFailure::RetryIn(backoff) = policy.after_failure(attempt) else {
        return Next::GiveUp(format!("giving up after {attempt} attempts"));
    };
    let pause = match asked {
        Some(asked) if asked > policy.max_backoff => {
            return Next::GiveUp(format!(
                "Retry-After asks for {}, longer than max_backoff ({}); not retrying",
                approx(asked),
                approx(policy.max_backoff)
            ));
        }
        Some(asked) => asked,
        None => backoff,
    };
    if let Some(left) = left
        && pause + ATTEMPT_FLOOR > left
    {
        return Next::GiveUp(format!(
            "no time for attempt {} of {} before the run's deadline ({} left)",
            attempt + 1,
            policy.attempts,
            approx(left)
        ));
    }
    Next::Wait(pause)
}

/// A duration for people: "180 ms", "1.5 s", "12 s".
pub(super) fn approx(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1_000 {
        format!("{millis} ms")
    } else if millis < 10_000 {
        let tenths = millis.div_ceil(100);
        if tenths.is_multiple_of(10) {
            format!("{} s", tenths / 10)
        } else {
            format!("{}.{} s", tenths / 10, tenths % 10)
        }
    } else {
        format!("{} s", millis.div_ceil(1_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn connection(methods: &[&str]) -> ConnectionRetry {
        let retry = HttpRetry { methods: methods.iter().map(ToString::to_string).collect(), ..HttpRetry::default() };
        ConnectionRetry::new(&retry)
    }

    #[test]
    fn connections_retry_the_methods_they_list_and_calls_override() {
        let api = connection(&["GET", "PUT"]);
        assert_eq!(policy(CallRetry::Default, Some(&api), &Method::GET).attempts, 3);
        assert_eq!(policy(CallRetry::Default, Some(&api), &Method::POST).attempts, 1);
        assert_eq!(policy(CallRetry::On, Some(&api), &Method::POST).attempts, 3);
        assert_eq!(policy(CallRetry::Off, Some(&api), &Method::GET).attempts, 1);
        let custom = CallRetry::With { attempts: Some(5), backoff: None, max_backoff: None };
        let custom = policy(custom, Some(&api), &Method::POST);
        assert_eq!((custom.attempts, custom.backoff), (5, Duration::from_millis(200)));
        assert_eq!(policy(CallRetry::Default, None, &Method::GET).attempts, 1, "plain URLs retry only on request");
        assert_eq!(policy(CallRetry::On, None, &Method::GET).attempts, 3);
        let defaults = ConnectionRetry::new(&HttpRetry::default());
        assert_eq!(policy(CallRetry::Default, Some(&defaults), &Method::DELETE).attempts, 3);
        assert_eq!(policy(CallRetry::Default, Some(&defaults), &Method::PATCH).attempts, 1);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates_on_429_and_503_only() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_470);
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(StatusCode::TOO_MANY_REQUESTS, &headers, now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(StatusCode::INTERNAL_SERVER_ERROR, &headers, now), None);
        // 2015-10-21 07:28:00 UTC is 1445412480, ten seconds after `now`.
        headers.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(StatusCode::SERVICE_UNAVAILABLE, &headers, now), Some(Duration::from_secs(10)));
        let later = now + Duration::from_secs(60);
        assert_eq!(retry_after(StatusCode::SERVICE_UNAVAILABLE, &headers, later), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(StatusCode::SERVICE_UNAVAILABLE, &headers, now), None);
    }

    #[test]
    fn pauses_stop_at_the_last_attempt_max_backoff_and_deadline() {
        let policy = Policy { attempts: 3, backoff: Duration::from_millis(200), max_backoff: Duration::from_secs(5) };
        assert!(matches!(next(&policy, 1, None, None), Next::Wait(pause) if pause <= Duration::from_millis(200)));
        assert_eq!(next(&policy, 1, Some(Duration::from_secs(1)), None), Next::Wait(Duration::from_secs(1)));
        assert!(matches!(next(&policy, 3, None, None), Next::GiveUp(why) if why == "giving up after 3 attempts"));
        assert!(
            matches!(next(&policy, 1, Some(Duration::from_secs(60)), None), Next::GiveUp(why) if why.contains("max_backoff"))
        );
        let left = Some(Duration::from_millis(150));
        assert!(
            matches!(next(&policy, 2, Some(Duration::from_millis(100)), left), Next::GiveUp(why) if why.contains("deadline"))
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(approx(Duration::from_millis(180)), "180 ms");
        assert_eq!(approx(Duration::from_millis(1_000)), "1 s");
        assert_eq!(approx(Duration::from_millis(1_450)), "1.5 s");
        assert_eq!(approx(Duration::from_millis(11_200)), "12 s");
    }
}
