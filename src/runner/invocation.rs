//! What one run is: what to run ([`Job`]: script, input, event), how ([`Options`]: limits, run
//! id, cancel flag, echo, how the record is kept) and which attempt ([`Attempt`]). Each trigger
//! has its constructor here, which builds the run's event once, in the form the run reads.

use super::{Outcome, new_id};
use crate::config::{Cron, Mqtt, Route, Subscription, watch_spec};
use crate::engine::convert;
use crate::store::{QueueItem, RunRecord, StoredEvent};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rhai::{Dynamic, Map};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// One run to make.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub job: Job,
    pub how: Options,
    pub attempt: Attempt,
}

/// What to run. Input and event are held as Rhai values, so a trigger that builds them
/// directly (HTTP) converts nothing for the script; the run log record writes the input as JSON
/// before the run (the script then takes the map itself) and the event after it.
#[derive(Clone, Debug)]
pub struct Job {
    /// The script's name in the hub.
    pub script: String,
    /// The `input`: a map (or `()`, an empty one); anything else fails the run.
    pub input: Dynamic,
    pub event: Event,
}

/// The `event` of a run, as its trigger built it.
#[derive(Clone, Debug)]
pub enum Event {
    /// A map, as the script sees it; its `kind` says what started the run. The record writes
    /// it as JSON after the run.
    Map(Map),
    /// Written as JSON text straight from an HTTP request, the form the record keeps, with the
    /// map only for a script that reads `event` (the run takes it; a script that never names
    /// `event` gets none).
    Text { text: EventText, map: Option<Map> },
}

/// An event as JSON text, with what the run log record reads from it.
#[derive(Clone, Debug)]
pub struct EventText {
    /// What started the run (`event.kind`).
    pub kind: &'static str,
    /// The record's summary of the event, such as `GET /hello` (shared with the route).
    pub detail: Arc<str>,
    /// The whole event as JSON, secrets redacted.
    pub json: Box<serde_json::value::RawValue>,
}

/// How to run it.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Overrides `[limits] timeout`.
    pub timeout: Option<Duration>,
    /// Overrides `[limits] max_operations`.
    pub max_operations: Option<u64>,
    /// Use this run id (the HTTP trigger announces it before the run starts).
    pub run_id: Option<String>,
    /// Set to stop the run from another thread.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Copy printed and logged lines to stderr as they happen.
    pub echo: bool,
    /// Running on an async worker: move off it once the run turns out to be long.
    pub hand_off: bool,
    /// Where the run's record goes.
    pub record: Record,
}

/// Where a run's record and events go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Record {
    /// To the run log writer (and the events to the store) as the run ends.
    #[default]
    Store,
    /// Back to the caller in [`Outcome::held`]: the durable queue commits them together with
    /// the item's new state.
    Hold,
    /// Nowhere: the benchmarks measure a run without its record.
    Skip,
}

/// Which attempt of a piece of work a run is.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// 1 for the first.
    pub number: u32,
    /// The run id of the work's first attempt, for every later one.
    pub retry_of: Option<String>,
    /// No attempt follows if this one fails: a failure is recorded as `dead`.
    pub last: bool,
}

impl Attempt {
    /// The first attempt, which may be followed by others.
    pub fn first() -> Self {
        Self { number: 1, retry_of: None, last: false }
    }
}

impl Invocation {
    /// A run of `script` with `input` and `event` already built.
    pub fn new(script: impl Into<String>, input: Dynamic, event: Event) -> Self {
        Self { job: Job { script: script.into(), input, event }, how: Options::default(), attempt: Attempt::first() }
    }

    /// A request to an HTTP route, whose id the caller was already given.
    pub fn http(route: &Route, input: Dynamic, event: Event, run_id: &str) -> Self {
        let mut invocation = Self::new(route.script.clone(), input, event);
        invocation.how.timeout = route.timeout.map(|t| t.0);
        invocation.how.max_operations = route.max_operations;
        invocation.how.run_id = Some(run_id.to_string());
        invocation.how.hand_off = true;
        invocation
    }

    /// The next attempt of a queued item: the first keeps the item's id (the run id its caller
    /// was given); the record is held for the queue to commit with the item's new state.
    pub fn queued(item: &QueueItem) -> Self {
        let mut invocation =
            Self::new(item.script.clone(), convert::to_dynamic(&item.input), Event::stored(&item.event));
        let retry = item.attempts > 1;
        invocation.how.run_id = Some(if retry { new_id() } else { item.id.clone() });
        invocation.how.timeout = item.timeout_ms.map(Duration::from_millis);
        invocation.how.max_operations = item.max_operations;
        invocation.how.record = Record::Hold;
        invocation.attempt = Attempt {
            number: item.attempts,
            retry_of: retry.then(|| item.id.clone()),
            last: item.attempts >= item.max_attempts,
        };
        invocation
    }

    /// An occurrence of a cron job, scheduled for `scheduled` (times written in `zone`): missed
    /// while the hub was down (`catch_up`), or fired by hand now (`manual`).
    pub fn cron(job: &Cron, zone: Tz, scheduled: DateTime<Utc>, catch_up: bool, manual: bool) -> Self {
        let mut event = kind("cron");
        event.insert("name".into(), job.name.as_str().into());
        event.insert("schedule".into(), job.schedule.as_str().into());
        event.insert("scheduled_at".into(), scheduled.with_timezone(&zone).to_rfc3339().into());
        event.insert("fired_at".into(), Utc::now().with_timezone(&zone).to_rfc3339().into());
        event.insert("catch_up".into(), catch_up.into());
        event.insert("manual".into(), manual.into());
        let input = serde_json::to_value(&job.input.0).unwrap_or(Value::Null);
        let mut invocation = Self::new(job.script.clone(), convert::to_dynamic(&input), Event::Map(event));
        invocation.how.timeout = job.timeout.map(|t| t.0);
        invocation.how.max_operations = job.max_operations;
        invocation
    }

    /// A file of a watched folder: `change` (`created`, ...) of the file `name`, shown as `shown`.
    pub fn watch(spec: &watch_spec::Spec, change: &str, shown: &str, name: &str) -> Self {
        let mut input = Map::new();
        input.insert("path".into(), shown.into());
        input.insert("name".into(), name.into());
        input.insert("change".into(), change.into());
        let mut event = kind("watch");
        event.insert("path".into(), shown.into());
        event.insert("change".into(), change.into());
        event.insert("watch".into(), spec.label.as_str().into());
        let mut invocation = Self::new(spec.script.clone(), Dynamic::from_map(input), Event::Map(event));
        invocation.how.timeout = spec.timeout;
        invocation.how.max_operations = spec.max_operations;
        invocation
    }

    /// The delivery of a stored event to one of its `[[on]]` subscribers: an object's fields
    /// are the input, any other value is `input.data`.
    pub fn subscriber(subscription: &Subscription, stored: &StoredEvent) -> Self {
        let input = match &stored.data {
            Value::Object(fields) => convert::object_to_map(fields),
            Value::Null => Map::new(),
            other => {
                let mut input = Map::new();
                input.insert("data".into(), convert::to_dynamic(other));
                input
            }
        };
        let mut event = kind("event");
        event.insert("name".into(), stored.name.as_str().into());
        event.insert("event_id".into(), stored.id.into());
        event.insert("emitted_by".into(), stored.source_run.as_str().into());
        let mut invocation = Self::new(subscription.script.clone(), Dynamic::from_map(input), Event::Map(event));
        invocation.how.timeout = subscription.timeout.map(|t| t.0);
        invocation
    }

    /// A message on `topic` of MQTT connection `connection` for `[[mqtt]]` entry `entry`: a
    /// JSON object payload is the input; any other JSON value, or text, is `input.payload`; a
    /// payload that is not UTF-8 is `input.payload_base64`.
    pub fn mqtt(entry: &Mqtt, message: &MqttMessage<'_>) -> Self {
        let mut event = kind("mqtt");
        event.insert("topic".into(), message.topic.into());
        event.insert("qos".into(), i64::from(message.qos).into());
        event.insert("retain".into(), message.retain.into());
        event.insert("connection".into(), entry.connection.as_str().into());
        let mut invocation = Self::new(entry.script.clone(), mqtt_input(message.payload), Event::Map(event));
        invocation.how.timeout = entry.timeout.map(|t| t.0);
        invocation.how.max_operations = entry.max_operations;
        invocation
    }

    /// The `on_error` script of work whose last attempt failed: `input` says what failed.
    pub fn on_error(script: impl Into<String>, input: &Value, failed: &Outcome) -> Self {
        let mut event = kind("error");
        event.insert("failed_run".into(), failed.run_id.as_str().into());
        event.insert("failed_script".into(), failed.script.as_str().into());
        Self::new(script, convert::to_dynamic(input), Event::Map(event))
    }

    /// A run started by hand (`switchboard run`), its lines echoed as they happen.
    pub fn manual(script: impl Into<String>, input: &Value) -> Self {
        let mut invocation = Self::new(script, convert::to_dynamic(input), Event::Map(kind("manual")));
        invocation.how.echo = true;
        invocation
    }

    /// A run from the REPL (`:run`), echoed, stopped when `cancel` is set.
    pub fn repl(script: impl Into<String>, input: &Value, cancel: Arc<AtomicBool>) -> Self {
        let mut invocation = Self::manual(script, input);
        invocation.how.cancel = Some(cancel);
        invocation
    }

    /// A new attempt of a recorded run (`switchboard runs retry`), with its input and event.
    pub fn retry(original: &RunRecord) -> Self {
        let mut event = stored_event(&original.event).unwrap_or_else(|| kind("manual"));
        event.remove("run_id");
        event.insert("retry_of".into(), original.id.as_str().into());
        let mut invocation = Self::manual(original.script.clone(), &original.input);
        invocation.job.event = Event::Map(event);
        invocation.attempt = Attempt {
            number: original.attempt + 1,
            retry_of: Some(original.retry_of.clone().unwrap_or_else(|| original.id.clone())),
            last: false,
        };
        invocation
    }

    /// The input as JSON.
    pub fn input_json(&self) -> Value {
        convert::to_json(&self.job.input).unwrap_or(Value::Null)
    }

    /// The event as JSON.
    pub fn event_json(&self) -> Value {
        match &self.job.event {
            Event::Text { text, .. } => crate::json::read(text.json.get()).unwrap_or(Value::Null),
            Event::Map(map) => convert::map_to_json(map).map(Value::Object).unwrap_or(Value::Null),
        }
    }
}

/// An MQTT message as the broker delivered it.
pub struct MqttMessage<'a> {
    pub topic: &'a str,
    pub qos: u8,
    pub retain: bool,
    pub payload: &'a [u8],
}

/// The input of a run for an MQTT message's `payload`.
fn mqtt_input(payload: &[u8]) -> Dynamic {
    let payload = match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(fields)) => return Dynamic::from_map(convert::object_to_map(&fields)),
        Ok(value) => ("payload", convert::to_dynamic(&value)),
        Err(_) => match std::str::from_utf8(payload) {
            Ok(text) => ("payload", text.into()),
            Err(_) => {
                use base64::prelude::{BASE64_STANDARD, Engine as _};
                ("payload_base64", BASE64_STANDARD.encode(payload).into())
            }
        },
    };
    let mut input = Map::new();
    input.insert(payload.0.into(), payload.1);
    Dynamic::from_map(input)
}

impl Event {
    /// An event kept as JSON (a queued item's): an object as it was, anything else a manual run's.
    pub fn stored(event: &Value) -> Self {
        Self::Map(stored_event(event).unwrap_or_else(|| kind("manual")))
    }
}

/// A map with only `kind`.
fn kind(kind: &str) -> Map {
    let mut map = Map::new();
    map.insert("kind".into(), kind.into());
    map
}

/// An event kept as JSON (a queued item's, a recorded run's), when it is an object.
fn stored_event(event: &Value) -> Option<Map> {
    event.as_object().map(convert::object_to_map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_mqtt_payload_becomes_the_input() {
        let json = |payload: &[u8]| convert::to_json(&mqtt_input(payload)).expect("json");
        assert_eq!(json(br#"{"celsius": 21.5}"#), serde_json::json!({ "celsius": 21.5 }));
        assert_eq!(json(b"21.5"), serde_json::json!({ "payload": 21.5 }));
        assert_eq!(json(b"[1,2]"), serde_json::json!({ "payload": [1, 2] }));
        assert_eq!(json(b"on"), serde_json::json!({ "payload": "on" }));
        assert_eq!(json(b""), serde_json::json!({ "payload": "" }));
        assert_eq!(json(&[0xff, 0x00]), serde_json::json!({ "payload_base64": "/wA=" }));
    }
}
