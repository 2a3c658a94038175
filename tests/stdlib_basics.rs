//! `json`, `time`, `log` and `state`.

use crate::harness::Hub;
use serde_json::json;

#[test]
fn json_keeps_integers_and_round_trips() {
    let hub = Hub::new();
    hub.script(
        "j",
        r#"
        let v = json::parse(`{"n": 3, "x": 1.5, "list": [true, null], "s": "é"}`);
        #{ n_is_int: type_of(v.n) == "i64", text: json::stringify(#{ b: [1, 2], a: () }), pretty: json::pretty([1]), back: v }
        "#,
    );
    let out = hub.run("j", "{}").json();
    assert_eq!(out["n_is_int"], json!(true));
    assert_eq!(out["text"], json!(r#"{"a":null,"b":[1,2]}"#));
    assert_eq!(out["pretty"], json!("[\n  1\n]"));
    assert_eq!(out["back"], json!({"n": 3, "x": 1.5, "list": [true, null], "s": "é"}));
}

#[test]
fn json_parse_errors_give_line_and_column() {
    let hub = Hub::new();
    hub.script("bad", "json::parse(\"{\\n  \\\"a\\\": }\")");
    hub.run("bad", "{}").fails_with(1, &["json.parse:", "line 2, column"]);
}

#[test]
fn time_formats_parses_and_converts_zones() {
    let hub = Hub::new();
    hub.script(
        "t",
        r#"
        let t = time::parse("2026-07-01T08:00:00Z");
        let local = time::parse("2026-07-01 09:00", "%Y-%m-%d %H:%M", "Europe/London");
        #{
            same: t == local,
            tokyo: time::format(t, "%H:%M", "Asia/Tokyo"),
            zoned: time::in_zone(t, "America/New_York").to_string(),
            hour: time::in_zone(t, "America/New_York").hour,
            later: time::add(t, "1h 30m").to_string(),
            diff: time::diff(time::add(t, 90), t),
            unix: time::from_unix(0).year,
            date_only: time::parse("2026-11-27").to_string(),
            now_is_recent: time::now().year >= 2024,
        }
        "#,
    );
    let out = hub.run("t", "{}").json();
    assert_eq!(
        out,
        json!({
            "same": true, "tokyo": "17:00", "zoned": "2026-07-01T04:00:00-04:00", "hour": 4,
            "later": "2026-07-01T09:30:00Z", "diff": 90.0, "unix": 1970, "date_only": "2026-11-27T00:00:00Z",
            "now_is_recent": true
        })
    );
}

#[test]
fn time_errors_are_clear() {
    let hub = Hub::new();
    hub.script("zone", r#"time::now("Mars/Olympus")"#);
    hub.run("zone", "{}").fails_with(1, &["time.now: unknown timezone `Mars/Olympus`"]);
    hub.script("gap", r#"time::parse("2026-03-29 01:30", "%Y-%m-%d %H:%M", "Europe/London")"#);
    hub.run("gap", "{}").fails_with(1, &["does not exist in Europe/London"]);
}

#[test]
fn time_values_become_rfc3339_in_json() {
    let hub = Hub::new();
    hub.script("stamp", r#"#{ at: time::parse("2026-11-27T07:00:00+01:00") }"#);
    assert_eq!(hub.run("stamp", "{}").json(), json!({"at": "2026-11-27T06:00:00Z"}));
}

#[test]
fn state_survives_between_runs() {
    let hub = Hub::new();
    hub.script("count", r#"let n = state::get("count", 0) + 1; state::set("count", n); n"#);
    assert_eq!(hub.run("count", "{}").json(), json!(1));
    assert_eq!(hub.run("count", "{}").json(), json!(2));
    assert!(hub.path().join("data/switchboard.db").exists());
    hub.script(
        "more",
        r#"
        state::set("alert:a", #{ level: 2, tags: ["x"] });
        state::set("alert:b", true);
        let keys = state::keys("alert:");
        let removed = state::remove("alert:b");
        #{ keys: keys, removed: removed, again: state::remove("alert:b"), a: state::get("alert:a"), gone: state::get("alert:b") }
        "#,
    );
    let out = hub.run("more", "{}").json();
    assert_eq!(
        out,
        json!({"keys": ["alert:a", "alert:b"], "removed": true, "again": false, "a": {"level": 2, "tags": ["x"]}, "gone": null})
    );
}

#[test]
fn check_does_not_create_the_store() {
    let hub = Hub::new();
    hub.script("count", r#"state::set("x", 1)"#);
    assert_eq!(hub.cmd(&["check"]).output().code, 0);
    assert!(!hub.path().join("data").exists());
}

#[test]
fn sleep_never_outlives_the_deadline() {
    let hub = Hub::new();
    hub.manifest("[limits]\ntimeout = \"300ms\"\n");
    hub.script("nap", "time::sleep(60_000); 1");
    hub.run("nap", "{}").fails_with(1, &["timed out after 300ms"]);
}

#[test]
fn state_incr_and_update_lose_nothing_to_concurrent_runs_and_processes() {
    let hub = Hub::new();
    hub.manifest("[[route]]\nmethod = \"POST\"\npath = \"/hit\"\nscript = \"hit\"\nauth = \"public\"\n")
        .script(
            "hit",
            r#"
            let id = input.id;
            let n = state::incr("hits");
            state::update("seen", |old| { let seen = if old == () { [] } else { old }; seen.push(id); seen });
            n
            "#,
        )
        .script("read", r#"#{ hits: state::get("hits"), seen: state::get("seen") }"#);
    let server = hub.serve();
    let processes: Vec<_> = (0..3)
        .map(|k| {
            let mut command = std::process::Command::new(crate::harness::binary());
            command
                .args(["run", "hit", "--dir"])
                .arg(hub.path())
                .arg("--input")
                .arg(format!("{{\"id\": {}}}", 1000 + k));
            command.stdout(std::process::Stdio::null()).spawn().unwrap()
        })
        .collect();
    std::thread::scope(|scope| {
        for thread in 0..8 {
            let server = &server;
            scope.spawn(move || {
                for i in 0..25 {
                    let body = format!("{{\"id\": {}}}", thread * 25 + i);
                    let reply = server.send(
                        reqwest::Method::POST,
                        "/hit",
                        &[("Content-Type", "application/json")],
                        Some(&body),
                    );
                    assert_eq!(reply.status, 200, "{}", reply.text);
                }
            });
        }
    });
    for mut process in processes {
        assert!(process.wait().unwrap().success());
    }
    let out = hub.run("read", "{}").json();
    assert_eq!(out["hits"], json!(203));
    let mut seen: Vec<i64> = out["seen"].as_array().unwrap().iter().map(|id| id.as_i64().unwrap()).collect();
    seen.sort_unstable();
    let mut expected: Vec<i64> = (0..200).chain(1000..1003).collect();
    expected.sort_unstable();
    assert_eq!(seen, expected, "every update kept, none twice");
}

#[test]
fn state_incr_and_update_errors_change_nothing() {
    let hub = Hub::new();
    hub.script("text", r#"state::set("name", "ada"); state::incr("name")"#);
    hub.run("text", "{}").fails_with(1, &["state.incr", "`name` holds \"ada\", not an integer"]);
    hub.script("big", r#"state::set("big", 9223372036854775807); state::incr("big")"#);
    hub.run("big", "{}").fails_with(1, &["state.incr", "would pass the largest integer"]);
    hub.script("throws", r#"state::set("kept", 1); state::update("kept", |old| throw "no")"#);
    hub.run("throws", "{}").fails_with(1, &["no"]);
    hub.script("counts", r#"#{ kept: state::get("kept"), down: state::incr("fresh", -2), name: state::get("name") }"#);
    assert_eq!(hub.run("counts", "{}").json(), json!({"kept": 1, "down": -2, "name": "ada"}));
}
