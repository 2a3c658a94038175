//! The state of the run executing on this thread: deadline, operation limit, captured output
//! (bounded as it is captured: a line to `max_line`, a run's lines to `max_output`).
//!
//! Rhai's progress and print callbacks are set once per engine and receive no per-run data, so
//! the run in progress lives in a thread-local. A run evaluates synchronously on one thread
//! (stdlib I/O uses `block_in_place`, which stays on the thread), so the thread-local is exact.

use rhai::Dynamic;
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A snapshot's compiled scripts, by name.
pub type Scripts = std::collections::BTreeMap<String, Arc<rhai::AST>>;

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

/// Events one run may emit, and bytes of their data (as JSON) together: they are held until the
/// run ends and then stored, so a loop of `events::emit` must not grow without bound.
pub const MAX_EVENTS: usize = 1_000;
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// How much of what a run prints and logs is kept: each line, and all its lines together (bytes
/// of text, markers included). Applied as each line is captured, so no more is ever held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputLimits {
    /// `[limits] max_line`.
    pub max_line: usize,
    /// `[limits] max_output`.
    pub max_output: usize,
}

impl OutputLimits {
    /// The bounds `[limits]` sets.
    pub fn of(limits: &crate::config::Limits) -> Self {
        let bytes = |size: crate::config::Size| usize::try_from(size.0).unwrap_or(usize::MAX);
        Self { max_line: bytes(limits.max_line), max_output: bytes(limits.max_output) }
    }
}

impl Default for OutputLimits {
    fn default() -> Self {
        Self::of(&crate::config::Limits::default())
    }
}

/// The shortest room a cut line is kept in: less would hold little more than its marker, so a line
/// that finds less room left in the run's output is dropped instead.
const MIN_CUT: usize = 64;

/// `text` cut to at most `limit` bytes (at a character boundary), its end marked with how many
/// bytes were cut: `… [truncated: 834494 bytes]`. Text within `limit` comes back as it is.
pub fn truncate(text: &str, limit: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= limit {
        return std::borrow::Cow::Borrowed(text);
    }
    // The marker's length depends on the number it holds, which depends on where the cut is;
    // sized for the largest number first, the cut then moves back only to a character boundary.
    let mut cut = limit.saturating_sub(marker(text.len()).len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut kept = String::with_capacity(limit);
    kept.push_str(&text[..cut]);
    kept.push_str(&marker(text.len() - cut));
    std::borrow::Cow::Owned(kept)
}

fn marker(cut: usize) -> String {
    format!("… [truncated: {cut} bytes]")
}

/// The line that ends a run's lines when some were not kept: how many and how large.
pub fn dropped_marker(lines: usize, bytes: usize) -> Option<String> {
    (lines > 0).then(|| format!("[{lines} more lines ({bytes} bytes) not kept]"))
}

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
    /// Lines not kept at all (past [`MAX_LINES`] or `max_output`), and their bytes.
    pub dropped_lines: usize,
    pub dropped_bytes: usize,
    /// The bounds of `lines`.
    pub output: OutputLimits,
    /// Bytes of text in `lines`.
    pub kept_bytes: usize,
    /// Also write each line to stderr as it happens (used by `switchboard run`).
    pub echo: bool,
    /// Nesting of `actions::run`.
    pub depth: usize,
    /// The scripts `actions::run` may call: the compiled scripts of the run's snapshot.
    pub scripts: Option<Arc<Scripts>>,
    /// After this many operations, hand the async worker this run is on to another thread.
    pub hand_off_after: Option<u64>,
    /// Events emitted by `events::emit`, stored when the run ends; at most [`MAX_EVENTS`] of
    /// [`MAX_EVENT_BYTES`] together.
    pub emitted: Vec<(String, serde_json::Value)>,
    pub emitted_bytes: usize,
    /// Redacts lines that are echoed as they happen, and a line before it is cut (so a cut cannot
    /// keep part of a secret); kept lines are redacted again when the run ends.
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
            dropped_bytes: 0,
            output: OutputLimits::default(),
            kept_bytes: 0,
            echo: false,
            depth: 0,
            scripts: None,
            hand_off_after: None,
            emitted: Vec::new(),
            emitted_bytes: 0,
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
            super::hand_off_worker();
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

/// The current run's cancel flag, for a wait that watches it from another task or thread; `None`
/// outside a run or for a run nobody can cancel.
pub fn cancel_flag() -> Option<Arc<AtomicBool>> {
    CURRENT.with(|current| current.borrow().as_ref().and_then(|state| state.cancel.clone()))
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

/// The compiled scripts of the current run's snapshot, by name.
pub fn scripts() -> Option<Arc<Scripts>> {
    CURRENT.with(|current| current.borrow().as_ref().and_then(|state| state.scripts.clone()))
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

/// Why an emitted event was refused.
#[derive(Debug, thiserror::Error)]
pub enum EventRefused {
    #[error("events can only be emitted from inside a run")]
    OutsideRun,
    #[error("a run may emit at most {MAX_EVENTS} events")]
    TooMany,
    #[error("a run may emit at most {} MiB of event data (as JSON); `{name}` would bring it to {bytes} bytes", MAX_EVENT_BYTES >> 20)]
    TooLarge { name: String, bytes: usize },
}

/// Adds an emitted event to the current run; refused outside a run and past the run's bounds.
pub fn record_event(name: &str, data: serde_json::Value) -> Result<(), EventRefused> {
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        let state = current.as_mut().ok_or(EventRefused::OutsideRun)?;
        if state.emitted.len() >= MAX_EVENTS {
            return Err(EventRefused::TooMany);
        }
        let bytes = state.emitted_bytes + name.len() + crate::json::approx_len(&data);
        if bytes > MAX_EVENT_BYTES {
            return Err(EventRefused::TooLarge { name: name.to_string(), bytes });
        }
        state.emitted_bytes = bytes;
        state.emitted.push((name.to_string(), data));
        Ok(())
    })
}

/// Records a printed or logged line in the current run, cut to the run's `max_line` and, past its
/// `max_output` (or [`MAX_LINES`]), counted rather than kept.
pub fn push_line(level: Level, text: &str) {
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        let Some(state) = current.as_mut() else {
            let text = truncate(text, OutputLimits::default().max_line);
            tracing::info!(target: "script", "{text}");
            return;
        };
        let room = state.output.max_line.min(state.output.max_output.saturating_sub(state.kept_bytes));
        let fits = text.len() <= room;
        if state.lines.len() >= MAX_LINES || (!fits && room < MIN_CUT) {
            state.dropped_lines += 1;
            state.dropped_bytes += text.len();
            // Nothing fits after this one either.
            state.kept_bytes = state.output.max_output;
            return;
        }
        let text = if fits { text.to_string() } else { truncate(&state.secrets.redact(text), room).into_owned() };
        if state.echo {
            eprintln!("[{}] {}", level.as_str(), state.secrets.redact(&text));
        }
        state.kept_bytes += text.len();
        state.lines.push(Line { level, text });
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

    #[test]
    fn a_long_line_is_cut_with_a_marker_and_the_run_stops_keeping_lines_at_its_output_bound() {
        let mut state = RunState::new(Duration::from_secs(60), u64::MAX);
        state.output = OutputLimits { max_line: 100, max_output: 250 };
        let active = enter(state);
        push_line(Level::Print, &"é".repeat(200));
        push_line(Level::Print, "short");
        push_line(Level::Info, &"x".repeat(300));
        push_line(Level::Warn, &"y".repeat(80));
        push_line(Level::Print, "even a short one is dropped now");
        let state = active.finish().expect("state");
        let texts: Vec<&str> = state.lines.iter().map(|line| line.text.as_str()).collect();
        assert_eq!(texts[0], format!("{}… [truncated: 326 bytes]", "é".repeat(37)));
        assert_eq!(texts[1], "short");
        assert_eq!(texts[2], format!("{}… [truncated: 226 bytes]", "x".repeat(74)));
        assert_eq!(texts.len(), 3);
        assert!(state.kept_bytes <= 250 && texts.iter().all(|text| text.len() <= 100));
        assert_eq!((state.dropped_lines, state.dropped_bytes), (2, 80 + 31));
    }

    #[test]
    fn a_secret_is_redacted_before_its_line_is_cut() {
        let mut state = RunState::new(Duration::from_secs(60), u64::MAX);
        state.output = OutputLimits { max_line: 100, max_output: 1000 };
        state.secrets = crate::secrets::Secrets::new(["0123456789abcdef".to_string()]);
        let active = enter(state);
        push_line(Level::Print, &format!("{}0123456789abcdef{}", "a".repeat(70), "b".repeat(100)));
        let state = active.finish().expect("state");
        let text = &state.lines[0].text;
        assert!(text.starts_with(&format!("{}***", "a".repeat(70))) && !text.contains("0123"), "{text}");
    }
}
