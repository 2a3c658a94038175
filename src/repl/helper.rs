//! The rustyline helper: Tab completion (seeing the lines an unfinished entry already has), file
//! names after `:load`, and a dimmed signature hint. Each line of an entry is read on its own (see
//! `interactive::read_entry`), so the validator accepts every line.

use super::completion::Vocabulary;
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};
use std::borrow::Cow;

/// Completion, hints and validation for one editor.
pub struct ReplHelper {
    pub vocabulary: Vocabulary,
    /// The lines of the unfinished entry before the one being typed, each ended by a newline, so
    /// that completion knows whether the cursor is in a string or comment they opened.
    pub pending: String,
    files: FilenameCompleter,
}

impl ReplHelper {
    pub fn new(vocabulary: Vocabulary) -> Self {
        Self { vocabulary, pending: String::new(), files: FilenameCompleter::new() }
    }
}

impl Helper for ReplHelper {}

impl Validator for ReplHelper {}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        if self.pending.is_empty() && line[..pos].starts_with(":load ") {
            return self.files.complete(line, pos, ctx);
        }
        let entry = format!("{}{line}", self.pending);
        let (start, candidates) = self.vocabulary.complete(&entry, self.pending.len() + pos);
        let pairs = candidates.into_iter().map(|c| Pair { display: c.display, replacement: c.replacement }).collect();
        Ok((start.saturating_sub(self.pending.len()), pairs))
    }
}

/// A hint that is only shown: Right arrow does not insert a signature.
pub struct Signature(String);

impl rustyline::hint::Hint for Signature {
    fn display(&self) -> &str {
        &self.0
    }

    fn completion(&self) -> Option<&str> {
        None
    }
}

impl Hinter for ReplHelper {
    type Hint = Signature;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<Signature> {
        let entry = format!("{}{line}", self.pending);
        self.vocabulary.hint(&entry, self.pending.len() + pos).map(Signature)
    }
}

impl Highlighter for ReplHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
    }
}
