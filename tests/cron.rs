//! Cron jobs under `serve`: firing, overlap rules, catch-up, and `routes` output.

use crate::harness::{Hub, wait_until};
use std::time::Duration;

/// Reads a state value straight from the hub's store file.
pub fn stored(hub: &Hub, key: &str) -> Option<serde_json::Value> {
    let path = hub.path().join("data/switchboard.db");
    let connection = rusqlite::Connection::open(path).ok()?;
    let text: String = connection.query_row("SELECT value FROM state WHERE key = ?1", [key], |row| row.get(0)).ok()?;
    serde_json::from_str(&text).ok()
}

#[test]
fn an_every_second_job_fires_repeatedly_with_its_input_and_event() {
    let hub = Hub::new();
    hub.manifest(
        "[[cron]]\nname = \"tick\"\nschedule = \"* * * * * *\"\nscript = \"tick\"\ninput = { label = \"hello\" }\n",
    );
    hub.script(
        "tick",
        r#"state::set("count", state::get("count", 0) + 1);
           state::set("last", #{ label: input.label, kind: event.kind, name: event.name, scheduled: event.scheduled_at, fired: event.fired_at });"#,
    );
    let _server = hub.serve();
    assert!(wait_until(Duration::from_secs(8), || stored(&hub, "count")
        .and_then(|n| n.as_i64())
        .is_some_and(|n| n >= 3)));
    let last = stored(&hub, "last").unwrap();
    assert_eq!(last["label"], "hello");
    assert_eq!(last["kind"], "cron");
    assert_eq!(last["name"], "tick");
    let scheduled = chrono::DateTime::parse_from_rfc3339(last["scheduled"].as_str().unwrap()).unwrap();
    assert_eq!(scheduled.timestamp_subsec_nanos(), 0, "fires are scheduled on whole seconds");
    assert!(chrono::DateTime::parse_from_rfc3339(last["fired"].as_str().unwrap()).unwrap() >= scheduled);
}

#[test]
fn a_skipped_overlap_is_logged_never_silent() {
    let hub = Hub::new();
    hub.manifest("[[cron]]\nname = \"slow\"\nschedule = \"* * * * * *\"\nscript = \"slow\"\n");
    hub.script("slow", "time::sleep(2500);");
    let server = hub.serve();
    assert!(wait_until(Duration::from_secs(10), || server.stderr().contains("skipped the occurrence")));
    assert!(wait_until(Duration::from_secs(10), || server.stderr().contains("overlap = \"skip\"")));
    assert!(server.stderr().contains("cron job `slow`"));
    let recorded = || {
        let out = hub.cmd(&["runs", "list", "--status", "skipped", "--json"]).output();
        out.code == 0 && out.json().as_array().is_some_and(|runs| !runs.is_empty())
    };
    assert!(wait_until(Duration::from_secs(10), recorded), "a skipped occurrence is in the run log");
}

#[test]
fn queued_overlaps_run_after_the_current_one() {
    let hub = Hub::new();
    hub.manifest("[[cron]]\nname = \"slow\"\nschedule = \"* * * * * *\"\nscript = \"slow\"\noverlap = \"queue\"\n");
    hub.script("slow", r#"time::sleep(1500); state::set("runs", state::get("runs", 0) + 1);"#);
    let server = hub.serve();
    assert!(wait_until(Duration::from_secs(10), || server.stderr().contains("queued behind the run in progress")));
    assert!(wait_until(Duration::from_secs(10), || stored(&hub, "runs")
        .and_then(|n| n.as_i64())
        .is_some_and(|n| n >= 2)));
}

#[test]
fn catch_up_once_runs_a_missed_occurrence_at_start() {
    let hub = Hub::new();
    let manifest = |catch_up: &str| {
        format!("[[cron]]\nname = \"daily\"\nschedule = \"* * * * * *\"\nscript = \"job\"\ncatch_up = \"{catch_up}\"\n")
    };
    hub.manifest(&manifest("none"));
    hub.script(
        "job",
        r#"if event.catch_up { state::set("caught_up", event.scheduled_at) } else { state::set("fired", true) }"#,
    );
    let server = hub.serve();
    assert!(wait_until(Duration::from_secs(8), || stored(&hub, "fired").is_some()));
    drop(server);
    // Let at least two occurrences pass while the hub is down.
    let down_at = std::time::Instant::now();
    assert!(wait_until(Duration::from_secs(5), || down_at.elapsed() >= Duration::from_millis(2100)));
    hub.manifest(&manifest("once"));
    let server = hub.serve();
    assert!(wait_until(Duration::from_secs(8), || stored(&hub, "caught_up").is_some()), "{}", server.stderr());
    assert!(wait_until(Duration::from_secs(10), || server.stderr().contains("catching up")));
}

#[test]
fn routes_lists_the_next_three_fire_times_in_the_job_timezone() {
    let hub = Hub::new();
    hub.manifest("[[cron]]\nname = \"digest\"\nschedule = \"0 7 * * *\"\ntimezone = \"Asia/Tokyo\"\nscript = \"d\"\n");
    hub.script("d", "1");
    let out = hub.cmd(&["routes"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let fires: Vec<&str> = out.stdout.lines().filter(|line| line.trim_start().starts_with("next ")).collect();
    assert_eq!(fires.len(), 3, "{}", out.stdout);
    assert!(fires.iter().all(|line| line.contains("07:00:00 JST (+09:00)")), "{}", out.stdout);
}

#[test]
fn bad_schedules_and_rules_are_configuration_errors() {
    let hub = Hub::new();
    hub.manifest(
        "[[cron]]\nname = \"a\"\nschedule = \"61 * * * *\"\nscript = \"d\"\n\n[[cron]]\nname = \"b\"\nschedule = \"* * *\"\nscript = \"d\"\noverlap = \"sometimes\"\ncatch_up = \"all\"\n",
    );
    hub.script("d", "1");
    hub.cmd(&["check"]).output().fails_with(
        2,
        &[
            "cron[0].schedule: invalid schedule `61 * * * *`",
            "cron[1].schedule",
            "expected 5 fields",
            "cron[1].overlap",
            "cron[1].catch_up",
        ],
    );
}

#[test]
fn variables_in_a_job_input_are_expanded() {
    let hub = Hub::new();
    hub.manifest("[[cron]]\nname = \"tick\"\nschedule = \"* * * * * *\"\nscript = \"tick\"\ninput = { to = \"${SB_DIGEST_TO}\", nested = { list = [\"${SB_DIGEST_TO}\"] } }\n")
        .file(".env", "SB_DIGEST_TO=me@example.com\n")
        .script("tick", r#"state::set("input", input)"#);
    let _server = hub.serve();
    assert!(wait_until(Duration::from_secs(8), || stored(&hub, "input").is_some()));
    assert_eq!(
        stored(&hub, "input").unwrap(),
        serde_json::json!({"to": "me@example.com", "nested": {"list": ["me@example.com"]}})
    );
}

#[test]
fn a_firing_that_could_not_be_queued_is_not_marked_done_for_catch_up() {
    let hub = Hub::new();
    hub.manifest("[[cron]]\nname = \"tick\"\nschedule = \"* * * * * *\"\nscript = \"tick\"\ncatch_up = \"once\"\n");
    hub.script("tick", "1");
    // The store exists, and refuses every queued item: the firing's run cannot be stored.
    assert_eq!(hub.run("tick", "{}").code, 0);
    let db = rusqlite::Connection::open(hub.path().join("data/switchboard.db")).unwrap();
    db.execute_batch("CREATE TRIGGER refuse BEFORE INSERT ON queue BEGIN SELECT RAISE(ABORT, 'refused'); END;")
        .unwrap();
    let server = hub.serve();
    assert!(wait_until(Duration::from_secs(10), || server.stderr().contains("could not queue the occurrence")));
    drop(server);
    // A firing marked done without its run would never be caught up: both or neither are stored.
    let fired: Option<String> =
        db.query_row("SELECT last_scheduled_at FROM cron_state WHERE name = 'tick'", [], |row| row.get(0)).ok();
    assert_eq!(fired, None, "the firing was recorded for catch-up though its run was never queued");
}

#[test]
fn a_failing_cron_run_is_dead_with_or_without_retries() {
    let hub = Hub::new();
    hub.manifest(&format!(
        "[[cron]]\nname = \"once\"\nschedule = \"* * * * * *\"\nscript = \"once\"\n\n\
         [[cron]]\nname = \"twice\"\nschedule = \"* * * * * *\"\nscript = \"twice\"\nretry = {{ attempts = 2, backoff = \"10ms\" }}\n\n{}",
        crate::queue::COUNT_DEAD
    ));
    // Every attempt at a job's first occurrence fails; later occurrences succeed.
    crate::queue::failing_scripts(
        &hub,
        r#"let first = state::get("first_" + event.name, event.scheduled_at);
           state::set("first_" + event.name, first);
           if event.scheduled_at == first { throw "never works" }"#,
    );
    let _server = hub.serve();
    crate::queue::dies_after(&hub, "once", 1);
    crate::queue::dies_after(&hub, "twice", 2);
}
