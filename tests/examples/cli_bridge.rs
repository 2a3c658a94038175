//! The `examples/cli-bridge` hub end to end.

use crate::harness::{Hub, Server};
use serde_json::Value;
use std::process::Command;

const TOKEN: &str = "monitor-token-0123456789";

/// What `findmnt` itself reports, as (mount, type) pairs without in-memory filesystems: what the
/// route must show after its trip through jq.
fn expected_mounts() -> Vec<(String, String)> {
    let out = Command::new("findmnt").args(["--df", "--json", "--bytes"]).output().expect("run findmnt");
    assert!(out.status.success(), "findmnt: {}", String::from_utf8_lossy(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let in_memory = ["tmpfs", "devtmpfs", "ramfs", "squashfs", "efivarfs"];
    let mut mounts: Vec<(String, String)> = listed["filesystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|fs| (fs["target"].as_str().unwrap().to_string(), fs["fstype"].as_str().unwrap().to_string()))
        .filter(|(_, kind)| !in_memory.contains(&kind.as_str()))
        .collect();
    mounts.sort();
    mounts
}

fn mounts(status: &Value) -> Vec<(String, String)> {
    let mut mounts: Vec<(String, String)> = status["filesystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|fs| (fs["mount"].as_str().unwrap().to_string(), fs["type"].as_str().unwrap().to_string()))
        .collect();
    mounts.sort();
    mounts
}

fn status(server: &Server, path: &str) -> Value {
    let reply = server.get(path, &[("Authorization", &format!("Bearer {TOKEN}"))]);
    assert_eq!(reply.status, 200, "GET {path}: {}\n{}", reply.text, server.stderr());
    reply.json()
}

#[test]
fn status_is_findmnt_piped_through_jq_and_a_hanging_command_is_a_504() {
    let hub = Hub::from_example("cli-bridge");
    let server = Server::start(hub.path(), &[("STATUS_TOKEN", TOKEN)]);

    assert_eq!(server.get("/cli/status", &[]).status, 401, "the status needs the monitor key");

    let expected = expected_mounts();
    assert!(!expected.is_empty(), "findmnt lists no disk-backed filesystem on this machine");
    let all = status(&server, "/cli/status");
    assert_eq!(mounts(&all), expected, "{all:#}");
    // jq's reshaping: numbers from findmnt's text, fullest first, and the fullest named. A
    // filesystem without a usage figure (findmnt prints "-") has none and comes last.
    let percents: Vec<i64> = all["filesystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|fs| if fs["used_percent"].is_null() { -1 } else { fs["used_percent"].as_i64().unwrap() })
        .collect();
    assert!(percents.iter().all(|p| (-1..=100).contains(p)), "{percents:?}");
    assert!(percents.windows(2).all(|pair| pair[0] >= pair[1]), "not fullest first: {percents:?}");
    assert_eq!(all["fullest"], all["filesystems"][0]);
    let first = &all["filesystems"][0];
    assert!(first["size_bytes"].is_i64() && first["used_bytes"].is_i64(), "{first}");
    assert!(all["checked_at"].is_string(), "{all}");

    // The query parameter reaches jq as a --arg value: it filters, and it is never jq code.
    let kind = &expected[0].1;
    let only = status(&server, &format!("/cli/status?type={kind}"));
    let wanted: Vec<_> = expected.iter().filter(|(_, k)| k == kind).cloned().collect();
    assert_eq!(mounts(&only), wanted);
    let injected = status(&server, "/cli/status?type=%22%20or%20true%20or%20%22");
    assert_eq!(mounts(&injected), Vec::<(String, String)>::new());

    // A command that overruns its limit is stopped and answered with a 504 that says so.
    let slow = server.get("/cli/slow", &[("X-Api-Key", TOKEN)]);
    assert_eq!(slow.status, 504, "{}", slow.text);
    assert_eq!(slow.json()["error"], "exec.run: `sleep` did not finish within 2s and was stopped");
}
