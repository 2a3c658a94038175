//! `switchboard completions SHELL` and `switchboard man`: shell completions and a man page, both
//! generated from the clap definitions in args.rs so they never drift from the real command line.

use super::args::Cli;
use crate::error::Error;
use clap::CommandFactory;
use clap_complete::Shell;

/// Prints the completion script for `shell`.
pub fn completions(shell: Shell) -> Result<(), Error> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "switchboard", &mut script);
    print(&script)
}

/// Prints the man page, roff source for `man -l -`.
pub fn man() -> Result<(), Error> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page).map_err(anyhow::Error::from)?;
    print(&page)
}

fn print(bytes: &[u8]) -> Result<(), Error> {
    super::print_stdout(String::from_utf8_lossy(bytes).trim_end())
}
