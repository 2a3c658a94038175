//! `switchboard repl`: interactive Rhai against the hub's real engine, stdlib, connections, state
//! and limits. In a terminal it is a line editor with completion, hints, multi-line entry and
//! history; with piped input it evaluates the same entries without prompts.

mod commands;
mod completion;
mod entry;
mod helper;
mod interactive;
mod interrupt;
mod piped;
mod print;
mod scan;
mod session;
mod shell;

use crate::config::Manifest;
use crate::error::Error;
use anyhow::Context;
use session::Session;
use shell::Shell;
use std::io::IsTerminal;
use std::path::Path;

/// Runs the REPL on the hub at `dir`; `routes` renders `:routes`. Piped input exits with an error
/// (exit 1) at its end when any entry failed.
pub fn run(dir: &Path, routes: fn(&Manifest) -> String) -> Result<(), Error> {
    // Async I/O (HTTP) runs on this runtime's workers; entries evaluate on this thread, outside it.
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    let session = Session::open(dir, runtime.handle().clone())?;
    let mut shell = Shell::new(session, routes);
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return interactive::run(&mut shell, runtime.handle());
    }
    shell.show_problems();
    piped::run(&mut shell, stdin.lock()).context("cannot read the input")?;
    match shell.failures {
        0 => Ok(()),
        1 => Err(Error::Failed("1 entry failed".into())),
        n => Err(Error::Failed(format!("{n} entries failed"))),
    }
}
