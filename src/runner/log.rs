//! The one log line of a run that has no caller to answer (background triggers, queued work).

use super::Outcome;

/// One log line per background run, with its printed lines at debug level.
pub fn log_outcome(trigger: &str, outcome: &Outcome) {
    let ms = outcome.duration.as_millis();
    for line in &outcome.lines {
        tracing::debug!(run_id = %outcome.run_id, "[{}] {}", line.level.as_str(), line.text);
    }
    match &outcome.result {
        Ok(_) => tracing::info!(run_id = %outcome.run_id, "{trigger}: `{}` ok in {ms} ms", outcome.script),
        Err(err) => {
            tracing::warn!(run_id = %outcome.run_id, "{trigger}: `{}` {} after {ms} ms: {err}", outcome.script, err.status())
        }
    }
}
