//! Reading back JSON text that Switchboard wrote itself (run log records, state, events, a
//! Rhai value's JSON): nested as deep as [`MAX_DEPTH`], past serde_json's default guard of 128
//! levels, which is meant for untrusted input and counts the levels a record or batch adds.

use serde::de::DeserializeOwned;

/// Deepest nesting read back: any request body the HTTP trigger accepts (serde_json's 128
/// levels) with a run log record and its batch around it, and shallow enough for the stack of
/// whichever thread reads it.
pub const MAX_DEPTH: usize = 256;

/// Reads `text` as one `T`, refusing text nested deeper than [`MAX_DEPTH`].
pub fn read<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    if nesting(text) > MAX_DEPTH {
        return Err(serde::de::Error::custom(format!("it is nested deeper than {MAX_DEPTH} levels")));
    }
    let mut reader = serde_json::Deserializer::from_str(text);
    reader.disable_recursion_limit();
    let value = T::deserialize(&mut reader)?;
    reader.end()?;
    Ok(value)
}

/// How deep arrays and objects nest in JSON `text`, counted without recursion.
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0_usize, 0, false, false);
    for byte in text.bytes() {
        match byte {
            _ if escaped => escaped = false,
            b'\\' if in_string => escaped = true,
            b'"' => in_string = !in_string,
            b'[' | b'{' if !in_string => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' if !in_string => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn reads_up_to_the_limit_and_says_why_not_past_it() {
        let nested = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        assert!(serde_json::from_str::<Value>(&nested(200)).is_err(), "serde_json's own limit");
        assert_eq!(read::<Value>(&nested(MAX_DEPTH)).map(|value| value.to_string()).ok(), Some(nested(MAX_DEPTH)));
        let error = read::<Value>(&nested(MAX_DEPTH + 1)).expect_err("too deep");
        assert_eq!(error.to_string(), "it is nested deeper than 256 levels");
        assert!(read::<Value>("[1] 2").is_err(), "trailing text");
    }

    #[test]
    fn brackets_and_escaped_quotes_in_strings_are_not_nesting() {
        assert_eq!(nesting(r#"{"a":"[{\\\"[","b":[[{}]],"c":"\"}"}"#), 4);
        assert_eq!(nesting("\"[[[\""), 0);
        assert_eq!(nesting(""), 0);
    }
}
