//! Cron schedules as users write them (5 fields, 6 with seconds, `@daily`...) in an IANA timezone,
//! on top of the `cron` crate, with crontab's day-of-week numbering and DST rules made explicit.

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use std::collections::BTreeSet;
use std::str::FromStr;

/// A parsed schedule in its timezone.
#[derive(Clone, Debug)]
pub struct Schedule {
    inner: cron::Schedule,
    zone: Tz,
}

impl Schedule {
    /// Parses `text` ("0 7 * * *", "*/10 * * * * *", "@daily") for `zone` (UTC when `None`).
    pub fn parse(text: &str, zone: Option<&str>) -> Result<Self, String> {
        let zone = match zone {
            Some(name) => name.parse::<Tz>().map_err(|_| format!("unknown timezone `{name}`"))?,
            None => Tz::UTC,
        };
        let expression = to_crate_syntax(text)?;
        let inner = cron::Schedule::from_str(&expression).map_err(|err| format!("invalid schedule `{text}`: {err}"))?;
        Ok(Self { inner, zone })
    }

    /// The timezone the schedule is read in.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The first fire time strictly after `after`.
    ///
    /// DST: a wall-clock time that a spring-forward change skips does not fire that day; a
    /// wall-clock time that a fall-back change repeats fires once, at its first occurrence.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local_after = after.with_timezone(&self.zone);
        let mut upcoming = self.inner.after(&local_after);
        let first = upcoming.next()?;
        // The cron crate yields a repeated wall-clock time twice in a fall-back hour; the second is
        // the same local time one hour later, which crontab semantics fire only once.
        if repeats_wall_clock(&first.naive_local(), self.zone, first.with_timezone(&Utc)) {
            return upcoming.next().map(|t| t.with_timezone(&Utc));
        }
        Some(first.with_timezone(&Utc))
    }

    /// The next `count` fire times after `after`, in the schedule's zone.
    pub fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Tz>> {
        let mut out = Vec::with_capacity(count);
        let mut cursor = after;
        while out.len() < count {
            let Some(next) = self.next_after(cursor) else { break };
            out.push(next.with_timezone(&self.zone));
            cursor = next;
        }
        out
    }
}

/// Whether `local` also occurred one hour before `instant` (the second pass of a fall-back hour).
fn repeats_wall_clock(local: &NaiveDateTime, zone: Tz, instant: DateTime<Utc>) -> bool {
    use chrono::TimeZone;
    match zone.from_local_datetime(local) {
        chrono::LocalResult::Ambiguous(earliest, _) => earliest.with_timezone(&Utc) < instant,
        _ => false,
    }
}

/// Converts crontab syntax to the `cron` crate's: seconds first, and days of the week numbered
/// 1 (Sunday) to 7 instead of crontab's 0 (or 7) for Sunday to 6.
fn to_crate_syntax(text: &str) -> Result<String, String> {
    let text = text.trim();
    let macro_expansion = match text {
        "@yearly" | "@annually" => Some("0 0 0 1 1 *"),
        "@monthly" => Some("0 0 0 1 * *"),
        "@weekly" => Some("0 0 0 * * 1"),
        "@daily" | "@midnight" => Some("0 0 0 * * *"),
        "@hourly" => Some("0 0 * * * *"),
        _ => None,
    };
    if let Some(expansion) = macro_expansion {
        return Ok(expansion.to_string());
    }
    let fields: Vec<&str> = text.split_whitespace().collect();
    let (seconds, rest) = match fields.len() {
        5 => ("0", &fields[..]),
        6 => (fields[0], &fields[1..]),
        _ => {
            return Err(format!(
                "invalid schedule `{text}`: expected 5 fields (minute hour day month weekday), 6 with seconds first, \
                 or @hourly, @daily, @weekly, @monthly, @yearly"
            ));
        }
    };
    let weekday = days_of_week(rest[4]).map_err(|err| format!("invalid schedule `{text}`: {err}"))?;
    Ok(format!("{seconds} {} {} {} {} {weekday}", rest[0], rest[1], rest[2], rest[3]))
}

const DAY_NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn day(text: &str) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(index) = DAY_NAMES.iter().position(|name| lower.starts_with(name)) {
        return Ok(index as u32);
    }
    match text.parse::<u32>() {
        Ok(n) if n <= 7 => Ok(n % 7),
        _ => Err(format!("`{text}` is not a day of the week (0-7 or sun-sat)")),
    }
}

/// A crontab day-of-week field as an explicit list in the crate's numbering.
fn days_of_week(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok("*".to_string());
    }
    let mut days = BTreeSet::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, step.parse::<u32>().map_err(|_| format!("`{step}` is not a step"))?),
            None => (item, 1),
        };
        if step == 0 {
            return Err("a step of 0 never advances".into());
        }
        let (first, last) = match range {
            "*" => (0, 6),
            _ => match range.split_once('-') {
                Some((a, b)) => (day(a)?, if b == "7" { 7 } else { day(b)? }),
                None if step > 1 => (day(range)?, 6),
                None => (day(range)?, day(range)?),
            },
        };
        if last < first {
            return Err(format!("`{range}` runs backwards"));
        }
        days.extend((first..=last).step_by(step as usize).map(|d| d % 7));
    }
    Ok(days.iter().map(|d| (d + 1).to_string()).collect::<Vec<_>>().join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("valid").with_timezone(&Utc)
    }

    #[test]
    fn crontab_weekdays_mean_what_they_say() {
        // 2026-11-27 is a Friday. "1" is Monday in crontab (and Sunday in the cron crate).
        let monday = Schedule::parse("0 9 * * 1", None).expect("valid");
        assert_eq!(monday.next_after(utc("2026-11-27T12:00:00Z")), Some(utc("2026-11-30T09:00:00Z")));
        let weekend = Schedule::parse("0 9 * * 6-7", None).expect("valid");
        let fires = weekend.upcoming(utc("2026-11-27T12:00:00Z"), 2);
        assert_eq!(fires[0].to_rfc3339(), "2026-11-28T09:00:00+00:00");
        assert_eq!(fires[1].to_rfc3339(), "2026-11-29T09:00:00+00:00");
        let named = Schedule::parse("0 9 * * MON-FRI", None).expect("valid");
        assert_eq!(named.next_after(utc("2026-11-28T00:00:00Z")), Some(utc("2026-11-30T09:00:00Z")));
        assert_eq!(days_of_week("*/2"), Ok("1,3,5,7".to_string()));
        assert_eq!(days_of_week("0,7"), Ok("1".to_string()));
    }

    #[test]
    fn six_fields_and_macros() {
        let every_second = Schedule::parse("* * * * * *", None).expect("valid");
        assert_eq!(every_second.next_after(utc("2026-11-27T12:00:00Z")), Some(utc("2026-11-27T12:00:01Z")));
        let hourly = Schedule::parse("@hourly", None).expect("valid");
        assert_eq!(hourly.next_after(utc("2026-11-27T12:00:00Z")), Some(utc("2026-11-27T13:00:00Z")));
        let weekly = Schedule::parse("@weekly", None).expect("valid");
        assert_eq!(weekly.next_after(utc("2026-11-27T12:00:00Z")), Some(utc("2026-11-29T00:00:00Z")));
        assert!(Schedule::parse("* * *", None).unwrap_err().contains("expected 5 fields"));
        assert!(Schedule::parse("0 7 * * 9", None).unwrap_err().contains("not a day of the week"));
    }

    #[test]
    fn timezones_follow_the_local_clock_across_dst() {
        let london = Schedule::parse("0 7 * * *", Some("Europe/London")).expect("valid");
        // Winter: 07:00 GMT is 07:00 UTC; summer: 07:00 BST is 06:00 UTC.
        assert_eq!(london.next_after(utc("2026-01-10T00:00:00Z")), Some(utc("2026-01-10T07:00:00Z")));
        assert_eq!(london.next_after(utc("2026-07-10T00:00:00Z")), Some(utc("2026-07-10T06:00:00Z")));
        // Across the spring change (2026-03-29) the local time stays 07:00.
        let fires = london.upcoming(utc("2026-03-28T00:00:00Z"), 2);
        assert_eq!(fires[0].with_timezone(&Utc), utc("2026-03-28T07:00:00Z"));
        assert_eq!(fires[1].with_timezone(&Utc), utc("2026-03-29T06:00:00Z"));
    }

    #[test]
    fn skipped_and_repeated_wall_clock_times() {
        let london = Schedule::parse("30 1 * * *", Some("Europe/London")).expect("valid");
        // 01:30 does not exist on 2026-03-29 (01:00 -> 02:00): that day has no fire.
        let spring = london.upcoming(utc("2026-03-28T12:00:00Z"), 1);
        assert_eq!(spring[0].with_timezone(&Utc), utc("2026-03-30T00:30:00Z"));
        // 01:30 happens twice on 2026-10-25 (02:00 -> 01:00): it fires once, the first time.
        let autumn = london.upcoming(utc("2026-10-24T12:00:00Z"), 2);
        assert_eq!(autumn[0].with_timezone(&Utc), utc("2026-10-25T00:30:00Z"));
        assert_eq!(autumn[1].with_timezone(&Utc), utc("2026-10-26T01:30:00Z"));
        let new_york = Schedule::parse("0 12 * * *", Some("America/New_York")).expect("valid");
        let noon = new_york.next_after(Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap()).expect("fires");
        assert_eq!(noon, utc("2026-11-27T17:00:00Z"));
    }
}
