//! The commands of docs/guide.md and examples/deploy, run for real.

use crate::harness::{Server, binary, wait_until};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn switchboard(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(binary()).args(args).arg("--dir").arg(dir).output().unwrap()
}

#[test]
fn a_first_hub_in_five_commands() {
    let parent = tempfile::tempdir().unwrap();
    let hub = parent.path().join("myhub");
    assert!(Command::new(binary()).arg("init").arg(&hub).status().unwrap().success());
    assert!(switchboard(&["check"], &hub).status.success());
    let run = switchboard(&["run", "hello", "--input", r#"{"name": "Ada"}"#], &hub);
    assert!(String::from_utf8_lossy(&run.stdout).contains("Hello, Ada!"));
    assert!(String::from_utf8_lossy(&switchboard(&["routes"], &hub).stdout).contains("/hello"));
    let server = Server::start(&hub, &[]);
    assert_eq!(server.get("/hello?name=Ada", &[]).json()["message"], "Hello, Ada!");
    std::fs::write(hub.join("scripts/hello.rhai"), "let x = ;").unwrap();
    assert!(wait_until(Duration::from_secs(10), || server.get("/_/health", &[]).json()["status"] == "degraded"));
    assert!(
        server.get("/_/health", &[]).json()["last_reload_error"].as_str().unwrap().contains("scripts/hello.rhai:1:9")
    );
    assert_eq!(server.get("/hello?name=Ada", &[]).json()["message"], "Hello, Ada!");
}

#[test]
fn troubleshooting_commands_find_and_retry_a_failed_run() {
    let hub = crate::harness::Hub::new();
    hub.script(
        "flaky",
        r#"if state::get("fixed", false) { "fine now" } else { state::set("fixed", true); throw "upstream down" }"#,
    );
    assert_eq!(hub.run("flaky", "{}").code, 1);
    let failed = hub.cmd(&["runs", "list", "--status", "error", "--since", "1d", "--json"]).output().json();
    let id = failed[0]["id"].as_str().unwrap().to_string();
    let shown = hub.cmd(&["runs", "show", &id[..13]]).output();
    assert!(shown.stdout.contains("upstream down"), "{}", shown.stdout);
    assert_eq!(hub.cmd(&["runs", "retry", &id[..13]]).output().json(), "fine now");
}

#[test]
fn the_systemd_unit_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(root().join("examples/deploy/switchboard.service")).unwrap();
    let unit = unit
        .replace("/usr/local/bin/switchboard", binary().to_str().unwrap())
        .replace("/srv/hub", dir.path().to_str().unwrap());
    let path = dir.path().join("switchboard.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze").arg("verify").arg(&path).output().expect("systemd-analyze is installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn backup_copies_live_databases_consistently() {
    let hub = crate::harness::Hub::new();
    hub.script("count", r#"state::set("n", 41 + 1); "ok""#);
    assert_eq!(hub.run("count", "{}").json(), "ok");
    let target = tempfile::tempdir().unwrap();
    let out =
        Command::new(root().join("examples/deploy/backup.sh")).arg(hub.path()).arg(target.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stamp = std::fs::read_dir(target.path()).unwrap().next().unwrap().unwrap().path();
    let backup = rusqlite::Connection::open(stamp.join("switchboard.db")).unwrap();
    let n: String = backup.query_row("SELECT value FROM state WHERE key = 'n'", [], |row| row.get(0)).unwrap();
    assert_eq!(n, "42");
    assert!(stamp.join("switchboard.toml").exists() && stamp.join("scripts/count.rhai").exists());
}
