//! HTTP connection retries and circuit breakers against a real loopback server that counts its
//! hits: retries until recovery, `Retry-After`, method rules, the run's deadline, the circuit
//! opening, failing fast and closing, the run log, metrics and manifest errors.

use crate::harness::{HttpServer, Hub, Server, wait_until};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// Hits per route of the upstream.
#[derive(Default)]
struct Hits {
    flaky: AtomicUsize,
    limited: AtomicUsize,
    busy: AtomicUsize,
    unavailable: AtomicUsize,
    hang: AtomicUsize,
    down: AtomicUsize,
    sick: AtomicUsize,
}

#[derive(Clone)]
struct Shared {
    hits: Arc<Hits>,
    /// Whether `/sick` answers 200 (else 500).
    healthy: Arc<AtomicBool>,
    release: watch::Receiver<bool>,
}

fn count(counter: &AtomicUsize) -> usize {
    counter.fetch_add(1, Ordering::SeqCst) + 1
}

fn with_retry_after(status: StatusCode, seconds: &'static str) -> Response {
    let mut response = (status, "slow down").into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(seconds));
    response
}

/// A loopback upstream whose routes fail in scripted ways.
struct Upstream {
    server: HttpServer,
    hits: Arc<Hits>,
    healthy: Arc<AtomicBool>,
    release: watch::Sender<bool>,
}

impl Upstream {
    fn start() -> Self {
        let (release, released) = watch::channel(false);
        let shared = Shared { hits: Arc::default(), healthy: Arc::default(), release: released };
        let (hits, healthy) = (Arc::clone(&shared.hits), Arc::clone(&shared.healthy));
        let router = axum::Router::new()
            // 503, 503, then 200.
            .route(
                "/flaky",
                get(|State(s): State<Shared>| async move {
                    match count(&s.hits.flaky) {
                        n @ 1..=2 => (StatusCode::SERVICE_UNAVAILABLE, format!("down ({n})")).into_response(),
                        n => format!("up after {n} hits").into_response(),
                    }
                }),
            )
            // 429 asking for one second, then 200.
            .route(
                "/limited",
                get(|State(s): State<Shared>| async move {
                    match count(&s.hits.limited) {
                        1 => with_retry_after(StatusCode::TOO_MANY_REQUESTS, "1"),
                        _ => "allowed".into_response(),
                    }
                }),
            )
            // Always 429 asking for two minutes.
            .route(
                "/busy",
                get(|State(s): State<Shared>| async move {
                    count(&s.hits.busy);
                    with_retry_after(StatusCode::TOO_MANY_REQUESTS, "120")
                }),
            )
            // Always 503, whatever the method.
            .route(
                "/unavailable",
                any(|State(s): State<Shared>| async move {
                    count(&s.hits.unavailable);
                    StatusCode::SERVICE_UNAVAILABLE
                }),
            )
            // Never answers (until the test ends).
            .route(
                "/hang",
                get(|State(s): State<Shared>| async move {
                    count(&s.hits.hang);
                    let mut release = s.release;
                    let _ = tokio::time::timeout(Duration::from_secs(60), release.wait_for(|done| *done)).await;
                    "finally"
                }),
            )
            // 500 for the first four hits, then 200.
            .route(
                "/down",
                get(|State(s): State<Shared>| async move {
                    if count(&s.hits.down) <= 4 { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK }
                }),
            )
            // 500 until the test makes it healthy.
            .route(
                "/sick",
                get(|State(s): State<Shared>| async move {
                    count(&s.hits.sick);
                    if s.healthy.load(Ordering::SeqCst) { StatusCode::OK } else { StatusCode::INTERNAL_SERVER_ERROR }
                }),
            )
            .with_state(shared);
        Self { server: HttpServer::start(router), hits, healthy, release }
    }

    /// A hub whose connection `api` points here with the extra `settings` lines.
    fn hub(&self, settings: &str) -> Hub {
        let hub = Hub::new();
        hub.manifest(&format!(
            "[connections.api]\ntype = \"http\"\nbase_url = \"{}\"\n{settings}\n",
            self.server.url()
        ));
        hub
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        // Lets hanging handlers finish so the server can shut down gracefully.
        let _ = self.release.send(true);
    }
}

fn hits(counter: &AtomicUsize) -> usize {
    counter.load(Ordering::SeqCst)
}

/// The newest run record of the hub.
fn last_run(hub: &Hub) -> Value {
    let runs = hub.cmd(&["runs", "list", "--json", "--limit", "1"]).output().json();
    runs[0].clone()
}

fn warn_lines(run: &Value) -> Vec<String> {
    run["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| line["level"] == "warn")
        .map(|line| line["text"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_connection_retries_until_the_server_recovers_and_the_run_log_shows_it() {
    let upstream = Upstream::start();
    let hub = upstream.hub("retry = { attempts = 3, backoff = \"20ms\", max_backoff = \"100ms\" }");
    hub.script("flaky", r#"let res = http::connection("api").get("/flaky"); #{ status: res.status, text: res.text }"#);
    let out = hub.run("flaky", "{}");
    assert_eq!(out.json(), json!({"status": 200, "text": "up after 3 hits"}));
    assert_eq!(hits(&upstream.hits.flaky), 3);
    for attempt in ["attempt 2 of 3 in", "attempt 3 of 3 in"] {
        let line = format!("[warn] http: GET /flaky on `api` answered 503; {attempt} ");
        assert!(out.stderr.contains(&line), "stderr lacks {line:?}:\n{}", out.stderr);
    }

    let run = last_run(&hub);
    assert_eq!(run["status"], "ok");
    let lines = warn_lines(&run);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("http: GET /flaky on `api` answered 503; attempt 2 of 3 in "), "{lines:?}");
    let shown = hub.cmd(&["runs", "show", run["id"].as_str().unwrap()]).output();
    assert!(shown.stdout.contains("[warn] http: GET /flaky on `api` answered 503; attempt 3 of 3"), "{}", shown.stdout);
}

#[test]
fn retry_after_is_honoured_unless_it_is_longer_than_max_backoff() {
    let upstream = Upstream::start();
    let hub = upstream.hub("retry = { attempts = 3, backoff = \"20ms\", max_backoff = \"2s\" }");
    hub.script(
        "limited",
        r#"
        let api = http::connection("api");
        #{ limited: api.get("/limited").status, busy: api.get("/busy").status }
        "#,
    );
    let out = hub.run("limited", "{}");
    assert_eq!(out.json(), json!({"limited": 200, "busy": 429}), "the last response is returned as data");
    assert_eq!(hits(&upstream.hits.limited), 2);
    assert_eq!(hits(&upstream.hits.busy), 1, "a Retry-After over max_backoff is not waited for");
    let lines = warn_lines(&last_run(&hub));
    assert_eq!(
        lines,
        [
            "http: GET /limited on `api` answered 429; attempt 2 of 3 in 1 s (Retry-After)",
            "http: GET /busy on `api` answered 429; Retry-After asks for 120 s, longer than max_backoff (2 s); not retrying",
        ]
    );
}

#[test]
fn only_idempotent_methods_are_retried_unless_the_call_says_otherwise() {
    let upstream = Upstream::start();
    let hub = upstream.hub("retry = { attempts = 3, backoff = \"10ms\", max_backoff = \"20ms\" }");
    hub.script(
        "methods",
        r#"
        let api = http::connection("api");
        #{
            post: api.post("/unavailable", #{ json: #{ n: 1 } }).status,
            forced: api.post("/unavailable", #{ json: #{ n: 2 }, retry: true }).status,
            put: api.put("/unavailable", #{ body: "x" }).status,
            opted_out: api.get("/unavailable", #{ retry: false }).status,
            custom: api.patch("/unavailable", #{ retry: #{ attempts: 2, backoff: 5 } }).status,
        }
        "#,
    );
    let out = hub.run("methods", "{}").json();
    assert_eq!(out, json!({"post": 503, "forced": 503, "put": 503, "opted_out": 503, "custom": 503}));
    // POST once, forced POST 3, PUT 3, GET with retry: false once, PATCH with attempts: 2.
    assert_eq!(hits(&upstream.hits.unavailable), 1 + 3 + 3 + 1 + 2);
    let lines = warn_lines(&last_run(&hub));
    let posts: Vec<_> = lines.iter().filter(|line| line.starts_with("http: POST")).collect();
    assert_eq!(posts.len(), 3, "only the forced POST was retried: {lines:#?}");
    assert_eq!(posts[2], "http: POST /unavailable on `api` answered 503; giving up after 3 attempts");
    assert!(
        lines.iter().any(|line| line == "http: PATCH /unavailable on `api` answered 503; giving up after 2 attempts")
    );
    assert!(!lines.iter().any(|line| line.starts_with("http: GET")), "{lines:#?}");

    hub.script("mistake", r#"http::connection("api").get("/flaky", #{ retry: #{ atempts: 2 } })"#);
    hub.run("mistake", "{}").fails_with(1, &["http.get: unknown `retry` key `atempts` (did you mean `attempts`?)"]);
    hub.script("mistake2", r#"http::connection("api").get("/flaky", #{ retry: "yes" })"#);
    hub.run("mistake2", "{}").fails_with(1, &["http.get: `retry` must be true, false or a map"]);
}

#[test]
fn plain_urls_retry_only_when_the_call_asks() {
    let upstream = Upstream::start();
    let hub = Hub::new();
    hub.script(
        "plain",
        r#"
        let url = input.base + "/flaky";
        let first = http::get(url).status;
        let retried = http::get(url, #{ retry: #{ attempts: 3, backoff: "10ms" } });
        #{ first: first, retried: retried.status, text: retried.text }
        "#,
    );
    let input = json!({ "base": upstream.server.url() }).to_string();
    let out = hub.run("plain", &input);
    assert_eq!(out.json(), json!({"first": 503, "retried": 200, "text": "up after 3 hits"}));
    assert_eq!(hits(&upstream.hits.flaky), 3);
    assert!(out.stderr.contains("/flaky answered 503; attempt 2 of 3 in"), "{}", out.stderr);
}

#[test]
fn retries_never_outlive_the_run_deadline() {
    let upstream = Upstream::start();
    let hub =
        upstream.hub("timeout = \"300ms\"\nretry = { attempts = 20, backoff = \"50ms\", max_backoff = \"100ms\" }");
    let manifest = hub.read("switchboard.toml");
    hub.manifest(&format!("[limits]\ntimeout = \"1s\"\n\n{manifest}"));
    hub.script("hang", r#"http::connection("api").get("/hang")"#);
    let out = hub.run("hang", "{}");
    out.fails_with(1, &["http.get: GET", "/hang (connection `api`): timed out after", "before the run's deadline"]);
    let attempts = hits(&upstream.hits.hang);
    assert!((1..20).contains(&attempts), "{attempts} attempts within a 1s run");
    let run = last_run(&hub);
    assert_ne!(run["status"], "ok");
    assert!(run["error"].as_str().unwrap().contains("timed out"), "{run}");
}

#[test]
fn the_circuit_opens_fails_fast_and_closes_after_a_good_trial() {
    let upstream = Upstream::start();
    let hub = upstream.hub("circuit = { failures = 3, cooldown = \"1s\" }");
    hub.script(
        "circuit",
        r#"
        let api = http::connection("api");
        let seen = [];
        for i in 0..3 { seen.push(api.get("/down").status); }
        let refused = ();
        try { api.get("/down"); } catch (err) { refused = err; }
        time::sleep(1100);
        seen.push(api.get("/down").status);
        let refused_again = ();
        try { api.get("/down"); } catch (err) { refused_again = err; }
        time::sleep(1100);
        seen.push(api.get("/down").status);
        seen.push(api.get("/down").status);
        #{ seen: seen, refused: refused, refused_again: refused_again }
        "#,
    );
    let out = hub.run("circuit", "{}");
    let result = out.json();
    assert_eq!(result["seen"], json!([500, 500, 500, 500, 200, 200]));
    let refused = result["refused"].as_str().unwrap();
    assert!(
        refused.starts_with("http.get: circuit open for connection `api` (3 consecutive failures; next trial in "),
        "{refused}"
    );
    let refused_again = result["refused_again"].as_str().unwrap();
    assert!(refused_again.starts_with("http.get: circuit open for connection `api` (4 consecutive failures"));
    assert_eq!(hits(&upstream.hits.down), 6, "refused calls never reach the server");
    let lines = warn_lines(&last_run(&hub));
    let expected = [
        "http: circuit of `api` opened after 3 consecutive failures; calls fail fast for 1 s",
        "http: GET /down on `api` refused: circuit of `api` is open (3 consecutive failures; next trial in ",
        "http: circuit of `api` half-open; GET /down on `api` is the trial request",
        "http: circuit of `api` opened again; the trial request failed (next trial in 1 s)",
        "http: GET /down on `api` refused: circuit of `api` is open (4 consecutive failures; next trial in ",
        "http: circuit of `api` half-open; GET /down on `api` is the trial request",
        "http: circuit of `api` closed; the trial request GET /down on `api` succeeded",
    ];
    assert_eq!(lines.len(), expected.len(), "{lines:#?}");
    for (line, start) in lines.iter().zip(expected) {
        assert!(line.starts_with(start), "{line:?} should start with {start:?}");
    }
}

#[test]
fn circuit_state_persists_across_requests_and_shows_in_metrics() {
    let upstream = Upstream::start();
    let hub = upstream.hub(
        "retry = { attempts = 2, backoff = \"10ms\", max_backoff = \"10ms\" }\ncircuit = { failures = 2, cooldown = \"2s\" }\n\n\
         [[route]]\nmethod = \"GET\"\npath = \"/check\"\nscript = \"check\"\nauth = \"public\"\n\n\
         [[key]]\nname = \"ops\"\ntoken = \"admin-token-1\"\nscopes = [\"admin\"]\n",
    );
    hub.script(
        "check",
        r#"
        let result = #{};
        try { result.status = http::connection("api").get("/sick").status; } catch (err) { result.error = err; }
        result
        "#,
    );
    let server = hub.serve();
    let metric = |server: &Server, name: &str| {
        let reply = server.get("/_/metrics", &[("x-api-key", "admin-token-1")]);
        assert_eq!(reply.status, 200, "{}", reply.text);
        let prefix = format!("{name}{{connection=\"api\"}} ");
        reply.text.lines().find_map(|line| line.strip_prefix(&prefix).map(str::to_string))
    };

    // Two failed attempts (one retry) open the circuit; the 500 is returned as data.
    assert_eq!(server.get("/check", &[]).json(), json!({"status": 500}));
    assert_eq!(hits(&upstream.hits.sick), 2);
    assert_eq!(metric(&server, "switchboard_circuit_state").as_deref(), Some("1"));
    assert_eq!(metric(&server, "switchboard_connection_retries_total").as_deref(), Some("1"));

    // The next request, a new run, fails fast without reaching the upstream.
    let refused = server.get("/check", &[]).json();
    let error = refused["error"].as_str().unwrap();
    assert!(error.starts_with("http.get: circuit open for connection `api` (2 consecutive failures"), "{error}");
    assert_eq!(hits(&upstream.hits.sick), 2);

    // Once the upstream is healthy, the first call after the cooldown is the trial and closes it.
    upstream.healthy.store(true, Ordering::SeqCst);
    let closed = wait_until(Duration::from_secs(10), || server.get("/check", &[]).json() == json!({"status": 200}));
    assert!(closed, "the circuit never closed; stderr:\n{}", server.stderr());
    assert_eq!(hits(&upstream.hits.sick), 3, "only the trial reached the upstream");
    assert_eq!(metric(&server, "switchboard_circuit_state").as_deref(), Some("0"));
}

#[test]
fn bad_retry_and_circuit_settings_are_config_errors() {
    let hub = Hub::new();
    hub.script("noop", "1");
    let cases = [
        ("retry = { attempts = 0 }", "connections.api.retry.attempts: must be between 1 and 100, not 0"),
        (
            "retry = { methods = [\"GET\", \"DELET\"] }",
            "connections.api.retry.methods: unknown method `DELET` (did you mean `DELETE`?)",
        ),
        ("retry = { backoff = \"10s\", max_backoff = \"1s\" }", "`backoff` (10s) is longer than `max_backoff` (1s)"),
        ("retry = { backoff = \"soon\" }", "connections.api.retry.backoff: invalid duration `soon`"),
        ("retry = { atempts = 3 }", "connections.api.retry"),
        ("circuit = { failures = 0 }", "connections.api.circuit.failures: must be at least 1"),
        ("circuit = { cooldown = \"0s\" }", "connections.api.circuit.cooldown: must be longer than 0s"),
    ];
    for (setting, expected) in cases {
        hub.manifest(&format!("[connections.api]\ntype = \"http\"\nbase_url = \"http://127.0.0.1:9\"\n{setting}\n"));
        hub.cmd(&["check"]).output().fails_with(2, &[expected]);
    }
    hub.manifest("[connections.db]\ntype = \"sqlite\"\npath = \"data/x.db\"\nretry = { attempts = 2 }\n");
    hub.cmd(&["check"]).output().fails_with(2, &["`retry` does not apply to a sqlite connection"]);
}
