//! Schemathesis against the served demo hub: no server error, and every answer as its OpenAPI
//! document declares it. Runs when `SWITCHBOARD_TEST_SCHEMATHESIS` names the program or
//! `schemathesis`/`st` is on PATH; `.ci/run` installs it.

use crate::harness::Server;
use std::process::Command;

fn program() -> Option<std::path::PathBuf> {
    if let Ok(path) = std::env::var("SWITCHBOARD_TEST_SCHEMATHESIS") {
        return Some(path.into());
    }
    which::which("schemathesis").or_else(|_| which::which("st")).ok()
}

#[test]
fn schemathesis_finds_no_server_error_in_the_demo_hub() {
    let Some(program) = program() else {
        println!("skipped: schemathesis not installed (set SWITCHBOARD_TEST_SCHEMATHESIS or put it on PATH)");
        return;
    };
    let hub = crate::demo::demo();
    let server = Server::start(hub.path(), &[]);
    let report = hub.path().join("schemathesis-report");
    let output = Command::new(&program)
        .args(["run", &server.url("/openapi.json")])
        .args(["--url", &server.base])
        .args(["--header", "Authorization: Bearer demo-token-change-me"])
        .args(["--checks", "all"])
        .args(["--max-examples", "40"])
        .args(["--max-response-time", "5"])
        .args(["--request-timeout", "10"])
        .args(["--seed", "17"])
        .args(["--no-color"])
        .env("SCHEMATHESIS_HOOKS", "")
        .current_dir(hub.path())
        .output()
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let _ = report;
    assert!(output.status.success(), "schemathesis found problems:\n{stdout}\n{stderr}\nserver log:\n{}", server.stderr());
}
