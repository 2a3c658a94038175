//! Cron jobs: schedules in IANA timezones that fire on time, with overlap and catch-up rules, and
//! firings by hand.

mod invocation;
mod manual;
mod scheduler;

pub use manual::{ManualError, fire_now, manual_invocation};
pub use scheduler::{CronJobs, JobStates};
