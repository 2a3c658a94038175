//! The load tool: wrk (from Debian) or oha (from crates.io), run for a fixed time with a fixed
//! number of connections, and its report parsed into requests/s and latency percentiles.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Which load tool, and where.
#[derive(Clone, Debug)]
pub enum Tool {
    Wrk(PathBuf),
    Oha(PathBuf),
}

impl Tool {
    /// `wrk` or `oha` at `path`.
    pub fn new(kind: &str, path: &str) -> Result<Self, String> {
        match kind {
            "wrk" => Ok(Tool::Wrk(PathBuf::from(path))),
            "oha" => Ok(Tool::Oha(PathBuf::from(path))),
            other => Err(format!("unknown load tool `{other}` (wrk or oha)")),
        }
    }

    pub fn describe(&self) -> String {
        let (name, path) = match self {
            Tool::Wrk(path) => ("wrk", path),
            Tool::Oha(path) => ("oha", path),
        };
        let version = Command::new(path)
            .arg("--version")
            .output()
            .map(|out| {
                let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
                text.lines().next().unwrap_or("").trim().to_string()
            })
            .unwrap_or_default();
        if version.is_empty() { name.to_string() } else { version }
    }
}

/// One kind of request.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(&'static str, &'static str)>,
    pub body: Option<&'static str>,
}

impl Request {
    pub fn get(path: &str) -> Self {
        Self { method: "GET", path: path.to_string(), headers: Vec::new(), body: None }
    }
}

/// What one load run measured.
#[derive(Clone, Copy, Debug, Default)]
pub struct Measured {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    /// Responses other than 2xx/3xx, and socket errors.
    pub errors: u64,
    /// CPU time the server process used per request, in microseconds (set by the caller).
    pub cpu_us: f64,
}

/// Load settings.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub seconds: u64,
    pub connections: u32,
    pub threads: u32,
}

/// Sends `request` to `base` for `settings.seconds` and parses the tool's report.
pub fn run(tool: &Tool, base: &str, request: &Request, settings: Settings, scratch: &Path) -> Result<Measured, String> {
    let url = format!("{base}{}", request.path);
    match tool {
        Tool::Wrk(wrk) => {
            let mut command = Command::new(wrk);
            command
                .arg(format!("-t{}", settings.threads))
                .arg(format!("-c{}", settings.connections))
                .arg(format!("-d{}s", settings.seconds))
                .arg("--latency");
            for (name, value) in &request.headers {
                command.arg("-H").arg(format!("{name}: {value}"));
            }
            if request.method != "GET" || request.body.is_some() {
                let script = scratch.join(format!("wrk-{}.lua", std::process::id()));
                let mut lua = format!("wrk.method = \"{}\"\n", request.method);
                if let Some(body) = request.body {
                    lua.push_str(&format!("wrk.body = [==[{body}]==]\n"));
                    lua.push_str("wrk.headers[\"Content-Type\"] = \"application/json\"\n");
                }
                std::fs::write(&script, lua).map_err(|err| err.to_string())?;
                command.arg("-s").arg(&script);
            }
            command.arg(&url);
            let out = command.output().map_err(|err| format!("wrk: {err}"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() {
                return Err(format!("wrk failed: {}{}", text, String::from_utf8_lossy(&out.stderr)));
            }
            parse_wrk(&text)
        }
        Tool::Oha(oha) => {
            let help = Command::new(oha).arg("--help").output().map_err(|err| format!("oha: {err}"))?;
            let json_flag: &[&str] = if String::from_utf8_lossy(&help.stdout).contains("--output-format") {
                &["--output-format", "json"]
            } else {
                &["--json"]
            };
            let mut command = Command::new(oha);
            command
                .arg("--no-tui")
                .args(json_flag)
                .arg("-z")
                .arg(format!("{}s", settings.seconds))
                .arg("-c")
                .arg(settings.connections.to_string())
                .arg("-m")
                .arg(request.method);
            for (name, value) in &request.headers {
                command.arg("-H").arg(format!("{name}: {value}"));
            }
            if let Some(body) = request.body {
                command.arg("-T").arg("application/json").arg("-d").arg(body);
            }
            command.arg(&url);
            let out = command.output().map_err(|err| format!("oha: {err}"))?;
            if !out.status.success() {
                return Err(format!("oha failed: {}", String::from_utf8_lossy(&out.stderr)));
            }
            parse_oha(&String::from_utf8_lossy(&out.stdout))
        }
    }
}

/// wrk prints latencies as `470.00us`, `1.20ms`, `2.00s` or `1.00m`.
fn wrk_ms(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    match unit {
        "us" => Some(value / 1000.0),
        "ms" => Some(value),
        "s" => Some(value * 1000.0),
        "m" => Some(value * 60_000.0),
        _ => None,
    }
}

fn parse_wrk(text: &str) -> Result<Measured, String> {
    let mut measured = Measured { p50_ms: f64::NAN, p99_ms: f64::NAN, rps: f64::NAN, ..Measured::default() };
    for line in text.lines() {
        let line = line.trim();
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["50%", value] => measured.p50_ms = wrk_ms(value).unwrap_or(f64::NAN),
            ["99%", value] => measured.p99_ms = wrk_ms(value).unwrap_or(f64::NAN),
            ["Requests/sec:", value] => measured.rps = value.parse().unwrap_or(f64::NAN),
            [count, "requests", "in", ..] => measured.requests = count.parse().unwrap_or(0),
            ["Non-2xx", "or", "3xx", "responses:", count] => measured.errors += count.parse::<u64>().unwrap_or(0),
            _ if line.starts_with("Socket errors:") => {
                // Socket errors: connect 0, read 0, write 0, timeout 0
                for part in line.trim_start_matches("Socket errors:").split(',') {
                    if let Some(n) = part.split_whitespace().nth(1).and_then(|n| n.parse::<u64>().ok()) {
                        measured.errors += n;
                    }
                }
            }
            _ => {}
        }
    }
    if measured.rps.is_nan() {
        return Err(format!("cannot read wrk's report:\n{text}"));
    }
    Ok(measured)
}

fn parse_oha(text: &str) -> Result<Measured, String> {
    let report: Value = serde_json::from_str(text).map_err(|err| format!("cannot read oha's report: {err}"))?;
    let seconds = |value: &Value| value.as_f64().map_or(f64::NAN, |s| s * 1000.0);
    let mut measured = Measured {
        rps: report["summary"]["requestsPerSec"].as_f64().unwrap_or(f64::NAN),
        p50_ms: seconds(&report["latencyPercentiles"]["p50"]),
        p99_ms: seconds(&report["latencyPercentiles"]["p99"]),
        ..Measured::default()
    };
    if let Some(codes) = report["statusCodeDistribution"].as_object() {
        for (code, count) in codes {
            let count = count.as_u64().unwrap_or(0);
            measured.requests += count;
            if !(code.starts_with('2') || code.starts_with('3')) {
                measured.errors += count;
            }
        }
    }
    if let Some(errors) = report["errorDistribution"].as_object() {
        // oha cuts in-flight requests at the deadline and reports them as errors; those are not failures.
        for (kind, count) in errors {
            if !kind.contains("deadline") && !kind.contains("aborted") {
                measured.errors += count.as_u64().unwrap_or(0);
            }
        }
    }
    Ok(measured)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_wrk_report() {
        let text = "Running 5s test @ http://127.0.0.1:1/hello
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   620.12us  300.00us   9.00ms   90.00%
    Req/Sec    50.00k     1.00k   52.00k    80.00%
  Latency Distribution
     50%  570.00us
     75%  650.00us
     90%  800.00us
     99%    2.10ms
  250000 requests in 5.00s, 40.00MB read
  Non-2xx or 3xx responses: 3
Requests/sec:  49999.50
Transfer/sec:      8.00MB
";
        let m = parse_wrk(text).unwrap();
        assert!((m.rps - 49999.5).abs() < 1e-6);
        assert!((m.p50_ms - 0.57).abs() < 1e-9);
        assert!((m.p99_ms - 2.1).abs() < 1e-9);
        assert_eq!(m.requests, 250_000);
        assert_eq!(m.errors, 3);
    }
}
