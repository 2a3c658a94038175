//! A cron job fired by hand, now: `switchboard cron run NAME` runs it in the command when no hub
//! is running, and asks a running hub through `POST /_/cron/{name}/run`, which queues it like a
//! scheduled occurrence (durable, with the job's retry rule and `on_error`). A manual firing is
//! neither skipped nor queued behind a run in progress, and does not count as an occurrence for
//! `catch_up`.

use super::invocation::{Firing, invocation};
use crate::config::{Cron, Schedule};
use crate::hub::Snapshot;
use crate::runner::Invocation;
use crate::triggers::background::Background;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Why a job could not be fired.
#[derive(Debug, thiserror::Error)]
pub enum ManualError {
    #[error("no cron job `{name}` in switchboard.toml{hint}")]
    UnknownJob { name: String, hint: String },
    #[error("cannot queue cron job `{name}`: {reason}")]
    NotQueued { name: String, reason: String },
}

/// The run of job `name` of `snapshot` fired by hand at `now` (`event.manual == true`).
pub fn manual_invocation(snapshot: &Snapshot, name: &str, now: DateTime<Utc>) -> Result<Invocation, ManualError> {
    let job = find(snapshot, name)?;
    let zone = Schedule::parse(&job.schedule, job.timezone.as_deref()).map_or(chrono_tz::Tz::UTC, |s| s.zone());
    Ok(invocation(job, zone, now, Firing::Manual))
}

fn find<'a>(snapshot: &'a Snapshot, name: &str) -> Result<&'a Cron, ManualError> {
    let Some(job) = snapshot.manifest.crons.iter().find(|job| job.name == name) else {
        let names = snapshot.manifest.crons.iter().map(|job| job.name.as_str());
        let hint = match crate::config::closest(name, names.clone()) {
            Some(best) => format!("; did you mean `{best}`?"),
            None if snapshot.manifest.crons.is_empty() => " (it declares no [[cron]] jobs)".to_string(),
            None => format!(" (its jobs: {})", names.collect::<Vec<_>>().join(", ")),
        };
        return Err(ManualError::UnknownJob { name: name.to_string(), hint });
    };
    Ok(job)
}

/// Queues job `name` to run now on the running hub; returns the time it was fired at.
pub async fn fire_now(
    snapshot: Arc<Snapshot>,
    name: &str,
    background: &Background,
) -> Result<DateTime<Utc>, ManualError> {
    let now = Utc::now();
    let invocation = manual_invocation(&snapshot, name, now)?;
    let not_queued = |reason: String| ManualError::NotQueued { name: name.to_string(), reason };
    let queue = &background.queue;
    let job = find(&snapshot, name)?;
    let policy = job.retry.unwrap_or_default();
    let item = crate::queue::item(&invocation, format!("cron {name}"), policy, job.on_error.clone());
    queue.enqueue(item).await.map_err(|err| not_queued(err.to_string()))?;
    tracing::info!("cron job `{name}`: fired by hand");
    Ok(now)
}
