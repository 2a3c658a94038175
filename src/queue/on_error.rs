//! The `on_error` run after the last failed attempt of queued work or a background trigger.

use crate::runner::{Invocation, Outcome};
use serde_json::json;

/// The invocation of an `on_error` script for a run that failed for the last time.
pub fn on_error_invocation(script: &str, failed: &Outcome, failed_invocation: &Invocation, source: &str) -> Invocation {
    let error = failed.result.as_ref().err().map(ToString::to_string).unwrap_or_default();
    let input = json!({
        "run_id": failed.run_id,
        "script": failed.script,
        "source": source,
        "error": error,
        "attempts": failed_invocation.attempt.number,
        "input": failed_invocation.input_json(),
        "event": failed_invocation.event_json(),
    });
    Invocation::on_error(script, &input, failed)
}
