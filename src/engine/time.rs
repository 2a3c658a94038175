//! The `Time` value scripts hold (an instant and the zone it is shown in) and the RFC 3339
//! writer that run records and JSON results use for it.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use chrono_tz::Tz;

/// Hands `utc` as RFC 3339 text ending in `Z` (the text of chrono's
/// `to_rfc3339_opts(format, true)`) to `write` from a stack buffer, written without the
/// formatting machinery: run start times and script results write one per run, and chrono's way
/// showed in profiles. Writing it into other text (a run log record, a JSON result) allocates
/// nothing. Years beyond 0-9999 and leap seconds are left to chrono.
pub fn with_rfc3339_utc<R>(utc: &DateTime<Utc>, format: SecondsFormat, write: impl FnOnce(&str) -> R) -> R {
    use chrono::{Datelike, Timelike};
    let nanos = utc.nanosecond();
    if !(0..=9999).contains(&utc.year()) || nanos >= 1_000_000_000 {
        return write(&utc.to_rfc3339_opts(format, true));
    }
    let digits = match format {
        SecondsFormat::Secs => 0,
        SecondsFormat::Millis => 3,
        SecondsFormat::Micros => 6,
        SecondsFormat::Nanos => 9,
        _ if nanos == 0 => 0,
        _ if nanos.is_multiple_of(1_000_000) => 3,
        _ if nanos.is_multiple_of(1_000) => 6,
        _ => 9,
    };
    // Pushing character by character onto a String cost more than the date arithmetic.
    let mut out = [0u8; 32];
    let naive = utc.naive_utc();
    let mut at = put_digits(&mut out, 0, naive.year().unsigned_abs(), 4, b'-');
    at = put_digits(&mut out, at, naive.month(), 2, b'-');
    at = put_digits(&mut out, at, naive.day(), 2, b'T');
    at = put_digits(&mut out, at, naive.hour(), 2, b':');
    at = put_digits(&mut out, at, naive.minute(), 2, b':');
    at = put_digits(&mut out, at, naive.second(), 2, if digits > 0 { b'.' } else { b'Z' });
    if digits > 0 {
        let mut fraction = nanos;
        for _ in digits..9 {
            fraction /= 10;
        }
        at = put_digits(&mut out, at, fraction, digits, b'Z');
    }
    // Only ASCII digits and separators were written, so this never falls back.
    match std::str::from_utf8(&out[..at]) {
        Ok(text) => write(text),
        Err(_) => write(&utc.to_rfc3339_opts(format, true)),
    }
}

/// Writes the last `width` decimal digits of `value` at `at` in `out`, then `after`; returns
/// where the next field starts.
fn put_digits(out: &mut [u8; 32], at: usize, mut value: u32, width: usize, after: u8) -> usize {
    for slot in out[at..at + width].iter_mut().rev() {
        *slot = b'0' + u8::try_from(value % 10).unwrap_or_default();
        value /= 10;
    }
    out[at + width] = after;
    at + width + 1
}

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

    /// RFC 3339 text in the time's zone, e.g. `2026-11-27T07:00:00+00:00`.
    pub fn to_rfc3339(self) -> String {
        self.with_rfc3339(str::to_owned)
    }

    /// Hands [`Time::to_rfc3339`]'s text to `write`, without allocating it for a UTC time.
    pub fn with_rfc3339<R>(&self, write: impl FnOnce(&str) -> R) -> R {
        match self.zone {
            Some(zone) => write(&self.utc.with_timezone(&zone).to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            None => with_rfc3339_utc(&self.utc, SecondsFormat::AutoSi, write),
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    #[test]
    fn rfc3339_utc_writes_what_chrono_writes() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let formats = [
            SecondsFormat::Secs,
            SecondsFormat::Millis,
            SecondsFormat::Micros,
            SecondsFormat::Nanos,
            SecondsFormat::AutoSi,
        ];
        let nanos = [0, 7, 120_000_000, 123_000, 123_456_789, 999_999_999, 1_500_000_000];
        for text in ["2026-11-27T07:05:09Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z"] {
            for nano in nanos {
                let Some(utc) = DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc).with_nanosecond(nano) else {
                    continue;
                };
                for format in formats {
                    assert_eq!(
                        with_rfc3339_utc(&utc, format, str::to_owned),
                        utc.to_rfc3339_opts(format, true),
                        "{utc:?} {format:?}"
                    );
                }
            }
        }
        Ok(())
    }
}
