//! The run log: records, filters, the `runs` commands, the admin API and metrics.

use crate::harness::Hub;
use serde_json::Value;

fn runs(hub: &Hub, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["runs", "list", "--json"];
    all.extend_from_slice(args);
    hub.cmd(&all).output().json().as_array().unwrap().clone()
}

fn hub() -> Hub {
    let hub = Hub::new();
    hub.manifest("[limits]\ntimeout = \"300ms\"\nmax_operations = 1_000_000_000_000\n");
    hub.script("ok", r#"print("working on " + input.name); log::warn("careful"); #{ greeting: "hi " + input.name }"#)
        .script("bad", "print(\"about to fail\");\nthrow \"it broke\";")
        .script("slow", "loop {}");
    hub
}

#[test]
fn every_run_is_recorded_with_status_lines_and_error_position() {
    let hub = hub();
    assert_eq!(hub.run("ok", r#"{"name": "Ada"}"#).code, 0);
    assert_eq!(hub.run("bad", "{}").code, 1);
    assert_eq!(hub.run("slow", "{}").code, 1);
    let records = runs(&hub, &[]);
    let statuses: Vec<&str> = records.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["timeout", "error", "ok"], "newest first");
    let ok = &records[2];
    assert_eq!(ok["script"], "ok");
    assert_eq!(ok["trigger"], "manual");
    assert_eq!(ok["input"], serde_json::json!({"name": "Ada"}));
    assert_eq!(ok["lines"][0], serde_json::json!({"level": "print", "text": "working on Ada"}));
    assert_eq!(ok["lines"][1], serde_json::json!({"level": "warn", "text": "careful"}));
    assert_eq!(ok["result"], r#"{"greeting":"hi Ada"}"#);
    let bad = &records[1];
    assert_eq!(bad["error"], "scripts/bad.rhai:2:1: it broke");
    assert_eq!(bad["lines"][0]["text"], "about to fail");
    assert!(records[0]["error"].as_str().unwrap().contains("timed out after 300ms"));
}

#[test]
fn filters_and_show() {
    let hub = hub();
    hub.run("ok", r#"{"name": "A"}"#);
    hub.run("ok", r#"{"name": "B"}"#);
    hub.run("bad", "{}");
    assert_eq!(runs(&hub, &["--status", "error"]).len(), 1);
    assert_eq!(runs(&hub, &["--script", "ok"]).len(), 2);
    assert_eq!(runs(&hub, &["--limit", "1"]).len(), 1);
    assert_eq!(runs(&hub, &["--since", "1h"]).len(), 3);
    assert_eq!(runs(&hub, &["--since", "2999-01-01T00:00:00Z"]).len(), 0);
    let table = hub.cmd(&["runs", "list", "--status", "error"]).output();
    assert!(table.stdout.contains("scripts/bad.rhai:2:1: it broke"), "{}", table.stdout);
    let id = runs(&hub, &["--status", "error"])[0]["id"].as_str().unwrap().to_string();
    let shown = hub.cmd(&["runs", "show", &id[..13]]).output();
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown.stdout.contains("status    error") && shown.stdout.contains("[print] about to fail"),
        "{}",
        shown.stdout
    );
    let json = hub.cmd(&["runs", "show", &id, "--json"]).output().json();
    assert_eq!(json["id"], id.as_str());
    hub.cmd(&["runs", "show", "nope-nope-nope"]).output().fails_with(2, &["no run `nope-nope-nope`"]);
    hub.cmd(&["runs", "list", "--since", "yesterday-ish"]).output().fails_with(2, &["since `yesterday-ish`"]);
    // Statuses are a closed set: a typo is refused with the possible values, not "no runs match".
    hub.cmd(&["runs", "list", "--status", "bogus"])
        .output()
        .fails_with(2, &["'bogus'", "ok", "error", "timeout", "interrupted", "skipped", "dead"]);
}

#[test]
fn the_runs_table_shows_long_triggers_whole() {
    let hub = Hub::new();
    let path = "/hooks/a-rather-long-webhook-path/with/{several}/segments";
    hub.manifest(&format!("[[route]]\nmethod = \"POST\"\npath = \"{path}\"\nscript = \"ok\"\nauth = \"public\"\n"));
    hub.script("ok", "42");
    let server = hub.serve();
    let reply = server.send(reqwest::Method::POST, "/hooks/a-rather-long-webhook-path/with/x/segments", &[], None);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(crate::harness::wait_until(std::time::Duration::from_secs(10), || !runs(&hub, &[]).is_empty()));
    let table = hub.cmd(&["runs", "list"]).output();
    assert!(table.stdout.contains(&format!("http POST {path}")), "{}", table.stdout);
}

#[test]
fn retry_runs_the_same_input_again() {
    let hub = hub();
    hub.run("ok", r#"{"name": "Grace"}"#);
    let id = runs(&hub, &[])[0]["id"].as_str().unwrap().to_string();
    let out = hub.cmd(&["runs", "retry", &id]).output();
    assert_eq!(out.json(), serde_json::json!({"greeting": "hi Grace"}));
    let records = runs(&hub, &[]);
    assert_eq!(records[0]["retry_of"], id.as_str());
    assert_eq!(records[0]["attempt"], 2);
}

#[test]
fn a_secret_never_appears_in_the_run_log() {
    let hub = Hub::new();
    hub.manifest("[connections.api]\ntype = \"http\"\nbase_url = \"http://127.0.0.1:9\"\nheaders = { X-Token = \"${API_SECRET}\" }\n")
        .file(".env", "API_SECRET=sup3r-secret-value\n")
        .script("leaky", "print(`token is ${input.token}`);\nthrow `failed with ${input.token}`;");
    let out = hub.run("leaky", r#"{"token": "sup3r-secret-value"}"#);
    assert!(!out.stderr.contains("sup3r-secret-value"), "{}", out.stderr);
    let db = rusqlite::Connection::open(hub.path().join("data/switchboard.db")).unwrap();
    let everything: String =
        db.query_row("SELECT group_concat(records) FROM run_batches", [], |row| row.get(0)).unwrap();
    assert!(everything.contains("***"), "{everything}");
    assert!(!everything.contains("sup3r-secret-value"), "{everything}");
}

fn admin_hub() -> Hub {
    let hub = Hub::new();
    hub.manifest(
        "[[route]]\nmethod = \"GET\"\npath = \"/hello\"\nscript = \"hello\"\nauth = \"public\"\n\n\
         [[key]]\nname = \"ops\"\ntoken = \"admin-token-1\"\nscopes = [\"admin\"]\n\n\
         [[key]]\nname = \"app\"\ntoken = \"app-token-12\"\nscopes = [\"tasks:read\"]\n",
    );
    hub.script("hello", r#"print("hello ran"); "hi""#);
    hub
}

#[test]
fn admin_api_needs_the_admin_scope_and_serves_runs() {
    let hub = admin_hub();
    let server = hub.serve();
    let reply = server.get("/hello?name=Ada", &[("x-trace", "7"), ("cookie", "session=secret")]);
    let run_id = reply.header("x-run-id").unwrap();
    assert_eq!(server.get("/_/runs", &[]).status, 401);
    assert_eq!(server.get("/_/runs", &[("x-api-key", "app-token-12")]).status, 403);
    assert_eq!(server.get("/_/metrics", &[("x-api-key", "app-token-12")]).status, 403);
    let admin = [("authorization", "Bearer admin-token-1")];
    let list = server.get("/_/runs?script=hello&status=ok&since=1h", &admin);
    assert_eq!(list.status, 200, "{}", list.text);
    let records = list.json()["runs"].as_array().unwrap().clone();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["id"], run_id.as_str());
    assert_eq!(records[0]["trigger"], "http");
    assert_eq!(records[0]["detail"], "GET /hello");
    // A HEAD request answered by the GET route is recorded as what it was.
    let head = server.send(reqwest::Method::HEAD, "/hello", &[], None);
    let head_id = head.header("x-run-id").unwrap();
    let head_record = server.get(&format!("/_/runs/{head_id}"), &admin).json();
    assert_eq!((head.status, head_record["detail"].as_str()), (200, Some("HEAD /hello")));
    let one = server.get(&format!("/_/runs/{run_id}"), &admin);
    let one = one.json();
    assert_eq!(one["lines"][0]["text"], "hello ran");
    // Input and event are stored as the script got them (its event written from the request,
    // since the script never names it).
    assert_eq!(one["input"], serde_json::json!({"name": "Ada"}));
    let event = &one["event"];
    assert_eq!((event["kind"].as_str(), event["method"].as_str()), (Some("http"), Some("GET")));
    assert_eq!(event["query"], serde_json::json!({"name": "Ada"}));
    assert_eq!(event["headers"]["x-trace"], "7");
    assert!(event["headers"].get("cookie").is_none(), "credentials are not stored: {event}");
    assert_eq!(server.get("/_/runs/not-a-run-id", &admin).status, 404);
    assert_eq!(server.get("/_/health", &[]).status, 200, "health stays public");
}

#[test]
fn a_deeply_nested_request_body_hides_no_run_from_the_log() {
    let hub = admin_hub();
    hub.manifest(
        "[[route]]\nmethod = \"POST\"\npath = \"/deep\"\nscript = \"deep\"\nauth = \"public\"\n\n\
         [[route]]\nmethod = \"GET\"\npath = \"/hello\"\nscript = \"hello\"\nauth = \"public\"\n\n\
         [[key]]\nname = \"ops\"\ntoken = \"admin-token-1\"\nscopes = [\"admin\"]\n",
    );
    hub.script("deep", "input.len()");
    let server = hub.serve();
    // 126 levels: accepted by the request parser, but with its record and batch around it past
    // serde_json's 128, which made the batch, and every run written with it, unreadable.
    let body = format!("{{\"x\":{}{}}}", "[".repeat(125), "]".repeat(125));
    let json = [("content-type", "application/json")];
    let deep = server.send(reqwest::Method::POST, "/deep", &json, Some(&body));
    assert_eq!((deep.status, deep.text.as_str()), (200, "1"));
    let hello = server.get("/hello", &[]);
    let admin = [("authorization", "Bearer admin-token-1")];
    // The listing nests the body deeper than serde_json reads by default, as a client would see.
    let read = |text: &str| {
        let mut reader = serde_json::Deserializer::from_str(text);
        reader.disable_recursion_limit();
        <Value as serde::Deserialize>::deserialize(&mut reader).unwrap()
    };
    let list = read(&server.get("/_/runs", &admin).text);
    let listed: Vec<&str> = list["runs"].as_array().unwrap().iter().filter_map(|run| run["id"].as_str()).collect();
    let ids = [hello.header("x-run-id").unwrap(), deep.header("x-run-id").unwrap()];
    assert_eq!(listed, ids.iter().map(String::as_str).collect::<Vec<_>>());
    let record = read(&server.get(&format!("/_/runs/{}", ids[1]), &admin).text);
    assert_eq!(record["input"], read(&body));
    // Deeper than that, the request is refused with where its body went wrong.
    let deeper = format!("{{\"x\":{}{}}}", "[".repeat(200), "]".repeat(200));
    let refused = server.send(reqwest::Method::POST, "/deep", &json, Some(&deeper));
    assert_eq!(refused.status, 400);
    assert!(refused.text.contains("recursion limit exceeded at line 1 column"), "{}", refused.text);
}

#[test]
fn a_script_reading_event_gets_what_its_record_stores() {
    let hub = admin_hub();
    hub.manifest(
        "[[route]]\nmethod = \"POST\"\npath = \"/items/{id}\"\nscript = \"peek\"\nauth = \"public\"\n\n\
         [[key]]\nname = \"ops\"\ntoken = \"admin-token-1\"\nscopes = [\"admin\"]\n",
    );
    hub.script("peek", "event");
    let server = hub.serve();
    let reply = server.send(
        reqwest::Method::POST,
        "/items/7?x=1",
        &[("content-type", "application/json"), ("cookie", "session=secret")],
        Some(r#"{"a":1}"#),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let seen = reply.json();
    let admin = [("authorization", "Bearer admin-token-1")];
    let record = server.get(&format!("/_/runs/{}", reply.header("x-run-id").unwrap()), &admin).json();
    assert_eq!(record["detail"], "POST /items/{id}");
    let mut stored = record["event"].clone();
    stored["run_id"] = seen["run_id"].clone();
    assert_eq!(stored, seen, "the record keeps the event the script read (its run id aside)");
    assert_eq!((seen["params"]["id"].as_str(), seen["query"]["x"].as_str()), (Some("7"), Some("1")));
    assert!(seen["headers"].get("cookie").is_none(), "credentials are not in the event: {seen}");
}

#[test]
fn metrics_parse_as_prometheus_text() {
    let hub = admin_hub();
    let server = hub.serve();
    for _ in 0..3 {
        assert_eq!(server.get("/hello", &[]).status, 200);
    }
    server.get("/missing", &[]);
    let reply = server.get("/_/metrics", &[("x-api-key", "admin-token-1")]);
    assert_eq!(reply.status, 200);
    assert!(reply.header("content-type").unwrap().starts_with("text/plain; version=0.0.4"));
    let lines = reply.text.lines().map(|line| Ok(line.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text");
    let value = |name: &str, labels: &[(&str, &str)]| {
        scrape.samples.iter().find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))).map(
            |s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => -1.0,
            },
        )
    };
    assert_eq!(
        value("switchboard_runs_total", &[("script", "hello"), ("trigger", "http"), ("status", "ok")]),
        Some(3.0)
    );
    assert_eq!(value("switchboard_http_requests_total", &[("route", "GET /hello"), ("status", "200")]), Some(3.0));
    assert_eq!(value("switchboard_http_requests_total", &[("route", "unmatched"), ("status", "404")]), Some(1.0));
    assert_eq!(value("switchboard_queue_depth", &[]), Some(0.0));
    assert!(scrape.samples.iter().any(|s| s.metric == "switchboard_run_duration_seconds"), "histogram present");
}

#[test]
fn a_page_of_the_run_log_is_bounded_in_records_and_bytes() {
    let hub = admin_hub();
    hub.manifest(
        "[[route]]\nmethod = \"GET\"\npath = \"/hello\"\nscript = \"hello\"\nauth = \"public\"\n\n\
         [[route]]\nmethod = \"GET\"\npath = \"/loud\"\nscript = \"loud\"\nauth = \"public\"\n\n\
         [[key]]\nname = \"ops\"\ntoken = \"admin-token-1\"\nscopes = [\"admin\"]\n",
    );
    hub.script("loud", r#"let s = ""; s.pad(900000, "y"); for i in 0..200 { print(s) } "done""#);
    let server = hub.serve();
    for _ in 0..501 {
        assert_eq!(server.get("/hello", &[]).status, 200);
    }
    let loud: Vec<String> = (0..6).map(|_| server.get("/loud", &[]).header("x-run-id").unwrap()).collect();
    let admin = [("authorization", "Bearer admin-token-1")];

    // Each loud record keeps 1 MiB of its 180 MB of lines; a page keeps whole records up to 4 MiB
    // and summarizes the rest.
    let page = server.get("/_/runs?limit=5", &admin);
    assert_eq!(page.status, 200);
    assert!(page.text.len() < 4_500_000, "a page of {} bytes", page.text.len());
    let runs = page.json()["runs"].as_array().unwrap().clone();
    let ids: Vec<&str> = runs.iter().map(|run| run["id"].as_str().unwrap()).collect();
    let newest: Vec<&str> = loud.iter().rev().take(5).map(String::as_str).collect();
    assert_eq!(ids, newest);
    let whole = runs.iter().take_while(|run| run.get("summary").is_none()).count();
    assert!((3..5).contains(&whole), "{whole} whole records");
    for summary in &runs[whole..] {
        assert_eq!(summary["summary"], true);
        assert!(summary["lines"].is_null() && summary["input"].is_null() && summary["result"].is_null());
        assert_eq!((summary["status"].as_str(), summary["script"].as_str()), (Some("ok"), Some("loud")));
    }
    let one = server.get(&format!("/_/runs/{}", ids[4]), &admin);
    assert!(one.text.len() < 1_200_000, "a record of {} bytes", one.text.len());
    assert_eq!(one.json()["lines"].as_array().unwrap().len(), 17);

    // At most 500 records a page, whatever the limit asked for.
    let page = server.get("/_/runs?limit=100000", &admin);
    assert!(page.text.len() < 5_000_000, "a page of {} bytes", page.text.len());
    assert_eq!(page.json()["runs"].as_array().unwrap().len(), 500);
    let listed = hub.cmd(&["runs", "list", "--json", "--limit", "100000"]).output();
    assert!(listed.stdout.len() < 6_000_000, "a listing of {} bytes", listed.stdout.len());
    let listed = listed.json();
    assert_eq!(listed.as_array().unwrap().len(), 500);
    assert_eq!(listed[5]["summary"], true);
}
