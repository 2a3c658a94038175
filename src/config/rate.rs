//! A route's `rate_limit`: "N/second", "N/minute" or "N/hour", N at least 1.

use super::parsed::{Parsed, ValueError, read_from_text};
use std::fmt;
use std::num::NonZeroU32;

/// So many requests per second, minute or hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub count: NonZeroU32,
    pub per: Per,
}

/// The period of a [`Rate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Per {
    Second,
    Minute,
    Hour,
}

impl Per {
    /// The period's length.
    pub fn duration(self) -> std::time::Duration {
        std::time::Duration::from_secs(match self {
            Per::Second => 1,
            Per::Minute => 60,
            Per::Hour => 3600,
        })
    }

    fn word(self) -> &'static str {
        match self {
            Per::Second => "second",
            Per::Minute => "minute",
            Per::Hour => "hour",
        }
    }
}

impl Parsed for Rate {
    fn parse(text: &str) -> Result<Self, ValueError> {
        let invalid = || {
            ValueError(format!(
                "`{text}` is not a rate; expected \"N/second\", \"N/minute\" or \"N/hour\" with N at least 1"
            ))
        };
        let (count, unit) = text.split_once('/').ok_or_else(invalid)?;
        let count = count.trim().parse::<NonZeroU32>().map_err(|_| invalid())?;
        let per = match unit.trim() {
            "second" => Per::Second,
            "minute" => Per::Minute,
            "hour" => Per::Hour,
            _ => return Err(invalid()),
        };
        Ok(Self { count, per })
    }

    fn stand_in() -> Self {
        Self { count: NonZeroU32::MIN, per: Per::Second }
    }
}

read_from_text!(Rate);

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, self.per.word())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_and_write_back() {
        let rate: Rate = " 60 / minute".parse().unwrap();
        assert_eq!((rate.count.get(), rate.per), (60, Per::Minute));
        assert_eq!(rate.to_string(), "60/minute");
        for wrong in ["0/minute", "5/day", "five/second", "10"] {
            let err = wrong.parse::<Rate>().unwrap_err().to_string();
            assert!(err.starts_with(&format!("`{wrong}` is not a rate")), "{err}");
        }
    }
}
