//! The `examples/weather` hub end to end.

use crate::harness::{HttpServer, Hub, Server};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The API key the stand-in accepts, given to the hub through `OWM_API_KEY`.
const API_KEY: &str = "owm-test-key-7f3a91";

/// The query string of every request the stand-in received.
type Requests = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// OpenWeatherMap's current weather for London, trimmed to the fields that matter here.
fn london() -> Value {
    json!({
        "coord": { "lon": -0.1257, "lat": 51.5085 },
        "weather": [{ "id": 500, "main": "Rain", "description": "light rain", "icon": "10d" }],
        "main": { "temp": 12.5, "feels_like": 11.9, "temp_min": 11.1, "temp_max": 13.4, "pressure": 1012, "humidity": 81 },
        "wind": { "speed": 4.1, "deg": 240 },
        "dt": 1_764_226_800,
        "sys": { "country": "GB", "sunrise": 1_764_229_000, "sunset": 1_764_259_000 },
        "timezone": 0,
        "id": 2_643_743,
        "name": "London",
        "cod": 200
    })
}

/// `GET /data/2.5/weather` as OpenWeatherMap answers it: 401 without the key, 404 for unknown
/// cities, and a 500 for the city "Crashville".
async fn current_weather(
    State(requests): State<Requests>,
    Query(query): Query<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    requests.lock().unwrap().push(query.clone());
    if query.get("appid").map(String::as_str) != Some(API_KEY) {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "cod": 401, "message": "Invalid API key." })));
    }
    match query.get("q").map(String::as_str) {
        Some("London") => (StatusCode::OK, Json(london())),
        Some("Crashville") => {
            (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "cod": "500", "message": "Internal error" })))
        }
        _ => (StatusCode::NOT_FOUND, Json(json!({ "cod": "404", "message": "city not found" }))),
    }
}

#[test]
fn serves_cached_weather_and_maps_upstream_failures() {
    let requests = Requests::default();
    let router = axum::Router::new().route("/data/2.5/weather", get(current_weather)).with_state(Arc::clone(&requests));
    let owm = HttpServer::start(router);
    let hub = Hub::from_example("weather");
    let base = format!("{}/data/2.5", owm.url());
    let server = Server::start(hub.path(), &[("OWM_API_KEY", API_KEY), ("OWM_BASE_URL", &base)]);
    let hits = || requests.lock().unwrap().len();

    let first = server.get("/weather/current?city=London", &[]);
    assert_eq!(first.status, 200, "{}\n{}", first.text, server.stderr());
    assert_eq!(first.header("x-cache").as_deref(), Some("miss"));
    let weather = first.json();
    assert_eq!(weather["city"], "London");
    assert_eq!(weather["country"], "GB");
    assert_eq!(weather["temperature"], 12.5);
    assert_eq!(weather["feels_like"], 11.9);
    assert_eq!(weather["humidity"], 81);
    assert_eq!(weather["description"], "light rain");
    assert_eq!(weather["wind_speed"], 4.1);
    assert_eq!(weather["observed_at"], "2025-11-27T07:00:00Z");
    // The connection sent the key from .env and asked for Celsius.
    let sent = requests.lock().unwrap()[0].clone();
    assert_eq!(sent.get("q").map(String::as_str), Some("London"));
    assert_eq!(sent.get("appid").map(String::as_str), Some(API_KEY));
    assert_eq!(sent.get("units").map(String::as_str), Some("metric"));
    assert_eq!(hits(), 1);

    // Within ten minutes the same city comes from the cache: the stand-in is not asked again.
    let second = server.get("/weather/current?city=London", &[]);
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.header("x-cache").as_deref(), Some("hit"));
    assert_eq!(second.json(), weather);
    assert_eq!(hits(), 1);

    // A missing city is refused by the manifest's query validation before the script runs.
    let missing = server.get("/weather/current", &[]);
    assert_eq!(missing.status, 400, "{}", missing.text);
    assert!(missing.text.contains("city"), "{}", missing.text);
    let blank = server.get("/weather/current?city=%20", &[]);
    assert_eq!(blank.status, 400, "{}", blank.text);
    assert_eq!(hits(), 1);

    let unknown = server.get("/weather/current?city=Atlantis", &[]);
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    assert_eq!(unknown.json()["error"], "unknown city: Atlantis");

    let failing = server.get("/weather/current?city=Crashville", &[]);
    assert_eq!(failing.status, 502, "{}", failing.text);
    assert_eq!(failing.json()["error"], "the weather service failed (status 500)");
    assert_eq!(hits(), 3);

    // With the service gone, a new city is a 502 while a cached one still answers.
    drop(owm);
    let unreachable = server.get("/weather/current?city=Paris", &[]);
    assert_eq!(unreachable.status, 502, "{}", unreachable.text);
    assert_eq!(unreachable.json()["error"], "the weather service is unreachable, try again later");
    let still_cached = server.get("/weather/current?city=london", &[]);
    assert_eq!(still_cached.status, 200, "{}", still_cached.text);
    assert_eq!(still_cached.json(), weather);
}
