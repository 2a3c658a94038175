//! Secret values from the manifest, and their redaction from anything a user or log may see.

/// The manifest's secret values (credentials: see `config::credentials`) and the forms the hub
/// itself writes them in; each is replaced by `***` in output. Every string is redacted before
/// it is written as JSON (`engine::convert::Json`, the HTTP event, the run log record), so no
/// JSON text is searched for them. Cheap to clone.
#[derive(Clone, Default)]
pub struct Secrets {
    /// The values, and each as URL-encoding writes it (a query string, a form, a path segment).
    values: std::sync::Arc<[String]>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Debug output (a panic message, a `{:?}` of the capabilities) must never print a secret.
        write!(f, "Secrets({} forms)", self.values.len())
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
        Self { values: values.into() }
    }

    /// Redacts every string in `value`, object keys too; a number whose digits hold a secret
    /// becomes the redacted digits, as a string.
    pub fn redact_value(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(text) => *text = self.redacted(std::mem::take(text)),
            Value::Number(number) => {
                if let Some(redacted) = self.redacted_digits(&number.to_string()) {
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

    /// Like [`Secrets::redact`], borrowing `text` when it holds no secret, as nearly every
    /// string a run writes.
    pub fn redacted_str<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        // Most strings a run writes are shorter than any secret: no search is set up for them.
        match self.values.iter().position(|value| text.len() >= value.len() && text.contains(value.as_str())) {
            None => std::borrow::Cow::Borrowed(text),
            Some(first) => std::borrow::Cow::Owned(replace_all(text.to_string(), self.values[first..].iter())),
        }
    }

    /// A number's `digits` redacted, if they hold a secret: then it is written as a string.
    pub fn redacted_digits(&self, digits: &str) -> Option<String> {
        match self.redacted_str(digits) {
            std::borrow::Cow::Owned(redacted) => Some(redacted),
            std::borrow::Cow::Borrowed(_) => None,
        }
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
        }
    }

    #[test]
    fn redacts_every_occurrence_longest_first() {
        let secrets = Secrets::new(["abcd".to_string(), "abcdef".to_string(), "xy".to_string()]);
        assert_eq!(secrets.redact("k=abcdef&j=abcd&xy"), "k=***&j=***&xy");
    }

    #[test]
    fn redacts_values_keys_and_digits_in_json() {
        let secrets = Secrets::new(["sh\"h\\x".to_string(), "123456".to_string(), "plain-token".to_string()]);
        let mut value = serde_json::json!({
            "quoted": "a sh\"h\\x b",
            "n": 91234567,
            "plain-token": ["x plain-token", 7, true, null],
        });
        secrets.redact_value(&mut value);
        assert_eq!(value, serde_json::json!({ "quoted": "a *** b", "n": "9***7", "***": ["x ***", 7, true, null] }));
    }

    #[test]
    fn a_text_without_a_secret_is_borrowed() {
        let secrets = Secrets::new(["abcd".to_string(), "wxyz".to_string()]);
        assert!(matches!(secrets.redacted_str("plain"), std::borrow::Cow::Borrowed("plain")));
        assert_eq!(secrets.redacted_str("abcd-wxyz-abcd"), "***-***-***");
        assert_eq!((secrets.redacted_digits("12"), secrets.redacted_digits("1.5")), (None, None));
    }
}
