//! `switchboard serve`: routing, statuses, input and event, limits, shutdown.

use crate::harness::{Hub, wait_until};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

fn hub() -> Hub {
    let hub = Hub::new();
    hub.manifest(
        r#"
[server]
max_body = "1KB"

[[route]]
method = "GET"
path = "/json"
script = "json"
auth = "public"

[[route]]
method = "GET"
path = "/text"
script = "text"
auth = "public"

[[route]]
method = "POST"
path = "/nothing"
script = "nothing"
auth = "public"

[[route]]
method = "POST"
path = "/items/{id}"
script = "echo"
auth = "public"

[[route]]
method = "GET"
path = "/files/:folder/*"
script = "echo"
auth = "public"

[[route]]
method = "PUT"
path = "/created"
script = "created"
auth = "public"

[[route]]
method = "GET"
path = "/fail"
script = "fail"
auth = "public"

[[route]]
method = "GET"
path = "/throw"
script = "throw"
auth = "public"

[[route]]
method = "GET"
path = "/slow"
script = "spin"
auth = "public"
timeout = "300ms"
max_operations = 1_000_000_000_000

[[route]]
method = "GET"
path = "/limited"
script = "json"
auth = "public"
rate_limit = "2/minute"

[[route]]
method = "GET"
path = "/search"
script = "echo"
auth = "public"
query = { q = { type = "string", required = true }, page = { type = "integer", default = 1 }, exact = { type = "boolean" }, sort = { enum = ["asc", "desc"] } }

[[route]]
method = "POST"
path = "/tasks"
script = "echo"
auth = "public"
body_schema = "schemas/task.json"
"#,
    );
    hub.script("json", r#"#{ ok: true }"#)
        .script("text", r#""plain words""#)
        .script("nothing", "let x = 1; ()")
        .script("echo", "#{ input: input, event: event }")
        .script("created", r#"response(201, #{ id: 7 }, #{ location: "/created/7" })"#)
        .script("fail", r#"fail(404, "no such thing")"#)
        .script("throw", "let secret_source_marker = 1;\nthrow \"internal detail\";")
        .script("spin", "loop { }")
        .file(
            "schemas/task.json",
            r#"{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                "properties": {"title": {"type": "string", "minLength": 1}, "priority": {"type": "integer"}},
                "required": ["title"]}"#,
        );
    hub
}

#[test]
fn results_map_to_statuses_and_every_response_has_a_run_id() {
    let hub = hub();
    let server = hub.serve();
    let ok = server.get("/json", &[]);
    assert_eq!((ok.status, ok.json()), (200, json!({"ok": true})));
    assert_eq!(ok.header("content-type").as_deref(), Some("application/json"));
    let text = server.get("/text", &[]);
    assert_eq!((text.status, text.text.as_str()), (200, "plain words"));
    assert!(text.header("content-type").unwrap().starts_with("text/plain"));
    let nothing = server.send(Method::POST, "/nothing", &[], None);
    assert_eq!((nothing.status, nothing.text.as_str()), (204, ""));
    let created = server.send(Method::PUT, "/created", &[], None);
    assert_eq!((created.status, created.json()), (201, json!({"id": 7})));
    assert_eq!(created.header("location").as_deref(), Some("/created/7"));
    let failed = server.get("/fail", &[]);
    assert_eq!((failed.status, failed.json()), (404, json!({"error": "no such thing"})));
    let missing = server.get("/nowhere", &[]);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"], "no route for GET /nowhere");
    // Under the built-in endpoints' prefix, an unknown path is still the hub's to answer.
    let unknown = server.get("/_/nowhere", &[]);
    assert_eq!((unknown.status, unknown.json()["error"].as_str()), (404, Some("no route for GET /_/nowhere")));
    let wrong = server.send(Method::DELETE, "/json", &[], None);
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("allow").as_deref(), Some("GET"));
    // The answers of runs name their record; a request no run answered has no id to give.
    for reply in [ok, text, nothing, created, failed] {
        assert!(reply.header("x-run-id").is_some_and(|id| id.len() == 36), "{reply:?}");
    }
    for reply in [missing, unknown, wrong] {
        assert_eq!(reply.header("x-run-id"), None, "{reply:?}");
    }
}

#[test]
fn script_errors_are_500_without_internals_and_logged_with_the_run_id() {
    let hub = hub();
    let server = hub.serve();
    let reply = server.get("/throw", &[]);
    assert_eq!(reply.status, 500);
    let body = reply.json();
    let run_id = reply.header("x-run-id").unwrap();
    assert_eq!(body["run_id"], run_id.as_str());
    assert!(!reply.text.contains("internal detail") && !reply.text.contains("secret_source_marker"), "{}", reply.text);
    assert!(wait_until(Duration::from_secs(5), || server.stderr().contains(&run_id)));
    assert!(wait_until(Duration::from_secs(5), || server.stderr().contains("internal detail")));
}

#[test]
fn a_runaway_script_gets_504_and_the_server_stays_up() {
    let hub = hub();
    let server = hub.serve();
    let reply = server.get("/slow", &[]);
    assert_eq!(reply.status, 504);
    assert!(reply.json()["error"].as_str().unwrap().contains("timed out after 300ms"));
    assert_eq!(reply.json()["run_id"], reply.header("x-run-id").unwrap().as_str());
    assert_eq!(server.get("/json", &[]).status, 200);
}

#[test]
fn input_merges_body_over_path_over_query_and_event_describes_the_request() {
    let hub = hub();
    let server = hub.serve();
    let reply = server.send(
        Method::POST,
        "/items/42?id=from-query&color=red&size=from-query",
        &[("content-type", "application/json"), ("x-trace", "abc"), ("authorization", "Bearer not-for-scripts")],
        Some(r#"{"size": "from-body", "n": 3}"#),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let out = reply.json();
    assert_eq!(out["input"], json!({"id": "42", "color": "red", "size": "from-body", "n": 3}));
    let event = &out["event"];
    assert_eq!(event["kind"], "http");
    assert_eq!(event["method"], "POST");
    assert_eq!(event["path"], "/items/42");
    assert_eq!(event["route"], "/items/{id}");
    assert_eq!(event["params"], json!({"id": "42"}));
    assert_eq!(event["query"]["color"], "red");
    assert_eq!(event["headers"]["x-trace"], "abc");
    assert!(event["headers"].get("authorization").is_none(), "credentials never reach scripts");
    assert_eq!(event["body"], r#"{"size": "from-body", "n": 3}"#);
    assert_eq!(event["client"], serde_json::Value::Null);
    assert_eq!(event["run_id"], reply.header("x-run-id").unwrap().as_str());
}

#[test]
fn form_and_text_bodies_and_wildcards() {
    let hub = hub();
    let server = hub.serve();
    let form = server.send(
        Method::POST,
        "/items/1",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some("name=Ada+Lovelace&lang=en"),
    );
    assert_eq!(form.json()["input"], json!({"id": "1", "name": "Ada Lovelace", "lang": "en"}));
    let text = server.send(Method::POST, "/items/2", &[("content-type", "text/plain")], Some("just words"));
    assert_eq!(text.json()["input"], json!({"id": "2"}));
    assert_eq!(text.json()["event"]["body"], "just words");
    let curl_style = server.send(
        Method::POST,
        "/items/3",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(r#"{"title": "sent with curl -d"}"#),
    );
    assert_eq!(curl_style.json()["input"]["title"], "sent with curl -d");
    let wildcard = server.get("/files/docs/a/b/c.txt", &[]);
    assert_eq!(wildcard.json()["input"], json!({"folder": "docs", "rest": "a/b/c.txt"}));
}

#[test]
fn a_form_body_is_converted_to_the_types_its_schema_declares() {
    let hub = hub();
    let server = hub.serve();
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let sent = server.send(Method::POST, "/tasks", &form, Some("title=Water+plants&priority=2"));
    assert_eq!(sent.status, 200, "{}", sent.text);
    assert_eq!(sent.json()["input"], json!({"title": "Water plants", "priority": 2}));
    // A field that does not convert is named, as a declared query parameter would be.
    let wrong = server.send(Method::POST, "/tasks", &form, Some("title=x&priority=soon"));
    assert_eq!(wrong.status, 400, "{}", wrong.text);
    assert_eq!(wrong.json()["details"], json!([{"field": "priority", "message": "`soon` is not an integer"}]));
    // A field the schema declares as a string stays text, digits and all.
    let digits = server.send(Method::POST, "/tasks", &form, Some("title=42"));
    assert_eq!(digits.json()["input"], json!({"title": "42"}));
}

#[test]
fn malformed_json_is_400_saying_where() {
    let hub = hub();
    let server = hub.serve();
    let reply =
        server.send(Method::POST, "/items/1", &[("content-type", "application/json")], Some("{\"a\": \n  tru }"));
    assert_eq!(reply.status, 400);
    let body = reply.json();
    assert!(body["error"].as_str().unwrap().contains("not valid JSON"), "{body}");
    assert_eq!(body["details"][0]["message"], "line 2, column 6");
}

#[test]
fn query_parameters_are_validated_and_converted() {
    let hub = hub();
    let server = hub.serve();
    let ok = server.get("/search?q=rust&exact=true&sort=asc&extra=kept", &[]);
    assert_eq!(ok.json()["input"], json!({"q": "rust", "page": 1, "exact": true, "sort": "asc", "extra": "kept"}));
    let bad = server.get("/search?page=two&exact=maybe&sort=up", &[]);
    assert_eq!(bad.status, 400);
    let details = bad.json()["details"].clone();
    let fields: Vec<&str> = details.as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["exact", "page", "q", "sort"]);
    assert_eq!(details[2]["message"], "is required");
}

#[test]
fn bodies_are_checked_against_the_route_schema() {
    let hub = hub();
    let server = hub.serve();
    let json = [("content-type", "application/json")];
    let ok = server.send(Method::POST, "/tasks", &json, Some(r#"{"title": "write", "priority": 2}"#));
    assert_eq!(ok.status, 200, "{}", ok.text);
    let bad = server.send(Method::POST, "/tasks", &json, Some(r#"{"title": "", "priority": "high"}"#));
    assert_eq!(bad.status, 400);
    let body = bad.json();
    let fields: Vec<&str> = body["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"title") && fields.contains(&"priority"), "{body}");
    let missing = server.send(Method::POST, "/tasks", &json, Some("{}"));
    assert_eq!(missing.status, 400);
    assert!(missing.json()["details"][0]["message"].as_str().unwrap().contains("title"));
}

#[test]
fn oversize_bodies_are_413() {
    let hub = hub();
    let server = hub.serve();
    let big = format!(r#"{{"blob": "{}"}}"#, "x".repeat(2_000));
    let reply = server.send(Method::POST, "/items/1", &[("content-type", "application/json")], Some(&big));
    assert_eq!(reply.status, 413);
    assert!(reply.json()["error"].as_str().unwrap().contains("server.max_body"));
}

#[test]
fn rate_limits_answer_429_with_retry_after() {
    let hub = hub();
    let server = hub.serve();
    let first = server.get("/limited", &[]);
    assert_eq!(first.status, 200);
    assert_eq!(first.header("ratelimit-limit").as_deref(), Some("2"));
    assert_eq!(first.header("ratelimit-remaining").as_deref(), Some("1"));
    assert_eq!(server.get("/limited", &[]).status, 200);
    let third = server.get("/limited", &[]);
    assert_eq!(third.status, 429);
    let retry: u64 = third.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(third.header("ratelimit-remaining").as_deref(), Some("0"));
}

#[test]
fn two_hundred_blocking_requests_complete_while_a_cheap_route_stays_responsive() {
    let hub = Hub::new();
    hub.manifest(
        "[[route]]\nmethod = \"GET\"\npath = \"/sleep\"\nscript = \"sleep\"\nauth = \"public\"\n\n\
         [[route]]\nmethod = \"GET\"\npath = \"/spin\"\nscript = \"spin\"\nauth = \"public\"\ntimeout = \"60s\"\nmax_operations = 1_000_000_000_000\n\n\
         [[route]]\nmethod = \"GET\"\npath = \"/hello\"\nscript = \"hello\"\nauth = \"public\"\n",
    );
    // The spinning runs go on until told to stop (their 60 s timeout is only a backstop), so the
    // hello is answered while they spin however slow the machine: no time margin decides it.
    let spin = "loop { let i = 0; while i < 100_000 { i += 1; } if fs::exists(\"stop\") { break } } \"stopped\"";
    hub.script("sleep", "time::sleep(500); \"rested\"").script("spin", spin).script("hello", "\"hi\"");
    let server = hub.serve();
    let base = server.base.clone();
    let stop = hub.path().join("stop");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async move {
        let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        let sleepers: Vec<_> = (0..200)
            .map(|_| {
                let (client, url) = (client.clone(), format!("{base}/sleep"));
                tokio::spawn(async move { client.get(url).send().await.map(|r| r.status().as_u16()) })
            })
            .collect();
        // Long CPU loops hold no worker either: the cheap route answers while they spin.
        let spinners: Vec<_> = (0..4)
            .map(|_| {
                let (client, url) = (client.clone(), format!("{base}/spin"));
                tokio::spawn(async move { client.get(url).send().await.map(|r| r.status().as_u16()) })
            })
            .collect();
        let hello = client.get(format!("{base}/hello")).send().await.unwrap();
        assert_eq!(hello.status().as_u16(), 200);
        assert!(spinners.iter().all(|task| !task.is_finished()), "hello must not wait for the spinning runs");
        for task in sleepers {
            assert_eq!(task.await.unwrap().unwrap(), 200);
        }
        std::fs::write(stop, "").unwrap();
        for task in spinners {
            assert_eq!(task.await.unwrap().unwrap(), 200);
        }
    });
}

#[test]
fn sigterm_lets_in_flight_requests_finish_then_exits_0() {
    let hub = Hub::new();
    hub.manifest("[[route]]\nmethod = \"GET\"\npath = \"/sleep\"\nscript = \"sleep\"\nauth = \"public\"\n");
    hub.script("sleep", "state::set(\"started\", true); time::sleep(700); \"finished\"");
    let mut server = hub.serve();
    let url = server.url("/sleep");
    let request = std::thread::spawn(move || reqwest::blocking::get(url).and_then(|r| r.text()));
    // Wait (bounded) until the run has started, then ask the server to stop.
    let store = hub.path().join("data/switchboard.db");
    assert!(wait_until(Duration::from_secs(10), || store.exists()
        && rusqlite::Connection::open(&store)
            .and_then(|c| c.query_row("SELECT count(*) FROM state WHERE key = 'started'", [], |r| r.get::<_, i64>(0)))
            .is_ok_and(|n| n == 1)));
    let status = std::process::Command::new("kill").args(["-TERM", &server.pid().to_string()]).status().unwrap();
    assert!(status.success());
    assert_eq!(request.join().unwrap().unwrap(), "finished");
    assert_eq!(server.wait_exit(Duration::from_secs(15)), Some(0));
    // The exit may come before the harness has read the last of stderr.
    assert!(wait_until(Duration::from_secs(5), || server.stderr().contains("shutting down")));
}

#[test]
fn serve_refuses_a_hub_with_broken_scripts() {
    let hub = Hub::new();
    hub.script("bad", "let = ;");
    hub.cmd(&["serve", "--listen", "127.0.0.1:0"]).output().fails_with(1, &["scripts/bad.rhai:1:5", "do not compile"]);
}

#[test]
fn reserved_paths_are_refused() {
    let hub = Hub::new();
    hub.manifest("[[route]]\nmethod = \"GET\"\npath = \"/_/admin\"\nscript = \"x\"\n").script("x", "1");
    hub.cmd(&["check"]).output().fails_with(2, &["route[0].path", "reserved"]);
}

#[test]
fn health_reports_ok() {
    let hub = hub();
    let server = hub.serve();
    let reply = server.get("/_/health", &[]);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["status"], "ok");
}

#[test]
fn a_second_serve_on_one_hub_is_refused_naming_the_first() {
    let hub = hub();
    let mut first = hub.serve();
    let pid = first.pid().to_string();
    hub.cmd(&["serve", "--listen", "127.0.0.1:0"])
        .output_within(Duration::from_secs(30))
        .fails_with(2, &["already being served", &pid, "serve.lock"]);
    // The commands that read the hub keep working beside it; scripts cannot hide who holds it.
    hub.script("unlock", r#"fs::write("data/serve.lock", "1")"#);
    hub.run("unlock", "{}").fails_with(1, &["the running hub's lock"]);
    assert_eq!(hub.cmd(&["check"]).output().code, 0);
    assert_eq!(hub.cmd(&["runs", "list"]).output().code, 0);
    // The lock dies with its holder, even by kill -9.
    std::process::Command::new("kill").args(["-KILL", &pid]).status().unwrap();
    assert!(first.wait_exit(Duration::from_secs(10)).is_none_or(|code| code != 0));
    let second = hub.serve();
    assert_eq!(second.get("/_/health", &[]).status, 200);
}

#[test]
fn a_serve_that_cannot_listen_runs_nothing() {
    let hub = Hub::new();
    hub.manifest("[[cron]]\nname = \"tick\"\nschedule = \"* * * * * *\"\nscript = \"tick\"\n")
        .script("tick", "state::set(\"ticked\", true)");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    hub.cmd(&["serve", "--listen", &address])
        .output_within(Duration::from_secs(30))
        .fails_with(2, &["cannot listen on", &address]);
    // Nothing started: no queue, no scheduler, so not even the store was opened.
    assert!(!hub.path().join("data/switchboard.db").exists(), "the store was opened before the listener was bound");
}
