//! The Dockerfile and compose.yaml, as far as they can be tried without a Docker engine: the
//! command the image runs, against the hub folder laid out as the volume, and its health check.

use crate::harness::{Server, binary};
use std::path::PathBuf;
use std::process::Command;

fn read(name: &str) -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

/// The value of the Dockerfile's (last) `INSTRUCTION` line.
fn instruction(dockerfile: &str, name: &str) -> String {
    let prefix = format!("{name} ");
    dockerfile
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .next_back()
        .unwrap_or_else(|| panic!("no {name}"))
        .into()
}

/// An exec-form instruction (`["a", "b"]`) as its words.
fn exec_form(dockerfile: &str, name: &str) -> Vec<String> {
    serde_json::from_str(&instruction(dockerfile, name)).unwrap_or_else(|err| panic!("{name} is not exec form: {err}"))
}

#[test]
fn the_image_command_serves_a_hub_mounted_at_its_volume_and_passes_its_health_check() {
    if Command::new("curl").arg("--version").output().is_err() {
        return crate::harness::skip("curl is not installed");
    }
    let dockerfile = read("Dockerfile");
    let volume = instruction(&dockerfile, "VOLUME");
    assert_eq!(instruction(&dockerfile, "WORKDIR"), volume, "the hub folder is the working directory");
    assert_eq!(exec_form(&dockerfile, "ENTRYPOINT"), ["switchboard"]);
    // The compose file mounts the hub at the same place and publishes the port the image listens on.
    let compose = read("compose.yaml");
    assert!(compose.contains(&format!("- ./hub:{volume}\n")), "compose.yaml mounts ./hub at {volume}");
    let port = instruction(&dockerfile, "EXPOSE");
    assert!(compose.contains(&format!(":{port}:{port}\"")), "compose.yaml publishes port {port}");

    // A hub as `switchboard init` makes it, where the volume would be, served by the image's CMD.
    let parent = tempfile::tempdir().unwrap();
    let hub = parent.path().join("hub");
    assert!(Command::new(binary()).arg("init").arg(&hub).output().unwrap().status.success());
    let wildcard = format!("0.0.0.0:{port}");
    let args: Vec<String> = exec_form(&dockerfile, "CMD")
        .into_iter()
        .map(|arg| if arg == volume { hub.display().to_string() } else { arg })
        .map(|arg| if arg == wildcard { "127.0.0.1:0".into() } else { arg })
        .collect();
    assert!(args.contains(&"127.0.0.1:0".to_string()), "CMD listens on {wildcard}: {args:?}");
    let server = Server::start_command_line(&args);
    assert_eq!(server.get("/hello?name=Ada", &[]).json()["message"], "Hello, Ada!");

    // HEALTHCHECK [OPTIONS] CMD command: the command, run by a shell as Docker's shell form is.
    let health = instruction(&dockerfile, "HEALTHCHECK");
    let check = health.split_once(" CMD ").expect("HEALTHCHECK ... CMD command").1;
    let check = check.replace(&format!("http://127.0.0.1:{port}"), &server.base);
    let output = Command::new("sh").arg("-c").arg(&check).output().unwrap();
    assert!(output.status.success(), "health check failed: {}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("\"ok\""));
}
