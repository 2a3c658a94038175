//! Process-wide counters for `/_/metrics`, written in the Prometheus text format.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, Ordering};

/// Upper bounds (seconds) of the run duration histogram.
const BUCKETS: [f64; 14] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters of one script. Keyed per script first so that counting a run looks up borrowed
/// names and allocates nothing once the script has been seen.
#[derive(Default)]
struct ScriptCounters {
    /// Runs by trigger and status: a handful of pairs, so a scan beats a map.
    runs: Vec<(String, String, u64)>,
    durations: Histogram,
}

#[derive(Default)]
struct Counters {
    scripts: BTreeMap<String, ScriptCounters>,
    http: BTreeMap<String, BTreeMap<u16, u64>>,
    retries: BTreeMap<String, u64>,
    circuits: BTreeMap<String, u8>,
}

/// The hub's metrics since the process started.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
    queue_depth: AtomicI64,
}

impl Metrics {
    fn with(&self, f: impl FnOnce(&mut Counters)) {
        f(&mut self.counters.lock());
    }

    /// Counts a finished run.
    pub fn run(&self, script: &str, trigger: &str, status: &str, seconds: f64) {
        self.with(|c| {
            if !c.scripts.contains_key(script) {
                c.scripts.insert(script.to_string(), ScriptCounters::default());
            }
            let Some(counters) = c.scripts.get_mut(script) else { return };
            match counters.runs.iter_mut().find(|(t, s, _)| t == trigger && s == status) {
                Some((_, _, n)) => *n += 1,
                None => counters.runs.push((trigger.to_string(), status.to_string(), 1)),
            }
            let histogram = &mut counters.durations;
            for (bucket, bound) in histogram.counts.iter_mut().zip(BUCKETS) {
                if seconds <= bound {
                    *bucket += 1;
                }
            }
            histogram.count += 1;
            histogram.sum += seconds;
        });
    }

    /// Counts an HTTP response of `route` (its pattern, or "unmatched").
    pub fn http(&self, route: &str, status: u16) {
        self.with(|c| {
            if !c.http.contains_key(route) {
                c.http.insert(route.to_string(), BTreeMap::new());
            }
            if let Some(statuses) = c.http.get_mut(route) {
                *statuses.entry(status).or_default() += 1;
            }
        });
    }

    /// Counts a retried request of an HTTP connection.
    pub fn retry(&self, connection: &str) {
        self.with(|c| *c.retries.entry(connection.to_string()).or_default() += 1);
    }

    /// Sets the circuit state of a connection: 0 closed, 1 open, 2 half-open.
    pub fn circuit(&self, connection: &str, state: u8) {
        self.with(|c| {
            c.circuits.insert(connection.to_string(), state);
        });
    }

    /// Sets the number of queued items waiting or running.
    pub fn set_queue_depth(&self, depth: i64) {
        self.queue_depth.store(depth, Ordering::Relaxed);
    }

    /// Everything in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let c = self.counters.lock();
        let mut out = String::new();
        let _ = writeln!(out, "# HELP switchboard_runs_total Finished runs by script, trigger and status.");
        let _ = writeln!(out, "# TYPE switchboard_runs_total counter");
        for (script, counters) in &c.scripts {
            let mut runs: Vec<_> = counters.runs.iter().collect();
            runs.sort();
            for (trigger, status, n) in runs {
                let _ = writeln!(
                    out,
                    "switchboard_runs_total{{script=\"{}\",trigger=\"{}\",status=\"{}\"}} {n}",
                    label(script),
                    label(trigger),
                    label(status)
                );
            }
        }
        let _ = writeln!(out, "# HELP switchboard_run_duration_seconds Run durations by script.");
        let _ = writeln!(out, "# TYPE switchboard_run_duration_seconds histogram");
        for (script, counters) in &c.scripts {
            let (script, histogram) = (label(script), &counters.durations);
            for (bound, n) in BUCKETS.iter().zip(histogram.counts) {
                let _ =
                    writeln!(out, "switchboard_run_duration_seconds_bucket{{script=\"{script}\",le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(
                out,
                "switchboard_run_duration_seconds_bucket{{script=\"{script}\",le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(out, "switchboard_run_duration_seconds_sum{{script=\"{script}\"}} {}", histogram.sum);
            let _ = writeln!(out, "switchboard_run_duration_seconds_count{{script=\"{script}\"}} {}", histogram.count);
        }
        let _ = writeln!(out, "# HELP switchboard_http_requests_total HTTP responses by route and status.");
        let _ = writeln!(out, "# TYPE switchboard_http_requests_total counter");
        for (route, statuses) in &c.http {
            for (status, n) in statuses {
                let _ = writeln!(
                    out,
                    "switchboard_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    label(route)
                );
            }
        }
        let _ = writeln!(out, "# HELP switchboard_queue_depth Queued items waiting or running.");
        let _ = writeln!(out, "# TYPE switchboard_queue_depth gauge");
        let _ = writeln!(out, "switchboard_queue_depth {}", self.queue_depth.load(Ordering::Relaxed));
        let _ = writeln!(
            out,
            "# HELP switchboard_connection_retries_total Retried HTTP requests and SQL connects by connection."
        );
        let _ = writeln!(out, "# TYPE switchboard_connection_retries_total counter");
        for (connection, n) in &c.retries {
            let _ = writeln!(out, "switchboard_connection_retries_total{{connection=\"{}\"}} {n}", label(connection));
        }
        let _ =
            writeln!(out, "# HELP switchboard_circuit_state Circuit breaker state (0 closed, 1 open, 2 half-open).");
        let _ = writeln!(out, "# TYPE switchboard_circuit_state gauge");
        for (connection, state) in &c.circuits {
            let _ = writeln!(out, "switchboard_circuit_state{{connection=\"{}\"}} {state}", label(connection));
        }
        out
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let metrics = Metrics::default();
        metrics.run("hello", "http", "ok", 0.002);
        metrics.run("hello", "http", "ok", 0.2);
        metrics.http("/hello", 200);
        let text = metrics.render();
        assert!(text.contains("switchboard_runs_total{script=\"hello\",trigger=\"http\",status=\"ok\"} 2"));
        assert!(text.contains("switchboard_run_duration_seconds_bucket{script=\"hello\",le=\"0.005\"} 1"));
        assert!(text.contains("switchboard_run_duration_seconds_bucket{script=\"hello\",le=\"+Inf\"} 2"));
        assert!(text.contains("switchboard_http_requests_total{route=\"/hello\",status=\"200\"} 1"));
    }
}
