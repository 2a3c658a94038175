//! Running blocking work (stdlib calls, long runs) without stalling the async runtime that may be
//! driving the run, and waiting so that a cancelled run (Ctrl-C in the REPL) stops waiting.

use super::context;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tokio::runtime::{Handle, RuntimeFlavor};

/// How often a wait looks at the run's cancel flag: Ctrl-C ends a waiting call within this.
pub const CANCEL_POLL: Duration = Duration::from_millis(50);

/// A wait that ended early because the run was cancelled (Ctrl-C in the REPL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

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

/// Like [`wait`], but drops `future` (and so whatever I/O it has in flight) as soon as the run
/// is cancelled.
pub fn wait_cancellable<F: Future>(runtime: &Handle, future: F) -> Result<F::Output, Interrupted> {
    let Some(flag) = context::cancel_flag() else { return Ok(wait(runtime, future)) };
    wait(runtime, async move {
        let mut future = std::pin::pin!(future);
        let mut ticks = tokio::time::interval(CANCEL_POLL);
        loop {
            tokio::select! {
                output = &mut future => return Ok(output),
                _ = ticks.tick() => if flag.load(Ordering::Relaxed) { return Err(Interrupted) },
            }
        }
    })
}

/// Pauses the run for `pause`, in slices so that a cancelled run stops pausing.
pub fn pause(pause: Duration) -> Result<(), Interrupted> {
    let Some(flag) = context::cancel_flag() else {
        blocking(|| std::thread::sleep(pause));
        return Ok(());
    };
    let end = Instant::now() + pause;
    blocking(|| {
        loop {
            if flag.load(Ordering::Relaxed) {
                return Err(Interrupted);
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            std::thread::sleep(left.min(CANCEL_POLL));
        }
    })
}

/// Runs blocking `work` that another thread can cut short: while it runs, a watcher calls `stop`
/// once if the run is cancelled (for a SQLite query, its interrupt handle). Outside a cancellable
/// run no watcher is started.
pub fn blocking_stoppable<R>(stop: impl FnOnce() + Send, work: impl FnOnce() -> R) -> R {
    let Some(flag) = context::cancel_flag() else { return blocking(work) };
    std::thread::scope(|scope| {
        let (done, finished) = mpsc::channel::<()>();
        scope.spawn(move || watch(&flag, &finished, stop));
        let output = blocking(work);
        drop(done);
        output
    })
}

/// Runs blocking `work` that nothing can cut short on a thread of its own, and waits for it in
/// slices: a cancelled run stops waiting and leaves `work` to finish (bounded by its own
/// timeouts) with nobody reading its result. Outside a cancellable run it runs here.
pub fn blocking_detached<R: Send + 'static>(work: impl FnOnce() -> R + Send + 'static) -> Result<R, Interrupted> {
    let Some(flag) = context::cancel_flag() else { return Ok(blocking(work)) };
    let (sender, result) = mpsc::channel();
    let worker = std::thread::spawn(move || sender.send(work()));
    blocking(|| {
        loop {
            match result.recv_timeout(CANCEL_POLL) {
                Ok(output) => return Ok(output),
                Err(mpsc::RecvTimeoutError::Timeout) if flag.load(Ordering::Relaxed) => return Err(Interrupted),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                // `work` panicked: the panic goes on here, as it would have without the thread.
                Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
                    Err(panic) => std::panic::resume_unwind(panic),
                    Ok(_) => unreachable!("the worker sends its result before it ends"),
                },
            }
        }
    })
}

/// Calls `stop` if `flag` is set before `finished` disconnects.
fn watch(flag: &Arc<AtomicBool>, finished: &mpsc::Receiver<()>, stop: impl FnOnce()) {
    loop {
        match finished.recv_timeout(CANCEL_POLL) {
            Err(mpsc::RecvTimeoutError::Timeout) if flag.load(Ordering::Relaxed) => return stop(),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::context::RunState;

    fn cancellable_run(flag: &Arc<AtomicBool>) -> context::Active {
        let mut state = RunState::new(Duration::from_secs(600), u64::MAX);
        state.cancel = Some(Arc::clone(flag));
        context::enter(state)
    }

    /// Sets `flag` from another thread once the wait has started.
    fn cancel_soon(flag: &Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
        let flag = Arc::clone(flag);
        std::thread::spawn(move || {
            std::thread::sleep(CANCEL_POLL);
            flag.store(true, Ordering::SeqCst);
        })
    }

    #[test]
    fn a_pause_ends_when_the_run_is_cancelled() {
        let flag = Arc::new(AtomicBool::new(false));
        let _run = cancellable_run(&flag);
        let setter = cancel_soon(&flag);
        assert_eq!(pause(Duration::from_secs(3600)), Err(Interrupted));
        setter.join().expect("setter");
    }

    #[test]
    fn a_pause_outside_a_cancellable_run_runs_out() {
        assert_eq!(pause(Duration::from_millis(1)), Ok(()));
    }

    #[test]
    fn a_wait_drops_its_future_when_the_run_is_cancelled() {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
        let flag = Arc::new(AtomicBool::new(false));
        let _run = cancellable_run(&flag);
        let setter = cancel_soon(&flag);
        let never = std::future::pending::<()>();
        assert_eq!(wait_cancellable(runtime.handle(), never), Err(Interrupted));
        setter.join().expect("setter");
    }

    #[test]
    fn stoppable_work_is_stopped_when_the_run_is_cancelled() {
        let flag = Arc::new(AtomicBool::new(false));
        let _run = cancellable_run(&flag);
        let setter = cancel_soon(&flag);
        let (stop, stopped) = mpsc::channel();
        let waited = blocking_stoppable(
            move || stop.send(()).expect("send"),
            || stopped.recv_timeout(Duration::from_secs(3600)),
        );
        assert_eq!(waited, Ok(()));
        setter.join().expect("setter");
    }
}
