//! The SQLite backend (rusqlite, bundled SQLite, WAL): idle connections kept for the next run,
//! a busy timeout capped by the run's deadline, Ctrl-C interrupts a statement. A column's
//! declared type picks its script value as a server's column type would (BOOLEAN is a bool,
//! JSON a map or array, DATE/DATETIME/TIMESTAMP a time, DECIMAL/NUMERIC a decimal string).

use super::params::Params;
use super::session::{Code, Database, Rows, Session, SqlError};
use super::value::{Value, parse_time};
use crate::engine::{blocking, blocking_stoppable, context};
use parking_lot::Mutex;
use rusqlite::types::{Value as Stored, ValueRef};
use rusqlite::{Connection, OpenFlags, Statement};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Idle connections kept per database for the next run.
const MAX_IDLE: usize = 8;
/// How long a statement waits for another writer before failing (capped by the run's deadline).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// One database file and its idle connections.
pub struct Sqlite {
    path: PathBuf,
    read_only: bool,
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl Sqlite {
    pub fn new(path: PathBuf, read_only: bool) -> Self {
        Self { path, read_only, idle: Arc::new(Mutex::new(Vec::new())) }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        if let Some(connection) = self.idle.lock().pop() {
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

impl Database for Sqlite {
    fn session(&self) -> Result<Box<dyn Session>, SqlError> {
        let connection = blocking(|| self.open()).map_err(|err| {
            let mut err = sql_error(err);
            err.message = format!("cannot open {}: {}", self.path.display(), err.message);
            err
        })?;
        Ok(Box::new(Lease { connection: Some(connection), idle: Arc::clone(&self.idle) }))
    }
}

/// A connection leased from its database for as long as a script holds the handle.
struct Lease {
    connection: Option<Connection>,
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else { return };
        // A connection left inside a transaction (the run died mid-way) must not be reused as is.
        if !connection.is_autocommit() && connection.execute_batch("ROLLBACK").is_err() {
            return;
        }
        let mut idle = self.idle.lock();
        if idle.len() < MAX_IDLE {
            idle.push(connection);
        }
    }
}

impl Lease {
    /// Runs `work` on the connection with the busy timeout capped by the run's deadline; Ctrl-C
    /// in the REPL interrupts the statement (SQLite then fails it as "interrupted").
    fn with<T>(&self, work: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, SqlError> {
        let connection = self.connection.as_ref().ok_or_else(|| SqlError::statement("connection is closed"))?;
        let timeout = context::remaining().map_or(BUSY_TIMEOUT, |left| left.min(BUSY_TIMEOUT));
        connection.busy_timeout(timeout).map_err(sql_error)?;
        let interrupt = connection.get_interrupt_handle();
        blocking_stoppable(move || interrupt.interrupt(), || work(connection)).map_err(sql_error)
    }
}

impl Session for Lease {
    fn query(&mut self, sql: &str, params: Params, limit: usize) -> Result<Rows, SqlError> {
        self.with(|connection| {
            let mut statement = connection.prepare(sql)?;
            bind(&mut statement, params)?;
            read_rows(statement, limit)
        })
    }

    fn execute(&mut self, sql: &str, params: Params) -> Result<u64, SqlError> {
        self.with(|connection| {
            let mut statement = connection.prepare(sql)?;
            bind(&mut statement, params)?;
            Ok(u64::try_from(statement.raw_execute()?).unwrap_or(u64::MAX))
        })
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), SqlError> {
        self.with(|connection| connection.execute_batch(sql))
    }

    fn last_insert_id(&mut self) -> Result<i64, SqlError> {
        self.with(|connection| Ok(connection.last_insert_rowid()))
    }

    fn begin(&mut self) -> Result<(), SqlError> {
        // IMMEDIATE takes the write lock now, so a transaction never fails half-way for it.
        self.with(|connection| connection.execute_batch("BEGIN IMMEDIATE"))
    }

    fn commit(&mut self) -> Result<(), SqlError> {
        self.with(|connection| connection.execute_batch("COMMIT"))
    }

    fn rollback(&mut self) -> Result<(), SqlError> {
        self.with(|connection| connection.execute_batch("ROLLBACK"))
    }

    fn in_transaction(&self) -> bool {
        self.connection.as_ref().is_some_and(|connection| !connection.is_autocommit())
    }
}

/// The error's message and SQLite's extended result code.
fn sql_error(err: rusqlite::Error) -> SqlError {
    let code = match &err {
        rusqlite::Error::SqliteFailure(failure, _) => Some(Code::Sqlite(failure.extended_code)),
        _ => None,
    };
    SqlError { code, ..SqlError::statement(err) }
}

fn bind(statement: &mut Statement<'_>, params: Params) -> rusqlite::Result<()> {
    match params {
        Params::None => Ok(()),
        Params::Positional(values) => {
            let expected = statement.parameter_count();
            if values.len() != expected {
                return Err(rusqlite::Error::InvalidParameterCount(values.len(), expected));
            }
            for (index, value) in values.into_iter().enumerate() {
                statement.raw_bind_parameter(index + 1, to_stored(value))?;
            }
            Ok(())
        }
        Params::Named(values) => {
            for (key, value) in values {
                let name = if key.starts_with([':', '@', '$']) { key } else { format!(":{key}") };
                let index = statement
                    .parameter_index(&name)?
                    .ok_or_else(|| rusqlite::Error::InvalidParameterName(format!("{name} is not in the statement")))?;
                statement.raw_bind_parameter(index, to_stored(value))?;
            }
            Ok(())
        }
    }
}

/// What SQLite stores for a value: a bool is 0 or 1, a time RFC 3339 text, a decimal its
/// exact text, a map or array its JSON text.
fn to_stored(value: Value) -> Stored {
    match value {
        Value::Null => Stored::Null,
        Value::Bool(b) => Stored::Integer(i64::from(b)),
        Value::Int(i) => Stored::Integer(i),
        Value::Float(f) => Stored::Real(f),
        Value::Bytes(bytes) => Stored::Blob(bytes),
        Value::Text(text) | Value::Decimal(text) => Stored::Text(text),
        other => Stored::Text(other.to_text().unwrap_or_default()),
    }
}

/// What a column's declared type makes of its values (SQLite keeps any value in any column).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Declared {
    Plain,
    Bool,
    Json,
    Time,
    Decimal,
}

fn declared(decl: Option<&str>) -> Declared {
    let Some(decl) = decl else { return Declared::Plain };
    // Compared in place, without an upper-case copy: this runs for every column of every query.
    let starts = |prefix: &str| {
        decl.as_bytes().get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    if starts("BOOL") {
        Declared::Bool
    } else if starts("JSON") {
        Declared::Json
    } else if starts("DATE") || starts("TIMESTAMP") {
        Declared::Time
    } else if starts("DECIMAL") || starts("NUMERIC") {
        Declared::Decimal
    } else {
        Declared::Plain
    }
}

fn read_rows(statement: Statement<'_>, limit: usize) -> rusqlite::Result<Rows> {
    let columns: Vec<String> = statement.column_names().into_iter().map(String::from).collect();
    let kinds: Vec<Declared> = statement.columns().iter().map(|column| declared(column.decl_type())).collect();
    let mut statement = statement;
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while out.len() < limit {
        let Some(row) = rows.next()? else { break };
        let mut values = Vec::with_capacity(kinds.len());
        for (index, kind) in kinds.iter().enumerate() {
            values.push(read(row.get_ref(index)?, *kind));
        }
        out.push(values);
    }
    Ok(Rows { columns, rows: out })
}

/// A stored value as its declared type reads it; a value that does not fit the declared type
/// (text in a BOOLEAN column) is read as it is stored.
fn read(stored: ValueRef<'_>, kind: Declared) -> Value {
    match (stored, kind) {
        (ValueRef::Null, _) => Value::Null,
        (ValueRef::Integer(i), Declared::Bool) if i == 0 || i == 1 => Value::Bool(i == 1),
        (ValueRef::Integer(i), Declared::Decimal) => Value::Decimal(i.to_string()),
        (ValueRef::Real(f), Declared::Decimal) => Value::Decimal(f.to_string()),
        (ValueRef::Text(bytes), Declared::Json) => match serde_json::from_slice(bytes) {
            Ok(json) => Value::Json(json),
            Err(_) => Value::Text(String::from_utf8_lossy(bytes).into_owned()),
        },
        (ValueRef::Text(bytes), Declared::Time) => {
            let text = String::from_utf8_lossy(bytes);
            parse_time(&text).map_or_else(|| Value::Text(text.into_owned()), Value::Time)
        }
        (ValueRef::Integer(i), _) => Value::Int(i),
        (ValueRef::Real(f), _) => Value::Float(f),
        (ValueRef::Text(bytes), _) => Value::Text(String::from_utf8_lossy(bytes).into_owned()),
        (ValueRef::Blob(bytes), _) => Value::Bytes(bytes.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_pick_the_value() {
        assert!(declared(Some("boolean")) == Declared::Bool);
        assert!(declared(Some("JSONB")) == Declared::Json);
        assert!(declared(Some("DATETIME")) == Declared::Time && declared(Some("date")) == Declared::Time);
        assert!(declared(Some("DECIMAL(10,2)")) == Declared::Decimal);
        assert!(declared(Some("TEXT")) == Declared::Plain && declared(None) == Declared::Plain);
        assert_eq!(read(ValueRef::Integer(1), Declared::Bool), Value::Bool(true));
        assert_eq!(read(ValueRef::Integer(2), Declared::Bool), Value::Int(2));
        assert_eq!(read(ValueRef::Text(b"[1]"), Declared::Json), Value::Json(serde_json::json!([1])));
        assert_eq!(read(ValueRef::Text(b"not json"), Declared::Json), Value::Text("not json".into()));
        assert_eq!(read(ValueRef::Text(b"soon"), Declared::Time), Value::Text("soon".into()));
    }
}
