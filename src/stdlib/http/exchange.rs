//! Sending one script call: the request built from the URL, connection and options, then
//! attempts through the connection's circuit breaker, retried with backoff until one succeeds,
//! the policy gives up or the run's deadline is near. Retries and circuit changes are warn
//! lines in the run's log and counted in the metrics.

use super::endpoint::Endpoint;
use super::options::Options;
use super::response::{Failure, describe, response_map, shown};
use super::retry::{self, Next, approx};
use super::{MAX_BODY, Sender};
use crate::config::Policy;
use crate::engine::context::{self, Level};
use crate::engine::{Interrupted, pause as pause_run, wait_cancellable};
use crate::stdlib::circuit::{Change, Refused};
use crate::stdlib::{Result, error};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Client, Method, Request, StatusCode, Url};
use rhai::{Dynamic, Map};
use std::time::{Duration, Instant, SystemTime};

/// Time a request may take when neither the call nor its connection says (capped by the run's
/// deadline).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A response read whole.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// One attempt and the timeout it had.
struct Tried {
    outcome: std::result::Result<Answer, Failure>,
    timeout: Duration,
    /// Whether the run's deadline, not the asked timeout, bounded the attempt.
    capped: bool,
}

impl Tried {
    /// Whether the circuit counts this as a failure: no response (connect error, timeout) or a 5xx.
    fn failed(&self) -> bool {
        match &self.outcome {
            Ok(answer) => answer.status.is_server_error(),
            Err(Failure::Http(_)) => true,
            Err(Failure::TooLarge) => false,
        }
    }

    /// Whether another attempt may do better: connect errors, timeouts, broken exchanges, 5xx, 429.
    fn retryable(&self) -> bool {
        match &self.outcome {
            Ok(answer) => retry::retryable_status(answer.status),
            Err(Failure::Http(err)) => err.is_connect() || err.is_timeout() || err.is_request() || err.is_body(),
            Err(Failure::TooLarge) => false,
        }
    }

    /// What happened, for the run log: "answered 503", "timed out after 2s", "failed: ...".
    fn summary(&self) -> String {
        match &self.outcome {
            Ok(answer) => format!("answered {}", answer.status.as_u16()),
            Err(Failure::Http(err)) if err.is_timeout() => format!("timed out after {}", whole_millis(self.timeout)),
            Err(Failure::Http(err)) => format!("failed: {}", describe(err)),
            Err(Failure::TooLarge) => "answered with a body that is too large".to_string(),
        }
    }
}

/// A duration in whole milliseconds: a deadline-capped timeout would otherwise print down to
/// nanoseconds.
fn whole_millis(duration: Duration) -> String {
    humantime::format_duration(Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)))
        .to_string()
}

/// Sends one call (with its retries) and reads the whole response into a result map.
pub(super) fn send(
    sender: &Sender,
    function: &str,
    method: Method,
    mut url: Url,
    endpoint: Option<&Endpoint>,
    opts: Dynamic,
) -> Result<Map> {
    let options = Options::read(function, opts)?;
    let policy = retry::policy(options.retry, endpoint.and_then(|endpoint| endpoint.retry.as_ref()), &method);

    // Query parameters of the call replace the connection's parameters of the same name.
    let mut query: Vec<(String, String)> = endpoint
        .map(|endpoint| {
            let overridden = |key: &String| options.query.iter().any(|(name, _)| name == key);
            endpoint.query.iter().filter(|(key, _)| !overridden(key)).cloned().collect()
        })
        .unwrap_or_default();
    query.extend(options.query);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(&query);
    }

    // What a connection or the script set (headers, a body a 307 or 308 would send again) goes
    // to the origin it was sent to, not further.
    let guarded = endpoint.is_some() || !options.headers.is_empty() || options.body.is_some();
    let client = if guarded { &sender.guarded } else { &sender.open };

    // Headers of the call replace the connection's headers of the same name; an array value
    // sends the header once per item.
    let mut headers = endpoint.map(|endpoint| endpoint.headers.clone()).unwrap_or_default();
    for (name, _) in &options.headers {
        headers.remove(name);
    }
    for (name, value) in options.headers {
        headers.append(name, value);
    }
    let body = options.body.map(|(bytes, content_type)| {
        if !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        bytes
    });

    let call = Call {
        sender,
        client,
        function,
        endpoint,
        what: match endpoint {
            Some(endpoint) => format!("{method} {} (connection `{}`)", shown(&url), endpoint.name),
            None => format!("{method} {}", shown(&url)),
        },
        label: match endpoint {
            Some(endpoint) => format!("{method} {} on `{}`", url.path(), endpoint.name),
            None => format!("{method} {}", shown(&url)),
        },
        wanted: options.timeout.or(endpoint.and_then(|endpoint| endpoint.timeout)).unwrap_or(DEFAULT_TIMEOUT),
        policy,
    };
    let mut request = client.request(method, url).headers(headers);
    if let Some(body) = body {
        request = request.body(body);
    }
    let request = request.build().map_err(|err| error(function, format!("{}: {}", call.what, describe(&err))))?;
    call.run(request)
}

/// One script call in progress.
struct Call<'a> {
    sender: &'a Sender,
    /// The sender's client this call goes through.
    client: &'a Client,
    function: &'a str,
    endpoint: Option<&'a Endpoint>,
    /// The request as errors name it: "GET http://host/path (connection `api`)".
    what: String,
    /// The request as run-log lines name it: "GET /path on `api`".
    label: String,
    /// The timeout of each attempt, before the run's deadline caps it.
    wanted: Duration,
    policy: Policy,
}

impl Call<'_> {
    fn run(&self, request: Request) -> Result<Map> {
        let mut request = Some(request);
        let mut last: Option<Tried> = None;
        let mut attempt = 1;
        loop {
            let permit = match self.endpoint.and_then(|endpoint| Some((endpoint, endpoint.circuit.as_ref()?))) {
                Some((endpoint, circuit)) => {
                    match circuit.admit(Instant::now(), &self.sender.metrics, &endpoint.name) {
                        Ok((permit, change)) => {
                            self.circuit_line(&endpoint.name, change);
                            Some(permit)
                        }
                        Err(refused) => return self.refused(&endpoint.name, refused, last, attempt - 1),
                    }
                }
                None => None,
            };
            // The last attempt takes the request itself; earlier ones a copy (bodies are bytes,
            // so copies always succeed).
            let this = if attempt < self.policy.attempts {
                request.as_ref().and_then(Request::try_clone)
            } else {
                request.take()
            };
            let Some(this) = this else {
                return Err(error(self.function, format!("{}: the request cannot be sent again", self.what)));
            };
            let Ok(tried) = self.attempt(this) else {
                return Err(error(self.function, format!("{}: interrupted", self.what)));
            };
            if let (Some(permit), Some(endpoint)) = (permit, self.endpoint) {
                let change = permit.finish(tried.failed(), Instant::now(), &self.sender.metrics, &endpoint.name);
                self.circuit_line(&endpoint.name, change);
                let opened = matches!(change, Some(Change::Opened { .. } | Change::Reopened { .. }));
                if opened && self.policy.attempts > 1 && tried.retryable() {
                    // Another attempt would only be refused: stop now rather than after a pause.
                    let note =
                        format!("stopped after {}: the circuit of `{}` opened", attempts(attempt), endpoint.name);
                    return self.finish(tried, Some(note));
                }
            }
            if !tried.retryable() {
                return self.finish(tried, None);
            }
            let asked = match &tried.outcome {
                Ok(answer) => retry::retry_after(answer.status, &answer.headers, SystemTime::now()),
                Err(_) => None,
            };
            match retry::next(&self.policy, attempt, asked, context::remaining()) {
                Next::Wait(pause) => {
                    let why = if asked.is_some() { " (Retry-After)" } else { "" };
                    context::push_line(
                        Level::Warn,
                        &format!(
                            "http: {} {}; attempt {} of {} in {}{why}",
                            self.label,
                            tried.summary(),
                            attempt + 1,
                            self.policy.attempts,
                            approx(pause)
                        ),
                    );
                    if let Some(endpoint) = self.endpoint {
                        self.sender.metrics.retry(&endpoint.name);
                    }
                    pause_run(pause).map_err(|_| error(self.function, format!("{}: interrupted", self.what)))?;
                    last = Some(tried);
                    attempt += 1;
                }
                Next::GiveUp(why) => {
                    if self.policy.attempts == 1 {
                        return self.finish(tried, None);
                    }
                    context::push_line(Level::Warn, &format!("http: {} {}; {why}", self.label, tried.summary()));
                    return self.finish(tried, Some(why));
                }
            }
        }
    }

    /// Sends one attempt, bounded by the call's timeout and the run's deadline; a cancelled run
    /// (Ctrl-C in the REPL) drops the request in flight.
    fn attempt(&self, mut request: Request) -> std::result::Result<Tried, Interrupted> {
        let left = context::remaining().unwrap_or(Duration::MAX);
        let timeout = self.wanted.min(left);
        *request.timeout_mut() = Some(timeout);
        let outcome = wait_cancellable(&self.sender.runtime, exchange(self.client.clone(), request))?;
        Ok(Tried { outcome, timeout, capped: left < self.wanted })
    }

    /// The call's result from its last attempt; `note` says why there was no further one.
    fn finish(&self, tried: Tried, note: Option<String>) -> Result<Map> {
        let note = note.map(|note| format!("; {note}")).unwrap_or_default();
        let what = &self.what;
        match tried.outcome {
            Ok(answer) => Ok(response_map(answer.status, &answer.headers, &answer.body)),
            Err(Failure::TooLarge) => Err(error(
                self.function,
                format!("{what}: the response body is larger than {} MiB, the most a script may read", MAX_BODY >> 20),
            )),
            Err(Failure::Http(err)) if err.is_timeout() => {
                let cause = if tried.capped { " (the run's deadline)" } else { "" };
                Err(error(
                    self.function,
                    format!("{what}: timed out after {}{cause}{note}", whole_millis(tried.timeout)),
                ))
            }
            Err(Failure::Http(err)) => Err(error(self.function, format!("{what}: {}{note}", describe(&err)))),
        }
    }

    /// A call the open circuit did not let through: fails fast, or returns the last attempt's
    /// result when earlier attempts of this call ran.
    fn refused(&self, name: &str, refused: Refused, last: Option<Tried>, attempts: u32) -> Result<Map> {
        let next = match refused.next_trial {
            Some(wait) => format!("next trial in {}", approx(wait)),
            None => "a trial request is in flight".to_string(),
        };
        let reason = format!("{} consecutive failures; {next}", refused.failures);
        context::push_line(
            Level::Warn,
            &format!("http: {} refused: circuit of `{name}` is open ({reason})", self.label),
        );
        match last {
            Some(tried) => {
                let note = format!("stopped after {}: the circuit of `{name}` is open", self::attempts(attempts));
                self.finish(tried, Some(note))
            }
            None => Err(error(self.function, format!("circuit open for connection `{name}` ({reason})"))),
        }
    }

    fn circuit_line(&self, name: &str, change: Option<Change>) {
        let Some(change) = change else { return };
        let cooldown = self.endpoint.and_then(|endpoint| endpoint.circuit.as_ref()).map(|circuit| circuit.cooldown());
        let cooldown = cooldown.map(approx).unwrap_or_default();
        let text = match change {
            Change::Opened { failures } => {
                format!(
                    "circuit of `{name}` opened after {failures} consecutive failures; calls fail fast for {cooldown}"
                )
            }
            Change::Trial => format!("circuit of `{name}` half-open; {} is the trial request", self.label),
            Change::Closed => format!("circuit of `{name}` closed; the trial request {} succeeded", self.label),
            Change::Reopened { .. } => {
                format!("circuit of `{name}` opened again; the trial request failed (next trial in {cooldown})")
            }
        };
        context::push_line(Level::Warn, &format!("http: {text}"));
    }
}

/// "1 attempt", "3 attempts".
fn attempts(count: u32) -> String {
    if count == 1 { "1 attempt".to_string() } else { format!("{count} attempts") }
}

/// Sends `request` and reads the whole body, refusing bodies over [`MAX_BODY`].
async fn exchange(client: Client, request: Request) -> std::result::Result<Answer, Failure> {
    let mut response = client.execute(request).await?;
    if response.content_length().is_some_and(|length| length > MAX_BODY as u64) {
        return Err(Failure::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(Failure::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer { status: response.status(), headers: response.headers().clone(), body })
}
