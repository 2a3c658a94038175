//! The pool of one SQL server connection (`postgres` or `mysql`): at most `pool` connections open
//! (a semaphore permit per session), idle ones kept for the next run and checked before reuse,
//! new ones opened on first use through the circuit breaker (`connect.rs`). Our own rather than
//! deadpool's or mysql_async's `Pool`: a session must be able to drop its connection (cancelled
//! or killed at the deadline, left in a transaction) instead of returning it, and connecting is
//! bounded by the run's deadline and counted by the breaker, which their recycle hooks do not give
//! without as much code again.

use super::connect::{Target, through_circuit};
use super::session::SqlError;
use crate::config::HttpCircuit;
use crate::stdlib::circuit::Circuit;
use parking_lot::Mutex;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A server connection as its pool sees it.
pub(super) trait Pooled: Sized {
    /// Whether an idle connection still works (checked within `wait`): one the server closed
    /// since (restarted, terminated, timed out) is dropped.
    fn usable(&mut self, wait: Duration) -> impl Future<Output = bool>;
    /// Whether a connection a session is done with may be kept.
    fn open(&self) -> bool;
}

/// Places (permits), idle connections and the breaker of one connection.
pub(super) struct Pool<C> {
    size: u32,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<C>>,
    circuit: Option<Circuit>,
}

impl<C: Pooled> Pool<C> {
    pub(super) fn new(size: u32, circuit: Option<HttpCircuit>) -> Self {
        let permits = Arc::new(Semaphore::new(usize::try_from(size).unwrap_or(1)));
        Self { size, permits, idle: Mutex::new(Vec::new()), circuit: circuit.map(Circuit::new) }
    }

    /// A connection for a new session: an idle one that still works, or a new one from `open`.
    /// Waiting for a free place and checking an idle connection are each bounded by `wait`.
    pub(super) async fn acquire(
        &self,
        wait: Duration,
        target: Target<'_>,
        open: impl Future<Output = Result<C, SqlError>>,
    ) -> Result<(OwnedSemaphorePermit, C), SqlError> {
        let permit = match tokio::time::timeout(wait, Arc::clone(&self.permits).acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            _ => {
                return Err(SqlError::not_run(format!(
                    "all {} connections of the pool stayed in use for {}",
                    self.size,
                    humantime::format_duration(wait)
                )));
            }
        };
        loop {
            let Some(mut conn) = self.idle.lock().pop() else { break };
            if conn.usable(wait).await {
                return Ok((permit, conn));
            }
        }
        Ok((permit, self.open(target, open).await?))
    }

    /// A new connection from `open`, through the circuit breaker; the caller holds its place.
    pub(super) async fn open(
        &self,
        target: Target<'_>,
        open: impl Future<Output = Result<C, SqlError>>,
    ) -> Result<C, SqlError> {
        through_circuit(self.circuit.as_ref(), target, open).await
    }

    /// Keeps a connection a session is done with for the next one.
    pub(super) fn give_back(&self, conn: C) {
        if conn.open() {
            self.idle.lock().push(conn);
        }
    }
}
