//! `sql` against a real MySQL or MariaDB server (`SWITCHBOARD_TEST_MYSQL_URL`), each test in a
//! database of its own (`sb_<pid>_<n>`, dropped at the end).

use crate::harness::{Hub, skip, wait_until};
use mysql_async::prelude::Queryable;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A database of one test, dropped (with what is in it) at the end.
pub struct Database {
    base: String,
    pub name: String,
    runtime: tokio::runtime::Runtime,
    admin: Option<mysql_async::Conn>,
}

static DATABASES: AtomicUsize = AtomicUsize::new(0);

impl Database {
    /// A new database, or `None` (the test skipped) where no server is configured.
    pub fn new() -> Option<Self> {
        let Ok(base) = std::env::var("SWITCHBOARD_TEST_MYSQL_URL") else {
            skip("SWITCHBOARD_TEST_MYSQL_URL is not set (mysql://root@127.0.0.1:3306/test)");
            return None;
        };
        let name = format!("sb_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::SeqCst));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let admin = runtime.block_on(mysql_async::Conn::from_url(&base)).expect("connect to MySQL");
        let database = Self { base, name, runtime, admin: Some(admin) };
        database.batch(&format!("DROP DATABASE IF EXISTS {0}; CREATE DATABASE {0}", database.name));
        Some(database)
    }

    pub fn batch(&self, sql: &str) {
        let runtime = &self.runtime;
        let mut conn = runtime.block_on(mysql_async::Conn::from_url(&self.base)).expect("connect");
        runtime.block_on(conn.query_drop(sql)).unwrap_or_else(|err| panic!("{sql}: {err}"));
        runtime.block_on(conn.disconnect()).expect("disconnect");
    }

    /// The first column of the first row of `sql`, as text (`None` for NULL).
    pub fn text(&mut self, sql: &str) -> Option<String> {
        let conn = self.admin.as_mut().expect("the admin connection");
        let value: Option<Option<String>> =
            self.runtime.block_on(conn.query_first(sql)).unwrap_or_else(|err| panic!("{sql}: {err}"));
        value.flatten()
    }

    fn count(&mut self, sql: &str) -> i64 {
        self.text(sql).and_then(|text| text.parse().ok()).expect("a count")
    }

    /// The URL of this database, with `password` if given.
    pub fn url(&self, password: Option<&str>) -> String {
        let mut url = reqwest::Url::parse(&self.base).expect("SWITCHBOARD_TEST_MYSQL_URL is a URL");
        if password.is_some() {
            url.set_password(password).expect("a password");
        }
        url.set_path(&self.name);
        url.to_string()
    }

    /// A hub whose connection `shop` reaches this database, with `extra` manifest lines.
    fn hub(&self, extra: &str) -> Hub {
        let hub = Hub::new();
        hub.manifest(&format!("[connections.shop]\ntype = \"mysql\"\nurl = \"{}\"\n{extra}", self.url(None)));
        hub
    }

    /// Connections the hub has open on this database now, running `info_like` (`%` for any).
    fn sessions(&mut self, info_like: &str) -> i64 {
        let sql = format!(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = '{}' AND COALESCE(INFO, '') LIKE '{info_like}'",
            self.name
        );
        self.count(&sql)
    }

    /// Whether the server is MariaDB (whose JSON columns are text).
    pub fn is_mariadb(&mut self) -> bool {
        self.text("SELECT VERSION()").is_some_and(|version| version.contains("MariaDB"))
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let name = self.name.clone();
        if let Some(mut conn) = self.admin.take() {
            let _ = self.runtime.block_on(async move {
                let ids: Vec<u64> = conn
                    .query(format!("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '{name}'"))
                    .await
                    .unwrap_or_default();
                for id in ids {
                    let _ = conn.query_drop(format!("KILL {id}")).await;
                }
                conn.query_drop(format!("DROP DATABASE IF EXISTS {name}")).await?;
                conn.disconnect().await
            });
        }
    }
}

#[test]
fn every_call_works_on_mysql() {
    let Some(database) = Database::new() else { return };
    let hub = database.hub("");
    hub.script(
        "calls",
        r#"
        let db = sql::connection("shop");
        db.execute_batch(`CREATE TABLE people (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL UNIQUE, age INT);
                          CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT)`);
        let a = db.execute("INSERT INTO people (name, age) VALUES (?, ?)", ["ada", 36]);
        let first = db.last_insert_id();
        db.execute("INSERT INTO people (name, age) VALUES (:name, :age)", #{ name: "bob", age: 41 });
        let second = db.last_insert_id();
        db.execute("INSERT INTO people (name, age) VALUES (?2, ?1)", [7, "cy"]);
        db.transaction(|tx| { tx.execute("UPDATE people SET age = age + 1 WHERE name = ?", ["ada"]); });
        let caught = "";
        try {
            db.transaction(|tx| {
                tx.execute("DELETE FROM people");
                throw "changed my mind";
            });
        } catch (err) { caught = err; }
        let failed = "";
        try {
            db.transaction(|tx| {
                tx.execute("INSERT INTO notes (body) VALUES ('half')");
                tx.execute("INSERT INTO people (name) VALUES (?)", ["ada"]);
            });
        } catch (err) { failed = err; }
        let nested = "";
        try { db.transaction(|tx| tx.transaction(|again| 1)) } catch (err) { nested = err; }
        #{
            inserted: a,
            first: first,
            second: second,
            all: db.query("SELECT id, name, age FROM people ORDER BY id"),
            one: db.query_one("SELECT name FROM people WHERE age > :age AND name <> '?:x' ORDER BY age", #{ age: 38 }),
            none: db.query_one("SELECT name FROM people WHERE id = ?", [999]),
            updated: db.execute("UPDATE people SET age = 0"),
            unchanged: db.execute("UPDATE people SET age = 0"),
            notes: db.query_one("SELECT COUNT(*) AS n FROM notes").n,
            tcp: db.query_one("SELECT HOST LIKE '127.0.0.1:%' AS tcp FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()").tcp,
            caught: caught,
            failed: failed,
            nested: nested,
        }
        "#,
    );
    let out = hub.run("calls", "{}").json();
    let failed = out["failed"].as_str().expect("failed").to_string();
    assert!(
        failed.starts_with("sql.execute: Duplicate entry 'ada'")
            && failed.ends_with("(connection `shop`, MySQL error 1062, SQLSTATE 23000)"),
        "{failed}"
    );
    let mut out = out;
    out["failed"] = json!("checked");
    assert_eq!(
        out,
        json!({
            "inserted": 1, "first": 1, "second": 2,
            "all": [
                {"id": 1, "name": "ada", "age": 37},
                {"id": 2, "name": "bob", "age": 41},
                {"id": 3, "name": "cy", "age": 7}
            ],
            "one": {"name": "bob"}, "none": null,
            "updated": 3, "unchanged": 3, "notes": 0,
            // The connection stays on the TCP address of the URL (no switch to the Unix socket).
            "tcp": 1,
            "caught": "changed my mind",
            "failed": "checked",
            "nested": "sql.transaction: already inside a transaction"
        })
    );
}

#[test]
fn errors_carry_the_mysql_error_number_and_connection_but_never_the_password() {
    let Some(database) = Database::new() else { return };
    let password = format!("pw-{}-secret", std::process::id());
    let hub = Hub::new();
    hub.manifest(&format!(
        "[connections.shop]\ntype = \"mysql\"\nurl = \"{}\"\n\n\
         [connections.wrong]\ntype = \"mysql\"\nurl = \"{}\"\n\n\
         [connections.down]\ntype = \"mysql\"\nurl = \"mysql://app:{password}@127.0.0.1:1/nowhere\"\ntimeout = \"2s\"\n",
        database.url(None),
        database.url(Some(&password)),
    ));
    hub.script(
        "dup",
        r#"
        let db = sql::connection("shop");
        db.execute_batch("CREATE TABLE u (id INT PRIMARY KEY)");
        db.execute("INSERT INTO u VALUES (?)", [1]);
        let caught = "";
        try { db.execute("INSERT INTO u VALUES (?)", [1]) } catch (e) { caught = e }
        let syntax = "";
        try { db.query("SELEKT 1") } catch (e) { syntax = e }
        let count = "";
        try { db.query("SELECT ?", [1, 2]) } catch (e) { count = e }
        let batch = "";
        try { db.execute_batch("INSERT INTO u VALUES (2); INSERT INTO missing VALUES (3)") } catch (e) { batch = e }
        let wrong = "";
        try { sql::connection("wrong") } catch (e) { wrong = e }
        let down = "";
        try { sql::connection("down") } catch (e) { down = e }
        print(wrong);
        print(down);
        print(`the input holds ${input.password}`);
        #{ caught: caught, syntax: syntax, count: count, batch: batch, wrong: wrong, down: down, echoed: input.password }
        "#,
    );
    let output = hub.run("dup", &json!({ "password": password }).to_string());
    let out = output.json();
    let caught = out["caught"].as_str().expect("caught");
    assert!(caught.starts_with("sql.execute: Duplicate entry '1' for key"), "{caught}");
    assert!(caught.ends_with("(connection `shop`, MySQL error 1062, SQLSTATE 23000)"), "{caught}");
    let syntax = out["syntax"].as_str().expect("syntax");
    assert!(syntax.starts_with("sql.query: You have an error in your SQL syntax"), "{syntax}");
    assert!(syntax.ends_with("(connection `shop`, MySQL error 1064, SQLSTATE 42000)"), "{syntax}");
    let count = out["count"].as_str().expect("count");
    assert_eq!(count, "sql.query: the statement has 1 placeholders but 2 values were given (connection `shop`)");
    let batch = out["batch"].as_str().expect("batch");
    assert!(batch.starts_with("sql.execute_batch: Table ") && batch.contains("missing' doesn't exist"), "{batch}");
    assert!(batch.ends_with("(connection `shop`, MySQL error 1146, SQLSTATE 42S02)"), "{batch}");
    let wrong = out["wrong"].as_str().expect("wrong");
    assert!(wrong.starts_with("sql.connection: cannot connect to 127.0.0.1:3306/"), "{wrong}");
    assert!(
        wrong.contains("Access denied") && wrong.ends_with("(connection `wrong`, MySQL error 1045, SQLSTATE 28000)"),
        "{wrong}"
    );
    let down = out["down"].as_str().expect("down");
    assert!(down.starts_with("sql.connection: cannot connect to 127.0.0.1:1/nowhere"), "{down}");
    assert!(down.ends_with("(connection `down`)"), "{down}");
    assert_eq!(out["echoed"], json!("***"));
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
fn a_transaction_killed_by_the_deadline_leaves_nothing_and_its_query_is_gone() {
    let Some(mut database) = Database::new() else { return };
    // Served, so the hub's process (and any socket it still holds) outlives the run: the server
    // would notice a closed socket by itself, not one left open.
    let hub = database.hub(
        "\n[limits]\ntimeout = \"1s\"\n\n[[route]]\nmethod = \"POST\"\npath = \"/slow\"\nscript = \"slow\"\nauth = \"public\"\n",
    );
    database.batch(&format!("CREATE TABLE {}.kept (id INT) ENGINE=InnoDB", database.name));
    hub.script(
        "slow",
        r#"
        let db = sql::connection("shop");
        db.transaction(|tx| {
            tx.execute("INSERT INTO kept VALUES (1)");
            tx.query("SELECT SLEEP(60)");
        });
        "#,
    );
    let server = hub.serve();
    let reply = server.send(reqwest::Method::POST, "/slow", &[], None);
    assert!(reply.status >= 500 && reply.text.contains("timed out"), "{} {}", reply.status, reply.text);
    let gone = wait_until(Duration::from_secs(10), || database.sessions("%SLEEP%") == 0);
    assert!(gone, "the statement still runs on the server");
    let name = database.name.clone();
    assert_eq!(database.count(&format!("SELECT COUNT(*) FROM {name}.kept")), 0);
    assert_eq!(database.sessions("%"), 0, "the killed connection is still open");
}

#[test]
fn a_statement_waiting_for_a_lock_is_killed_at_the_deadline() {
    // MariaDB ends a SLEEP by itself within seconds once the client's socket closes, but a lock
    // wait runs on to innodb_lock_wait_timeout: only the KILL ends it at the deadline.
    let Some(mut database) = Database::new() else { return };
    let name = database.name.clone();
    database.batch(&format!(
        "CREATE TABLE {name}.locked (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO {name}.locked VALUES (1)"
    ));
    database.text("START TRANSACTION");
    database.text(&format!("SELECT id FROM {name}.locked WHERE id = 1 FOR UPDATE"));
    let hub = database.hub(
        "\n[limits]\ntimeout = \"1s\"\n\n[[route]]\nmethod = \"POST\"\npath = \"/wait\"\nscript = \"wait\"\nauth = \"public\"\n",
    );
    hub.script("wait", r#"sql::connection("shop").execute("UPDATE locked SET id = 2 WHERE id = 1")"#);
    let server = hub.serve();
    let reply = server.send(reqwest::Method::POST, "/wait", &[], None);
    assert!(reply.status >= 500 && reply.text.contains("timed out"), "{} {}", reply.status, reply.text);
    let gone = wait_until(Duration::from_secs(10), || database.sessions("%UPDATE locked%") == 0);
    database.text("ROLLBACK");
    assert!(gone, "the statement still waits on the server");
}

#[test]
fn a_killed_connection_is_replaced_by_a_new_one() {
    let Some(mut database) = Database::new() else { return };
    let hub = database.hub("\n[[route]]\nmethod = \"GET\"\npath = \"/id\"\nscript = \"id\"\nauth = \"public\"\n");
    hub.script("id", r#"sql::connection("shop").query_one("SELECT CONNECTION_ID() AS id").id"#);
    let server = hub.serve();
    let first = server.get("/id", &[]).json();
    assert_eq!(server.get("/id", &[]).json(), first, "the idle connection is reused");
    database.batch(&format!("KILL {first}"));
    assert!(wait_until(Duration::from_secs(10), || database.sessions("%") == 0), "the connection was not killed");
    let second = server.get("/id", &[]).json();
    assert!(second.is_i64() && second != first, "{first} then {second}");
}

#[test]
fn a_handle_whose_connection_broke_gets_a_new_one_outside_a_transaction() {
    let Some(database) = Database::new() else { return };
    let hub = database.hub("");
    hub.script(
        "broken",
        r#"
        let db = sql::connection("shop");
        let before = db.query_one("SELECT CONNECTION_ID() AS id").id;
        let caught = "";
        try { db.execute("KILL CONNECTION_ID()") } catch (e) { caught = e }
        let after = db.query_one("SELECT CONNECTION_ID() AS id").id;
        let in_tx = "";
        try {
            db.transaction(|tx| {
                tx.execute("KILL CONNECTION_ID()");
                tx.execute("SELECT 1");
            });
        } catch (e) { in_tx = e }
        #{ changed: before != after, caught: caught, in_tx: in_tx, last: db.query_one("SELECT 1 AS one").one }
        "#,
    );
    let out = hub.run("broken", "{}").json();
    assert_eq!(out["changed"], json!(true));
    let caught = out["caught"].as_str().expect("caught");
    assert!(
        caught.starts_with("sql.execute: Connection was killed") && caught.contains("MySQL error 1927"),
        "{caught}"
    );
    let in_tx = out["in_tx"].as_str().expect("in_tx");
    assert!(in_tx.contains("MySQL error 1927"), "{in_tx}");
    assert_eq!(out["last"], json!(1));
}

#[test]
fn a_session_left_in_a_transaction_never_goes_back_to_the_pool() {
    let Some(database) = Database::new() else { return };
    database.batch(&format!("CREATE TABLE {}.t (id INT) ENGINE=InnoDB", database.name));
    let hub = database.hub(
        "pool = 1\n\n[[route]]\nmethod = \"POST\"\npath = \"/open\"\nscript = \"open\"\nauth = \"public\"\n\n\
         [[route]]\nmethod = \"GET\"\npath = \"/count\"\nscript = \"count\"\nauth = \"public\"\n",
    );
    // The script begins a transaction of its own and ends without committing it.
    hub.script("open", r#"sql::connection("shop").execute_batch("BEGIN; INSERT INTO t VALUES (1)"); "left open""#);
    hub.script("count", r#"sql::connection("shop").query_one("SELECT COUNT(*) AS n FROM t").n"#);
    let server = hub.serve();
    let opened = server.send(reqwest::Method::POST, "/open", &[], None);
    assert_eq!((opened.status, opened.text.as_str()), (200, "left open"));
    assert_eq!(server.get("/count", &[]).json(), json!(0), "the next run saw the open transaction's row");
}

#[test]
fn a_full_pool_makes_the_next_session_wait_then_fail() {
    let Some(database) = Database::new() else { return };
    let hub = database.hub("pool = 1\ntimeout = \"300ms\"\n");
    hub.script(
        "two",
        r#"
        let first = sql::connection("shop");
        let caught = "";
        try { sql::connection("shop") } catch (e) { caught = e }
        #{ first: first.query_one("SELECT 1 AS one").one, caught: caught }
        "#,
    );
    let out = hub.run("two", "{}").json();
    assert_eq!(out["first"], json!(1));
    let caught = out["caught"].as_str().expect("an error");
    assert!(caught.starts_with("sql.connection: all 1 connections of the pool stayed in use for 300ms"), "{caught}");
}

#[test]
fn tls_modes_connect_as_the_server_allows() {
    let Some(mut database) = Database::new() else { return };
    let has_tls = database.text("SELECT @@have_ssl").as_deref() == Some("YES");
    let url = database.url(None);
    let hub = Hub::new();
    hub.manifest(&format!(
        "[connections.plain]\ntype = \"mysql\"\nurl = \"{url}\"\ntls = \"disable\"\n\n\
         [connections.preferred]\ntype = \"mysql\"\nurl = \"{url}\"\ntls = \"prefer\"\n\n\
         [connections.encrypted]\ntype = \"mysql\"\nurl = \"{url}\"\ntls = \"require\"\n"
    ));
    hub.script(
        "tls",
        r#"
        let cipher = "SHOW SESSION STATUS LIKE 'Ssl_cipher'";
        let encrypted = "";
        try { encrypted = sql::connection("encrypted").query_one(cipher).Value } catch (e) { encrypted = e }
        #{
            plain: sql::connection("plain").query_one(cipher).Value,
            preferred: sql::connection("preferred").query_one(cipher).Value,
            encrypted: encrypted,
        }
        "#,
    );
    let out = hub.run("tls", "{}").json();
    assert_eq!(out["plain"], json!(""));
    let encrypted = out["encrypted"].as_str().expect("a cipher or an error");
    if has_tls {
        assert_ne!(out["preferred"], json!(""), "prefer did not encrypt");
        assert!(!encrypted.is_empty() && !encrypted.starts_with("sql."), "{encrypted}");
    } else {
        assert_eq!(out["preferred"], json!(""), "prefer falls back to plain");
        assert!(encrypted.starts_with("sql.connection: cannot connect to 127.0.0.1:3306/"), "{encrypted}");
        assert!(encrypted.contains("the server does not offer TLS (tls = \"require\""), "{encrypted}");
    }
}

#[test]
fn read_only_connections_refuse_writes_with_the_server_error() {
    let Some(database) = Database::new() else { return };
    database.batch(&format!("CREATE TABLE {}.t (id INT) ENGINE=InnoDB", database.name));
    let hub = database.hub("read_only = true\n");
    hub.script("write", r#"sql::connection("shop").execute("INSERT INTO t VALUES (1)")"#);
    hub.run("write", "{}").fails_with(1, &["sql.execute:", "READ ONLY transaction", "MySQL error 1792"]);
    hub.script("read", r#"sql::connection("shop").query("SELECT COUNT(*) AS n FROM t")"#);
    assert_eq!(hub.run("read", "{}").json(), json!([{"n": 0}]));
}

#[test]
fn connecting_to_mysql_is_retried_and_the_circuit_opens_after_failures() {
    let hub = Hub::new();
    hub.manifest(
        "[connections.down]\ntype = \"mysql\"\nurl = \"mysql://app@127.0.0.1:1/db\"\n\
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
    let out = hub.run("down", "{}").json();
    let first = out[0].as_str().expect("first");
    assert!(first.contains("cannot connect to 127.0.0.1:1/db") && first.contains("(after 2 attempts)"), "{first}");
    let second = out[1].as_str().expect("second");
    assert!(second.contains("circuit open after 2 failed attempts to connect"), "{second}");
}

#[test]
fn check_reports_a_bad_mysql_url_at_its_place() {
    let hub = Hub::new();
    hub.manifest(
        "[connections.shop]\ntype = \"mysql\"\nurl = \"mysql://app:hunter2@db:notaport/shop\"\n\n\
         [connections.other]\ntype = \"mysql\"\nurl = \"postgres://db/shop\"\n\n\
         [connections.third]\ntype = \"mysql\"\nurl = \"mysql://db/shop?require_ssl=true\"\npool = 2\n\n\
         [connections.fourth]\ntype = \"mysql\"\nurl = \"mysql://app:hunter2@db/shop?pool_max=9\"\n\n\
         [connections.fifth]\ntype = \"mysql\"\nurl = \"mysql://app:hunter2@db/shop?nonsense=1\"\n",
    );
    let out = hub.cmd(&["check"]).output();
    out.fails_with(
        2,
        &[
            "switchboard.toml:3:",
            "connections.shop.url: not a MySQL URL",
            "switchboard.toml:7:",
            "expected a URL starting with mysql://",
            "takes no `require_ssl`; set the connection's `tls` instead",
            "takes no `pool_max`; set the connection's `pool` instead",
            "Unknown connection URL parameter `nonsense'",
        ],
    );
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    hub.manifest("[connections.shop]\ntype = \"mysql\"\nurl = \"mysql:///shop\"\n");
    hub.cmd(&["check"]).output().fails_with(2, &["connections.shop.url: not a MySQL URL (", "Invalid or incomplete"]);
    // A good URL passes without connecting (nothing listens on port 1).
    hub.manifest(
        "[connections.shop]\ntype = \"mysql\"\nurl = \"mysql://app:hunter2@127.0.0.1:1/shop?compression=fast\"\n\
         tls = \"verify-full\"\npool = 2\nread_only = true\ntimeout = \"1s\"\n",
    );
    let ok = hub.cmd(&["check"]).output();
    assert_eq!(ok.code, 0, "{}", ok.stderr);
}

/// MariaDB's JSON columns (text with a check) read back as the JSON text: each of `rows` is
/// checked to be text, then replaced by the value and type that text parses to.
pub fn json_as_text(out: &mut Value, rows: &[&str]) {
    for row in rows {
        let got = &mut out[*row];
        assert_eq!(got["type"], json!("string"), "{row} on MariaDB reads as JSON text: {got}");
        let parsed: Value = serde_json::from_str(got["value"].as_str().expect("text")).expect("JSON text");
        got["type"] = json!(if parsed.is_array() { "array" } else { "map" });
        got["value"] = parsed;
    }
}
