//! The PostgreSQL backend (tokio-postgres, rustls): a pool of at most `pool` connections,
//! opened on first use and replaced when broken. Scripts are synchronous, so each call drives
//! its future on the hub's runtime (`engine::wait_cancellable`), bounded by the run's deadline;
//! at the deadline the statement is cancelled on the server and its connection dropped, which
//! also ends any transaction it was in. Connecting is retried (`retry`) and guarded by a
//! circuit breaker (`circuit`) as `connect.rs` does for every server.

use super::connect::{Target, retrying, within_deadline};
use super::params::{self, POSTGRES, Params};
use super::pool::Pool;
use super::postgres_conn::{Conn, open};
use super::postgres_tls;
use super::postgres_types::{Bind, Read};
use super::session::{Code, Database, Failure, Rows, Session, SqlError};
use crate::config::{Policy, SqlServerConnection, SqlTls};
use crate::engine::context;
use crate::engine::wait;
use crate::host::Host;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::OwnedSemaphorePermit;
use tokio_postgres::Config;
use tokio_postgres::config::{Host as PgHost, SslMode};
use tokio_postgres::types::ToSql;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Time allowed to connect (and to wait for a pooled connection) when `timeout` does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for the cancel request of a statement cut short by the deadline.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(2);

/// A `type = "postgres"` connection of one snapshot.
pub struct Postgres(Arc<Server>);

/// What every session of one connection shares.
pub(super) struct Server {
    pub(super) name: String,
    pub(super) config: Config,
    pub(super) tls: MakeRustlsConnect,
    pub(super) tls_mode: SqlTls,
    /// `host:port/database`, for messages (the URL may hold a password).
    pub(super) address: String,
    pub(super) connect_timeout: Duration,
    retry: Policy,
    pub(super) pool: Pool<Conn>,
    pub(super) runtime: Handle,
    pub(super) host: Host,
}

impl Server {
    fn target(&self) -> Target<'_> {
        Target { name: &self.name, address: &self.address, metrics: &self.host.metrics }
    }
}

impl Postgres {
    /// The connection of `server`, its URL checked without connecting; or the key at fault
    /// and why.
    pub fn new(name: &str, server: &SqlServerConnection, host: &Host) -> Result<Self, (&'static str, String)> {
        let url = server.url.as_str();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(("url", "expected a URL starting with postgres:// or postgresql://".into()));
        }
        // Parsed by the driver's own rules; its errors name the part at fault, never the password.
        let mut config = Config::from_str(url).map_err(|err| ("url", format!("not a PostgreSQL URL ({err})")))?;
        if url.split_once('?').is_some_and(|(_, query)| query.split('&').any(|pair| pair.starts_with("sslmode="))) {
            return Err(("url", "takes no `sslmode`; set the connection's `tls` instead".into()));
        }
        let Some(first) = config.get_hosts().first() else {
            return Err(("url", "names no host".into()));
        };
        let host_name = match first {
            PgHost::Tcp(host) => host.clone(),
            PgHost::Unix(path) => path.display().to_string(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let database = config.get_dbname().or(config.get_user()).unwrap_or_default().to_string();
        let address = format!("{host_name}:{port}/{database}");

        let connect_timeout = server.timeout.map_or(CONNECT_TIMEOUT, |timeout| timeout.0);
        config.ssl_mode(match server.tls {
            SqlTls::Disable => SslMode::Disable,
            SqlTls::Prefer => SslMode::Prefer,
            SqlTls::Require | SqlTls::VerifyFull => SslMode::Require,
        });
        config.connect_timeout(connect_timeout);
        if config.get_application_name().is_none() {
            config.application_name("switchboard");
        }
        if server.read_only {
            // A session setting the server enforces: every transaction of the session is read-only.
            let options = config.get_options().map(|options| format!("{options} ")).unwrap_or_default();
            config.options(format!("{options}-c default_transaction_read_only=on"));
        }
        let tls = postgres_tls::connector(server.tls).map_err(|err| ("tls", format!("cannot set up TLS ({err})")))?;
        let pool = Pool::new(server.pool, server.circuit);
        Ok(Self(Arc::new(Server {
            name: name.to_string(),
            config,
            tls,
            tls_mode: server.tls,
            address,
            connect_timeout,
            retry: server.retry.unwrap_or(Policy::ONCE),
            pool,
            runtime: host.runtime.clone(),
            host: host.clone(),
        })))
    }
}

impl Database for Postgres {
    fn session(&self) -> Result<Box<dyn Session>, SqlError> {
        let server = &self.0;
        let (permit, conn) = retrying(&server.name, &server.retry, &server.host.metrics, || {
            run(&server.runtime, server.pool.acquire(server.connect_timeout, server.target(), open(server)))
        })?;
        let session = PgSession {
            server: Arc::clone(server),
            conn: Some(conn),
            permit: Some(permit),
            in_transaction: false,
            unsure: false,
        };
        Ok(Box::new(session))
    }
}

/// [`within_deadline`] for work that can fail on its own.
fn run<T>(runtime: &Handle, future: impl Future<Output = Result<T, SqlError>>) -> Result<T, SqlError> {
    within_deadline(runtime, future).and_then(|result| result)
}

/// One pooled connection held by a script handle.
struct PgSession {
    server: Arc<Server>,
    conn: Option<Conn>,
    permit: Option<OwnedSemaphorePermit>,
    in_transaction: bool,
    /// The script's own SQL may have begun a transaction or changed the session (`BEGIN`,
    /// `SET`), so the connection is not given to another run.
    unsure: bool,
}

impl Drop for PgSession {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && !self.in_transaction
            && !self.unsure
        {
            self.server.pool.give_back(conn);
        }
        // The permit goes last, so a run waiting for it finds the connection idle.
        drop(self.permit.take());
    }
}

impl PgSession {
    /// Runs `work` on the connection, bounded by the run's deadline. At the deadline (or on
    /// Ctrl-C) the statement is cancelled on the server and the connection dropped; a
    /// connection that broke is dropped too.
    fn call<T, F>(&mut self, work: impl FnOnce(Conn) -> F) -> Result<T, SqlError>
    where
        F: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        if context::past_deadline() {
            return Err(SqlError::deadline());
        }
        if self.conn.is_none() && !self.in_transaction && !self.unsure {
            // The connection broke or was cancelled between statements that stand alone: a new
            // one in its place (the session keeps its place in the pool) loses nothing.
            let server = &self.server;
            self.conn = Some(run(&server.runtime, server.pool.open(server.target(), open(server)))?);
        }
        let conn = self.conn.as_ref().ok_or_else(|| {
            SqlError::statement(if self.in_transaction {
                "the connection was lost inside a transaction, which the server rolled back"
            } else {
                "the connection was lost after a statement that changed its session (BEGIN, SET ...)"
            })
        })?;
        let future = work(conn.clone());
        let outcome = run(&self.server.runtime, async move { future.await.map_err(db_error) });
        match outcome {
            Err(err) if matches!(err.failure, Failure::Deadline | Failure::Interrupted) => {
                self.cancel();
                Err(err)
            }
            Err(err) if broken(&err) || self.conn.as_ref().is_none_or(|conn| conn.client.is_closed()) => {
                self.conn = None;
                Err(err)
            }
            other => other,
        }
    }

    /// Cancels the statement in flight on the server and drops the connection.
    fn cancel(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        let token = conn.client.cancel_token();
        let tls = self.server.tls.clone();
        // Waited for (briefly), so the statement stops even when the process is about to end.
        let _ =
            wait(
                &self.server.runtime,
                async move { tokio::time::timeout(CANCEL_TIMEOUT, token.cancel_query(tls)).await },
            );
    }

    /// Notes SQL text that may leave the session different from a fresh one: a statement
    /// (of those `;` separates, roughly) that begins a transaction or changes a setting.
    fn note(&mut self, sql: &str) {
        const CHANGES: [&str; 7] = ["begin", "start", "set", "prepare", "listen", "declare", "savepoint"];
        let changes = sql.split(';').any(|statement| {
            let word = statement.trim_start().split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or_default();
            CHANGES.iter().any(|change| word.eq_ignore_ascii_case(change))
        });
        self.unsure |= changes;
    }
}

/// Whether an error means the connection is gone (the server ended the session, or the socket
/// failed), which the client may notice only after the error came back.
fn broken(err: &SqlError) -> bool {
    match &err.code {
        // Class 08 (connection exception) and 57P01-57P03 (the server is shutting the session down).
        Some(Code::Sqlstate(code)) => code.starts_with("08") || code.starts_with("57P"),
        _ => err.message.starts_with("connection closed") || err.message.starts_with("error communicating"),
    }
}

/// The statement's values as the driver takes them.
fn refs(binds: &[Bind]) -> Vec<&(dyn ToSql + Sync)> {
    binds.iter().map(|bind| bind as &(dyn ToSql + Sync)).collect()
}

fn binds(sql: &str, params: Params) -> Result<(String, Vec<Bind>), SqlError> {
    let (text, values) = params::rewrite(POSTGRES, sql, params)?;
    Ok((text.into_owned(), values.into_iter().map(Bind).collect()))
}

impl Session for PgSession {
    fn query(&mut self, sql: &str, params: Params, limit: usize) -> Result<Rows, SqlError> {
        let (text, binds) = binds(sql, params)?;
        self.note(&text);
        let (columns, rows) = self.call(|conn| async move {
            let (statement, rows) = conn.query(&text, &refs(&binds), limit).await?;
            let columns: Vec<String> = statement.columns().iter().map(|column| column.name().to_string()).collect();
            Ok((columns, rows))
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut values = Vec::with_capacity(columns.len());
            for (index, name) in columns.iter().enumerate() {
                let Read(value) = row.try_get(index).map_err(|err| {
                    let cause = std::error::Error::source(&err).map_or_else(|| err.to_string(), ToString::to_string);
                    SqlError::statement(format!("column `{name}`: {cause}"))
                })?;
                values.push(value);
            }
            out.push(values);
        }
        Ok(Rows { columns, rows: out })
    }

    fn execute(&mut self, sql: &str, params: Params) -> Result<u64, SqlError> {
        let (text, binds) = binds(sql, params)?;
        self.note(&text);
        self.call(|conn| async move { conn.execute(&text, &refs(&binds)).await })
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), SqlError> {
        self.note(sql);
        let sql = sql.to_string();
        self.call(|conn| async move { conn.client.batch_execute(&sql).await })
    }

    fn last_insert_id(&mut self) -> Result<i64, SqlError> {
        self.call(|conn| async move { conn.client.query_one("SELECT lastval()", &[]).await?.try_get(0) })
    }

    fn begin(&mut self) -> Result<(), SqlError> {
        self.call(|conn| async move { conn.client.batch_execute("BEGIN").await })?;
        self.in_transaction = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), SqlError> {
        let result = self.call(|conn| async move { conn.client.batch_execute("COMMIT").await });
        // A failed COMMIT ends the transaction too (the server rolls it back).
        self.in_transaction = false;
        result
    }

    fn rollback(&mut self) -> Result<(), SqlError> {
        if self.conn.is_none() {
            self.in_transaction = false;
            return Ok(());
        }
        if context::past_deadline() {
            // No time to ask: dropping the connection ends the transaction on the server.
            self.conn = None;
            self.in_transaction = false;
            return Ok(());
        }
        let result = self.call(|conn| async move { conn.client.batch_execute("ROLLBACK").await });
        if result.is_err() {
            self.conn = None;
        }
        self.in_transaction = false;
        result
    }

    fn in_transaction(&self) -> bool {
        self.in_transaction
    }
}

/// A driver error as the script sees it: the server's message, detail and SQLSTATE, or the
/// driver's own message.
pub(super) fn db_error(err: tokio_postgres::Error) -> SqlError {
    if let Some(db) = err.as_db_error() {
        let message = match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        };
        return SqlError {
            message,
            code: Some(Code::Sqlstate(db.code().code().to_string())),
            failure: Failure::Statement,
        };
    }
    SqlError::statement(chain(&err))
}

/// An error's message followed by its causes (the driver's own message names only the step
/// that failed: "error serializing parameter 0", "error performing TLS handshake").
fn chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
