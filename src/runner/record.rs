//! Turning an outcome into its run log record: status, trigger detail, bounded and redacted text.

use super::{Invocation, Outcome};
use crate::engine::RunError;
use crate::secrets::Secrets;
use crate::store::RunRecord;
use serde_json::Value;

/// Longest stored result text.
const MAX_RESULT: usize = 4_096;
/// Largest input kept whole (so the run can be retried); larger ones keep a summary.
const MAX_INPUT: usize = 256 * 1024;

/// The run log record of `outcome`.
/// The input and event are moved in as they are; [`redact`] (on the run log's writer thread, off
/// the request path) bounds them and removes secrets before they are stored.
pub fn of(outcome: &Outcome, invocation: Invocation) -> RunRecord {
    let trigger = invocation.event.get("kind").and_then(Value::as_str).unwrap_or("manual").to_string();
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
    RunRecord {
        id: outcome.run_id.clone(),
        script: outcome.script.clone(),
        detail: detail(&trigger, &invocation.event),
        trigger,
        started_at: outcome.started_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        duration_ms: outcome.duration.as_secs_f64() * 1000.0,
        status: status.to_string(),
        error,
        lines: Value::Array(lines),
        input: invocation.input,
        event: Value::Object(invocation.event),
        result: outcome.result.as_ref().ok().map(|reply| {
            let text = reply.body.to_string();
            match reply.status {
                Some(status) => format!("{status} {text}"),
                None => text,
            }
        }),
        attempt: invocation.attempt,
        retry_of: invocation.retry_of,
    }
}

/// Makes a record safe to store: secrets in its input, event and result become `***`, and an input
/// or event too large to keep whole becomes a shortened string.
pub fn redact(record: &mut RunRecord, secrets: &Secrets) {
    record.input = redacted_json(&record.input, secrets, MAX_INPUT);
    record.event = redacted_json(&record.event, secrets, MAX_INPUT);
    if let Some(result) = record.result.take() {
        // Redacted before shortening, so a cut can never leave part of a secret behind.
        record.result = Some(shorten(secrets.redact(&result), MAX_RESULT));
    }
}

/// What started the run, in a few words: the route, job, file or event.
fn detail(trigger: &str, event: &serde_json::Map<String, Value>) -> String {
    let field = |name: &str| event.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
    match trigger {
        "http" => format!("{} {}", field("method"), field("route")),
        "cron" => field("name"),
        "watch" => field("path"),
        "event" => field("name"),
        _ => String::new(),
    }
}

/// `value` as JSON with secrets redacted; too large values become a shortened string.
fn redacted_json(value: &Value, secrets: &Secrets, limit: usize) -> Value {
    let text = value.to_string();
    let redacted = secrets.redact(&text);
    if redacted.len() > limit {
        return Value::String(shorten(redacted, limit));
    }
    if redacted == text { value.clone() } else { serde_json::from_str(&redacted).unwrap_or(Value::String(redacted)) }
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
