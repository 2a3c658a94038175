//! `time`: the clock, formatting, parsing and IANA timezones (chrono + chrono-tz).

use super::{Result, def, error};
use crate::engine::context;
use crate::engine::time::Time;
use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rhai::{Dynamic, Engine, Module};
use std::time::Duration;

fn zone(function: &str, name: &str) -> Result<Tz> {
    name.parse::<Tz>().map_err(|_| {
        error(function, format!("unknown timezone `{name}`; expected an IANA name such as \"Europe/London\""))
    })
}

fn check_format(function: &str, pattern: &str) -> Result<()> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(pattern).any(|item| matches!(item, Item::Error)) {
        return Err(error(function, format!("invalid pattern `{pattern}` (strftime syntax, e.g. \"%Y-%m-%d %H:%M\")")));
    }
    Ok(())
}

/// Builds the `time` module.
pub fn module() -> Module {
    let mut module = Module::new();
    def!(&mut module, "now", now);
    def!(&mut module, "now", now_in);
    def!(&mut module, "format", format);
    def!(&mut module, "format", format_in);
    def!(&mut module, "parse", parse);
    def!(&mut module, "parse", parse_with);
    def!(&mut module, "parse", parse_in);
    def!(&mut module, "from_unix", from_unix);
    def!(&mut module, "in_zone", in_zone);
    def!(&mut module, "add", add_seconds);
    def!(&mut module, "add", add_duration);
    def!(&mut module, "diff", diff);
    def!(&mut module, "sleep", sleep);
    module
}

/// Registers the `Time` type: fields, comparison, subtraction and `to_string`.
pub fn register_type(engine: &mut Engine) {
    engine
        .register_type_with_name::<Time>("Time")
        .register_get("unix", |t: &mut Time| t.utc.timestamp())
        .register_get("unix_ms", |t: &mut Time| t.utc.timestamp_millis())
        .register_get("year", |t: &mut Time| t.field(|d| u32::try_from(chrono::Datelike::year(d)).unwrap_or(0)))
        .register_get("month", |t: &mut Time| t.field(chrono::Datelike::month))
        .register_get("day", |t: &mut Time| t.field(chrono::Datelike::day))
        .register_get("hour", |t: &mut Time| t.field(chrono::Timelike::hour))
        .register_get("minute", |t: &mut Time| t.field(chrono::Timelike::minute))
        .register_get("second", |t: &mut Time| t.field(chrono::Timelike::second))
        .register_get("weekday", |t: &mut Time| t.field(|d| chrono::Datelike::weekday(d).number_from_monday()))
        .register_get("zone", |t: &mut Time| t.zone.map_or_else(|| "UTC".to_string(), |z| z.name().to_string()))
        .register_fn("to_string", |t: &mut Time| t.to_rfc3339())
        .register_fn("to_debug", |t: &mut Time| format!("Time({})", t.to_rfc3339()))
        .register_fn("==", |a: Time, b: Time| a.utc == b.utc)
        .register_fn("!=", |a: Time, b: Time| a.utc != b.utc)
        .register_fn("<", |a: Time, b: Time| a.utc < b.utc)
        .register_fn("<=", |a: Time, b: Time| a.utc <= b.utc)
        .register_fn(">", |a: Time, b: Time| a.utc > b.utc)
        .register_fn(">=", |a: Time, b: Time| a.utc >= b.utc)
        .register_fn("-", |a: Time, b: Time| diff(a, b));
}

/// The current time in UTC.
///
/// ```rhai
/// let started = time::now();
/// started.unix    // seconds since 1970-01-01
/// ```
pub fn now() -> Time {
    Time::new(Utc::now())
}

/// The current time shown in an IANA timezone.
///
/// ```rhai
/// time::now("Europe/London").hour
/// ```
pub fn now_in(zone_name: &str) -> Result<Time> {
    Ok(Time { utc: Utc::now(), zone: Some(zone("time.now", zone_name)?) })
}

/// Formats a time with a strftime pattern, in the time's own zone.
///
/// ```rhai
/// time::format(time::now(), "%Y-%m-%d")    // "2026-11-27"
/// ```
pub fn format(time: Time, pattern: &str) -> Result<String> {
    check_format("time.format", pattern)?;
    Ok(time.format(pattern))
}

/// Formats a time with a strftime pattern in the given IANA timezone.
///
/// ```rhai
/// time::format(time::now(), "%H:%M", "America/New_York")
/// ```
pub fn format_in(time: Time, pattern: &str, zone_name: &str) -> Result<String> {
    check_format("time.format", pattern)?;
    Ok(Time { utc: time.utc, zone: Some(zone("time.format", zone_name)?) }.format(pattern))
}

/// Parses RFC 3339 (`2026-11-27T07:00:00Z`), RFC 2822, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD`
/// (the last two in UTC).
///
/// ```rhai
/// let t = time::parse("2026-11-27T07:00:00+01:00");
/// t.hour    // 6 (shown in UTC)
/// ```
pub fn parse(text: &str) -> Result<Time> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(Time::new(t.with_timezone(&Utc)));
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(text) {
        return Ok(Time::new(t.with_timezone(&Utc)));
    }
    for pattern in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, pattern) {
            return Ok(Time::new(naive.and_utc()));
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Time::new(date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()));
    }
    Err(error(
        "time.parse",
        format!("cannot read `{text}` as a time; expected RFC 3339 (2026-11-27T07:00:00Z) or YYYY-MM-DD [HH:MM[:SS]]"),
    ))
}

/// Parses text with a strftime pattern; without `%z` in the pattern the time is taken as UTC.
///
/// ```rhai
/// time::parse("27/11/2026 07:30", "%d/%m/%Y %H:%M").minute    // 30
/// ```
pub fn parse_with(text: &str, pattern: &str) -> Result<Time> {
    if let Ok(t) = DateTime::parse_from_str(text, pattern) {
        return Ok(Time::new(t.with_timezone(&Utc)));
    }
    let naive = parse_naive(text, pattern)?;
    Ok(Time::new(naive.and_utc()))
}

/// Parses local wall-clock text with a strftime pattern in an IANA timezone. A time that the
/// zone skips (a DST gap) is an error; a repeated one takes the earlier instant.
///
/// ```rhai
/// let t = time::parse("2026-07-01 09:00", "%Y-%m-%d %H:%M", "Europe/London");
/// t.unix == time::parse("2026-07-01T08:00:00Z").unix    // true
/// ```
pub fn parse_in(text: &str, pattern: &str, zone_name: &str) -> Result<Time> {
    let tz = zone("time.parse", zone_name)?;
    let naive = parse_naive(text, pattern)?;
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
            Ok(Time { utc: t.with_timezone(&Utc), zone: Some(tz) })
        }
        LocalResult::None => {
            Err(error("time.parse", format!("`{text}` does not exist in {zone_name} (skipped by a clock change)")))
        }
    }
}

fn parse_naive(text: &str, pattern: &str) -> Result<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, pattern)
        .or_else(|_| NaiveDate::parse_from_str(text, pattern).map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default()))
        .map_err(|err| error("time.parse", format!("`{text}` does not match `{pattern}` ({err})")))
}

/// The time `seconds` after 1970-01-01T00:00:00Z.
///
/// ```rhai
/// time::from_unix(0).year    // 1970
/// ```
pub fn from_unix(seconds: i64) -> Result<Time> {
    DateTime::from_timestamp(seconds, 0)
        .map(Time::new)
        .ok_or_else(|| error("time.from_unix", format!("{seconds} is out of range")))
}

/// The same instant shown in another IANA timezone.
///
/// ```rhai
/// time::in_zone(time::now(), "Asia/Tokyo").hour
/// ```
pub fn in_zone(time: Time, zone_name: &str) -> Result<Time> {
    Ok(Time { utc: time.utc, zone: Some(zone("time.in_zone", zone_name)?) })
}

/// The time `seconds` later (earlier when negative).
///
/// ```rhai
/// time::add(time::now(), 3600)
/// ```
pub fn add_seconds(time: Time, seconds: i64) -> Result<Time> {
    let utc = time.utc.checked_add_signed(chrono::TimeDelta::seconds(seconds));
    utc.map(|utc| Time { utc, zone: time.zone }).ok_or_else(|| error("time.add", "result is out of range"))
}

/// The time a duration such as `"90m"` or `"1h 30m"` later.
///
/// ```rhai
/// time::add(time::now(), "1h 30m")
/// ```
pub fn add_duration(time: Time, duration: &str) -> Result<Time> {
    let span = humantime::parse_duration(duration).map_err(|err| error("time.add", format!("`{duration}`: {err}")))?;
    add_seconds(time, i64::try_from(span.as_secs()).unwrap_or(i64::MAX))
}

/// Seconds from `earlier` to `later`, as a float (negative if `later` is before `earlier`).
///
/// ```rhai
/// let t0 = time::now();
/// time::diff(time::now(), t0) >= 0.0    // true
/// ```
pub fn diff(later: Time, earlier: Time) -> f64 {
    let delta = later.utc - earlier.utc;
    delta.num_microseconds().map_or(delta.num_seconds() as f64, |us| us as f64 / 1e6)
}

/// Pauses the run for `milliseconds`, never past its deadline; Ctrl-C in the REPL ends the pause
/// with an "interrupted" error.
///
/// ```rhai
/// time::sleep(250);
/// ```
pub fn sleep(milliseconds: i64) -> Result<Dynamic> {
    let wanted = Duration::from_millis(u64::try_from(milliseconds).unwrap_or(0));
    let pause = context::remaining().map_or(wanted, |left| wanted.min(left));
    crate::engine::pause(pause).map_err(|interrupted| error("time.sleep", interrupted))?;
    if pause < wanted {
        return Err(context::deadline_error());
    }
    Ok(Dynamic::UNIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_local_time_across_dst() {
        // 2026-03-29 01:30 does not exist in London (clocks go 01:00 -> 02:00).
        assert!(parse_in("2026-03-29 01:30", "%Y-%m-%d %H:%M", "Europe/London").is_err());
        let summer = parse_in("2026-07-01 09:00", "%Y-%m-%d %H:%M", "Europe/London").expect("valid");
        assert_eq!(summer.utc.to_rfc3339(), "2026-07-01T08:00:00+00:00");
        let winter = parse_in("2026-12-01 09:00", "%Y-%m-%d %H:%M", "Europe/London").expect("valid");
        assert_eq!(winter.utc.to_rfc3339(), "2026-12-01T09:00:00+00:00");
    }

    #[test]
    fn formats_in_zone_and_rejects_bad_patterns() {
        let t = parse("2026-11-27T07:00:00Z").expect("valid");
        assert_eq!(format_in(t, "%H:%M", "Asia/Tokyo").expect("valid"), "16:00");
        assert!(format(t, "%Q").is_err());
    }
}
