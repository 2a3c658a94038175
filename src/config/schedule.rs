//! Cron schedules as crontab(5) reads them (5 fields, 6 with seconds first, `@daily`...), with
//! the `L`, `W` and `#` extensions, in an IANA timezone: the `croner` crate matches the fields,
//! this module adds Vixie cron's day rule and the DST rules.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// The fields of a 6-field line, seconds first, with the values each takes.
const FIELDS: [(&str, &str); 6] = [
    ("second", "0-59"),
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day of month", "1-31, L, NW"),
    ("month", "1-12 or jan-dec"),
    ("day of week", "0-7 or sun-sat, N#K, NL"),
];

/// Fire times skipped in a row (wall-clock times that a DST change removes) before a schedule
/// counts as never firing: a job set inside the gap of every year's spring change.
const MAX_SKIPPED: usize = 10_000;

/// Why a schedule or its timezone was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("unknown timezone `{0}`")]
    UnknownZone(String),
    #[error(
        "invalid schedule `{text}`: expected 5 fields (minute hour day month weekday), 6 with seconds first, \
         or @hourly, @daily, @weekly, @monthly, @yearly"
    )]
    FieldCount { text: String },
    #[error("invalid schedule `{text}`: {field} `{value}`: {reason} (allowed: {allowed})")]
    Field { text: String, field: &'static str, value: String, reason: String, allowed: &'static str },
    #[error("invalid schedule `{text}`: {reason}")]
    Pattern { text: String, reason: String },
}

/// A parsed schedule in its timezone.
#[derive(Clone, Debug)]
pub struct Schedule {
    cron: Cron,
    /// The line as written, for messages.
    text: String,
    /// The six fields handed to `croner` (seconds first).
    fields: Vec<String>,
    zone: Tz,
}

impl Schedule {
    /// Parses `text` ("0 7 * * *", "*/10 * * * * *", "@daily", "0 9 * * MON#1") for `zone` (UTC
    /// when `None`).
    pub fn parse(text: &str, zone: Option<&str>) -> Result<Self, ScheduleError> {
        let zone = match zone {
            Some(name) => name.parse::<Tz>().map_err(|_| ScheduleError::UnknownZone(name.to_string()))?,
            None => Tz::UTC,
        };
        let fields = crontab_fields(text)?;
        let cron = parser(false).parse(&fields.join(" ")).map_err(|err| locate(text, &fields, &err))?;
        Ok(Self { cron, text: text.trim().to_string(), fields, zone })
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
        next_in_zone(&self.cron, self.zone, after)
    }

    /// The next `count` fire times after `after`, in the schedule's zone.
    pub fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Tz>> {
        upcoming(&self.cron, self.zone, after, count)
    }

    /// The schedule in words: "at 07:00, on Monday, Tuesday, Wednesday, Thursday, and Friday".
    pub fn describe(&self) -> String {
        words(&self.cron)
    }

    /// When both day fields are restricted, crontab(5) fires on a day matching either; earlier
    /// versions of Switchboard fired only on a day matching both. This names both readings, with
    /// their next fire times after `now`, for a schedule whose meaning changed.
    pub fn or_rule_warning(&self, now: DateTime<Utc>) -> Option<String> {
        let (dom, dow) = (&self.fields[3], &self.fields[5]);
        if starts_unrestricted(dom) || starts_unrestricted(dow) || dow.starts_with('+') {
            return None;
        }
        let both = parser(true).parse(&self.fields.join(" ")).ok()?;
        let first = |cron: &Cron| match upcoming(cron, self.zone, now, 1).first() {
            Some(next) => format!("next {}", next.format("%Y-%m-%d %H:%M %Z")),
            None => "never".to_string(),
        };
        let mut and_form: Vec<&str> = self.text.split_whitespace().collect();
        let plus = format!("+{}", and_form.last().copied().unwrap_or_default());
        if let Some(last) = and_form.last_mut() {
            *last = &plus;
        }
        Some(format!(
            "`{}` fires on a day matching either day field, as crontab(5) reads it: {} ({}); before, Switchboard \
             fired only on a day matching both: {} ({}); write `{}` for that",
            self.text,
            words(&self.cron),
            first(&self.cron),
            words(&both),
            first(&both),
            and_form.join(" ")
        ))
    }
}

/// The parser for six fields, seconds first; `both_days` makes a day match both day fields.
fn parser(both_days: bool) -> CronParser {
    // `sloppy_ranges` keeps `0/10` (0 to the end, every 10), which crontabs and the `cron` crate
    // this module used before both accept.
    CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Disallowed)
        .sloppy_ranges(true)
        .dom_and_dow(both_days)
        .build()
}

/// Whether a day field counts as unrestricted for crontab's day rule: Vixie cron looks only at
/// its first character, so `*/2` is unrestricted too.
fn starts_unrestricted(field: &str) -> bool {
    field.starts_with('*') || field.starts_with('?')
}

/// The line as six fields for `croner`: macros expanded, seconds added, and crontab's day rule
/// spelled out where `croner` reads it differently.
fn crontab_fields(text: &str) -> Result<Vec<String>, ScheduleError> {
    let text = text.trim();
    let expanded = match text.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ => text,
    };
    let mut fields: Vec<String> = expanded.split_whitespace().map(str::to_string).collect();
    match fields.len() {
        5 => fields.insert(0, "0".to_string()),
        6 => {}
        _ => return Err(ScheduleError::FieldCount { text: text.to_string() }),
    }
    fields[4] = abbreviate(&fields[4], &MONTH_NAMES);
    fields[5] = weekdays(&abbreviate(&fields[5], &DAY_NAMES));
    // `croner` treats only a bare `*` as unrestricted; Vixie cron treats any field starting with
    // `*` so (`*/2`), and then a day must match both fields, which `croner` spells `+`. (With a
    // bare `*` on either side, `croner` already matches on the other field alone.)
    let (dom, dow) = (&fields[3], &fields[5]);
    let bare = |field: &str| field == "*" || field == "?";
    if !dow.starts_with('+') && !bare(dom) && !bare(dow) && (starts_unrestricted(dom) || starts_unrestricted(dow)) {
        fields[5] = format!("+{}", fields[5]);
    }
    Ok(fields)
}

const MONTH_NAMES: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const DAY_NAMES: [&str; 7] = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

/// Full names (`Monday`, `january`), which the `cron` crate this module used before accepted, as
/// the three letters `croner` knows.
fn abbreviate(field: &str, names: &[&str]) -> String {
    let mut field = field.to_ascii_lowercase();
    for name in names {
        field = field.replace(name, &name[..3]);
    }
    field
}

/// `N/S` in a day of week runs from N to Saturday, as croniter and earlier versions read it;
/// `croner` would run on to 7 and add Sunday.
fn weekdays(field: &str) -> String {
    let item = |item: &str| match item.split_once('/') {
        Some((first, step)) if !first.contains(['*', '-', '?']) && first != "7" => format!("{first}-6/{step}"),
        _ => item.to_string(),
    };
    field.split(',').map(item).collect::<Vec<_>>().join(",")
}

/// Names the field `croner` refused: each field is tried alone, the others `*`.
fn locate(text: &str, fields: &[String], err: &croner::errors::CronError) -> ScheduleError {
    let reason = |err: &croner::errors::CronError| {
        let message = err.to_string();
        let message = message.split_once(": ").map_or(message.as_str(), |(_, rest)| rest).trim_end_matches('.');
        let mut chars = message.chars();
        chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
    };
    // The field as written: a 5-field line has no seconds.
    let written: Vec<&str> = text.split_whitespace().collect();
    let skipped = FIELDS.len().saturating_sub(written.len());
    for (index, (field, allowed)) in FIELDS.iter().enumerate() {
        let mut probe = ["*"; 6];
        probe[index] = fields[index].trim_start_matches('+');
        if let Err(alone) = parser(false).parse(&probe.join(" ")) {
            return ScheduleError::Field {
                text: text.trim().to_string(),
                field,
                value: index
                    .checked_sub(skipped)
                    .and_then(|i| written.get(i))
                    .map_or_else(|| fields[index].clone(), |w| w.to_string()),
                reason: reason(&alone),
                allowed,
            };
        }
    }
    ScheduleError::Pattern { text: text.trim().to_string(), reason: reason(err) }
}

/// `croner`'s description as a phrase: "at 07:00, on Monday".
fn words(cron: &Cron) -> String {
    let description = cron.describe();
    let description = description.trim_end_matches('.');
    let mut chars = description.chars();
    chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
}

fn upcoming(cron: &Cron, zone: Tz, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Tz>> {
    let mut out = Vec::with_capacity(count);
    let mut cursor = after;
    while out.len() < count {
        let Some(next) = next_in_zone(cron, zone, cursor) else { break };
        out.push(next.with_timezone(&zone));
        cursor = next;
    }
    out
}

/// The next fire time after `after`: `croner` matches wall-clock times (read as if in UTC, where
/// no clock jumps), and each is then placed in `zone`, which is where the DST rules apply.
fn next_in_zone(cron: &Cron, zone: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let wall_after = after.with_timezone(&zone).naive_local();
    let mut cursor = Utc.from_utc_datetime(&wall_after);
    for _ in 0..MAX_SKIPPED {
        let wall = cron.find_next_occurrence(&cursor, false).ok()?;
        match place(&wall.naive_utc(), zone) {
            Some(instant) if instant > after => return Some(instant),
            // Skipped by a spring-forward change, or the repeat of a time that already fired.
            _ => cursor = wall,
        }
    }
    None
}

/// The instant of a wall-clock time in `zone`: none in a spring-forward gap, the first of the two
/// in a fall-back hour.
fn place(wall: &NaiveDateTime, zone: Tz) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(wall) {
        LocalResult::Single(instant) | LocalResult::Ambiguous(instant, _) => Some(instant.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("valid").with_timezone(&Utc)
    }

    fn next(text: &str, from: &str, count: usize) -> Vec<String> {
        let schedule = Schedule::parse(text, None).expect("valid");
        schedule.upcoming(utc(from), count).iter().map(|t| t.to_rfc3339()).collect()
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
        assert_eq!(next("0 9 * * 0,7", "2026-11-27T12:00:00Z", 2), next("0 9 * * sun", "2026-11-27T12:00:00Z", 2));
        assert_eq!(next("0 9 * jan Fri", "2026-11-27T12:00:00Z", 1), ["2027-01-01T09:00:00+00:00"]);
        assert_eq!(next("0 9 * January Friday", "2026-11-27T12:00:00Z", 1), ["2027-01-01T09:00:00+00:00"]);
        // From Monday every other day to Saturday: Monday, Wednesday, Friday; not Sunday.
        assert_eq!(
            next("0 9 * * 1/2", "2026-11-27T12:00:00Z", 3),
            ["2026-11-30T09:00:00+00:00", "2026-12-02T09:00:00+00:00", "2026-12-04T09:00:00+00:00"]
        );
    }

    #[test]
    fn either_restricted_day_field_fires_as_in_crontab() {
        // 2026-11-27 is a Friday; 2026-11-30 the coming Monday. Both days restricted: either.
        assert_eq!(
            next("0 0 1 * MON", "2026-11-27T12:00:00Z", 3),
            ["2026-11-30T00:00:00+00:00", "2026-12-01T00:00:00+00:00", "2026-12-07T00:00:00+00:00"]
        );
        // A field starting with `*` is unrestricted, as Vixie cron reads it: both must match.
        assert_eq!(next("0 0 */2 * MON", "2026-11-27T12:00:00Z", 1), ["2026-12-07T00:00:00+00:00"]);
        assert_eq!(next("0 0 1 * */2", "2026-11-27T12:00:00Z", 1), ["2026-12-01T00:00:00+00:00"]);
        // Both starting with `*`: both must match (the 16th of May 2026 is a Saturday).
        assert_eq!(next("0 0 */15 5 */3", "2026-03-01T00:00:00Z", 1), ["2026-05-16T00:00:00+00:00"]);
        // `+` asks for both explicitly: the 1st of a month that is a Monday.
        assert_eq!(next("0 0 1 * +MON", "2026-11-27T12:00:00Z", 1), ["2027-02-01T00:00:00+00:00"]);
    }

    #[test]
    fn last_nearest_weekday_and_nth_weekday() {
        assert_eq!(
            next("0 12 L * *", "2026-11-27T12:00:00Z", 2),
            ["2026-11-30T12:00:00+00:00", "2026-12-31T12:00:00+00:00"]
        );
        assert_eq!(
            next("0 9 * * MON#1", "2026-11-27T12:00:00Z", 2),
            ["2026-12-07T09:00:00+00:00", "2027-01-04T09:00:00+00:00"]
        );
        assert_eq!(
            next("0 9 * * 5L", "2026-11-27T12:00:00Z", 2),
            ["2026-12-25T09:00:00+00:00", "2027-01-29T09:00:00+00:00"]
        );
        // 2027-05-15 is a Saturday: the nearest weekday is Friday the 14th.
        assert_eq!(next("0 9 15W 5 *", "2026-11-27T12:00:00Z", 1), ["2027-05-14T09:00:00+00:00"]);
    }

    #[test]
    fn six_fields_and_macros() {
        let every_second = Schedule::parse("* * * * * *", None).expect("valid");
        assert_eq!(every_second.next_after(utc("2026-11-27T12:00:00Z")), Some(utc("2026-11-27T12:00:01Z")));
        let hourly = Schedule::parse("@hourly", None).expect("valid");
        assert_eq!(hourly.next_after(utc("2026-11-27T12:00:00Z")), Some(utc("2026-11-27T13:00:00Z")));
        let weekly = Schedule::parse("@WEEKLY", None).expect("valid");
        assert_eq!(weekly.next_after(utc("2026-11-27T12:00:00Z")), Some(utc("2026-11-29T00:00:00Z")));
        assert_eq!(next("@midnight", "2026-11-27T12:00:00Z", 1), next("@daily", "2026-11-27T12:00:00Z", 1));
        assert_eq!(next("@annually", "2026-11-27T12:00:00Z", 1), ["2027-01-01T00:00:00+00:00"]);
        assert_eq!(
            next("0/20 * * * *", "2026-11-27T12:00:00Z", 2),
            ["2026-11-27T12:20:00+00:00", "2026-11-27T12:40:00+00:00"]
        );
    }

    #[test]
    fn errors_name_the_field_and_the_value() {
        let err = |text: &str| Schedule::parse(text, None).unwrap_err().to_string();
        assert!(err("* * *").contains("expected 5 fields"), "{}", err("* * *"));
        assert!(err("0 0 * * * * 2027").contains("expected 5 fields"));
        assert!(err("61 * * * *").contains("minute `61`"), "{}", err("61 * * * *"));
        assert!(err("0 7 * * 9").contains("day of week `9`"), "{}", err("0 7 * * 9"));
        assert!(err("0 7 * foo *").contains("month `foo`"), "{}", err("0 7 * foo *"));
        assert!(err("0 7 32 * *").contains("day of month `32`"), "{}", err("0 7 32 * *"));
        assert!(err("0 9 * * MON#6").contains("day of week `MON#6`"), "{}", err("0 9 * * MON#6"));
        assert_eq!(
            Schedule::parse("0 7 * * *", Some("Mars/Base")).unwrap_err(),
            ScheduleError::UnknownZone("Mars/Base".into())
        );
    }

    #[test]
    fn descriptions_and_the_or_rule_warning() {
        let words = |text: &str| Schedule::parse(text, None).expect("valid").describe();
        assert_eq!(words("0 7 * * MON-FRI"), "at 07:00, on Monday, Tuesday, Wednesday, Thursday, and Friday");
        assert_eq!(words("0 12 L * *"), "at 12:00, on the last day of the month");
        let now = utc("2026-11-27T12:00:00Z");
        let warning = Schedule::parse("0 0 1 * MON", None).expect("valid").or_rule_warning(now).expect("warned");
        assert!(warning.contains("next 2026-11-30 00:00 UTC"), "{warning}");
        assert!(warning.contains("next 2027-02-01 00:00 UTC"), "{warning}");
        assert!(warning.contains("write `0 0 1 * +MON`"), "{warning}");
        for unchanged in ["0 0 1 * *", "0 0 * * MON", "0 0 */2 * MON", "0 0 1 * +MON", "@weekly"] {
            assert_eq!(Schedule::parse(unchanged, None).expect("valid").or_rule_warning(now), None, "{unchanged}");
        }
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
        // An interval job fires each wall-clock time of the repeated hour once, too.
        let quarterly = Schedule::parse("*/30 * * * *", Some("Europe/London")).expect("valid");
        let fires: Vec<DateTime<Utc>> =
            quarterly.upcoming(utc("2026-10-24T23:45:00Z"), 4).iter().map(|t| t.with_timezone(&Utc)).collect();
        let expected = ["2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z"];
        assert_eq!(fires, expected.map(utc));
        // Started inside the second pass of the repeated hour: times that already fired stay done.
        assert_eq!(quarterly.next_after(utc("2026-10-25T01:10:00Z")), Some(utc("2026-10-25T02:00:00Z")));
        let new_york = Schedule::parse("0 12 * * *", Some("America/New_York")).expect("valid");
        let noon = new_york.next_after(Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap()).expect("fires");
        assert_eq!(noon, utc("2026-11-27T17:00:00Z"));
    }
}
