//! `switchboard serve`: the hub's routes, cron jobs and events until SIGINT or SIGTERM, reloading
//! edited files as it goes.

use super::args::ServeArgs;
use crate::error::Error;
use crate::hub::Snapshot;
use crate::service::Service;
use crate::triggers::http::server;
use anyhow::Context;
use std::io::Write;
use std::time::Duration;

/// How long in-flight requests may take to finish after a shutdown signal.
const GRACE: Duration = Duration::from_secs(10);

pub fn serve(args: ServeArgs) -> Result<(), Error> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    let snapshot = Snapshot::load(&args.hub.dir, runtime.handle().clone())?;
    // The same warnings `check` prints, through the log so `--log-format json` stays JSON.
    for warning in &snapshot.warnings {
        tracing::warn!("{warning}");
    }
    if !snapshot.problems.is_empty() {
        for (_, problem) in &snapshot.problems {
            eprintln!("error: {problem}");
        }
        return Err(Error::Failed("not serving a hub whose scripts do not compile (see `switchboard check`)".into()));
    }
    if let Some(problem) = args.listen.as_deref().and_then(crate::config::listen_problem) {
        return Err(Error::Usage(format!("--listen: {problem}")));
    }
    let listen = args.listen.unwrap_or_else(|| snapshot.manifest.server.listen.as_str().to_string());
    let dir = snapshot.dir.clone();
    let _claim = super::claim::claim(&dir)?;
    runtime.block_on(async move {
        // Bound before any trigger starts, so a start that fails here has run nothing.
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .map_err(|err| Error::Usage(format!("cannot listen on {listen}: {err}")))?;
        let service =
            Service::start(dir.clone(), snapshot).map_err(|err| Snapshot::startup_error(&dir, err.to_string()))?;
        let _watcher = if args.no_watch {
            None
        } else {
            Some(service.watch_files().context("cannot watch the hub's files for changes")?)
        };
        let addr = listener.local_addr().context("listener address")?;
        announce(&format!("listening on http://{addr}"))?;
        // Lets `cron run` find this hub; removed at a graceful stop.
        let _running = super::running::announce(&dir, addr)
            .inspect_err(|err| {
                tracing::warn!("cannot write data/serve.json (`cron run` will not find this hub): {err}")
            })
            .ok();
        let routes = crate::count::count(service.snapshot().manifest.routes.len(), "route", "routes");
        tracing::info!("serving {routes}; docs at http://{addr}/docs");
        server::serve(listener, service.http.clone(), server::shutdown_signal(), GRACE)
            .await
            .context("server failed")?;
        service.stop(GRACE).await;
        // The grace period is over: programs started by runs still in flight would outlive us.
        crate::stdlib::exec::stop_all();
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
