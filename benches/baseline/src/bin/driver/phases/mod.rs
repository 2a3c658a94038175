//! The measures, one module each, plus what several of them share: the run log as JSON, times,
//! metrics and the peer systems (Node-RED, adnanh/webhook).

pub mod cron;
pub mod footprint;
pub mod micro;
pub mod peers;
pub mod queue;
pub mod reload;
pub mod throughput;
pub mod watch;

use crate::Ctx;
use crate::http;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::path::Path;

/// `switchboard runs list --json` of `hub`, for `script`.
pub fn runs_list(ctx: &Ctx, hub: &Path, script: &str) -> Result<Vec<Value>, String> {
    let out = std::process::Command::new(&ctx.switchboard)
        .args(["runs", "list", "--json", "--limit", "100000", "--script", script, "--dir"])
        .arg(hub)
        .output()
        .map_err(|err| format!("switchboard runs list: {err}"))?;
    if !out.status.success() {
        return Err(format!("switchboard runs list failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim() == "no runs match" || text.trim().is_empty() {
        return Ok(Vec::new());
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(records)) => Ok(records),
        Ok(Value::Object(object)) => Ok(object.get("runs").and_then(Value::as_array).cloned().unwrap_or_default()),
        Ok(other) => Err(format!("unexpected run log JSON: {other}")),
        Err(err) => Err(format!("cannot read the run log JSON: {err}")),
    }
}

/// An RFC 3339 time.
pub fn time(value: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.as_str()?).ok().map(|t| t.with_timezone(&Utc))
}

/// `later - earlier` in milliseconds.
pub fn ms_between(earlier: DateTime<Utc>, later: DateTime<Utc>) -> f64 {
    (later - earlier).num_microseconds().map_or(f64::NAN, |us| us as f64 / 1000.0)
}

/// One sample of a Prometheus metric from `GET /_/metrics`, by its full name with labels.
pub fn metric(base: &str, token: &str, series: &str) -> Result<f64, String> {
    let auth = format!("Bearer {token}");
    let reply = http::request(base, "GET", "/_/metrics", &[("Authorization", &auth)], None)
        .map_err(|err| format!("metrics: {err}"))?;
    if reply.status != 200 {
        return Err(format!("metrics: status {}: {}", reply.status, reply.body));
    }
    Ok(reply
        .body
        .lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse::<f64>().ok()))
        .unwrap_or(0.0))
}

/// A small deterministic jitter (0..max ms) so probes do not lock step with periodic timers.
pub fn jitter(i: usize, max: u64) -> std::time::Duration {
    let x = (i as u64).wrapping_mul(2_654_435_761) % max.max(1);
    std::time::Duration::from_millis(x)
}
