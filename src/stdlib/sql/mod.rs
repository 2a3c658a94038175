//! `sql`: the databases named in `[connections]`: SQLite files (`sqlite.rs`), PostgreSQL
//! servers (`postgres.rs`) and MySQL/MariaDB servers (`mysql.rs`), behind one script API (`Db`),
//! one type mapping (`value.rs`) and one way of binding parameters (`params.rs`); each backend is
//! a [`Database`] of [`Session`]s.

mod connect;
mod mysql;
mod mysql_conn;
mod mysql_types;
mod numeric;
mod params;
mod pool;
mod postgres;
mod postgres_conn;
mod postgres_tls;
mod postgres_types;
mod session;
mod sqlite;
mod value;

use super::{Capabilities, Result, def_with, error};
use crate::config::{ConfigError, Connection as ConnectionConfig, Manifest};
use crate::engine::context;
use crate::host::Host;
use params::Params;
use parking_lot::Mutex;
use rhai::{Array, Dynamic, Engine, FnPtr, Map, Module, NativeCallContext};
use session::{Database, Failure, Rows, Session, SqlError};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The SQL databases of one snapshot.
pub struct SqlCapability {
    databases: BTreeMap<String, Arc<dyn Database>>,
}

impl SqlCapability {
    /// Reads the SQL connections (SQLite paths are relative to the hub); a server's URL is
    /// checked here, without connecting.
    pub fn new(
        hub: &Path,
        manifest: &Manifest,
        file: &Path,
        host: &Host,
    ) -> std::result::Result<Self, Vec<ConfigError>> {
        let mut databases: BTreeMap<String, Arc<dyn Database>> = BTreeMap::new();
        let mut errors = Vec::new();
        for (name, connection) in &manifest.connections {
            match connection {
                ConnectionConfig::Sqlite(sqlite) => {
                    let path = hub.join(sqlite.path.as_str());
                    databases.insert(name.clone(), Arc::new(sqlite::Sqlite::new(path, sqlite.read_only)));
                }
                ConnectionConfig::Postgres(server) => match postgres::Postgres::new(name, server, host) {
                    Ok(database) => {
                        databases.insert(name.clone(), Arc::new(database));
                    }
                    Err((key, message)) => {
                        errors.push(ConfigError::key(file, format!("connections.{name}.{key}"), message));
                    }
                },
                ConnectionConfig::Mysql(server) => match mysql::Mysql::new(name, server, host) {
                    Ok(database) => {
                        databases.insert(name.clone(), Arc::new(database));
                    }
                    Err((key, message)) => {
                        errors.push(ConfigError::key(file, format!("connections.{name}.{key}"), message));
                    }
                },
                _ => {}
            }
        }
        if errors.is_empty() { Ok(Self { databases }) } else { Err(errors) }
    }
}

/// A database handle as scripts see it: `sql::connection("name")`. Its session (connection)
/// is held until the last copy of the handle is dropped.
#[derive(Clone)]
pub struct Db {
    name: Arc<str>,
    session: Arc<Mutex<Box<dyn Session>>>,
}

impl Db {
    /// Runs `work` on the session; a failure becomes a catchable error naming the function,
    /// the connection and the database's code, or ends the run at its deadline.
    fn with<T>(
        &self,
        function: &str,
        work: impl FnOnce(&mut dyn Session) -> std::result::Result<T, SqlError>,
    ) -> Result<T> {
        let mut session = self.session.lock();
        work(session.as_mut()).map_err(|err| script_error(&self.name, function, err))
    }
}

/// A failed call as a catchable error naming the function, the connection and the database's
/// code; past the run's deadline, the error that ends the run.
fn script_error(name: &str, function: &str, err: SqlError) -> Box<rhai::EvalAltResult> {
    if err.failure == Failure::Deadline {
        return context::deadline_error();
    }
    match &err.code {
        Some(code) => error(function, format!("{} (connection `{name}`, {code})", err.message)),
        None => error(function, format!("{} (connection `{name}`)", err.message)),
    }
}

/// Builds the `sql` module.
pub fn module(capabilities: &Arc<Capabilities>) -> Module {
    let mut module = Module::new();
    def_with!(&mut module, capabilities => caps, {
        "connection" => move |name: &str| connection(&caps, name),
    });
    module
}

/// Registers the `Db` type and its methods.
pub fn register_type(engine: &mut Engine) {
    engine
        .register_type_with_name::<Db>("Db")
        .register_fn("query", |db: &mut Db, sql: &str| query(db, sql, Dynamic::UNIT))
        .register_fn("query", query)
        .register_fn("query_one", |db: &mut Db, sql: &str| query_one(db, sql, Dynamic::UNIT))
        .register_fn("query_one", query_one)
        .register_fn("execute", |db: &mut Db, sql: &str| execute(db, sql, Dynamic::UNIT))
        .register_fn("execute", execute)
        .register_fn("execute_batch", execute_batch)
        .register_fn("last_insert_id", last_insert_id)
        .register_fn("transaction", transaction)
        .register_fn("to_string", |db: &mut Db| format!("Db({})", db.name))
        .register_fn("to_debug", |db: &mut Db| format!("Db({})", db.name));
}

/// Opens the SQL connection named in `[connections]` (SQLite, PostgreSQL, MySQL): a connection
/// from its pool, held while the handle lives.
///
/// ```rhai
/// let db = sql::connection("tasks");
/// db.query("SELECT id, title FROM tasks WHERE done = ?", [false])
/// ```
pub fn connection(capabilities: &Capabilities, name: &str) -> Result<Db> {
    let databases = &capabilities.sql.databases;
    let database = databases.get(name).ok_or_else(|| {
        let known: Vec<&str> = databases.keys().map(String::as_str).collect();
        error("sql.connection", format!("no SQL connection `{name}` (known: {})", list(&known)))
    })?;
    let session = database.session().map_err(|err| script_error(name, "sql.connection", err))?;
    Ok(Db { name: name.into(), session: Arc::new(Mutex::new(session)) })
}

fn list(names: &[&str]) -> String {
    if names.is_empty() { "none".to_string() } else { names.join(", ") }
}

fn rows_to_maps(rows: Rows) -> Array {
    let Rows { columns, rows } = rows;
    let columns: Vec<rhai::ImmutableString> = columns.into_iter().map(Into::into).collect();
    rows.into_iter()
        .map(|values| {
            let map: Map =
                columns.iter().zip(values).map(|(name, value)| (name.as_str().into(), value.into_dynamic())).collect();
            Dynamic::from_map(map)
        })
        .collect()
}

fn params(params: &Dynamic) -> std::result::Result<Params, SqlError> {
    Params::from_dynamic(params).map_err(SqlError::from)
}

/// Runs a query and returns every row as a map of column name to value. `params` is an array
/// for `?` placeholders or a map for `:name` placeholders (PostgreSQL also takes `$1`).
///
/// ```rhai
/// let db = sql::connection("tasks");
/// let open = db.query("SELECT * FROM tasks WHERE owner = :owner", #{ owner: "ada" });
/// open.len()
/// ```
pub fn query(db: &mut Db, sql: &str, params: Dynamic) -> Result<Array> {
    let rows = db.with("sql.query", |session| session.query(sql, self::params(&params)?, usize::MAX))?;
    Ok(rows_to_maps(rows))
}

/// Runs a query and returns its first row as a map, or `()` when there is none.
///
/// ```rhai
/// let db = sql::connection("tasks");
/// let task = db.query_one("SELECT * FROM tasks WHERE id = ?", [7]);
/// if task == () { fail(404, "no such task") }
/// ```
pub fn query_one(db: &mut Db, sql: &str, params: Dynamic) -> Result {
    let rows = db.with("sql.query_one", |session| session.query(sql, self::params(&params)?, 1))?;
    Ok(rows_to_maps(rows).into_iter().next().unwrap_or(Dynamic::UNIT))
}

/// Runs one statement that changes data and returns the number of rows it changed.
///
/// ```rhai
/// let db = sql::connection("tasks");
/// db.execute("UPDATE tasks SET done = true WHERE id = ?", [7])    // 1
/// ```
pub fn execute(db: &mut Db, sql: &str, params: Dynamic) -> Result<i64> {
    let changed = db.with("sql.execute", |session| session.execute(sql, self::params(&params)?))?;
    Ok(i64::try_from(changed).unwrap_or(i64::MAX))
}

/// Runs several statements separated by `;` (schema set-up); takes no parameters.
///
/// ```rhai
/// sql::connection("tasks").execute_batch(`
///     CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
///     CREATE INDEX IF NOT EXISTS tasks_title ON tasks (title);
/// `);
/// ```
pub fn execute_batch(db: &mut Db, sql: &str) -> Result<()> {
    db.with("sql.execute_batch", |session| session.execute_batch(sql))
}

/// The id of the last row this handle inserted: SQLite's rowid, PostgreSQL's `lastval()` (the
/// last value a sequence gave this session; `INSERT ... RETURNING id` is the usual way there),
/// MySQL's `AUTO_INCREMENT` id of the handle's last `INSERT`.
///
/// ```rhai
/// let db = sql::connection("tasks");
/// db.execute("INSERT INTO tasks (title) VALUES (?)", ["write docs"]);
/// db.last_insert_id()
/// ```
pub fn last_insert_id(db: &mut Db) -> Result<i64> {
    db.with("sql.last_insert_id", |session| session.last_insert_id())
}

/// Calls `f(db)` inside a transaction: committed if it returns, rolled back if it throws or
/// the run's deadline ends it (the error is rethrown). Returns what `f` returns.
///
/// ```rhai
/// let db = sql::connection("tasks");
/// db.transaction(|tx| {
///     tx.execute("INSERT INTO tasks (title) VALUES (?)", ["a"]);
///     tx.execute("INSERT INTO tasks (title) VALUES (?)", ["b"]);
/// });
/// ```
pub fn transaction(context: NativeCallContext, db: &mut Db, f: FnPtr) -> Result {
    let nested = db.with("sql.transaction", |session| Ok(session.in_transaction()))?;
    if nested {
        return Err(error("sql.transaction", "already inside a transaction"));
    }
    db.with("sql.transaction", |session| session.begin())?;
    match f.call_within_context::<Dynamic>(&context, (db.clone(),)) {
        Ok(value) => {
            db.with("sql.transaction", |session| session.commit())?;
            Ok(value)
        }
        Err(err) => {
            // The closure's error is the one worth reporting; a rollback that fails has dropped
            // its session, which ends the transaction on the server.
            let _ = db.with("sql.transaction", |session| session.rollback());
            Err(err)
        }
    }
}
