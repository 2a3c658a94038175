//! Running blocking stdlib work without stalling the async runtime that may be driving the run.

use std::future::Future;
use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs blocking `work`. On a multi-threaded tokio worker it first hands the worker's other
/// tasks to another thread (`block_in_place`), so a slow call never stalls other requests,
/// while a run that never blocks pays for no thread hop.
pub fn blocking<R>(work: impl FnOnce() -> R) -> R {
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// Drives `future` to completion on `runtime` from synchronous script code.
pub fn wait<F: Future>(runtime: &Handle, future: F) -> F::Output {
    match Handle::try_current() {
        Ok(_) => blocking(|| runtime.block_on(future)),
        Err(_) => runtime.block_on(future),
    }
}
