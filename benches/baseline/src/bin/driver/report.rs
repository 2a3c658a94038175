//! The report: the machine, one Markdown table per measure, the targets from issue 7 with the
//! measured values next to them, and notes.

use crate::Ctx;
use std::fmt::Write;

/// One table.
pub struct Section {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub notes: Vec<String>,
}

/// A target and what was measured against it.
struct Target {
    what: String,
    target: String,
    measured: String,
    met: Option<bool>,
}

pub struct Report {
    /// Peak RSS (KiB) of each system during the HTTP phase, for the footprint table.
    pub rss_under_load: Vec<(String, f64)>,
    machine: Vec<(String, String)>,
    sections: Vec<Section>,
    targets: Vec<Target>,
    notes: Vec<String>,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn command_line(program: &std::path::Path, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").trim().to_string())
        .unwrap_or_default()
}

/// The load average (1, 5, 15 minutes) from /proc/loadavg.
pub fn load_average() -> String {
    read("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

impl Report {
    pub fn new(ctx: &Ctx) -> Self {
        let cpuinfo = read("/proc/cpuinfo");
        let cpu = cpuinfo
            .lines()
            .find(|line| line.starts_with("model name"))
            .and_then(|line| line.split_once(':'))
            .map_or("unknown".to_string(), |(_, model)| model.trim().to_string());
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let meminfo = read("/proc/meminfo");
        let memory = meminfo
            .lines()
            .find(|line| line.starts_with("MemTotal:"))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or("unknown".to_string(), |kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0));
        let kernel = read("/proc/sys/kernel/osrelease").trim().to_string();
        let git = std::process::Command::new("git")
            .arg("-C")
            .arg(&ctx.root)
            .args(["describe", "--always", "--dirty"])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
            .unwrap_or_default();
        let machine = vec![
            ("cores (nproc)".to_string(), cores.to_string()),
            ("CPU".to_string(), cpu),
            ("memory".to_string(), memory),
            ("kernel".to_string(), kernel),
            ("load average at start".to_string(), load_average()),
            ("switchboard".to_string(), format!("{} ({git})", command_line(&ctx.switchboard, &["--version"]))),
            ("load tool".to_string(), ctx.tool.describe()),
            (
                "load settings".to_string(),
                format!(
                    "{}, {} connections, {} s per run, {} rounds{}",
                    match ctx.tool {
                        crate::load::Tool::Wrk(_) => format!("{} thread", ctx.load.threads),
                        crate::load::Tool::Oha(_) => "oha's own threads".to_string(),
                    },
                    ctx.load.connections,
                    ctx.load.seconds,
                    ctx.rounds,
                    if ctx.quick { " (QUICK=1)" } else { "" }
                ),
            ),
        ];
        Self { rss_under_load: Vec::new(), machine, sections: Vec::new(), targets: Vec::new(), notes: Vec::new() }
    }

    /// Adds a table and returns it for rows.
    pub fn section(&mut self, title: &str, header: &[&str]) -> &mut Section {
        self.sections.push(Section {
            title: title.to_string(),
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        });
        self.sections.last_mut().expect("just pushed")
    }

    /// Records a target from the issue and the measured value.
    pub fn target(&mut self, what: &str, target: &str, measured: String, met: Option<bool>) {
        self.targets.push(Target { what: what.to_string(), target: target.to_string(), measured, met });
    }

    pub fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    pub fn render(&mut self) -> String {
        self.machine.push(("load average at end".to_string(), load_average()));
        let mut out = String::new();
        let _ = writeln!(out, "## Machine\n");
        table(&mut out, &["", ""], &self.machine.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect::<Vec<_>>());
        if !self.targets.is_empty() {
            let _ = writeln!(out, "\n## Targets (issue 7)\n");
            let rows: Vec<Vec<String>> = self
                .targets
                .iter()
                .map(|t| {
                    let met = match t.met {
                        Some(true) => "yes",
                        Some(false) => "**no**",
                        None => "n/a",
                    };
                    vec![t.what.clone(), t.target.clone(), t.measured.clone(), met.to_string()]
                })
                .collect();
            table(&mut out, &["target", "wanted", "measured", "met"], &rows);
        }
        for section in &self.sections {
            let _ = writeln!(out, "\n## {}\n", section.title);
            let header: Vec<&str> = section.header.iter().map(String::as_str).collect();
            table(&mut out, &header, &section.rows);
            for note in &section.notes {
                let _ = writeln!(out, "\n{note}");
            }
        }
        if !self.notes.is_empty() {
            let _ = writeln!(out, "\n## Notes\n");
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }
}

fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}|", header.iter().map(|_| " --- ").collect::<Vec<_>>().join("|"));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
}

/// `48213.7` as `48,214`.
pub fn count(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".into();
    }
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 && c != '-' {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Milliseconds with sensible precision.
pub fn ms(value: f64) -> String {
    if !value.is_finite() {
        "n/a".into()
    } else if value < 1.0 {
        format!("{value:.3} ms")
    } else if value < 100.0 {
        format!("{value:.2} ms")
    } else {
        format!("{value:.0} ms")
    }
}

/// A ratio such as `0.93x`.
pub fn ratio(value: f64) -> String {
    if !value.is_finite() {
        "n/a".into()
    } else if value >= 10.0 {
        format!("{value:.0}x")
    } else {
        format!("{value:.2}x")
    }
}

/// KiB as MiB.
pub fn mib(kb: f64) -> String {
    if !kb.is_finite() || kb <= 0.0 { "n/a".into() } else { format!("{:.1} MiB", kb / 1024.0) }
}
