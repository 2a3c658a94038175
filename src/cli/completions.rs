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

/// Prints the man page, roff source for `man -l -`: the main page, or the page of `command`
/// (`switchboard-runs(1)`), one of those the main page's SEE ALSO names.
pub fn man(command: Option<&str>) -> Result<(), Error> {
    let cli = Cli::command();
    let page_of = match command {
        None => cli,
        Some(name) => {
            let Some(sub) = cli.find_subcommand(name) else {
                let names: Vec<&str> = cli.get_subcommands().map(clap::Command::get_name).collect();
                return Err(Error::Usage(format!("no command `{name}`; man pages exist for {}", names.join(", "))));
            };
            sub.clone().display_name(format!("switchboard-{name}")).bin_name(format!("switchboard {name}"))
        }
    };
    let mut page = Vec::new();
    clap_mangen::Man::new(page_of).render(&mut page).map_err(anyhow::Error::from)?;
    print(&page)
}

fn print(bytes: &[u8]) -> Result<(), Error> {
    super::print_stdout(String::from_utf8_lossy(bytes).trim_end())
}
