//! Human-friendly durations ("500ms", "10s", "5m") and sizes ("10KB", "1MB") in the manifest.

use serde::{Deserialize, Deserializer, de};
use std::fmt;
use std::str::FromStr;

/// A duration written as text, such as `"500ms"`, `"10s"` or `"1h 30m"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub std::time::Duration);

impl FromStr for Duration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(text.trim())
            .map(Duration)
            .map_err(|err| format!("invalid duration `{text}` ({err}); expected e.g. \"500ms\", \"10s\", \"5m\""))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

/// A size in bytes written as text, such as `"10KB"` or `"1MB"`, or as a plain integer of bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(pub u64);

impl FromStr for Size {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.trim()
            .parse::<bytesize::ByteSize>()
            .map(|size| Size(size.as_u64()))
            .map_err(|err| format!("invalid size `{text}` ({err}); expected e.g. \"10KB\", \"1MB\""))
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl de::Visitor<'_> for SizeVisitor {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as \"1MB\" or a number of bytes")
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Size, E> {
                u64::try_from(value).map(Size).map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Size, E> {
                Ok(Size(value))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Size, E> {
                value.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(SizeVisitor)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", bytesize::ByteSize(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_common_units() {
        assert_eq!("500ms".parse::<Duration>().map(|d| d.0.as_millis()), Ok(500));
        assert_eq!("10s".parse::<Duration>().map(|d| d.0.as_secs()), Ok(10));
        assert_eq!("5m".parse::<Duration>().map(|d| d.0.as_secs()), Ok(300));
        assert!("ten seconds".parse::<Duration>().is_err());
    }

    #[test]
    fn sizes_parse_decimal_and_binary_units() {
        assert_eq!("10KB".parse::<Size>(), Ok(Size(10_000)));
        assert_eq!("1MB".parse::<Size>(), Ok(Size(1_000_000)));
        assert_eq!("1MiB".parse::<Size>(), Ok(Size(1_048_576)));
        assert!("lots".parse::<Size>().is_err());
    }
}
