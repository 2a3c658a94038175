//! `switchboard init`: a new hub that passes `check` and serves at once.

use crate::harness::{Server, binary};
use std::process::Command;

#[test]
fn init_creates_a_working_hub_with_a_fresh_token() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("myhub");
    let out = Command::new(binary()).arg("init").arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for file in ["switchboard.toml", "scripts/hello.rhai", ".env", ".env.example", ".gitignore", "lib", "schemas"] {
        assert!(dir.join(file).exists(), "{file}");
    }
    let check = Command::new(binary()).args(["check", "--dir"]).arg(&dir).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let token = std::fs::read_to_string(dir.join(".env")).unwrap().trim().trim_start_matches("HUB_TOKEN=").to_string();
    assert_eq!(token.len(), 32);
    let server = Server::start(&dir, &[]);
    assert_eq!(server.get("/hello?name=Ada", &[]).json()["message"], "Hello, Ada!");
    assert_eq!(server.get("/whoami", &[]).status, 401);
    let bearer = format!("Bearer {token}");
    assert_eq!(server.get("/whoami", &[("authorization", bearer.as_str())]).json()["client"], "me");
}

#[test]
fn init_never_overwrites_a_hub() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("switchboard.toml"), "# mine\n").unwrap();
    let out = Command::new(binary()).arg("init").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds a hub"));
    assert_eq!(std::fs::read_to_string(dir.path().join("switchboard.toml")).unwrap(), "# mine\n");
}

#[test]
fn init_next_steps_name_the_address_the_hub_listens_on() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("myhub");
    let out = Command::new(binary()).arg("init").arg(&dir).args(["--listen", "0.0.0.0:9137"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("curl 'http://127.0.0.1:9137/hello?name=Ada'"), "{stdout}");
    assert!(stdout.contains(" http://127.0.0.1:9137/whoami"), "{stdout}");
    assert!(!stdout.contains("8080"), "{stdout}");
    let manifest = std::fs::read_to_string(dir.join("switchboard.toml")).unwrap();
    assert!(manifest.contains("listen = \"0.0.0.0:9137\""), "{manifest}");
    let check = Command::new(binary()).args(["check", "--dir"]).arg(&dir).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));

    let other = parent.path().join("other");
    let out = Command::new(binary()).arg("init").arg(&other).args(["--listen", "nowhere"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));
    assert!(!other.join("switchboard.toml").exists());
}
