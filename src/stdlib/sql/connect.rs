//! Talking to a SQL server, for every server backend alike: waiting on its async driver within
//! the run's deadline, connecting through the connection's circuit breaker, and the `retry` loop,
//! which retries only failures that prove the statement never ran (`Failure::NotRun`: cannot
//! connect, no pooled connection in time).

use super::session::{Failure, SqlError};
use crate::config::{AfterFailure, Policy};
use crate::engine::context::{self, Level};
use crate::engine::{Interrupted, pause, wait_cancellable};
use crate::metrics::Metrics;
use crate::stdlib::circuit::{Change, Circuit};
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;

/// Drives `future` on `runtime` from the script's thread, bounded by the run's deadline; a
/// cancelled run (Ctrl-C) stops waiting.
pub fn within_deadline<T>(runtime: &Handle, future: impl Future<Output = T>) -> Result<T, SqlError> {
    let left = context::remaining().unwrap_or(Duration::MAX);
    // The timer is made inside the future: it needs the runtime, which this thread may not be in.
    match wait_cancellable(runtime, async move { tokio::time::timeout(left, future).await }) {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(_)) => Err(SqlError::deadline()),
        Err(Interrupted) => Err(SqlError::interrupted()),
    }
}

/// Calls `attempt` until it succeeds, fails in a way that is not retried, or `policy` gives up;
/// each retry is a warn line of the run and counts in `switchboard_connection_retries_total`, and
/// no pause runs past the run's deadline.
pub fn retrying<T>(
    name: &str,
    policy: &Policy,
    metrics: &Metrics,
    mut attempt: impl FnMut() -> Result<T, SqlError>,
) -> Result<T, SqlError> {
    let mut tried = 1;
    loop {
        let err = match attempt() {
            Err(err) if err.failure == Failure::NotRun => err,
            other => return other,
        };
        match policy.after_failure(tried) {
            AfterFailure::RetryIn(wait) if context::remaining().is_none_or(|left| left > wait) => {
                let wait_text = humantime::format_duration(Duration::from_millis(
                    u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                ));
                context::push_line(
                    Level::Warn,
                    &format!(
                        "sql: connection `{name}`: {}; attempt {} of {} in {wait_text}",
                        err.message,
                        tried + 1,
                        policy.attempts
                    ),
                );
                metrics.retry(name);
                pause(wait).map_err(|Interrupted| SqlError::interrupted())?;
                tried += 1;
            }
            _ if tried > 1 => {
                return Err(SqlError { message: format!("{} (after {tried} attempts)", err.message), ..err });
            }
            _ => return Err(err),
        }
    }
}

/// Where a connection goes, for its breaker and messages.
pub struct Target<'a> {
    /// The connection's name in the manifest.
    pub name: &'a str,
    /// `host:port/database` (never the URL: it may hold a password).
    pub address: &'a str,
    pub metrics: &'a Metrics,
}

/// Runs `connect` if the circuit lets it, and reports how it went to the circuit; changes of
/// the circuit are warn lines of the run.
pub async fn through_circuit<T>(
    circuit: Option<&Circuit>,
    target: Target<'_>,
    connect: impl Future<Output = Result<T, SqlError>>,
) -> Result<T, SqlError> {
    let Some(circuit) = circuit else { return connect.await };
    let permit = match circuit.admit(Instant::now(), target.metrics, target.name) {
        Ok((permit, change)) => {
            note(target.name, change);
            permit
        }
        Err(refused) => {
            let next = refused.next_trial.map_or_else(
                || "a trial connection is under way".to_string(),
                |next| {
                    format!("next trial in {}", humantime::format_duration(Duration::from_secs(next.as_secs().max(1))))
                },
            );
            return Err(SqlError {
                message: format!(
                    "circuit open after {} failed attempts to connect to {}; {next}",
                    refused.failures, target.address
                ),
                code: None,
                failure: Failure::Refused,
            });
        }
    };
    let result = connect.await;
    note(target.name, permit.finish(result.is_err(), Instant::now(), target.metrics, target.name));
    result
}

/// Logs a change of a connection's circuit in the run's lines.
fn note(name: &str, change: Option<Change>) {
    let Some(change) = change else { return };
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
