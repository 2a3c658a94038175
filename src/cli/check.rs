//! `switchboard check`: validate the manifest and compile every script, reporting every error.

use super::args::HubArgs;
use super::print_stdout;
use crate::error::Error;
use crate::hub::Snapshot;
use anyhow::Context;
use std::io::Write;

pub fn check(args: HubArgs) -> Result<(), Error> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    let snapshot = Snapshot::load(&args.dir, runtime.handle().clone())?;
    if !snapshot.problems.is_empty() {
        let mut stderr = std::io::stderr().lock();
        for (_, problem) in &snapshot.problems {
            let _ = writeln!(stderr, "error: {problem}");
        }
        let count = snapshot.problems.len();
        return Err(Error::Failed(format!("{count} script{} failed to compile", if count == 1 { "" } else { "s" })));
    }
    let manifest = &snapshot.manifest;
    print_stdout(&format!(
        "ok: {} scripts, {} routes, {} cron jobs, {} watches, {} subscriptions, {} connections",
        snapshot.scripts.len(),
        manifest.routes.len(),
        manifest.crons.len(),
        manifest.watches.len(),
        manifest.subscriptions.len(),
        manifest.connections.len()
    ))
}
