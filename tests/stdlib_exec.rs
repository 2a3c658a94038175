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

#[test]
fn variables_that_make_a_program_load_code_are_refused() {
    let hub = hub(&["printenv"], "");
    hub.script(
        "inject",
        r#"
        let caught = [];
        for name in [
            "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "ld_preload", "DYLD_INSERT_LIBRARIES", "GCONV_PATH",
            "PYTHONPATH", "PYTHONSTARTUP", "PERL5OPT", "PERL5LIB", "NODE_OPTIONS", "RUBYOPT", "BASH_ENV", "ENV",
            "BASH_FUNC_echo%%", "GIT_EXEC_PATH", "GIT_SSH_COMMAND", "GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0",
            "JAVA_TOOL_OPTIONS", "OPENSSL_CONF", "PATH", "HOME", "XDG_CONFIG_HOME", "PAGER", "SHELL",
        ] {
            let env = #{};
            env[name] = "data/evil.so";
            try { exec::run("printenv", [], #{ env: env }); caught.push(`${name} allowed`); } catch (err) { caught.push(err); }
        }
        caught
        "#,
    );
    let out = hub.run("inject", "{}").json();
    let caught: Vec<&str> = out.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(caught.len(), 26, "{out:#}");
    assert_eq!(
        caught[0],
        "exec.run: env `LD_PRELOAD` is refused: it can make the program load or run code of the script's choosing"
    );
    for (err, name) in caught.iter().zip(["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "ld_preload"]) {
        assert!(err.starts_with(&format!("exec.run: env `{name}` is refused")), "{err}");
    }
    for err in &caught {
        assert!(err.starts_with("exec.run: env `") && err.contains("` is refused"), "{err}");
    }

    // Ordinary variables still pass, and what the hub was started with stays behind.
    hub.script(
        "plain",
        r#"exec::run("printenv", [], #{ env: #{ GIT_AUTHOR_NAME: "Ada", PYTHONUNBUFFERED: 1 } }).stdout"#,
    );
    let out = hub
        .cmd(&["run", "plain", "--input", "{}"])
        .env("LD_PRELOAD", "")
        .env("LD_LIBRARY_PATH", "/nowhere")
        .env("PYTHONPATH", "/nowhere")
        .output()
        .json();
    let text = out.as_str().unwrap();
    assert!(text.contains("GIT_AUTHOR_NAME=Ada\n") && text.contains("PYTHONUNBUFFERED=1\n"), "{text}");
    assert!(!text.contains("LD_") && !text.contains("PYTHONPATH"), "{text}");
}

/// Whether process `pid` still runs (a zombie waiting for its reaper does not count).
fn alive(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Waits (bounded) for `file` in the hub to hold a pid and returns it.
fn pid_in(hub: &Hub, file: &str) -> String {
    let path = hub.path().join(file);
    let mut pid = String::new();
    let found = crate::harness::wait_until(std::time::Duration::from_secs(20), || {
        pid = std::fs::read_to_string(&path).unwrap_or_default().trim().to_string();
        !pid.is_empty()
    });
    assert!(found, "{file} never held a pid");
    pid
}

/// Asserts (with a bounded poll) that every process of `pids` ends.
fn all_end(pids: &[&str]) {
    let gone = crate::harness::wait_until(std::time::Duration::from_secs(20), || pids.iter().all(|pid| !alive(pid)));
    assert!(gone, "still running: {:?}", pids.iter().filter(|pid| alive(pid)).collect::<Vec<_>>());
}

#[test]
fn a_timeout_ends_the_programs_children_too() {
    if !std::path::Path::new("/proc/self/stat").exists() {
        crate::harness::skip("needs /proc to see whether a process runs");
        return;
    }
    let hub = Hub::new();
    hub.manifest("[limits]\ntimeout = \"2s\"\n[exec]\nallow = [\"sh\"]\ntimeout = \"60s\"\n");
    hub.script(
        "spawner",
        r#"
        let caught = [];
        // The grandchild holds no pipe: nothing but its process group ties it to the run.
        let line = `sleep 47 >/dev/null 2>&1 & echo $! > ${input.file}; sleep 46`;
        try { exec::run("sh", ["-c", line], #{ timeout: input.timeout }); } catch (err) { caught.push(err); }
        caught
        "#,
    );
    let caught = hub.run("spawner", r#"{"file": "timeout.pid", "timeout": 300}"#).json();
    assert_eq!(caught, json!(["exec.run: `sh` did not finish within 300ms and was stopped"]));
    let by_timeout = pid_in(&hub, "timeout.pid");
    // Bounded by the run's deadline instead (2s left, less than the 60s asked for).
    hub.run("spawner", r#"{"file": "deadline.pid", "timeout": 60000}"#);
    let by_deadline = pid_in(&hub, "deadline.pid");
    all_end(&[&by_timeout, &by_deadline]);
}

#[test]
fn a_hub_that_stops_ends_the_programs_it_runs() {
    if !std::path::Path::new("/proc/self/stat").exists() {
        crate::harness::skip("needs /proc to see whether a process runs");
        return;
    }
    let hub = Hub::new();
    hub.manifest(
        "[limits]\ntimeout = \"120s\"\n[exec]\nallow = [\"sh\"]\ntimeout = \"120s\"\n\n[[route]]\nmethod = \"GET\"\npath = \"/spawn\"\nscript = \"spawn\"\nauth = \"public\"\n",
    );
    hub.script("spawn", r#"exec::run("sh", ["-c", "echo $$ > child.pid; sleep 99 & echo $! > grandchild.pid; wait"])"#);
    let mut server = hub.serve();
    let url = server.url("/spawn");
    let client = server.client.clone();
    let request = std::thread::spawn(move || client.get(url).send().map(|reply| reply.status()));
    let child = pid_in(&hub, "child.pid");
    let grandchild = pid_in(&hub, "grandchild.pid");
    let stopped = std::process::Command::new("kill").args(["-TERM", &server.pid().to_string()]).status().unwrap();
    assert!(stopped.success());
    assert!(server.wait_exit(std::time::Duration::from_secs(60)).is_some(), "serve did not exit");
    all_end(&[&child, &grandchild]);
    drop(request);
}

/// Writes an executable shell script into the hub.
fn program(hub: &Hub, relative: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    hub.file(relative, &format!("#!/bin/sh\n{body}\n"));
    std::fs::set_permissions(hub.path().join(relative), std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn scripts_cannot_change_an_allowed_program() {
    let hub = Hub::new();
    // `./tools/ok.sh` is listed; `tools/linked.sh` is listed and is a link to `bin/real.sh`.
    hub.manifest(
        "[exec]\nallow = [\"./tools/ok.sh\", \"tools/linked.sh\", \"mytool\"]\n[fs]\nallow_hub_files = true\n",
    );
    program(&hub, "tools/ok.sh", "echo ok");
    program(&hub, "bin/real.sh", "echo real");
    program(&hub, "path/mytool", "echo mine");
    std::os::unix::fs::symlink(hub.path().join("bin/real.sh"), hub.path().join("tools/linked.sh")).unwrap();
    hub.file("evil.sh", "#!/bin/sh\necho pwned\n");
    hub.script(
        "rewrite",
        r##"
        let caught = [];
        for attempt in [
            || fs::write("tools/ok.sh", "#!/bin/sh\necho pwned\n"),
            || fs::append("./tools/ok.sh", "echo pwned\n"),
            || fs::write("tools/../tools/ok.sh", "x"),
            || fs::remove("tools/ok.sh"),
            || fs::move("evil.sh", "tools/ok.sh"),
            || fs::copy("evil.sh", "tools/ok.sh"),
            || fs::move("tools", "old-tools"),
            || fs::remove("tools", #{ recursive: true }),
            || fs::write("bin/real.sh", "x"),
            || fs::write("path/mytool", "x"),
        ] {
            try { attempt.call(); caught.push("allowed"); } catch (err) { caught.push(err); }
        }
        #{ caught: caught, ok: exec::run("./tools/ok.sh", []).stdout, linked: exec::run("tools/linked.sh", []).stdout }
        "##,
    );
    let path = format!("{}:{}", hub.path().join("path").display(), std::env::var("PATH").unwrap());
    let out = hub.cmd(&["run", "rewrite", "--input", "{}"]).env("PATH", &path).output().json();
    let caught: Vec<&str> = out["caught"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let expected = [
        "fs.write: `tools/ok.sh` is a program in [exec] allow; scripts may not change it",
        "fs.append: `./tools/ok.sh` is a program in [exec] allow (tools/ok.sh); scripts may not change it",
        "fs.write: `tools/../tools/ok.sh` is a program in [exec] allow (tools/ok.sh)",
        "fs.remove: `tools/ok.sh` is a program in [exec] allow",
        "fs.move: `tools/ok.sh` is a program in [exec] allow",
        "fs.copy: `tools/ok.sh` is a program in [exec] allow",
        "fs.move: `tools` holds a program in [exec] allow (tools/ok.sh); scripts may not change it",
        "fs.remove: `tools` holds a program in [exec] allow (tools/ok.sh)",
        "fs.write: `bin/real.sh` is a program in [exec] allow (tools/linked.sh); scripts may not change it",
        "fs.write: `path/mytool` is a program in [exec] allow; scripts may not change it",
    ];
    assert_eq!(caught.len(), expected.len(), "{out:#}");
    for (got, want) in caught.iter().zip(expected) {
        assert!(got.starts_with(want), "expected {want:?}\n     got {got:?}");
    }
    assert_eq!(out["ok"], json!("ok\n"));
    assert_eq!(out["linked"], json!("real\n"));
    assert_eq!(hub.read("path/mytool"), "#!/bin/sh\necho mine\n");
}

#[test]
fn ctrl_c_on_run_ends_the_programs_it_started() {
    use std::os::unix::process::CommandExt;
    if !std::path::Path::new("/proc/self/stat").exists() {
        crate::harness::skip("needs /proc to see whether a process runs");
        return;
    }
    let hub = Hub::new();
    hub.manifest("[limits]\ntimeout = \"120s\"\n[exec]\nallow = [\"sh\"]\ntimeout = \"120s\"\n");
    hub.script("spawn", r#"exec::run("sh", ["-c", "echo $$ > child.pid; sleep 98 & echo $! > grandchild.pid; wait"])"#);
    // A terminal sends Ctrl-C to its foreground process group: here, a group of its own.
    let mut run = std::process::Command::new(crate::harness::binary())
        .args(["run", "spawn", "--dir"])
        .arg(hub.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let child = pid_in(&hub, "child.pid");
    let grandchild = pid_in(&hub, "grandchild.pid");
    let group = format!("-{}", run.id());
    assert!(std::process::Command::new("kill").args(["-INT", "--", &group]).status().unwrap().success());
    let ended = crate::harness::wait_until(std::time::Duration::from_secs(20), || run.try_wait().unwrap().is_some());
    assert!(ended, "switchboard run ignored Ctrl-C");
    all_end(&[&child, &grandchild]);
}
