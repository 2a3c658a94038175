//! Every example hub's `.env.example`, copied to `.env` as its README says, loads and passes `check`.

use crate::harness::Hub;
use std::path::Path;

#[test]
fn every_env_example_passes_check_as_shipped() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&examples).expect("read examples").flatten() {
        let path = entry.path();
        if !path.join("switchboard.toml").exists() || !path.join(".env.example").exists() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let hub = Hub::from_example(&name);
        std::fs::copy(hub.path().join(".env.example"), hub.path().join(".env")).expect("copy .env.example");
        let output = hub.cmd(&["check"]).output();
        assert_eq!(
            output.code, 0,
            "{name}: check fails with .env.example as .env\nstdout: {}\nstderr: {}",
            output.stdout, output.stderr
        );
        checked.push(name);
    }
    assert!(checked.len() >= 9, "expected every example hub, checked only {checked:?}");
}
