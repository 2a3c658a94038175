//! One open PostgreSQL connection: the client, the task that runs its I/O, and its prepared
//! statements, kept by SQL text so a statement a script runs again costs one round trip instead
//! of two. The server re-plans them when the search path or a table changes; one it can no
//! longer run (a result type changed, `DEALLOCATE ALL`) is prepared again once.

use super::pool::Pooled;
use super::postgres::{Server, db_error};
use super::session::SqlError;
use crate::config::SqlTls;
use futures_util::TryStreamExt;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Error, Row, Statement};

/// Prepared statements kept per connection; the cache starts over when it is full.
const MAX_STATEMENTS: usize = 256;

/// An open connection (cheap to clone: a call's future holds a clone).
#[derive(Clone)]
pub(super) struct Conn {
    pub(super) client: Arc<Client>,
    statements: Arc<Mutex<HashMap<String, Statement>>>,
}

impl Pooled for Conn {
    // Its I/O task sees a closed socket at once.
    async fn usable(&mut self, _wait: std::time::Duration) -> bool {
        !self.client.is_closed()
    }

    fn open(&self) -> bool {
        !self.client.is_closed()
    }
}

impl Conn {
    /// The prepared statement of `sql`: kept from before, or prepared now.
    async fn statement(&self, sql: &str) -> Result<Statement, Error> {
        if let Some(statement) = self.statements.lock().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).await?;
        let mut statements = self.statements.lock();
        if statements.len() >= MAX_STATEMENTS {
            statements.clear();
        }
        statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    /// Runs `sql` as a query: its statement (for the column names) and its first `limit` rows.
    pub(super) async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        limit: usize,
    ) -> Result<(Statement, Vec<Row>), Error> {
        let statement = self.statement(sql).await?;
        match self.rows(&statement, params, limit).await {
            Err(err) if stale(&err) => {
                self.statements.lock().remove(sql);
                let statement = self.statement(sql).await?;
                let rows = self.rows(&statement, params, limit).await?;
                Ok((statement, rows))
            }
            rows => Ok((statement, rows?)),
        }
    }

    /// The first `limit` rows of `statement`, read as they arrive: the rest are not kept (the
    /// driver drops them as the server sends them).
    async fn rows(
        &self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
        limit: usize,
    ) -> Result<Vec<Row>, Error> {
        let stream = self.client.query_raw(statement, params.iter().copied()).await?;
        let mut stream = std::pin::pin!(stream);
        let mut rows = Vec::new();
        while rows.len() < limit {
            let Some(row) = stream.try_next().await? else { break };
            rows.push(row);
        }
        Ok(rows)
    }

    /// Runs `sql` and returns the number of rows it changed.
    pub(super) async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Error> {
        let statement = self.statement(sql).await?;
        match self.client.execute(&statement, params).await {
            Err(err) if stale(&err) => {
                self.statements.lock().remove(sql);
                let statement = self.statement(sql).await?;
                self.client.execute(&statement, params).await
            }
            changed => changed,
        }
    }
}

/// Whether a kept statement failed because the server can no longer run it as prepared; the
/// server refused it before running it, so preparing it again is safe.
fn stale(err: &Error) -> bool {
    err.as_db_error().is_some_and(|db| {
        *db.code() == SqlState::INVALID_SQL_STATEMENT_NAME
            || (*db.code() == SqlState::FEATURE_NOT_SUPPORTED && db.message().starts_with("cached plan"))
    })
}

pub(super) async fn open(server: &Server) -> Result<Conn, SqlError> {
    let (client, connection) = server.config.connect(server.tls.clone()).await.map_err(|err| {
        let mut message = format!("cannot connect to {}: {}", server.address, db_error(err).message);
        if server.tls_mode == SqlTls::VerifyFull && message.contains("certificate") {
            message.push_str(
                " (tls = \"verify-full\" checks the certificate against the platform's roots and the host name; \
                 \"require\" encrypts without checking it)",
            );
        }
        SqlError::not_run(message)
    })?;
    // The connection's I/O; it ends when the client is dropped or the server hangs up.
    server.runtime.spawn(async move {
        let _ = connection.await;
    });
    Ok(Conn { client: Arc::new(client), statements: Arc::new(Mutex::new(HashMap::new())) })
}
