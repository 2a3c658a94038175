//! Opening one MySQL or MariaDB connection with TLS as the connection's `tls` says (`prefer`
//! falling back to plain), and how the pool (`pool.rs`) checks an idle one: by a ping.

use super::mysql::Server;
use super::pool::Pooled;
use super::session::{Failure, SqlError};
use crate::config::SqlTls;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, DriverError, Error, Opts, OptsBuilder, SslOpts};
use std::time::Duration;

impl Pooled for Conn {
    // A MySQL connection has no task reading its socket, so one the server killed or closed is
    // only seen by talking to it.
    async fn usable(&mut self, wait: Duration) -> bool {
        matches!(tokio::time::timeout(wait, self.ping()).await, Ok(Ok(())))
    }

    fn open(&self) -> bool {
        !self.is_disconnected()
    }
}

/// Opens a connection as the connection's `tls` says, within the connect timeout.
pub(super) async fn open(server: &Server) -> Result<Conn, SqlError> {
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
