//! Hot reload while serving: edits take effect, broken edits keep the last good version.

use crate::harness::{Hub, wait_until};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

fn hub() -> Hub {
    let hub = Hub::new();
    hub.manifest("[[route]]\nmethod = \"GET\"\npath = \"/v\"\nscript = \"v\"\nauth = \"public\"\n");
    hub.script("v", r#""one""#);
    hub
}

#[test]
fn an_edited_script_changes_the_next_response() {
    let hub = hub();
    let server = hub.serve();
    assert_eq!(server.get("/v", &[]).text, "one");
    hub.script("v", r#""two""#);
    assert!(wait_until(Duration::from_secs(10), || server.get("/v", &[]).text == "two"));
    // The log line follows the swap, so it may land a moment after the new answer.
    assert!(wait_until(Duration::from_secs(10), || server.stderr().contains("reloaded")));
}

#[test]
fn a_broken_edit_keeps_the_last_good_version_and_health_shows_why() {
    let hub = hub();
    let server = hub.serve();
    hub.script("v", "let x = ;");
    assert!(wait_until(Duration::from_secs(10), || server.get("/_/health", &[]).json()["status"] == "degraded"));
    let health = server.get("/_/health", &[]).json();
    assert!(health["last_reload_error"].as_str().unwrap().contains("scripts/v.rhai:1:9"), "{health}");
    assert_eq!(server.get("/v", &[]).text, "one");
    hub.script("v", r#""fixed""#);
    assert!(wait_until(Duration::from_secs(10), || server.get("/v", &[]).text == "fixed"));
    assert_eq!(server.get("/_/health", &[]).json()["status"], "ok");
    assert_eq!(server.get("/_/health", &[]).json()["last_reload_error"], serde_json::Value::Null);
}

#[test]
fn a_lib_folder_created_while_serving_is_watched_too() {
    let hub = hub();
    let server = hub.serve();
    hub.file("lib/words.rhai", "fn word() { \"two\" }");
    hub.script("v", "import \"words\" as w;\nw::word()");
    assert!(wait_until(Duration::from_secs(10), || server.get("/v", &[]).text == "two"));
    // Only lib/ changes now: the reload proves the new folder is watched.
    hub.file("lib/words.rhai", "fn word() { \"three\" }");
    assert!(wait_until(Duration::from_secs(10), || server.get("/v", &[]).text == "three"));
}

#[test]
fn a_broken_manifest_keeps_the_last_good_version() {
    let hub = hub();
    let server = hub.serve();
    hub.manifest("[[route]]\nmethod = \"GET\"\npath = \"/v\"\nscript = \"v\"\nauth = \"publik\"\n");
    assert!(wait_until(Duration::from_secs(10), || server.get("/_/health", &[]).json()["status"] == "degraded"));
    let error = server.get("/_/health", &[]).json()["last_reload_error"].as_str().unwrap().to_string();
    assert!(error.contains("switchboard.toml:5:") && error.contains("did you mean `public`"), "{error}");
    assert_eq!(server.get("/v", &[]).text, "one");
}

#[test]
fn routes_and_cron_jobs_added_to_the_manifest_go_live() {
    let hub = hub();
    let server = hub.serve();
    assert_eq!(server.get("/w", &[]).status, 404);
    hub.script("w", r#""new route""#).script("tick", r#"state::set("ticked", true)"#);
    hub.manifest(
        "[[route]]\nmethod = \"GET\"\npath = \"/v\"\nscript = \"v\"\nauth = \"public\"\n\n\
         [[route]]\nmethod = \"GET\"\npath = \"/w\"\nscript = \"w\"\nauth = \"public\"\n\n\
         [[cron]]\nname = \"tick\"\nschedule = \"* * * * * *\"\nscript = \"tick\"\n",
    );
    assert!(wait_until(Duration::from_secs(10), || server.get("/w", &[]).text == "new route"));
    assert!(wait_until(Duration::from_secs(10), || crate::cron::stored(&hub, "ticked").is_some()));
}

#[test]
fn a_reload_during_a_stream_of_requests_loses_none() {
    let hub = hub();
    let server = Arc::new(hub.serve());
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (server, stop, ok, failed) =
                (Arc::clone(&server), Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&failed));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let reply = server.get("/v", &[]);
                    let counter = if reply.status == 200 && reply.text.starts_with("version") || reply.text == "one" {
                        &ok
                    } else {
                        &failed
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for version in 0..5 {
        hub.script("v", &format!("\"version {version}\""));
        assert!(wait_until(Duration::from_secs(10), || server.get("/v", &[]).text == format!("version {version}")));
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0);
    assert!(ok.load(Ordering::Relaxed) > 20);
}

#[test]
fn no_watch_turns_reloading_off() {
    // Two copies of one hub (a hub is served by one process at a time), edited alike.
    let (frozen_hub, watching_hub) = (hub(), hub());
    let frozen = crate::harness::Server::start_with_args(frozen_hub.path(), &["--no-watch"]);
    let watching = watching_hub.serve();
    frozen_hub.script("v", r#""two""#);
    watching_hub.script("v", r#""two""#);
    // The frozen hub's edit came first; once the watching one has reloaded, the other would have too.
    assert!(wait_until(Duration::from_secs(10), || watching.get("/v", &[]).text == "two"));
    assert_eq!(frozen.get("/v", &[]).text, "one");
}
