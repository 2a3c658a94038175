//! The rustyline helper: multi-line entry (an open bracket, string or comment continues the
//! entry), Tab completion, file names after `:load`, and a dimmed signature hint.

use super::completion::Vocabulary;
use super::scan;
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};
use std::borrow::Cow;

/// Completion, hints and validation for one editor.
pub struct ReplHelper {
    pub vocabulary: Vocabulary,
    files: FilenameCompleter,
}

impl ReplHelper {
    pub fn new(vocabulary: Vocabulary) -> Self {
        Self { vocabulary, files: FilenameCompleter::new() }
    }
}

impl Helper for ReplHelper {}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        // Commands are one line; only code continues over several.
        if input.trim_start().starts_with(':') || !scan::scan(input).open {
            return Ok(ValidationResult::Valid(None));
        }
        Ok(ValidationResult::Incomplete)
    }
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        if line[..pos].starts_with(":load ") {
            return self.files.complete(line, pos, ctx);
        }
        let (start, candidates) = self.vocabulary.complete(line, pos);
        let pairs = candidates.into_iter().map(|c| Pair { display: c.display, replacement: c.replacement }).collect();
        Ok((start, pairs))
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
        self.vocabulary.hint(line, pos).map(Signature)
    }
}

impl Highlighter for ReplHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
    }
}
