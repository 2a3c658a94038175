//! The MySQL and MariaDB backend (mysql_async, rustls): a pool of at most `pool` connections
//! (`pool.rs`), opened on first use and replaced when broken. Scripts are synchronous, so
//! each call drives its future on the hub's runtime (`engine::wait_cancellable`), bounded by the
//! run's deadline; at the deadline the connection is killed on the server (`KILL` from another
//! connection), which stops the statement and rolls back its transaction, and dropped.
//! Connecting is retried (`retry`) and guarded by a circuit breaker (`circuit`) as `connect.rs`
//! does for every server.

use super::connect::{Target, retrying, within_deadline};
use super::mysql_conn::{connect, open};
use super::mysql_types::{Kind, bind, read};
use super::params::{self, Dialect, Params};
use super::pool::Pool;
use super::session::{Code, Database, Failure, Rows, Session, SqlError};
use crate::config::{Policy, SqlServerConnection, SqlTls};
use crate::engine::context;
use crate::engine::wait;
use crate::host::Host;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Row};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::OwnedSemaphorePermit;

/// MySQL's quoting (backticks, backslash escapes, `#` comments) and `?` placeholders.
const MYSQL: Dialect =
    Dialect { placeholder: '?', dollar_quotes: false, backslash_escapes: true, hash_comments: true, backticks: true };

/// Time allowed to connect (and to wait for a pooled connection) when `timeout` does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for killing a connection whose statement the deadline cut short.
const KILL_TIMEOUT: Duration = Duration::from_secs(2);
/// "This command is not supported in the prepared statement protocol yet": run as plain text.
const NOT_PREPARABLE: u16 = 1295;
/// URL parameters of mysql_async that the connection's own keys set.
const OWN_KEYS: [(&str, &str); 6] = [
    ("require_ssl", "tls"),
    ("verify_ca", "tls"),
    ("verify_identity", "tls"),
    ("built_in_roots", "tls"),
    ("pool_min", "pool"),
    ("pool_max", "pool"),
];

/// A `type = "mysql"` connection of one snapshot.
pub struct Mysql(Arc<Server>);

/// What every session of one connection shares.
pub(super) struct Server {
    pub(super) name: String,
    /// The URL's options with the session set-up; TLS is added per attempt (`mysql_conn::connect`).
    pub(super) opts: Opts,
    pub(super) tls: SqlTls,
    /// `host:port/database`, for messages (the URL may hold a password).
    pub(super) address: String,
    pub(super) connect_timeout: Duration,
    retry: Policy,
    pub(super) pool: Pool<Conn>,
    runtime: Handle,
    pub(super) host: Host,
}

impl Server {
    fn target(&self) -> Target<'_> {
        Target { name: &self.name, address: &self.address, metrics: &self.host.metrics }
    }
}

impl Mysql {
    /// The connection of `server`, its URL checked without connecting; or the key at fault
    /// and why.
    pub fn new(name: &str, server: &SqlServerConnection, host: &Host) -> Result<Self, (&'static str, String)> {
        let url = server.url.as_str();
        if !url.starts_with("mysql://") {
            return Err(("url", "expected a URL starting with mysql:// (for MySQL and MariaDB)".into()));
        }
        if let Some((_, query)) = url.split_once('?') {
            for pair in query.split('&') {
                let key = pair.split('=').next().unwrap_or_default();
                if let Some((_, own)) = OWN_KEYS.iter().find(|(param, _)| *param == key) {
                    return Err(("url", format!("takes no `{key}`; set the connection's `{own}` instead")));
                }
            }
        }
        // Parsed by the driver's own rules; its errors name the parameter at fault, never the
        // password (a URL that does not parse is reported without any of its text).
        let opts = Opts::from_url(url).map_err(|err| ("url", format!("not a MySQL URL ({err})")))?;
        let database = opts.db_name().unwrap_or_default();
        let address = format!("{}:{}/{database}", opts.ip_or_hostname(), opts.tcp_port());
        // Every session reads and writes times in UTC (the stdlib's times are instants), and
        // counts the rows an UPDATE matched, as SQLite and PostgreSQL do, not only those it changed.
        let mut setup = vec!["SET time_zone = '+00:00'"];
        if server.read_only {
            // A session setting the server enforces: every transaction of the session is read-only.
            setup.push("SET SESSION TRANSACTION READ ONLY");
        }
        // mysql_async would reconnect a loopback TCP connection through the server's Unix socket
        // (its `@@socket`, which may not exist here, e.g. in a container); the hub talks to the
        // address the URL names unless the URL asks for that (`?prefer_socket=true`).
        let named = url.split_once('?').is_some_and(|(_, query)| query.contains("prefer_socket="));
        let prefer_socket = named && opts.prefer_socket();
        let opts = OptsBuilder::from_opts(opts).init(setup).client_found_rows(true).prefer_socket(prefer_socket).into();
        Ok(Self(Arc::new(Server {
            name: name.to_string(),
            opts,
            tls: server.tls,
            address,
            connect_timeout: server.timeout.map_or(CONNECT_TIMEOUT, |timeout| timeout.0),
            retry: server.retry.unwrap_or(Policy::ONCE),
            pool: Pool::new(server.pool, server.circuit),
            runtime: host.runtime.clone(),
            host: host.clone(),
        })))
    }
}

impl Database for Mysql {
    fn session(&self) -> Result<Box<dyn Session>, SqlError> {
        let server = &self.0;
        let (permit, conn) = retrying(&server.name, &server.retry, &server.host.metrics, || {
            within_deadline(&server.runtime, server.pool.acquire(server.connect_timeout, server.target(), open(server)))
                .and_then(|acquired| acquired)
        })?;
        Ok(Box::new(MySession {
            server: Arc::clone(server),
            id: conn.id(),
            conn: Some(conn),
            permit: Some(permit),
            in_transaction: false,
            unsure: false,
            last_insert_id: 0,
        }))
    }
}

/// One step of work on a connection, which it borrows while it runs.
type Work<'c, T> = Pin<Box<dyn Future<Output = Result<T, mysql_async::Error>> + Send + 'c>>;

/// One pooled connection held by a script handle.
struct MySession {
    server: Arc<Server>,
    conn: Option<Conn>,
    /// The server's id of the connection, for `KILL`.
    id: u32,
    permit: Option<OwnedSemaphorePermit>,
    in_transaction: bool,
    /// The script's own SQL may have begun a transaction or changed the session (`BEGIN`,
    /// `SET`, `USE`), so the connection is not given to another run.
    unsure: bool,
    /// The id the session's last `INSERT` generated (0 before any).
    last_insert_id: i64,
}

impl Drop for MySession {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if !self.in_transaction && !self.unsure {
                self.server.pool.give_back(conn);
            } else {
                // Dropped on the runtime, where the driver closes it properly; the server then
                // rolls back whatever transaction it was in.
                self.server.runtime.spawn(async move { drop(conn) });
            }
        }
        // The permit goes last, so a run waiting for it finds the connection idle.
        drop(self.permit.take());
    }
}

impl MySession {
    /// Runs `work` on the connection, bounded by the run's deadline. At the deadline (or on
    /// Ctrl-C) the connection is killed on the server and dropped; one that broke is dropped too.
    fn call<T: Send>(&mut self, work: impl for<'c> FnOnce(&'c mut Conn) -> Work<'c, T>) -> Result<T, SqlError> {
        if context::past_deadline() {
            return Err(SqlError::deadline());
        }
        if self.conn.is_none() && !self.in_transaction && !self.unsure {
            // The connection broke or was killed between statements that stand alone: a new one
            // in its place (the session keeps its place in the pool) loses nothing.
            let server = &self.server;
            let conn = within_deadline(&server.runtime, server.pool.open(server.target(), open(server)))
                .and_then(|opened| opened)?;
            self.id = conn.id();
            self.conn = Some(conn);
        }
        let mut conn = self.conn.take().ok_or_else(|| {
            SqlError::statement(if self.in_transaction {
                "the connection was lost inside a transaction, which the server rolled back"
            } else {
                "the connection was lost after a statement that changed its session (BEGIN, SET ...)"
            })
        })?;
        let outcome = within_deadline(&self.server.runtime, async move {
            let result = work(&mut conn).await;
            (conn, result)
        });
        match outcome {
            Ok((conn, Ok(value))) => {
                self.conn = Some(conn);
                Ok(value)
            }
            Ok((conn, Err(err))) => {
                if !broken(&err) {
                    self.conn = Some(conn);
                }
                Err(db_error(err))
            }
            Err(err) => {
                self.kill();
                Err(err)
            }
        }
    }

    /// Kills the session's connection on the server from a connection of its own: the
    /// statement in flight stops and its transaction is rolled back at once, without waiting
    /// for the dropped socket to be noticed. `KILL QUERY` would leave the transaction open
    /// until then. Waited for (briefly), so it happens even when the process is about to end.
    fn kill(&mut self) {
        drop(self.conn.take());
        let server = Arc::clone(&self.server);
        let id = self.id;
        let _ = wait(&self.server.runtime, async move {
            tokio::time::timeout(KILL_TIMEOUT, async move {
                // Killing needs none of the session set-up.
                let opts = OptsBuilder::from_opts(server.opts.clone()).init(Vec::<String>::new()).into();
                let mut conn = connect(&server, opts).await.ok()?;
                conn.query_drop(format!("KILL {id}")).await.ok()?;
                conn.disconnect().await.ok()
            })
            .await
        });
    }

    /// Notes SQL text that may leave the session different from a fresh one: a statement
    /// (of those `;` separates, roughly) that begins a transaction or changes a setting.
    fn note(&mut self, sql: &str) {
        const CHANGES: [&str; 10] =
            ["begin", "start", "set", "prepare", "lock", "declare", "savepoint", "use", "xa", "handler"];
        let changes = sql.split(';').any(|statement| {
            let word = statement.trim_start().split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or_default();
            CHANGES.iter().any(|change| word.eq_ignore_ascii_case(change))
        });
        self.unsure |= changes;
    }

    /// Runs a statement (prepared, so values are bound; as text where the server cannot
    /// prepare it) and returns its columns and rows, and the result's OK packet figures.
    fn statement(&mut self, sql: &str, params: Params) -> Result<Done, SqlError> {
        let (text, values) = params::rewrite(MYSQL, sql, params)?;
        self.note(&text);
        let text = text.into_owned();
        let values: Vec<mysql_async::Value> = values.into_iter().map(bind).collect();
        let plain = values.is_empty();
        let result = self.call(|conn| {
            Box::pin(async move {
                let result = conn.exec_iter(text.as_str(), values).await;
                if plain && matches!(&result, Err(mysql_async::Error::Server(err)) if err.code == NOT_PREPARABLE) {
                    drop(result);
                    return collect(conn.query_iter(text.as_str()).await?).await;
                }
                collect(result?).await
            })
        });
        let done = result?;
        if done.last_insert_id != 0 {
            self.last_insert_id = done.last_insert_id;
        }
        Ok(done)
    }
}

/// What one statement gave.
struct Done {
    columns: Vec<mysql_async::Column>,
    rows: Vec<Row>,
    affected: u64,
    last_insert_id: i64,
}

async fn collect<P: mysql_async::prelude::Protocol>(
    mut result: mysql_async::QueryResult<'_, '_, P>,
) -> Result<Done, mysql_async::Error> {
    let columns = result.columns().map(|columns| columns.to_vec()).unwrap_or_default();
    let rows: Vec<Row> = result.collect().await?;
    let affected = result.affected_rows();
    let last_insert_id = result.last_insert_id().and_then(|id| i64::try_from(id).ok()).unwrap_or(0);
    result.drop_result().await?;
    Ok(Done { columns, rows, affected, last_insert_id })
}

impl Session for MySession {
    fn query(&mut self, sql: &str, params: Params, limit: usize) -> Result<Rows, SqlError> {
        let Done { columns, rows, .. } = self.statement(sql, params)?;
        let kinds: Vec<Kind> = columns.iter().map(Kind::of).collect();
        let names: Vec<String> = columns.iter().map(|column| column.name_str().into_owned()).collect();
        let mut out = Vec::with_capacity(rows.len().min(limit));
        for mut row in rows.into_iter().take(limit) {
            let mut values = Vec::with_capacity(names.len());
            for (index, (name, kind)) in names.iter().zip(&kinds).enumerate() {
                let value = row.take::<mysql_async::Value, usize>(index).unwrap_or(mysql_async::Value::NULL);
                values.push(read(value, *kind).map_err(|err| SqlError::statement(format!("column `{name}`: {err}")))?);
            }
            out.push(values);
        }
        Ok(Rows { columns: names, rows: out })
    }

    fn execute(&mut self, sql: &str, params: Params) -> Result<u64, SqlError> {
        Ok(self.statement(sql, params)?.affected)
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), SqlError> {
        self.note(sql);
        let sql = sql.to_string();
        self.call(|conn| Box::pin(async move { conn.query_drop(sql).await }))
    }

    fn last_insert_id(&mut self) -> Result<i64, SqlError> {
        Ok(self.last_insert_id)
    }

    fn begin(&mut self) -> Result<(), SqlError> {
        self.call(|conn| Box::pin(async move { conn.query_drop("START TRANSACTION").await }))?;
        self.in_transaction = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), SqlError> {
        let result = self.call(|conn| Box::pin(async move { conn.query_drop("COMMIT").await }));
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
            // No time to ask: killing the connection ends the transaction on the server.
            self.kill();
            self.in_transaction = false;
            return Ok(());
        }
        let result = self.call(|conn| Box::pin(async move { conn.query_drop("ROLLBACK").await }));
        if result.is_err() {
            self.kill();
        }
        self.in_transaction = false;
        result
    }

    fn in_transaction(&self) -> bool {
        self.in_transaction
    }
}

/// Whether an error means the connection is gone: anything but a server error (I/O, protocol),
/// or the server's word that it killed the connection or is shutting down.
fn broken(err: &mysql_async::Error) -> bool {
    /// ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED (MariaDB).
    const GONE: [u16; 2] = [1053, 1927];
    match err {
        mysql_async::Error::Server(server) => GONE.contains(&server.code),
        other => other.is_fatal(),
    }
}

/// A driver error as the script sees it: the server's message with its error number and
/// SQLSTATE, or the driver's own message.
pub(super) fn db_error(err: mysql_async::Error) -> SqlError {
    match err {
        mysql_async::Error::Server(server) => SqlError {
            message: server.message,
            code: Some(Code::Mysql { number: server.code, sqlstate: server.state }),
            failure: Failure::Statement,
        },
        // The driver's own wrappers ("Input/output error: Input/output error: ...") say nothing.
        mysql_async::Error::Io(mysql_async::IoError::Io(err)) => SqlError::statement(chain(&err)),
        mysql_async::Error::Io(mysql_async::IoError::Tls(err)) => SqlError::statement(format!("TLS: {}", chain(&err))),
        mysql_async::Error::Driver(err) => SqlError::statement(chain(&err)),
        mysql_async::Error::Url(err) => SqlError::statement(chain(&err)),
        mysql_async::Error::Other(err) => SqlError::statement(chain(err.as_ref())),
    }
}

/// An error's message followed by its causes.
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
