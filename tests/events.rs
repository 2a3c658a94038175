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

/// A hub whose `thing` subscriber counts what it was announced, and whose `done` subscriber
/// marks that later events were delivered.
fn failing_hub(extra: &str) -> Hub {
    let hub = Hub::new();
    hub.manifest(&format!(
        "[[on]]\nevent = \"thing\"\nscript = \"count\"\n\n[[on]]\nevent = \"done\"\nscript = \"mark\"\n\n{extra}"
    ));
    hub.script("count", r#"state::set("announced", state::get("announced", 0) + 1); state::set("n", input.n)"#)
        .script("mark", r#"state::set("marked", state::get("marked", 0) + 1)"#)
        .script("emit_then_throw", r#"events::emit("thing", #{ n: 0 }); throw "boom""#)
        .script("emit_done", r#"events::emit("done", #{}); "ok""#);
    hub
}

/// The `lines` of run `id`'s record, as `runs show --json` gives them.
fn lines_of(hub: &Hub, id: &str) -> String {
    hub.cmd(&["runs", "show", id, "--json"]).output().json()["lines"].to_string()
}

fn undelivered(hub: &Hub) -> i64 {
    let db = rusqlite::Connection::open(hub.path().join("data/switchboard.db")).unwrap();
    db.query_row("SELECT count(*) FROM events WHERE delivered_at IS NULL", [], |row| row.get(0)).unwrap()
}

#[test]
fn a_failed_run_announces_nothing_and_its_record_says_what_was_dropped() {
    let hub = failing_hub("");
    hub.script("nested", r#"actions::run("emit_done"); throw "after the call""#).script(
        "caught",
        r#"let said = "called"; try { actions::run("emit_then_throw") } catch { said = "caught" } said"#,
    );
    let out = hub.run("emit_then_throw", "{}");
    out.fails_with(1, &["boom"]);
    assert!(!out.stderr.contains("`count`"), "{}", out.stderr);
    assert_eq!(stored(&hub, "announced"), None);
    let failed = hub.cmd(&["runs", "list", "--json", "--script", "emit_then_throw"]).output().json();
    let id = failed[0]["id"].as_str().unwrap().to_string();
    assert!(
        lines_of(&hub, &id).contains("events not announced, since the run failed: thing"),
        "{}",
        lines_of(&hub, &id)
    );
    // A called script's events belong to the run that called it: dropped when it fails...
    hub.run("nested", "{}").fails_with(1, &["after the call"]);
    assert_eq!(stored(&hub, "marked"), None);
    // ...and announced when it succeeds, even though the call itself failed and was caught.
    assert_eq!(hub.run("caught", "{}").json(), "caught");
    assert_eq!(stored(&hub, "announced"), Some(serde_json::json!(1)));
}

#[test]
fn a_failed_http_run_announces_nothing() {
    let hub = failing_hub(
        "[[route]]\nmethod = \"POST\"\npath = \"/fail\"\nscript = \"emit_then_throw\"\nauth = \"public\"\n\n\
         [[route]]\nmethod = \"POST\"\npath = \"/done\"\nscript = \"emit_done\"\nauth = \"public\"\n",
    );
    let server = hub.serve();
    let failed = server.send(reqwest::Method::POST, "/fail", &[], Some("{}"));
    assert_eq!(failed.status, 500, "{}", failed.text);
    let id = failed.header("x-run-id").unwrap();
    assert_eq!(server.send(reqwest::Method::POST, "/done", &[], Some("{}")).status, 200);
    // Events are delivered in the order they were stored: once `done` ran, `thing` had its turn.
    assert!(wait_until(Duration::from_secs(10), || stored(&hub, "marked").is_some()));
    assert!(wait_until(Duration::from_secs(10), || undelivered(&hub) == 0));
    assert_eq!(stored(&hub, "announced"), None);
    assert!(wait_until(Duration::from_secs(10), || lines_of(&hub, &id).contains("not announced")));
}

#[test]
fn a_queued_run_retried_twice_announces_its_events_once() {
    let hub = failing_hub(
        "[[route]]\nmethod = \"POST\"\npath = \"/flaky\"\nscript = \"flaky\"\nauth = \"public\"\nmode = \"queue\"\n\
         retry = { attempts = 3, backoff = \"20ms\" }\n",
    );
    hub.script(
        "flaky",
        r#"let n = state::get("tries", 0) + 1; state::set("tries", n); events::emit("thing", #{ n: n });
           if n < 3 { throw `attempt ${n} failed` } "ok""#,
    );
    let server = hub.serve();
    let reply = server.send(reqwest::Method::POST, "/flaky", &[], Some("{}"));
    assert_eq!(reply.status, 202);
    assert!(wait_until(Duration::from_secs(15), || stored(&hub, "announced").is_some()));
    assert!(wait_until(Duration::from_secs(10), || undelivered(&hub) == 0));
    assert_eq!(stored(&hub, "announced"), Some(serde_json::json!(1)));
    assert_eq!(stored(&hub, "n"), Some(serde_json::json!(3)), "the successful attempt's event");
    let attempts = hub.cmd(&["runs", "list", "--json", "--script", "flaky"]).output().json();
    let attempts = attempts.as_array().unwrap();
    assert_eq!(attempts.len(), 3);
    for failed in attempts.iter().filter(|run| run["status"] != "ok") {
        assert!(failed["lines"].to_string().contains("not announced, since the run failed: thing"), "{failed}");
    }
}

#[test]
fn a_failed_cron_run_announces_nothing() {
    let hub = failing_hub("[[cron]]\nname = \"tick\"\nschedule = \"* * * * * *\"\nscript = \"emit_then_throw\"\n");
    let _server = hub.serve();
    let failed = || {
        hub.cmd(&["runs", "list", "--json", "--script", "emit_then_throw"]).output().json().as_array().unwrap().clone()
    };
    assert!(wait_until(Duration::from_secs(15), || failed().len() >= 2));
    // A queued cron run's events are stored in the transaction that stores its record.
    let db = rusqlite::Connection::open(hub.path().join("data/switchboard.db")).unwrap();
    let events: i64 = db.query_row("SELECT count(*) FROM events", [], |row| row.get(0)).unwrap();
    assert_eq!(events, 0);
    assert_eq!(stored(&hub, "announced"), None);
    assert!(failed()[0]["lines"].to_string().contains("not announced"), "{}", failed()[0]);
}

#[test]
fn every_event_marked_delivered_has_its_subscriber_records_after_kill_9() {
    let hub = Hub::new();
    hub.manifest(
        "[[route]]\nmethod = \"POST\"\npath = \"/emit\"\nscript = \"emit\"\nauth = \"public\"\n\n\
         [[on]]\nevent = \"thing\"\nscript = \"count\"\n",
    );
    hub.script("emit", r#"for n in 0..400 { events::emit("thing", #{ n: n }) } "ok""#)
        .script("count", "let total = 0; for i in 0..500 { total += i } total");
    let server = hub.serve();
    assert_eq!(server.send(reqwest::Method::POST, "/emit", &[], Some("{}")).status, 200);
    let db = rusqlite::Connection::open(hub.path().join("data/switchboard.db")).unwrap();
    let delivered = || -> i64 {
        db.query_row("SELECT count(*) FROM events WHERE delivered_at IS NOT NULL", [], |row| row.get(0)).unwrap_or(0)
    };
    assert!(wait_until(Duration::from_secs(30), || delivered() >= 100));
    std::process::Command::new("kill").args(["-KILL", &server.pid().to_string()]).status().unwrap();
    drop(server);
    // Every event marked delivered has the record of its subscriber's run.
    let missing: Vec<i64> = db
        .prepare(
            "SELECT id FROM events WHERE delivered_at IS NOT NULL AND id NOT IN
             (SELECT json_extract(event, '$.event_id') FROM runs WHERE script = 'count')",
        )
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        missing.is_empty(),
        "{} of {} delivered events have no subscriber record: {missing:?}",
        missing.len(),
        delivered()
    );
}

/// Subscribers `once` (no `retry`) and `twice` (2 attempts) of `thing`, which always fail, and
/// `emit`, which announces one `thing`.
fn doomed_subscribers(extra: &str) -> Hub {
    let hub = Hub::new();
    hub.manifest(&format!(
        "[[on]]\nevent = \"thing\"\nscript = \"once\"\n\n\
         [[on]]\nevent = \"thing\"\nscript = \"twice\"\nretry = {{ attempts = 2, backoff = \"10ms\" }}\n\n\
         {}{extra}",
        crate::queue::COUNT_DEAD
    ));
    crate::queue::failing_scripts(&hub, r#"throw "never works""#);
    hub.script("emit", r#"events::emit("thing", #{}); "sent""#);
    hub
}

#[test]
fn a_failing_subscriber_is_dead_with_or_without_retries_under_serve() {
    let hub =
        doomed_subscribers("\n[[route]]\nmethod = \"POST\"\npath = \"/emit\"\nscript = \"emit\"\nauth = \"public\"\n");
    let server = hub.serve();
    assert_eq!(server.send(reqwest::Method::POST, "/emit", &[], Some("{}")).status, 200);
    crate::queue::dies_after(&hub, "once", 1);
    crate::queue::dies_after(&hub, "twice", 2);
}

#[test]
fn a_failing_subscriber_is_dead_with_or_without_retries_under_run() {
    let hub = doomed_subscribers("");
    let out = hub.run("emit", "{}");
    assert_eq!(out.json(), "sent");
    assert!(
        out.stderr.contains("[event] `once` error") && out.stderr.contains("[event] `twice` error"),
        "{}",
        out.stderr
    );
    crate::queue::dies_after(&hub, "once", 1);
    crate::queue::dies_after(&hub, "twice", 2);
}
