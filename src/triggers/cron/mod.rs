//! Cron jobs: schedules in IANA timezones that fire on time, with overlap and catch-up rules.

mod schedule;
mod scheduler;

pub use schedule::Schedule;
pub use scheduler::{CronJobs, JobStates};
