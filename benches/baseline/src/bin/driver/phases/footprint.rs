//! Footprint: binary size, startup time to the first successful response, RSS idle and under
//! load (the peak sampled during the HTTP phase), Switchboard next to bare axum.

use crate::proc::{Server, copy_dir};
use crate::report::{self, Report};
use crate::stats::median;
use crate::{Ctx, http};
use std::process::Command;
use std::time::{Duration, Instant};

/// Starts `command` and measures the time until `GET /hello?name=bench` first answers 200, then
/// the RSS one second later. Returns (ms, KiB).
fn start_once(name: &str, command: Command, log: &std::path::Path) -> Result<(f64, f64), String> {
    let started = Instant::now();
    let mut server = Server::listening(name, command, log, Duration::from_secs(15))?;
    loop {
        if http::get(&server.url, "/hello?name=bench").is_ok_and(|reply| reply.status == 200) {
            break;
        }
        if started.elapsed() > Duration::from_secs(15) {
            return Err(format!("{name} gave no 200 within 15 s"));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    std::thread::sleep(Duration::from_secs(1));
    let rss = server.rss_kb().map_or(f64::NAN, |kb| kb as f64);
    server.stop();
    Ok((ms, rss))
}

pub fn run(ctx: &Ctx, report: &mut Report) -> Result<(), String> {
    let hub = ctx.work.join("hubs").join("footprint");
    copy_dir(&ctx.hub("http"), &hub)?;
    // A first start creates data/switchboard.db; the measured starts are restarts of that hub.
    let (first_ms, _) = start_once("Switchboard", ctx.serve(&hub), &ctx.log("footprint-first"))?;
    let starts = if ctx.quick { 3 } else { 7 };
    let (mut sb, mut axum) = (Vec::new(), Vec::new());
    for i in 0..starts {
        let mut once = |which: usize| -> Result<(), String> {
            if which == 0 {
                sb.push(start_once("Switchboard", ctx.serve(&hub), &ctx.log("footprint-switchboard"))?);
            } else {
                axum.push(start_once("bare axum", Command::new(&ctx.baseline), &ctx.log("footprint-axum"))?);
            }
            Ok(())
        };
        once(i % 2)?;
        once(1 - i % 2)?;
    }
    let size = |path: &std::path::Path| std::fs::metadata(path).map_or(f64::NAN, |m| m.len() as f64);
    let (sb_size, axum_size) = (size(&ctx.switchboard), size(&ctx.baseline));
    // Stripped copies, where `strip` exists (what a packaged binary would weigh).
    let stripped = |path: &std::path::Path, name: &str| -> f64 {
        let copy = ctx.work.join(format!("{name}.stripped"));
        let ok = Command::new("strip").arg("-o").arg(&copy).arg(path).status().is_ok_and(|s| s.success());
        if ok { size(&copy) } else { f64::NAN }
    };
    let (sb_stripped, axum_stripped) = (stripped(&ctx.switchboard, "switchboard"), stripped(&ctx.baseline, "baseline"));
    let sb_start = median(&sb.iter().map(|s| s.0).collect::<Vec<_>>());
    let axum_start = median(&axum.iter().map(|s| s.0).collect::<Vec<_>>());
    let sb_idle = median(&sb.iter().map(|s| s.1).collect::<Vec<_>>());
    let axum_idle = median(&axum.iter().map(|s| s.1).collect::<Vec<_>>());
    let loaded = |name: &str| report.rss_under_load.iter().find(|(n, _)| n == name).map_or(f64::NAN, |(_, kb)| *kb);
    let (sb_load, axum_load) = (loaded("Switchboard"), loaded("bare axum"));
    let peers: Vec<(String, f64)> =
        report.rss_under_load.iter().filter(|(n, _)| n != "Switchboard" && n != "bare axum").cloned().collect();

    let section = report.section("Footprint", &["measure", "Switchboard", "bare axum", "ratio"]);
    section.rows.push(vec![
        "binary size (release, not stripped)".into(),
        report::mib(sb_size / 1024.0),
        report::mib(axum_size / 1024.0),
        report::ratio(sb_size / axum_size),
    ]);
    section.rows.push(vec![
        "binary size, stripped".into(),
        report::mib(sb_stripped / 1024.0),
        report::mib(axum_stripped / 1024.0),
        report::ratio(sb_stripped / axum_stripped),
    ]);
    section.rows.push(vec![
        "startup to the first 200 (median)".into(),
        report::ms(sb_start),
        report::ms(axum_start),
        report::ratio(sb_start / axum_start),
    ]);
    section.rows.push(vec![
        "RSS idle (1 s after the first response)".into(),
        report::mib(sb_idle),
        report::mib(axum_idle),
        report::ratio(sb_idle / axum_idle),
    ]);
    section.rows.push(vec![
        "RSS under load (peak during the HTTP phase)".into(),
        report::mib(sb_load),
        report::mib(axum_load),
        report::ratio(sb_load / axum_load),
    ]);
    for (name, kb) in peers {
        section.rows.push(vec![format!("RSS under load, {name}"), report::mib(kb), String::new(), String::new()]);
    }
    section.notes.push(format!(
        "Startup: process spawned -> first `GET /hello` answered 200 (polled every 1 ms), {starts} starts each, \
         alternating, of a hub whose data/ already exists (the very first start, which creates \
         data/switchboard.db, took {}). RSS is VmRSS from /proc/PID/status.",
        report::ms(first_ms)
    ));
    report.target(
        "startup to the first response",
        "< 100 ms",
        report::ms(sb_start),
        sb_start.is_finite().then_some(sb_start < 100.0),
    );
    report.target(
        "idle RSS",
        "< 25 MB",
        report::mib(sb_idle),
        sb_idle.is_finite().then_some(sb_idle * 1024.0 < 25_000_000.0),
    );
    Ok(())
}
