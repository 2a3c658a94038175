//! Cron jobs: schedules in IANA timezones that fire on time, with overlap and catch-up rules.

mod scheduler;

pub use scheduler::{CronJobs, JobStates};
