//! Hot reload latency: a script file is saved (written and closed) while `serve` runs; the driver
//! polls the route every millisecond until the first response shows the new behaviour.

use crate::proc::{Server, copy_dir};
use crate::report::{self, Report};
use crate::stats::{max, percentile};
use crate::{Ctx, http};
use std::time::{Duration, Instant};

pub fn run(ctx: &Ctx, report: &mut Report) -> Result<(), String> {
    let hub = ctx.work.join("hubs").join("reload");
    copy_dir(&ctx.hub("http"), &hub)?;
    let server = Server::listening("Switchboard", ctx.serve(&hub), &ctx.log("reload"), Duration::from_secs(15))?;
    let script = hub.join("scripts").join("hello.rhai");
    let edits = if ctx.quick { 8 } else { 20 };
    let mut samples = Vec::new();
    let mut failures = 0;
    let mut polls = 0u64;
    for i in 1..=edits {
        // Let the previous reload finish and its debounce window close.
        std::thread::sleep(Duration::from_millis(300) + super::jitter(i, 100));
        let marker = format!("reload-{i}-{}", std::process::id());
        std::fs::write(&script, format!("// edited by the benchmark\n#{{ message: \"{marker}\", at: time::now() }}\n"))
            .map_err(|err| format!("{}: {err}", script.display()))?;
        let saved = Instant::now();
        loop {
            if saved.elapsed() > Duration::from_secs(10) {
                failures += 1;
                break;
            }
            polls += 1;
            if http::get(&server.url, "/hello").is_ok_and(|reply| reply.status == 200 && reply.body.contains(&marker)) {
                samples.push(saved.elapsed().as_secs_f64() * 1000.0);
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if failures >= 2 && samples.is_empty() {
            break;
        }
    }
    let p50 = percentile(&samples, 50.0);
    let p95 = percentile(&samples, 95.0);
    let section = report.section("Hot reload", &["measure", "edits", "p50", "p95", "max", "not seen within 10 s"]);
    section.rows.push(vec![
        "script saved -> first response with the new behaviour".into(),
        samples.len().to_string(),
        report::ms(p50),
        report::ms(p95),
        report::ms(max(&samples)),
        failures.to_string(),
    ]);
    section.notes.push(format!(
        "`scripts/hello.rhai` of a copy of `benches/hubs/http` is rewritten {edits} times, 300-400 ms apart; \
         the route is polled with a new connection every ~1 ms ({polls} polls in all)."
    ));
    report.target(
        "hot reload p95",
        "< 150 ms",
        report::ms(p95),
        (p95.is_finite() && failures == 0).then_some(p95 < 150.0).or(Some(false)),
    );
    Ok(())
}
