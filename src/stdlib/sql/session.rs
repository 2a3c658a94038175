//! What every SQL backend provides: a [`Database`] hands out [`Session`]s (one connection each,
//! pooled or not), and a session runs statements with bound [`Params`], returning [`Value`]s.
//! `Db` (in `mod.rs`) is the only caller; it adds the script API, error text and transactions.

use super::params::{Params, ParamsError};
use super::value::Value;
use std::fmt;

/// The rows of a query: column names, and each row's values in column order.
#[derive(Debug, Default)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// A database's own code for an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Code {
    /// PostgreSQL (and the SQL standard): five characters, `23505` for a unique violation.
    Sqlstate(String),
    /// SQLite's extended result code, `2067` for a unique violation.
    Sqlite(i32),
    /// MySQL's (and MariaDB's) error number, `1062` for a duplicate key, with the SQLSTATE
    /// the server sends beside it (`HY000` when it has none more precise).
    Mysql { number: u16, sqlstate: String },
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Code::Sqlstate(code) => write!(f, "SQLSTATE {code}"),
            Code::Sqlite(code) => write!(f, "SQLite code {code}"),
            Code::Mysql { number, sqlstate } => write!(f, "MySQL error {number}, SQLSTATE {sqlstate}"),
        }
    }
}

/// How a failed call ended, which decides what `Db` does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The database refused or failed the statement (it may have run in part).
    Statement,
    /// No session could be had (cannot connect, the pool stayed full): the statement did not
    /// run, so retrying it is safe.
    NotRun,
    /// The connection's circuit is open: nothing was tried, and nothing is retried.
    Refused,
    /// The run's deadline passed; the statement was cancelled and its session dropped.
    Deadline,
    /// The run was cancelled (Ctrl-C in the REPL).
    Interrupted,
}

/// A failed database call: the database's message (never the URL's password) and its code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SqlError {
    pub message: String,
    pub code: Option<Code>,
    pub failure: Failure,
}

impl SqlError {
    /// A failure of the statement without a database code (a value that does not convert).
    pub fn statement(message: impl fmt::Display) -> Self {
        Self { message: message.to_string(), code: None, failure: Failure::Statement }
    }

    /// A failure to get a session: nothing ran.
    pub fn not_run(message: impl fmt::Display) -> Self {
        Self { message: message.to_string(), code: None, failure: Failure::NotRun }
    }

    pub fn deadline() -> Self {
        Self { message: "the run's deadline passed".into(), code: None, failure: Failure::Deadline }
    }

    pub fn interrupted() -> Self {
        Self { message: "interrupted".into(), code: None, failure: Failure::Interrupted }
    }
}

impl From<ParamsError> for SqlError {
    fn from(err: ParamsError) -> Self {
        SqlError::statement(err)
    }
}

/// One connection to a database, held by one script handle. Dropping it gives the connection
/// back to its pool, unless it is broken or still inside a transaction.
pub trait Session: Send {
    /// Runs a query and returns at most `limit` rows.
    fn query(&mut self, sql: &str, params: Params, limit: usize) -> Result<Rows, SqlError>;
    /// Runs one statement and returns the number of rows it changed.
    fn execute(&mut self, sql: &str, params: Params) -> Result<u64, SqlError>;
    /// Runs several statements separated by `;`, without parameters.
    fn execute_batch(&mut self, sql: &str) -> Result<(), SqlError>;
    /// The id of the last row this session inserted.
    fn last_insert_id(&mut self) -> Result<i64, SqlError>;
    fn begin(&mut self) -> Result<(), SqlError>;
    fn commit(&mut self) -> Result<(), SqlError>;
    /// Rolls back; a session that cannot (its connection is gone) is dropped instead, which
    /// ends the transaction on the server.
    fn rollback(&mut self) -> Result<(), SqlError>;
    fn in_transaction(&self) -> bool;
}

/// A database named in `[connections]`: where sessions come from.
pub trait Database: Send + Sync {
    /// A session: an idle pooled connection, or a new one.
    fn session(&self) -> Result<Box<dyn Session>, SqlError>;
}
