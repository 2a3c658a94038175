//! `switchboard run`: input, output, exit codes, limits.

use crate::harness::Hub;

#[test]
fn prints_the_result_as_json_with_the_input_in_scope() {
    let hub = Hub::new();
    hub.script("hello", r#"#{ message: `Hello, ${input.name}!`, kind: event.kind }"#);
    let out = hub.run("hello", r#"{"name":"Ada"}"#).json();
    assert_eq!(out, serde_json::json!({"message": "Hello, Ada!", "kind": "manual"}));
}

#[test]
fn reads_input_from_a_file() {
    let hub = Hub::new();
    hub.script("echo", "input").file("in.json", r#"{"n": 3, "list": [1, 2.5]}"#);
    let file = format!("@{}", hub.path().join("in.json").display());
    let out = hub.run("echo", &file).json();
    assert_eq!(out, serde_json::json!({"n": 3, "list": [1, 2.5]}));
}

#[test]
fn runs_a_script_given_as_a_path() {
    let hub = Hub::new();
    hub.file("elsewhere/one.rhai", "40 + 2");
    let path = hub.path().join("elsewhere/one.rhai");
    let out = hub.cmd(&["run", path.to_str().unwrap()]).output();
    assert_eq!(out.json(), serde_json::json!(42));
}

#[test]
fn scripts_in_subfolders_are_named_by_path() {
    let hub = Hub::new();
    hub.script("tasks/create", r#""created""#);
    assert_eq!(hub.run("tasks/create", "{}").json(), serde_json::json!("created"));
}

#[test]
fn malformed_input_json_is_a_usage_error_with_position() {
    let hub = Hub::new();
    hub.script("echo", "input");
    hub.run("echo", r#"{"name": }"#).fails_with(2, &["--input", "line 1, column 10"]);
}

#[test]
fn input_must_be_an_object() {
    let hub = Hub::new();
    hub.script("echo", "input");
    hub.run("echo", "[1, 2]").fails_with(2, &["must be a JSON object"]);
}

#[test]
fn unknown_script_suggests_a_close_name() {
    let hub = Hub::new();
    hub.script("weather", "1");
    hub.run("wether", "{}").fails_with(2, &["no script `wether`", "did you mean `weather`?"]);
}

#[test]
fn script_error_exits_1_with_file_line_and_column() {
    let hub = Hub::new();
    hub.script("broken", "let a = 1;\nlet b = a + undefined_thing;\nb");
    hub.run("broken", "{}").fails_with(1, &["broken: scripts/broken.rhai:2:13", "undefined_thing"]);
}

#[test]
fn thrown_errors_show_their_message_and_position() {
    let hub = Hub::new();
    hub.script("thrower", "\n  throw \"no luck\";");
    hub.run("thrower", "{}").fails_with(1, &["scripts/thrower.rhai:2:3: no luck"]);
}

#[test]
fn errors_inside_functions_point_into_the_function() {
    let hub = Hub::new();
    hub.script("nested", "fn inner(x) {\n    x.no_such_method()\n}\ninner(1)");
    hub.run("nested", "{}").fails_with(1, &["scripts/nested.rhai:2:", "no_such_method", "in function `inner`"]);
}

#[test]
fn compile_error_is_reported_with_position() {
    let hub = Hub::new();
    hub.script("bad", "let x = 1;\nlet y = ;");
    hub.run("bad", "{}").fails_with(1, &["scripts/bad.rhai:2:9"]);
}

#[test]
fn an_endless_loop_stops_at_the_deadline() {
    let hub = Hub::new();
    hub.manifest("[limits]\ntimeout = \"300ms\"\nmax_operations = 1_000_000_000_000\n");
    hub.script("spin", "let n = 0; loop { n += 1; }");
    hub.run("spin", "{}").fails_with(1, &["timed out after 300ms"]);
}

#[test]
fn an_endless_loop_stops_at_the_operation_limit() {
    let hub = Hub::new();
    hub.manifest("[limits]\nmax_operations = 10_000\n");
    hub.script("spin", "loop { }");
    hub.run("spin", "{}").fails_with(1, &["stopped after 10000 operations"]);
}

#[test]
fn deep_recursion_is_stopped() {
    let hub = Hub::new();
    hub.manifest("[limits]\nmax_call_depth = 16\n");
    hub.script("deep", "fn down(n) { down(n + 1) }\ndown(0)");
    let out = hub.run("deep", "{}");
    out.fails_with(1, &["deep:"]);
    assert!(out.stderr.to_lowercase().contains("stack overflow"), "{}", out.stderr);
}

#[test]
fn oversized_strings_are_refused() {
    let hub = Hub::new();
    hub.manifest("[limits]\nmax_string = \"1KB\"\n");
    hub.script("big", r#"let s = "x"; for i in 0..20 { s += s; } s.len()"#);
    let out = hub.run("big", "{}");
    out.fails_with(1, &["big:"]);
    assert!(out.stderr.contains("too large") || out.stderr.contains("Length of string"), "{}", out.stderr);
}

#[test]
fn fail_exits_1_with_status_and_message() {
    let hub = Hub::new();
    hub.script("missing", r#"fail(404, "no such task")"#);
    hub.run("missing", "{}").fails_with(1, &["failed with status 404: no such task"]);
}

#[test]
fn response_prints_status_headers_and_body() {
    let hub = Hub::new();
    hub.script("created", r#"response(201, #{ id: 7 }, #{ location: "/tasks/7" })"#);
    let out = hub.run("created", "{}").json();
    assert_eq!(out, serde_json::json!({"status": 201, "headers": {"location": "/tasks/7"}, "body": {"id": 7}}));
}

#[test]
fn printed_lines_go_to_stderr_and_stdout_stays_json() {
    let hub = Hub::new();
    hub.script("chatty", r#"print("working"); debug("details"); log::warn("careful"); 1"#);
    let out = hub.run("chatty", "{}");
    assert_eq!(out.json(), serde_json::json!(1));
    for line in ["[print] working", "[debug] \"details\"", "[warn] careful"] {
        assert!(out.stderr.contains(line), "stderr lacks {line}: {}", out.stderr);
    }
}

#[test]
fn unit_result_prints_null() {
    let hub = Hub::new();
    hub.script("nothing", "let x = 1;");
    assert_eq!(hub.run("nothing", "{}").json(), serde_json::Value::Null);
}

#[test]
fn help_is_available_on_every_command() {
    let hub = Hub::new();
    for command in [&["--help"][..], &["run", "--help"], &["check", "--help"]] {
        let out = std::process::Command::new(crate::harness::binary()).args(command).output().unwrap();
        assert!(out.status.success(), "{command:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"), "{command:?}");
    }
    drop(hub);
}

/// The bytes of text in a record's lines.
fn line_bytes(lines: &serde_json::Value) -> usize {
    lines.as_array().unwrap().iter().map(|line| line["text"].as_str().unwrap().len()).sum()
}

#[test]
fn printed_output_is_bounded_per_line_and_per_run_in_the_echo_and_the_record() {
    let hub = Hub::new();
    hub.script("loud", r#"let s = ""; s.pad(900000, "y"); for i in 0..200 { print(s) } "done""#);
    let out = hub.run("loud", "{}");
    assert_eq!(out.json(), serde_json::json!("done"));
    // 200 lines of 900,000 bytes were printed; 1 MiB of them is kept and echoed.
    assert!(out.stderr.len() < 1_100_000, "echo of {} bytes", out.stderr.len());
    assert!(out.stderr.contains("… [truncated: 834"), "{}", &out.stderr[..200]);
    assert!(
        out.stderr.contains("lines (") && out.stderr.contains("bytes) not kept]"),
        "{}",
        &out.stderr[out.stderr.len() - 200..]
    );

    let listed = hub.cmd(&["runs", "list", "--json"]).output().json();
    let id = listed[0]["id"].as_str().unwrap().to_string();
    let shown = hub.cmd(&["runs", "show", &id, "--json"]).output();
    assert!(shown.stdout.len() < 1_200_000, "a record of {} bytes", shown.stdout.len());
    let record = shown.json();
    let lines = record["lines"].as_array().unwrap();
    let first = lines[0]["text"].as_str().unwrap();
    assert_eq!(first.len(), 64 * 1024, "a line is cut to max_line, its marker included");
    assert!(
        first.ends_with(&format!("… [truncated: {} bytes]", 900_000 - first.find('…').unwrap())),
        "{}",
        &first[first.len() - 60..]
    );
    assert!(line_bytes(&record["lines"]) <= 1024 * 1024 + 200, "{} bytes kept", line_bytes(&record["lines"]));
    let last = lines.last().unwrap()["text"].as_str().unwrap();
    let kept = lines.len() - 1;
    assert_eq!(last, format!("[{} more lines ({} bytes) not kept]", 200 - kept, (200 - kept) * 900_000));
}

#[test]
fn output_limits_are_configurable_and_cover_every_kind_of_line() {
    let hub = Hub::new();
    hub.manifest("[limits]\nmax_line = \"1KB\"\nmax_output = \"3KB\"\n");
    hub.script(
        "loud",
        r#"let s = ""; s.pad(5000, "z");
           debug(s); log::info(s); log::warn(s); log::error(s); print(s); print("short"); 1"#,
    );
    assert_eq!(hub.run("loud", "{}").json(), serde_json::json!(1));
    let record = &hub.cmd(&["runs", "list", "--json"]).output().json()[0];
    let lines = record["lines"].as_array().unwrap();
    let texts: Vec<&str> = lines.iter().map(|line| line["text"].as_str().unwrap()).collect();
    let levels: Vec<&str> = lines.iter().map(|line| line["level"].as_str().unwrap()).collect();
    assert_eq!(levels, ["debug", "info", "warn", "info"], "{texts:?}");
    for text in &texts[..3] {
        assert_eq!(text.len(), 1000, "{text}");
        assert!(text.contains("… [truncated: "), "{text}");
    }
    assert_eq!(texts[3], "[3 more lines (10005 bytes) not kept]");
}

#[test]
fn output_limits_are_checked_with_the_key_that_is_wrong() {
    let hub = Hub::new();
    hub.script("one", "1");
    hub.manifest("[limits]\nmax_line = 10\n");
    hub.cmd(&["check"]).output().fails_with(2, &["limits.max_line", "at least 256 bytes"]);
    hub.manifest("[limits]\nmax_output = \"10KB\"\n");
    hub.cmd(&["check"]).output().fails_with(2, &["limits.max_output", "at least max_line"]);
    hub.manifest("[limits]\nmax_output = \"lots\"\n");
    hub.cmd(&["check"]).output().fails_with(2, &["max_output", "invalid size `lots`"]);
}

#[test]
fn a_huge_thrown_message_and_result_are_bounded_in_the_record() {
    let hub = Hub::new();
    hub.script("thrower", r#"let s = ""; s.pad(10000000, "e"); throw s;"#);
    hub.script("big", r#"let s = ""; s.pad(10000000, "r"); s"#);
    let out = hub.run("thrower", "{}");
    out.fails_with(1, &["… [truncated: "]);
    assert!(out.stderr.len() < 100_000, "an error of {} bytes", out.stderr.len());
    assert_eq!(hub.run("big", "{}").json().as_str().map(str::len), Some(10_000_000), "the result itself is whole");
    let listed = hub.cmd(&["runs", "list", "--json"]).output();
    assert!(listed.stdout.len() < 100_000, "records of {} bytes", listed.stdout.len());
    let records = listed.json();
    assert!(records[0]["result"].as_str().unwrap().len() < 5_000);
    let error = records[1]["error"].as_str().unwrap();
    assert!(error.len() <= 64 * 1024 + 100 && error.ends_with("bytes]"), "{}", &error[error.len() - 60..]);
}

#[test]
fn the_events_one_run_may_emit_are_bounded_in_number_and_size() {
    let hub = Hub::new();
    hub.script(
        "big",
        r#"let s = ""; s.pad(1000000, "e");
           let sent = 0;
           try { for i in 0..100 { events::emit("big", s); sent += 1; } } catch (err) { return `${sent}: ${err}`; }
           "all sent""#,
    );
    hub.script(
        "many",
        r#"let sent = 0;
           try { for i in 0..2000 { events::emit("tick", i); sent += 1; } } catch (err) { return `${sent}: ${err}`; }
           "all sent""#,
    );
    let big = hub.run("big", "{}").json();
    assert!(big.as_str().unwrap().starts_with("16: events.emit: "), "{big}");
    assert!(big.as_str().unwrap().contains("16 MiB"), "{big}");
    let many = hub.run("many", "{}").json();
    assert!(many.as_str().unwrap().starts_with("1000: events.emit: "), "{many}");
}

#[test]
fn a_huge_input_is_given_whole_to_the_script_and_kept_shortened_in_the_record() {
    let hub = Hub::new();
    hub.script("size", "input.text.len()");
    hub.file("in.json", &serde_json::json!({ "text": "i".repeat(3_000_000) }).to_string());
    let file = format!("@{}", hub.path().join("in.json").display());
    assert_eq!(hub.run("size", &file).json(), serde_json::json!(3_000_000));
    let listed = hub.cmd(&["runs", "list", "--json"]).output();
    assert!(listed.stdout.len() < 300_000, "a record of {} bytes", listed.stdout.len());
    let input = &listed.json()[0]["input"];
    assert!(input.as_str().is_some_and(|text| text.ends_with('…')), "kept as a shortened string");
}
