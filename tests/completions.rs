//! `switchboard completions SHELL` and `switchboard man`, generated from the command line itself.

use crate::harness::binary;
use std::process::Command;

/// Every top-level subcommand, as `switchboard --help` names them.
const SUBCOMMANDS: &[&str] =
    &["serve", "run", "check", "routes", "openapi", "repl", "runs", "cron", "init", "completions", "man"];

fn stdout_of(args: &[&str]) -> String {
    let out = Command::new(binary()).args(args).output().unwrap();
    assert!(out.status.success(), "switchboard {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_for_each_shell_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains("switchboard"), "{shell}: {script}");
        for name in SUBCOMMANDS {
            assert!(script.contains(name), "{shell} completions lack `{name}`:\n{script}");
        }
    }
    let out = Command::new(binary()).args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_prints_roff_naming_every_subcommand() {
    let page = stdout_of(&["man"]);
    assert!(page.contains(".TH switchboard 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    // roff escapes `-` as `\-`.
    let text = page.replace("\\-", "-");
    for name in SUBCOMMANDS {
        assert!(text.contains(&format!("switchboard-{name}")), "the man page lacks `{name}`:\n{page}");
    }
}

#[test]
fn each_page_the_main_man_page_names_exists() {
    for name in SUBCOMMANDS {
        let page = stdout_of(&["man", name]);
        assert!(page.contains(&format!(".TH switchboard-{name} 1")), "no page for `{name}`:\n{page}");
    }
    // Its own options are on it: `runs list` and `runs show` for `runs`, `--listen` for `serve`.
    assert!(stdout_of(&["man", "serve"]).replace("\\-", "-").contains("--listen"));
    let out = Command::new(binary()).args(["man", "serv"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no command `serv`"), "{out:?}");
}

#[test]
fn the_readme_command_table_lists_completions_and_man() {
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for command in ["| `switchboard completions ", "| `switchboard man"] {
        assert!(readme.contains(command), "the README's command table lacks {command}");
    }
    assert!(readme.contains("cargo install --path . --locked"), "the README does not say how to install");
}
