//! `switchboard check`: validate the manifest and compile every script, reporting every error,
//! then build what `serve` builds from them (route table, OpenAPI document) without listening or
//! opening the store, so whatever `serve` refuses, `check` refuses too, with the same message.

use super::args::HubArgs;
use super::print_stdout;
use crate::error::Error;
use crate::hub::Snapshot;
use crate::triggers::http::Live;
use anyhow::Context;
use std::io::Write;
use std::sync::Arc;

pub fn check(args: HubArgs) -> Result<(), Error> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    let snapshot = Snapshot::load(&args.dir, runtime.handle().clone())?;
    let mut stderr = std::io::stderr().lock();
    for warning in &snapshot.warnings {
        let _ = writeln!(stderr, "warning: {warning}");
    }
    if !snapshot.problems.is_empty() {
        for (_, problem) in &snapshot.problems {
            let _ = writeln!(stderr, "error: {problem}");
        }
        let count = snapshot.problems.len();
        return Err(Error::Failed(format!("{} failed to compile", crate::count::count(count, "script", "scripts"))));
    }
    let snapshot = Arc::new(snapshot);
    Live::new(Arc::clone(&snapshot)).map_err(|err| Snapshot::startup_error(&snapshot.dir, err.to_string()))?;
    let manifest = &snapshot.manifest;
    // Named only where there are any, so a hub without MQTT reads as it always did.
    let mqtt = match manifest.mqtt.len() {
        0 => String::new(),
        count => format!(", {}", crate::count::count(count, "MQTT subscription", "MQTT subscriptions")),
    };
    print_stdout(&format!(
        "ok: {}, {}, {}, {}, {}, {}{mqtt}",
        crate::count::count(snapshot.scripts.len(), "script", "scripts"),
        crate::count::count(manifest.routes.len(), "route", "routes"),
        crate::count::count(manifest.crons.len(), "cron job", "cron jobs"),
        crate::count::count(manifest.watches.len(), "watch", "watches"),
        crate::count::count(manifest.subscriptions.len(), "subscription", "subscriptions"),
        crate::count::count(manifest.connections.len(), "connection", "connections")
    ))
}
