//! Triggers turn outside happenings (requests, schedules, files, events, MQTT messages) into runs
//! of scripts.
//! Only `http` knows axum.

pub mod background;
pub mod cron;
pub mod events;
pub mod http;
pub mod mqtt;
pub mod watch;
