//! Secret values from the manifest, and their redaction from anything a user or log may see.

/// The values that `${VAR}` expanded to; they are replaced by `***` in output. Cheap to clone:
/// every run log record carries one to its writer thread.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    values: std::sync::Arc<[String]>,
}

impl Secrets {
    /// Secrets from expanded values; very short values are skipped because redacting them would
    /// mangle ordinary text.
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut values: Vec<String> = values.into_iter().filter(|value| value.len() >= 4).collect();
        // Longest first, so a secret that contains another is redacted whole.
        values.sort_by_key(|value| std::cmp::Reverse(value.len()));
        values.dedup();
        Self { values: values.into() }
    }

    /// `text` with every secret value replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        self.redacted(text.to_string())
    }

    /// Like [`Secrets::redact`], taking the text: when it holds no secret it is returned as it is,
    /// without a copy.
    pub fn redacted(&self, mut text: String) -> String {
        for value in self.values.iter() {
            if text.contains(value.as_str()) {
                text = text.replace(value.as_str(), "***");
            }
        }
        text
    }

    /// Like [`Secrets::redacted`], for JSON text: should a replacement break the JSON (a secret
    /// that ended inside an escape sequence), the redacted text is kept as one JSON string, so
    /// what is stored stays JSON and still holds no secret.
    pub fn redacted_json(&self, text: String) -> String {
        let length = text.len();
        let redacted = self.redacted(text);
        // Secrets are longer than `***`, so an unchanged length means nothing was replaced.
        if redacted.len() == length || serde_json::from_str::<serde::de::IgnoredAny>(&redacted).is_ok() {
            return redacted;
        }
        serde_json::Value::String(redacted).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_every_occurrence_longest_first() {
        let secrets = Secrets::new(["abcd".to_string(), "abcdef".to_string(), "xy".to_string()]);
        assert_eq!(secrets.redact("k=abcdef&j=abcd&xy"), "k=***&j=***&xy");
    }

    #[test]
    fn redacted_json_stays_json() {
        let secrets = Secrets::new(["nabc".to_string()]);
        assert_eq!(secrets.redacted_json(r#"{"a":"x nabc"}"#.to_string()), r#"{"a":"x ***"}"#);
        // "\nabc" is a newline then "abc"; replacing "nabc" would leave a bad escape `\*`.
        let broken = secrets.redacted_json(r#"{"a":"\nabc"}"#.to_string());
        assert_eq!(serde_json::from_str::<serde_json::Value>(&broken).ok(), Some(r#"{"a":"\***"}"#.into()));
    }
}
