//! The state of the run executing on this thread: deadline, operation limit, captured output.
//!
//! Rhai's progress and print callbacks are set once per engine and receive no per-run data, so
//! the run in progress lives in a thread-local. A run evaluates synchronously on one thread
//! (stdlib I/O uses `block_in_place`, which stays on the thread), so the thread-local is exact.

use rhai::Dynamic;
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How important a captured line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Print,
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    /// The lower-case name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Print => "print",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// One line a script printed or logged.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Line {
    pub level: Level,
    pub text: String,
}

/// Lines kept per run; later ones are counted, not stored, so a chatty loop cannot exhaust memory.
pub const MAX_LINES: usize = 1_000;

/// Why the progress callback stopped a run; carried as the termination token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Timeout,
    Operations,
    Cancelled,
}

/// The limits and sinks of one run.
pub struct RunState {
    pub deadline: Instant,
    pub max_operations: u64,
    /// Set from another thread to stop the run (Ctrl-C in the REPL); `None` for a run nobody can
    /// cancel.
    pub cancel: Option<Arc<AtomicBool>>,
    pub lines: Vec<Line>,
    pub dropped_lines: usize,
    /// Also write each line to stderr as it happens (used by `switchboard run`).
    pub echo: bool,
    /// Nesting of `actions::run`.
    pub depth: usize,
    /// After this many operations, hand the async worker this run is on to another thread.
    pub hand_off_after: Option<u64>,
    /// Events emitted by `events::emit`, stored when the run ends.
    pub emitted: Vec<(String, serde_json::Value)>,
    /// Redacts lines that are echoed as they happen (kept lines are redacted when the run ends);
    /// set only for a run that echoes.
    pub secrets: crate::secrets::Secrets,
}

impl RunState {
    /// A fresh state for a run that must end within `timeout`.
    pub fn new(timeout: Duration, max_operations: u64) -> Self {
        Self {
            deadline: Instant::now() + timeout,
            max_operations,
            cancel: None,
            lines: Vec::new(),
            dropped_lines: 0,
            echo: false,
            depth: 0,
            hand_off_after: None,
            emitted: Vec::new(),
            secrets: crate::secrets::Secrets::default(),
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<RunState>> = const { RefCell::new(None) };
    /// The operation count at which [`progress`] next has something to check: below it, the
    /// callback Rhai makes on every operation returns at once. 0 makes the next call check.
    static NEXT_CHECK: Cell<u64> = const { Cell::new(0) };
}

/// How often (in operations) a run looks at the clock and its cancel flag.
const CHECK_EVERY: u64 = 256;

/// Makes `state` the current run of this thread until the returned guard's [`Active::finish`].
pub fn enter(state: RunState) -> Active {
    let previous = CURRENT.with(|current| current.borrow_mut().replace(state));
    NEXT_CHECK.set(0);
    Active { previous }
}

/// The current run; restores whatever ran before it when finished or dropped.
pub struct Active {
    previous: Option<RunState>,
}

impl Active {
    /// Ends the run and returns its state.
    pub fn finish(mut self) -> Option<RunState> {
        let previous = self.previous.take();
        // The run that resumes (if any) recomputes its next check.
        NEXT_CHECK.set(0);
        CURRENT.with(|current| std::mem::replace(&mut *current.borrow_mut(), previous))
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            NEXT_CHECK.set(0);
            CURRENT.with(|current| *current.borrow_mut() = Some(previous));
        }
    }
}

/// Rhai's progress callback: stops the run at its operation limit, deadline or cancellation.
pub fn progress(operations: u64) -> Option<Dynamic> {
    if operations < NEXT_CHECK.get() {
        return None;
    }
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        let state = current.as_mut()?;
        if state.hand_off_after.is_some_and(|after| operations >= after) {
            state.hand_off_after = None;
            crate::stdlib::hand_off_worker();
        }
        if operations > state.max_operations {
            return Some(Dynamic::from(Stop::Operations));
        }
        // Reading the clock on every operation would double the cost of tight loops.
        if operations.is_multiple_of(CHECK_EVERY) {
            if state.cancel.as_ref().is_some_and(|cancel| cancel.load(Ordering::Relaxed)) {
                return Some(Dynamic::from(Stop::Cancelled));
            }
            if Instant::now() >= state.deadline {
                return Some(Dynamic::from(Stop::Timeout));
            }
        }
        let next = (operations / CHECK_EVERY + 1) * CHECK_EVERY;
        let next = next.min(state.max_operations.saturating_add(1));
        NEXT_CHECK.set(state.hand_off_after.map_or(next, |after| next.min(after)));
        None
    })
}

/// Time left before the current run's deadline; `None` outside a run.
pub fn remaining() -> Option<Duration> {
    CURRENT
        .with(|current| current.borrow().as_ref().map(|state| state.deadline.saturating_duration_since(Instant::now())))
}

/// Whether the current run was asked to stop (Ctrl-C in the REPL), for stdlib calls that wait.
pub fn cancelled() -> bool {
    CURRENT.with(|current| {
        let current = current.borrow();
        current.as_ref().and_then(|state| state.cancel.as_ref()).is_some_and(|cancel| cancel.load(Ordering::Relaxed))
    })
}

/// The error that ends a run at its deadline, for stdlib calls that wait (and so are not
/// interrupted by the progress callback) and find the deadline passed.
pub fn deadline_error() -> Box<rhai::EvalAltResult> {
    rhai::EvalAltResult::ErrorTerminated(Dynamic::from(Stop::Timeout), rhai::Position::NONE).into()
}

/// Whether the current run has passed its deadline.
pub fn past_deadline() -> bool {
    remaining().is_some_and(|left| left.is_zero())
}

/// The current run's nesting depth of `actions::run`.
pub fn depth() -> usize {
    CURRENT.with(|current| current.borrow().as_ref().map_or(0, |state| state.depth))
}

/// Sets the nesting depth of `actions::run` for the current run.
pub fn set_depth(depth: usize) {
    CURRENT.with(|current| {
        if let Some(state) = current.borrow_mut().as_mut() {
            state.depth = depth;
        }
    });
}

/// Adds an emitted event to the current run; false outside a run.
pub fn record_event(name: &str, data: serde_json::Value) -> bool {
    CURRENT.with(|current| match current.borrow_mut().as_mut() {
        Some(state) => {
            state.emitted.push((name.to_string(), data));
            true
        }
        None => false,
    })
}

/// Records a printed or logged line in the current run.
pub fn push_line(level: Level, text: &str) {
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        let Some(state) = current.as_mut() else {
            tracing::info!(target: "script", "{text}");
            return;
        };
        if state.echo {
            eprintln!("[{}] {}", level.as_str(), state.secrets.redact(text));
        }
        if state.lines.len() < MAX_LINES {
            state.lines.push(Line { level, text: text.to_string() });
        } else {
            state.dropped_lines += 1;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_stops_at_the_operation_limit() {
        let active = enter(RunState::new(Duration::from_secs(60), 10));
        assert!(progress(5).is_none());
        let stop = progress(11).and_then(|token| token.try_cast::<Stop>());
        assert_eq!(stop, Some(Stop::Operations));
        active.finish();
        assert!(progress(u64::MAX).is_none(), "no limits outside a run");
    }

    #[test]
    fn a_nested_run_and_the_run_it_returns_to_each_keep_their_own_limits() {
        let outer = enter(RunState::new(Duration::from_secs(60), 1000));
        assert!(progress(5).is_none());
        let inner = enter(RunState::new(Duration::from_secs(60), 10));
        assert!(progress(3).is_none());
        let stop = progress(11).and_then(|token| token.try_cast::<Stop>());
        assert_eq!(stop, Some(Stop::Operations), "the inner limit holds though the outer run checked first");
        inner.finish();
        assert!(progress(12).is_none(), "the outer run goes on under its own limit");
        let stop = progress(1001).and_then(|token| token.try_cast::<Stop>());
        assert_eq!(stop, Some(Stop::Operations));
        outer.finish();
    }

    #[test]
    fn progress_stops_at_the_deadline() {
        let active = enter(RunState::new(Duration::ZERO, u64::MAX));
        let stop = progress(256).and_then(|token| token.try_cast::<Stop>());
        assert_eq!(stop, Some(Stop::Timeout));
        active.finish();
    }

    #[test]
    fn lines_are_bounded() {
        let active = enter(RunState::new(Duration::from_secs(60), u64::MAX));
        for index in 0..MAX_LINES + 5 {
            push_line(Level::Print, &index.to_string());
        }
        let state = active.finish().expect("state");
        assert_eq!(state.lines.len(), MAX_LINES);
        assert_eq!(state.dropped_lines, 5);
    }
}
