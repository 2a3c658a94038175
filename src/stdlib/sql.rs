//! `sql`: SQLite databases named in `[connections]` (rusqlite, bundled SQLite, WAL).

use super::{Capabilities, Result, def_with, error};
use crate::config::{ConfigError, Connection as ConnectionConfig, Manifest};
use crate::engine::context;
use crate::engine::{blocking, blocking_stoppable};
use parking_lot::{Mutex, MutexGuard};
use rhai::{Array, Blob, Dynamic, Engine, FnPtr, Map, Module, NativeCallContext};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OpenFlags, Statement};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Idle connections kept per database for the next run.
const MAX_IDLE: usize = 8;
/// How long a statement waits for another writer before failing (capped by the run's deadline).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite databases of one snapshot.
pub struct SqlCapability {
    databases: BTreeMap<String, Arc<Database>>,
}

impl SqlCapability {
    /// Reads the `type = "sqlite"` connections; paths are relative to the hub.
    pub fn new(hub: &Path, manifest: &Manifest) -> std::result::Result<Self, Vec<ConfigError>> {
        let databases = manifest
            .connections
            .iter()
            .filter_map(|(name, connection)| match connection {
                ConnectionConfig::Sqlite(sqlite) => {
                    let path = hub.join(sqlite.path.as_str());
                    let database = Database { path, read_only: sqlite.read_only, idle: Mutex::new(Vec::new()) };
                    Some((name.clone(), Arc::new(database)))
                }
                _ => None,
            })
            .collect();
        Ok(Self { databases })
    }
}

/// One database file and its idle connections.
struct Database {
    path: PathBuf,
    read_only: bool,
    idle: Mutex<Vec<Connection>>,
}

impl Database {
    fn idle(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.idle.lock()
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        if let Some(connection) = self.idle().pop() {
            return Ok(connection);
        }
        if !self.read_only
            && let Some(parent) = self.path.parent()
        {
            std::fs::create_dir_all(parent)
                .map_err(|err| rusqlite::Error::InvalidPath(PathBuf::from(format!("{}: {err}", parent.display()))))?;
        }
        let flags = if self.read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI
        } else {
            OpenFlags::default()
        };
        let connection = Connection::open_with_flags(&self.path, flags)?;
        if !self.read_only {
            connection.pragma_update(None, "journal_mode", "WAL")?;
        }
        connection.pragma_update(None, "foreign_keys", "ON")?;
        Ok(connection)
    }
}

/// A connection leased from its database for as long as a script holds the handle.
struct Lease {
    connection: Option<Connection>,
    database: Arc<Database>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else { return };
        // A connection left inside a transaction (the run died mid-way) must not be reused as is.
        if !connection.is_autocommit() && connection.execute_batch("ROLLBACK").is_err() {
            return;
        }
        let mut idle = self.database.idle();
        if idle.len() < MAX_IDLE {
            idle.push(connection);
        }
    }
}

/// A database handle as scripts see it: `sql::connection("name")`.
#[derive(Clone)]
pub struct Db {
    name: Arc<str>,
    lease: Arc<Mutex<Lease>>,
}

impl Db {
    fn with<T>(&self, function: &str, work: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let lease = self.lease.lock();
        let connection = lease.connection.as_ref().ok_or_else(|| error(function, "connection is closed"))?;
        let timeout = context::remaining().map_or(BUSY_TIMEOUT, |left| left.min(BUSY_TIMEOUT));
        connection.busy_timeout(timeout).map_err(|err| error(function, err))?;
        // Ctrl-C in the REPL interrupts the statement; SQLite then fails it as "interrupted".
        let interrupt = connection.get_interrupt_handle();
        blocking_stoppable(move || interrupt.interrupt(), || work(connection))
            .map_err(|err| error(function, format!("{err} (connection `{}`)", self.name)))
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

/// Opens the SQLite connection named in `[connections]`.
///
/// ```rhai
/// let db = sql::connection("tasks");
/// db.query("SELECT id, title FROM tasks WHERE done = ?", [false])
/// ```
pub fn connection(capabilities: &Capabilities, name: &str) -> Result<Db> {
    let database = capabilities.sql.databases.get(name).ok_or_else(|| {
        let known: Vec<&str> = capabilities.sql.databases.keys().map(String::as_str).collect();
        error("sql.connection", format!("no sqlite connection `{name}` (known: {})", list(&known)))
    })?;
    let connection = blocking(|| database.open())
        .map_err(|err| error("sql.connection", format!("cannot open {}: {err}", database.path.display())))?;
    let lease = Lease { connection: Some(connection), database: Arc::clone(database) };
    Ok(Db { name: name.into(), lease: Arc::new(Mutex::new(lease)) })
}

fn list(names: &[&str]) -> String {
    if names.is_empty() { "none".to_string() } else { names.join(", ") }
}

/// Runs a query and returns every row as a map of column name to value. `params` is an array
/// for `?` placeholders or a map for `:name` placeholders.
///
/// ```rhai
/// let db = sql::connection("tasks");
/// let open = db.query("SELECT * FROM tasks WHERE owner = :owner", #{ owner: "ada" });
/// open.len()
/// ```
pub fn query(db: &mut Db, sql: &str, params: Dynamic) -> Result<Array> {
    db.with("sql.query", |connection| {
        let mut statement = connection.prepare(sql)?;
        bind(&mut statement, &params)?;
        read_rows(statement, usize::MAX)
    })
}

/// Runs a query and returns its first row as a map, or `()` when there is none.
///
/// ```rhai
/// let db = sql::connection("tasks");
/// let task = db.query_one("SELECT * FROM tasks WHERE id = ?", [7]);
/// if task == () { fail(404, "no such task") }
/// ```
pub fn query_one(db: &mut Db, sql: &str, params: Dynamic) -> Result {
    let rows = db.with("sql.query_one", |connection| {
        let mut statement = connection.prepare(sql)?;
        bind(&mut statement, &params)?;
        read_rows(statement, 1)
    })?;
    Ok(rows.into_iter().next().unwrap_or(Dynamic::UNIT))
}

/// Runs one statement that changes data and returns the number of rows it changed.
///
/// ```rhai
/// let db = sql::connection("tasks");
/// db.execute("UPDATE tasks SET done = 1 WHERE id = ?", [7])    // 1
/// ```
pub fn execute(db: &mut Db, sql: &str, params: Dynamic) -> Result<i64> {
    db.with("sql.execute", |connection| {
        let mut statement = connection.prepare(sql)?;
        bind(&mut statement, &params)?;
        let changed = statement.raw_execute()?;
        Ok(i64::try_from(changed).unwrap_or(i64::MAX))
    })
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
    db.with("sql.execute_batch", |connection| connection.execute_batch(sql))
}

/// The rowid of the last row this handle inserted.
///
/// ```rhai
/// let db = sql::connection("tasks");
/// db.execute("INSERT INTO tasks (title) VALUES (?)", ["write docs"]);
/// db.last_insert_id()
/// ```
pub fn last_insert_id(db: &mut Db) -> Result<i64> {
    db.with("sql.last_insert_id", |connection| Ok(connection.last_insert_rowid()))
}

/// Calls `f(db)` inside a transaction: committed if it returns, rolled back if it throws
/// (the error is rethrown). Returns what `f` returns.
///
/// ```rhai
/// let db = sql::connection("tasks");
/// db.transaction(|tx| {
///     tx.execute("INSERT INTO tasks (title) VALUES (?)", ["a"]);
///     tx.execute("INSERT INTO tasks (title) VALUES (?)", ["b"]);
/// });
/// ```
pub fn transaction(context: NativeCallContext, db: &mut Db, f: FnPtr) -> Result {
    let nested = db.with("sql.transaction", |connection| Ok(!connection.is_autocommit()))?;
    if nested {
        return Err(error("sql.transaction", "already inside a transaction"));
    }
    db.with("sql.transaction", |connection| connection.execute_batch("BEGIN IMMEDIATE"))?;
    match f.call_within_context::<Dynamic>(&context, (db.clone(),)) {
        Ok(value) => {
            db.with("sql.transaction", |connection| connection.execute_batch("COMMIT"))?;
            Ok(value)
        }
        Err(err) => {
            db.with("sql.transaction", |connection| connection.execute_batch("ROLLBACK"))?;
            Err(err)
        }
    }
}

fn bind(statement: &mut Statement<'_>, params: &Dynamic) -> rusqlite::Result<()> {
    let params = params.flatten_clone();
    if params.is_unit() {
        return Ok(());
    }
    if params.is_array() {
        let values = params.cast::<Array>();
        let expected = statement.parameter_count();
        if values.len() != expected {
            return Err(rusqlite::Error::InvalidParameterCount(values.len(), expected));
        }
        for (index, value) in values.iter().enumerate() {
            statement.raw_bind_parameter(index + 1, to_sql(value)?)?;
        }
        return Ok(());
    }
    if params.is_map() {
        for (key, value) in params.cast::<Map>() {
            let name = if key.starts_with([':', '@', '$']) { key.to_string() } else { format!(":{key}") };
            let index = statement
                .parameter_index(&name)?
                .ok_or_else(|| rusqlite::Error::InvalidParameterName(format!("{name} is not in the statement")))?;
            statement.raw_bind_parameter(index, to_sql(&value)?)?;
        }
        return Ok(());
    }
    Err(rusqlite::Error::InvalidParameterName(format!(
        "parameters must be an array (for ?) or a map (for :name), not {}",
        params.type_name()
    )))
}

fn to_sql(value: &Dynamic) -> rusqlite::Result<Value> {
    let value = value.flatten_clone();
    Ok(if value.is_unit() {
        Value::Null
    } else if let Ok(b) = value.as_bool() {
        Value::Integer(i64::from(b))
    } else if let Ok(i) = value.as_int() {
        Value::Integer(i)
    } else if let Ok(f) = value.as_float() {
        Value::Real(f)
    } else if value.is_string() {
        Value::Text(value.into_string().unwrap_or_default())
    } else if value.is_blob() {
        Value::Blob(value.cast::<Blob>())
    } else {
        // Maps, arrays and times are stored as their JSON text.
        let json = crate::engine::convert::to_json(&value)
            .map_err(|err| rusqlite::Error::ToSqlConversionFailure(err.into()))?;
        match json {
            serde_json::Value::String(text) => Value::Text(text),
            other => Value::Text(other.to_string()),
        }
    })
}

fn read_rows(mut statement: Statement<'_>, limit: usize) -> rusqlite::Result<Array> {
    let names: Vec<String> = statement.column_names().into_iter().map(String::from).collect();
    let mut rows = statement.raw_query();
    let mut out = Array::new();
    while out.len() < limit {
        let Some(row) = rows.next()? else { break };
        let mut map = Map::new();
        for (index, name) in names.iter().enumerate() {
            let value = match row.get_ref(index)? {
                ValueRef::Null => Dynamic::UNIT,
                ValueRef::Integer(i) => i.into(),
                ValueRef::Real(f) => f.into(),
                ValueRef::Text(bytes) => String::from_utf8_lossy(bytes).into_owned().into(),
                ValueRef::Blob(bytes) => Dynamic::from_blob(bytes.to_vec()),
            };
            map.insert(name.as_str().into(), value);
        }
        out.push(Dynamic::from_map(map));
    }
    Ok(out)
}
