//! The durable queue: 202 then run, retries, dead items and `on_error`, and a crash that loses
//! nothing.

use crate::cron::stored;
use crate::harness::{Hub, wait_until};
use reqwest::Method;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn runs(hub: &Hub, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["runs", "list", "--json", "--limit", "1000"];
    all.extend_from_slice(args);
    hub.cmd(&all).output().json().as_array().unwrap().clone()
}

#[test]
fn a_queue_route_answers_202_and_runs_the_request() {
    let hub = Hub::new();
    hub.manifest(
        "[[route]]\nmethod = \"POST\"\npath = \"/jobs\"\nscript = \"job\"\nauth = \"public\"\nmode = \"queue\"\n",
    );
    hub.script("job", r#"state::set("job", #{ n: input.n, kind: event.kind, run: event.run_id })"#);
    let server = hub.serve();
    let reply = server.send(Method::POST, "/jobs", &[("content-type", "application/json")], Some(r#"{"n": 7}"#));
    assert_eq!(reply.status, 202, "{}", reply.text);
    let run_id = reply.json()["run_id"].as_str().unwrap().to_string();
    assert_eq!(reply.header("x-run-id").as_deref(), Some(run_id.as_str()));
    assert!(wait_until(Duration::from_secs(10), || stored(&hub, "job").is_some()));
    let job = stored(&hub, "job").unwrap();
    assert_eq!(
        (job["n"].as_i64(), job["kind"].as_str(), job["run"].as_str()),
        (Some(7), Some("http"), Some(run_id.as_str()))
    );
    assert!(wait_until(Duration::from_secs(10), || runs(&hub, &[])
        .iter()
        .any(|r| r["id"] == run_id.as_str() && r["status"] == "ok")));
}

#[test]
fn failures_retry_with_backoff_then_die_and_on_error_runs() {
    let hub = Hub::new();
    hub.manifest(
        "[[route]]\nmethod = \"POST\"\npath = \"/flaky\"\nscript = \"flaky\"\nauth = \"public\"\nmode = \"queue\"\n\
         retry = { attempts = 3, backoff = \"50ms\" }\n\n\
         [[route]]\nmethod = \"POST\"\npath = \"/doomed\"\nscript = \"doomed\"\nauth = \"public\"\nmode = \"queue\"\n\
         retry = { attempts = 2, backoff = \"50ms\" }\non_error = \"alert\"\n",
    );
    hub.script("flaky", r#"let n = state::get("tries", 0) + 1; state::set("tries", n); if n < 3 { throw `attempt ${n} failed` } "third time lucky""#)
        .script("doomed", r#"throw "never works""#)
        .script("alert", r#"state::set("alert", #{ error: input.error, script: input.script, attempts: input.attempts, input: input.input })"#);
    let server = hub.serve();
    let flaky = server.send(Method::POST, "/flaky", &[], Some("{}"));
    assert_eq!(flaky.status, 202);
    let flaky_id = flaky.json()["run_id"].as_str().unwrap().to_string();
    assert!(wait_until(Duration::from_secs(15), || runs(&hub, &["--script", "flaky", "--status", "ok"]).len() == 1));
    let attempts = runs(&hub, &["--script", "flaky"]);
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[2]["id"], flaky_id.as_str(), "the first attempt has the announced id");
    assert_eq!(attempts[0]["attempt"], 3);
    assert_eq!(attempts[0]["retry_of"], flaky_id.as_str());

    let doomed = server.send(Method::POST, "/doomed", &[], Some(r#"{"order": 42}"#));
    assert_eq!(doomed.status, 202);
    assert!(wait_until(Duration::from_secs(15), || stored(&hub, "alert").is_some()));
    let alert = stored(&hub, "alert").unwrap();
    assert!(alert["error"].as_str().unwrap().contains("never works"));
    assert_eq!(alert["script"], "doomed");
    assert_eq!(alert["attempts"], 2);
    assert_eq!(alert["input"]["order"], 42);
    // The run log is written in batches by the server: poll for the record.
    assert!(wait_until(Duration::from_secs(15), || runs(&hub, &["--status", "dead"]).len() == 1));
    assert_eq!(runs(&hub, &["--status", "dead"])[0]["script"], "doomed");
}

#[test]
fn a_crash_loses_no_accepted_request() {
    let hub = Hub::new();
    hub.manifest(
        "[[route]]\nmethod = \"POST\"\npath = \"/orders\"\nscript = \"order\"\nauth = \"public\"\nmode = \"queue\"\n\n\
         [queue]\nworkers = 2\n\n[connections.db]\ntype = \"sqlite\"\npath = \"data/orders.db\"\n",
    );
    hub.script(
        "order",
        r#"let db = sql::connection("db");
           db.execute_batch("CREATE TABLE IF NOT EXISTS orders (n INTEGER NOT NULL)");
           db.execute("INSERT INTO orders (n) VALUES (?)", [input.n]);"#,
    );
    let server = hub.serve();
    let base = server.base.clone();
    let pid = server.pid();
    let accepted = Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    let answered = Arc::new(AtomicUsize::new(0));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        let tasks: Vec<_> = (0..300i64)
            .map(|n| {
                let (client, url, accepted, answered) =
                    (client.clone(), format!("{base}/orders"), Arc::clone(&accepted), Arc::clone(&answered));
                tokio::spawn(async move {
                    let reply = client.post(url).body(format!(r#"{{"n": {n}}}"#)).send().await;
                    if let Ok(reply) = reply
                        && reply.status().as_u16() == 202
                    {
                        accepted.lock().unwrap().push(n);
                    }
                    answered.fetch_add(1, Ordering::Relaxed);
                })
            })
            .collect();
        // Kill the hub without warning in the middle of the stream.
        let watcher = {
            let accepted = Arc::clone(&accepted);
            tokio::spawn(async move {
                while accepted.lock().unwrap().len() < 100 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
            })
        };
        for task in tasks {
            task.await.unwrap();
        }
        watcher.await.unwrap();
    });
    drop(server);
    let accepted = accepted.lock().unwrap().clone();
    assert!(accepted.len() >= 100, "only {} accepted", accepted.len());
    // Restart: everything that got a 202 runs, including what was queued or running at the kill.
    let _server = hub.serve();
    let db_path = hub.path().join("data/orders.db");
    let done = || -> std::collections::BTreeSet<i64> {
        rusqlite::Connection::open(&db_path)
            .and_then(|db| {
                let mut statement = db.prepare("SELECT n FROM orders")?;
                statement.query_map([], |row| row.get(0))?.collect()
            })
            .unwrap_or_default()
    };
    // One read of the table per poll: reading it once per request starves the hub on a busy machine.
    let all_ran = wait_until(Duration::from_secs(60), || {
        let ran = done();
        accepted.iter().all(|n| ran.contains(n))
    });
    let ran = done();
    let missing: Vec<&i64> = accepted.iter().filter(|n| !ran.contains(n)).collect();
    assert!(all_ran, "{} accepted requests never ran: {missing:?}\n{}", missing.len(), fates(&hub, &missing));
    println!("crash test: {} of 300 accepted before kill -9, all {} ran after restart", accepted.len(), accepted.len());
}

/// What the run log and the queue hold for the requests with these `n`: a failure's explanation.
fn fates(hub: &Hub, missing: &[&i64]) -> String {
    let Ok(db) = rusqlite::Connection::open(hub.path().join("data/switchboard.db")) else { return String::new() };
    let mut lines = Vec::new();
    for n in missing.iter().take(5) {
        let input = format!(r#"{{"n":{n}}}"#);
        let found = db.prepare(
            "SELECT 'run ' || id || ' ' || status || ' attempt ' || attempt || ': ' || coalesce(error, '') FROM runs WHERE input = ?1 \
             UNION ALL SELECT 'queue ' || id || ' ' || state || ' attempts ' || attempts || ': ' || coalesce(last_error, '') FROM queue WHERE input = ?1",
        );
        let Ok(mut statement) = found else { break };
        let rows: Vec<String> =
            statement.query_map([&input], |row| row.get(0)).and_then(Iterator::collect).unwrap_or_default();
        lines.push(format!("n = {n}: {rows:?}"));
    }
    lines.join("\n")
}

/// Every record in the hub's run log as (id, status, attempt, retry_of), read from the file.
fn records(hub: &Hub) -> Vec<(String, String, i64, Option<String>)> {
    let Ok(db) = rusqlite::Connection::open(hub.path().join("data/switchboard.db")) else { return Vec::new() };
    let Ok(mut statement) = db.prepare("SELECT id, status, attempt, retry_of FROM runs") else { return Vec::new() };
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
        .and_then(Iterator::collect)
        .unwrap_or_default()
}

/// Items still waiting or running in the hub's queue.
fn queued(hub: &Hub) -> i64 {
    rusqlite::Connection::open(hub.path().join("data/switchboard.db"))
        .and_then(|db| db.query_row("SELECT count(*) FROM queue WHERE state != 'dead'", [], |row| row.get(0)))
        .unwrap_or(-1)
}

/// Sends `count` queued requests at once and kills the hub with SIGKILL once `kill_after` were
/// acknowledged; returns the acknowledged run ids.
fn burst_and_kill(server: &crate::harness::Server, count: usize, kill_after: usize) -> Vec<String> {
    let (base, pid) = (server.base.clone(), server.pid());
    let accepted = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        let tasks: Vec<_> = (0..count)
            .map(|n| {
                let (client, url, accepted) = (client.clone(), format!("{base}/work"), Arc::clone(&accepted));
                tokio::spawn(async move {
                    let reply = client.post(url).body(format!(r#"{{"n": {n}}}"#)).send().await;
                    if let Ok(reply) = reply
                        && reply.status().as_u16() == 202
                        && let Ok(text) = reply.text().await
                        && let Ok(body) = serde_json::from_str::<serde_json::Value>(&text)
                        && let Some(id) = body["run_id"].as_str()
                    {
                        accepted.lock().unwrap().push(id.to_string());
                    }
                })
            })
            .collect();
        let killer = {
            let accepted = Arc::clone(&accepted);
            tokio::spawn(async move {
                while accepted.lock().unwrap().len() < kill_after {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
            })
        };
        for task in tasks {
            task.await.unwrap();
        }
        killer.await.unwrap();
    });
    accepted.lock().unwrap().clone()
}

#[test]
fn every_acknowledged_run_has_exactly_one_record_per_attempt_after_repeated_kills() {
    let hub = Hub::new();
    hub.manifest(
        "[[route]]\nmethod = \"POST\"\npath = \"/work\"\nscript = \"work\"\nauth = \"public\"\nmode = \"queue\"\n\n\
         [queue]\nworkers = 4\n",
    );
    hub.script("work", "let total = 0; for i in 0..2000 { total += i } total + input.n");
    let mut accepted = Vec::new();
    for round in 0..3 {
        let server = hub.serve();
        accepted.extend(burst_and_kill(&server, 200, 60 + 30 * round));
    }
    let _server = hub.serve();
    let settled = |records: &[(String, String, i64, Option<String>)]| {
        accepted.iter().all(|id| {
            records.iter().any(|(run, status, _, retry_of)| {
                (run == id || retry_of.as_deref() == Some(id.as_str())) && status == "ok"
            })
        })
    };
    let drained = wait_until(Duration::from_secs(60), || queued(&hub) == 0 && settled(&records(&hub)));
    let all = records(&hub);
    let mut problems = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for (id, ..) in &all {
        if !ids.insert(id.clone()) {
            problems.push(format!("{id}: two records"));
        }
    }
    for id in &accepted {
        let mut attempts: Vec<(i64, &str)> = all
            .iter()
            .filter(|(run, _, _, retry_of)| run == id || retry_of.as_deref() == Some(id.as_str()))
            .map(|(_, status, attempt, _)| (*attempt, status.as_str()))
            .collect();
        attempts.sort_unstable();
        let numbers: Vec<i64> = attempts.iter().map(|(attempt, _)| *attempt).collect();
        let expected: Vec<i64> = (1..=i64::try_from(attempts.len()).unwrap()).collect();
        let first_is_the_id = all.iter().any(|(run, _, attempt, _)| run == id && *attempt == 1);
        let statuses: Vec<&str> = attempts.iter().map(|(_, status)| *status).collect();
        let earlier_interrupted = statuses.iter().rev().skip(1).all(|status| *status == "interrupted");
        if numbers != expected || !first_is_the_id || statuses.last() != Some(&"ok") || !earlier_interrupted {
            problems.push(format!("{id}: attempts {attempts:?}"));
        }
    }
    let retried = all.iter().filter(|(_, _, attempt, _)| *attempt > 1).count();
    println!("{} acknowledged in 3 rounds of kill -9, {} records, {retried} later attempts", accepted.len(), all.len());
    assert!(
        drained && problems.is_empty(),
        "{} of {} acknowledged runs: {problems:#?}",
        problems.len(),
        accepted.len()
    );
}

/// `[queue] on_error` for the tests of the final-status rule: counts the runs given up on.
pub const COUNT_DEAD: &str = "[queue]\non_error = \"alert\"\n";

/// Adds the `alert` script `COUNT_DEAD` names and the two failing scripts the tests of the
/// final-status rule run: `once` (a trigger without `retry`) and `twice` (`retry` with 2 attempts).
pub fn failing_scripts(hub: &Hub, failing: &str) {
    hub.script(
        "alert",
        r#"state::set("alerts", state::get("alerts", 0) + 1); state::set("alerted_" + input.script, input.attempts)"#,
    )
    .script("once", failing)
    .script("twice", failing);
}

/// Waits until `script`'s failed attempts end in `dead`, then checks the rule the README states:
/// every attempt but the last is `error`, the last is `dead`, and each one after the first is
/// `retry_of` the first; `on_error` ran once, after the last.
pub fn dies_after(hub: &Hub, script: &str, attempts: u64) {
    let failed = || -> Vec<(u64, String, Option<String>, String)> {
        let mut failed: Vec<_> = runs(hub, &["--script", script])
            .iter()
            .filter(|run| run["status"] != "ok")
            .map(|run| {
                let text = |key: &str| run[key].as_str().map(str::to_string);
                (
                    run["attempt"].as_u64().unwrap_or(0),
                    text("status").unwrap_or_default(),
                    text("retry_of"),
                    text("id").unwrap_or_default(),
                )
            })
            .collect();
        failed.sort();
        failed
    };
    let alerted = || crate::cron::stored(hub, &format!("alerted_{script}"));
    let done = wait_until(Duration::from_secs(20), || {
        failed().last().is_some_and(|(_, status, ..)| status == "dead") && alerted().is_some()
    });
    let failed = failed();
    assert!(done, "{script}: {failed:?}");
    let first = failed[0].3.clone();
    let chain: Vec<(u64, &str, Option<&str>)> =
        failed.iter().map(|(attempt, status, retry_of, _)| (*attempt, status.as_str(), retry_of.as_deref())).collect();
    let expected: Vec<(u64, &str, Option<&str>)> = (1..=attempts)
        .map(|n| (n, if n == attempts { "dead" } else { "error" }, (n > 1).then_some(first.as_str())))
        .collect();
    assert_eq!(chain, expected, "{script}");
    assert_eq!(alerted(), Some(serde_json::json!(attempts)), "{script}: on_error ran for the last attempt");
}

#[test]
fn a_queued_request_that_fails_is_dead_with_or_without_retries() {
    let hub = Hub::new();
    hub.manifest(&format!(
        "[[route]]\nmethod = \"POST\"\npath = \"/once\"\nscript = \"once\"\nauth = \"public\"\nmode = \"queue\"\n\n\
         [[route]]\nmethod = \"POST\"\npath = \"/twice\"\nscript = \"twice\"\nauth = \"public\"\nmode = \"queue\"\n\
         retry = {{ attempts = 2, backoff = \"10ms\" }}\n\n{COUNT_DEAD}"
    ));
    failing_scripts(&hub, r#"throw "never works""#);
    let server = hub.serve();
    for path in ["/once", "/twice"] {
        assert_eq!(server.send(Method::POST, path, &[], Some("{}")).status, 202);
    }
    dies_after(&hub, "once", 1);
    dies_after(&hub, "twice", 2);
}

#[test]
fn a_queued_script_sees_the_request_as_a_synchronous_one_does_and_its_record_is_redacted() {
    let hub = Hub::new();
    hub.manifest(
        "[[route]]\nmethod = \"POST\"\npath = \"/notes\"\nscript = \"note\"\nauth = \"public\"\nmode = \"queue\"\n\n\
         [[key]]\nname = \"me\"\ntoken = \"tok-secret-123456\"\nscopes = []\n",
    );
    hub.script("note", r#"state::set("seen", event.body); "kept""#);
    let server = hub.serve();
    let body = r#"{"note": "tok-secret-123456"}"#;
    let reply = server.send(Method::POST, "/notes", &[("content-type", "application/json")], Some(body));
    assert_eq!(reply.status, 202, "{}", reply.text);
    assert!(wait_until(Duration::from_secs(10), || stored(&hub, "seen").is_some()));
    assert_eq!(stored(&hub, "seen").unwrap(), body);
    let id = reply.json()["run_id"].as_str().unwrap().to_string();
    assert!(wait_until(Duration::from_secs(10), || runs(&hub, &[]).iter().any(|r| r["id"] == id.as_str())));
    let record = hub.cmd(&["runs", "show", &id, "--json"]).output();
    assert!(!record.stdout.contains("tok-secret-123456") && record.stdout.contains("***"), "{}", record.stdout);
}
