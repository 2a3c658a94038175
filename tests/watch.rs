//! Watched folders under `serve`: complete files only, once each (ledger across restarts and
//! reloads), moves to `move_to` and `error_to`, swap files ignored, validation.

use crate::harness::{Hub, Server, wait_until};
use std::io::Write;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

/// Appends one line per run to `log.txt` (`change path: content`) and the run's input and
/// event to `runs.jsonl`; fails for files whose content starts with "bad".
const TAKE: &str = r#"
let text = if input.change == "removed" { "" } else { fs::read(input.path) };
fs::append("log.txt", `${input.change} ${input.path}: ${text}` + "\n");
fs::append("runs.jsonl", json::stringify(#{ input: input, event: event }) + "\n");
if text.starts_with("bad") { throw "refusing " + input.name; }
"#;

fn hub(watch: &str) -> Hub {
    let hub = Hub::new();
    hub.manifest(&format!("[[watch]]\nscript = \"take\"\n{watch}\n")).script("take", TAKE);
    hub
}

/// Serves `hub` and waits until its watches have started (their first scan is done).
fn serve(hub: &Hub) -> Server {
    let server = hub.serve();
    assert!(wait_until(WAIT, || server.stderr().contains(": watching ")), "{}", server.stderr());
    server
}

fn log(hub: &Hub) -> Vec<String> {
    std::fs::read_to_string(hub.path().join("log.txt")).unwrap_or_default().lines().map(str::to_string).collect()
}

fn wait_for_lines(hub: &Hub, server: &Server, count: usize) -> Vec<String> {
    assert!(wait_until(WAIT, || log(hub).len() >= count), "log: {:?}\nstderr:\n{}", log(hub), server.stderr());
    log(hub)
}

/// How the watch `watch` recorded `path` in the hub's ledger, read straight from the store file.
fn recorded(hub: &Hub, watch: &str, path: &str) -> Option<String> {
    let connection = rusqlite::Connection::open(hub.path().join("data/switchboard.db")).ok()?;
    let sql = "SELECT status FROM watch_ledger WHERE watch = ?1 AND path = ?2";
    connection.query_row(sql, [watch, path], |row| row.get(0)).ok()
}

fn exists(hub: &Hub, relative: &str) -> bool {
    hub.path().join(relative).exists()
}

#[test]
fn a_file_written_in_two_steps_runs_once_after_the_second_write_and_is_moved() {
    let hub = hub("path = \"inbox\"\npattern = \"*.csv\"\nmove_to = \"inbox/done\"");
    let server = serve(&hub);
    let mut file = std::fs::File::create(hub.path().join("inbox/a.csv")).unwrap();
    file.write_all(b"one,").unwrap();
    file.sync_all().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    file.write_all(b"two").unwrap();
    drop(file);
    assert!(wait_until(WAIT, || exists(&hub, "inbox/done/a.csv")), "{}", server.stderr());
    assert_eq!(hub.read("inbox/done/a.csv"), "one,two");
    assert!(!exists(&hub, "inbox/a.csv"));
    // A later file is handled after it; nothing ran twice, and the done folder is not watched.
    hub.file("inbox/b.csv", "three");
    assert_eq!(wait_for_lines(&hub, &server, 2), ["created inbox/a.csv: one,two", "created inbox/b.csv: three"]);
    assert!(wait_until(WAIT, || exists(&hub, "inbox/done/b.csv")));
    let first: serde_json::Value = serde_json::from_str(hub.read("runs.jsonl").lines().next().unwrap()).unwrap();
    assert_eq!(first["input"], serde_json::json!({ "path": "inbox/a.csv", "name": "a.csv", "change": "created" }));
    let event = &first["event"];
    assert_eq!(
        (&event["kind"], &event["path"], &event["change"]),
        (&"watch".into(), &"inbox/a.csv".into(), &"created".into())
    );
    assert_eq!(event["watch"], "inbox");
    assert!(
        wait_until(WAIT, || server.stderr().contains("moved inbox/a.csv to inbox/done/a.csv")),
        "{}",
        server.stderr()
    );
}

#[test]
fn non_matching_files_swap_files_and_partial_downloads_are_ignored() {
    let hub = hub("path = \"inbox\"\npattern = [\"*.csv\", \"*.json\"]\nmove_to = \"inbox/done\"");
    let server = serve(&hub);
    let ignored = ["notes.txt", ".a.csv.swp", "a.csv~", "4913", "b.csv.part", "c.csv.crdownload", "d.tmp", "~$e.csv"];
    for name in ignored {
        hub.file(&format!("inbox/{name}"), "x");
    }
    hub.file("inbox/z.json", "{}");
    assert!(wait_until(WAIT, || exists(&hub, "inbox/done/z.json")), "{}", server.stderr());
    assert_eq!(log(&hub), ["created inbox/z.json: {}"]);
    for name in ignored {
        assert!(exists(&hub, &format!("inbox/{name}")), "{name} was touched");
    }
}

#[test]
fn a_file_arriving_by_rename_runs_without_waiting_to_settle() {
    // A settle time far beyond the wait below: only the rename rule can make these run in time.
    let hub = hub("path = \"inbox\"\npattern = \"*.csv\"\nsettle = \"1h\"");
    let server = serve(&hub);
    hub.file("staging/x.csv", "moved in");
    std::fs::rename(hub.path().join("staging/x.csv"), hub.path().join("inbox/x.csv")).unwrap();
    hub.file("inbox/y.csv.part", "downloaded");
    std::fs::rename(hub.path().join("inbox/y.csv.part"), hub.path().join("inbox/y.csv")).unwrap();
    let mut lines = wait_for_lines(&hub, &server, 2);
    lines.sort();
    assert_eq!(lines, ["created inbox/x.csv: moved in", "created inbox/y.csv: downloaded"]);
}

#[test]
fn a_file_closed_by_its_writer_runs_without_waiting_to_settle() {
    // As above: only the writer's close (inotify CLOSE_WRITE) can make this run in time.
    let hub = hub("path = \"inbox\"\npattern = \"*.csv\"\nsettle = \"1h\"");
    let server = serve(&hub);
    let mut file = std::fs::File::create(hub.path().join("inbox/z.csv")).unwrap();
    file.write_all(b"written and closed").unwrap();
    drop(file);
    assert_eq!(wait_for_lines(&hub, &server, 1), ["created inbox/z.csv: written and closed"]);
}

#[test]
fn a_failing_script_moves_the_file_to_error_to_and_names_never_clash() {
    let hub = hub("path = \"inbox\"\nmove_to = \"done\"\nerror_to = \"failed\"");
    hub.file("done/good.csv", "an earlier good.csv");
    let server = serve(&hub);
    hub.file("inbox/good.csv", "fine").file("inbox/bad.csv", "bad data");
    assert!(
        wait_until(WAIT, || exists(&hub, "failed/bad.csv") && exists(&hub, "done/good-1.csv")),
        "{}",
        server.stderr()
    );
    assert_eq!(hub.read("failed/bad.csv"), "bad data");
    assert_eq!(hub.read("done/good-1.csv"), "fine");
    assert_eq!(hub.read("done/good.csv"), "an earlier good.csv");
    assert!(!exists(&hub, "inbox/good.csv") && !exists(&hub, "inbox/bad.csv"));
    let stderr = server.stderr();
    assert!(stderr.contains("refusing bad.csv") && stderr.contains("to failed/bad.csv (error_to)"), "{stderr}");
}

#[test]
fn a_failed_file_without_error_to_stays_and_runs_again_only_once_it_changes() {
    let hub = hub("path = \"inbox\"");
    let server = serve(&hub);
    hub.file("inbox/a.csv", "bad at first");
    assert!(wait_until(WAIT, || server.stderr().contains("stays in place")), "{}", server.stderr());
    hub.file("inbox/b.csv", "other");
    assert_eq!(wait_for_lines(&hub, &server, 2)[1], "created inbox/b.csv: other");
    hub.file("inbox/a.csv", "good now");
    assert_eq!(
        wait_for_lines(&hub, &server, 3),
        ["created inbox/a.csv: bad at first", "created inbox/b.csv: other", "created inbox/a.csv: good now"]
    );
}

#[test]
fn a_retried_run_that_succeeds_moves_the_file_to_move_to() {
    let hub = hub(
        "path = \"inbox\"\nmove_to = \"done\"\nerror_to = \"failed\"\nretry = { attempts = 3, backoff = \"10ms\" }",
    );
    hub.script(
        "take",
        "let n = state::get(\"tries\", 0) + 1;\nstate::set(\"tries\", n);\nif n < 2 { throw \"flaky\"; }",
    );
    let server = serve(&hub);
    hub.file("inbox/a.csv", "x");
    assert!(wait_until(WAIT, || exists(&hub, "done/a.csv")), "{}", server.stderr());
    assert!(!exists(&hub, "failed/a.csv"));
    assert_eq!(crate::cron::stored(&hub, "tries"), Some(serde_json::json!(2)));
}

#[test]
fn files_dropped_while_the_hub_was_down_run_once_at_start_and_done_files_never_again() {
    let hub = hub("path = \"inbox\"");
    let server = serve(&hub);
    hub.file("inbox/a.csv", "before");
    // Killed between a run and its ledger record, a file runs again (at least once); wait past that.
    assert!(wait_until(WAIT, || recorded(&hub, "inbox", "a.csv").as_deref() == Some("ok")), "{}", server.stderr());
    drop(server);
    hub.file("inbox/b.csv", "while down");
    let server = serve(&hub);
    // At start, files are handled in name order: had a.csv run again, it would come before b.csv.
    assert_eq!(wait_for_lines(&hub, &server, 2), ["created inbox/a.csv: before", "created inbox/b.csv: while down"]);
    hub.file("inbox/c.csv", "after");
    assert_eq!(wait_for_lines(&hub, &server, 3)[2], "created inbox/c.csv: after");
    assert!(exists(&hub, "inbox/a.csv") && exists(&hub, "inbox/b.csv"));
}

#[test]
fn on_start_ignore_records_files_that_arrived_while_down_without_running_them() {
    let hub = hub("path = \"inbox\"\non_start = \"ignore\"");
    let server = serve(&hub);
    hub.file("inbox/a.csv", "live");
    assert!(wait_until(WAIT, || recorded(&hub, "inbox", "a.csv").as_deref() == Some("ok")), "{}", server.stderr());
    drop(server);
    hub.file("inbox/b.csv", "while down");
    let server = serve(&hub);
    assert!(wait_until(WAIT, || server.stderr().contains("ignoring inbox/b.csv")), "{}", server.stderr());
    assert_eq!(recorded(&hub, "inbox", "b.csv").as_deref(), Some("seen"));
    hub.file("inbox/c.csv", "live again");
    assert_eq!(wait_for_lines(&hub, &server, 2), ["created inbox/a.csv: live", "created inbox/c.csv: live again"]);
    assert!(exists(&hub, "inbox/b.csv"));
}

#[test]
fn modified_and_removed_run_when_the_watch_lists_them() {
    let hub = hub("path = \"inbox\"\nevents = [\"created\", \"modified\", \"removed\"]");
    let server = serve(&hub);
    hub.file("inbox/a.csv", "1");
    wait_for_lines(&hub, &server, 1);
    hub.file("inbox/a.csv", "22");
    wait_for_lines(&hub, &server, 2);
    // Removed only once the ledger has the modified version: a file gone before its run ended
    // went with its script (which may take the files it handles), and no `removed` runs for it.
    let handled = || {
        let connection = rusqlite::Connection::open(hub.path().join("data/switchboard.db")).ok();
        let sql = "SELECT size FROM watch_ledger WHERE watch = 'inbox' AND path = 'a.csv'";
        connection.and_then(|c| c.query_row(sql, [], |row| row.get::<_, i64>(0)).ok()) == Some(2)
    };
    assert!(wait_until(WAIT, handled), "{}", server.stderr());
    std::fs::remove_file(hub.path().join("inbox/a.csv")).unwrap();
    assert_eq!(
        wait_for_lines(&hub, &server, 3),
        ["created inbox/a.csv: 1", "modified inbox/a.csv: 22", "removed inbox/a.csv: "]
    );
}

#[test]
fn a_recursive_watch_sees_subfolders_but_never_its_move_to_folder() {
    let hub = hub("path = \"inbox\"\nrecursive = true\nmove_to = \"inbox/done\"");
    let server = serve(&hub);
    hub.file("inbox/2024/june/x.csv", "deep");
    assert!(wait_until(WAIT, || exists(&hub, "inbox/done/2024/june/x.csv")), "{}", server.stderr());
    hub.file("inbox/y.csv", "top");
    assert!(wait_until(WAIT, || exists(&hub, "inbox/done/y.csv")), "{}", server.stderr());
    assert_eq!(log(&hub), ["created inbox/2024/june/x.csv: deep", "created inbox/y.csv: top"]);
}

#[test]
fn a_reload_keeps_watching_without_running_done_files_again() {
    let hub = hub("path = \"inbox\"");
    let server = serve(&hub);
    hub.file("inbox/a.csv", "first");
    wait_for_lines(&hub, &server, 1);
    hub.script("take", &format!("fs::append(\"log.txt\", \"v2 \");\n{TAKE}"));
    assert!(wait_until(WAIT, || server.stderr().matches(": watching ").count() >= 2), "{}", server.stderr());
    hub.file("inbox/b.csv", "second");
    assert_eq!(wait_for_lines(&hub, &server, 2), ["created inbox/a.csv: first", "v2 created inbox/b.csv: second"]);
}

#[test]
fn check_reports_bad_watch_entries_with_their_key_paths() {
    let hub = Hub::new();
    hub.script("take", TAKE).manifest(
        "[[watch]]\npath = \"inbox\"\npattern = \"[oops\"\nscript = \"take\"\nevents = [\"created\", \"deleted\"]\n\
         on_start = \"later\"\nmove_to = \"inbox/\"\n\n\
         [[watch]]\npath = \"./inbox\"\nscript = \"take\"\nerror_to = \"./inbox\"\nevents = []\n",
    );
    hub.cmd(&["check"]).output().fails_with(
        2,
        &[
            "watch[0].pattern: `[oops` is not a glob",
            "watch[0].events[1]: unknown event `deleted`",
            "watch[0].on_start: unknown on_start `later`; expected one of process, ignore",
            "watch[0].move_to: `inbox/` is the watched folder itself",
            "watch[1].error_to",
            "watch[1].events: must list at least one",
            "watch[1].path: watch[0] already uses the name `inbox`",
        ],
    );
    hub.manifest(
        "[[watch]]\npath = \"inbox\"\npattern = \"*.csv\"\nscript = \"take\"\n\n\
         [[watch]]\nname = \"inbox-json\"\npath = \"inbox\"\npattern = \"*.json\"\nscript = \"take\"\n",
    );
    let out = hub.cmd(&["check"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// The size the ledger of watch `watch` recorded for `path`.
fn recorded_size(hub: &Hub, watch: &str, path: &str) -> Option<i64> {
    let connection = rusqlite::Connection::open(hub.path().join("data/switchboard.db")).ok()?;
    let sql = "SELECT size FROM watch_ledger WHERE watch = ?1 AND path = ?2";
    connection.query_row(sql, [watch, path], |row| row.get(0)).ok()
}

/// Whether this platform reports a writer's close (inotify); elsewhere `settle` is all there is.
fn closes_reported() -> bool {
    if cfg!(target_os = "linux") {
        return true;
    }
    crate::harness::skip("this platform reports no close of a written file");
    false
}

#[test]
fn a_slow_writer_pausing_longer_than_settle_runs_once_on_the_whole_file() {
    if !closes_reported() {
        return;
    }
    let hub = hub("path = \"inbox\"\npattern = \"*.csv\"\nsettle = \"500ms\"");
    let server = serve(&hub);
    let mut file = std::fs::File::create(hub.path().join("inbox/slow.csv")).unwrap();
    file.write_all(&[b'a'; 1000]).unwrap();
    file.sync_all().unwrap();
    // The writer's own pause, five times `settle`, with the file open all along.
    std::thread::sleep(Duration::from_millis(2500));
    file.write_all(&[b'b'; 1000]).unwrap();
    drop(file);
    assert!(wait_until(WAIT, || recorded_size(&hub, "inbox", "slow.csv") == Some(2000)), "{}", server.stderr());
    let whole = format!("created inbox/slow.csv: {}{}", "a".repeat(1000), "b".repeat(1000));
    let lines = log(&hub);
    let sizes: Vec<usize> = lines.iter().map(|line| line.len() - "created inbox/slow.csv: ".len()).collect();
    assert!(lines == [whole], "ran {} times, on files of {sizes:?} bytes", lines.len());
}

#[test]
fn a_writer_that_never_closes_is_run_after_close_timeout_with_a_warning() {
    if !closes_reported() {
        return;
    }
    let hub = hub("path = \"inbox\"\npattern = \"*.csv\"\nsettle = \"200ms\"\nclose_timeout = \"2s\"\n\
         events = [\"created\", \"modified\"]");
    let server = serve(&hub);
    let mut file = std::fs::File::create(hub.path().join("inbox/open.csv")).unwrap();
    file.write_all(b"first").unwrap();
    file.sync_all().unwrap();
    assert_eq!(wait_for_lines(&hub, &server, 1), ["created inbox/open.csv: first"]);
    assert!(server.stderr().contains("still open for writing after 2s"), "{}", server.stderr());
    // What is written after it ran is a change: it runs again once the writer closes the file.
    file.write_all(b", second").unwrap();
    drop(file);
    assert_eq!(
        wait_for_lines(&hub, &server, 2),
        ["created inbox/open.csv: first", "modified inbox/open.csv: first, second"]
    );
}

#[test]
fn an_editor_saving_by_rename_runs_each_saved_version_once() {
    // Only a close or a rename can make these run within the wait: `settle` is an hour.
    let hub = hub("path = \"inbox\"\npattern = \"*.csv\"\nsettle = \"1h\"\nevents = [\"created\", \"modified\"]");
    let server = serve(&hub);
    hub.file("inbox/doc.csv", "version 1");
    assert_eq!(wait_for_lines(&hub, &server, 1), ["created inbox/doc.csv: version 1"]);
    for version in 2..=3 {
        // Written slowly to a temporary file, which the watch ignores, then renamed over the original.
        let temporary = hub.path().join("inbox/doc.csv.tmp");
        let mut file = std::fs::File::create(&temporary).unwrap();
        file.write_all(b"version").unwrap();
        file.sync_all().unwrap();
        file.write_all(format!(" {version}").as_bytes()).unwrap();
        drop(file);
        std::fs::rename(&temporary, hub.path().join("inbox/doc.csv")).unwrap();
        wait_for_lines(&hub, &server, version);
    }
    assert_eq!(
        log(&hub),
        ["created inbox/doc.csv: version 1", "modified inbox/doc.csv: version 2", "modified inbox/doc.csv: version 3"]
    );
}

#[test]
fn every_file_the_ledger_records_has_its_run_record_after_kill_9() {
    let hub = Hub::new();
    hub.manifest("[[watch]]\npath = \"inbox\"\npattern = \"*.txt\"\nscript = \"quick\"\n")
        .script("quick", "input.name");
    for n in 0..300 {
        hub.file(&format!("inbox/{n:03}.txt"), "x");
    }
    let server = hub.serve();
    let db = rusqlite::Connection::open(hub.path().join("data/switchboard.db")).unwrap();
    let handled = || -> i64 { db.query_row("SELECT count(*) FROM watch_ledger", [], |row| row.get(0)).unwrap_or(0) };
    assert!(wait_until(WAIT, || handled() >= 50), "{}", server.stderr());
    std::process::Command::new("kill").args(["-KILL", &server.pid().to_string()]).status().unwrap();
    drop(server);
    let missing: Vec<String> = db
        .prepare("SELECT path FROM watch_ledger WHERE run_id NOT IN (SELECT id FROM runs)")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(missing.is_empty(), "{} of {} handled files have no run record: {missing:?}", missing.len(), handled());
}

#[test]
fn a_failing_watch_run_is_dead_with_or_without_retries() {
    let hub = Hub::new();
    hub.manifest(&format!(
        "[[watch]]\npath = \"inbox1\"\nscript = \"once\"\n\n\
         [[watch]]\npath = \"inbox2\"\nscript = \"twice\"\nretry = {{ attempts = 2, backoff = \"10ms\" }}\n\n{}",
        crate::queue::COUNT_DEAD
    ));
    crate::queue::failing_scripts(&hub, r#"throw "never works""#);
    let _server = serve(&hub);
    hub.file("inbox1/a.csv", "x").file("inbox2/a.csv", "x");
    crate::queue::dies_after(&hub, "once", 1);
    crate::queue::dies_after(&hub, "twice", 2);
}
