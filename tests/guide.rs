//! The commands of docs/guide.md and examples/deploy, run for real.

use crate::harness::{Server, binary, wait_until};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The lines of the guide's ```sh block that contains `marker`, each split into the command and
/// its trailing comment.
fn guide_block(marker: &str) -> Vec<(String, String)> {
    let guide = std::fs::read_to_string(root().join("docs/guide.md")).unwrap();
    let blocks: Vec<&str> = guide.split("```sh\n").skip(1).filter_map(|rest| rest.split("```").next()).collect();
    let block = blocks.iter().find(|block| block.contains(marker)).expect("the guide has the block");
    block
        .lines()
        .map(|line| match line.split_once(" #") {
            Some((command, comment)) => (command.trim().to_string(), comment.trim().to_string()),
            None => (line.trim().to_string(), String::new()),
        })
        .collect()
}

/// Runs `line` with `sh` in `dir`, with `switchboard` on the PATH being the binary under test.
fn shell(line: &str, dir: &Path) -> std::process::Output {
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(binary(), bin.path().join("switchboard")).unwrap();
    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap_or_default());
    let output = Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("SWITCHBOARD_LOG")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "guide line `{line}` failed:\n{}", String::from_utf8_lossy(&output.stderr));
    output
}

#[test]
fn a_first_hub_in_five_commands_works_as_the_guide_writes_it() {
    if Command::new("curl").arg("--version").output().is_err() {
        return crate::harness::skip("curl is not installed");
    }
    let parent = tempfile::tempdir().unwrap();
    let mut server = None;
    let mut lines = 0;
    for (command, comment) in guide_block("switchboard init") {
        if let Some(args) = command.strip_prefix("switchboard serve ") {
            // Port 8080 may be taken: serve on a free port, and call it where the guide says 8080.
            let dir = args.strip_prefix("--dir ").expect("serve --dir HUB");
            let started = Server::start(&parent.path().join(dir), &[]);
            let curl = comment.strip_prefix("then: ").expect("a curl to try after serve");
            let answer = shell(&curl.replace("http://127.0.0.1:8080", &started.base), parent.path());
            assert!(String::from_utf8_lossy(&answer.stdout).contains("Hello, Ada!"));
            server = Some(started);
        } else {
            shell(&command, parent.path());
        }
        lines += 1;
    }
    assert_eq!(lines, 5, "the guide's first hub takes five commands");
    // The prose after the block: a broken edit degrades the hub and the last good version answers.
    let (server, hub) = (server.expect("the block serves the hub"), parent.path().join("myhub"));
    std::fs::write(hub.join("scripts/hello.rhai"), "let x = ;").unwrap();
    assert!(wait_until(Duration::from_secs(10), || server.get("/_/health", &[]).json()["status"] == "degraded"));
    assert!(
        server.get("/_/health", &[]).json()["last_reload_error"].as_str().unwrap().contains("scripts/hello.rhai:1:9")
    );
    assert_eq!(server.get("/hello?name=Ada", &[]).json()["message"], "Hello, Ada!");
}

#[test]
fn troubleshooting_commands_find_and_retry_a_failed_run_as_the_guide_writes_them() {
    let hub = crate::harness::Hub::new();
    hub.script(
        "flaky",
        r#"if state::get("fixed", false) { "fine now" } else { state::set("fixed", true); throw "upstream down" }"#,
    );
    assert_eq!(hub.run("flaky", "{}").code, 1);
    let failed = hub.cmd(&["runs", "list", "--status", "error", "--json"]).output().json();
    let id = failed[0]["id"].as_str().unwrap().to_string();
    let outputs: Vec<String> = guide_block("switchboard runs list")
        .iter()
        // The guide's example id stands for the failed run's: the same length of prefix.
        .map(|(command, _)| command.replace("01a21d42-5e82", &id[..13]))
        .map(|command| String::from_utf8_lossy(&shell(&command, hub.path()).stdout).into_owned())
        .collect();
    assert_eq!(outputs.len(), 3);
    assert!(outputs[0].contains(&id[..13]) && outputs[0].contains("error"), "{}", outputs[0]);
    assert!(outputs[1].contains("upstream down"), "{}", outputs[1]);
    assert!(outputs[2].contains("fine now"), "{}", outputs[2]);
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

#[test]
fn the_rhai_primer_blocks_give_the_results_the_guide_shows() {
    let guide = std::fs::read_to_string(root().join("docs/guide.md")).unwrap();
    let hub = crate::harness::Hub::new();
    let mut checked = 0;
    for block in guide.split("```rhai\n").skip(1).filter_map(|rest| rest.split("```").next()) {
        let (code, expected) = block.rsplit_once("// => ").expect("each primer block ends with `// => RESULT`");
        hub.script("primer", code);
        let output = hub.cmd(&["run", "primer"]).output();
        assert_eq!(output.code, 0, "{code}\n{}", output.stderr);
        let expected: serde_json::Value = serde_json::from_str(expected.trim()).unwrap();
        assert_eq!(output.json(), expected, "the guide's result of:\n{code}");
        checked += 1;
    }
    assert!(checked >= 5, "expected the primer's blocks, checked {checked}");
}
