//! The durable queue: accepted 202s per second on a `mode = "queue"` route (each request is stored
//! before it is answered), side by side with bare axum answering the same POST, and how long the
//! backlog then takes to drain.

use crate::load::{self, Measured, Request};
use crate::proc::{Server, copy_dir};
use crate::report::{self, Report};
use crate::stats::{max, median};
use crate::{Ctx, http};
use std::process::Command;
use std::time::{Duration, Instant};

const BODY: &str = r#"{"n": 1, "title": "queued"}"#;
const TOKEN: &str = "bench-token";
const ACCEPTED: &str = "switchboard_http_requests_total{route=\"POST /enqueue\",status=\"202\"}";
const FINISHED: &str = "switchboard_run_duration_seconds_count{script=\"queued\"}";

pub fn run(ctx: &Ctx, report: &mut Report) -> Result<(), String> {
    let hub = ctx.work.join("hubs").join("queue");
    copy_dir(&ctx.hub("queue"), &hub)?;
    let timeout = Duration::from_secs(15);
    let axum = Server::listening("bare axum", Command::new(&ctx.baseline), &ctx.log("queue-axum"), timeout)?;
    let sb = Server::listening("Switchboard", ctx.serve(&hub), &ctx.log("queue-switchboard"), timeout)?;
    let enqueue = Request { method: "POST", path: "/enqueue".into(), headers: Vec::new(), body: Some(BODY) };
    let echo = Request { method: "POST", path: "/echo?tag=bench".into(), headers: Vec::new(), body: Some(BODY) };
    let reply = http::request(&sb.url, "POST", "/enqueue", &[("Content-Type", "application/json")], Some(BODY))
        .map_err(|err| format!("enqueue: {err}"))?;
    if reply.status != 202 {
        return Err(format!("POST /enqueue answered {}: {}", reply.status, reply.body));
    }
    // One second of load already leaves a backlog of thousands of items, and draining takes far
    // longer than filling: longer runs would only make the phase slower.
    let settings = load::Settings { seconds: 1, ..ctx.load };
    let drain_limit = Duration::from_secs(if ctx.quick { 60 } else { 120 });

    let mut axum_runs: Vec<Measured> = Vec::new();
    let mut sb_runs: Vec<Measured> = Vec::new();
    let (mut accepted_rates, mut drains, mut backlogs, mut drain_rates) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut unfinished = None;
    for round in 0..ctx.rounds {
        let measure_axum = || load::run(&ctx.tool, &axum.url, &echo, settings, &ctx.work);
        if round % 2 == 0 {
            axum_runs.push(measure_axum()?);
        }
        let accepted_before = super::metric(&sb.url, TOKEN, ACCEPTED)?;
        let measured = load::run(&ctx.tool, &sb.url, &enqueue, settings, &ctx.work)?;
        let load_end = Instant::now();
        let accepted = super::metric(&sb.url, TOKEN, ACCEPTED)?;
        let finished_at_end = super::metric(&sb.url, TOKEN, FINISHED)?;
        let mut finished = finished_at_end;
        while finished < accepted && load_end.elapsed() < drain_limit {
            std::thread::sleep(Duration::from_millis(20));
            finished = super::metric(&sb.url, TOKEN, FINISHED)?;
        }
        let drain = load_end.elapsed().as_secs_f64();
        if finished < accepted {
            unfinished = Some((accepted - finished, drain_limit));
        }
        let backlog = accepted - finished_at_end;
        let rate = (accepted - accepted_before) / settings.seconds as f64;
        eprintln!(
            "   round {}: {} req/s by the load tool ({} accepted/s by the metric), p99 {}, backlog {} drained in {:.1} s",
            round + 1,
            report::count(measured.rps),
            report::count(rate),
            report::ms(measured.p99_ms),
            report::count(backlog),
            drain
        );
        accepted_rates.push(rate);
        drains.push(drain);
        backlogs.push(backlog);
        drain_rates.push(backlog / drain);
        sb_runs.push(measured);
        if round % 2 == 1 {
            axum_runs.push(measure_axum()?);
        }
        if unfinished.is_some() {
            break;
        }
    }
    let rps = median(&sb_runs.iter().map(|m| m.rps).collect::<Vec<_>>());
    let axum_rps = median(&axum_runs.iter().map(|m| m.rps).collect::<Vec<_>>());
    let accepted = median(&accepted_rates);
    let section = report.section(
        "Durable queue",
        &["measure", "Switchboard `mode = \"queue\"`", "bare axum POST (not stored)", "ratio"],
    );
    section.rows.push(vec![
        "accepted requests/s (202)".into(),
        format!("{} (by metric: {})", report::count(rps), report::count(accepted)),
        report::count(axum_rps),
        report::ratio(rps / axum_rps),
    ]);
    section.rows.push(vec![
        "p50 / p99 of the 202".into(),
        format!(
            "{} / {}",
            report::ms(median(&sb_runs.iter().map(|m| m.p50_ms).collect::<Vec<_>>())),
            report::ms(median(&sb_runs.iter().map(|m| m.p99_ms).collect::<Vec<_>>()))
        ),
        format!(
            "{} / {}",
            report::ms(median(&axum_runs.iter().map(|m| m.p50_ms).collect::<Vec<_>>())),
            report::ms(median(&axum_runs.iter().map(|m| m.p99_ms).collect::<Vec<_>>()))
        ),
        String::new(),
    ]);
    section.rows.push(vec![
        "backlog left when the load stopped".into(),
        format!("{} items (median; max {})", report::count(median(&backlogs)), report::count(max(&backlogs))),
        String::new(),
        String::new(),
    ]);
    section.rows.push(vec![
        "time to drain that backlog".into(),
        format!("{:.1} s (median; max {:.1} s)", median(&drains), max(&drains)),
        String::new(),
        String::new(),
    ]);
    section.rows.push(vec![
        "drain rate".into(),
        format!("{} runs/s", report::count(median(&drain_rates))),
        String::new(),
        String::new(),
    ]);
    section.notes.push(format!(
        "{} s of load per round with {} connections, then the driver polls `/_/metrics` until the finished runs of \
         `queued` reach the accepted 202s. Default `[queue] workers = 4`. Non-2xx answers: {}.",
        settings.seconds,
        settings.connections,
        sb_runs.iter().map(|m| m.errors).sum::<u64>()
    ));
    if let Some((left, limit)) = unfinished {
        section
            .notes
            .push(format!("{} items were still queued {limit:?} after the load stopped.", report::count(left)));
    }
    report.target(
        "durable queue, accepted requests/s",
        ">= 2,000/s",
        report::count(rps),
        rps.is_finite().then_some(rps >= 2000.0),
    );
    Ok(())
}
