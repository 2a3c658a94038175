//! `switchboard repl`: piped input through the real binary, and a real pseudo-terminal for
//! completion, multi-line entry, history and Ctrl-C.

use crate::harness::{Hub, Output, binary};
use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `switchboard repl` on `hub` with `input` on stdin (not a terminal).
fn piped(hub: &Hub, input: &str) -> Output {
    let mut child = Command::new(binary())
        .args(["repl", "--dir"])
        .arg(hub.path())
        .env_remove("SWITCHBOARD_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn switchboard repl");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("repl output");
    writer.join().expect("writer").expect("write stdin");
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn succeeds(output: &Output) -> &str {
    assert_eq!(output.code, 0, "expected success\nstdout: {}\nstderr: {}", output.stdout, output.stderr);
    &output.stdout
}

#[test]
fn piped_variables_constants_and_functions_persist() {
    let hub = Hub::new();
    let out = piped(
        &hub,
        "let x = 40;\nconst BONUS = 2;\nfn add(a, b) { a + b }\nadd(x, BONUS)\nx = x + 1;\nx\n\"a \\\"string\\\"\"\n",
    );
    assert_eq!(succeeds(&out), "42\n41\n\"a \\\"string\\\"\"\n");
}

#[test]
fn piped_multi_line_entries_are_one_entry() {
    let hub = Hub::new();
    let input = "fn shout(word) {\n    let loud = word.to_upper();\n    `${loud}!`\n}\nlet report = #{\n    word: shout(\"hi\"),\n    list: [1,\n           2],\n};\nreport\nlet text = `first\nsecond`;\ntext\n";
    let out = piped(&hub, input);
    assert_eq!(succeeds(&out), "{\n  \"list\": [\n    1,\n    2\n  ],\n  \"word\": \"HI!\"\n}\n\"first\\nsecond\"\n",);
}

#[test]
fn piped_errors_show_their_position_and_the_session_goes_on() {
    let hub = Hub::new();
    let out = piped(&hub, "let a = 1;\nlet b = missing + 1;\nlet c = ;\nfn f() { throw \"boom\" }\nf()\na + 1\n");
    assert_eq!(out.stdout, "2\n", "the entry after the errors still ran\nstderr: {}", out.stderr);
    out.fails_with(1, &["repl:1:9: Variable not found: missing", "repl:1:9:", "boom", "3 entries failed"]);
}

#[test]
fn piped_results_are_quiet_for_unit_and_printed_lines_go_to_stderr() {
    let hub = Hub::new();
    let out = piped(&hub, "print(\"hello\");\nlet unit = ();\nunit\n'c'\n3.5\ntrue\n[]\n");
    assert_eq!(succeeds(&out), "'c'\n3.5\ntrue\n[]\n");
    assert!(out.stderr.contains("[print] hello"), "stderr: {}", out.stderr);
}

#[test]
fn piped_run_command_runs_a_script_with_json_input() {
    let hub = Hub::new();
    hub.script("hello", "print(`hi ${input.name}`);\n#{ greeting: `Hello, ${input.name}!`, kind: event.kind }");
    let out =
        piped(&hub, ":run hello {\"name\": \"Ada\"}\n:run helo {}\n:run hello [1]\n:run hello {\"name\": \n1 + 1\n");
    assert_eq!(
        out.stdout, "{\n  \"greeting\": \"Hello, Ada!\",\n  \"kind\": \"manual\"\n}\n2\n",
        "stderr: {}",
        out.stderr
    );
    out.fails_with(
        1,
        &["[print] hi Ada", "no script `helo`", "did you mean `hello`?", "must be a JSON object", "not valid JSON"],
    );
}

#[test]
fn piped_sql_through_a_hub_connection() {
    let hub = Hub::new();
    hub.manifest("[connections.db]\ntype = \"sqlite\"\npath = \"data/app.db\"\n");
    let input = "let db = sql::connection(\"db\");\n\
                 db.execute(\"create table notes (id integer primary key, body text)\", []);\n\
                 db.execute(\"insert into notes (body) values (?)\", [\"first\"])\n\
                 db.query(\"select id, body from notes\", [])\n\
                 db.query_one(\"select count(*) as n from notes\", []).n\n";
    let out = piped(&hub, input);
    // As in a script, a trailing `;` keeps the value: `execute` answers the rows it changed.
    assert_eq!(succeeds(&out), "0\n1\n[\n  {\n    \"body\": \"first\",\n    \"id\": 1\n  }\n]\n1\n");
    assert!(hub.path().join("data/app.db").exists(), "the connection's database file is the hub's");
}

#[test]
fn piped_load_vars_reset_and_imports() {
    let hub = Hub::new();
    hub.file("helpers.rhai", "fn greet(name) { `Hello, ${name}` }\nlet loaded = 7;\n");
    let input = ":load helpers.rhai\ngreet(\"Ada\")\nimport \"std/text\" as text;\ntext::slug(\"Hello World\")\n:vars\n:reset\nloaded\n";
    let out = piped(&hub, input);
    assert!(out.stdout.starts_with("\"Hello, Ada\"\n\"hello-world\"\n"), "stdout: {}", out.stdout);
    for listed in
        ["let loaded = 7", "fn greet(name)", "import \"std/text\" as text;", "let event = {\"kind\":\"repl\"}"]
    {
        assert!(out.stdout.contains(listed), ":vars lacks {listed:?}:\n{}", out.stdout);
    }
    out.fails_with(1, &["session reset", "Variable not found: loaded", "1 entry failed"]);
}

#[test]
fn piped_reload_sees_new_scripts_and_keeps_variables() {
    let hub = Hub::new();
    // The session writes a script itself, which `fs` allows only with this setting.
    hub.manifest("[fs]\nallow_hub_files = true\n");
    let input = "let kept = 5;\nfs::write(\"scripts/late.rhai\", \"input.n * 2\");\n:run late {\"n\": 21}\n:reload\n:run late {\"n\": 21}\nkept\n:routes\n";
    let out = piped(&hub, input);
    assert_eq!(out.stdout, "42\n5\nno routes\n", "stderr: {}", out.stderr);
    out.fails_with(1, &["no script `late`", "reloaded", "(1 script)", "1 entry failed"]);
}

#[test]
fn piped_emitted_events_reach_their_subscribers() {
    let hub = Hub::new();
    hub.manifest("[[on]]\nevent = \"note.added\"\nscript = \"on_note\"\n");
    hub.script("on_note", "state::set(\"last_note\", input.text);");
    let out = piped(&hub, "events::emit(\"note.added\", #{ text: \"hi\" });\nstate::get(\"last_note\")\n");
    assert_eq!(succeeds(&out), "\"hi\"\n");
    assert!(out.stderr.contains("[event] `on_note` ok"), "stderr: {}", out.stderr);
}

#[test]
fn piped_entries_run_with_the_hub_limits() {
    let hub = Hub::new();
    hub.manifest("[limits]\nmax_operations = 10000\n");
    let out = piped(&hub, "loop {}\n:quit\n1 + 1\n");
    assert_eq!(out.stdout, "", "nothing runs after :quit");
    out.fails_with(1, &["stopped after 10000 operations"]);
}

#[test]
fn piped_unknown_commands_are_explained() {
    let hub = Hub::new();
    let out = piped(&hub, ":lod x.rhai\n:help\n");
    assert!(out.stdout.contains(":run SCRIPT [JSON]"), "stdout: {}", out.stdout);
    out.fails_with(1, &["unknown command `:lod`", "did you mean `:load`?"]);
}

/// The REPL in a real pseudo-terminal.
mod terminal {
    use super::*;
    use rexpect::session::PtySession;

    /// Every wait on the terminal gives up after this long instead of hanging the suite.
    const WAIT_MS: u64 = 30_000;
    const UP: &str = "\x1b[A";

    fn start(hub: &Hub) -> PtySession {
        let mut command = Command::new(binary());
        command
            .args(["repl", "--dir"])
            .arg(hub.path())
            .env_remove("SWITCHBOARD_LOG")
            .env("TERM", "xterm")
            .env("NO_COLOR", "1");
        let mut session = rexpect::session::spawn_command(command, Some(WAIT_MS)).expect("spawn in a pty");
        session.exp_string(":help for help").expect("banner");
        prompt(&mut session);
        session
    }

    fn prompt(session: &mut PtySession) {
        session.exp_string("> ").expect("prompt");
    }

    /// Types `line` and Enter.
    fn enter(session: &mut PtySession, line: &str) {
        session.send(line).expect("type");
        session.send("\r").expect("enter");
        session.flush().expect("flush");
    }

    fn quit(mut session: PtySession) {
        session.send_control('d').expect("Ctrl-D");
        session.exp_eof().expect("the repl exits on Ctrl-D");
    }

    #[test]
    fn the_banner_counts_agree_with_their_numbers() {
        let hub = Hub::new();
        hub.manifest("[connections.db]\ntype = \"sqlite\"\npath = \"data/x.db\"\n").script("one", "1");
        let mut command = Command::new(binary());
        command
            .args(["repl", "--dir"])
            .arg(hub.path())
            .env_remove("SWITCHBOARD_LOG")
            .env("TERM", "xterm")
            .env("NO_COLOR", "1");
        let mut session = rexpect::session::spawn_command(command, Some(WAIT_MS)).expect("spawn in a pty");
        session.exp_string("(1 script, 1 connection). :help for help").expect("banner with singular counts");
        prompt(&mut session);
        quit(session);
    }

    #[test]
    fn tab_completes_modules_functions_and_variables() {
        let hub = Hub::new();
        let mut session = start(&hub);
        session.send("jso\t").expect("type");
        session.flush().expect("flush");
        session.exp_string("json::").expect("`jso` + Tab completes to `json::`");
        enter(&mut session, "parse(\"{\\\"n\\\": 41}\").n + 1000");
        session.exp_string("1041").expect("the completed call runs");
        prompt(&mut session);
        // Entries that print, so the next is typed only once the REPL took them.
        enter(&mut session, "let marker_value = 5; marker_value * 1111");
        session.exp_string("5555").expect("the variable is set");
        prompt(&mut session);
        session.send("marker_v\t").expect("type");
        session.flush().expect("flush");
        session.exp_string("marker_value").expect("session variables complete");
        enter(&mut session, " * 100 + 7");
        session.exp_string("507").expect("the completed variable evaluates");
        prompt(&mut session);
        quit(session);
    }

    #[test]
    fn after_a_dot_tab_offers_what_the_value_has() {
        let hub = Hub::new();
        hub.manifest("[connections.db]\ntype = \"sqlite\"\npath = \"data/app.db\"\n");
        let mut session = start(&hub);
        enter(&mut session, "let settings_map = #{ retries_left: 3, base: 1 }; 4321");
        session.exp_string("4321").expect("the map is set");
        prompt(&mut session);
        session.send("settings_map.retries_\t").expect("type");
        session.flush().expect("flush");
        session.exp_string("retries_left").expect("a map's keys complete after its name and a dot");
        enter(&mut session, " * 1000 + 5");
        session.exp_string("3005").expect("the completed key evaluates");
        prompt(&mut session);
        enter(&mut session, "let db = sql::connection(\"db\"); 8765");
        session.exp_string("8765").expect("the connection is open");
        prompt(&mut session);
        // A second Tab lists the choices; a connection's methods fit in a list shown at once
        // (every method would first ask whether to show them all).
        session.send("db.\t\t").expect("type");
        session.flush().expect("flush");
        session.exp_string("execute_batch").expect("a connection's methods are listed");
        enter(&mut session, "last_insert_id() + 6002");
        session.exp_string("6002").expect("the line goes on after the list");
        prompt(&mut session);
        quit(session);
    }

    #[test]
    fn multi_line_entries_continue_until_brackets_close() {
        let hub = Hub::new();
        let mut session = start(&hub);
        enter(&mut session, "fn triple(x) {");
        session.exp_string("... ").expect("a continuation line has a prompt of its own");
        enter(&mut session, "  x * 3");
        session.exp_string("... ").expect("the entry is still open");
        // The entry prints once it is taken, so the next is not typed ahead of the REPL (a
        // prompt alone may be one of the entry's redraws; on a loaded machine typed-ahead input
        // could be lost).
        enter(&mut session, r#"} print("triple " + "defined")"#);
        session.exp_string("triple defined").expect("the entry ends where its brackets close");
        prompt(&mut session);
        enter(&mut session, "triple(1234)");
        session.exp_string("3702").expect("the function spans lines");
        prompt(&mut session);
        quit(session);
        let history = hub.read(".switchboard_history");
        assert!(history.contains("triple(1234)"), "history: {history:?}");
        assert!(
            !history.lines().any(|line| line.trim() == "x * 3"),
            "an entry is kept whole, not by line: {history:?}"
        );
    }

    #[test]
    fn history_is_kept_in_the_hub_and_searchable() {
        let hub = Hub::new();
        let mut first = start(&hub);
        enter(&mut first, "6 * 7000 + 17");
        first.exp_string("42017").expect("evaluated");
        prompt(&mut first);
        quit(first);
        assert!(hub.read(".switchboard_history").contains("6 * 7000 + 17"));

        let mut second = start(&hub);
        enter(&mut second, UP);
        second.exp_string("42017").expect("Up recalls the first session's entry");
        prompt(&mut second);
        enter(&mut second, "let other = 1; other + 8000");
        second.exp_string("8001").expect("evaluated");
        prompt(&mut second);
        second.send("\x12").expect("Ctrl-R");
        second.send("7000").expect("search text");
        enter(&mut second, "");
        second.exp_string("42017").expect("Ctrl-R finds the entry");
        prompt(&mut second);
        quit(second);
    }

    /// Ctrl-C must bring the prompt back this soon even when the entry is waiting in a stdlib
    /// call: a bound on the wait, far below the calls' own durations, not a timing assertion.
    const INTERRUPT_WAIT_MS: u64 = 5_000;

    /// Starts `call` (which waits far longer than [`INTERRUPT_WAIT_MS`]) after a marker line,
    /// sends Ctrl-C and expects `shown` and then the prompt, then that the session still evaluates.
    fn interrupts_a_waiting_call(session: &mut PtySession, call: &str, shown: &str, marker: u64) {
        enter(session, &format!("print(\"waiting {marker}\"); {call}"));
        session.exp_string(&format!("[print] waiting {marker}")).expect("the call started");
        session.send_control('c').expect("Ctrl-C");
        let mut seen = String::new();
        let back = crate::harness::wait_until(std::time::Duration::from_millis(INTERRUPT_WAIT_MS), || {
            while let Some(c) = session.try_read() {
                seen.push(c);
            }
            seen.find(shown).is_some_and(|at| seen[at..].contains("> "))
        });
        assert!(back, "Ctrl-C did not stop `{call}` and bring the prompt back; the terminal showed {seen:?}");
        enter(session, &format!("{marker} + 1"));
        session.exp_string(&(marker + 1).to_string()).expect("the session goes on after the interrupt");
        prompt(session);
    }

    #[test]
    fn ctrl_c_stops_calls_that_wait() {
        let hub = Hub::new();
        // Accepts connections (the kernel does, into its backlog) but never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = silent.local_addr().expect("address").port();
        hub.manifest(&format!(
            "[limits]\ntimeout = \"10m\"\n\n[exec]\nallow = [\"sleep\"]\ntimeout = \"10m\"\n\n\
             [connections.db]\ntype = \"sqlite\"\npath = \"data/app.db\"\n\n\
             [connections.out]\ntype = \"smtp\"\nfrom = \"hub@example.com\"\nurl = \"smtp://127.0.0.1:{port}\"\n\
             timeout = \"5m\"\n"
        ));
        let mut session = start(&hub);
        interrupts_a_waiting_call(&mut session, "time::sleep(300000)", "interrupted", 7100);
        let call = "exec::run(\"sleep\", [\"300\"], #{ timeout: \"5m\" })";
        interrupts_a_waiting_call(&mut session, call, "interrupted", 7200);
        let call = format!("http::get(\"http://127.0.0.1:{port}/never\", #{{ timeout: \"5m\" }})");
        interrupts_a_waiting_call(&mut session, &call, "interrupted", 7300);
        let endless = "with recursive n(x) as (select 1 union all select x + 1 from n) select count(*) from n";
        let call = format!("sql::connection(\"db\").query(\"{endless}\", [])");
        interrupts_a_waiting_call(&mut session, &call, "sql.query: interrupted", 7400);
        let call = "mail::send(\"out\", #{ to: \"ada@example.com\", subject: \"hi\", text: \"hi\" })";
        interrupts_a_waiting_call(&mut session, call, "mail.send: interrupted", 7500);
        let call = "try { time::sleep(300000) } catch (err) { print(`caught: ${err}`) }";
        interrupts_a_waiting_call(&mut session, call, "caught: time.sleep: interrupted", 7600);
        quit(session);
        drop(silent);
    }

    #[test]
    fn ctrl_c_cancels_a_query_on_a_database_server() {
        // The alias marks this test's statements among whatever else the server runs.
        let mark = format!("repl_ctrl_c_{}", std::process::id());
        let servers = [
            (
                "SWITCHBOARD_TEST_POSTGRES_URL",
                "postgres",
                "pg_sleep(300)",
                "SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE",
            ),
            (
                "SWITCHBOARD_TEST_MYSQL_URL",
                "mysql",
                "SLEEP(300)",
                "SELECT COUNT(*) AS n FROM information_schema.processlist WHERE info LIKE",
            ),
        ];
        let hub = Hub::new();
        let mut manifest = String::from("[limits]\ntimeout = \"10m\"\n");
        let mut checks = Vec::new();
        for (variable, kind, sleep, running) in servers {
            let Ok(url) = std::env::var(variable) else {
                crate::harness::skip(&format!("{variable} is not set"));
                continue;
            };
            manifest.push_str(&format!("\n[connections.{kind}]\ntype = \"{kind}\"\nurl = \"{url}\"\n"));
            hub.script(
                kind,
                &format!(
                    "sql::connection(\"{kind}\").query_one(\"{running} '%{mark}%' AND {} NOT LIKE '%count%'\").n",
                    if kind == "mysql" { "info" } else { "query" }
                ),
            );
            checks.push((kind, format!("sql::connection(\"{kind}\").query(\"SELECT {sleep} AS {mark}\")")));
        }
        if checks.is_empty() {
            return;
        }
        hub.manifest(&manifest);
        let mut session = start(&hub);
        for (index, (kind, call)) in checks.iter().enumerate() {
            interrupts_a_waiting_call(&mut session, call, "sql.query: interrupted", 8100 + 100 * index as u64);
            let gone = crate::harness::wait_until(std::time::Duration::from_secs(10), || {
                hub.run(kind, "{}").json() == serde_json::json!(0)
            });
            assert!(gone, "the {kind} statement still runs on the server after Ctrl-C");
        }
        quit(session);
    }

    #[test]
    fn ctrl_c_interrupts_a_running_entry_and_cancels_a_line() {
        let hub = Hub::new();
        hub.manifest("[limits]\ntimeout = \"10m\"\nmax_operations = 9_000_000_000_000_000\n");
        let mut session = start(&hub);
        enter(&mut session, "print(\"spinning\"); loop {}");
        session.exp_string("[print] spinning").expect("the loop started");
        session.send_control('c').expect("Ctrl-C");
        session.exp_string("interrupted").expect("Ctrl-C stops the loop");
        prompt(&mut session);
        session.send("this line is dropped").expect("type");
        session.send_control('c').expect("Ctrl-C");
        prompt(&mut session);
        enter(&mut session, "1 + 1000");
        session.exp_string("1001").expect("the session goes on");
        prompt(&mut session);
        quit(session);
    }
}

#[test]
fn piped_a_failed_entry_announces_nothing() {
    let hub = Hub::new();
    hub.manifest("[[on]]\nevent = \"note.added\"\nscript = \"on_note\"\n");
    hub.script("on_note", "state::set(\"last_note\", input.text);");
    let out = piped(&hub, "events::emit(\"note.added\", #{ text: \"hi\" }); throw \"no\"\nstate::get(\"last_note\")\n");
    assert!(!out.stdout.contains("hi"), "stdout: {}", out.stdout);
    assert!(!out.stderr.contains("on_note"), "stderr: {}", out.stderr);
}
