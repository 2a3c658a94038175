//! Events, `actions::run`, and their limits.

use crate::cron::stored;
use crate::harness::{Hub, wait_until};
use std::time::Duration;

fn hub() -> Hub {
    let hub = Hub::new();
    hub.manifest(
        "[[route]]\nmethod = \"POST\"\npath = \"/customers\"\nscript = \"create\"\nauth = \"public\"\n\n\
         [[on]]\nevent = \"customer.created\"\nscript = \"welcome\"\n\n\
         [[on]]\nevent = \"customer.*\"\nscript = \"audit\"\n\n\
         [[on]]\nevent = \"ping\"\nscript = \"pong\"\n",
    );
    hub.script("create", r#"events::emit("customer.created", #{ email: input.email }); "created""#)
        .script("welcome", r#"state::set("welcomed", #{ email: input.email, kind: event.kind, name: event.name, by: event.emitted_by })"#)
        .script("audit", r#"state::set("audited", event.name)"#)
        .script("pong", r#"state::set("pong", input.data)"#)
        .script("emit_plain", r#"events::emit("ping", 42); "sent""#);
    hub
}

#[test]
fn run_delivers_events_to_every_subscriber_after_the_emitter() {
    let hub = hub();
    let out = hub.run("create", r#"{"email": "ada@example.com"}"#);
    assert_eq!(out.json(), "created");
    assert!(out.stderr.contains("[event] `welcome` ok") && out.stderr.contains("[event] `audit` ok"), "{}", out.stderr);
    let welcomed = stored(&hub, "welcomed").unwrap();
    assert_eq!(welcomed["email"], "ada@example.com");
    assert_eq!(welcomed["kind"], "event");
    assert_eq!(welcomed["name"], "customer.created");
    assert_eq!(stored(&hub, "audited").unwrap(), "customer.created");
    assert_eq!(hub.run("emit_plain", "{}").json(), "sent");
    assert_eq!(stored(&hub, "pong").unwrap(), 42);
}

#[test]
fn serve_delivers_events_emitted_by_a_request() {
    let hub = hub();
    let server = hub.serve();
    let reply = server.send(reqwest::Method::POST, "/customers", &[], Some(r#"{"email": "grace@example.com"}"#));
    assert_eq!(reply.status, 200);
    let run_id = reply.header("x-run-id").unwrap();
    assert!(wait_until(Duration::from_secs(10), || stored(&hub, "welcomed").is_some()));
    let welcomed = stored(&hub, "welcomed").unwrap();
    assert_eq!(welcomed["email"], "grace@example.com");
    assert_eq!(welcomed["by"], run_id.as_str());
    // Stored before running, marked delivered after.
    let db = rusqlite::Connection::open(hub.path().join("data/switchboard.db")).unwrap();
    assert!(wait_until(Duration::from_secs(10), || db
        .query_row("SELECT count(*) FROM events WHERE delivered_at IS NULL", [], |row| row.get::<_, i64>(0))
        .is_ok_and(|n| n == 0)));
}

#[test]
fn events_left_undelivered_are_delivered_at_the_next_start() {
    let hub = hub();
    // A run whose subscribers never ran (as after a crash): store the event, mark nothing delivered.
    hub.script("create", r#"events::emit("customer.created", #{ email: "late@example.com" }); "created""#);
    let out = hub.cmd(&["run", "create"]).output();
    assert_eq!(out.code, 0);
    let db = rusqlite::Connection::open(hub.path().join("data/switchboard.db")).unwrap();
    db.execute("UPDATE events SET delivered_at = NULL", []).unwrap();
    db.execute("DELETE FROM state WHERE key = 'welcomed'", []).unwrap();
    let _server = hub.serve();
    assert!(wait_until(Duration::from_secs(10), || stored(&hub, "welcomed").is_some()));
}

#[test]
fn actions_run_calls_another_script_and_stops_recursion() {
    let hub = Hub::new();
    hub.script("double", "input.n * 2")
        .script("caller", r#"let a = actions::run("double", #{ n: 21 }); #{ a: a }"#)
        .script("loop_a", r#"actions::run("loop_b", #{})"#)
        .script("loop_b", r#"actions::run("loop_a", #{})"#)
        .script("strict", r#"fail(409, "conflict")"#)
        .script("calls_strict", r#"try { actions::run("strict") } catch { "swallowed" }"#)
        .script("missing", r#"actions::run("doubel", #{ n: 1 })"#);
    assert_eq!(hub.run("caller", "{}").json(), serde_json::json!({"a": 42}));
    hub.run("loop_a", "{}").fails_with(1, &["actions.run:", "nested deeper than 8"]);
    hub.run("calls_strict", "{}").fails_with(1, &["failed with status 409: conflict"]);
    hub.run("missing", "{}").fails_with(1, &["actions.run: no script `doubel`; did you mean `double`?"]);
}

#[test]
fn emit_checks_its_arguments() {
    let hub = Hub::new();
    hub.script("bad", r#"events::emit("has space", 1)"#);
    hub.run("bad", "{}").fails_with(1, &["events.emit: `has space` is not an event name"]);
    hub.manifest("[[on]]\nevent = \"a b\"\nscript = \"bad\"\n");
    hub.cmd(&["check"]).output().fails_with(2, &["on[0].event"]);
}
