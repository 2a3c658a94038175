//! The Rhai runtime: the one engine builder, per-run limits, value conversions and script errors.

mod builder;
pub mod context;
pub mod convert;
mod errors;
mod modules;
pub mod response;

pub use builder::build;
pub use errors::{Location, RunError, compile_error, run_error};
pub use modules::STDLIB_MODULES;
