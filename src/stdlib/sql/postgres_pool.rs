//! The pool of one `type = "postgres"` connection: at most `pool` connections open (a semaphore
//! permit per session), idle ones kept for the next run and checked before reuse, new ones
//! opened on first use through the circuit breaker (`connect.rs`). Its own rather than
//! deadpool's: a session must be able to drop its connection (cancelled at the deadline, left in
//! a transaction) instead of returning it, and connecting is bounded by the run's deadline and
//! counted by the breaker, which deadpool's recycle hooks do not give without as much code again.

use super::connect::{Target, through_circuit};
use super::postgres::Server;
use super::postgres_conn::{Conn, open};
use super::session::SqlError;
use crate::config::HttpCircuit;
use crate::stdlib::circuit::Circuit;
use parking_lot::Mutex;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Places (permits) and idle connections.
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
        Ok((permit, Pool::open(server).await?))
    }

    /// A new connection, through the circuit breaker; the caller holds its place in the pool.
    pub(super) async fn open(server: &Server) -> Result<Conn, SqlError> {
        let target = Target {
            name: &server.name,
            address: &server.address,
            circuit: server.pool.circuit.as_ref(),
            metrics: &server.host.metrics,
        };
        through_circuit(target, open(server)).await
    }

    /// Keeps a connection a session is done with for the next one.
    pub(super) fn give_back(&self, conn: Conn) {
        if !conn.client.is_closed() {
            self.idle.lock().push(conn);
        }
    }
}
