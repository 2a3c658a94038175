//! The run of one cron occurrence, scheduled or fired by hand: a cron-kind `Invocation` whose
//! `event` says which occurrence it is.

use crate::config::Cron;
use crate::runner::Invocation;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;

/// How an occurrence came to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Firing {
    /// On its schedule.
    Scheduled,
    /// At start, for an occurrence missed while the hub was down (`catch_up = "once"`).
    CatchUp,
    /// By hand (`switchboard cron run`, `POST /_/cron/{name}/run`), now.
    Manual,
}

/// The invocation of `job` for the occurrence `scheduled`, times written in `zone`.
pub fn invocation(job: &Cron, zone: Tz, scheduled: DateTime<Utc>, firing: Firing) -> Invocation {
    let input = serde_json::to_value(&job.input.0).unwrap_or(Value::Null);
    let mut invocation = Invocation::manual(job.script.clone(), input);
    invocation.set_event(&serde_json::json!({
        "kind": "cron",
        "name": job.name,
        "schedule": job.schedule,
        "scheduled_at": scheduled.with_timezone(&zone).to_rfc3339(),
        "fired_at": Utc::now().with_timezone(&zone).to_rfc3339(),
        "catch_up": firing == Firing::CatchUp,
        "manual": firing == Firing::Manual,
    }));
    invocation.timeout = job.timeout.map(|t| t.0);
    invocation.max_operations = job.max_operations;
    invocation
}
