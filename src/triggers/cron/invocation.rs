//! The run of one cron occurrence, scheduled or fired by hand: a cron-kind `Invocation` whose
//! `event` says which occurrence it is.

use crate::config::Cron;
use crate::runner::Invocation;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

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
    Invocation::cron(job, zone, scheduled, firing == Firing::CatchUp, firing == Firing::Manual)
}
