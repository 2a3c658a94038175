//! One complete entry, typed or piped: a `:command` or Rhai code, evaluated and shown.

use super::commands;
use super::shell::{Flow, Shell};

/// Handles one complete entry.
pub fn handle(shell: &mut Shell, entry: &str) -> Flow {
    let trimmed = entry.trim();
    if trimmed.is_empty() {
        return Flow::Continue;
    }
    if trimmed.starts_with(':') {
        return commands::execute(shell, trimmed);
    }
    shell.evaluate(entry, "repl");
    Flow::Continue
}
