//! Running blocking work (stdlib calls, long runs) without stalling the async runtime that may be driving the run.

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

/// Moves the async worker this thread is running to another thread, so that the rest of a long
/// run (which goes on here) no longer holds a worker. Does nothing outside a multi-threaded
/// runtime or when this thread already gave its worker away.
pub fn hand_off_worker() {
    blocking(|| {
        // block_in_place takes the worker back when this closure returns if no other thread has
        // picked it up yet; a short pause lets the blocking-pool thread it started take it.
        if Handle::try_current().is_ok() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    });
}

/// Drives `future` to completion on `runtime` from synchronous script code.
pub fn wait<F: Future>(runtime: &Handle, future: F) -> F::Output {
    match Handle::try_current() {
        Ok(_) => blocking(|| runtime.block_on(future)),
        Err(_) => runtime.block_on(future),
    }
}
