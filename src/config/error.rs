//! Configuration errors: each names the file, where in it, the key path and what was expected.

use std::fmt;
use std::path::PathBuf;

/// One mistake in the manifest or `.env`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line and column, when the mistake has a place in the text.
    pub position: Option<(usize, usize)>,
    /// Key path such as `route[2].auth`, when known.
    pub key: Option<String>,
    pub message: String,
}

impl ConfigError {
    /// An error about the file as a whole.
    pub fn file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self { file: file.into(), position: None, key: None, message: message.into() }
    }

    /// An error about one key.
    pub fn key(file: impl Into<PathBuf>, key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { file: file.into(), position: None, key: Some(key.into()), message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(key) = self.key.as_deref().filter(|key| !key.is_empty() && *key != ".") {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Every configuration error found in one pass, so a user fixes them all at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        Self(vec![error])
    }
}

/// Converts a byte offset in `text` to a 1-based line and column.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |tail| tail.chars().count()) + 1;
    (line, column)
}

/// Fills in the line and column of each error about a key of the manifest `text` that has no
/// position yet: the value's own, or its nearest enclosing table's when the key is not written.
pub fn locate(text: &str, errors: &mut [ConfigError]) {
    let manifest = std::ffi::OsStr::new(super::MANIFEST);
    let unplaced = |error: &ConfigError| error.position.is_none() && error.file.file_name() == Some(manifest);
    if !errors.iter().any(unplaced) {
        return;
    }
    // A manifest that does not parse has no keys to find; its parse error already has a place.
    let Ok(document) = toml::de::DeTable::parse(text) else { return };
    for error in errors.iter_mut().filter(|error| unplaced(error)) {
        if let Some(offset) = error.key.as_deref().and_then(|key| key_offset(document.get_ref(), key)) {
            error.position = Some(line_column(text, offset));
        }
    }
}

/// Where the value of `key` (such as `route[2].verify.secret` or `exec.allow[0]`) starts, or
/// that of the deepest part of it written in the document.
fn key_offset(document: &toml::de::DeTable<'_>, key: &str) -> Option<usize> {
    use toml::de::DeValue;
    let mut table = document;
    let mut found = None;
    for part in key.split('.') {
        let (name, indexes) = match part.find('[') {
            Some(at) => (&part[..at], &part[at..]),
            None => (part, ""),
        };
        let Some(mut value) = table.get(name) else { return found };
        found = Some(value.span().start);
        for index in indexes.split(['[', ']']).filter(|index| !index.is_empty()) {
            let element = match (value.get_ref(), index.parse::<usize>()) {
                (DeValue::Array(array), Ok(index)) => array.get(index),
                _ => None,
            };
            let Some(element) = element else { return found };
            value = element;
            found = Some(value.span().start);
        }
        match value.get_ref() {
            DeValue::Table(inner) => table = inner,
            _ => return found,
        }
    }
    found
}

/// Adds "did you mean `x`?" to serde's "unknown field `y`, expected one of ..." messages.
pub fn with_suggestion(message: &str) -> String {
    let names: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let Some((unknown, candidates)) = names.split_first() else {
        return message.to_string();
    };
    if !(message.starts_with("unknown field") || message.starts_with("unknown variant")) {
        return message.to_string();
    }
    match closest(unknown, candidates.iter().copied()) {
        Some(best) => format!("{message}; did you mean `{best}`?"),
        None => message.to_string(),
    }
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::levenshtein(word, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_known_field() {
        let message = "unknown field `lisen`, expected `listen` or `max_body`";
        assert_eq!(with_suggestion(message), format!("{message}; did you mean `listen`?"));
    }

    #[test]
    fn no_suggestion_when_nothing_is_close() {
        let message = "unknown field `zzzzzz`, expected `listen` or `max_body`";
        assert_eq!(with_suggestion(message), message);
    }

    fn placed(text: &str, key: &str) -> Option<(usize, usize)> {
        let mut errors = [ConfigError::key(super::super::MANIFEST, key, "wrong")];
        locate(text, &mut errors);
        errors[0].position
    }

    #[test]
    fn locate_finds_nested_keys_array_elements_and_inline_tables() {
        let text = "[server]\nlisten = \"x\"\n\n[[route]]\npath = \"/a\"\n[[route]]\npath = \"/b\"\n\
                    verify = { secret = \"\" }\n\n[exec]\nallow = [\"ok\", \"a;b\"]\n";
        assert_eq!(placed(text, "server.listen"), Some((2, 10)));
        assert_eq!(placed(text, "route[1].path"), Some((7, 8)));
        assert_eq!(placed(text, "route[1].verify.secret"), Some((8, 21)));
        assert_eq!(placed(text, "exec.allow[1]"), Some((11, 16)));
        assert_eq!(placed(text, "route[1].timeout").map(|(line, _)| line), Some(6), "falls back to the table");
        assert_eq!(placed(text, "queue.workers"), None, "nothing of it is written");
    }

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column("a\nbc\nd", 3), (2, 2));
        assert_eq!(line_column("abc", 0), (1, 1));
    }
}
