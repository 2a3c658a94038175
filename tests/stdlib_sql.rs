//! `sql` against real SQLite files.

use crate::harness::Hub;
use serde_json::json;

fn hub() -> Hub {
    let hub = Hub::new();
    hub.manifest("[connections.tasks]\ntype = \"sqlite\"\npath = \"data/tasks.db\"\n");
    hub.script(
        "setup",
        r#"
        let db = sql::connection("tasks");
        db.execute_batch("CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY, title TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0, score REAL, note TEXT, data BLOB)");
        "ready"
        "#,
    );
    assert_eq!(hub.run("setup", "{}").json(), json!("ready"));
    hub
}

#[test]
fn positional_and_named_parameters_round_trip_every_type() {
    let hub = hub();
    hub.script(
        "crud",
        r#"
        let db = sql::connection("tasks");
        let a = db.execute("INSERT INTO tasks (title, done, score, note) VALUES (?, ?, ?, ?)", ["write docs", false, 1.5, ()]);
        let first = db.last_insert_id();
        db.execute("INSERT INTO tasks (title, done, data) VALUES (:title, :done, :data)", #{ title: "ship", done: true, data: blob(3, 7) });
        #{
            inserted: a,
            first: first,
            all: db.query("SELECT id, title, done, score, note FROM tasks ORDER BY id"),
            one: db.query_one("SELECT title FROM tasks WHERE id = ?", [first]),
            none: db.query_one("SELECT title FROM tasks WHERE id = ?", [999]),
            blob_len: db.query_one("SELECT data FROM tasks WHERE title = 'ship'").data.len(),
            updated: db.execute("UPDATE tasks SET done = 1"),
        }
        "#,
    );
    let out = hub.run("crud", "{}").json();
    assert_eq!(
        out,
        json!({
            "inserted": 1, "first": 1,
            "all": [
                {"id": 1, "title": "write docs", "done": 0, "score": 1.5, "note": null},
                {"id": 2, "title": "ship", "done": 1, "score": null, "note": null}
            ],
            "one": {"title": "write docs"}, "none": null, "blob_len": 3, "updated": 2
        })
    );
    // The data is in a real SQLite file, readable by anything else.
    let connection = rusqlite::Connection::open(hub.path().join("data/tasks.db")).unwrap();
    let titles: i64 = connection.query_row("SELECT count(*) FROM tasks", [], |row| row.get(0)).unwrap();
    assert_eq!(titles, 2);
    let mode: String = connection.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn transactions_commit_or_roll_back() {
    let hub = hub();
    hub.script(
        "tx",
        r#"
        let db = sql::connection("tasks");
        db.transaction(|tx| { tx.execute("INSERT INTO tasks (title) VALUES (?)", ["kept"]); });
        let caught = "no error";
        try {
            db.transaction(|tx| {
                tx.execute("INSERT INTO tasks (title) VALUES (?)", ["dropped"]);
                throw "changed my mind";
            });
        } catch (err) { caught = err; }
        #{ caught: caught, titles: db.query("SELECT title FROM tasks").map(|r| r.title) }
        "#,
    );
    assert_eq!(hub.run("tx", "{}").json(), json!({"caught": "changed my mind", "titles": ["kept"]}));
}

#[test]
fn sql_errors_are_catchable_and_name_the_function() {
    let hub = hub();
    hub.script(
        "errors",
        r#"
        let db = sql::connection("tasks");
        let errors = [];
        try { db.query("SELECT * FROM nowhere") } catch (e) { errors.push(e) }
        try { db.query("SELECT * FROM tasks WHERE id = ?", [1, 2]) } catch (e) { errors.push(e) }
        try { db.query("SELECT * FROM tasks WHERE id = :id", #{ other: 1 }) } catch (e) { errors.push(e) }
        try { sql::connection("nope") } catch (e) { errors.push(e) }
        try { db.execute("INSERT INTO tasks (id, title) VALUES (1, 'a'), (1, 'b')") } catch (e) { errors.push(e) }
        errors
        "#,
    );
    let out = hub.run("errors", "{}").json();
    let messages: Vec<&str> = out.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(messages[0].starts_with("sql.query: no such table: nowhere"), "{}", messages[0]);
    assert!(messages[1].starts_with("sql.query:") && messages[1].contains('2'), "{}", messages[1]);
    assert!(messages[2].contains(":other is not in the statement"), "{}", messages[2]);
    assert_eq!(messages[3], "sql.connection: no SQL connection `nope` (known: tasks)");
    // SQLite's extended result code: SQLITE_CONSTRAINT_PRIMARYKEY.
    assert!(messages[4].ends_with("(connection `tasks`, SQLite code 1555)"), "{}", messages[4]);
}

#[test]
fn read_only_connections_refuse_writes() {
    let hub = hub();
    hub.manifest(
        "[connections.tasks]\ntype = \"sqlite\"\npath = \"data/tasks.db\"\n\n[connections.reader]\ntype = \"sqlite\"\npath = \"data/tasks.db\"\nread_only = true\n",
    );
    hub.script("write", r#"sql::connection("reader").execute("INSERT INTO tasks (title) VALUES ('x')")"#);
    hub.run("write", "{}").fails_with(1, &["sql.execute:", "readonly"]);
}
