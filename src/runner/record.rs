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
pub fn of(outcome: &Outcome, invocation: &Invocation, secrets: &Secrets) -> RunRecord {
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
        input: redacted_json(&invocation.input, secrets, MAX_INPUT),
        event: redacted_json(&Value::Object(invocation.event.clone()), secrets, MAX_INPUT),
        result: outcome.result.as_ref().ok().map(|reply| {
            let mut text = secrets.redact(&reply.body.to_string());
            if let Some(status) = reply.status {
                text = format!("{status} {text}");
            }
            shorten(text, MAX_RESULT)
        }),
        attempt: invocation.attempt,
        retry_of: invocation.retry_of.clone(),
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
