//! Turning an outcome into its run log record: status, trigger detail, bounded and redacted text.

use super::{Invocation, Outcome};
use crate::engine::{RunError, convert};
use crate::secrets::Secrets;
use crate::store::{RunRecord, RunRow};
use rhai::Dynamic;
use serde_json::Value;

/// Longest stored result text.
const MAX_RESULT: usize = 4_096;
/// Largest input kept whole (so the run can be retried); larger ones keep a summary.
const MAX_INPUT: usize = 256 * 1024;

/// A record as a run hands it over: its input and event already JSON text, written on the
/// run's own thread, so the writer frees a few strings rather than the run's Rhai values (freeing
/// another thread's many small allocations cost the workers more than the writing itself).
/// [`redact`] (on the run log's writer thread, off the request path) bounds them and removes
/// secrets before they are stored.
pub struct Pending {
    /// The record; its `input` and `event` are replaced by the two below.
    pub record: RunRecord,
    pub input: String,
    pub event: String,
    /// When set, written into the record's `started_at`.
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<RunRecord> for Pending {
    /// A record already in JSON form (a skipped cron occurrence).
    fn from(mut record: RunRecord) -> Self {
        if record.detail.is_empty() {
            let event = &record.event;
            record.detail = detail(&record.trigger, |name| event.get(name).and_then(Value::as_str).map(String::from));
        }
        let input = std::mem::take(&mut record.input).to_string();
        let event = std::mem::take(&mut record.event).to_string();
        Self { record, input, event, started_at: None }
    }
}

/// The run log record of `outcome`.
pub fn of(outcome: &Outcome, invocation: Invocation) -> Pending {
    let event = &invocation.event;
    let (trigger, detail) = match &invocation.event_text {
        Some(text) => (text.kind.to_string(), text.detail.clone()),
        None => {
            let trigger = event.get("kind").map_or_else(|| "manual".to_string(), convert::to_text);
            let detail = detail(&trigger, |name| event.get(name).map(convert::to_text));
            (trigger, detail)
        }
    };
    let (status, error) = match &outcome.result {
        Ok(_) => ("ok", None),
        Err(err @ RunError::Timeout { .. }) => ("timeout", Some(err.to_string())),
        Err(RunError::Cancelled) => ("interrupted", Some("interrupted".to_string())),
        Err(err) if invocation.last_attempt => ("dead", Some(err.to_string())),
        Err(err) => ("error", Some(err.to_string())),
    };
    let mut lines: Vec<Value> = outcome
        .lines
        .iter()
        .map(|line| serde_json::json!({ "level": line.level.as_str(), "text": line.text }))
        .collect();
    if outcome.dropped_lines > 0 {
        lines.push(
            serde_json::json!({ "level": "info", "text": format!("[{} more lines not kept]", outcome.dropped_lines) }),
        );
    }
    let record = RunRecord {
        id: outcome.run_id.clone(),
        script: outcome.script.clone(),
        detail,
        trigger,
        started_at: String::new(),
        duration_ms: outcome.duration.as_secs_f64() * 1000.0,
        status: status.to_string(),
        error,
        lines: Value::Array(lines),
        input: Value::Null,
        event: Value::Null,
        result: outcome.result.as_ref().ok().map(|reply| match reply.status {
            Some(status) => format!("{status} {}", reply.text),
            None => reply.text.clone(),
        }),
        attempt: invocation.attempt,
        retry_of: invocation.retry_of,
    };
    let input = json(&invocation.input);
    let event = invocation.event_text.map_or_else(|| json(&Dynamic::from_map(invocation.event)), |text| text.json);
    Pending { record, input, event, started_at: Some(outcome.started_at) }
}

/// Makes a record safe to store and writes its JSON once: secrets in its input, event and result
/// become `***`, and an input or event too large to keep whole becomes a shortened string.
pub fn redact(pending: Pending, secrets: &Secrets) -> RunRow {
    let Pending { mut record, input, event, started_at } = pending;
    if let Some(started_at) = started_at {
        record.started_at = crate::stdlib::time::rfc3339_utc(&started_at, chrono::SecondsFormat::Micros);
    }
    let input = redacted_json(input, secrets, MAX_INPUT);
    let event = redacted_json(event, secrets, MAX_INPUT);
    let lines = secrets.redacted_json(std::mem::take(&mut record.lines).to_string());
    if let Some(result) = record.result.take() {
        // Redacted before shortening, so a cut can never leave part of a secret behind.
        record.result = Some(shorten(secrets.redacted(result), MAX_RESULT));
    }
    RunRow { record, lines, input, event }
}

/// What started the run, in a few words: the route, job, file or event.
fn detail(trigger: &str, event: impl Fn(&str) -> Option<String>) -> String {
    let field = |name: &str| event(name).unwrap_or_default();
    match trigger {
        "http" => [field("method"), field("route")].join(" "),
        "cron" => field("name"),
        "watch" => field("path"),
        "event" => field("name"),
        _ => String::new(),
    }
}

/// `value` as JSON text (a value JSON cannot hold becomes the error's text).
fn json(value: &Dynamic) -> String {
    convert::json_text(&convert::Json(value)).unwrap_or_else(|err| Value::String(err.to_string()).to_string())
}

/// JSON `text` with secrets redacted; too large values become a shortened JSON string.
fn redacted_json(text: String, secrets: &Secrets, limit: usize) -> String {
    let redacted = secrets.redacted_json(text);
    if redacted.len() > limit {
        return Value::String(shorten(redacted, limit)).to_string();
    }
    redacted
}

fn shorten(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}
