//! The REPL when stdin is not a terminal (`switchboard repl < session.rhai`): the same entries as
//! typed ones, without prompts, one result per entry on stdout, errors on stderr.

use super::entry::handle;
use super::scan;
use super::shell::{Flow, Shell};
use std::io::BufRead;

/// Evaluates every entry of `input` until its end or `:quit`.
pub fn run(shell: &mut Shell, input: impl BufRead) -> std::io::Result<()> {
    let mut entry = String::new();
    for line in input.lines() {
        let line = line?;
        if entry.is_empty() && line.trim().is_empty() {
            continue;
        }
        if !entry.is_empty() {
            entry.push('\n');
        }
        entry.push_str(&line);
        let command = entry.trim_start().starts_with(':');
        if !command && scan::scan(&entry).open {
            continue;
        }
        if handle(shell, &std::mem::take(&mut entry)) == Flow::Quit {
            return Ok(());
        }
    }
    // Input that ends inside a bracket or string is still evaluated, so its error is reported.
    if !entry.trim().is_empty() {
        handle(shell, &entry);
    }
    Ok(())
}
