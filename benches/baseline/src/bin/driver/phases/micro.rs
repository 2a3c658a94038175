//! Criterion's micro-benchmarks (`benches/runner.rs`, run by `benches/run.sh` just before the
//! driver): their estimates, read from criterion's output folder.

use crate::Ctx;
use crate::report::Report;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn find(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            find(&path, out);
        } else if path.ends_with("new/estimates.json") {
            out.push(path);
        }
    }
}

fn time(ns: f64) -> String {
    if !ns.is_finite() {
        "n/a".into()
    } else if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1000.0)
    } else {
        format!("{:.2} ms", ns / 1_000_000.0)
    }
}

pub fn run(ctx: &Ctx, report: &mut Report) -> Result<(), String> {
    let Some(dir) = &ctx.criterion else {
        report.note("Criterion micro-benchmarks were not run (MICRO=0).".into());
        return Ok(());
    };
    let mut files = Vec::new();
    find(dir, &mut files);
    let mut rows = Vec::new();
    for estimates in files {
        let folder = estimates.parent().unwrap_or(&estimates);
        let read = |path: PathBuf| -> Option<Value> { serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok() };
        let (Some(estimates), Some(benchmark)) = (read(estimates.clone()), read(folder.join("benchmark.json"))) else {
            continue;
        };
        let id = benchmark["full_id"].as_str().unwrap_or("?").to_string();
        let point = |name: &str| estimates[name]["point_estimate"].as_f64().unwrap_or(f64::NAN);
        let low = estimates["median"]["confidence_interval"]["lower_bound"].as_f64().unwrap_or(f64::NAN);
        let high = estimates["median"]["confidence_interval"]["upper_bound"].as_f64().unwrap_or(f64::NAN);
        let median = point("median");
        rows.push((
            id.clone(),
            vec![
                format!("`{id}`"),
                time(median),
                format!("{} - {}", time(low), time(high)),
                time(point("mean")),
                crate::report::count(1e9 / median),
            ],
        ));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let section = report.section(
        "Per-run overhead (criterion)",
        &["benchmark", "median", "95% CI of the median", "mean", "runs/s on one thread"],
    );
    section.rows = rows.into_iter().map(|(_, row)| row).collect();
    section.notes.push(
        "`benches/runner.rs`, library API (`Snapshot::load`, `runner::run`), one thread. `run/*` is one whole run: \
         input mapping, evaluation, result mapping and the run-log record handed to the batched writer (which writes \
         on its own thread); `eval/*` evaluates the cached AST alone; `sql/*` runs a script doing one SQLite query."
            .into(),
    );
    Ok(())
}
