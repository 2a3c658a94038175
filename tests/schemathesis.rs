//! Schemathesis against the served demo hub: no server error, and every answer as its OpenAPI
//! document declares it. Runs when `SWITCHBOARD_TEST_SCHEMATHESIS` names the program or
//! `schemathesis`/`st` is on PATH (`.ci/run` installs it); otherwise prints why it skipped, or
//! fails where `SWITCHBOARD_REQUIRE_TOOLS` is set (as `.ci/run` sets it).

use crate::harness::Server;
use std::process::{Command, Stdio};
use std::time::Duration;
use wait_timeout::ChildExt;

fn program() -> Option<std::path::PathBuf> {
    if let Ok(path) = std::env::var("SWITCHBOARD_TEST_SCHEMATHESIS") {
        return Some(path.into());
    }
    which::which("schemathesis").or_else(|_| which::which("st")).ok()
}

#[test]
fn schemathesis_finds_no_server_error_in_the_demo_hub() {
    let Some(program) = program() else {
        crate::harness::skip("schemathesis not installed (set SWITCHBOARD_TEST_SCHEMATHESIS or put it on PATH)");
        return;
    };
    let hub = crate::demo::demo();
    let server = Server::start(hub.path(), &[]);
    let log = hub.path().join("schemathesis.log");
    let file = std::fs::File::create(&log).unwrap();
    // Bounded by examples per operation (a time budget would make every run take all of it)
    // and a fixed seed, so a run is the same run each time; about 30 s on two cores. One worker:
    // Python 3.11's `ast` is not thread-safe, and hypothesis parses lambdas with it.
    let mut child = Command::new(&program)
        .args(["run", &server.url("/openapi.json"), "--url", &server.base])
        .args(["--header", "Authorization: Bearer demo-token-change-me"])
        .args(["--checks", "all", "--max-examples", "25", "--seed", "17", "--workers", "1"])
        .args(["--request-timeout", "20", "--generation-database", "none", "--no-color"])
        .current_dir(hub.path())
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .expect("start schemathesis");
    let status = match child.wait_timeout(Duration::from_secs(110)).unwrap() {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("schemathesis ran over 110 s:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
        }
    };
    let report = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "schemathesis found problems:\n{report}\nserver log:\n{}", server.stderr());
    assert!(report.contains("passed"), "{report}");
}
