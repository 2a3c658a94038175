//! How a run can end badly, with the script position users need to find the cause.

use super::context::Stop;
use super::response::Failure;
use rhai::{EvalAltResult, ParseError, Position};
use std::fmt;
use std::time::Duration;

/// A place in a script file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    pub source: String,
    pub line: usize,
    pub column: usize,
}

impl Location {
    fn of(source: &str, position: Position) -> Option<Self> {
        Some(Self { source: source.to_string(), line: position.line()?, column: position.position().unwrap_or(1) })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.source, self.line, self.column)
    }
}

/// Why a run did not produce a result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunError {
    /// The script does not exist in the hub.
    NotFound { script: String },
    /// The script (or a module it imports) does not compile.
    Compile { message: String, location: Option<Location> },
    /// The script raised an error, or a stdlib call failed.
    Script { message: String, location: Option<Location> },
    /// `fail(status, message)` ended the run on purpose.
    Failed { status: u16, message: String },
    /// The run passed its wall-clock deadline.
    Timeout { after: Duration },
    /// The run passed its operation limit.
    OperationLimit { limit: u64 },
    /// The run was interrupted (Ctrl-C in the REPL, shutdown).
    Cancelled,
    /// The input or result could not be converted.
    Invalid { message: String },
}

impl RunError {
    /// The short status word used in the run log and output.
    pub fn status(&self) -> &'static str {
        match self {
            RunError::Timeout { .. } => "timeout",
            RunError::Cancelled => "interrupted",
            _ => "error",
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |location: &Option<Location>| location.as_ref().map(|l| format!("{l}: ")).unwrap_or_default();
        match self {
            RunError::NotFound { script } => write!(f, "no script `{script}` in this hub"),
            RunError::Compile { message, location } => write!(f, "{}{message}", at(location)),
            RunError::Script { message, location } => write!(f, "{}{message}", at(location)),
            RunError::Failed { status, message } => write!(f, "failed with status {status}: {message}"),
            RunError::Timeout { after } => {
                write!(f, "timed out after {} (limits.timeout)", humantime::format_duration(*after))
            }
            RunError::OperationLimit { limit } => {
                write!(f, "stopped after {limit} operations (limits.max_operations)")
            }
            RunError::Cancelled => write!(f, "interrupted"),
            RunError::Invalid { message } => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for RunError {}

/// A compile error of the file `source`.
pub fn compile_error(source: &str, error: &ParseError) -> RunError {
    RunError::Compile { message: error.err_type().to_string(), location: Location::of(source, error.position()) }
}

/// The file a source name refers to: imported modules are known by their import name.
fn module_file(source: String) -> String {
    if source.ends_with(".rhai") || source.starts_with("std/") { source } else { format!("lib/{source}.rhai") }
}

/// Classifies an evaluation error of the script `source`, finding the innermost position.
pub fn run_error(source: &str, error: Box<EvalAltResult>, timeout: Duration, max_operations: u64) -> RunError {
    let mut source = source.to_string();
    let mut calls = Vec::new();
    let mut error = error;
    loop {
        match *error {
            EvalAltResult::ErrorInFunctionCall(name, fn_source, inner, _) => {
                if !fn_source.is_empty() {
                    source = module_file(fn_source);
                }
                calls.push(name);
                error = inner;
            }
            EvalAltResult::ErrorInModule(path, inner, _) => {
                source = module_file(path);
                error = inner;
            }
            other => {
                *error = other;
                break;
            }
        }
    }
    let position = error.take_position();
    if let EvalAltResult::ErrorTerminated(token, _) = &*error {
        if let Some(failure) = token.clone().try_cast::<Failure>() {
            return RunError::Failed { status: failure.status, message: failure.message };
        }
        match token.clone().try_cast::<Stop>() {
            Some(Stop::Timeout) => return RunError::Timeout { after: timeout },
            Some(Stop::Operations) => return RunError::OperationLimit { limit: max_operations },
            Some(Stop::Cancelled) => return RunError::Cancelled,
            None => {}
        }
    }
    if let EvalAltResult::ErrorParsing(parse, _) = &*error {
        return RunError::Compile { message: parse.to_string(), location: Location::of(&source, position) };
    }
    let mut message = match &*error {
        EvalAltResult::ErrorRuntime(value, _) => super::convert::to_text(value),
        other => other.to_string(),
    };
    if let Some(function) = calls.last() {
        message = format!("{message} (in function `{function}`)");
    }
    RunError::Script { message, location: Location::of(&source, position) }
}
