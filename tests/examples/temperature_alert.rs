//! The `examples/temperature-alert` hub end to end.

use crate::harness::{HttpServer, Hub, Server, wait_until};
use crate::mqtt::{broker, client_id, forget_session, prefix, publish};
use axum::Json;
use axum::extract::{Query, RawForm, State};
use axum::http::StatusCode;
use axum::routing::post;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const SENSOR_TOKEN: &str = "sensor-token-5d1c0e";
const PUSHOVER_TOKEN: &str = "azGDORePK8gMaC0QOYAMyEEuzJnyUi";
const PUSHOVER_USER: &str = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG";

/// The parameters (query and form merged, as Pushover reads them) of every accepted message.
type Messages = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// `POST /1/messages.json` as Pushover answers it: 400 with `errors` for a bad token or user.
async fn messages(
    State(received): State<Messages>,
    Query(query): Query<HashMap<String, String>>,
    RawForm(form): RawForm,
) -> (StatusCode, Json<Value>) {
    let mut params = query;
    params.extend(serde_urlencoded::from_bytes::<Vec<(String, String)>>(&form).expect("a form body"));
    let param = |name: &str| params.get(name).map(String::as_str);
    if param("token") != Some(PUSHOVER_TOKEN) {
        let errors = json!(["application token is invalid, see https://pushover.net/api"]);
        return (StatusCode::BAD_REQUEST, Json(json!({ "token": "invalid", "errors": errors, "status": 0 })));
    }
    if param("user") != Some(PUSHOVER_USER) || param("message").is_none_or(str::is_empty) {
        let errors = json!(["user identifier is not a valid user, group, or subscribed user key"]);
        return (StatusCode::BAD_REQUEST, Json(json!({ "user": "invalid", "errors": errors, "status": 0 })));
    }
    received.lock().unwrap().push(params);
    (StatusCode::OK, Json(json!({ "status": 1, "request": "647d2300-702c-4b38-8b2f-d56326ae460b" })))
}

#[test]
fn alerts_once_an_hour_per_sensor_and_sends_all_clear() {
    let received = Messages::default();
    let router = axum::Router::new().route("/1/messages.json", post(messages)).with_state(Arc::clone(&received));
    let pushover = HttpServer::start(router);
    let hub = Hub::from_example("temperature-alert");
    let server = Server::start(
        hub.path(),
        &[
            ("SENSOR_TOKEN", SENSOR_TOKEN),
            ("PUSHOVER_TOKEN", PUSHOVER_TOKEN),
            ("PUSHOVER_USER", PUSHOVER_USER),
            ("PUSHOVER_BASE_URL", &pushover.url()),
            // No broker here: the MQTT subscriber retries in the background, the routes serve.
            ("MQTT_URL", "mqtt://127.0.0.1:1"),
        ],
    );

    let reading = |sensor: &str, celsius: Value| {
        let auth = format!("Bearer {SENSOR_TOKEN}");
        let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
        let body = json!({ "celsius": celsius }).to_string();
        server.send(Method::POST, &format!("/sensors/{sensor}/reading"), &headers, Some(&body))
    };

    // Without the sensor key, or with a wrong one, nothing is recorded or sent.
    let json_body = [("Content-Type", "application/json")];
    let anonymous = server.send(Method::POST, "/sensors/attic/reading", &json_body, Some(r#"{"celsius": 40}"#));
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    let wrong = [("X-Api-Key", "not-the-token"), ("Content-Type", "application/json")];
    let wrong_key = server.send(Method::POST, "/sensors/attic/reading", &wrong, Some(r#"{"celsius": 40}"#));
    assert_eq!(wrong_key.status, 401, "{}", wrong_key.text);
    // A reading that is not a number is refused by the body schema.
    let bad = reading("attic", json!("hot"));
    assert_eq!(bad.status, 400, "{}", bad.text);

    // One sensor crossing the limit and back, then hovering around it within the hour.
    let steps = [
        (25.0, Value::Null),
        (31.2, json!("alert")),
        (32.0, Value::Null),
        (28.5, json!("all clear")),
        (29.0, Value::Null),
        (31.0, Value::Null),
        (27.0, Value::Null),
    ];
    for (celsius, expected) in steps {
        let reply = reading("server-room", json!(celsius));
        assert_eq!(reply.status, 200, "{celsius}: {}\n{}", reply.text, server.stderr());
        let out = reply.json();
        assert_eq!(out["celsius"], celsius);
        assert_eq!(out["notified"], expected, "after {celsius} C: {out}");
    }
    // The hour is per sensor: another sensor alerts at once (an integer reading is fine too).
    let attic = reading("attic", json!(33));
    assert_eq!(attic.status, 200, "{}", attic.text);
    assert_eq!(attic.json()["notified"], "alert");

    let sent = received.lock().unwrap().clone();
    let summary: Vec<(&str, &str, &str)> =
        sent.iter().map(|m| (m["title"].as_str(), m["message"].as_str(), m["priority"].as_str())).collect();
    assert_eq!(
        summary,
        [
            ("server-room is too hot", "server-room reads 31.2 C, above the 30.0 C limit.", "1"),
            ("server-room: all clear", "server-room is back to 28.5 C.", "0"),
            ("attic is too hot", "attic reads 33.0 C, above the 30.0 C limit.", "1"),
        ]
    );
    // Token and user came from .env through the connection.
    assert!(sent.iter().all(|m| m["token"] == PUSHOVER_TOKEN && m["user"] == PUSHOVER_USER));

    let auth = format!("Bearer {SENSOR_TOKEN}");
    let sensors = server.get("/sensors", &[("Authorization", &auth)]);
    assert_eq!(sensors.status, 200, "{}", sensors.text);
    let sensors = sensors.json();
    let state: Vec<(Value, Value, Value)> = sensors
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["sensor"].clone(), s["celsius"].clone(), s["alarm"].clone()))
        .collect();
    assert_eq!(state, [(json!("attic"), json!(33.0), json!(true)), (json!("server-room"), json!(27.0), json!(false))]);
}

#[test]
fn readings_published_over_mqtt_follow_the_same_rules() {
    let Some(mqtt) = broker() else { return };
    let received = Messages::default();
    let router = axum::Router::new().route("/1/messages.json", post(messages)).with_state(Arc::clone(&received));
    let pushover = HttpServer::start(router);
    let hub = Hub::from_example("temperature-alert");
    // The copy listens under a topic prefix of its own, so no other subscriber of the shared
    // broker sees these readings.
    let topics = prefix("temperature-alert");
    let manifest = hub.read("switchboard.toml");
    assert!(manifest.contains("topic = \"sensors/+/temperature\""));
    hub.manifest(&manifest.replace("topic = \"sensors/", &format!("topic = \"{topics}/sensors/")));
    let url = format!("mqtt://hub:mqtt-password@{}:{}", mqtt.0, mqtt.1);
    let server = Server::start(
        hub.path(),
        &[
            ("SENSOR_TOKEN", SENSOR_TOKEN),
            ("PUSHOVER_TOKEN", PUSHOVER_TOKEN),
            ("PUSHOVER_USER", PUSHOVER_USER),
            ("PUSHOVER_BASE_URL", &pushover.url()),
            ("MQTT_URL", &url),
        ],
    );
    let subscribed = wait_until(std::time::Duration::from_secs(30), || server.stderr().contains(": subscribed"));
    assert!(subscribed, "{}", server.stderr());

    // As sensor hubs publish: this example's own shape, a bare number, zigbee2mqtt's shape, and junk.
    let readings = [
        ("server-room", r#"{"celsius": 31.2}"#),
        ("server-room", "28.5"),
        ("attic", r#"{"temperature": 33, "humidity": 40, "linkquality": 120}"#),
        ("attic", "hot"),
    ];
    for (count, (sensor, payload)) in readings.into_iter().enumerate() {
        publish(&mqtt, &format!("{topics}/sensors/{sensor}/temperature"), payload, 1);
        // One at a time: the rules depend on the order of a sensor's readings.
        let ran = wait_until(std::time::Duration::from_secs(30), || {
            let runs = hub.cmd(&["runs", "list", "--json", "--script", "mqtt_reading"]).output();
            runs.json().as_array().is_some_and(|runs| runs.len() > count)
        });
        assert!(ran, "{payload}: {}", server.stderr());
    }

    let sent = received.lock().unwrap().clone();
    let summary: Vec<(&str, &str)> = sent.iter().map(|m| (m["title"].as_str(), m["message"].as_str())).collect();
    assert_eq!(
        summary,
        [
            ("server-room is too hot", "server-room reads 31.2 C, above the 30.0 C limit."),
            ("server-room: all clear", "server-room is back to 28.5 C."),
            ("attic is too hot", "attic reads 33.0 C, above the 30.0 C limit."),
        ]
    );
    let runs = hub.cmd(&["runs", "list", "--json", "--script", "mqtt_reading"]).output().json();
    let junk = &runs[0];
    assert_eq!(junk["status"], "ok", "a reading that is no number is dropped, not retried: {junk}");
    assert!(!runs.to_string().contains("mqtt-password"), "the broker password leaked: {runs}");
    drop(server);
    forget_session(&mqtt, &client_id(&hub));
}
