//! Cron accuracy: a `* * * * * *` job runs for a fixed time; for every firing the run log holds
//! `event.scheduled_at`, `event.fired_at` and the run's `started_at`. Lateness is measured against
//! the scheduled time.

use crate::Ctx;
use crate::proc::{Server, copy_dir};
use crate::report::{self, Report};
use crate::stats::{max, percentile};
use std::time::{Duration, Instant};

pub fn run(ctx: &Ctx, report: &mut Report) -> Result<(), String> {
    let hub = ctx.work.join("hubs").join("cron");
    copy_dir(&ctx.hub("cron"), &hub)?;
    let seconds = if ctx.quick { 15 } else { 60 };
    let mut server = Server::listening("Switchboard", ctx.serve(&hub), &ctx.log("cron"), Duration::from_secs(15))?;
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    server.stop();
    let ran_for = started.elapsed().as_secs_f64();
    let records = super::runs_list(ctx, &hub, "tick")?;
    let (mut fired, mut begun) = (Vec::new(), Vec::new());
    let mut statuses: std::collections::BTreeMap<String, usize> = Default::default();
    for record in &records {
        *statuses.entry(record["status"].as_str().unwrap_or("?").to_string()).or_default() += 1;
        let event = &record["event"];
        let Some(scheduled) = super::time(&event["scheduled_at"]) else { continue };
        if let Some(at) = super::time(&event["fired_at"]) {
            fired.push(super::ms_between(scheduled, at));
        }
        if let Some(at) = super::time(&record["started_at"]) {
            begun.push(super::ms_between(scheduled, at));
        }
    }
    let section =
        report.section("Cron accuracy", &["lateness after the scheduled second", "firings", "p50", "p99", "max"]);
    for (label, values) in
        [("timer fired (`event.fired_at`)", &fired), ("script started (run log `started_at`)", &begun)]
    {
        section.rows.push(vec![
            label.into(),
            values.len().to_string(),
            report::ms(percentile(values, 50.0)),
            report::ms(percentile(values, 99.0)),
            report::ms(max(values)),
        ]);
    }
    section.notes.push(format!(
        "`* * * * * *` for {ran_for:.0} s (about {:.0} occurrences); run log statuses: {}. Under `serve` a firing goes \
         through the durable queue before its script starts.",
        ran_for.floor(),
        statuses.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
    ));
    let p99 = percentile(&begun, 99.0);
    report.target(
        "cron p99 lateness (script started)",
        "< 20 ms",
        if begun.is_empty() { "no firings".into() } else { report::ms(p99) },
        Some(p99.is_finite() && p99 < 20.0),
    );
    Ok(())
}
