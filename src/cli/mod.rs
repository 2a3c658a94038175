//! The command line: parses arguments, sets up logging and runs one command.

mod args;
mod check;
mod claim;
mod completions;
mod cron;
mod init;
mod openapi;
mod repl;
mod routes;
mod run;
mod running;
mod runs;
mod serve;

use crate::error::Error;
use args::{Cli, Command, LogFormat};
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

/// Entry point of the binary: runs the command and turns its error into an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => serve::serve(args),
        Command::Run(args) => run::run(args),
        Command::Check(args) => check::check(args),
        Command::Routes(args) => routes::routes(args),
        Command::Openapi(args) => openapi::openapi(args),
        Command::Runs(args) => runs::runs(args),
        Command::Cron(args) => cron::cron(args),
        Command::Init { dir, listen } => init::init(&dir, &listen),
        Command::Repl(args) => repl::repl(args),
        Command::Completions { shell } => completions::completions(shell),
        Command::Man { command } => completions::man(command.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

fn report(err: &Error) {
    let mut stderr = std::io::stderr().lock();
    match err {
        Error::Config(errors) => {
            for error in &errors.0 {
                let _ = writeln!(stderr, "error: {error}");
            }
        }
        Error::Other(err) => {
            let _ = writeln!(stderr, "error: {err:#}");
        }
        other => {
            let _ = writeln!(stderr, "error: {other}");
        }
    }
}

/// The log filter unless `SWITCHBOARD_LOG` says otherwise. A PostgreSQL server's notices
/// ("table does not exist, skipping") are not the hub's news, and a certificate that fails
/// verification is reported to the script that connected, with its connection's name.
const LOG_FILTER: &str = "info,tokio_postgres=warn,rustls_platform_verifier=off";

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(LOG_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Writes `text` and a newline to stdout; a closed pipe (`| head`) is not an error.
fn print_stdout(text: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(anyhow::Error::from(err).into()),
        _ => Ok(()),
    }
}
