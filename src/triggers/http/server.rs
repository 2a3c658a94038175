//! Running the app on an already-bound listener until a shutdown future resolves, then letting
//! in-flight requests finish for up to a grace period.

use super::app::MakeApp;
use super::early::JsonListener;
use super::{AppState, router};
use std::future::Future;
use std::time::Duration;

/// Serves until `shutdown` resolves; then stops accepting and waits up to `grace` for requests
/// in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let app = MakeApp { router: router(state.clone()), state };
    let server = axum::serve(JsonListener(listener), app).with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections; waiting for requests in flight");
        let _ = stopping_tx.send(());
    });
    tokio::select! {
        result = server.into_future() => result,
        () = async move {
            if stopping_rx.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        } => {
            tracing::warn!("grace period of {} over; exiting with requests still in flight", humantime::format_duration(grace));
            Ok(())
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
