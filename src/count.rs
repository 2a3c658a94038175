//! Counts in messages: "1 connection", "2 connections".

/// `count` followed by `one` or `many`, whichever agrees with it.
pub(crate) fn count(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn one_is_singular_and_zero_and_more_are_plural() {
        assert_eq!(count(0, "watch", "watches"), "0 watches");
        assert_eq!(count(1, "connection", "connections"), "1 connection");
        assert_eq!(count(2, "cron job", "cron jobs"), "2 cron jobs");
    }
}
