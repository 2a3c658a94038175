//! `http` against a real loopback HTTP server: methods, options, connections, secrets, errors.

use crate::harness::{HttpServer, Hub, Output};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{any, get};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::watch;

/// The API key the test server expects from the `weather` connection.
const API_KEY: &str = "k3y-9f8e7d6c5b4a";

/// Replies with what it received.
async fn echo(method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Json<Value> {
    // Repeated headers are joined, so tests see every value that was sent.
    let headers: serde_json::Map<String, Value> = headers
        .keys()
        .map(|name| {
            let values: Vec<_> =
                headers.get_all(name).iter().map(|value| String::from_utf8_lossy(value.as_bytes())).collect();
            (name.to_string(), json!(values.join(", ")))
        })
        .collect();
    Json(json!({
        "method": method.as_str(),
        "path": uri.path(),
        "query": uri.query().unwrap_or_default(),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    }))
}

/// Checks the API key like a real service would, and shows what it was sent.
async fn weather(uri: Uri, headers: HeaderMap) -> Json<Value> {
    let key = headers.get("x-api-key").map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    Json(json!({
        "seen": key,
        "checked": {
            "authorized": key.as_deref() == Some(API_KEY),
            "path": uri.path(),
            "query": uri.query().unwrap_or_default(),
        },
    }))
}

/// Answers only when the test releases it (or after a minute), so timeouts fire first.
async fn slow(State(release): State<watch::Receiver<bool>>) -> &'static str {
    let mut release = release;
    let _ = tokio::time::timeout(Duration::from_secs(60), release.wait_for(|released| *released)).await;
    "finally"
}

struct Api {
    server: HttpServer,
    release: watch::Sender<bool>,
}

impl Api {
    fn start() -> Self {
        let (release, released) = watch::channel(false);
        let router = axum::Router::new()
            .route("/echo", any(echo))
            .route("/data/2.5/weather", get(weather))
            .route("/missing", get(|| async { (StatusCode::NOT_FOUND, Json(json!({"error": "no such city"}))) }))
            .route("/broken", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response() }))
            .route("/old", get(|| async { Redirect::temporary("/new?from=old") }))
            .route("/new", get(|uri: Uri| async move { format!("arrived via {}", uri.query().unwrap_or_default()) }))
            .route("/huge", get(|| async { vec![b'a'; 17 * 1024 * 1024] }))
            .route("/slow", get(slow))
            .with_state(released);
        Self { server: HttpServer::start(router), release }
    }

    fn input(&self) -> String {
        json!({ "base": self.server.url() }).to_string()
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        // Lets waiting handlers finish so the server can shut down gracefully.
        let _ = self.release.send(true);
    }
}

#[test]
fn get_sends_query_and_headers_and_reads_json() {
    let api = Api::start();
    let hub = Hub::new();
    hub.script(
        "get",
        r#"
        let res = http::get(input.base + "/echo", #{
            query: #{ q: "rust lang", tags: ["a", "b"], skip: () },
            headers: #{ "X-Trace": "t-1", "X-Tag": ["a", "b"] },
        });
        #{
            status: res.status,
            ok: res.ok,
            echo: res.json,
            content_type: res.headers["content-type"],
            text_is_json: json::parse(res.text) == res.json,
        }
        "#,
    );
    let out = hub.run("get", &api.input()).json();
    assert_eq!(out["status"], 200);
    assert_eq!(out["ok"], true);
    assert_eq!(out["content_type"], "application/json");
    assert_eq!(out["text_is_json"], true);
    assert_eq!(out["echo"]["method"], "GET");
    assert_eq!(out["echo"]["query"], "q=rust+lang&tags=a&tags=b");
    assert_eq!(out["echo"]["headers"]["x-trace"], "t-1");
    assert_eq!(out["echo"]["headers"]["x-tag"], "a, b");
    assert!(out["echo"]["headers"]["user-agent"].as_str().unwrap().starts_with("switchboard/"));
}

#[test]
fn every_method_sends_json_form_and_raw_bodies() {
    let api = Api::start();
    let hub = Hub::new();
    hub.script(
        "bodies",
        r#"
        let url = input.base + "/echo";
        #{
            json: http::post(url, #{ json: #{ name: "Ada", n: 3, tags: ["x"] } }).json,
            form: http::post(url, #{ form: #{ a: "1 2", b: "ü" } }).json,
            text: http::put(url, #{ body: "plain words" }).json,
            typed: http::patch(url, #{ body: "<x/>", headers: #{ "Content-Type": "application/xml" } }).json,
            bytes: http::post(url, #{ body: blob(3, 65) }).json,
            deleted: http::delete(url).json,
            options: http::request("options", url, #{ query: #{ n: 1 } }).json,
        }
        "#,
    );
    let out = hub.run("bodies", &api.input()).json();
    let sent = |name: &str| (out[name]["method"].clone(), out[name]["headers"]["content-type"].clone());

    assert_eq!(sent("json"), (json!("POST"), json!("application/json")));
    let body: Value = serde_json::from_str(out["json"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({"name": "Ada", "n": 3, "tags": ["x"]}));

    assert_eq!(sent("form"), (json!("POST"), json!("application/x-www-form-urlencoded")));
    assert_eq!(out["form"]["body"], "a=1+2&b=%C3%BC");

    assert_eq!(sent("text"), (json!("PUT"), json!("text/plain; charset=utf-8")));
    assert_eq!(out["text"]["body"], "plain words");

    assert_eq!(sent("typed"), (json!("PATCH"), json!("application/xml")));
    assert_eq!(out["typed"]["body"], "<x/>");

    assert_eq!(sent("bytes"), (json!("POST"), json!("application/octet-stream")));
    assert_eq!(out["bytes"]["body"], "AAA");

    assert_eq!(out["deleted"]["method"], "DELETE");
    assert_eq!(out["options"]["method"], "OPTIONS");
    assert_eq!(out["options"]["query"], "n=1");
}

/// A hub with a `weather` connection whose API key comes from `${var}`.
fn weather_hub(api: &Api, var: &str) -> Hub {
    let hub = Hub::new();
    hub.manifest(&format!(
        r#"
[connections.weather]
type = "http"
base_url = "{}/data/2.5"
query = {{ units = "metric" }}
timeout = "10s"
headers = {{ X-Api-Key = "${{{var}}}" }}
"#,
        api.server.url()
    ));
    hub.script(
        "forecast",
        r#"
        let weather = http::connection("weather");
        let first = weather.get("/weather", #{ query: #{ q: "London" } });
        let second = weather.get("weather", #{ query: #{ units: "imperial" }, headers: #{ "x-api-key": "not-the-key" } });
        #{ first: first.json.checked, second: second.json.checked, client: `${weather}` }
        "#,
    );
    hub
}

fn assert_weather(out: &Output) {
    let result = out.json();
    assert_eq!(
        result,
        json!({
            "first": {"authorized": true, "path": "/data/2.5/weather", "query": "units=metric&q=London"},
            "second": {"authorized": false, "path": "/data/2.5/weather", "query": "units=imperial"},
            "client": "HttpClient(weather)",
        })
    );
    assert!(!out.stdout.contains(API_KEY) && !out.stderr.contains(API_KEY), "{out:?}");
}

#[test]
fn connection_joins_base_url_and_adds_a_secret_header_from_the_environment() {
    let api = Api::start();
    let hub = weather_hub(&api, "SB_HTTP_TEST_KEY");
    let out = hub.cmd(&["run", "forecast"]).env("SB_HTTP_TEST_KEY", API_KEY).output();
    assert_weather(&out);
}

#[test]
fn connection_secret_can_come_from_the_hub_dotenv() {
    let api = Api::start();
    let hub = weather_hub(&api, "SB_HTTP_DOTENV_KEY");
    hub.file(".env", &format!("SB_HTTP_DOTENV_KEY={API_KEY}\n"));
    let out = hub.cmd(&["run", "forecast"]).output();
    assert_weather(&out);
}

#[test]
fn a_secret_the_server_echoes_is_redacted_from_printed_lines_and_errors() {
    let api = Api::start();
    let hub = weather_hub(&api, "SB_HTTP_ECHO_KEY");
    hub.script(
        "leak",
        r#"
        let seen = http::connection("weather").get("/weather").json.seen;
        print(`the server saw ${seen}`);
        throw `rejected ${seen}`;
        "#,
    );
    let out = hub.cmd(&["run", "leak"]).env("SB_HTTP_ECHO_KEY", API_KEY).output();
    out.fails_with(1, &["the server saw ***", "rejected ***"]);
    assert!(!out.stdout.contains(API_KEY) && !out.stderr.contains(API_KEY), "{out:?}");
}

#[test]
fn routes_served_by_the_hub_call_connections_concurrently() {
    let api = Api::start();
    let hub = weather_hub(&api, "SB_HTTP_SERVE_KEY");
    let manifest = hub.read("switchboard.toml");
    hub.manifest(&format!(
        "{manifest}\n[[route]]\nmethod = \"GET\"\npath = \"/forecast/{{city}}\"\nscript = \"city\"\nauth = \"public\"\n"
    ));
    hub.script(
        "city",
        r#"
        let res = http::connection("weather").get("/weather", #{ query: #{ q: input.city } });
        res.json.checked
        "#,
    );
    let server = crate::harness::Server::start(hub.path(), &[("SB_HTTP_SERVE_KEY", API_KEY)]);
    let cities = ["London", "Paris", "Lagos", "Lima", "Oslo", "Pune", "Kyiv", "Quito"];
    let server = &server;
    std::thread::scope(|scope| {
        let replies: Vec<_> =
            cities.iter().map(|city| scope.spawn(move || server.get(&format!("/forecast/{city}"), &[]))).collect();
        for (city, reply) in cities.iter().zip(replies) {
            let reply = reply.join().unwrap();
            assert_eq!(reply.status, 200, "{}", reply.text);
            assert_eq!(reply.json()["authorized"], true);
            assert_eq!(reply.json()["query"], format!("units=metric&q={city}"));
        }
    });
    assert!(!server.stderr().contains(API_KEY));
}

#[test]
fn non_2xx_statuses_are_returned_as_data() {
    let api = Api::start();
    let hub = Hub::new();
    hub.script(
        "statuses",
        r#"
        let missing = http::get(input.base + "/missing");
        let broken = http::get(input.base + "/broken");
        #{
            missing: #{ status: missing.status, ok: missing.ok, error: missing.json.error },
            broken: #{ status: broken.status, ok: broken.ok, text: broken.text, json: broken.json },
        }
        "#,
    );
    let out = hub.run("statuses", &api.input()).json();
    assert_eq!(
        out,
        json!({
            "missing": {"status": 404, "ok": false, "error": "no such city"},
            "broken": {"status": 500, "ok": false, "text": "boom", "json": null},
        })
    );
}

#[test]
fn redirects_are_followed() {
    let api = Api::start();
    let hub = Hub::new();
    hub.script("redirect", r#"let res = http::get(input.base + "/old"); #{ status: res.status, text: res.text }"#);
    let out = hub.run("redirect", &api.input()).json();
    assert_eq!(out, json!({"status": 200, "text": "arrived via from=old"}));
}

#[test]
fn timeouts_are_catchable_errors() {
    let api = Api::start();
    let hub = Hub::new();
    hub.manifest(&format!(
        "[connections.slowpoke]\ntype = \"http\"\nbase_url = \"{}\"\ntimeout = \"200ms\"\n",
        api.server.url()
    ));
    hub.script(
        "slow",
        r#"
        let from_call = ();
        try { http::get(input.base + "/slow", #{ timeout: 200 }); } catch (err) { from_call = err; }
        let from_connection = ();
        try { http::connection("slowpoke").get("/slow"); } catch (err) { from_connection = err; }
        #{ from_call: from_call, from_connection: from_connection }
        "#,
    );
    let out = hub.run("slow", &api.input()).json();
    let from_call = out["from_call"].as_str().unwrap();
    assert!(from_call.starts_with("http.get: GET http://127.0.0.1:"), "{from_call}");
    assert!(from_call.ends_with("/slow: timed out after 200ms"), "{from_call}");
    let from_connection = out["from_connection"].as_str().unwrap();
    assert!(from_connection.starts_with("http.get: GET "), "{from_connection}");
    assert!(from_connection.ends_with("(connection `slowpoke`): timed out after 200ms"), "{from_connection}");
}

#[test]
fn connection_refused_is_a_catchable_error() {
    // A port that was just free and is no longer listened on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let input = json!({ "base": format!("http://127.0.0.1:{port}") }).to_string();
    let hub = Hub::new();
    hub.script(
        "refused",
        r#"
        let caught = ();
        try { http::post(input.base + "/x?token=abc", #{ json: #{} }); } catch (err) { caught = err; }
        caught
        "#,
    );
    let caught = hub.run("refused", &input).json();
    let caught = caught.as_str().unwrap();
    assert!(caught.starts_with(&format!("http.post: POST http://127.0.0.1:{port}/x: cannot connect (")), "{caught}");
    assert!(!caught.contains("token"), "the query is left out of errors: {caught}");

    hub.script("uncaught", r#"http::get(input.base)"#);
    hub.run("uncaught", &input).fails_with(1, &["http.get: GET", "cannot connect"]);
}

#[test]
fn oversized_bodies_are_refused() {
    let api = Api::start();
    let hub = Hub::new();
    hub.script(
        "huge",
        r#"let caught = (); try { http::get(input.base + "/huge"); } catch (err) { caught = err; } caught"#,
    );
    let caught = hub.run("huge", &api.input()).json();
    assert!(
        caught
            .as_str()
            .unwrap()
            .ends_with("/huge: the response body is larger than 16 MiB, the most a script may read")
    );
}

#[test]
fn mistakes_in_calls_are_clear_errors() {
    let api = Api::start();
    let hub = Hub::new();
    hub.manifest(&format!("[connections.api]\ntype = \"http\"\nbase_url = \"{}\"\n", api.server.url()));
    hub.script(
        "mistakes",
        r#"
        let url = input.base + "/echo";
        let api = http::connection("api");
        let attempts = [
            || http::get(url, #{ querry: #{} }),
            || http::post(url, #{ json: 1, body: "x" }),
            || http::get(url, #{ timeout: "soon" }),
            || http::get(url, "fast"),
            || http::get("ftp://example.com/file"),
            || http::request("GET POST", url, #{}),
            || http::connection("wether"),
            || api.get("https://elsewhere.example.com/x"),
        ];
        let errors = [];
        for attempt in attempts {
            try { attempt.call(); errors.push("no error"); } catch (err) { errors.push(err); }
        }
        errors
        "#,
    );
    let out = hub.run("mistakes", &api.input()).json();
    let expected = [
        "http.get: unknown option `querry` (did you mean `query`?); expected one of query, headers, json, form, body, timeout",
        "http.post: give only one of `json`, `form` and `body`",
        "http.get: `timeout`: invalid duration `soon`",
        "http.get: options must be a map",
        "http.get: `ftp:` URLs are not supported",
        "http.request: `GET POST` is not an HTTP method",
        "http.connection: no http connection `wether` (known: api)",
        "http.get: `https://elsewhere.example.com/x` is a full URL; connection `api` takes a path under its base_url",
    ];
    let errors = out.as_array().unwrap();
    assert_eq!(errors.len(), expected.len(), "{out}");
    for (error, expected) in errors.iter().zip(expected) {
        assert!(error.as_str().unwrap().starts_with(expected), "{error} should start with {expected}");
    }
}

#[test]
fn bad_connection_headers_are_config_errors_that_keep_the_value_secret() {
    let hub = Hub::new();
    hub.manifest(
        r#"
[connections.api]
type = "http"
base_url = "http://127.0.0.1:9"
headers = { "Bad Header" = "x", X-Token = "${SB_HTTP_BAD_TOKEN}" }
"#,
    );
    hub.script("noop", "1");
    let out = hub.cmd(&["run", "noop"]).env("SB_HTTP_BAD_TOKEN", "s3cr3t-line\nbreak").output();
    out.fails_with(
        2,
        &[
            "connections.api.headers.Bad Header: `Bad Header` is not a valid header name",
            "connections.api.headers.X-Token",
        ],
    );
    assert!(!out.stderr.contains("s3cr3t"), "{}", out.stderr);
}

#[test]
fn user_and_password_become_basic_credentials() {
    let api = Api::start();
    let hub = Hub::new();
    hub.manifest(&format!(
        "[connections.mc]\ntype = \"http\"\nbase_url = \"{}\"\nuser = \"anystring\"\npassword = \"${{MC_KEY}}\"\n",
        api.server.url()
    ))
    .file(".env", "MC_KEY=0123456789abcdef-us21\n")
    .script(
        "basic",
        r#"
        let sent = http::connection("mc").get("/echo").json.headers.authorization;
        // base64("anystring:0123456789abcdef-us21")
        #{ right: sent == "Basic YW55c3RyaW5nOjAxMjM0NTY3ODlhYmNkZWYtdXMyMQ==", shown: sent }
        "#,
    );
    // The credentials went to the server, and a result that holds them shows them redacted.
    assert_eq!(hub.run("basic", "{}").json(), json!({ "right": true, "shown": "Basic ***" }));
    hub.manifest(&format!(
        "[connections.mc]\ntype = \"http\"\nbase_url = \"{}\"\nuser = \"a\"\nheaders = {{ Authorization = \"Bearer x\" }}\n",
        api.server.url()
    ));
    hub.cmd(&["check"]).output().fails_with(2, &["connections.mc.user", "not both"]);
}

/// Every request a second origin received, as `QUERY HEADERS` text, for redirect tests.
#[derive(Clone, Default)]
struct Received(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Received {
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

#[test]
fn credentials_never_follow_a_redirect_to_another_origin() {
    // The other origin: another port on loopback, which counts what reached it.
    let received = Received::default();
    let log = received.clone();
    let other = HttpServer::start(axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let log = log.clone();
        async move {
            log.0.lock().unwrap().push(format!("{} {headers:?}", uri.query().unwrap_or_default()).to_lowercase());
            "landed"
        }
    }));
    let landing = format!("{}/landing", other.url());
    let home = axum::Router::new()
        .route("/jump", any(move || async move { Redirect::temporary(&landing) }))
        .route("/here", get(|| async { Redirect::temporary("/echo?moved=1") }))
        .route("/echo", any(echo));
    let home = HttpServer::start(home);
    let hub = Hub::new();
    hub.manifest(&format!(
        r#"
[connections.api]
type = "http"
base_url = "{base}"
headers = {{ X-Api-Key = "${{SB_REDIRECT_KEY}}" }}
query = {{ token = "${{SB_REDIRECT_QUERY}}" }}

[connections.basic]
type = "http"
base_url = "{base}"
user = "robot"
password = "${{SB_REDIRECT_PASSWORD}}"
"#,
        base = home.url()
    ))
    .file(
        ".env",
        "SB_REDIRECT_KEY=header-key-7f3a\nSB_REDIRECT_QUERY=query-key-8b4c\nSB_REDIRECT_PASSWORD=basic-pw-9c5d\n",
    )
    .script(
        "hop",
        r#"
        let api = http::connection("api");
        let away = api.get("/jump");
        let same = api.get("/here");
        let basic = http::connection("basic").get("/jump");
        let set = http::get(input.base + "/jump", #{ headers: #{ "x-api-key": "script-set-key" } });
        let posted = http::post(input.base + "/jump", #{ json: #{ secret: "body-secret" } });
        let plain = http::get(input.base + "/jump");
        #{
            posted: posted.status,
            away: [away.status, away.headers.location],
            same: [same.status, same.json.query, same.json.headers.contains("x-api-key")],
            basic: basic.status,
            set: set.status,
            plain: [plain.status, plain.text],
        }
        "#,
    );
    let out = hub.run("hop", &json!({ "base": home.url() }).to_string()).json();
    let landing = format!("{}/landing", other.url());
    assert_eq!(
        out,
        json!({
            "away": [307, landing],
            "same": [200, "moved=1", true],
            "basic": 307,
            "set": 307,
            "posted": 307,
            "plain": [200, "landed"],
        })
    );
    // Only the plain GET, which carried nothing the hub or the script set, arrived (a 307 would
    // have sent the POST's body again).
    let seen = received.all();
    assert_eq!(seen.len(), 1, "{seen:?}");
    for secret in ["header-key-7f3a", "query-key-8b4c", "script-set-key", "authorization", "x-api-key"] {
        assert!(!seen[0].contains(secret), "{secret} reached the other origin: {seen:?}");
    }
}
