//! The Rhai runtime: per-run state and limits, blocking hand-off, value types and conversions,
//! responses, script errors and module resolution.

mod blocking;
pub mod context;
pub(crate) mod convert;
mod errors;
mod modules;
pub(crate) mod response;
pub(crate) mod time;
mod unit_hint;

pub(crate) use blocking::{
    Interrupted, blocking, blocking_detached, blocking_stoppable, hand_off_worker, pause, wait, wait_cancellable,
};
pub use errors::{Location, RunError, compile_error, run_error};
pub use modules::ModuleError;
pub(crate) use modules::{HubModules, STDLIB_MODULES};
pub(crate) use unit_hint::explain_unit;
