//! `mqtt`: publishing to the brokers of the manifest's `type = "mqtt"` connections (rumqttc,
//! rustls for `mqtts://`). The `[[mqtt]]` trigger subscribes through the same [`Broker`]s.

mod broker;
mod publisher;

pub use broker::{Broker, TlsError};

use super::{Capabilities, Result, def_with, error};
use crate::config::{Connection, Manifest, Qos};
use crate::engine::{context, convert, wait_cancellable};
use parking_lot::Mutex;
use publisher::Publisher;
use rhai::{Dynamic, Engine, Map, Module};
use rumqttc::QoS;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How long a publish waits for the broker when no run's deadline bounds it (the REPL outside
/// a run, for one).
const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// The MQTT brokers of one snapshot, each with the client its publishes share.
pub struct MqttCapability {
    brokers: BTreeMap<String, Arc<Connected>>,
}

/// A broker and the publishing client of this snapshot, connected on first use.
struct Connected {
    broker: Broker,
    publisher: Mutex<Option<Arc<Publisher>>>,
}

impl MqttCapability {
    /// Reads the `type = "mqtt"` connections; connects to nothing yet.
    pub fn new(hub_dir: &Path, manifest: &Manifest) -> Self {
        let brokers = manifest
            .connections
            .iter()
            .filter_map(|(name, connection)| match connection {
                Connection::Mqtt(mqtt) => Broker::new(name, mqtt, hub_dir),
                _ => None,
            })
            .map(|broker| (broker.name.clone(), Arc::new(Connected { broker, publisher: Mutex::new(None) })))
            .collect();
        Self { brokers }
    }

    /// The broker of connection `name`.
    pub fn broker(&self, name: &str) -> Option<&Broker> {
        self.brokers.get(name).map(|connected| &connected.broker)
    }
}

/// A connection as scripts hold it: `mqtt::connection("home")`.
#[derive(Clone)]
pub struct MqttClient {
    connected: Arc<Connected>,
    capabilities: Arc<Capabilities>,
}

/// Builds the `mqtt` module.
pub fn module(capabilities: &Arc<Capabilities>) -> Module {
    let mut module = Module::new();
    def_with!(&mut module, capabilities => caps, {
        "connection" => move |name: &str| connection(&caps, name),
    });
    module
}

/// Registers the `MqttClient` type and its methods.
pub fn register_type(engine: &mut Engine) {
    engine
        .register_type_with_name::<MqttClient>("MqttClient")
        .register_fn("publish", |client: &mut MqttClient, topic: &str, payload: Dynamic| {
            publish(client, topic, payload, Map::new())
        })
        .register_fn("publish", publish)
        .register_fn("to_string", |client: &mut MqttClient| format!("MqttClient({})", client.connected.broker.name))
        .register_fn("to_debug", |client: &mut MqttClient| format!("MqttClient({})", client.connected.broker.name));
}

/// The MQTT connection named in `[connections]`; nothing connects until the first publish.
///
/// ```rhai
/// let home = mqtt::connection("home");
/// home.publish("lights/kitchen/set", #{ on: true });
/// ```
pub fn connection(capabilities: &Arc<Capabilities>, name: &str) -> Result<MqttClient> {
    let connected = capabilities.mqtt.brokers.get(name).ok_or_else(|| {
        let known: Vec<&str> = capabilities.mqtt.brokers.keys().map(String::as_str).collect();
        let hint = match crate::config::closest(name, known.iter().copied()) {
            Some(best) => format!("; did you mean `{best}`?"),
            None if known.is_empty() => " (there is no type = \"mqtt\" connection)".to_string(),
            None => format!(" (known: {})", known.join(", ")),
        };
        error("mqtt.connection", format!("no mqtt connection `{name}`{hint}"))
    })?;
    Ok(MqttClient { connected: Arc::clone(connected), capabilities: Arc::clone(capabilities) })
}

/// Publishes `payload` to `topic`: a map or array is sent as JSON, a string as its text, a blob
/// as its bytes, `()` as an empty message (which clears a retained one), a number or boolean as
/// JSON. Options: `qos` (0, 1 or 2; default 1) and `retain` (default false). With QoS 1 and 2 the
/// call returns once the broker has acknowledged the message, waiting at most until the run's
/// deadline; with QoS 0 once it was written.
///
/// ```rhai
/// let home = mqtt::connection("home");
/// home.publish("sensors/office/temperature", #{ celsius: 21.5 }, #{ qos: 1, retain: true });
/// home.publish("display/text", "Hello");
/// ```
pub fn publish(client: &mut MqttClient, topic: &str, payload: Dynamic, options: Map) -> Result<()> {
    const FUNCTION: &str = "mqtt.publish";
    let broker = &client.connected.broker;
    let fail = |message: String| error(FUNCTION, format!("{}: {message}", broker.described()));
    if let Some(problem) = crate::config::topic::topic_problem(topic) {
        return Err(fail(problem));
    }
    let (qos, retain) = read_options(&options).map_err(fail)?;
    let bytes = payload_bytes(&payload).map_err(fail)?;
    let done = client.handed(topic, bytes, qos, retain).map_err(fail)?;
    let left = context::remaining();
    let wait = left.unwrap_or(DEFAULT_WAIT);
    // The timer is made inside the runtime: the calling thread (`switchboard run`'s) may have none.
    let answer = wait_cancellable(&client.capabilities.runtime, async move { tokio::time::timeout(wait, done).await })
        .map_err(|_| fail("interrupted".into()))?;
    match answer {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(why))) => Err(fail(why)),
        Ok(Err(_)) => Err(fail("the client stopped before the broker acknowledged the message".into())),
        Err(_) => {
            let cause = if left.is_some() { " (the run's deadline)" } else { "" };
            let millis = Duration::from_millis(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
            Err(fail(format!(
                "no acknowledgement from the broker within {}{cause}",
                humantime::format_duration(millis)
            )))
        }
    }
}

impl MqttClient {
    /// Hands the publish to this connection's client, starting a new one if there is none or
    /// the last one's connection failed.
    fn handed(
        &self,
        topic: &str,
        payload: Vec<u8>,
        qos: QoS,
        retain: bool,
    ) -> std::result::Result<publisher::Done, String> {
        let mut slot = self.connected.publisher.lock();
        let publisher = match slot.as_ref() {
            Some(publisher) if !publisher.failed() => Arc::clone(publisher),
            _ => {
                let started = Publisher::start(&self.connected.broker, &self.capabilities.runtime)
                    .map_err(|err| err.to_string())?;
                let started = Arc::new(started);
                *slot = Some(Arc::clone(&started));
                started
            }
        };
        drop(slot);
        publisher.publish(topic, payload, qos, retain)
    }
}

/// `qos` and `retain` of a publish's options.
fn read_options(options: &Map) -> std::result::Result<(QoS, bool), String> {
    let mut qos = Qos::One;
    let mut retain = false;
    for (key, value) in options {
        match key.as_str() {
            "qos" => {
                qos = value
                    .as_int()
                    .ok()
                    .and_then(Qos::from_level)
                    .ok_or_else(|| format!("`qos` must be 0, 1 or 2, not {value}"))?;
            }
            "retain" => {
                retain = value.as_bool().map_err(|_| format!("`retain` must be true or false, not {value}"))?;
            }
            other => return Err(format!("unknown option `{other}`; it takes qos, retain")),
        }
    }
    Ok((to_qos(qos), retain))
}

/// rumqttc's form of a QoS level.
pub fn to_qos(qos: Qos) -> QoS {
    match qos {
        Qos::Zero => QoS::AtMostOnce,
        Qos::One => QoS::AtLeastOnce,
        Qos::Two => QoS::ExactlyOnce,
    }
}

/// The bytes a payload is sent as.
fn payload_bytes(payload: &Dynamic) -> std::result::Result<Vec<u8>, String> {
    if payload.is_unit() {
        return Ok(Vec::new());
    }
    if let Some(text) = payload.read_lock::<rhai::ImmutableString>() {
        return Ok(text.as_bytes().to_vec());
    }
    if let Some(blob) = payload.read_lock::<rhai::Blob>() {
        return Ok(blob.to_vec());
    }
    let json = convert::to_json(payload).map_err(|err| format!("the payload cannot be sent as JSON: {err}"))?;
    serde_json::to_vec(&json).map_err(|err| format!("the payload cannot be sent as JSON: {err}"))
}

/// A client error in plain words; never holds the password (rumqttc's errors name none).
pub fn describe(err: &rumqttc::ConnectionError) -> String {
    use rumqttc::ConnectionError as E;
    match err {
        E::ConnectionRefused(code) => format!("the broker refused the connection ({code:?})"),
        E::Io(io) => format!("cannot reach the broker: {io}"),
        E::NetworkTimeout => "the broker did not answer in time".to_string(),
        E::Tls(tls) => format!("TLS: {tls}"),
        other => other.to_string(),
    }
}
