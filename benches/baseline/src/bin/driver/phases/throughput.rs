//! HTTP throughput and latency: the bench hub's routes against the same routes in bare axum (and
//! the hello against Node-RED and adnanh/webhook when installed), alternating systems in every
//! round, median of the rounds, ratios to bare axum.

use crate::load::{self, Measured, Request};
use crate::proc::{self, RssSampler, Server, copy_dir};
use crate::report::{self, Report};
use crate::stats::median;
use crate::{Ctx, http};
use std::process::Command;
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Axum,
    RhaiInline,
    Switchboard,
    Compare,
    NodeRed,
    Webhook,
}

const BODY: &str = r#"{"title": "Try Switchboard", "done": false, "priority": 2}"#;
const AUTH: (&str, &str) = ("Authorization", "Bearer bench-token");

struct Scenario {
    name: &'static str,
    request: fn(Kind) -> Option<Request>,
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "hello (public, GET, small JSON)",
            request: |kind| match kind {
                Kind::Webhook => Some(Request::get("/hooks/hello?name=bench")),
                _ => Some(Request::get("/hello?name=bench")),
            },
        },
        Scenario {
            name: "query parameter + JSON body (POST)",
            request: |kind| match kind {
                Kind::Axum | Kind::Switchboard | Kind::Compare => Some(Request {
                    method: "POST",
                    path: "/echo?tag=bench".into(),
                    headers: Vec::new(),
                    body: Some(BODY),
                }),
                _ => None,
            },
        },
        Scenario {
            name: "private route with a key",
            request: |kind| match kind {
                Kind::Axum | Kind::Switchboard | Kind::Compare => {
                    Some(Request { method: "GET", path: "/private".into(), headers: vec![AUTH], body: None })
                }
                _ => None,
            },
        },
        Scenario {
            name: "script with a 1,000-iteration loop",
            request: |kind| match kind {
                Kind::Axum | Kind::Switchboard | Kind::Compare => Some(Request::get("/loop")),
                _ => None,
            },
        },
    ]
}

fn name(kind: Kind) -> &'static str {
    match kind {
        Kind::Axum => "bare axum",
        Kind::RhaiInline => "axum + Rhai AST inline (prototype)",
        Kind::Switchboard => "Switchboard",
        Kind::Compare => "Switchboard, COMPARE build",
        Kind::NodeRed => "Node-RED",
        Kind::Webhook => "adnanh/webhook",
    }
}

/// Sends `request` once; the status and the start of the body, for the sanity check.
fn probe(server: &Server, request: &Request) -> Result<(), String> {
    let reply = http::request(&server.url, request.method, &request.path, &request.headers, request.body)
        .map_err(|err| format!("{}: {err}", server.name))?;
    if reply.status != 200 {
        return Err(format!(
            "{} {} {}: status {}: {}",
            server.name, request.method, request.path, reply.status, reply.body
        ));
    }
    Ok(())
}

pub fn run(ctx: &Ctx, report: &mut Report) -> Result<(), String> {
    let hub = ctx.work.join("hubs").join("http");
    copy_dir(&ctx.hub("http"), &hub)?;
    let timeout = Duration::from_secs(15);
    let mut systems: Vec<(Kind, Server)> = vec![
        (Kind::Axum, Server::listening("bare axum", Command::new(&ctx.baseline), &ctx.log("http-axum"), timeout)?),
        (Kind::Switchboard, Server::listening("Switchboard", ctx.serve(&hub), &ctx.log("http-switchboard"), timeout)?),
    ];
    let mut notes = Vec::new();
    if let Some(binary) = &ctx.compare {
        let other = ctx.work.join("hubs").join("http-compare");
        copy_dir(&ctx.hub("http"), &other)?;
        let mut command = Command::new(binary);
        command.arg("serve").arg("--dir").arg(&other).arg("--listen").arg("127.0.0.1:0");
        match Server::listening("Switchboard (COMPARE)", command, &ctx.log("http-compare"), timeout) {
            Ok(server) => {
                notes.push(format!("`Switchboard, COMPARE build` is {} on a copy of the same hub.", binary.display()));
                systems.push((Kind::Compare, server));
            }
            Err(err) => notes.push(format!("The COMPARE build could not be measured: {err}")),
        }
    }
    if let Some(binary) = &ctx.rhai_inline {
        match Server::listening("rhai-inline", Command::new(binary), &ctx.log("http-rhai-inline"), timeout) {
            Ok(server) => systems.insert(1, (Kind::RhaiInline, server)),
            Err(err) => notes.push(format!("The inline prototype could not be measured: {err}")),
        }
    }
    for (kind, started) in [(Kind::NodeRed, super::peers::node_red(ctx)), (Kind::Webhook, super::peers::webhook(ctx))] {
        match started {
            Some(Ok(server)) => systems.push((kind, server)),
            Some(Err(err)) => notes.push(format!("{} could not be measured: {err}", name(kind))),
            None => {}
        }
    }
    let peer_versions = super::peers::versions(ctx);
    if !peer_versions.is_empty() {
        notes.push(format!("Peers: {}.", peer_versions.join("; ")));
    }
    let scenarios = scenarios();
    // Which (scenario, system) pairs answer correctly.
    let mut pairs: Vec<(usize, usize, Request)> = Vec::new();
    for (s, scenario) in scenarios.iter().enumerate() {
        for (i, (kind, server)) in systems.iter().enumerate() {
            let Some(request) = (scenario.request)(*kind) else { continue };
            match probe(server, &request) {
                Ok(()) => pairs.push((s, i, request)),
                Err(err) => notes.push(format!("{}: skipped, the sanity request failed: {err}", scenario.name)),
            }
        }
    }
    // Warm up every pair (JIT, caches, connection pools) before measuring.
    let warm = load::Settings { seconds: 1, ..ctx.load };
    for (_, i, request) in &pairs {
        load::run(&ctx.tool, &systems[*i].1.url, request, warm, &ctx.work)?;
    }

    let mut results: Vec<Vec<Measured>> = vec![Vec::new(); pairs.len()];
    let mut peaks: Vec<f64> = vec![0.0; systems.len()];
    for round in 0..ctx.rounds {
        for (s, scenario) in scenarios.iter().enumerate() {
            let mut order: Vec<usize> = (0..pairs.len()).filter(|p| pairs[*p].0 == s).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for p in order {
                let (_, i, request) = &pairs[p];
                let server = &systems[*i].1;
                let sampler = RssSampler::start(server.pid());
                let cpu_before = proc::cpu_seconds(server.pid());
                let mut measured = load::run(&ctx.tool, &server.url, request, ctx.load, &ctx.work)?;
                if let (Some(before), Some(after)) = (cpu_before, proc::cpu_seconds(server.pid())) {
                    measured.cpu_us = (after - before) * 1e6 / measured.requests.max(1) as f64;
                }
                peaks[*i] = peaks[*i].max(sampler.finish() as f64);
                eprintln!(
                    "   round {} | {} | {}: {} req/s, p50 {}, p99 {}, {:.1} µs CPU/request, errors {}",
                    round + 1,
                    scenario.name,
                    server.name,
                    report::count(measured.rps),
                    report::ms(measured.p50_ms),
                    report::ms(measured.p99_ms),
                    measured.cpu_us,
                    measured.errors
                );
                results[p].push(measured);
            }
        }
    }

    let section = report.section(
        "HTTP throughput and latency",
        &[
            "route",
            "system",
            "req/s",
            "p50",
            "p99",
            "req/s vs axum",
            "p99 vs axum",
            "server CPU/request",
            "non-2xx",
            "req/s per round",
        ],
    );
    let mut hello = (f64::NAN, f64::NAN, f64::NAN);
    let mut peer_ratios: Vec<(Kind, f64, f64)> = Vec::new();
    for (s, scenario) in scenarios.iter().enumerate() {
        let axum = pairs.iter().position(|(ps, i, _)| *ps == s && systems[*i].0 == Kind::Axum);
        let switchboard = pairs.iter().position(|(ps, i, _)| *ps == s && systems[*i].0 == Kind::Switchboard);
        for (p, (_, i, _)) in pairs.iter().enumerate().filter(|(_, (ps, _, _))| *ps == s) {
            let kind = systems[*i].0;
            let runs = &results[p];
            let rps = median(&runs.iter().map(|m| m.rps).collect::<Vec<_>>());
            let p50 = median(&runs.iter().map(|m| m.p50_ms).collect::<Vec<_>>());
            let p99 = median(&runs.iter().map(|m| m.p99_ms).collect::<Vec<_>>());
            let cpu = median(&runs.iter().map(|m| m.cpu_us).collect::<Vec<_>>());
            // Ratios are taken round by round (paired), then the median.
            let paired = |other: Option<usize>, field: fn(&Measured) -> f64| -> f64 {
                let Some(other) = other else { return f64::NAN };
                median(&runs.iter().zip(&results[other]).map(|(a, b)| field(a) / field(b)).collect::<Vec<_>>())
            };
            let rps_ratio = paired(axum, |m| m.rps);
            let p99_ratio = paired(axum, |m| m.p99_ms);
            if kind == Kind::Switchboard && s == 0 {
                hello = (rps_ratio, p99_ratio, rps);
            }
            if matches!(kind, Kind::NodeRed | Kind::Webhook) {
                // Switchboard's hello over the peer's, round by round.
                let sb = paired(switchboard, |m| m.rps);
                peer_ratios.push((kind, 1.0 / sb, rps));
            }
            section.rows.push(vec![
                if kind == Kind::Axum { scenario.name.to_string() } else { String::new() },
                name(kind).to_string(),
                report::count(rps),
                report::ms(p50),
                report::ms(p99),
                if kind == Kind::Axum { "1.00x".into() } else { report::ratio(rps_ratio) },
                if kind == Kind::Axum { "1.00x".into() } else { report::ratio(p99_ratio) },
                if cpu.is_finite() && cpu > 0.0 { format!("{cpu:.1} µs") } else { "n/a".into() },
                runs.iter().map(|m| m.errors).sum::<u64>().to_string(),
                runs.iter().map(|m| report::count(m.rps)).collect::<Vec<_>>().join(" / "),
            ]);
        }
    }
    section.notes.push(format!(
        "Each run: {} s, {} connections, {} load-tool thread, keep-alive. Ratios are the median of the per-round \
         ratios (systems alternate within each round). Server CPU/request is the user + system time of the server \
         process (all threads) during the run over the requests served: the load tool shares the 2 cores, so it is \
         the fairer measure of cost. Switchboard serves `benches/hubs/http` with default settings \
         (run log on, default limits, info logs to a file).",
        ctx.load.seconds, ctx.load.connections, ctx.load.threads
    ));
    if ctx.rhai_inline.is_some() {
        section.notes.push(
            "`axum + Rhai AST inline` is the design's prototype (`benches/baseline/src/bin/rhai_inline.rs`): the same \
             hello script compiled once and evaluated on the tokio worker, input from the query string, result to \
             JSON; no run id, limits, event, run log or metrics. The gap between it and Switchboard is the cost of \
             Switchboard's request pipeline."
                .into(),
        );
    }
    section.notes.extend(notes);
    let db = ["switchboard.db", "switchboard.db-wal"]
        .iter()
        .filter_map(|file| std::fs::metadata(hub.join("data").join(file)).ok())
        .map(|m| m.len())
        .sum::<u64>();
    section.notes.push(format!(
        "After this phase the hub's data/switchboard.db (with its WAL) held {:.0} MiB of run log.",
        db as f64 / 1024.0 / 1024.0
    ));
    for (i, (kind, _)) in systems.iter().enumerate() {
        report.rss_under_load.push((name(*kind).to_string(), peaks[i]));
    }

    let (rps_ratio, p99_ratio, sb_rps) = hello;
    report.target(
        "hello req/s vs bare axum",
        ">= 0.7x (aim 0.9x)",
        report::ratio(rps_ratio),
        rps_ratio.is_finite().then_some(rps_ratio >= 0.7),
    );
    report.target(
        "hello p99 vs bare axum",
        "<= 2x",
        report::ratio(p99_ratio),
        p99_ratio.is_finite().then_some(p99_ratio <= 2.0),
    );
    for (kind, wanted, prior) in [(Kind::NodeRed, 15.0, 2_800.0), (Kind::Webhook, 40.0, 1_000.0)] {
        let what = format!("hello req/s vs {}", name(kind));
        match peer_ratios.iter().find(|(k, _, _)| *k == kind) {
            Some((_, ratio, rps)) => report.target(
                &what,
                &format!(">= {wanted:.0}x"),
                format!("{} (same run; {} at {} req/s)", report::ratio(*ratio), name(kind), report::count(*rps)),
                ratio.is_finite().then_some(*ratio >= wanted),
            ),
            None => {
                let ratio = sb_rps / prior;
                report.target(
                    &what,
                    &format!(">= {wanted:.0}x"),
                    format!(
                        "{} against the issue's prior figure of ~{} req/s (not measured in this run)",
                        report::ratio(ratio),
                        report::count(prior)
                    ),
                    ratio.is_finite().then_some(ratio >= wanted),
                );
            }
        }
    }
    Ok(())
}
