//! `switchboard cron`: the next fire times of a schedule, and firing a job now (through the
//! running hub when there is one, otherwise in this command).

use super::args::{CronAction, CronArgs};
use super::print_stdout;
use super::running::{self, Running};
use crate::config::{Schedule, ScheduleError};
use crate::error::Error;
use crate::hub::Snapshot;
use crate::runner;
use anyhow::Context;
use chrono::{DateTime, Utc};
use std::path::Path;

pub fn cron(args: CronArgs) -> Result<(), Error> {
    match args.action {
        CronAction::Next { expr, tz, from, count } => next(&expr, tz.as_deref(), from.as_deref(), count.into()),
        CronAction::Run { name, hub } => run(&name, &hub.dir),
    }
}

fn next(expr: &str, zone: Option<&str>, from: Option<&str>, count: usize) -> Result<(), Error> {
    let schedule = Schedule::parse(expr, zone).map_err(|err| match err {
        ScheduleError::UnknownZone(_) => {
            Error::Usage(format!("--tz: {err}; expected an IANA name such as \"Europe/London\""))
        }
        other => Error::Usage(other.to_string()),
    })?;
    let from = match from {
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map_err(|err| {
                Error::Usage(format!("--from `{text}` is not an RFC 3339 time such as 2026-11-27T09:00:00Z: {err}"))
            })?
            .with_timezone(&Utc),
        None => Utc::now(),
    };
    let times = schedule.upcoming(from, count);
    if times.is_empty() {
        return Err(Error::Failed(format!("`{expr}` never fires after {}", from.to_rfc3339())));
    }
    let lines: Vec<String> = times.iter().map(DateTime::to_rfc3339).collect();
    print_stdout(&lines.join("\n"))
}

fn run(name: &str, dir: &Path) -> Result<(), Error> {
    if let Some(hub) = running::find(dir) {
        match through_hub(name, dir, &hub) {
            Err(Unreached(err)) => {
                eprintln!("no hub answers at {} ({err:#}); running cron job `{name}` here", hub.url);
            }
            Ok(done) => return done,
        }
    }
    here(name, dir)
}

/// A running hub that could not be reached: its file is stale.
struct Unreached(anyhow::Error);

/// Asks the running hub to fire the job: `POST /_/cron/{name}/run` with an admin key.
fn through_hub(name: &str, dir: &Path, hub: &Running) -> Result<Result<(), Error>, Unreached> {
    let manifest = match crate::config::load(dir, &crate::hub::script_names(dir)) {
        Ok(loaded) => loaded.manifest,
        Err(errors) => return Ok(Err(errors.into())),
    };
    let admin = crate::triggers::http::ADMIN_SCOPE;
    let Some(key) = manifest.keys.iter().find(|key| key.scopes.iter().any(|scope| scope == admin)) else {
        return Ok(Err(Error::Usage(format!(
            "a hub is running at {}; `cron run` fires a job through its admin API, which needs a key with \
             scopes = [\"{admin}\"] in switchboard.toml (or stop the hub to run the job here)",
            hub.url
        ))));
    };
    let url = format!("{}/_/cron/{}/run", hub.url, percent_encoding::utf8_percent_encode(name, SEGMENT));
    let answer = ask(&url, key.token.as_str()).map_err(Unreached)?;
    let (status, body) = answer;
    let message = body["error"].as_str().map_or_else(|| body.to_string(), str::to_string);
    Ok(match status {
        202 => {
            let at = body["scheduled_at"].as_str().unwrap_or_default();
            let script = manifest.crons.iter().find(|job| job.name == name).map_or("", |job| job.script.as_str());
            print_stdout(&format!(
                "fired cron job `{name}` on the hub at {} (scheduled_at {at}); `switchboard runs list --script {script}` shows its run",
                hub.url
            ))
        }
        404 => Err(Error::Usage(message)),
        _ => Err(Error::Failed(format!("the hub at {} answered {status}: {message}", hub.url))),
    })
}

/// Characters a path segment may not hold as they are.
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

fn ask(url: &str, token: &str) -> anyhow::Result<(u16, serde_json::Value)> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        // The hub is on this machine: never through a proxy from the environment.
        let client = reqwest::Client::builder().no_proxy().build()?;
        let response = client.post(url).bearer_auth(token).send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or_default()))
    })
}

/// Runs the job in this command, as the hub would fire it, and prints its result.
fn here(name: &str, dir: &Path) -> Result<(), Error> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    let snapshot = Snapshot::load(dir, runtime.handle().clone())?;
    crate::stdlib::exec::end_on_interrupt(runtime.handle());
    let mut invocation = crate::triggers::cron::manual_invocation(&snapshot, name, Utc::now())
        .map_err(|err| Error::Usage(err.to_string()))?;
    invocation.how.echo = true;
    let outcome = runner::run(&snapshot, invocation);
    super::run::finish(&snapshot, outcome)
}
