//! `sql` against real database servers (PostgreSQL; `SWITCHBOARD_TEST_POSTGRES_URL`), each test
//! in a schema of its own, and the type mapping table run on SQLite and each server alike
//! (MySQL/MariaDB through `stdlib_sql_mysql.rs`'s database of a test).

use crate::harness::{Hub, skip, wait_until};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A PostgreSQL schema of one test, dropped (with what is in it) at the end.
struct Schema {
    base: String,
    name: String,
    admin: Admin,
}

/// A connection of the test's own, beside the hub's, to set up and look.
struct Admin {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Admin {
    fn connect(url: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let client = runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
            tokio::spawn(async move {
                let _ = connection.await;
            });
            client
        });
        Self { runtime, client }
    }

    fn batch(&self, sql: &str) {
        self.runtime.block_on(self.client.batch_execute(sql)).unwrap_or_else(|err| panic!("{sql}: {err}"));
    }

    fn count(&self, sql: &str) -> i64 {
        self.runtime
            .block_on(self.client.query_one(sql, &[]))
            .unwrap_or_else(|err| panic!("{sql}: {err}"))
            .get::<_, i64>(0)
    }
}

static SCHEMAS: AtomicUsize = AtomicUsize::new(0);

impl Schema {
    /// A new schema, or `None` (the test skipped) where no server is configured.
    fn new() -> Option<Self> {
        let Ok(base) = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL") else {
            skip("SWITCHBOARD_TEST_POSTGRES_URL is not set (postgres://postgres@127.0.0.1:5432/test)");
            return None;
        };
        let name = format!("sb_{}_{}", std::process::id(), SCHEMAS.fetch_add(1, Ordering::SeqCst));
        let admin = Admin::connect(&base);
        admin.batch(&format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"));
        Some(Self { base, name, admin })
    }

    /// The server's URL with the schema as search path and the schema as application name
    /// (so the test finds its hub's sessions), and `password` if given.
    fn url(&self, password: Option<&str>) -> String {
        let mut url = reqwest::Url::parse(&self.base).expect("SWITCHBOARD_TEST_POSTGRES_URL is a URL");
        if password.is_some() {
            url.set_password(password).expect("a password");
        }
        let url = url.to_string();
        let join = if url.contains('?') { '&' } else { '?' };
        format!("{url}{join}options=-c%20search_path%3D{}&application_name={}", self.name, self.name)
    }

    /// A hub whose connection `crm` reaches this schema, with `extra` manifest lines.
    fn hub(&self, extra: &str) -> Hub {
        let hub = Hub::new();
        hub.manifest(&format!("[connections.crm]\ntype = \"postgres\"\nurl = \"{}\"\n{extra}", self.url(None)));
        hub
    }

    /// Sessions the hub has open on this schema now, running `query_like` (`%` for any).
    fn sessions(&self, query_like: &str) -> i64 {
        self.admin.count(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = '{}' AND query LIKE '{query_like}'",
            self.name
        ))
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let name = &self.name;
        let _ = self.admin.runtime.block_on(self.admin.client.batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{name}';
             DROP SCHEMA IF EXISTS {name} CASCADE"
        )));
    }
}

#[test]
fn every_call_works_on_postgres() {
    let Some(schema) = Schema::new() else { return };
    let hub = schema.hub("");
    hub.script(
        "calls",
        r#"
        let db = sql::connection("crm");
        db.execute_batch("CREATE TABLE people (id serial PRIMARY KEY, name text NOT NULL UNIQUE, age int, data jsonb)");
        let a = db.execute("INSERT INTO people (name, age) VALUES (?, ?)", ["ada", 36]);
        let first = db.last_insert_id();
        db.execute("INSERT INTO people (name, age) VALUES (:name, :age)", #{ name: "bob", age: 41 });
        db.execute("INSERT INTO people (name, age, data) VALUES ($1, $2, $3)", ["cy", 7, #{ pet: "cat" }]);
        db.transaction(|tx| { tx.execute("UPDATE people SET age = age + 1 WHERE name = ?", ["ada"]); });
        let caught = "";
        try {
            db.transaction(|tx| {
                tx.execute("DELETE FROM people");
                throw "changed my mind";
            });
        } catch (err) { caught = err; }
        let nested = "";
        try { db.transaction(|tx| tx.transaction(|again| 1)) } catch (err) { nested = err; }
        #{
            inserted: a,
            first: first,
            all: db.query("SELECT id, name, age FROM people ORDER BY id"),
            one: db.query_one("SELECT name FROM people WHERE age > :age AND name <> '?:x' ORDER BY age", #{ age: 38 }),
            none: db.query_one("SELECT name FROM people WHERE id = ?", [999]),
            jsonb: db.query_one("SELECT data ? 'pet' AS has, data->>'pet' AS pet, age::text AS t FROM people WHERE id = $1", [3]),
            updated: db.execute("UPDATE people SET age = 0"),
            caught: caught,
            nested: nested,
            // The URL names a user without a password: a database role, not a secret.
            user: db.query_one("SELECT current_user AS u").u,
        }
        "#,
    );
    let out = hub.run("calls", "{}").json();
    assert_eq!(
        out,
        json!({
            "inserted": 1, "first": 1,
            "all": [
                {"id": 1, "name": "ada", "age": 37},
                {"id": 2, "name": "bob", "age": 41},
                {"id": 3, "name": "cy", "age": 7}
            ],
            "one": {"name": "bob"}, "none": null,
            "jsonb": {"has": true, "pet": "cat", "t": "7"},
            "updated": 3,
            "caught": "changed my mind",
            "nested": "sql.transaction: already inside a transaction",
            "user": out["user"]
        })
    );
    let user = reqwest::Url::parse(&schema.base).expect("a URL").username().to_string();
    if !user.is_empty() {
        assert_eq!(out["user"], json!(user));
    }
}

/// One row of the type mapping: the column type on each database, the value a script binds
/// (Rhai source), and what it reads back (`type_of` and the value as JSON).
struct Case {
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
    mysql: &'static str,
    bind: &'static str,
    type_of: &'static str,
    read: Value,
}

/// What PostgreSQL stores for each case, as `v::text` shows it (in UTC): the value a script
/// wrote is the server's own value of the column's type, not a string that looks like it.
const POSTGRES_STORED: [(&str, Option<&str>); 17] = [
    ("null", None),
    ("int", Some("-9007199254740993")),
    ("small_int", Some("42")),
    ("float", Some("1.5")),
    ("int_to_float", Some("2")),
    ("decimal", Some("12345678901234567890.123456789012")),
    ("bool", Some("true")),
    ("bool_false", Some("false")),
    ("text", Some("héllo ? :x")),
    ("bytes", Some("\\xffffff")),
    ("json_map", Some(r#"{"a": 1, "b": [true, null]}"#)),
    ("json_array", Some(r#"[1,"x"]"#)),
    ("timestamp", Some("2026-12-02 10:20:30.5+00")),
    ("date", Some("2026-12-02")),
    ("uuid", Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
    ("int_array", Some("{1,2,3}")),
    ("text_array", Some("{a,NULL}")),
];

fn cases() -> Vec<Case> {
    let case = |name, sqlite, postgres, mysql, bind, type_of, read| Case {
        name,
        sqlite,
        postgres,
        mysql,
        bind,
        type_of,
        read,
    };
    vec![
        case("null", "TEXT", "text", "TEXT", "()", "()", json!(null)),
        case("int", "INTEGER", "bigint", "BIGINT", "-9007199254740993", "i64", json!(-9_007_199_254_740_993_i64)),
        case("small_int", "INTEGER", "integer", "INT", "42", "i64", json!(42)),
        case("float", "REAL", "double precision", "DOUBLE", "1.5", "f64", json!(1.5)),
        case("int_to_float", "REAL", "double precision", "DOUBLE", "2", "f64", json!(2.0)),
        case(
            "decimal",
            // SQLite keeps a DECIMAL column's numbers as REAL (15 digits): exact ones go in TEXT.
            "TEXT",
            "numeric(40,12)",
            "DECIMAL(40,12)",
            r#""12345678901234567890.123456789012""#,
            "string",
            json!("12345678901234567890.123456789012"),
        ),
        case("bool", "BOOLEAN", "boolean", "BOOLEAN", "true", "bool", json!(true)),
        case("bool_false", "BOOLEAN", "boolean", "BOOLEAN", "false", "bool", json!(false)),
        case("text", "TEXT", "text", "TEXT", r#""héllo ? :x""#, "string", json!("héllo ? :x")),
        case("bytes", "BLOB", "bytea", "BLOB", "blob(3, 255)", "blob", json!([255, 255, 255])),
        case(
            "json_map",
            "JSON",
            "jsonb",
            "JSON",
            r#"#{ a: 1, b: [true, ()] }"#,
            "map",
            json!({"a": 1, "b": [true, null]}),
        ),
        case("json_array", "JSON", "json", "JSON", r#"[1, "x"]"#, "array", json!([1, "x"])),
        case(
            "timestamp",
            "TIMESTAMP",
            "timestamptz",
            "DATETIME(3)",
            r#"time::parse("2026-12-02T10:20:30.5Z")"#,
            "Time",
            json!("2026-12-02T10:20:30.500Z"),
        ),
        case("date", "DATE", "date", "DATE", r#""2026-12-02""#, "Time", json!("2026-12-02T00:00:00Z")),
        case(
            "uuid",
            "UUID",
            "uuid",
            "UUID",
            r#""a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11""#,
            "string",
            json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        ),
        case("int_array", "JSON", "bigint[]", "JSON", "[1, 2, 3]", "array", json!([1, 2, 3])),
        case("text_array", "JSON", "text[]", "JSON", r#"["a", ()]"#, "array", json!(["a", null])),
    ]
}

/// A script that writes each case's value into a table of its own and reads it back.
fn mapping_script(column: impl Fn(&Case) -> &'static str) -> String {
    let mut script = String::from("let db = sql::connection(\"db\");\nlet out = #{};\n");
    for case in cases() {
        let (name, bind) = (case.name, case.bind);
        script.push_str(&format!(
            "db.execute_batch(\"CREATE TABLE t_{name} (v {})\");\n\
             db.execute(\"INSERT INTO t_{name} (v) VALUES (?)\", [{bind}]);\n\
             let v = db.query_one(\"SELECT v FROM t_{name}\").v;\n\
             out[\"{name}\"] = #{{ type: type_of(v), value: v }};\n",
            column(&case)
        ));
    }
    script.push_str("out\n");
    script
}

fn check_mapping(database: &str, out: &Value) {
    for case in cases() {
        let got = &out[case.name];
        assert_eq!(got["type"], json!(case.type_of), "{database}: {} reads back as {got}", case.name);
        assert_eq!(got["value"], case.read, "{database}: {} reads back as {got}", case.name);
    }
}

#[test]
fn the_type_mapping_table_round_trips_on_sqlite() {
    let hub = Hub::new();
    hub.manifest("[connections.db]\ntype = \"sqlite\"\npath = \"data/types.db\"\n");
    hub.script("types", &mapping_script(|case| case.sqlite));
    check_mapping("sqlite", &hub.run("types", "{}").json());
}

#[test]
fn the_type_mapping_table_round_trips_on_postgres() {
    let Some(schema) = Schema::new() else { return };
    let hub = Hub::new();
    hub.manifest(&format!("[connections.db]\ntype = \"postgres\"\nurl = \"{}\"\n", schema.url(None)));
    hub.script("types", &mapping_script(|case| case.postgres));
    check_mapping("postgres", &hub.run("types", "{}").json());
    schema.admin.batch("SET TIME ZONE 'UTC'");
    assert_eq!(POSTGRES_STORED.len(), cases().len());
    for (name, stored) in POSTGRES_STORED {
        let sql = format!("SELECT v::text FROM {}.t_{name}", schema.name);
        let row = schema.admin.runtime.block_on(schema.admin.client.query_one(&sql, &[])).expect("stored");
        assert_eq!(row.get::<_, Option<String>>(0).as_deref(), stored, "postgres stored {name}");
    }
}

/// What MySQL/MariaDB stores for each case, as its text shows it (times in UTC, bytes in hex).
const MYSQL_STORED: [(&str, Option<&str>); 17] = [
    ("null", None),
    ("int", Some("-9007199254740993")),
    ("small_int", Some("42")),
    ("float", Some("1.5")),
    ("int_to_float", Some("2")),
    ("decimal", Some("12345678901234567890.123456789012")),
    ("bool", Some("1")),
    ("bool_false", Some("0")),
    ("text", Some("héllo ? :x")),
    ("bytes", Some("FFFFFF")),
    ("json_map", Some(r#"{"a":1,"b":[true,null]}"#)),
    ("json_array", Some(r#"[1,"x"]"#)),
    ("timestamp", Some("2026-12-02 10:20:30.500")),
    ("date", Some("2026-12-02")),
    ("uuid", Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
    ("int_array", Some("[1,2,3]")),
    ("text_array", Some(r#"["a",null]"#)),
];

#[test]
fn the_type_mapping_table_round_trips_on_mysql() {
    let Some(mut database) = crate::stdlib_sql_mysql::Database::new() else { return };
    let mariadb = database.is_mariadb();
    let hub = Hub::new();
    hub.manifest(&format!("[connections.db]\ntype = \"mysql\"\nurl = \"{}\"\n", database.url(None)));
    // MySQL has no UUID type (MariaDB has since 10.7): there a UUID is kept as its text.
    hub.script("types", &mapping_script(|case| if !mariadb && case.mysql == "UUID" { "CHAR(36)" } else { case.mysql }));
    let mut out = hub.run("types", "{}").json();
    if mariadb {
        crate::stdlib_sql_mysql::json_as_text(&mut out, &["json_map", "json_array", "int_array", "text_array"]);
    }
    check_mapping("mysql", &out);
    assert_eq!(MYSQL_STORED.len(), cases().len());
    for (name, stored) in MYSQL_STORED {
        let column = if name == "bytes" { "HEX(v)" } else { "CONVERT(v USING utf8mb4)" };
        let sql = format!("SELECT {column} FROM {}.t_{name}", database.name);
        let text = database.text(&sql);
        let text = if name.starts_with("json") || name.ends_with("array") {
            // MySQL writes its JSON type back with spaces; compare the JSON, not its spacing.
            text.map(|text| serde_json::from_str::<Value>(&text).expect("JSON").to_string())
        } else {
            text
        };
        assert_eq!(text.as_deref(), stored, "mysql stored {name}");
    }
}

#[test]
fn strings_convert_to_the_parameter_type_the_server_reports() {
    let Some(schema) = Schema::new() else { return };
    let hub = schema.hub("");
    hub.script(
        "convert",
        r#"
        let db = sql::connection("crm");
        db.execute_batch("CREATE TABLE t (u uuid, n numeric, d date, j jsonb, f float8, ts timestamptz)");
        db.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)",
            ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", 3, "2026-01-02", `{"k": 1}`, 2, "2026-01-02T03:04:05Z"]);
        let errors = [];
        try { db.execute("INSERT INTO t (u) VALUES (?)", ["not-a-uuid"]) } catch (e) { errors.push(e) }
        try { db.execute("INSERT INTO t (n) VALUES (?)", ["twelve"]) } catch (e) { errors.push(e) }
        try { db.execute("INSERT INTO t (j) VALUES (?)", ["not json"]) } catch (e) { errors.push(e) }
        try { db.query("SELECT interval '1 day' AS i") } catch (e) { errors.push(e) }
        try { db.execute("INSERT INTO t (f) VALUES (?)", [true]) } catch (e) { errors.push(e) }
        #{ row: db.query_one("SELECT u::text, n::text, d::text, j->>'k' AS k, f, ts = '2026-01-02T03:04:05Z' AS same FROM t"), errors: errors }
        "#,
    );
    let out = hub.run("convert", "{}").json();
    assert_eq!(
        out["row"],
        json!({"u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "n": "3", "d": "2026-01-02", "k": "1", "f": 2.0, "same": true})
    );
    let errors: Vec<&str> = out["errors"].as_array().expect("errors").iter().filter_map(Value::as_str).collect();
    assert_eq!(errors.len(), 5, "{errors:?}");
    assert!(errors[0].starts_with("sql.execute:") && errors[0].contains("not a UUID"), "{}", errors[0]);
    assert!(errors[1].contains("`twelve` is not a decimal number"), "{}", errors[1]);
    assert!(errors[2].contains("must be JSON text"), "{}", errors[2]);
    assert!(errors[3].starts_with("sql.query: column `i`") && errors[3].contains("cast it"), "{}", errors[3]);
    assert!(errors[4].contains("a bool cannot be bound to a parameter of type float8"), "{}", errors[4]);
}

#[test]
fn errors_carry_the_sqlstate_and_connection_but_never_the_password() {
    let Some(schema) = Schema::new() else { return };
    let password = format!("pw-{}-secret", std::process::id());
    let hub = Hub::new();
    // Trust authentication ignores the password, so it reaches the server and works.
    hub.manifest(&format!(
        "[connections.crm]\ntype = \"postgres\"\nurl = \"{}\"\n\n[connections.down]\ntype = \"postgres\"\nurl = \"postgres://app:{password}@127.0.0.1:1/nowhere\"\ntimeout = \"2s\"\n",
        schema.url(Some(&password))
    ));
    hub.script(
        "dup",
        r#"
        let db = sql::connection("crm");
        db.execute_batch("CREATE TABLE u (id int PRIMARY KEY)");
        db.execute("INSERT INTO u VALUES (?)", [1]);
        let caught = "";
        try { db.execute("INSERT INTO u VALUES (?)", [1]) } catch (e) { caught = e }
        let down = "";
        try { sql::connection("down") } catch (e) { down = e }
        print(caught);
        print(down);
        print(`the input holds ${input.password}`);
        #{ caught: caught, down: down, echoed: input.password }
        "#,
    );
    // The password reaches the script as data: it is redacted wherever the run shows it.
    let output = hub.run("dup", &json!({ "password": password }).to_string());
    let out = output.json();
    let caught = out["caught"].as_str().expect("caught");
    assert!(caught.starts_with("sql.execute: duplicate key value violates unique constraint"), "{caught}");
    assert!(caught.ends_with("(connection `crm`, SQLSTATE 23505)"), "{caught}");
    let down = out["down"].as_str().expect("down");
    assert!(down.starts_with("sql.connection: cannot connect to 127.0.0.1:1/nowhere"), "{down}");
    assert!(down.ends_with("(connection `down`)"), "{down}");
    assert_eq!(out["echoed"], json!("***"));
    assert!(output.stderr.contains("the input holds ***"), "{}", output.stderr);
    for text in [&output.stdout, &output.stderr] {
        assert!(!text.contains(&password), "the password leaked: {text}");
    }
    let runs = hub.cmd(&["runs", "list", "--json"]).output();
    assert!(!runs.stdout.contains(&password) && runs.stdout.contains("dup"), "{}", runs.stdout);
    for entry in std::fs::read_dir(hub.path().join("data")).expect("data").flatten() {
        let bytes = std::fs::read(entry.path()).expect("read");
        assert!(!String::from_utf8_lossy(&bytes).contains(&password), "the password is in {}", entry.path().display());
    }
}

#[test]
fn a_transaction_killed_by_the_deadline_leaves_nothing_and_its_query_is_cancelled() {
    let Some(schema) = Schema::new() else { return };
    let hub = schema.hub("\n[limits]\ntimeout = \"1s\"\n");
    schema.admin.batch(&format!("CREATE TABLE {}.kept (id int)", schema.name));
    hub.script(
        "slow",
        r#"
        let db = sql::connection("crm");
        db.transaction(|tx| {
            tx.execute("INSERT INTO kept VALUES (1)");
            tx.query("SELECT pg_sleep(60)");
        });
        "#,
    );
    hub.run("slow", "{}").fails_with(1, &["timed out"]);
    let gone = wait_until(Duration::from_secs(10), || schema.sessions("%pg_sleep%") == 0);
    assert!(gone, "the statement still runs on the server");
    assert_eq!(schema.admin.count(&format!("SELECT count(*) FROM {}.kept", schema.name)), 0);
}

#[test]
fn a_broken_connection_is_replaced_by_a_new_one() {
    let Some(schema) = Schema::new() else { return };
    let hub = schema.hub("\n[[route]]\nmethod = \"GET\"\npath = \"/pid\"\nscript = \"pid\"\nauth = \"public\"\n");
    hub.script("pid", r#"sql::connection("crm").query_one("SELECT pg_backend_pid() AS pid").pid"#);
    let server = hub.serve();
    let first = server.get("/pid", &[]).json();
    assert_eq!(server.get("/pid", &[]).json(), first, "the idle connection is reused");
    schema.admin.batch(&format!("SELECT pg_terminate_backend({first})"));
    assert!(wait_until(Duration::from_secs(10), || schema.sessions("%") == 0), "the session was not ended");
    let second = server.get("/pid", &[]).json();
    assert!(second.is_i64() && second != first, "{first} then {second}");
}

#[test]
fn a_statement_run_again_sees_a_changed_table() {
    let Some(schema) = Schema::new() else { return };
    let hub = schema.hub("");
    hub.script(
        "again",
        r#"
        let db = sql::connection("crm");
        db.execute_batch("CREATE TABLE t (a int); INSERT INTO t VALUES (1)");
        let before = db.query_one("SELECT * FROM t");
        db.execute_batch("ALTER TABLE t ADD COLUMN b text DEFAULT 'x'");
        let after = db.query_one("SELECT * FROM t");
        db.execute_batch("DEALLOCATE ALL");
        #{ before: before, after: after, again: db.query_one("SELECT * FROM t") }
        "#,
    );
    assert_eq!(
        hub.run("again", "{}").json(),
        json!({"before": {"a": 1}, "after": {"a": 1, "b": "x"}, "again": {"a": 1, "b": "x"}})
    );
}

#[test]
fn a_handle_whose_connection_broke_gets_a_new_one_outside_a_transaction() {
    let Some(schema) = Schema::new() else { return };
    let hub = schema.hub("");
    hub.script(
        "broken",
        r#"
        let db = sql::connection("crm");
        let before = db.query_one("SELECT pg_backend_pid() AS pid").pid;
        let caught = "";
        try { db.query("SELECT pg_terminate_backend(pg_backend_pid())") } catch (e) { caught = e }
        let after = db.query_one("SELECT pg_backend_pid() AS pid").pid;
        let in_tx = "";
        try {
            db.transaction(|tx| {
                tx.query("SELECT pg_terminate_backend(pg_backend_pid())");
            });
        } catch (e) { in_tx = e }
        #{ changed: before != after, caught: caught, in_tx: in_tx, last: db.query_one("SELECT 1 AS one").one }
        "#,
    );
    let out = hub.run("broken", "{}").json();
    assert_eq!(out["changed"], json!(true));
    let caught = out["caught"].as_str().expect("caught");
    assert!(caught.starts_with("sql.query: terminating connection") && caught.contains("SQLSTATE 57P01"), "{caught}");
    assert!(out["in_tx"].as_str().expect("in_tx").contains("SQLSTATE 57P01"), "{}", out["in_tx"]);
    assert_eq!(out["last"], json!(1));
}

#[test]
fn query_one_reads_one_row_and_the_connection_goes_on() {
    let Some(schema) = Schema::new() else { return };
    let hub = schema.hub("");
    hub.script(
        "first",
        r#"
        let db = sql::connection("crm");
        let first = db.query_one("SELECT g FROM generate_series(1, 200000) AS g");
        #{ first: first, next: db.query_one("SELECT 2 AS two").two, all: db.query("SELECT g FROM generate_series(1, 3) AS g").len() }
        "#,
    );
    assert_eq!(hub.run("first", "{}").json(), json!({"first": {"g": 1}, "next": 2, "all": 3}));
}

#[test]
fn a_full_pool_makes_the_next_session_wait_then_fail() {
    let Some(schema) = Schema::new() else { return };
    let hub = schema.hub("pool = 1\ntimeout = \"300ms\"\n");
    hub.script(
        "two",
        r#"
        let first = sql::connection("crm");
        let caught = "";
        try { sql::connection("crm") } catch (e) { caught = e }
        #{ first: first.query_one("SELECT 1 AS one").one, caught: caught }
        "#,
    );
    let out = hub.run("two", "{}").json();
    assert_eq!(out["first"], json!(1));
    let caught = out["caught"].as_str().expect("an error");
    assert!(caught.starts_with("sql.connection: all 1 connections of the pool stayed in use for 300ms"), "{caught}");
}

#[test]
fn a_session_left_in_a_transaction_never_goes_back_to_the_pool() {
    let Some(schema) = Schema::new() else { return };
    schema.admin.batch(&format!("CREATE TABLE {}.t (id int)", schema.name));
    let hub = schema.hub(
        "pool = 1\n\n[[route]]\nmethod = \"POST\"\npath = \"/open\"\nscript = \"open\"\nauth = \"public\"\n\n\
         [[route]]\nmethod = \"GET\"\npath = \"/count\"\nscript = \"count\"\nauth = \"public\"\n",
    );
    // The script begins a transaction of its own and ends without committing it.
    hub.script("open", r#"sql::connection("crm").execute_batch("BEGIN; INSERT INTO t VALUES (1)"); "left open""#);
    hub.script("count", r#"sql::connection("crm").query_one("SELECT count(*) AS n FROM t").n"#);
    let server = hub.serve();
    let opened = server.send(reqwest::Method::POST, "/open", &[], None);
    assert_eq!((opened.status, opened.text.as_str()), (200, "left open"));
    assert_eq!(server.get("/count", &[]).json(), json!(0), "the next run saw the open transaction's row");
    assert_eq!(schema.admin.count(&format!("SELECT count(*) FROM {}.t", schema.name)), 0);
}

#[test]
fn tls_require_encrypts_and_verify_full_refuses_a_self_signed_certificate() {
    let Some(schema) = Schema::new() else { return };
    let hub = Hub::new();
    let url = schema.url(None);
    hub.manifest(&format!(
        "[connections.plain]\ntype = \"postgres\"\nurl = \"{url}\"\ntls = \"disable\"\n\n\
         [connections.preferred]\ntype = \"postgres\"\nurl = \"{url}\"\n\n\
         [connections.encrypted]\ntype = \"postgres\"\nurl = \"{url}\"\ntls = \"require\"\n\n\
         [connections.verified]\ntype = \"postgres\"\nurl = \"{url}\"\ntls = \"verify-full\"\n"
    ));
    hub.script(
        "tls",
        r#"
        let ssl = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
        let verified = "";
        try { sql::connection("verified") } catch (e) { verified = e }
        #{
            plain: sql::connection("plain").query_one(ssl).ssl,
            encrypted: sql::connection("encrypted").query_one(ssl).ssl,
            preferred: sql::connection("preferred").query_one(ssl).ssl,
            verified: verified,
        }
        "#,
    );
    let out = hub.run("tls", "{}").json();
    assert_eq!(out["plain"], json!(false));
    assert_eq!(out["encrypted"], json!(true));
    assert_eq!(out["preferred"], json!(true), "the default, prefer, uses the TLS the server offers");
    let verified = out["verified"].as_str().expect("an error");
    assert!(verified.starts_with("sql.connection: cannot connect to"), "{verified}");
    assert!(verified.contains("certificate") && verified.contains("\"require\" encrypts"), "{verified}");
}

#[test]
fn read_only_connections_refuse_writes_with_the_server_error() {
    let Some(schema) = Schema::new() else { return };
    schema.admin.batch(&format!("CREATE TABLE {}.t (id int)", schema.name));
    let hub = schema.hub("read_only = true\n");
    hub.script("write", r#"sql::connection("crm").execute("INSERT INTO t VALUES (1)")"#);
    hub.run("write", "{}").fails_with(1, &["sql.execute:", "read-only transaction", "SQLSTATE 25006"]);
    hub.script("read", r#"sql::connection("crm").query("SELECT count(*) AS n FROM t")"#);
    assert_eq!(hub.run("read", "{}").json(), json!([{"n": 0}]));
}

#[test]
fn connecting_is_retried_and_the_circuit_opens_after_failures() {
    let hub = Hub::new();
    hub.manifest(
        "[connections.down]\ntype = \"postgres\"\nurl = \"postgres://app@127.0.0.1:1/db\"\n\
         retry = { attempts = 2, backoff = \"10ms\" }\ncircuit = { failures = 2, cooldown = \"1m\" }\n",
    );
    hub.script(
        "down",
        r#"
        let errors = [];
        for i in 0..2 { try { sql::connection("down") } catch (e) { errors.push(e) } }
        errors
        "#,
    );
    let output = hub.run("down", "{}");
    let out = output.json();
    // Each retry and the circuit's change are warn lines of the run.
    assert!(output.stderr.contains("sql: connection `down`: cannot connect to 127.0.0.1:1/db"), "{}", output.stderr);
    assert!(output.stderr.contains("; attempt 2 of 2 in"), "{}", output.stderr);
    assert!(output.stderr.contains("circuit of `down` opened after 2 failed attempts to connect"), "{}", output.stderr);
    let first = out[0].as_str().expect("first");
    assert!(first.contains("cannot connect to 127.0.0.1:1/db") && first.contains("(after 2 attempts)"), "{first}");
    let second = out[1].as_str().expect("second");
    assert!(second.contains("circuit open after 2 failed attempts to connect"), "{second}");
}

#[test]
fn check_reports_a_bad_postgres_url_at_its_place() {
    let hub = Hub::new();
    hub.manifest(
        "[connections.crm]\ntype = \"postgres\"\nurl = \"postgres://app:hunter2@db:notaport/crm\"\n\n\
         [connections.other]\ntype = \"postgres\"\nurl = \"mysql://db/crm\"\n\n\
         [connections.third]\ntype = \"postgres\"\nurl = \"postgres://db/crm?sslmode=require\"\npool = 2\n",
    );
    let out = hub.cmd(&["check"]).output();
    out.fails_with(
        2,
        &[
            "switchboard.toml:3:",
            "connections.crm.url: not a PostgreSQL URL",
            "switchboard.toml:7:",
            "expected a URL starting with postgres:// or postgresql://",
            "takes no `sslmode`; set the connection's `tls` instead",
        ],
    );
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    hub.manifest("[connections.crm]\ntype = \"postgres\"\nurl = \"postgres://db/crm\"\npool = 0\ntls = \"verify\"\n");
    hub.cmd(&["check"]).output().fails_with(2, &["pool", "at least 1"]);
    hub.manifest("[connections.crm]\ntype = \"postgres\"\nurl = \"postgres://db/crm\"\ntls = \"verify\"\n");
    hub.cmd(&["check"]).output().fails_with(2, &["unknown tls `verify`", "verify-full"]);
    hub.manifest(
        "[connections.crm]\ntype = \"postgres\"\nurl = \"postgres://db/crm\"\nretry = { methods = [\"GET\"] }\n",
    );
    hub.cmd(&["check"]).output().fails_with(2, &["`retry.methods` does not apply to a postgres connection"]);
    hub.manifest("[connections.crm]\ntype = \"postgres\"\n");
    hub.cmd(&["check"]).output().fails_with(2, &["a postgres connection needs `url`"]);
}
