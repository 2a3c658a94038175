//! How long a JSON value is as text, counted without writing it.

use serde_json::Value;

/// About how long `value` is as JSON text: for bounds, not layout.
pub fn approx_len(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 20,
        Value::String(text) => text.len() + 2,
        Value::Array(items) => 2 + items.iter().map(|item| approx_len(item) + 1).sum::<usize>(),
        Value::Object(fields) => 2 + fields.iter().map(|(key, item)| key.len() + 4 + approx_len(item)).sum::<usize>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_about_as_long_as_the_text() {
        let value = serde_json::json!({ "name": "Ada", "list": [1, true, null] });
        let written = value.to_string().len();
        let counted = approx_len(&value);
        assert!(counted >= written && counted < written * 3, "{counted} for {written}");
    }
}
