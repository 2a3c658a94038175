//! The `Time` value scripts hold: an instant and the zone it is shown in.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use chrono_tz::Tz;

/// An instant, shown in a timezone (UTC unless one was chosen).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Time {
    pub utc: DateTime<Utc>,
    pub zone: Option<Tz>,
}

impl Time {
    pub fn new(utc: DateTime<Utc>) -> Self {
        Self { utc, zone: None }
    }

    /// RFC 3339 text in the time's zone, e.g. `2026-11-27T07:00:00Z`.
    pub fn to_rfc3339(self) -> String {
        match self.zone {
            Some(zone) => self.utc.with_timezone(&zone).to_rfc3339_opts(SecondsFormat::AutoSi, true),
            None => self.utc.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        }
    }

    /// The time as `pattern` (strftime syntax) writes it in its zone.
    pub fn format(&self, pattern: &str) -> String {
        match self.zone {
            Some(zone) => self.utc.with_timezone(&zone).format(pattern).to_string(),
            None => self.utc.format(pattern).to_string(),
        }
    }

    /// One field (`pick`) of the time's date or clock in its zone.
    pub fn field(&self, pick: impl Fn(&NaiveDateTime) -> u32) -> i64 {
        let local = match self.zone {
            Some(zone) => self.utc.with_timezone(&zone).naive_local(),
            None => self.utc.naive_utc(),
        };
        i64::from(pick(&local))
    }
}
