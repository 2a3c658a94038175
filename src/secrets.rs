//! Secret values from the manifest, and their redaction from anything a user or log may see.

/// The manifest's secret values (credentials: see `config::credentials`) and the forms the hub
/// itself writes them in; each is replaced by `***` in output. Cheap to clone: every run log
/// record carries one to its writer thread.
#[derive(Clone, Default)]
pub struct Secrets {
    /// The values, and each as URL-encoding writes it (a query string, a form, a path segment).
    values: std::sync::Arc<[String]>,
    /// The values as they read inside a JSON string, and inside JSON text kept in a JSON string,
    /// where that differs (quotes, backslashes, control characters).
    escaped: std::sync::Arc<[String]>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Debug output (a panic message, a `{:?}` of the capabilities) must never print a secret.
        write!(f, "Secrets({} forms)", self.values.len() + self.escaped.len())
    }
}

impl Secrets {
    /// Secrets from the manifest's secret values; very short values are skipped because
    /// redacting them would mangle ordinary text.
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut values: Vec<String> = values
            .into_iter()
            .filter(|value| value.len() >= 4)
            .flat_map(|value| {
                let mut forms = url_encoded(&value);
                forms.push(value);
                forms
            })
            .collect();
        // Longest first, so a secret that contains another is redacted whole.
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        // Escaped once for a JSON string, twice for JSON text kept in a JSON string (a run's result).
        let escape = |value: &str| {
            let quoted = serde_json::Value::String(value.to_string()).to_string();
            quoted[1..quoted.len() - 1].to_string()
        };
        let escaped = values
            .iter()
            .flat_map(|value| {
                let once = escape(value);
                let twice = escape(&once);
                [once, twice].into_iter().filter(move |form| form != value)
            })
            .collect();
        Self { values: values.into(), escaped }
    }

    /// Whether JSON `text` may hold a secret value, as it is or as written inside a JSON string.
    pub fn found_in_json(&self, text: &str) -> bool {
        self.values.iter().chain(self.escaped.iter()).any(|value| text.contains(value.as_str()))
    }

    /// Redacts every string in `value`, object keys too; a number whose digits hold a secret
    /// becomes the redacted digits, as a string.
    pub fn redact_value(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(text) => *text = self.redacted(std::mem::take(text)),
            Value::Number(number) => {
                let digits = number.to_string();
                let redacted = self.redacted(digits.clone());
                if redacted != digits {
                    *value = Value::String(redacted);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.redact_value(item)),
            Value::Object(fields) => {
                *fields = std::mem::take(fields)
                    .into_iter()
                    .map(|(key, mut item)| {
                        self.redact_value(&mut item);
                        (self.redacted(key), item)
                    })
                    .collect();
            }
            Value::Bool(_) | Value::Null => {}
        }
    }

    /// `text` with every secret value replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        self.redacted(text.to_string())
    }

    /// Like [`Secrets::redact`], taking the text: when it holds no secret it is returned as it is,
    /// without a copy.
    pub fn redacted(&self, text: String) -> String {
        replace_all(text, self.values.iter())
    }

    /// Like [`Secrets::redacted`], for text that may hold JSON: values are also replaced as they
    /// read inside a JSON string.
    pub fn redacted_in_json(&self, text: String) -> String {
        replace_all(text, self.values.iter().chain(self.escaped.iter()))
    }

    /// Like [`Secrets::redacted_in_json`], for JSON text: should a replacement break the JSON (a
    /// secret that ended inside an escape sequence), the redacted text is kept as one JSON
    /// string, so what is stored stays JSON and still holds no secret.
    pub fn redacted_json(&self, text: String) -> String {
        let length = text.len();
        let redacted = self.redacted_in_json(text);
        // Secrets are longer than `***`, so an unchanged length means nothing was replaced.
        if redacted.len() == length || crate::json_read::is_json(&redacted) {
            return redacted;
        }
        serde_json::Value::String(redacted).to_string()
    }
}

/// `value` as the hub's URL-encoders may write it, where that differs: in a form or query built
/// from pairs (a space as `+`, or as `%20`), in a query or path segment written whole.
fn url_encoded(value: &str) -> Vec<String> {
    let form: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
    // In `form` a `+` can only be an encoded space: a literal one is `%2B`.
    let spaces = form.replace('+', "%20");
    let mut forms = vec![form, spaces];
    if let Ok(mut url) = reqwest::Url::parse("http://h/") {
        url.set_query(Some(value));
        forms.extend(url.query().map(String::from));
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.clear().push(value);
        }
        forms.push(url.path().trim_start_matches('/').to_string());
    }
    forms.retain(|form| form != value);
    forms
}

/// `text` with each of `values` replaced by `***`, in the order given; unchanged text is not
/// copied.
fn replace_all<'a>(mut text: String, values: impl Iterator<Item = &'a String>) -> String {
    for value in values {
        if text.contains(value.as_str()) {
            text = text.replace(value.as_str(), "***");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_holds_no_secret() {
        let secrets = Secrets::new(["hunter2-token".to_string()]);
        assert!(!format!("{secrets:?}").contains("hunter2"));
    }

    #[test]
    fn redacts_the_url_encoded_forms_too() {
        let secrets = Secrets::new(["p+ss/w=rd&x y#".to_string()]);
        for form in
            ["p%2Bss%2Fw%3Drd%26x+y%23", "p%2Bss%2Fw%3Drd%26x%20y%23", "p+ss/w=rd&x%20y%23", "p+ss%2Fw=rd&x%20y%23"]
        {
            assert_eq!(secrets.redact(&format!("k={form}!")), "k=***!", "{form}");
            assert!(secrets.found_in_json(&format!("{{\"k\":\"{form}\"}}")), "{form}");
        }
    }

    #[test]
    fn redacts_every_occurrence_longest_first() {
        let secrets = Secrets::new(["abcd".to_string(), "abcdef".to_string(), "xy".to_string()]);
        assert_eq!(secrets.redact("k=abcdef&j=abcd&xy"), "k=***&j=***&xy");
    }

    #[test]
    fn finds_secrets_in_json_as_written_there_and_redacts_values() {
        let secrets = Secrets::new(["sh\"h\\x".to_string(), "123456".to_string(), "plain-token".to_string()]);
        let text = serde_json::json!({ "quoted": "a sh\"h\\x b" }).to_string();
        assert!(!text.contains("sh\"h\\x"), "the raw form is not in the JSON text: {text}");
        assert!(secrets.found_in_json(&text));
        assert!(secrets.found_in_json(r#"{"n":91234567}"#));
        assert!(!secrets.found_in_json(r#"{"a":"plain-tok","n":12345}"#));
        let mut value = serde_json::json!({
            "quoted": "a sh\"h\\x b",
            "n": 91234567,
            "plain-token": ["x plain-token", 7, true, null],
        });
        secrets.redact_value(&mut value);
        assert_eq!(value, serde_json::json!({ "quoted": "a *** b", "n": "9***7", "***": ["x ***", 7, true, null] }));
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
