//! MQTT topics and topic filters (`sensors/+/temperature`, `home/#`) as MQTT 3.1.1 defines them,
//! and the QoS levels a subscription or a publish asks for.

use serde::{Deserialize, Deserializer, de};

/// The most bytes of a topic or filter: MQTT writes its length in two bytes.
const MAX_LEN: usize = 65_535;

/// What is wrong with topic filter `filter`: `+` must fill a whole level, `#` must fill the last
/// one, and neither may stand inside a level.
pub fn filter_problem(filter: &str) -> Option<String> {
    if let Some(problem) = common_problem(filter) {
        return Some(problem);
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (index, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || index + 1 != levels.len()) {
            return Some(format!("`{filter}`: `#` must be the whole last level (`home/#`)"));
        }
        if level.contains('+') && *level != "+" {
            return Some(format!("`{filter}`: `+` must be a whole level (`sensors/+/temperature`)"));
        }
    }
    None
}

/// What is wrong with `topic` as a topic to publish to: a filter's wildcards are not allowed.
pub fn topic_problem(topic: &str) -> Option<String> {
    if let Some(problem) = common_problem(topic) {
        return Some(problem);
    }
    topic.contains(['+', '#']).then(|| format!("`{topic}`: a topic to publish to has no wildcards (`+`, `#`)"))
}

fn common_problem(text: &str) -> Option<String> {
    if text.is_empty() {
        Some("a topic must not be empty".into())
    } else if text.len() > MAX_LEN {
        Some(format!("a topic is at most {MAX_LEN} bytes"))
    } else if text.contains('\0') {
        Some("a topic must not contain a NUL character".into())
    } else {
        None
    }
}

/// Whether `topic` matches `filter` (a valid one). As brokers do, a filter starting with a
/// wildcard does not match topics starting with `$` (`$SYS/...`).
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut filter_levels = filter.split('/');
    let mut topic_levels = topic.split('/');
    loop {
        match (filter_levels.next(), topic_levels.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(wanted), Some(level)) if wanted == level => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// A quality-of-service level, as MQTT numbers them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Qos {
    /// At most once: the broker sends it and forgets it.
    Zero,
    /// At least once: kept until acknowledged.
    #[default]
    One,
    /// Exactly once between broker and client.
    Two,
}

impl Qos {
    /// The level as it is written: 0, 1 or 2.
    pub fn level(self) -> u8 {
        match self {
            Qos::Zero => 0,
            Qos::One => 1,
            Qos::Two => 2,
        }
    }

    /// The level `level`, if it is one.
    pub fn from_level(level: i64) -> Option<Self> {
        match level {
            0 => Some(Qos::Zero),
            1 => Some(Qos::One),
            2 => Some(Qos::Two),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Qos {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let level = i64::deserialize(deserializer)?;
        Qos::from_level(level).ok_or_else(|| de::Error::custom(format!("qos {level} is not 0, 1 or 2")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_take_wildcards_only_as_whole_levels() {
        for good in ["a", "a/b", "+", "#", "a/+/c", "a/#", "+/+", "/a", "a//b", "$SYS/#"] {
            assert_eq!(filter_problem(good), None, "{good}");
        }
        for bad in ["", "a#", "a/#/b", "a+/b", "a/b+", "#/a", "a\0b"] {
            assert!(filter_problem(bad).is_some(), "{bad}");
        }
        assert!(topic_problem("a/+/c").is_some());
        assert!(topic_problem("a/#").is_some());
        assert_eq!(topic_problem("sensors/kitchen/temperature"), None);
    }

    #[test]
    fn wildcards_match_as_brokers_match() {
        assert!(matches("sensors/+/temperature", "sensors/kitchen/temperature"));
        assert!(!matches("sensors/+/temperature", "sensors/kitchen/humidity"));
        assert!(!matches("sensors/+/temperature", "sensors/a/b/temperature"));
        assert!(matches("home/#", "home"), "`#` matches its parent level too");
        assert!(matches("home/#", "home/a/b"));
        assert!(matches("#", "anything/at/all"));
        assert!(!matches("#", "$SYS/broker/uptime"));
        assert!(!matches("+/broker", "$SYS/broker"));
        assert!(matches("$SYS/#", "$SYS/broker/uptime"));
        assert!(matches("a/+", "a/"), "an empty level is a level");
        assert!(!matches("a/b", "a/b/c"));
        assert!(!matches("a/b/c", "a/b"));
    }
}
