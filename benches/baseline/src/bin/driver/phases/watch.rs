//! Watch latency: a file is closed by its writer in a watched folder (and, separately, moved in by
//! rename); the run log's `started_at` of the run it started, minus the wall-clock time the file
//! was closed, is the latency.

use crate::proc::{Server, copy_dir};
use crate::report::{self, Report};
use crate::stats::{max, percentile};
use crate::{Ctx, http};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Waits until `path` is gone (moved to `move_to`), up to `limit`.
fn wait_gone(path: &Path, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if !path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

pub fn run(ctx: &Ctx, report: &mut Report) -> Result<(), String> {
    let hub = ctx.work.join("hubs").join("watch");
    copy_dir(&ctx.hub("watch"), &hub)?;
    let inbox = hub.join("inbox");
    let staging = hub.join("staging");
    std::fs::create_dir_all(&inbox).map_err(|err| err.to_string())?;
    std::fs::create_dir_all(&staging).map_err(|err| err.to_string())?;
    let mut server = Server::listening("Switchboard", ctx.serve(&hub), &ctx.log("watch"), Duration::from_secs(15))?;
    // Ready: the health endpoint answers and the watch had a moment to start.
    let ready = Instant::now();
    while ready.elapsed() < Duration::from_secs(5)
        && http::get(&server.url, "/_/health").map_or(true, |r| r.status != 200)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));

    let files = if ctx.quick { 5 } else { 10 };
    let limit = Duration::from_secs(5);
    let mut closed_at: HashMap<String, (&'static str, DateTime<Utc>)> = HashMap::new();
    let mut not_picked = HashMap::from([("closed", 0), ("moved", 0)]);
    for mode in ["closed", "moved"] {
        for i in 1..=files {
            std::thread::sleep(Duration::from_millis(100) + super::jitter(i, 100));
            let name = format!("{mode}-{i}.txt");
            let target = inbox.join(&name);
            let content = format!("id,name\n{i},bench file {i}\n");
            let at = if mode == "closed" {
                let mut file = std::fs::File::create(&target).map_err(|err| err.to_string())?;
                file.write_all(content.as_bytes()).map_err(|err| err.to_string())?;
                drop(file);
                Utc::now()
            } else {
                let staged = staging.join(&name);
                std::fs::write(&staged, content).map_err(|err| err.to_string())?;
                std::fs::rename(&staged, &target).map_err(|err| err.to_string())?;
                Utc::now()
            };
            closed_at.insert(name, (mode, at));
            if !wait_gone(&target, limit) {
                *not_picked.entry(mode).or_default() += 1;
                let _ = std::fs::remove_file(&target);
                if not_picked[mode] >= 2 && not_picked[mode] == i {
                    break;
                }
            }
        }
    }
    std::thread::sleep(Duration::from_millis(200));
    server.stop();
    let records = super::runs_list(ctx, &hub, "on_file")?;
    let mut samples: HashMap<&str, Vec<f64>> = HashMap::new();
    for record in &records {
        let Some(name) = record["input"]["name"].as_str() else { continue };
        let (Some((mode, at)), Some(started)) = (closed_at.get(name), super::time(&record["started_at"])) else {
            continue;
        };
        samples.entry(mode).or_default().push(super::ms_between(*at, started));
    }
    let section = report
        .section("Watch latency", &["file", "files", "runs started", "p50", "p95", "max", "not picked up within 5 s"]);
    for (mode, label) in [("closed", "written and closed in the folder"), ("moved", "moved in by rename")] {
        let values = samples.get(mode).cloned().unwrap_or_default();
        section.rows.push(vec![
            label.into(),
            closed_at.values().filter(|(m, _)| *m == mode).count().to_string(),
            values.len().to_string(),
            report::ms(percentile(&values, 50.0)),
            report::ms(percentile(&values, 95.0)),
            report::ms(max(&values)),
            not_picked[mode].to_string(),
        ]);
    }
    section.notes.push(
        "Latency = the run log's `started_at` of the run minus the wall-clock time the driver closed (or renamed) the \
         file. `benches/hubs/watch` uses the default `settle` (how long size and mtime must stay unchanged)."
            .into(),
    );
    let closed = samples.get("closed").cloned().unwrap_or_default();
    let p50 = percentile(&closed, 50.0);
    report.target(
        "watch p50, file closed by its writer",
        "< 100 ms",
        if closed.is_empty() { "no run started".into() } else { report::ms(p50) },
        Some(p50.is_finite() && p50 < 100.0),
    );
    Ok(())
}
