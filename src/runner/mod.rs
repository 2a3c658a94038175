//! The runner: one invocation of one script, with a deadline, an operation limit and a run id,
//! ending in exactly one [`Outcome`] and one run log record.

mod invocation;
mod log;
pub(crate) mod record;

pub use invocation::{Attempt, Event, EventText, Invocation, Job, MqttMessage, Options, Record};
pub use log::log_outcome;

use crate::engine::context::{self, Line, RunState};
use crate::engine::convert;
use crate::engine::response::Response;
use crate::engine::{RunError, explain_unit, run_error};
use crate::hub::Snapshot;
use chrono::{DateTime, Utc};
use rhai::{AST, Dynamic, Map, Scope};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Operations after which a run on an async worker moves off it. A trivial script never gets
/// here (so it pays no thread hop); a long loop gets here within milliseconds.
const HAND_OFF_AFTER: u64 = 100_000;

/// A successful result, ready for any trigger to present.
#[derive(Clone, Debug)]
pub struct Reply {
    /// Set by `response(status, ...)`.
    pub status: Option<u16>,
    /// Set by `response(status, body, headers)`.
    pub headers: Vec<(String, String)>,
    /// The script's value (or `response`'s body), secrets redacted: written once, straight from
    /// the Rhai value, for both the run log and an HTTP response.
    pub body: Body,
}

/// A script's value as a result.
#[derive(Clone, Debug)]
pub enum Body {
    /// A value JSON writes as a string (a string, a character, a time), as it is: an HTTP
    /// response sends it as text.
    Text(String),
    /// Any other value as JSON text (`()` is `null`).
    Json(Box<serde_json::value::RawValue>),
}

impl Body {
    /// The value as JSON text.
    pub fn json(&self) -> std::borrow::Cow<'_, str> {
        match self {
            // A string is always JSON.
            Body::Text(text) => serde_json::to_string(text).unwrap_or_default().into(),
            Body::Json(json) => json.get().into(),
        }
    }
}

impl Reply {
    /// The result as one JSON value, for `run` and the REPL to print indented: the body, or
    /// `{status, headers, body}` when the script chose its status with `response(...)`.
    pub fn into_json(self) -> Value {
        let body = match self.body {
            Body::Text(text) => Value::String(text),
            Body::Json(json) => crate::json::read(json.get()).unwrap_or(Value::Null),
        };
        match self.status {
            Some(status) => {
                let headers: serde_json::Map<String, Value> =
                    self.headers.into_iter().map(|(name, value)| (name, Value::String(value))).collect();
                serde_json::json!({ "status": status, "headers": headers, "body": body })
            }
            None => body,
        }
    }
}

/// How one run ended.
#[derive(Debug)]
pub struct Outcome {
    /// Sortable unique id (UUIDv7).
    pub run_id: String,
    pub script: String,
    pub started_at: DateTime<Utc>,
    pub duration: Duration,
    /// Printed and logged lines, secrets redacted.
    pub lines: Vec<Line>,
    /// Lines beyond the per-run caps that were counted but not kept, and their bytes.
    pub dropped_lines: usize,
    pub dropped_bytes: usize,
    /// The result, or why there is none (secrets redacted from both).
    pub result: Result<Reply, RunError>,
    /// How many events the run announced (stored, or held, before the outcome is returned): none
    /// for a run that failed, whose events are dropped.
    pub emitted: usize,
    /// For an invocation with [`Record::Hold`]: the record and events, not yet stored.
    pub held: Option<Held>,
}

/// What a run that was asked to `hold` leaves for its caller to store in one transaction.
#[derive(Debug)]
pub struct Held {
    pub record: crate::store::RecordText,
    /// The events of a run that succeeded, in the order emitted.
    pub events: Vec<(String, Value)>,
}

thread_local! {
    /// The scope runs on this thread evaluate in, emptied after each: it keeps its vectors'
    /// capacity, so a run does not allocate them anew.
    static SCOPE: std::cell::Cell<Option<Scope<'static>>> = const { std::cell::Cell::new(None) };
}

/// Runs the script named in `invocation` from `snapshot`.
pub fn run(snapshot: &Snapshot, mut invocation: Invocation) -> Outcome {
    let script = &invocation.job.script;
    match snapshot.scripts.get(script) {
        Some(ast) => {
            let with_event = !snapshot.event_unused.contains(script);
            evaluate(snapshot, ast, invocation, with_event)
        }
        None => {
            let error =
                snapshot.problem(script).cloned().unwrap_or_else(|| RunError::NotFound { script: script.clone() });
            let run_id = invocation.how.run_id.take().unwrap_or_else(new_id);
            finish(snapshot, invocation, run_id, Ended::at_once(Utc::now(), Instant::now()), Err(error))
        }
    }
}

/// Runs an already compiled script.
pub fn run_ast(snapshot: &Snapshot, ast: &AST, invocation: Invocation) -> Outcome {
    evaluate(snapshot, ast, invocation, true)
}

/// Runs `ast`; without `with_event` (a script that never names it) `event` is left out of scope.
fn evaluate(snapshot: &Snapshot, ast: &AST, mut invocation: Invocation, with_event: bool) -> Outcome {
    let run_id = invocation.how.run_id.take().unwrap_or_else(new_id);
    let started_at = Utc::now();
    let clock = Instant::now();
    let limits = &snapshot.manifest.limits;
    let timeout = invocation.how.timeout.unwrap_or(limits.timeout.0);
    let max_operations = invocation.how.max_operations.unwrap_or(limits.max_operations);

    if !invocation.job.input.is_unit() && !invocation.job.input.is_map() {
        let error = RunError::Invalid {
            message: format!("input must be a JSON object, not {}", kind_of(&invocation.input_json())),
        };
        return finish(snapshot, invocation, run_id, Ended::at_once(started_at, clock), Err(error));
    }
    // The record's input is written before the run, so the script can have the map itself
    // rather than a copy of it, whatever it does to it.
    let recorded = invocation.how.record != Record::Skip;
    let input_json = recorded.then(|| record::input_json(&invocation.job.input, &snapshot.capabilities.secrets));
    let input = match std::mem::take(&mut invocation.job.input) {
        input if input.is_unit() => Dynamic::from_map(Map::new()),
        input => input,
    };

    let mut state = RunState::new(timeout, max_operations);
    state.echo = invocation.how.echo;
    state.output = context::OutputLimits::of(limits);
    state.secrets = snapshot.capabilities.secrets.clone();
    if invocation.how.hand_off {
        state.hand_off_after = Some(HAND_OFF_AFTER);
    }
    state.cancel.clone_from(&invocation.how.cancel);
    state.scripts = Some(Arc::clone(&snapshot.scripts));
    let active = context::enter(state);
    // A nested run (`actions::run`) finds the slot empty and makes its own.
    let mut scope = SCOPE.take().unwrap_or_default();
    // `push_dynamic`: rhai's `Scope::push` of a map rebuilds it entry by entry.
    scope.push_dynamic("input", input);
    if with_event {
        // The record writes a map event after the run, so the script gets a copy; an HTTP
        // event's map serves the script alone.
        let mut event = match &mut invocation.job.event {
            Event::Map(map) => map.clone(),
            Event::Text { map, .. } => map.take().unwrap_or_default(),
        };
        event.insert("run_id".into(), run_id.as_str().into());
        scope.push_dynamic("event", Dynamic::from_map(event));
    }
    let evaluated = snapshot.engine.eval_ast_with_scope::<Dynamic>(&mut scope, ast);
    let state = active.finish();
    scope.clear();
    SCOPE.set(Some(scope));

    let source = ast.source().unwrap_or(&invocation.job.script);
    let secrets = &snapshot.capabilities.secrets;
    let result = evaluated
        .map_err(|err| explain_unit(run_error(source, err, timeout, max_operations), &snapshot.dir))
        .and_then(|value| reply(&value, secrets));
    let ended = Ended { started_at, clock, state, input_json };
    finish(snapshot, invocation, run_id, ended, result)
}

/// What is known of a run once it is over, beside its result.
struct Ended {
    started_at: DateTime<Utc>,
    clock: Instant,
    /// The run's state, if it got as far as running.
    state: Option<RunState>,
    /// The record's input, when written before the run.
    input_json: Option<Box<serde_json::value::RawValue>>,
}

impl Ended {
    /// A run that never started.
    fn at_once(started_at: DateTime<Utc>, clock: Instant) -> Self {
        Self { started_at, clock, state: None, input_json: None }
    }
}

fn finish(
    snapshot: &Snapshot,
    mut invocation: Invocation,
    run_id: String,
    ended: Ended,
    result: Result<Reply, RunError>,
) -> Outcome {
    let Ended { started_at, clock, state, input_json } = ended;
    let secrets = &snapshot.capabilities.secrets;
    let (mut lines, dropped_lines, dropped_bytes, mut events) =
        state.map(|s| (s.lines, s.dropped_lines, s.dropped_bytes, s.emitted)).unwrap_or_default();
    let mut result = result;
    // Events are part of a run's outcome: a run that failed announces nothing (a retry announces
    // them once, if it succeeds), and its record says what was dropped.
    if result.is_err() && !events.is_empty() {
        let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
        let text = format!("events not announced, since the run failed: {}", names.join(", "));
        lines.push(Line { level: context::Level::Warn, text });
        events.clear();
    }
    let hold = invocation.how.record == Record::Hold;
    let held_events = if hold { std::mem::take(&mut events) } else { Vec::new() };
    if !events.is_empty() {
        let stored = snapshot
            .capabilities
            .store
            .get()
            .and_then(|store| crate::engine::blocking(|| store.events_enqueue(&run_id, &events)));
        if let Err(err) = stored {
            result = Err(RunError::Invalid {
                message: format!("the run's {} events could not be stored: {err}", events.len()),
            });
        }
    }
    for line in &mut lines {
        line.text = secrets.redact(&line.text);
    }
    let max_line = context::OutputLimits::of(&snapshot.manifest.limits).max_line;
    let result = result
        .map(|reply| redact_reply(reply, secrets))
        .map_err(|err| bounded_error(redact_error(err, secrets), max_line));
    let mut outcome = Outcome {
        run_id,
        // The record reads the script's name from the outcome, so the invocation gives it up.
        script: std::mem::take(&mut invocation.job.script),
        started_at,
        duration: clock.elapsed(),
        lines,
        dropped_lines,
        dropped_bytes,
        result,
        emitted: events.len() + held_events.len(),
        held: None,
    };
    if invocation.how.record != Record::Skip {
        let host = &snapshot.capabilities.host;
        let labels = record::labels(&outcome, &invocation);
        host.metrics.run(&outcome.script, &labels.trigger, labels.status, outcome.duration.as_secs_f64());
        let written = record::of(&outcome, &invocation, &labels, secrets, input_json);
        if invocation.how.record == Record::Hold {
            outcome.held = Some(Held { record: written, events: held_events });
        } else {
            host.runlog.record(written);
        }
    }
    outcome
}

/// The result as every caller gets it (an HTTP response, `run`'s stdout, the REPL, the run log),
/// secrets redacted: its body was as it was written, its headers are here.
fn redact_reply(mut reply: Reply, secrets: &crate::secrets::Secrets) -> Reply {
    for (_, value) in &mut reply.headers {
        *value = secrets.redacted(std::mem::take(value));
    }
    reply
}

fn redact_error(error: RunError, secrets: &crate::secrets::Secrets) -> RunError {
    match error {
        RunError::Script { message, location } => RunError::Script { message: secrets.redact(&message), location },
        RunError::Failed { status, message } => RunError::Failed { status, message: secrets.redact(&message) },
        RunError::Invalid { message } => RunError::Invalid { message: secrets.redact(&message) },
        other => other,
    }
}

/// An error whose message is cut like a printed line, after redaction (so a cut cannot keep part
/// of a secret): a script may throw a string of `max_string` bytes.
fn bounded_error(error: RunError, max_line: usize) -> RunError {
    let cut = |message: String| match context::truncate(&message, max_line) {
        std::borrow::Cow::Borrowed(_) => message,
        std::borrow::Cow::Owned(cut) => cut,
    };
    match error {
        RunError::Script { message, location } => RunError::Script { message: cut(message), location },
        RunError::Failed { status, message } => RunError::Failed { status, message: cut(message) },
        RunError::Invalid { message } => RunError::Invalid { message: cut(message) },
        other => other,
    }
}

/// The script's value as its result, secrets redacted from the body as it is written.
fn reply(value: &Dynamic, secrets: &crate::secrets::Secrets) -> Result<Reply, RunError> {
    let body = |value: &Dynamic| match convert::as_text(value) {
        Some(text) => Ok(Body::Text(secrets.redacted(text))),
        None => serde_json::value::to_raw_value(&convert::Json::new(value).redacted(secrets))
            .map(Body::Json)
            .map_err(|err| RunError::Invalid { message: format!("the script's result {err}") }),
    };
    if let Some(response) = value.read_lock::<Response>() {
        let body = body(&response.body)?;
        let headers =
            response.headers.iter().map(|(name, value)| (name.to_string(), convert::to_text(value))).collect();
        let status = u16::try_from(response.status).ok();
        return Ok(Reply { status, headers, body });
    }
    Ok(Reply { status: None, headers: Vec::new(), body: body(value)? })
}

/// A new run id: a UUIDv7, so ids made by one process sort in the order they were made.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deeply_nested_result_is_shown_whole() {
        let text = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let json = serde_json::value::RawValue::from_string(text.clone()).expect("JSON");
        let reply = Reply { status: None, headers: Vec::new(), body: Body::Json(json) };
        assert_eq!(reply.into_json().to_string(), text);
    }

    #[test]
    fn run_ids_sort_in_the_order_they_were_made() {
        let ids: Vec<String> = (0..2_000).map(|_| new_id()).collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(
            ids.iter().all(|id| id.len() == 36 && uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 7))
        );
    }
}
