//! The `examples/morning-digest` hub end to end.

use crate::harness::smtp::SmtpServer;
use crate::harness::{HttpServer, Hub, Server, wait_until};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const GOOGLE_TOKEN: &str = "ya29.test-access-token-4b1e";
const OWM_API_KEY: &str = "owm-test-key-c0ffee";

/// The Authorization header and query of one calendar request.
type CalendarRequest = (String, HashMap<String, String>);

/// The Google Calendar and OpenWeatherMap stand-ins (one loopback server, two base URLs).
#[derive(Clone, Default)]
struct Apis {
    /// The status the calendar answers with; 0 means 200 with today's events.
    calendar_status: Arc<AtomicU16>,
    /// The Authorization header and query of every calendar request.
    calendar_requests: Arc<Mutex<Vec<CalendarRequest>>>,
}

/// `GET /calendar/v3/calendars/primary/events`: three events, the way Google lists them.
async fn events(
    State(apis): State<Apis>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    apis.calendar_requests.lock().unwrap().push((auth.clone(), query.clone()));
    if auth != format!("Bearer {GOOGLE_TOKEN}") {
        let error = json!({ "error": { "code": 401, "message": "Request had invalid authentication credentials." } });
        return (StatusCode::UNAUTHORIZED, Json(error));
    }
    let status = apis.calendar_status.load(Ordering::SeqCst);
    if status != 0 {
        let status = StatusCode::from_u16(status).unwrap();
        return (status, Json(json!({ "error": { "code": status.as_u16(), "message": "Backend Error" } })));
    }
    let day = &query["timeMin"][..10];
    let offset = &query["timeMin"][19..];
    let items = json!([
        { "kind": "calendar#event", "id": "bin", "status": "confirmed", "summary": "Bin day",
          "start": { "date": day }, "end": { "date": day } },
        { "kind": "calendar#event", "id": "standup", "status": "confirmed", "summary": "Standup",
          "start": { "dateTime": format!("{day}T09:30:00{offset}") }, "end": { "dateTime": format!("{day}T09:45:00{offset}") } },
        { "kind": "calendar#event", "id": "lunch", "status": "confirmed", "summary": "Lunch with Ada",
          "start": { "dateTime": format!("{day}T12:00:00{offset}") }, "end": { "dateTime": format!("{day}T13:00:00{offset}") } },
    ]);
    (StatusCode::OK, Json(json!({ "kind": "calendar#events", "summary": "you@example.com", "items": items })))
}

/// `GET /data/2.5/weather` for London, as OpenWeatherMap answers it.
async fn weather(Query(query): Query<HashMap<String, String>>) -> (StatusCode, Json<Value>) {
    if query.get("appid").map(String::as_str) != Some(OWM_API_KEY)
        || query.get("q").map(String::as_str) != Some("London")
    {
        return (StatusCode::NOT_FOUND, Json(json!({ "cod": "404", "message": "city not found" })));
    }
    let body = json!({
        "weather": [{ "id": 500, "main": "Rain", "description": "light rain", "icon": "10d" }],
        "main": { "temp": 12.5, "feels_like": 11.9, "humidity": 81 },
        "name": "London",
        "cod": 200
    });
    (StatusCode::OK, Json(body))
}

/// A copy of the example whose job fires every second instead of at 07:00, served against the
/// stand-ins and the SMTP server.
fn start(apis: &Apis, smtp: &SmtpServer) -> (Hub, HttpServer, Server) {
    let router = axum::Router::new()
        .route("/calendar/v3/calendars/primary/events", get(events))
        .route("/data/2.5/weather", get(weather))
        .with_state(apis.clone());
    let stand_in = HttpServer::start(router);
    let hub = Hub::from_example("morning-digest");
    let manifest = hub.read("switchboard.toml");
    assert!(manifest.contains("schedule = \"0 7 * * *\""), "the example's schedule changed:\n{manifest}");
    hub.manifest(&manifest.replace("schedule = \"0 7 * * *\"", "schedule = \"* * * * * *\""));
    let calendar = format!("{}/calendar/v3", stand_in.url());
    let owm = format!("{}/data/2.5", stand_in.url());
    let smtp_url = format!("smtp://127.0.0.1:{}", smtp.port);
    let server = Server::start(
        hub.path(),
        &[
            ("GOOGLE_TOKEN", GOOGLE_TOKEN),
            ("GOOGLE_CALENDAR_BASE_URL", &calendar),
            ("OWM_API_KEY", OWM_API_KEY),
            ("OWM_BASE_URL", &owm),
            ("SMTP_URL", &smtp_url),
            ("MAIL_FROM", "Morning digest <hub@example.com>"),
        ],
    );
    (hub, stand_in, server)
}

fn header<'a>(data: &'a str, name: &str) -> Option<&'a str> {
    data.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
}

fn london_date() -> String {
    chrono::Utc::now().with_timezone(&chrono_tz::Europe::London).format("%Y-%m-%d").to_string()
}

#[test]
fn mails_todays_events_and_the_weather() {
    let apis = Apis::default();
    let smtp = SmtpServer::start();
    let before = london_date();
    let (_hub, _stand_in, server) = start(&apis, &smtp);

    let arrived = wait_until(Duration::from_secs(30), || !smtp.inbox.lock().unwrap().is_empty());
    assert!(arrived, "no digest arrived; server log:\n{}", server.stderr());
    let message = smtp.inbox.lock().unwrap()[0].clone();
    assert_eq!(message.from, "hub@example.com");
    assert_eq!(message.to, ["you@example.com"]);
    let data = message.data.replace("\r\n", "\n");
    let subject = header(&data, "Subject").expect("a subject");
    assert!(subject.starts_with("Your day: ") && subject.ends_with(", 3 events"), "{subject}");
    assert!(data.contains("Weather in London: 12.5 C, light rain (feels like 11.9 C)"), "{data}");
    assert!(
        data.contains("Today (3 events):\n  all day  Bin day\n  09:30  Standup\n  12:00  Lunch with Ada"),
        "{data}"
    );

    // The calendar was asked for today in Europe/London, with the token from .env.
    let (auth, query) = apis.calendar_requests.lock().unwrap()[0].clone();
    assert_eq!(auth, format!("Bearer {GOOGLE_TOKEN}"));
    assert_eq!(query["singleEvents"], "true");
    assert_eq!(query["orderBy"], "startTime");
    let (min, max) = (&query["timeMin"], &query["timeMax"]);
    let day = &min[..10];
    assert!(day == before || day == london_date(), "asked for {day}, today in London is {before}");
    let offset = &min[19..];
    assert!(offset == "+00:00" || offset == "+01:00", "{min}");
    assert_eq!(*min, format!("{day}T00:00:00{offset}"));
    assert_eq!(*max, format!("{day}T23:59:59{offset}"));
}

#[test]
fn mails_an_alert_when_the_calendar_fails() {
    let apis = Apis::default();
    apis.calendar_status.store(500, Ordering::SeqCst);
    let smtp = SmtpServer::start();
    let (_hub, _stand_in, server) = start(&apis, &smtp);

    let arrived = wait_until(Duration::from_secs(30), || !smtp.inbox.lock().unwrap().is_empty());
    assert!(arrived, "no alert arrived; server log:\n{}", server.stderr());
    let message = smtp.inbox.lock().unwrap()[0].clone();
    assert_eq!(message.to, ["you@example.com"]);
    // The error line is long, so the text is quoted-printable: undo its soft line breaks.
    let data = message.data.replace("\r\n", "\n").replace("=\n", "").replace("=3D", "=");
    assert_eq!(header(&data, "Subject"), Some("Morning digest failed"));
    assert!(data.contains("Google Calendar answered 500"), "{data}");
    assert!(data.contains("Details: switchboard runs show "), "{data}");
    // The connection retried the calendar (3 attempts) before the run gave up.
    assert!(apis.calendar_requests.lock().unwrap().len() >= 3);
    // No digest went out for the failed run.
    assert!(smtp.inbox.lock().unwrap().iter().all(|m| !m.data.contains("Your day:")));
}
