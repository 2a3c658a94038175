//! Turning an outcome into its run log record: status, trigger detail, bounded and redacted text.

use super::{Body, Event, Invocation, Outcome, Reply};
use crate::engine::RunError;
use crate::engine::context::Line;
use crate::engine::convert::{self, Json};
use crate::secrets::Secrets;
use crate::store::{RecordFields, RecordText, RunRecord, StoredResult};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
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

/// The run log record of `outcome`, written as JSON text on the run's own thread, secrets
/// redacted: the writer copies it whole into its batch, so no more than that one string crosses
/// threads (freeing another thread's many small allocations cost the workers more than the
/// writing itself). Every part is redacted as it is written (the lines, error and result by
/// [`super::finish`], the input before the run, the event here or by its trigger), so nothing
/// is read back to be redacted; one too large to keep whole is shortened after that.
/// `input_json` is the input as [`input_json`] wrote it before the run, if it did.
pub fn of(
    outcome: &Outcome,
    invocation: &Invocation,
    labels: &Labels<'_>,
    secrets: &Secrets,
    input_json: Option<Box<RawValue>>,
) -> RecordText {
    let input = input_json.unwrap_or_else(|| self::input_json(&invocation.job.input, secrets));
    let written;
    let event = match &invocation.job.event {
        Event::Text { text, .. } => bounded(&text.json),
        Event::Map(event) => {
            written = json(&Json::map(event).redacted(secrets));
            bounded(&written)
        }
    };
    let text = outcome.result.as_ref().ok().map(|reply| {
        let text = match reply.status {
            Some(status) => Cow::Owned(format!("{status} {}", reply.body.json())),
            None => reply.body.json(),
        };
        if text.len() > MAX_RESULT { Cow::Owned(shorten(text.into_owned(), MAX_RESULT)) } else { text }
    });
    let result = text.as_deref().map(|text| match &outcome.result {
        // The script's value as JSON, unless a status was put before it or it was shortened.
        Ok(Reply { status: None, body: Body::Json(json), .. })
            if json.get().len() <= MAX_RESULT && json.get().starts_with(['{', '[']) =>
        {
            StoredResult::Json(json)
        }
        _ => StoredResult::Text(text),
    });
    let marker = crate::engine::context::dropped_marker(outcome.dropped_lines, outcome.dropped_bytes);
    let lines = match (&outcome.lines[..], &marker) {
        ([], None) => Cow::Borrowed(&**NO_LINES),
        (lines, marker) => Cow::Owned(json(&Lines { lines, marker: marker.as_deref() })),
    };
    let write = |started_at: &str| {
        RecordText::new(&RecordFields {
            id: &outcome.run_id,
            script: &outcome.script,
            status: labels.status,
            started_at,
            trigger: &labels.trigger,
            detail: &labels.detail,
            duration_ms: outcome.duration.as_secs_f64() * 1000.0,
            error: labels.error.as_deref(),
            attempt: invocation.attempt.number,
            retry_of: invocation.attempt.retry_of.as_deref(),
            lines: &lines,
            input: &bounded(&input),
            event: &event,
            result,
        })
    };
    write(&crate::timestamp::text(outcome.started_at))
}

/// A run's input as its record keeps it, secrets redacted.
pub fn input_json(input: &rhai::Dynamic, secrets: &Secrets) -> Box<RawValue> {
    json(&Json::new(input).redacted(secrets))
}

/// The record of a run that never ran (a skipped cron occurrence, an attempt a crash cut
/// short), given whole; secrets are redacted from its values.
pub fn given(mut record: RunRecord, secrets: &Secrets) -> RecordText {
    if record.detail.is_empty() {
        let event = &record.event;
        record.detail = detail(&record.trigger, |name| event.get(name).and_then(Value::as_str).map(String::from));
    }
    for value in [&mut record.lines, &mut record.input, &mut record.event] {
        secrets.redact_value(value);
    }
    RecordText::of(&record)
}

/// The lines of a run that printed nothing, as nearly every run: written once.
static NO_LINES: std::sync::LazyLock<Box<RawValue>> = std::sync::LazyLock::new(|| json(&[(); 0]));

/// The run's printed and logged lines as the record keeps them: `{level, text}` each, and a
/// line saying how many more were dropped.
#[derive(Clone, Copy)]
struct Lines<'a> {
    lines: &'a [Line],
    marker: Option<&'a str>,
}

impl Serialize for Lines<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Entry<'a> {
            level: &'a str,
            text: &'a str,
        }
        let kept = self.lines.iter().map(|line| Entry { level: line.level.as_str(), text: &line.text });
        let marker = self.marker.map(|text| Entry { level: "info", text });
        serializer.collect_seq(kept.chain(marker))
    }
}

/// What started the run, in a few words: the route, job, file or event.
fn detail(trigger: &str, event: impl Fn(&str) -> Option<String>) -> String {
    let field = |name: &str| event(name).unwrap_or_default();
    match trigger {
        "http" => [field("method"), field("route")].join(" "),
        "cron" => field("name"),
        "watch" => field("path"),
        "event" => field("name"),
        "mqtt" => field("topic"),
        _ => String::new(),
    }
}

/// A value as JSON text, or for one JSON cannot hold the error's text as a JSON string.
fn json(value: &impl Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).unwrap_or_else(|err| string(err.to_string()))
}

/// `text` as a JSON string.
fn string(text: String) -> Box<RawValue> {
    // A string is always JSON; an empty one stands in should that ever fail.
    serde_json::value::to_raw_value(&text).unwrap_or_default()
}

/// JSON `text` as it is, or, when too large to keep whole, shortened into a JSON string.
fn bounded(text: &RawValue) -> Cow<'_, RawValue> {
    if text.get().len() <= MAX_INPUT {
        return Cow::Borrowed(text);
    }
    Cow::Owned(string(shorten(text.get().to_string(), MAX_INPUT)))
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
    use crate::engine::context::Level;
    use serde_json::json;

    const SECRET: &str = "s3cret\"9";

    /// An outcome as the runner hands it over: its result written by `reply`, its lines redacted.
    fn outcome(result: &Value, secrets: &Secrets) -> Outcome {
        Outcome {
            run_id: "01900000-0000-7000-8000-000000000000".into(),
            script: "job".into(),
            started_at: chrono::DateTime::UNIX_EPOCH,
            duration: std::time::Duration::from_micros(1500),
            lines: vec![Line { level: Level::Print, text: secrets.redact(&format!("saw {SECRET}")) }],
            dropped_lines: 0,
            dropped_bytes: 0,
            result: super::super::reply(&convert::to_dynamic(result), secrets),
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
        let outcome = outcome(&json!({ "ok": true }), &secrets);
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
        assert!(record.json().ends_with(r#","result":{"ok":true}}"#), "{}", record.json());
        // A string result is kept as its JSON text, in a string.
        let text = written(&self::outcome(&json!("hi \"x\""), &secrets), &invocation, &secrets);
        assert_eq!(text.record()?.result.as_deref(), Some(r#""hi \"x\"""#));
        let mut quiet = self::outcome(&Value::Null, &secrets);
        quiet.lines.clear();
        assert!(written(&quiet, &invocation, &secrets).json().contains(r#","lines":[],"#));
        Ok(())
    }

    #[test]
    fn secrets_are_redacted_from_every_part_a_run_was_given_printed_or_returned() -> serde_json::Result<()> {
        let secrets = Secrets::new([SECRET.to_string(), "424242".to_string()]);
        let outcome = outcome(&json!({ "echo": SECRET }), &secrets);
        let mut invocation = Invocation::manual("job", &json!({ "token": SECRET, "pin": 14242420, SECRET: 1 }));
        if let Event::Map(event) = &mut invocation.job.event {
            event.insert("header".into(), format!("Bearer {SECRET}").into());
        }
        let record = written(&outcome, &invocation, &secrets);
        assert!(!record.json().contains("s3cret") && !record.json().contains("424242"), "{}", record.json());
        let read = record.record()?;
        assert_eq!(read.input, json!({ "token": "***", "pin": "1***0", "***": 1 }));
        assert_eq!(read.event["header"], "Bearer ***");
        assert_eq!(read.lines[0]["text"], "saw ***");
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
        let record = written(&outcome(&Value::Null, &secrets), &invocation, &secrets);
        let kept = record.record()?.input;
        let kept = kept.as_str().expect("a shortened input is a string");
        assert!(
            kept.ends_with("…") && kept.contains("***") && !kept.contains("s3cret"),
            "{}",
            &kept[kept.len() - 40..]
        );
        Ok(())
    }

    #[test]
    fn a_record_given_whole_is_redacted() -> serde_json::Result<()> {
        let secrets = Secrets::new([SECRET.to_string()]);
        let record = RunRecord {
            id: "r".into(),
            script: "job".into(),
            trigger: "queue".into(),
            detail: String::new(),
            started_at: "2025-01-01T00:00:00Z".into(),
            duration_ms: 0.0,
            status: "interrupted".into(),
            error: None,
            lines: json!([]),
            input: json!({ "token": SECRET }),
            event: json!({ "kind": "queue", "auth": format!("Bearer {SECRET}") }),
            result: None,
            attempt: 1,
            retry_of: None,
        };
        let read = given(record, &secrets).record()?;
        assert_eq!((read.input, &read.event["auth"]), (json!({ "token": "***" }), &json!("Bearer ***")));
        Ok(())
    }
}
