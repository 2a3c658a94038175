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
