//! SQL connections: a route doing one indexed `SELECT` by primary key, the same script on SQLite
//! and on PostgreSQL, side by side in every round, with bare axum's hello as the floor.

use crate::load::{self, Measured, Request};
use crate::proc::{Server, copy_dir};
use crate::report::{self, Report};
use crate::stats::median;
use crate::{Ctx, http};
use std::process::Command;
use std::time::Duration;

/// The local server every machine of the project runs.
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn run(ctx: &Ctx, report: &mut Report) -> Result<(), String> {
    let url = std::env::var("BENCH_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_string());
    let hub = ctx.work.join("hubs").join("sql");
    copy_dir(&ctx.hub("sql"), &hub)?;
    let setup = Command::new(&ctx.switchboard)
        .args(["run", "setup", "--dir"])
        .arg(&hub)
        .env("BENCH_POSTGRES_URL", &url)
        .output()
        .map_err(|err| format!("switchboard run setup: {err}"))?;
    if !setup.status.success() {
        return Err(format!("setup failed: {}", String::from_utf8_lossy(&setup.stderr)));
    }
    let timeout = Duration::from_secs(15);
    let axum = Server::listening("bare axum", Command::new(&ctx.baseline), &ctx.log("sql-axum"), timeout)?;
    let mut serve = ctx.serve(&hub);
    serve.env("BENCH_POSTGRES_URL", &url);
    let sb = Server::listening("Switchboard", serve, &ctx.log("sql-switchboard"), timeout)?;
    for path in ["/lite/item", "/pg/item"] {
        let reply = http::get(&sb.url, path).map_err(|err| format!("{path}: {err}"))?;
        if reply.status != 200 || !reply.body.contains("item 4242") {
            return Err(format!("GET {path} answered {}: {}", reply.status, reply.body));
        }
    }
    let (lite, pg, hello) = (Request::get("/lite/item"), Request::get("/pg/item"), Request::get("/hello?name=bench"));
    let (mut lite_runs, mut pg_runs, mut axum_runs): (Vec<Measured>, Vec<Measured>, Vec<Measured>) =
        (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ctx.rounds {
        // Alternate which database goes first, so neither always runs on a warmer machine.
        let order: [(&Request, &mut Vec<Measured>); 2] = if round % 2 == 0 {
            [(&lite, &mut lite_runs), (&pg, &mut pg_runs)]
        } else {
            [(&pg, &mut pg_runs), (&lite, &mut lite_runs)]
        };
        for (request, runs) in order {
            runs.push(load::run(&ctx.tool, &sb.url, request, ctx.load, &ctx.work)?);
        }
        axum_runs.push(load::run(&ctx.tool, &axum.url, &hello, ctx.load, &ctx.work)?);
        eprintln!(
            "   round {}: SQLite {} req/s, PostgreSQL {} req/s",
            round + 1,
            report::count(lite_runs[round].rps),
            report::count(pg_runs[round].rps)
        );
    }
    let rps = |runs: &[Measured]| median(&runs.iter().map(|m| m.rps).collect::<Vec<_>>());
    let p50 = |runs: &[Measured]| report::ms(median(&runs.iter().map(|m| m.p50_ms).collect::<Vec<_>>()));
    let p99 = |runs: &[Measured]| report::ms(median(&runs.iter().map(|m| m.p99_ms).collect::<Vec<_>>()));
    let axum_rps = rps(&axum_runs);
    let section = report.section(
        "SQL connections: one indexed SELECT per request",
        &["route", "requests/s", "p50", "p99", "vs bare axum hello"],
    );
    for (name, runs) in
        [("SQLite (`type = \"sqlite\"`)", &lite_runs), ("PostgreSQL (`type = \"postgres\"`, pool 8)", &pg_runs)]
    {
        section.rows.push(vec![
            name.into(),
            report::count(rps(runs)),
            p50(runs),
            p99(runs),
            report::ratio(rps(runs) / axum_rps),
        ]);
    }
    section.rows.push(vec![
        "bare axum hello (no database)".into(),
        report::count(axum_rps),
        p50(&axum_runs),
        p99(&axum_runs),
        String::new(),
    ]);
    section.notes.push(format!(
        "`sql::connection(name).query_one(\"SELECT id, name FROM bench_items WHERE id = ?\", [4242])` on a \
         10,000-row table, the same script text on both; PostgreSQL is the local server over TCP on \
         loopback without TLS. {} s per run, {} connections, median of {} rounds. Non-2xx answers: {}.",
        ctx.load.seconds,
        ctx.load.connections,
        ctx.rounds,
        lite_runs.iter().chain(&pg_runs).map(|m| m.errors).sum::<u64>()
    ));
    Ok(())
}
