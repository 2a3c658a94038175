//! The connections of one MySQL connection: at most `pool` open (a semaphore permit per
//! session), idle ones kept for the next run and pinged before reuse (a MySQL connection has no
//! task reading its socket, so one the server killed or closed is only seen by talking to it),
//! new ones opened on first use through the circuit breaker (`connect.rs`). Its own rather than
//! mysql_async's `Pool`, for the reasons `postgres_pool.rs` gives: a session must be able to drop
//! its connection (killed at the deadline, left in a transaction) instead of returning it, and
//! connecting is bounded by the run's deadline and counted by the breaker.

use super::connect::{Target, through_circuit};
use super::mysql::Server;
use super::session::{Failure, SqlError};
use crate::config::{HttpCircuit, SqlTls};
use crate::stdlib::circuit::Circuit;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, DriverError, Error, Opts, OptsBuilder, SslOpts};
use parking_lot::Mutex;
use std::sync::Arc;
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

    /// A connection for a new session: an idle one that still answers, or a new one. Waiting
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
            let Some(mut conn) = pool.idle.lock().pop() else { break };
            // One the server closed (restarted, killed, timed out) since is dropped here.
            if let Ok(Ok(())) = tokio::time::timeout(wait, conn.ping()).await {
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
        if !conn.is_disconnected() {
            self.idle.lock().push(conn);
        }
    }
}

/// Opens a connection as the connection's `tls` says, within the connect timeout.
async fn open(server: &Server) -> Result<Conn, SqlError> {
    connect(server, server.opts.clone()).await
}

/// Opens a connection with `opts` (the connection's, or without its session set-up) and TLS as
/// the connection's `tls` says, within the connect timeout.
pub(super) async fn connect(server: &Server, opts: Opts) -> Result<Conn, SqlError> {
    let connect = |ssl: Option<SslOpts>| {
        let opts = OptsBuilder::from_opts(opts.clone()).ssl_opts(ssl);
        tokio::time::timeout(server.connect_timeout, Conn::new(opts))
    };
    let encrypted = match server.tls {
        SqlTls::Disable => None,
        // The certificate is not checked, as libpq's `require` does without a root certificate.
        SqlTls::Prefer | SqlTls::Require => {
            Some(SslOpts::default().with_danger_accept_invalid_certs(true).with_danger_skip_domain_validation(true))
        }
        SqlTls::VerifyFull => Some(SslOpts::default()),
    };
    let mut outcome = connect(encrypted).await;
    if server.tls == SqlTls::Prefer && matches!(outcome, Ok(Err(Error::Driver(DriverError::NoClientSslFlagFromServer))))
    {
        outcome = connect(None).await;
    }
    let err = match outcome {
        Ok(Ok(conn)) => return Ok(conn),
        Ok(Err(err)) => err,
        Err(_) => {
            return Err(SqlError::not_run(format!(
                "cannot connect to {}: no answer within {}",
                server.address,
                humantime::format_duration(server.connect_timeout)
            )));
        }
    };
    let err = super::mysql::db_error(err);
    let mut message = format!("cannot connect to {}: {}", server.address, err.message);
    match server.tls {
        SqlTls::Require | SqlTls::VerifyFull if message.contains("does not have this capability") => {
            message = format!(
                "cannot connect to {}: the server does not offer TLS (tls = \"{}\"; \"prefer\" falls back to an \
                 unencrypted connection, \"disable\" never encrypts)",
                server.address,
                server.tls.as_str()
            );
        }
        SqlTls::VerifyFull if message.contains("certificate") => message.push_str(
            " (tls = \"verify-full\" checks the certificate against the Mozilla certificate authorities \
             built in and the host name; \"require\" encrypts without checking it)",
        ),
        _ => {}
    }
    // Not run, so `retry` may try again; the server's code (1045 for a refused login) is kept.
    Err(SqlError { message, code: err.code, failure: Failure::NotRun })
}
