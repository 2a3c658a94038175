//! Cron jobs under `serve`: firing, overlap rules, catch-up, and `routes` output; `cron next`
//! and `cron run`.

use crate::harness::{Hub, Output, wait_until};
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
    // The hub was down for a while: its last recorded firing is a minute old, so occurrences
    // were missed (set in the store rather than waited for).
    let db = rusqlite::Connection::open(hub.path().join("data/switchboard.db")).unwrap();
    let minute_ago = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let updated =
        db.execute("UPDATE cron_state SET last_scheduled_at = ?1 WHERE name = 'daily'", [&minute_ago]).unwrap();
    assert_eq!(updated, 1, "the firing before the stop was recorded for catch-up");
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

/// `switchboard cron ARGS...`, outside any hub.
fn cron(args: &[&str]) -> Output {
    let out = std::process::Command::new(crate::harness::binary()).arg("cron").args(args).output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn cron_next_reads_lines_as_crontab_does_with_the_extensions_people_paste() {
    // 2026-11-27 is a Friday.
    let next = |expr: &str| {
        let out = cron(&["next", expr, "--from", "2026-11-27T12:00:00Z", "--count", "2"]);
        assert_eq!(out.code, 0, "{expr}: {}", out.stderr);
        out.stdout.lines().map(str::to_string).collect::<Vec<_>>()
    };
    // Both day fields restricted: the 1st of each month and every Monday, from the coming Monday.
    assert_eq!(next("0 0 1 * MON"), ["2026-11-30T00:00:00+00:00", "2026-12-01T00:00:00+00:00"]);
    assert_eq!(next("0 12 L * *"), ["2026-11-30T12:00:00+00:00", "2026-12-31T12:00:00+00:00"]);
    assert_eq!(next("0 9 * * MON#1"), ["2026-12-07T09:00:00+00:00", "2027-01-04T09:00:00+00:00"]);
    assert_eq!(next("0 9 * * 5L"), ["2026-12-25T09:00:00+00:00", "2027-01-29T09:00:00+00:00"]);
    assert_eq!(next("@monthly"), ["2026-12-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00"]);
    // Times are written with the zone's offset, which changes with its clocks.
    let london =
        cron(&["next", "0 7 * * *", "--tz", "Europe/London", "--from", "2026-03-28T00:00:00Z", "--count", "2"]);
    assert_eq!(london.stdout, "2026-03-28T07:00:00+00:00\n2026-03-29T07:00:00+01:00\n", "{}", london.stderr);
}

#[test]
fn cron_next_names_what_is_wrong() {
    cron(&["next", "61 * * * *"]).fails_with(2, &["invalid schedule `61 * * * *`", "minute `61`", "0-59"]);
    cron(&["next", "0 7 * * 9"]).fails_with(2, &["day of week `9`"]);
    cron(&["next", "0 7 * *"]).fails_with(2, &["expected 5 fields"]);
    cron(&["next", "0 7 * * *", "--tz", "Mars/Base"]).fails_with(2, &["--tz", "unknown timezone `Mars/Base`"]);
    cron(&["next", "0 7 * * *", "--from", "tomorrow"]).fails_with(2, &["--from `tomorrow`", "RFC 3339"]);
    cron(&["next", "0 0 30 2 *"]).fails_with(1, &["never fires"]);
}

#[test]
fn routes_says_each_schedule_in_words_and_check_names_the_or_rule_change() {
    let hub = Hub::new();
    hub.manifest(
        "[[cron]]\nname = \"weekdays\"\nschedule = \"0 7 * * MON-FRI\"\nscript = \"d\"\n\n\
         [[cron]]\nname = \"first\"\nschedule = \"0 0 1 * MON\"\nscript = \"d\"\n",
    );
    hub.script("d", "1");
    let routes = hub.cmd(&["routes"]).output();
    assert_eq!(routes.code, 0, "{}", routes.stderr);
    assert!(
        routes.stdout.contains("at 07:00, on Monday, Tuesday, Wednesday, Thursday, and Friday"),
        "{}",
        routes.stdout
    );
    assert!(routes.stdout.contains("at 00:00, on day 1 or Monday"), "{}", routes.stdout);
    let check = hub.cmd(&["check"]).output();
    assert_eq!(check.code, 0, "{}", check.stderr);
    let warnings: Vec<&str> = check.stderr.lines().filter(|line| line.starts_with("warning:")).collect();
    assert_eq!(warnings.len(), 1, "{}", check.stderr);
    for part in
        ["cron[1].schedule", "`0 0 1 * MON`", "either day field", "only on a day matching both", "`0 0 1 * +MON`"]
    {
        assert!(warnings[0].contains(part), "{part} not in {}", warnings[0]);
    }
}

const DIGEST: &str = "[[cron]]\nname = \"digest\"\nschedule = \"0 0 1 1 *\"\ntimezone = \"Asia/Tokyo\"\nscript = \"digest\"\ninput = { to = \"me\" }\n";
const ADMIN_KEY: &str = "\n[[key]]\nname = \"ops\"\ntoken = \"admin-token-1\"\nscopes = [\"admin\"]\n";
const RECORD: &str = r#"state::set("event", event); state::set("input", input); "sent""#;

/// Asserts the stored `event` is that of a job fired by hand just now.
fn fired_by_hand(hub: &Hub, before: chrono::DateTime<chrono::Utc>) {
    let event = stored(hub, "event").expect("the job ran");
    assert_eq!(event["kind"], "cron");
    assert_eq!(event["name"], "digest");
    assert_eq!(event["manual"], true);
    assert_eq!(event["catch_up"], false);
    let scheduled = chrono::DateTime::parse_from_rfc3339(event["scheduled_at"].as_str().unwrap()).unwrap();
    assert_eq!(scheduled.offset().local_minus_utc(), 9 * 3600, "in the job's zone: {scheduled}");
    assert!(scheduled >= before - chrono::Duration::seconds(1), "scheduled now, not on the schedule: {scheduled}");
    assert_eq!(stored(hub, "input").unwrap(), serde_json::json!({"to": "me"}));
}

#[test]
fn cron_run_without_a_running_hub_runs_the_job_here() {
    let hub = Hub::new();
    hub.manifest(DIGEST).script("digest", RECORD);
    let before = chrono::Utc::now();
    let out = hub.cmd(&["cron", "run", "digest"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "\"sent\"");
    fired_by_hand(&hub, before);
    let runs = hub.cmd(&["runs", "list", "--json"]).output().json();
    assert_eq!(runs[0]["trigger"], "cron", "{runs}");
    assert_eq!(runs[0]["detail"], "digest", "{runs}");
    hub.cmd(&["cron", "run", "digets"]).output().fails_with(2, &["no cron job `digets`", "did you mean `digest`?"]);
}

#[test]
fn cron_run_fires_the_job_through_a_running_hub() {
    let hub = Hub::new();
    hub.manifest(&format!("{DIGEST}{ADMIN_KEY}")).script("digest", RECORD);
    let server = hub.serve();
    // The admin API's key check comes first, as for its other paths.
    let refused = server.send(reqwest::Method::POST, "/_/cron/digest/run", &[], None);
    assert_eq!(refused.status, 401, "{}", refused.text);
    let before = chrono::Utc::now();
    let out = hub.cmd(&["cron", "run", "digest"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(&format!("fired cron job `digest` on the hub at {}", server.base)), "{}", out.stdout);
    assert!(wait_until(Duration::from_secs(10), || stored(&hub, "event").is_some()), "{}", server.stderr());
    fired_by_hand(&hub, before);
    assert!(server.stderr().contains("cron job `digest`: fired by hand"), "the hub ran it: {}", server.stderr());
    hub.cmd(&["cron", "run", "digets"]).output().fails_with(2, &["no cron job `digets`", "did you mean `digest`?"]);
    // A hub that stopped without removing its file (killed) is not asked: the job runs here.
    drop(server);
    let out = hub.cmd(&["cron", "run", "digest"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "\"sent\"");
}

#[test]
fn cron_run_on_a_running_hub_without_an_admin_key_says_what_it_needs() {
    let hub = Hub::new();
    hub.manifest(DIGEST).script("digest", RECORD);
    let server = hub.serve();
    hub.cmd(&["cron", "run", "digest"])
        .output()
        .fails_with(2, &[&format!("a hub is running at {}", server.base), "scopes = [\"admin\"]"]);
    assert_eq!(stored(&hub, "event"), None, "nothing ran");
}

#[test]
fn the_hub_file_cron_run_trusts_is_kept_from_scripts_and_never_sends_the_key_off_the_machine() {
    let hub = Hub::new();
    hub.manifest(&format!("{DIGEST}{ADMIN_KEY}"))
        .script("digest", RECORD)
        .script("redirect", r#"fs::write("data/serve.json", `{"url": "http://0.0.0.0:9", "pid": 1}`)"#);
    hub.run("redirect", "{}").fails_with(1, &["the running hub's address"]);
    // Written by someone else: an address that is not loopback (0.0.0.0, which still connects
    // here, so a regression sends nothing off the machine), with a live process id (this test's).
    let file = format!(r#"{{"url": "http://0.0.0.0:9", "pid": {}}}"#, std::process::id());
    hub.file("data/serve.json", &file);
    let out = hub.cmd(&["cron", "run", "digest"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "\"sent\"");
    assert!(!out.stderr.contains("no hub answers"), "it asked the address in the file: {}", out.stderr);
}
