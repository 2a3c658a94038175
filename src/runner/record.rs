//! Turning an outcome into its run log record: status, trigger detail, bounded and redacted text.

use super::{Event, Invocation, Outcome};
use crate::engine::{RunError, convert};
use crate::secrets::Secrets;
use crate::store::{RecordFields, RecordText, RunRecord};
use serde_json::Value;
use std::borrow::Cow;

/// Longest stored result text.
const MAX_RESULT: usize = 4_096;
/// Largest input kept whole (so the run can be retried); larger ones keep a summary.
const MAX_INPUT: usize = 256 * 1024;

/// What started a run and how it ended: the parts of its record that its metrics count by too.
pub struct Labels<'a> {
    pub trigger: Cow<'a, str>,
    /// The route, job, file or event, in a few words.
    pub detail: Cow<'a, str>,
    pub status: &'static str,
    pub error: Option<String>,
}

/// The labels of `outcome`'s record.
pub fn labels<'a>(outcome: &Outcome, invocation: &'a Invocation) -> Labels<'a> {
    let (trigger, detail) = match &invocation.job.event {
        Event::Text { text, .. } => (Cow::Borrowed(text.kind), Cow::Borrowed(&*text.detail)),
        Event::Map(event) => {
            let trigger = event.get("kind").map_or_else(|| "manual".to_string(), convert::to_text);
            let detail = detail(&trigger, |name| event.get(name).map(convert::to_text));
            (Cow::Owned(trigger), Cow::Owned(detail))
        }
    };
    let (status, error) = match &outcome.result {
        Ok(_) => ("ok", None),
        Err(err @ RunError::Timeout { .. }) => ("timeout", Some(err.to_string())),
        Err(RunError::Cancelled) => ("interrupted", Some("interrupted".to_string())),
        Err(err) if invocation.attempt.last => ("dead", Some(err.to_string())),
        Err(err) => ("error", Some(err.to_string())),
    };
    Labels { trigger, detail, status, error }
}

/// The run log record of `outcome`, written as JSON text on the run's own thread: the writer
/// copies it whole into its batch (after [`crate::runlog::redact`]), so no more than that one string crosses
/// threads (freeing another thread's many small allocations cost the workers more than the
/// writing itself). An input, event or result too large to keep whole is redacted and shortened
/// here, before the cut, so a cut can never leave part of a secret behind.
/// `input_json` is the input as [`input_json`] wrote it before the run, if it did.
pub fn of(
    outcome: &Outcome,
    invocation: &Invocation,
    labels: &Labels<'_>,
    secrets: &Secrets,
    input_json: Option<String>,
) -> RecordText {
    let lines = lines(outcome);
    let input = input_json.unwrap_or_else(|| self::input_json(&invocation.job.input, secrets));
    let event = match &invocation.job.event {
        Event::Text { text, .. } => bounded(Cow::Borrowed(&text.json), secrets),
        Event::Map(event) => bounded(json(convert::map_json_text(event)), secrets),
    };
    let result = outcome.result.as_ref().ok().map(|reply| {
        let text = match reply.status {
            Some(status) => Cow::Owned(format!("{status} {}", reply.text)),
            None => Cow::Borrowed(reply.text.as_str()),
        };
        if text.len() > MAX_RESULT {
            return (Cow::Owned(shorten(secrets.redacted_in_json(text.into_owned()), MAX_RESULT)), false);
        }
        // The reply's text is the script's value as JSON, unless a status was put before it.
        (text, reply.status.is_none())
    });
    let write = |started_at: &str| {
        RecordText::new(&RecordFields {
            id: &outcome.run_id,
            script: &outcome.script,
            trigger: &labels.trigger,
            detail: &labels.detail,
            started_at,
            duration_ms: outcome.duration.as_secs_f64() * 1000.0,
            status: labels.status,
            error: labels.error.as_deref(),
            attempt: invocation.attempt.number,
            retry_of: invocation.attempt.retry_of.as_deref(),
            lines: &lines,
            input: &input,
            event: &event,
            result: result.as_ref().map(|(text, _)| text.as_ref()),
            result_is_json: result.as_ref().is_some_and(|(_, json)| *json),
        })
    };
    crate::engine::time::with_rfc3339_utc(&outcome.started_at, chrono::SecondsFormat::Micros, write)
}

/// A run's input as its record keeps it.
pub fn input_json(input: &rhai::Dynamic, secrets: &Secrets) -> String {
    bounded(json(convert::json_text(input)), secrets).into_owned()
}

/// The record of a run that never ran (a skipped cron occurrence), given whole.
pub fn given(mut record: RunRecord) -> RecordText {
    if record.detail.is_empty() {
        let event = &record.event;
        record.detail = detail(&record.trigger, |name| event.get(name).and_then(Value::as_str).map(String::from));
    }
    RecordText::of(&record)
}

/// The run's printed and logged lines as a JSON array of `{level, text}`.
fn lines(outcome: &Outcome) -> Cow<'static, str> {
    if outcome.lines.is_empty() && outcome.dropped_lines == 0 {
        return Cow::Borrowed("[]");
    }
    let mut lines: Vec<Value> = outcome
        .lines
        .iter()
        .map(|line| serde_json::json!({ "level": line.level.as_str(), "text": line.text }))
        .collect();
    if let Some(marker) = crate::engine::context::dropped_marker(outcome.dropped_lines, outcome.dropped_bytes) {
        lines.push(serde_json::json!({ "level": "info", "text": marker }));
    }
    Cow::Owned(Value::Array(lines).to_string())
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

/// JSON text, or for a value JSON cannot hold the error's text as a JSON string.
fn json(text: Result<String, String>) -> Cow<'static, str> {
    Cow::Owned(text.unwrap_or_else(|err| Value::String(err).to_string()))
}

/// JSON `text` as it is, or, when too large to keep whole, redacted and shortened into a JSON
/// string.
fn bounded<'a>(text: Cow<'a, str>, secrets: &Secrets) -> Cow<'a, str> {
    if text.len() <= MAX_INPUT {
        return text;
    }
    let redacted = secrets.redacted_json(text.into_owned());
    if redacted.len() <= MAX_INPUT {
        return Cow::Owned(redacted);
    }
    Cow::Owned(Value::String(shorten(redacted, MAX_INPUT)).to_string())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::context::{Level, Line};
    use crate::runlog::redact;
    use crate::runner::Reply;
    use serde_json::json;

    const SECRET: &str = "s3cret\"9";

    fn outcome(result: &str) -> Outcome {
        Outcome {
            run_id: "01900000-0000-7000-8000-000000000000".into(),
            script: "job".into(),
            started_at: chrono::DateTime::UNIX_EPOCH,
            duration: std::time::Duration::from_micros(1500),
            lines: vec![Line { level: Level::Print, text: format!("saw {SECRET}") }],
            dropped_lines: 0,
            dropped_bytes: 0,
            result: Ok(Reply { status: None, headers: Vec::new(), text: result.to_string() }),
            emitted: 0,
            held: None,
        }
    }

    fn written(outcome: &Outcome, invocation: &Invocation, secrets: &Secrets) -> RecordText {
        of(outcome, invocation, &labels(outcome, invocation), secrets, None)
    }

    #[test]
    fn a_record_is_written_as_it_reads_back() -> serde_json::Result<()> {
        let secrets = Secrets::default();
        let outcome = outcome(r#"{"ok":true}"#);
        let invocation = Invocation::manual("job", &json!({ "name": "Ada", "n": [1, 2.5] }));
        let record = written(&outcome, &invocation, &secrets);
        let read = record.record()?;
        assert_eq!(
            (read.trigger.as_str(), read.status.as_str(), read.started_at.as_str(), read.duration_ms),
            ("manual", "ok", "1970-01-01T00:00:00.000000Z", 1.5)
        );
        assert_eq!(read.input, json!({ "name": "Ada", "n": [1, 2.5] }));
        assert_eq!(read.event, json!({ "kind": "manual" }));
        assert_eq!(read.lines, json!([{ "level": "print", "text": format!("saw {SECRET}") }]));
        assert_eq!(read.result.as_deref(), Some(r#"{"ok":true}"#));
        // Without secrets to look for, the record is stored as written.
        let json = record.json().to_string();
        assert_eq!(redact(record, &secrets).map(|r| r.json().to_string()), Some(json));
        Ok(())
    }

    #[test]
    fn secrets_are_redacted_from_every_part_a_run_was_given_printed_or_returned() -> serde_json::Result<()> {
        let secrets = Secrets::new([SECRET.to_string(), "424242".to_string()]);
        let outcome = outcome(&json!({ "echo": SECRET }).to_string());
        let mut invocation = Invocation::manual("job", &json!({ "token": SECRET, "pin": 14242420, SECRET: 1 }));
        if let Event::Map(event) = &mut invocation.job.event {
            event.insert("header".into(), format!("Bearer {SECRET}").into());
        }
        let record = redact(written(&outcome, &invocation, &secrets), &secrets).expect("a record");
        assert!(!secrets.found_in_json(record.json()), "{}", record.json());
        let read = record.record()?;
        assert_eq!(read.input, json!({ "token": "***", "pin": "1***0", "***": 1 }));
        assert_eq!(read.event["header"], "Bearer ***");
        assert_eq!(read.lines[0]["text"], "saw ***");
        // The result is JSON text, so the secret is in it as a JSON string writes it.
        assert_eq!(read.result.as_deref(), Some(r#"{"echo":"***"}"#));
        assert_eq!((read.id, read.started_at), (outcome.run_id, "1970-01-01T00:00:00.000000Z".to_string()));
        Ok(())
    }

    #[test]
    fn an_input_too_large_to_keep_is_redacted_before_it_is_cut() -> serde_json::Result<()> {
        let secrets = Secrets::new([SECRET.to_string()]);
        // The secret straddles the cut, so shortening first would keep part of it.
        let filler = "x".repeat(MAX_INPUT - 12);
        let invocation = Invocation::manual("job", &json!({ "text": format!("{filler}{SECRET}{filler}") }));
        let record = redact(written(&outcome("null"), &invocation, &secrets), &secrets).expect("a record");
        let kept = record.record()?.input;
        let kept = kept.as_str().expect("a shortened input is a string");
        assert!(
            kept.ends_with("…") && kept.contains("***") && !kept.contains("s3cret"),
            "{}",
            &kept[kept.len() - 40..]
        );
        Ok(())
    }
}
