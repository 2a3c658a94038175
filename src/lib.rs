//! Switchboard: a folder of Rhai scripts plus one `switchboard.toml`, served as a personal API
//! and automation hub. `main.rs` only calls [`cli::main`].

pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
pub mod host;
pub mod hub;
pub mod json_read;
pub mod json_write;
pub mod metrics;
pub mod queue;
pub mod reload;
pub mod repl;
pub mod runlog;
pub mod runner;
pub mod secrets;
pub mod service;
pub mod stdlib;
pub mod store;
pub mod triggers;
