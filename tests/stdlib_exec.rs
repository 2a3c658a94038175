//! `exec` running real programs: allow-list, literal arguments, stdin, environment, cwd,
//! timeouts and the output cap.

use crate::harness::Hub;
use serde_json::json;

/// A hub whose `[exec] allow` lists `programs` (plus any extra manifest text).
fn hub(programs: &[&str], extra: &str) -> Hub {
    let hub = Hub::new();
    let allow: Vec<String> = programs.iter().map(|program| format!("{program:?}")).collect();
    hub.manifest(&format!("[exec]\nallow = [{}]\n{extra}", allow.join(", ")));
    hub
}

#[test]
fn arguments_with_shell_metacharacters_are_passed_literally() {
    let hub = hub(&["echo"], "");
    hub.script(
        "echo",
        r#"exec::run("echo", ["$HOME", "a;b", "`id`", "*", "|", "&&", "'q'", "\"dq\"", ">made.txt", "$(id)", 42, 1.5])"#,
    );
    let out = hub.run("echo", "{}").json();
    assert_eq!(
        out,
        json!({
            "code": 0,
            "stdout": "$HOME a;b `id` * | && 'q' \"dq\" >made.txt $(id) 42 1.5\n",
            "stderr": "",
            "truncated": false
        })
    );
    assert!(!hub.path().join("made.txt").exists());
}

#[test]
fn a_non_zero_exit_is_data_not_an_error() {
    let hub = hub(&["cat"], "");
    hub.script("missing", r#"exec::run("cat", ["no-such-file.txt"])"#);
    let out = hub.run("missing", "{}").json();
    assert_eq!(out["code"], json!(1));
    assert_eq!(out["stdout"], json!(""));
    assert!(out["stderr"].as_str().unwrap().contains("no-such-file.txt"), "{out}");
}

#[test]
fn stdin_is_fed_to_the_program() {
    let hub = hub(&["cat", "wc"], "");
    hub.script(
        "stdin",
        r#"
        let big = "0123456789abcdef";
        for i in 0..16 { big += big; }    // 1 MiB: more than any pipe buffer holds
        #{
            echoed: exec::run("cat", [], #{ stdin: "hello\nworld" }).stdout,
            bytes: exec::run("cat", [], #{ stdin: blob(3, 65) }).stdout,
            counted: parse_int(exec::run("wc", ["-c"], #{ stdin: big }).stdout.split()[0]),
        }
        "#,
    );
    let out = hub.run("stdin", "{}").json();
    assert_eq!(out, json!({"echoed": "hello\nworld", "bytes": "AAA", "counted": 1048576}));
}

#[test]
fn the_environment_is_cleared_except_for_basics_and_what_the_script_adds() {
    let hub = hub(&["printenv"], "");
    hub.script("env", r#"exec::run("printenv", [], #{ env: #{ GREETING: "hi there", COUNT: 3 } }).stdout"#);
    let out = hub.cmd(&["run", "env", "--input", "{}"]).env("HUB_SECRET_TOKEN", "hunter2").output().json();
    let text = out.as_str().unwrap();
    assert!(text.contains("GREETING=hi there\n"), "{text}");
    assert!(text.contains("COUNT=3\n"), "{text}");
    assert!(text.contains("PATH="), "{text}");
    assert!(!text.contains("HUB_SECRET_TOKEN"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn cwd_defaults_to_the_hub_and_must_stay_inside_it() {
    let hub = hub(&["pwd"], "");
    std::fs::create_dir_all(hub.path().join("work/sub")).unwrap();
    hub.script(
        "pwd",
        r#"
        fn line(result) { let text = result.stdout; text.trim(); text }
        #{ hub: line(exec::run("pwd", [])), sub: line(exec::run("pwd", [], #{ cwd: "work/sub" })) }
        "#,
    );
    let real = hub.path().canonicalize().unwrap();
    assert_eq!(
        hub.run("pwd", "{}").json(),
        json!({"hub": real.to_str().unwrap(), "sub": real.join("work/sub").to_str().unwrap()})
    );
    hub.script("escape", r#"exec::run("pwd", [], #{ cwd: "../" })"#);
    hub.run("escape", "{}").fails_with(1, &["exec.run: option `cwd`: `../` is outside the hub folder and [fs] roots"]);
    hub.script("etc", r#"exec::run("pwd", [], #{ cwd: "/etc" })"#);
    hub.run("etc", "{}").fails_with(1, &["exec.run: option `cwd`: `/etc` is outside"]);
}

#[test]
fn programs_not_in_the_allow_list_are_refused() {
    let hub = hub(&["echo"], "");
    hub.script("sh", r#"exec::run("sh", ["-c", "echo pwned > pwned.txt"])"#);
    hub.run("sh", "{}").fails_with(1, &["exec.run: `sh` is not in [exec] allow (allowed: echo)"]);
    assert!(!hub.path().join("pwned.txt").exists());

    // Nothing is allowed without an [exec] section.
    let bare = Hub::new();
    bare.script("echo", r#"exec::run("echo", ["hi"])"#);
    bare.run("echo", "{}").fails_with(1, &["exec.run: `echo` is not in [exec] allow (allowed: nothing is allowed)"]);
}

#[test]
fn paths_must_match_an_allowed_path_exactly() {
    let cat = which::which("cat").unwrap();
    let echo = which::which("echo").unwrap();
    let hub = hub(&[cat.to_str().unwrap()], "");
    hub.file("note.txt", "by path");
    hub.script("by_path", &format!("exec::run({:?}, [\"note.txt\"]).stdout", cat.to_str().unwrap()));
    assert_eq!(hub.run("by_path", "{}").json(), json!("by path"));

    hub.script("other_path", &format!("exec::run({:?}, [\"hi\"])", echo.to_str().unwrap()));
    hub.run("other_path", "{}").fails_with(1, &[&format!("exec.run: `{}` is not in [exec] allow", echo.display())]);
    // Allowing a path does not allow the bare name, which PATH could point anywhere.
    hub.script("bare", r#"exec::run("cat", ["note.txt"])"#);
    hub.run("bare", "{}").fails_with(1, &["exec.run: `cat` is not in [exec] allow"]);
}

#[test]
fn a_program_past_its_timeout_is_killed_with_a_catchable_error() {
    let hub = hub(&["sleep"], "timeout = \"300ms\"\n");
    hub.script(
        "slow",
        r#"
        let caught = [];
        try { exec::run("sleep", ["30"], #{ timeout: 200 }); } catch (err) { caught.push(err); }
        try { exec::run("sleep", ["30"]); } catch (err) { caught.push(err); }
        try { exec::run("sleep", ["30"], #{ timeout: "250ms" }); } catch (err) { caught.push(err); }
        caught
        "#,
    );
    assert_eq!(
        hub.run("slow", "{}").json(),
        json!([
            "exec.run: `sleep` did not finish within 200ms and was stopped",
            "exec.run: `sleep` did not finish within 300ms and was stopped",
            "exec.run: `sleep` did not finish within 250ms and was stopped"
        ])
    );
}

#[test]
fn output_beyond_max_output_is_drained_and_dropped() {
    let hub = hub(&["seq"], "max_output = \"10KB\"\n");
    hub.script(
        "flood",
        r#"
        let r = exec::run("seq", [1, 1000000]);
        #{ code: r.code, truncated: r.truncated, len: r.stdout.len(), starts: r.stdout.sub_string(0, 8) }
        "#,
    );
    assert_eq!(
        hub.run("flood", "{}").json(),
        json!({"code": 0, "truncated": true, "len": 10000, "starts": "1\n2\n3\n4\n"})
    );
}

#[test]
fn bad_arguments_and_options_are_catchable_errors() {
    let hub = hub(&["echo"], "");
    hub.script(
        "bad",
        r#"
        let caught = [];
        try { exec::run("echo", [#{ a: 1 }]); } catch (err) { caught.push(err); }
        try { exec::run("echo", [], #{ tiemout: 5 }); } catch (err) { caught.push(err); }
        try { exec::run("echo", [], #{ timeout: "soon" }); } catch (err) { caught.push(err); }
        try { exec::run("echo", [], #{ env: #{ "A=B": "c" } }); } catch (err) { caught.push(err); }
        caught
        "#,
    );
    let out = hub.run("bad", "{}").json();
    let caught: Vec<&str> = out.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(caught.len(), 4, "{out}");
    assert_eq!(caught[0], "exec.run: args[0] must be a string or a number, not map");
    assert_eq!(caught[1], "exec.run: unknown option `tiemout` (expected stdin, env, cwd, timeout)");
    assert!(caught[2].starts_with("exec.run: option `timeout`: `soon` is not a duration"), "{}", caught[2]);
    assert_eq!(caught[3], "exec.run: `A=B` cannot be the name of an environment variable");
}

#[test]
fn a_command_line_in_the_allow_list_is_a_configuration_error() {
    let hub = hub(&["echo", "jq -r"], "");
    hub.script("noop", "1");
    hub.run("noop", "{}").fails_with(2, &["exec.allow[1]", "`jq -r` looks like a command line"]);
}
