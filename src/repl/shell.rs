//! The REPL between entries: its session, what it counts, and how an entry's value or error is shown.

use super::print;
use super::session::{Evaluated, Session};
use crate::config::Manifest;
use crate::engine::RunError;
use crate::runner::Outcome;

/// Whether the REPL goes on after an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// The session plus what the commands need around it.
pub struct Shell {
    pub session: Session,
    /// Renders `:routes` (the same text as `switchboard routes`).
    pub routes: fn(&Manifest) -> String,
    /// Entries and commands that failed (piped mode exits 1 when there were any).
    pub failures: usize,
    /// Counts `:reload`s, so the editor knows when to re-read the engine's functions.
    pub reloads: usize,
}

impl Shell {
    pub fn new(session: Session, routes: fn(&Manifest) -> String) -> Self {
        Self { session, routes, failures: 0, reloads: 0 }
    }

    /// Evaluates code into the session and shows its value or error.
    pub fn evaluate(&mut self, code: &str, label: &str) {
        let Evaluated { result, deliveries } = self.session.eval(code, label);
        match result {
            Ok(value) => {
                if let Some(text) = print::value(&self.session.snapshot().engine, &value) {
                    print::out(&self.redact(&text));
                }
            }
            Err(err) => self.fail(&err),
        }
        self.show_deliveries(&deliveries);
    }

    /// Shows an error of an entry; it never ends the session.
    pub fn fail(&mut self, err: &RunError) {
        self.failures += 1;
        match err {
            // After the `^C` the terminal echoed.
            RunError::Cancelled => print::err("\ninterrupted"),
            other => print::err(&format!("error: {}", self.redact(&other.to_string()))),
        }
    }

    /// Shows a problem with the REPL's own input (an unknown command, bad JSON).
    pub fn complain(&mut self, message: &str) {
        self.failures += 1;
        print::err(&format!("error: {message}"));
    }

    /// Reports the `[[on]]` subscribers that ran for events an entry emitted.
    pub fn show_deliveries(&self, deliveries: &[Outcome]) {
        for delivered in deliveries {
            match &delivered.result {
                Ok(_) => print::err(&format!("[event] `{}` ok (run {})", delivered.script, delivered.run_id)),
                Err(err) => print::err(&format!(
                    "[event] `{}` {}: {err} (run {})",
                    delivered.script,
                    err.status(),
                    delivered.run_id
                )),
            }
        }
    }

    /// Warns about scripts and modules of the hub that do not compile.
    pub fn show_problems(&self) {
        for (name, err) in &self.session.snapshot().problems {
            print::err(&format!("warning: `{name}` does not compile: {err}"));
        }
    }

    /// Secret values never reach output, in the REPL as everywhere else.
    pub fn redact(&self, text: &str) -> String {
        self.session.snapshot().capabilities.secrets.redact(text)
    }
}
