//! The script contract and the Rhai-source stdlib modules.

use crate::harness::Hub;
use serde_json::json;

#[test]
fn event_describes_a_manual_run() {
    let hub = Hub::new();
    hub.script("who", "#{ kind: event.kind, has_id: event.run_id.len() > 10 }");
    assert_eq!(hub.run("who", "{}").json(), json!({"kind": "manual", "has_id": true}));
}

#[test]
fn imports_resolve_from_lib() {
    let hub = Hub::new();
    hub.file("lib/greet.rhai", "fn hello(name) { `Hello, ${name}` }")
        .file("lib/nested/math.rhai", "fn double(x) { x * 2 }")
        .script("use_lib", r#"import "greet" as g; import "nested/math" as m; [g::hello("Ada"), m::double(21)]"#);
    assert_eq!(hub.run("use_lib", "{}").json(), json!(["Hello, Ada", 42]));
}

#[test]
fn imports_cannot_leave_lib() {
    let hub = Hub::new();
    hub.file("secret.rhai", "fn x() { 1 }").script("escape", r#"import "../secret" as s; s::x()"#);
    hub.run("escape", "{}")
        .fails_with(1, &["scripts/escape.rhai:1:8", "cannot import `../secret`", "imports are names under lib/"]);
}

#[test]
fn missing_import_is_reported() {
    let hub = Hub::new();
    hub.script("nope", r#"import "absent" as a; 1"#);
    hub.run("nope", "{}").fails_with(1, &["scripts/nope.rhai:1:", "absent"]);
}

#[test]
fn embedded_stdlib_modules_are_importable() {
    let hub = Hub::new();
    hub.script(
        "std",
        r#"
        import "std/text" as text;
        import "std/collections" as c;
        import "std/retry" as retry;
        let attempts = 0;
        let value = retry::times(3, || { attempts += 1; if attempts < 3 { throw "flaky" } attempts });
        let rows = [#{ city: "London", n: 2 }, #{ city: "Paris", n: 3 }, #{ city: "London", n: 5 }];
        #{
            slug: text::slug("Hello, World!"),
            rendered: text::render("Hi {name}", #{ name: "Ada" }),
            groups: c::group_by(rows, "city").keys(),
            total: c::sum_by(rows, "n"),
            value: value,
        }
        "#,
    );
    let out = hub.run("std", "{}").json();
    assert_eq!(
        out,
        json!({"slug": "hello-world", "rendered": "Hi Ada", "groups": ["London", "Paris"], "total": 10, "value": 3})
    );
}

#[test]
fn retry_rethrows_the_last_error() {
    let hub = Hub::new();
    hub.script("give_up", r#"import "std/retry" as retry; retry::times(2, || throw "still down")"#);
    hub.run("give_up", "{}").fails_with(1, &["still down"]);
}

#[test]
fn native_errors_are_catchable_and_name_their_function() {
    let hub = Hub::new();
    hub.script("catch", r#"let caught = (); try { json::parse("{") } catch (err) { caught = err } caught"#);
    let out = hub.run("catch", "{}").json();
    assert!(out.as_str().unwrap().starts_with("json.parse: "), "{out}");
}

#[test]
fn fail_cannot_be_swallowed_by_catch() {
    let hub = Hub::new();
    hub.script("strict", r#"fn check() { fail(403, "forbidden") } try { check() } catch { "swallowed" }"#);
    hub.run("strict", "{}").fails_with(1, &["failed with status 403: forbidden"]);
}

#[test]
fn a_timeout_cannot_be_swallowed_by_catch() {
    let hub = Hub::new();
    hub.manifest("[limits]\ntimeout = \"200ms\"\nmax_operations = 1_000_000_000_000\n");
    hub.script("stubborn", r#"loop { try { loop {} } catch { } }"#);
    hub.run("stubborn", "{}").fails_with(1, &["timed out after 200ms"]);
}

#[test]
fn fail_rejects_non_http_statuses() {
    let hub = Hub::new();
    hub.script("odd", r#"fail(42, "what")"#);
    hub.run("odd", "{}").fails_with(1, &["status 42 is not an HTTP status"]);
}

#[test]
fn eval_is_disabled() {
    let hub = Hub::new();
    hub.script("evil", r#"eval("1 + 1")"#);
    hub.run("evil", "{}").fails_with(1, &["scripts/evil.rhai:1:1"]);
}

#[test]
fn results_that_are_not_json_are_explained() {
    let hub = Hub::new();
    hub.script("fnptr", "fn helper() { 1 }\nFn(\"helper\")");
    hub.run("fnptr", "{}").fails_with(1, &["the script's result", "cannot be converted to JSON"]);
}

#[test]
fn imports_do_not_follow_links_out_of_lib() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("evil.rhai"), "fn x() { \"outside\" }").unwrap();
    let hub = Hub::new();
    hub.file("lib/real.rhai", "fn x() { \"inside\" }");
    std::os::unix::fs::symlink(outside.path().join("evil.rhai"), hub.path().join("lib/evil.rhai")).unwrap();
    std::os::unix::fs::symlink(outside.path(), hub.path().join("lib/door")).unwrap();
    std::os::unix::fs::symlink(hub.path().join("lib/real.rhai"), hub.path().join("lib/alias.rhai")).unwrap();
    hub.script("file_link", r#"import "evil" as e; e::x()"#);
    hub.run("file_link", "{}").fails_with(
        1,
        &["scripts/file_link.rhai:1:8", "cannot import `evil`: lib/evil.rhai leads outside lib/ (through a link)"],
    );
    hub.script("dir_link", r#"import "door/evil" as e; e::x()"#);
    hub.run("dir_link", "{}").fails_with(1, &["cannot import `door/evil`: lib/door/evil.rhai leads outside lib/"]);
    // A link that stays inside lib/ is fine.
    hub.script("alias", r#"import "alias" as a; a::x()"#);
    assert_eq!(hub.run("alias", "{}").json(), json!("inside"));
}

#[test]
fn check_refuses_calls_of_stdlib_functions_that_do_not_exist_or_take_other_arguments() {
    let hub = Hub::new();
    hub.script("typo", "let a = 1;\nlet r = http::gett(\"http://127.0.0.1:1/\");\n");
    hub.script("count", "fn later() {\n    json::parse(\"1\", 2)\n}\nlater()\n");
    hub.script("statement", "state::sett(\"k\", 1);\n");
    hub.file("lib/helpers.rhai", "fn f() { time::nw() }\n");
    let out = hub.cmd(&["check"]).output();
    assert_eq!(out.code, 1, "{}", out.stdout);
    for expected in [
        "scripts/typo.rhai:2:15: `http::gett` is not a function of the `http` module; did you mean `http::get`?",
        "scripts/count.rhai:2:11: `json::parse` takes 1 argument, not 2",
        "scripts/statement.rhai:1:8: `state::sett` is not a function of the `state` module; did you mean `state::set`?",
        "lib/helpers.rhai:1:16: `time::nw` is not a function of the `time` module; did you mean `time::now`?",
    ] {
        assert!(out.stderr.contains(expected), "missing {expected:?} in:\n{}", out.stderr);
    }
    // A module the script imports under a stdlib name is its own: its functions are not checked.
    let hub = Hub::new();
    hub.file("lib/mine.rhai", "fn gett(url) { url }\n");
    hub.script("own", "import \"mine\" as http;\nhttp::gett(\"x\")\n");
    assert_eq!(hub.run("own", "{}").json(), "x");
}

#[test]
fn a_call_that_fails_on_unit_names_the_value_that_was_unit() {
    let hub = Hub::new();
    hub.script("city", "let n = 1;\nlet length = input.city.len();\nlength\n");
    hub.run("city", "{}").fails_with(
        1,
        &["scripts/city.rhai:2:25", "Function not found: len (())", "`input.city` is () (a missing map field"],
    );
    hub.script("args", "let m = #{};\nparse_int(m.count)\n");
    hub.run("args", "{}").fails_with(1, &["scripts/args.rhai:2:1", "`m.count` is ()"]);
    // With the field present the same script runs.
    assert_eq!(hub.run("city", r#"{"city": "Oslo"}"#).json(), 4);
}
