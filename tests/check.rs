//! `switchboard check`: manifest validation and compile errors.

use crate::harness::Hub;

#[test]
fn a_good_hub_passes() {
    let hub = Hub::new();
    hub.manifest("[[route]]\nmethod = \"GET\"\npath = \"/a\"\nscript = \"a\"\n").script("a", "1");
    let out = hub.cmd(&["check"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("ok: 1 scripts, 1 routes"), "{}", out.stdout);
}

#[test]
fn every_compile_error_is_reported() {
    let hub = Hub::new();
    hub.script("one", "let = 1;").script("two", "fn f( {").script("fine", "1").file("lib/util.rhai", "fn x() { (");
    let out = hub.cmd(&["check"]).output();
    out.fails_with(
        1,
        &["scripts/one.rhai:1:5", "scripts/two.rhai:1:", "lib/util.rhai:1:", "3 scripts failed to compile"],
    );
}

#[test]
fn configuration_errors_exit_2_and_are_all_reported() {
    let hub = Hub::new();
    hub.manifest(
        "[[route]]\nmethod = \"FETCH\"\npath = \"a\"\nscript = \"nope\"\n\n[[cron]]\nname = \"x\"\nschedule = \"* * * * *\"\ntimezone = \"Mars/Base\"\nscript = \"nope\"\n",
    );
    hub.cmd(&["check"]).output().fails_with(
        2,
        &[
            "route[0].method: unknown method `FETCH`",
            "route[0].path",
            "route[0].script: no script `nope`",
            "cron[0].timezone",
        ],
    );
}

#[test]
fn a_folder_without_a_manifest_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        std::process::Command::new(crate::harness::binary()).args(["check", "--dir"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no switchboard.toml here"));
}
