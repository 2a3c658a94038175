//! `switchboard cron next` against croniter (PyPI), an independent implementation: a few hundred
//! generated crontab lines and the named cases of issue 19, five times each from a fixed instant,
//! in UTC and in New York (which changes its clocks). Runs croniter with the python of
//! `SWITCHBOARD_TEST_PYTHON` (`.ci/run` installs croniter there) or `python3` on PATH; without
//! croniter it says it skipped, or fails where `SWITCHBOARD_REQUIRE_TOOLS` is set.

use chrono::{DateTime, Duration, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A Sunday a week before New York's spring change (2026-03-08 02:00 local).
const FROM: &str = "2026-03-01T10:17:23Z";
const ZONES: [&str; 2] = ["UTC", "America/New_York"];
const COUNT: usize = 5;

/// Lines written as users write them, and how croniter spells the ones it spells differently.
const NAMED: [(&str, &str); 18] = [
    ("0 9 * * 1/2", "0 9 * * 1/2"),
    ("0 9 * * 0-7/2", "0 9 * * 0-7/2"),
    ("0 0 1 * MON", "0 0 1 * MON"),
    ("0 12 L * *", "0 12 L * *"),
    ("0 9 * * MON#1", "0 9 * * MON#1"),
    ("0 9 * * 5L", "0 9 * * L5"),
    ("0 9 15W * *", "0 9 15W * *"),
    ("0 0 */2 * MON", "0 0 */2 * MON"),
    ("0 0 1 * */2", "0 0 1 * */2"),
    ("0 7 * * mon-FRI", "0 7 * * mon-FRI"),
    ("0 0 * * 7", "0 0 * * 7"),
    ("*/15 9-17 * * 1-5", "*/15 9-17 * * 1-5"),
    ("30 2 * * *", "30 2 * * *"),
    ("30 1 * * *", "30 1 * * *"),
    ("*/20 0 9 * * *", "*/20 0 9 * * *"),
    ("@yearly", "@yearly"),
    ("@weekly", "@weekly"),
    ("@midnight", "@midnight"),
];

fn python() -> Option<PathBuf> {
    let program =
        std::env::var_os("SWITCHBOARD_TEST_PYTHON").map(PathBuf::from).or_else(|| which::which("python3").ok())?;
    let found = Command::new(&program)
        .args(["-c", "import croniter"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    found.then_some(program)
}

/// One field: `*`, a value, a list, a range, a stepped range or `*/N`, names in any case.
fn field(rng: &mut fastrand::Rng, low: u32, high: u32, names: &[&str], star_weight: u8) -> String {
    let first = low;
    let value = |rng: &mut fastrand::Rng, low: u32, high: u32| -> String {
        let n = rng.u32(low..=high);
        match names.get((n - first) as usize) {
            Some(name) if rng.bool() => match rng.u8(0..3) {
                0 => name.to_ascii_uppercase(),
                1 => name.to_string(),
                _ => name[..1].to_ascii_uppercase() + &name[1..],
            },
            _ => n.to_string(),
        }
    };
    if rng.u8(0..100) < star_weight {
        return "*".into();
    }
    match rng.u8(0..6) {
        0 | 1 => value(rng, low, high),
        2 => (0..rng.usize(2..4)).map(|_| value(rng, low, high)).collect::<Vec<_>>().join(","),
        3 => {
            let a = rng.u32(low..high);
            let b = rng.u32(a + 1..=high);
            format!("{}-{}", value(rng, a, a), value(rng, b, b))
        }
        4 => {
            let a = rng.u32(low..high);
            format!("{a}-{}/{}", rng.u32(a + 1..=high), rng.u32(1..=(high - low).min(12)))
        }
        _ => format!("*/{}", rng.u32(1..=(high - low).min(15))),
    }
}

/// A crontab line; one in eight has seconds first, some use `L` or `#`.
fn line(rng: &mut fastrand::Rng) -> String {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let minute = field(rng, 0, 59, &[], 20);
    let hour = field(rng, 0, 23, &[], 30);
    let dom = match rng.u8(0..12) {
        0 => "L".to_string(),
        _ => field(rng, 1, 28, &[], 55),
    };
    let month = field(rng, 1, 12, &MONTHS, 60);
    // croniter reads `#` beside a restricted day of month inconsistently (ignoring the day, or
    // finding no date at all), where crontab's rule fires on either: `#` only with `*` there.
    let dow = match rng.u8(0..12) {
        0 if dom == "*" => format!("{}#{}", DAYS[rng.usize(0..7)], rng.u8(1..=4)),
        1 => "7".to_string(),
        _ => field(rng, 0, 6, &DAYS, 55),
    };
    let five = format!("{minute} {hour} {dom} {month} {dow}");
    if rng.u8(0..8) == 0 { format!("{} {five}", field(rng, 0, 59, &[], 20)) } else { five }
}

/// Ours: the times `cron next` prints, or `None` when it says the line never fires.
fn ours(expr: &str, zone: &str) -> Result<Option<Vec<DateTime<Utc>>>, String> {
    let out = Command::new(crate::harness::binary())
        .args(["cron", "next", expr, "--tz", zone, "--from", FROM, "--count", &COUNT.to_string()])
        .output()
        .map_err(|err| err.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Ok(Some(
            stdout.lines().map(|l| DateTime::parse_from_rfc3339(l).expect("RFC 3339").with_timezone(&Utc)).collect(),
        )),
        Some(1) if stderr.contains("never fires") => Ok(None),
        code => Err(format!("exit {code:?}: {stderr}")),
    }
}

/// Whether `instant` lies within two hours of a change of `zone`'s UTC offset: croniter fires a
/// time a spring change skips at the end of the gap and may fire a repeated time twice, where
/// Switchboard skips the first and fires the second once (README, Cron jobs), so the oracle is
/// not asked about those hours.
fn near_a_clock_change(zone: Tz, instant: DateTime<Utc>) -> bool {
    let offset = |t: DateTime<Utc>| zone.offset_from_utc_datetime(&t.naive_utc()).fix();
    offset(instant - Duration::hours(2)) != offset(instant + Duration::hours(2))
}

#[test]
fn cron_next_agrees_with_croniter() {
    let Some(python) = python() else {
        crate::harness::skip("python3 with croniter not found (set SWITCHBOARD_TEST_PYTHON; .ci/run installs it)");
        return;
    };
    let mut rng = fastrand::Rng::with_seed(19);
    let mut cases: Vec<(String, String)> =
        NAMED.iter().map(|(ours, theirs)| (ours.to_string(), theirs.to_string())).collect();
    cases.extend((0..300).map(|_| line(&mut rng)).map(|line| (line.clone(), line)));
    let asked: Vec<Value> = ZONES
        .iter()
        .flat_map(|zone| {
            cases.iter().map(move |(_, theirs)| json!({"expr": theirs, "tz": zone, "from": FROM, "count": COUNT}))
        })
        .collect();
    let mut oracle = Command::new(&python)
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/croniter_oracle.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start python");
    oracle.stdin.take().expect("stdin").write_all(Value::Array(asked.clone()).to_string().as_bytes()).expect("write");
    let answer = oracle.wait_with_output().expect("oracle");
    assert!(answer.status.success(), "the croniter oracle failed");
    let answers: Vec<Value> = serde_json::from_slice(&answer.stdout).expect("oracle JSON");

    let mut differences = Vec::new();
    let mut compared = 0;
    for (index, zone_name) in ZONES.iter().flat_map(|zone| std::iter::repeat_n(zone, cases.len())).enumerate() {
        let (expr, _) = &cases[index % cases.len()];
        let zone: Tz = zone_name.parse().expect("zone");
        let ours = match ours(expr, zone_name) {
            Ok(ours) => ours,
            Err(err) => {
                differences.push(format!("`{expr}` in {zone_name}: refused: {err}"));
                continue;
            }
        };
        let theirs: Option<Vec<DateTime<Utc>>> = answers[index]
            .as_array()
            .map(|times| times.iter().map(|t| t.as_str().and_then(|t| t.parse().ok()).expect("oracle time")).collect());
        match (ours, theirs) {
            (None, None) => {}
            (Some(ours), Some(theirs)) => {
                let keep = |times: Vec<DateTime<Utc>>| -> Vec<DateTime<Utc>> {
                    times.into_iter().filter(|t| !near_a_clock_change(zone, *t)).collect()
                };
                let (ours, theirs) = (keep(ours), keep(theirs));
                let shared = ours.len().min(theirs.len());
                if ours[..shared] != theirs[..shared] {
                    differences.push(format!("`{expr}` in {zone_name}: ours {ours:?}, croniter {theirs:?}"));
                }
                compared += shared;
            }
            (ours, _) => {
                differences.push(format!("`{expr}` in {zone_name}: ours {ours:?}, croniter {}", answers[index]))
            }
        }
    }
    assert!(differences.is_empty(), "{} of {} differ:\n{}", differences.len(), asked.len(), differences.join("\n"));
    assert!(compared > 2500, "only {compared} fire times compared");
}
