//! Command-line arguments (clap).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Switchboard: a folder of Rhai scripts plus one switchboard.toml, served as a personal API and
/// automation hub.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How logs on stderr are written.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Log line format.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the hub's routes over HTTP until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// Run one action once and print its result as JSON.
    Run(RunArgs),
    /// Validate the manifest and compile every script; report every error.
    Check(HubArgs),
    /// List routes, cron jobs, watches, subscriptions and MQTT subscriptions.
    Routes(HubArgs),
    /// Print the OpenAPI 3.1 document of the hub's routes.
    Openapi(HubArgs),
    /// Interactive Rhai with the hub's stdlib, connections, state and limits.
    Repl(HubArgs),
    /// The run log: list runs, show one, retry one.
    Runs(RunsArgs),
    /// Cron schedules: the next fire times of an expression; fire a job now.
    Cron(CronArgs),
    /// Create a new hub from a template.
    Init {
        /// The folder to create the hub in (created if missing).
        dir: PathBuf,
        /// The address the hub will listen on, written to [server] listen.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print the man page as roff (`switchboard man | man -l -` shows it).
    Man {
        /// A command's own page (`switchboard man runs`), which the main page's SEE ALSO names.
        command: Option<String>,
    },
}

/// `switchboard runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub action: RunsAction,
}

#[derive(Debug, Subcommand)]
pub enum RunsAction {
    /// List runs, newest first.
    List(RunsListArgs),
    /// Show one run: input, result, error and printed lines.
    Show {
        /// The run id (or a unique prefix of 8+ characters).
        id: String,
        /// Print the record as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Run a recorded run's script again with the same input.
    Retry {
        /// The run id (or a unique prefix of 8+ characters).
        id: String,
        #[command(flatten)]
        hub: HubArgs,
    },
}

/// The statuses a run record can have (README, "The run log").
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RunStatus {
    /// It succeeded.
    Ok,
    /// It failed (or, queued or retried, failed an attempt that was not the last).
    Error,
    /// It passed its time limit.
    Timeout,
    /// The hub stopped (or Ctrl-C) during it.
    Interrupted,
    /// A cron occurrence not run because the previous run was still going.
    Skipped,
    /// Its last attempt failed.
    Dead,
}

impl RunStatus {
    /// The status as the run log writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
            Self::Timeout => "timeout",
            Self::Interrupted => "interrupted",
            Self::Skipped => "skipped",
            Self::Dead => "dead",
        }
    }
}

/// `switchboard cron`.
#[derive(Debug, Args)]
pub struct CronArgs {
    #[command(subcommand)]
    pub action: CronAction,
}

#[derive(Debug, Subcommand)]
pub enum CronAction {
    /// Print the next fire times of a schedule, one RFC 3339 time per line.
    Next {
        /// The schedule, quoted: "0 7 * * MON-FRI", "*/10 * * * * *", "@daily", "0 9 * * MON#1".
        expr: String,
        /// The IANA timezone to read it in, such as Europe/London (default UTC).
        #[arg(long)]
        tz: Option<String>,
        /// Times after this RFC 3339 time (default now).
        #[arg(long)]
        from: Option<String>,
        /// How many times.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
        count: u16,
    },
    /// Fire a [[cron]] job now: through the running hub if there is one, otherwise here.
    Run {
        /// The job's `name`.
        name: String,
        #[command(flatten)]
        hub: HubArgs,
    },
}

/// `switchboard runs list`.
#[derive(Debug, Args)]
pub struct RunsListArgs {
    /// Only runs of this script.
    #[arg(long)]
    pub script: Option<String>,
    /// Only runs with this status.
    #[arg(long, value_enum)]
    pub status: Option<RunStatus>,
    /// Only runs started within this long (30m, 1h, 2d) or since an RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many runs (500 at most; past about 4 MiB of records, `--json` gives the rest
    /// as summaries).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub hub: HubArgs,
}

/// `switchboard serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, overriding [server] listen (port 0 picks a free port).
    #[arg(long)]
    pub listen: Option<String>,
    /// Do not reload when the hub's files change.
    #[arg(long)]
    pub no_watch: bool,
    #[command(flatten)]
    pub hub: HubArgs,
}

/// Where the hub is.
#[derive(Debug, Args)]
pub struct HubArgs {
    /// The hub folder (holding switchboard.toml).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
}

/// `switchboard run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A script name (`weather`, `tasks/create`) or a path to a .rhai file.
    pub script: String,
    /// The input map as JSON text, or @FILE to read it from a file.
    #[arg(long, short)]
    pub input: Option<String>,
    #[command(flatten)]
    pub hub: HubArgs,
}
