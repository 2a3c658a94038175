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

/// The keys an example's `.env.example` sets.
fn env_keys(example: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(example.join(".env.example")).unwrap_or_default();
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once('=').map(|(key, _)| key.trim().to_owned()))
        .filter(|key| !key.is_empty())
        .collect()
}

/// A shell reading `$KEY` gets nothing: the key is only in `.env`, which `switchboard` reads but the
/// shell does not. So every README line that uses one reads it from `.env` on that same line.
/// (`${KEY}` is the manifest's own syntax, not the shell's, so it is not looked at.)
#[test]
fn example_readmes_read_env_keys_from_the_env_file() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut wrong = Vec::new();
    for entry in std::fs::read_dir(&examples).expect("read examples").flatten() {
        let Ok(readme) = std::fs::read_to_string(entry.path().join("README.md")) else { continue };
        for key in env_keys(&entry.path()) {
            let plain = format!("${key}");
            for (number, line) in readme.lines().enumerate() {
                let uses = line.match_indices(&plain).any(|(at, _)| {
                    !line[at + plain.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                });
                if uses && !line.contains(".env") {
                    wrong.push(format!("{}/README.md:{}: {line}", entry.file_name().to_string_lossy(), number + 1));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "README lines use a .env key the shell does not have:\n{}", wrong.join("\n"));
}
