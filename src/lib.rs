//! Switchboard: a folder of Rhai scripts plus one `switchboard.toml`, served as a personal API
//! and automation hub. `main.rs` only calls [`cli::main`]; the other public modules are what the
//! integration tests and benchmarks drive directly. Modules are listed by layer, bottom first:
//! each names only the ones below it (ARCHITECTURE.md, `tests/tidy.rs`).

pub mod cli;
pub mod config;
pub(crate) mod count;
pub mod engine;
pub(crate) mod error;
pub mod host;
pub mod hub;
pub(crate) mod json;
pub(crate) mod metrics;
pub(crate) mod queue;
pub(crate) mod reload;
pub(crate) mod repl;
pub(crate) mod runlog;
pub mod runner;
pub mod secrets;
pub(crate) mod service;
pub mod stdlib;
pub(crate) mod store;
pub(crate) mod timestamp;
pub(crate) mod triggers;
