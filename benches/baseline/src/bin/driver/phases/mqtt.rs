//! MQTT: messages per second from `mosquitto_pub` to a recorded run. Each QoS 1 message is stored
//! in the durable queue before the hub acknowledges it, then run and written to the run log.

use crate::Ctx;
use crate::proc::{Server, copy_dir};
use crate::report::{self, Report};
use crate::stats::{max, median};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-token";
const FINISHED: &str = "switchboard_run_duration_seconds_count{script=\"reading\"}";
const TOPIC: &str = "switchboard-bench/readings/kitchen";
/// The local broker every machine of the project runs.
const DEFAULT_URL: &str = "mqtt://127.0.0.1:1883";

pub fn run(ctx: &Ctx, report: &mut Report) -> Result<(), String> {
    let url = std::env::var("BENCH_MQTT_URL").unwrap_or_else(|_| DEFAULT_URL.to_string());
    let (host, port) = url
        .strip_prefix("mqtt://")
        .and_then(|rest| rest.rsplit_once(':'))
        .ok_or_else(|| format!("BENCH_MQTT_URL must be mqtt://HOST:PORT, not {url}"))?;
    let hub = ctx.work.join("hubs").join("mqtt");
    copy_dir(&ctx.hub("mqtt"), &hub)?;
    let mut serve = ctx.serve(&hub);
    serve.env("BENCH_MQTT_URL", &url);
    let sb = Server::listening("Switchboard", serve, &ctx.log("mqtt-switchboard"), Duration::from_secs(15))?;
    let publish = |count: usize| -> Result<f64, String> {
        let started = Instant::now();
        let mut child = Command::new("mosquitto_pub")
            .args(["-h", host, "-p", port, "-q", "1", "-t", TOPIC, "-l"])
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|err| format!("mosquitto_pub (Debian's mosquitto-clients): {err}"))?;
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        let lines: String = (0..count).map(|i| format!("{{\"celsius\": {}}}\n", 15 + i % 10)).collect();
        stdin.write_all(lines.as_bytes()).map_err(|err| err.to_string())?;
        drop(stdin);
        let status = child.wait().map_err(|err| err.to_string())?;
        if !status.success() {
            return Err(format!("mosquitto_pub exited with {status}"));
        }
        Ok(started.elapsed().as_secs_f64())
    };
    let finished = || super::metric(&sb.url, TOKEN, FINISHED);
    let wait_for = |target: f64, limit: Duration| -> Result<bool, String> {
        let started = Instant::now();
        while finished()? < target {
            if started.elapsed() > limit {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(true)
    };
    // The subscription is in place once a message gets through.
    let started = Instant::now();
    while finished()? < 1.0 {
        if started.elapsed() > Duration::from_secs(20) {
            return Err("no message reached the hub within 20 s of its start".into());
        }
        publish(1)?;
        wait_for(1.0, Duration::from_millis(500))?;
    }
    let count = if ctx.quick { 1_000 } else { 5_000 };
    let (mut rates, mut publish_rates) = (Vec::new(), Vec::new());
    for round in 0..ctx.rounds {
        let before = finished()?;
        let started = Instant::now();
        let published_in = publish(count)?;
        if !wait_for(before + count as f64, Duration::from_secs(120))? {
            return Err(format!("round {}: {} of {count} messages ran within 120 s", round + 1, finished()? - before));
        }
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "   round {}: {count} messages published in {published_in:.2} s, all run in {seconds:.2} s",
            round + 1
        );
        rates.push(count as f64 / seconds);
        publish_rates.push(count as f64 / published_in);
    }
    let section = report.section("MQTT: publish to recorded run", &["measure", "value"]);
    section.rows.push(vec![
        "messages/s, publish to finished run (QoS 1)".into(),
        format!("{} (median; best {})", report::count(median(&rates)), report::count(max(&rates))),
    ]);
    section
        .rows
        .push(vec!["messages/s `mosquitto_pub -q 1 -l` alone sends".into(), report::count(median(&publish_rates))]);
    section.notes.push(format!(
        "{count} QoS 1 messages per round from one `mosquitto_pub -l` to the local Mosquitto; the hub \
         stores each in the durable queue before acknowledging it, and the round ends when `/_/metrics` counts \
         every run of `reading` finished. Median of {} rounds.",
        ctx.rounds
    ));
    Ok(())
}
