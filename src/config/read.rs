//! Reading `switchboard.toml` section by section and entry by entry, so that one run reports every
//! mistake. A TOML syntax error stops the reading (what follows it cannot be told apart), but a
//! wrong value leaves the rest to be read: a mistaken method, rate or other word of a closed set
//! is recorded and stood in for (`parsed`), any other wrong key is recorded and read again
//! without it, and only an entry that cannot be read without a wrong key is left out.

use super::error::{line_column, with_suggestion};
use super::{ConfigError, Manifest, parsed};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

/// A manifest read from its text, with what was wrong in it.
pub struct Read {
    pub manifest: Manifest,
    pub errors: Vec<ConfigError>,
    /// Where entries were left out: for such an array (`route`), the index in the file of each
    /// entry read, so later errors can name entries as the file numbers them.
    pub numbering: Vec<(&'static str, Vec<usize>)>,
}

/// Reads `text` of `file`; only a syntax error, which stops the reading, is an `Err`.
pub fn manifest(file: &Path, text: &str) -> Result<Read, ConfigError> {
    let document = DeTable::parse(text).map_err(|err| ConfigError {
        file: file.to_path_buf(),
        position: err.span().map(|span| line_column(text, span.start)),
        key: None,
        message: format!(
            "{} (a syntax error stops the reading: fix it to see any other mistakes)",
            err.message().trim()
        ),
    })?;
    let mut reader = Reader { file, text, errors: Vec::new() };
    let mut manifest = Manifest::default();
    let mut numbering = Vec::new();
    for (name, value) in document.into_inner() {
        let name = name.into_inner();
        match name.as_ref() {
            "server" => reader.section(&name, value, &mut manifest.server),
            "limits" => reader.section(&name, value, &mut manifest.limits),
            "exec" => reader.section(&name, value, &mut manifest.exec),
            "fs" => reader.section(&name, value, &mut manifest.fs),
            "run_log" => reader.section(&name, value, &mut manifest.run_log),
            "queue" => reader.section(&name, value, &mut manifest.queue),
            "secrets" => reader.section(&name, value, &mut manifest.secrets),
            "route" => manifest.routes = reader.entries("route", value, &mut numbering),
            "cron" => manifest.crons = reader.entries("cron", value, &mut numbering),
            "watch" => manifest.watches = reader.entries("watch", value, &mut numbering),
            "on" => manifest.subscriptions = reader.entries("on", value, &mut numbering),
            "mqtt" => manifest.mqtt = reader.entries("mqtt", value, &mut numbering),
            "key" => manifest.keys = reader.entries("key", value, &mut numbering),
            "connections" => manifest.connections = reader.connections(value),
            _ => {
                // Read as a manifest of that one key, for serde's "unknown field" and the list
                // of the sections there are.
                let mut table = DeTable::new();
                let span = value.span();
                table.insert(Spanned::new(span.clone(), name.clone()), value);
                reader.value::<Manifest>("", Spanned::new(span, DeValue::Table(table)));
            }
        }
    }
    Ok(Read { manifest, errors: reader.errors, numbering })
}

struct Reader<'a> {
    file: &'a Path,
    text: &'a str,
    errors: Vec<ConfigError>,
}

impl Reader<'_> {
    /// Reads `value` as a `T` at `key`, recording each wrong key and reading again without it.
    fn value<T: DeserializeOwned>(&mut self, key: &str, mut value: Spanned<DeValue<'_>>) -> Option<T> {
        let mut removed: Vec<String> = Vec::new();
        let mut mistaken = Vec::new();
        loop {
            let (result, mistakes) =
                parsed::recording(|| serde_path_to_error::deserialize::<_, T>(ValueDeserializer::from(value.clone())));
            for mistake in mistakes {
                if mistaken.contains(&mistake.span) {
                    continue;
                }
                self.errors.push(ConfigError {
                    file: self.file.to_path_buf(),
                    position: Some(line_column(self.text, mistake.span.start)),
                    key: Some(join(key, &path_to(&value, mistake.span.start))),
                    message: mistake.error.to_string(),
                });
                mistaken.push(mistake.span);
            }
            let err = match result {
                Ok(read) => return Some(read),
                Err(err) => err,
            };
            // A value read with its place (`parsed`) adds toml's own private field to the path.
            let path = err.path().to_string();
            let path = path.split('.').filter(|part| !part.starts_with("$__")).collect::<Vec<_>>().join(".");
            let err = err.into_inner();
            let message = err.message().trim();
            // A required key that was wrong and taken out: its error is already recorded.
            // (A connection says it needs a key for its `type` in its own words.)
            if removed.iter().any(|field| {
                message == format!("missing field `{field}`") || message.ends_with(&format!("needs `{field}`"))
            }) {
                return None;
            }
            let field = match path.split(['.', '[']).next().filter(|first| !first.is_empty()) {
                Some(first) => Some(first.to_string()),
                None => {
                    message.strip_prefix("unknown field `").and_then(|rest| rest.split('`').next()).map(String::from)
                }
            };
            self.errors.push(ConfigError {
                file: self.file.to_path_buf(),
                position: err.span().map(|span| line_column(self.text, span.start)),
                key: Some(join(key, &path)),
                message: with_suggestion(message),
            });
            // An error about the whole entry (a connection's `type` and keys disagree) leaves
            // nothing to take out.
            let (Some(field), DeValue::Table(table)) = (field, value.get_mut()) else { return None };
            table.remove(field.as_str())?;
            removed.push(field);
        }
    }

    /// Reads a section such as `[server]` into `into`.
    fn section<T: DeserializeOwned>(&mut self, key: &str, value: Spanned<DeValue<'_>>, into: &mut T) {
        if let Some(read) = self.value(key, value) {
            *into = read;
        }
    }

    /// Reads an array of tables such as `[[route]]`, each entry on its own.
    fn entries<T: DeserializeOwned>(
        &mut self,
        key: &'static str,
        value: Spanned<DeValue<'_>>,
        numbering: &mut Vec<(&'static str, Vec<usize>)>,
    ) -> Vec<T> {
        let DeValue::Array(items) = value.get_ref() else {
            return self.value(key, value).unwrap_or_default();
        };
        let mut read = Vec::new();
        let mut kept = Vec::new();
        for (index, item) in items.iter().enumerate() {
            if let Some(entry) = self.value(&format!("{key}[{index}]"), item.clone()) {
                read.push(entry);
                kept.push(index);
            }
        }
        if kept.len() < items.len() {
            numbering.push((key, kept));
        }
        read
    }

    /// Reads `[connections.NAME]` tables, each on its own.
    fn connections<T: DeserializeOwned>(&mut self, value: Spanned<DeValue<'_>>) -> BTreeMap<String, T> {
        let DeValue::Table(table) = value.get_ref() else {
            return self.value("connections", value).unwrap_or_default();
        };
        let mut read = BTreeMap::new();
        for (name, item) in table.iter() {
            if let Some(connection) = self.value(&format!("connections.{}", name.get_ref()), item.clone()) {
                read.insert(name.get_ref().to_string(), connection);
            }
        }
        read
    }
}

/// `key` and a path under it (`.` is the key itself).
fn join(key: &str, path: &str) -> String {
    match (key, path) {
        (_, "." | "") => key.to_string(),
        ("", _) => path.to_string(),
        _ => format!("{key}.{path}"),
    }
}

/// The path under `value` (`verify.scheme`, `events[1]`) of the innermost value that holds
/// `offset`.
fn path_to(value: &Spanned<DeValue<'_>>, offset: usize) -> String {
    let mut path = String::new();
    let mut value = value;
    loop {
        let inner = match value.get_ref() {
            DeValue::Table(table) => {
                table.iter().find(|(_, item)| item.span().contains(&offset)).map(|(name, item)| {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(name.get_ref());
                    item
                })
            }
            DeValue::Array(items) => {
                items.iter().enumerate().find(|(_, item)| item.span().contains(&offset)).map(|(index, item)| {
                    path.push_str(&format!("[{index}]"));
                    item
                })
            }
            _ => None,
        };
        match inner {
            Some(inner) => value = inner,
            None => return path,
        }
    }
}

/// `errors` renamed after `numbering`: `route[1]` of a manifest read without some routes is
/// named by its index in the file, in its key and in messages that point to it.
pub fn renumber(numbering: &[(&'static str, Vec<usize>)], errors: &mut [ConfigError]) {
    for (array, kept) in numbering {
        let rename = |text: &str| {
            let mut out = String::with_capacity(text.len());
            let mut rest = text;
            let opening = format!("{array}[");
            while let Some(at) = rest.find(&opening) {
                let after = &rest[at + opening.len()..];
                let digits = after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len());
                let whole_word = !rest[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
                out.push_str(&rest[..at + opening.len()]);
                match after[..digits].parse::<usize>().ok().and_then(|index| kept.get(index)) {
                    Some(original) if whole_word && after[digits..].starts_with(']') => {
                        out.push_str(&original.to_string())
                    }
                    _ => out.push_str(&after[..digits]),
                }
                rest = &after[digits..];
            }
            out.push_str(rest);
            out
        };
        for error in errors.iter_mut() {
            error.key = error.key.as_deref().map(rename);
            error.message = rename(&error.message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_found_from_a_place_in_the_text() {
        let text = "method = \"GET\"\nverify = { scheme = \"x\" }\nevents = [\"a\", \"b\"]\n";
        let table = DeTable::parse(text).unwrap();
        let value = Spanned::new(table.span(), DeValue::Table(table.into_inner()));
        let at = |needle: &str| text.find(needle).unwrap();
        assert_eq!(path_to(&value, at("\"GET\"")), "method");
        assert_eq!(path_to(&value, at("\"x\"")), "verify.scheme");
        assert_eq!(path_to(&value, at("\"b\"")), "events[1]");
    }

    #[test]
    fn errors_are_renumbered_as_the_file_numbers_entries() {
        let mut errors = [ConfigError::key("f", "route[1].path", "GET /a is declared twice: route[0] has it")];
        renumber(&[("route", vec![0, 2])], &mut errors);
        assert_eq!(errors[0].key.as_deref(), Some("route[2].path"));
        assert_eq!(errors[0].message, "GET /a is declared twice: route[0] has it");
        let mut errors = [ConfigError::key("f", "key[0].token", "is the token of subroute[0] too")];
        renumber(&[("route", vec![3])], &mut errors);
        assert_eq!(errors[0].message, "is the token of subroute[0] too", "only whole names");
    }
}
