//! `switchboard serve`: the hub's HTTP routes on axum until SIGINT or SIGTERM.

use super::args::ServeArgs;
use crate::config::Mode;
use crate::error::Error;
use crate::hub::Snapshot;
use crate::triggers::http::{AppState, Live, server};
use anyhow::Context;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// How long in-flight requests may take to finish after a shutdown signal.
const GRACE: Duration = Duration::from_secs(10);

pub fn serve(args: ServeArgs) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    let snapshot = Snapshot::load(&args.hub.dir, runtime.handle().clone())?;
    if !snapshot.problems.is_empty() {
        for (_, problem) in &snapshot.problems {
            eprintln!("error: {problem}");
        }
        return Err(Error::Failed("not serving a hub whose scripts do not compile (see `switchboard check`)".into()));
    }
    refuse_unsupported(&snapshot)?;
    let listen = args.listen.unwrap_or_else(|| snapshot.manifest.server.listen.as_str().to_string());
    let live = Live::new(Arc::new(snapshot)).map_err(|err| Error::Failed(err))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .map_err(|err| Error::Usage(format!("cannot listen on {listen}: {err}")))?;
        let addr = listener.local_addr().context("listener address")?;
        announce(&format!("listening on http://{addr}"))?;
        tracing::info!("serving {} routes; docs at http://{addr}/docs", live.snapshot.manifest.routes.len());
        server::serve(listener, AppState::new(live), server::shutdown_signal(), GRACE).await.context("server failed")?;
        Ok::<(), Error>(())
    })?;
    // Runs still finishing on blocking threads are abandoned here; the grace period was theirs.
    runtime.shutdown_timeout(Duration::from_millis(100));
    Ok(())
}

/// The first line on stdout, flushed at once so a supervisor or test can read the address.
fn announce(line: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}").and_then(|()| stdout.flush()).context("cannot write to stdout")?;
    Ok(())
}

/// Parts of the manifest that this version accepts but cannot honour yet are refused (queue
/// mode would silently lose the durability it promises) or announced (triggers that are not run).
fn refuse_unsupported(snapshot: &Snapshot) -> Result<(), Error> {
    let manifest = &snapshot.manifest;
    if let Some(index) = manifest.routes.iter().position(|route| route.mode == Mode::Queue) {
        return Err(Error::Usage(format!(
            "route[{index}].mode: \"queue\" (durable queueing) is not available in this version; use \"sync\""
        )));
    }
    let waiting = [("[[cron]] jobs", manifest.crons.len()), ("[[watch]] folders", manifest.watches.len()), ("[[on]] subscriptions", manifest.subscriptions.len())];
    for (what, count) in waiting {
        if count > 0 {
            tracing::warn!("{count} {what} are declared but not run by this version");
        }
    }
    Ok(())
}
