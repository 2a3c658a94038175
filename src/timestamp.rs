//! The one text form of an instant the hub stores, compares and logs: RFC 3339 in UTC with
//! microseconds (`2026-11-27T07:05:09.123456Z`), whose text sorts as its instants do.

use chrono::{DateTime, SecondsFormat, Utc};

/// `at` in the hub's text form.
pub fn text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Now, in the hub's text form.
pub fn now() -> String {
    text(Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_utc_with_microseconds_and_sorts_as_time_does() -> Result<(), chrono::ParseError> {
        let early = DateTime::parse_from_rfc3339("2026-11-27T08:05:09.5+01:00")?.with_timezone(&Utc);
        let late = DateTime::parse_from_rfc3339("2026-11-27T07:05:10Z")?.with_timezone(&Utc);
        assert_eq!(text(early), "2026-11-27T07:05:09.500000Z");
        assert!(text(early) < text(late));
        assert!(now() > text(late));
        Ok(())
    }
}
