//! The benchmark driver behind `benches/run.sh`: starts Switchboard, the bare axum baseline and
//! (when installed) Node-RED and adnanh/webhook on loopback, measures them side by side with the
//! load tool and its own probes, and prints the tables (Markdown) that BENCHMARKS.md records.
//!
//! Every phase is bounded in time. Comparisons alternate between the systems within each round and
//! report the median of the rounds.

mod http;
mod load;
mod phases;
mod proc;
mod report;
mod stats;

use load::{Settings, Tool};
use report::Report;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

/// Everything the phases need.
pub struct Ctx {
    /// The repository root (holds benches/hubs).
    pub root: PathBuf,
    /// The switchboard binary under test.
    pub switchboard: PathBuf,
    /// The bare axum baseline binary.
    pub baseline: PathBuf,
    /// The inline prototype (axum + a precompiled Rhai AST), if built.
    pub rhai_inline: Option<PathBuf>,
    /// Another switchboard binary (say, an older build) measured beside the one under test.
    pub compare: Option<PathBuf>,
    /// Scratch folder for hub copies, logs and peers' configuration.
    pub work: PathBuf,
    pub tool: Tool,
    pub load: Settings,
    /// Rounds of every side-by-side comparison (the median is reported).
    pub rounds: usize,
    pub quick: bool,
    /// `node` and Node-RED's `red.js`, when Node-RED is installed.
    pub node_red: Option<(PathBuf, PathBuf)>,
    /// adnanh/webhook, when installed.
    pub webhook: Option<PathBuf>,
    /// Where criterion wrote its estimates.
    pub criterion: Option<PathBuf>,
}

impl Ctx {
    pub fn hub(&self, name: &str) -> PathBuf {
        self.root.join("benches").join("hubs").join(name)
    }

    pub fn log(&self, name: &str) -> PathBuf {
        self.work.join("logs").join(format!("{name}.log"))
    }

    /// A `switchboard serve` command for `hub` on a free loopback port.
    pub fn serve(&self, hub: &std::path::Path) -> std::process::Command {
        let mut command = std::process::Command::new(&self.switchboard);
        command.arg("serve").arg("--dir").arg(hub).arg("--listen").arg("127.0.0.1:0");
        command
    }
}

/// One measure: adds its tables and targets to the report.
type Phase = fn(&Ctx, &mut Report) -> Result<(), String>;

fn usage() -> ! {
    eprintln!(
        "usage: bench-driver --root DIR --switchboard BIN --baseline BIN --work DIR --tool wrk|oha --tool-path BIN\n\
         \x20      [--rhai-inline BIN] [--compare SWITCHBOARD_BIN] [--node PATH --node-red RED_JS] [--webhook BIN] [--criterion DIR] [--only PHASES] [--out FILE]\n\
         environment: QUICK=1, DURATION=seconds per load run, ROUNDS=n, CONNECTIONS=n"
    );
    std::process::exit(2)
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let mut args: HashMap<String, String> = HashMap::new();
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let Some(name) = flag.strip_prefix("--") else { usage() };
        let Some(value) = argv.next() else { usage() };
        args.insert(name.to_string(), value);
    }
    let path = |name: &str| args.get(name).map(PathBuf::from);
    let (Some(root), Some(switchboard), Some(baseline), Some(work)) =
        (path("root"), path("switchboard"), path("baseline"), path("work"))
    else {
        usage()
    };
    let tool = match Tool::new(
        args.get("tool").map_or("wrk", String::as_str),
        args.get("tool-path").map_or("wrk", String::as_str),
    ) {
        Ok(tool) => tool,
        Err(err) => {
            eprintln!("{err}");
            usage()
        }
    };
    // Peers' configuration files name absolute paths.
    let _ = std::fs::create_dir_all(&work);
    let work = work.canonicalize().unwrap_or(work);
    let quick = std::env::var("QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let ctx = Ctx {
        root,
        switchboard,
        baseline,
        rhai_inline: path("rhai-inline"),
        compare: path("compare"),
        work,
        tool,
        load: Settings {
            seconds: env_number("DURATION", if quick { 2 } else { 5 }),
            connections: env_number("CONNECTIONS", 32) as u32,
            threads: 1,
        },
        rounds: env_number("ROUNDS", 3).max(1) as usize,
        quick,
        node_red: path("node").zip(path("node-red")),
        webhook: path("webhook"),
        criterion: path("criterion"),
    };
    let _ = std::fs::create_dir_all(ctx.work.join("logs"));
    let only: Option<Vec<String>> =
        args.get("only").map(|list| list.split(',').map(|s| s.trim().to_string()).collect());
    let wanted = |phase: &str| only.as_ref().is_none_or(|list| list.iter().any(|p| p == phase));

    let started = Instant::now();
    let mut report = Report::new(&ctx);
    // The footprint phase reports the RSS peaks sampled by the HTTP phase, so it comes after it.
    let phases: [(&str, Phase); 7] = [
        ("micro", phases::micro::run),
        ("http", phases::throughput::run),
        ("queue", phases::queue::run),
        ("footprint", phases::footprint::run),
        ("reload", phases::reload::run),
        ("watch", phases::watch::run),
        ("cron", phases::cron::run),
    ];
    for (name, phase) in phases {
        if !wanted(name) {
            continue;
        }
        let phase_started = Instant::now();
        eprintln!("== {name}");
        if let Err(err) = phase(&ctx, &mut report) {
            eprintln!("   {name} failed: {err}");
            report.note(format!("The {name} phase failed: {err}"));
        }
        eprintln!("   {name} took {:.0} s", phase_started.elapsed().as_secs_f64());
    }
    report.note(format!("The driver's measurements took {:.0} s.", started.elapsed().as_secs_f64()));
    let text = report.render();
    println!("{text}");
    if let Some(out) = args.get("out")
        && let Err(err) = std::fs::write(out, &text)
    {
        eprintln!("cannot write {out}: {err}");
    }
}
