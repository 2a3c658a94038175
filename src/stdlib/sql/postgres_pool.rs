//! The connections of one PostgreSQL connection: at most `pool` open (a semaphore permit per
//! session), idle ones kept for the next run and checked before reuse, new ones opened on first
//! use through the circuit breaker. Its own rather than deadpool's: a session must be able to
//! drop its connection (cancelled at the deadline, left in a transaction) instead of returning
//! it, and connecting is bounded by the run's deadline and counted by the breaker, which
//! deadpool's recycle hooks do not give without as much code again.

use super::postgres::Server;
use super::postgres_conn::{Conn, open};
use super::session::{Failure, SqlError};
use crate::config::HttpCircuit;
use crate::engine::context::{self, Level};
use crate::stdlib::circuit::{Change, Circuit};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub(super) struct Pool {
    size: u32,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Conn>>,
    circuit: Option<Circuit>,
}

impl Pool {
    pub(super) fn new(size: u32, circuit: Option<HttpCircuit>) -> Self {
        let permits = Arc::new(Semaphore::new(usize::try_from(size).unwrap_or(1)));
        Self { size, permits, idle: Mutex::new(Vec::new()), circuit: circuit.map(Circuit::new) }
    }

    /// A connection for a new session: an idle one that is still open, or a new one. Waiting
    /// for a free place and connecting are each bounded by the connect timeout.
    pub(super) async fn acquire(server: &Arc<Server>) -> Result<(OwnedSemaphorePermit, Conn), SqlError> {
        let pool = &server.pool;
        let wait = server.connect_timeout;
        let permit = match tokio::time::timeout(wait, Arc::clone(&pool.permits).acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            _ => {
                return Err(SqlError::not_run(format!(
                    "all {} connections of the pool stayed in use for {}",
                    pool.size,
                    humantime::format_duration(wait)
                )));
            }
        };
        loop {
            let Some(conn) = pool.idle.lock().pop() else { break };
            // One the server closed (restarted, terminated) since is dropped here.
            if !conn.client.is_closed() {
                return Ok((permit, conn));
            }
        }
        let conn = pool.connect(server).await?;
        Ok((permit, conn))
    }

    /// Opens a connection through the circuit breaker.
    async fn connect(&self, server: &Server) -> Result<Conn, SqlError> {
        let metrics = &server.host.metrics;
        let admitted = match &self.circuit {
            Some(circuit) => match circuit.admit(Instant::now(), metrics, &server.name) {
                Ok((permit, change)) => {
                    note(server, change);
                    Some(permit)
                }
                Err(refused) => {
                    let next = refused.next_trial.map_or_else(
                        || "a trial connection is under way".to_string(),
                        |next| format!("next trial in {}", whole_seconds(next)),
                    );
                    return Err(SqlError {
                        message: format!(
                            "circuit open after {} failed attempts to connect to {}; {next}",
                            refused.failures, server.address
                        ),
                        code: None,
                        failure: Failure::Refused,
                    });
                }
            },
            None => None,
        };
        let result = open(server).await;
        if let Some(permit) = admitted {
            note(server, permit.finish(result.is_err(), Instant::now(), metrics, &server.name));
        }
        result
    }

    /// Keeps a connection a session is done with for the next one.
    pub(super) fn give_back(&self, conn: Conn) {
        if !conn.client.is_closed() {
            self.idle.lock().push(conn);
        }
    }
}

/// Logs a change of the circuit in the run's lines.
fn note(server: &Server, change: Option<Change>) {
    let Some(change) = change else { return };
    let name = &server.name;
    let text = match change {
        Change::Opened { failures } => {
            format!("circuit of `{name}` opened after {failures} failed attempts to connect")
        }
        Change::Trial => format!("circuit of `{name}` half-open; this connection attempt is the trial"),
        Change::Closed => format!("circuit of `{name}` closed; the trial connection succeeded"),
        Change::Reopened { failures } => {
            format!("circuit of `{name}` opened again; the trial failed ({failures} failures in a row)")
        }
    };
    context::push_line(Level::Warn, &format!("sql: {text}"));
}

fn whole_seconds(duration: Duration) -> String {
    humantime::format_duration(Duration::from_secs(duration.as_secs().max(1))).to_string()
}
