//! The demo hub in the repository root, driven with the README's five-minute tour.

use crate::harness::{Hub, Server};
use reqwest::Method;

/// A copy of the demo hub (manifest, scripts, lib) in a temporary folder.
pub fn demo() -> Hub {
    let hub = Hub::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    hub.file("switchboard.toml", &std::fs::read_to_string(root.join("switchboard.toml")).unwrap());
    for folder in ["scripts", "scripts/tasks", "lib", "schemas"] {
        for entry in std::fs::read_dir(root.join(folder)).unwrap().flatten() {
            if entry.path().is_file() {
                let name = format!("{folder}/{}", entry.file_name().to_string_lossy());
                hub.file(&name, &std::fs::read_to_string(entry.path()).unwrap());
            }
        }
    }
    hub
}

#[test]
fn the_readme_tour_works_against_the_demo_hub() {
    let hub = demo();
    let server = Server::start(hub.path(), &[]);
    let hello = server.get("/hello?name=Ada", &[]);
    assert_eq!(hello.json()["message"], "Hello, Ada!");
    assert_eq!(server.get("/tasks", &[]).status, 401);
    let key = [("authorization", "Bearer demo-token-change-me"), ("content-type", "application/json")];
    let created = server.send(Method::POST, "/tasks", &key, Some(r#"{"title": "Try Switchboard"}"#));
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("location").as_deref(), Some("/tasks/1"));
    assert_eq!(created.json()["done"], false);
    let listed = server.get("/tasks", &key);
    assert_eq!(listed.json()[0]["title"], "Try Switchboard");
    let done = server.send(Method::POST, "/tasks/1/done", &key, None);
    assert_eq!(done.json()["done"], true);
    assert_eq!(server.get("/tasks?done=true", &key).json().as_array().unwrap().len(), 1);
    assert_eq!(server.send(Method::DELETE, "/tasks/1", &key, None).status, 204);
    assert_eq!(server.get("/tasks/1", &key).status, 404);
    let blank = server.send(Method::POST, "/tasks", &key, Some(r#"{"title": "   "}"#));
    // schemas/task.json refuses a blank title before the script runs.
    assert_eq!((blank.status, blank.json()["details"][0]["field"].as_str()), (400, Some("title")), "{}", blank.text);
    let docs = server.get("/docs", &[]).text;
    assert!(docs.contains("/tasks/{id}") && docs.contains("<td>path</td><td>Integer</td>"), "{docs}");
}

#[test]
fn task_ids_that_are_not_tasks_are_400_or_404() {
    // Not an integer, or too large for one: 400; an integer no task has: 404. Never a 500.
    let hub = demo();
    let server = Server::start(hub.path(), &[]);
    let key = [("authorization", "Bearer demo-token-change-me")];
    for (id, status) in
        [("abc", 400), ("1.5", 400), ("1e3", 400), ("%20", 400), ("99999999999999999999", 400), ("-1", 404), ("7", 404)]
    {
        for (method, path) in [
            (Method::GET, format!("/tasks/{id}")),
            (Method::POST, format!("/tasks/{id}/done")),
            (Method::DELETE, format!("/tasks/{id}")),
        ] {
            let reply = server.send(method.clone(), &path, &key, None);
            assert_eq!(reply.status, status, "{method} {path}: {}", reply.text);
            assert!(reply.json()["error"].is_string(), "{method} {path}: {}", reply.text);
        }
    }
    assert!(!server.stderr().contains("ERROR") && !server.stderr().contains(" 500"), "{}", server.stderr());
}

#[test]
fn the_readme_tour_command_lines_work_as_written() {
    // Every `cargo run --release -- ...` line of the README but `serve`, run by a shell as the README
    // shows it, from the hub folder: a file the tour names but never creates fails here.
    let hub = demo();
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let binary = crate::harness::binary();
    let mut ran = 0;
    for line in readme.lines().filter_map(|line| line.strip_prefix("cargo run --release -- ")) {
        if line.starts_with("serve") {
            continue;
        }
        let command = format!("'{}' {line}", binary.display());
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .current_dir(hub.path())
            .env_remove("SWITCHBOARD_LOG")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "README line `cargo run --release -- {line}` failed:\n{stderr}");
        ran += 1;
    }
    assert!(ran >= 4, "expected the tour's command lines, ran {ran}");
}

#[test]
fn a_deleted_tasks_id_is_never_given_again() {
    // A client that kept /tasks/2 must not find another task there after a delete, even across a
    // restart (the highest id given is kept in SQLite's sqlite_sequence).
    let hub = demo();
    let key = [("authorization", "Bearer demo-token-change-me"), ("content-type", "application/json")];
    let create = |server: &Server, title: &str| {
        let created = server.send(Method::POST, "/tasks", &key, Some(&format!(r#"{{"title": "{title}"}}"#)));
        assert_eq!(created.status, 201, "{}", created.text);
        created.json()["id"].as_i64().unwrap()
    };
    let server = Server::start(hub.path(), &[]);
    assert_eq!((create(&server, "One"), create(&server, "Two")), (1, 2));
    assert_eq!(server.send(Method::DELETE, "/tasks/2", &key, None).status, 204);
    assert_eq!(create(&server, "Three"), 3);
    assert_eq!(server.send(Method::DELETE, "/tasks/3", &key, None).status, 204);
    drop(server);
    let server = Server::start(hub.path(), &[]);
    assert_eq!(create(&server, "Four"), 4);
    assert_eq!(server.get("/tasks/2", &key).status, 404);
}

#[test]
fn a_tasks_table_made_before_ids_were_kept_gets_them_kept() {
    // data/tasks.db from an older demo (ids reused after a delete) is rebuilt on first use, its
    // rows kept; from then on no id is given twice.
    let hub = demo();
    std::fs::create_dir_all(hub.path().join("data")).unwrap();
    let db = rusqlite::Connection::open(hub.path().join("data/tasks.db")).unwrap();
    db.execute_batch(
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
         INSERT INTO tasks VALUES (1, 'Old one', 1, '2026-01-01T00:00:00Z'), (2, 'Old two', 0, '2026-01-02T00:00:00Z');",
    )
    .unwrap();
    drop(db);
    let server = Server::start(hub.path(), &[]);
    let key = [("authorization", "Bearer demo-token-change-me"), ("content-type", "application/json")];
    let listed = server.get("/tasks", &key).json();
    assert_eq!(listed[0]["title"], "Old one");
    assert_eq!((listed[0]["done"].as_bool(), listed[1]["title"].as_str()), (Some(true), Some("Old two")));
    assert_eq!(server.send(Method::DELETE, "/tasks/2", &key, None).status, 204);
    let created = server.send(Method::POST, "/tasks", &key, Some(r#"{"title": "New"}"#));
    assert_eq!(created.json()["id"], 3, "{}", created.text);
}
