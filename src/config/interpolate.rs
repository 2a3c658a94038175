//! `${VAR}` expansion in manifest strings: the process environment first, then the hub's `.env`.
//!
//! Expansion happens while the manifest is deserialized, so an unset variable is reported with the
//! key path and line:column of the string that uses it. Every expansion is remembered with its
//! variable's name (for `[secrets] vars`), and a credential field ([`credential`],
//! [`credential_expansions`]) remembers its values as secrets: only those are redacted, so plain
//! configuration such as a base URL or a folder name stays readable.

use serde::{Deserialize, Deserializer, de};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

/// A manifest string in which `${VAR}` has been expanded (`$$` stands for a literal `$`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Text(pub String);

impl Text {
    /// The expanded value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Expanded values may hold secrets; Debug output must never print them.
        f.write_str("Text(..)")
    }
}

/// Why a manifest string's `${VAR}` could not be expanded. The message never repeats the text
/// around it: that may be a credential written as it is.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    #[error("unterminated `${{` (write `$$` for a literal `$`)")]
    Unterminated,
    #[error("`${{{name}}}` is not a valid variable name")]
    InvalidName { name: String },
    #[error("environment variable `{name}` is not set (looked in the environment and in .env)")]
    Unset { name: String },
}

/// Where `${VAR}` values come from while one manifest is being read.
pub struct Environment {
    dotenv: HashMap<String, String>,
    read: Expanded,
    /// Set while a credential field is read.
    credential: Option<Credential>,
}

/// What reading one manifest expanded.
#[derive(Debug, Default)]
pub struct Expanded {
    /// Every `${NAME}` expanded, as (name, value), in the order read.
    pub variables: Vec<(String, String)>,
    /// Values of credential fields: secrets.
    pub credentials: Vec<String>,
}

/// How much of a credential field is secret.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Credential {
    /// The whole value, however written (a key token, a password, a verify secret).
    Whole,
    /// What `${VAR}` expanded to in it (connection headers and query: `Bearer ${TOKEN}`), not
    /// what was written into the manifest as it is (`Accept = "application/json"`).
    Expansions,
}

thread_local! {
    static ACTIVE: RefCell<Option<Environment>> = const { RefCell::new(None) };
}

impl Environment {
    /// An environment that consults the process first, then the given `.env` pairs.
    pub fn new(dotenv: HashMap<String, String>) -> Self {
        Self { dotenv, read: Expanded::default(), credential: None }
    }

    /// Runs `read` with this environment active for every [`Text`] it deserializes; returns the
    /// result and what was expanded.
    pub fn scope<T>(self, read: impl FnOnce() -> T) -> (T, Expanded) {
        ACTIVE.with(|active| *active.borrow_mut() = Some(self));
        let result = read();
        let env = ACTIVE.with(|active| active.borrow_mut().take());
        (result, env.map(|env| env.read).unwrap_or_default())
    }

    fn lookup(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().or_else(|| self.dotenv.get(name).cloned())
    }

    /// Expands every `${NAME}` in `raw`.
    pub fn expand(&mut self, raw: &str) -> Result<String, ExpandError> {
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(stripped) = after.strip_prefix('$') {
                out.push('$');
                rest = stripped;
            } else if let Some(body) = after.strip_prefix('{') {
                let end = body.find('}').ok_or(ExpandError::Unterminated)?;
                let name = &body[..end];
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(ExpandError::InvalidName { name: name.to_string() });
                }
                let value = self.lookup(name).ok_or_else(|| ExpandError::Unset { name: name.to_string() })?;
                if self.credential.is_some() && !value.is_empty() {
                    self.read.credentials.push(value.clone());
                }
                self.read.variables.push((name.to_string(), value.clone()));
                out.push_str(&value);
                rest = &body[end + 1..];
            } else {
                out.push('$');
                rest = after;
            }
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// A TOML table (such as a cron job's `input`) whose string values, however deeply nested, have
/// `${VAR}` expanded like [`Text`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExpandedTable(pub toml::Table);

fn expand_value(value: &mut toml::Value, env: &mut Environment) -> Result<(), ExpandError> {
    match value {
        toml::Value::String(text) => *text = env.expand(text)?,
        toml::Value::Array(items) => items.iter_mut().try_for_each(|item| expand_value(item, env))?,
        toml::Value::Table(table) => table.iter_mut().try_for_each(|(_, item)| expand_value(item, env))?,
        _ => {}
    }
    Ok(())
}

impl<'de> Deserialize<'de> for ExpandedTable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut table = toml::Table::deserialize(deserializer)?;
        ACTIVE.with(|active| match active.borrow_mut().as_mut() {
            Some(env) => {
                table.iter_mut().try_for_each(|(_, value)| expand_value(value, env)).map_err(de::Error::custom)
            }
            None => Ok(()),
        })?;
        Ok(Self(table))
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        ACTIVE.with(|active| match active.borrow_mut().as_mut() {
            Some(env) => {
                let value = env.expand(&raw).map_err(de::Error::custom)?;
                if env.credential == Some(Credential::Whole) && !value.is_empty() {
                    env.read.credentials.push(value.clone());
                }
                Ok(Text(value))
            }
            None => Ok(Text(raw)),
        })
    }
}

/// `deserialize_with` for a credential field (a key token, a password, a verify secret): every
/// [`Text`] in it is a secret, whole.
pub fn credential<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<T, D::Error> {
    reading(Credential::Whole, deserializer)
}

/// `deserialize_with` for a field whose `${VAR}` expansions are credentials (a connection's
/// `headers` and `query`): what the variables expanded to is secret, text written as it is not.
pub fn credential_expansions<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<T, D::Error> {
    reading(Credential::Expansions, deserializer)
}

fn reading<'de, D: Deserializer<'de>, T: Deserialize<'de>>(kind: Credential, deserializer: D) -> Result<T, D::Error> {
    let set = |credential: Option<Credential>| {
        ACTIVE.with(|active| {
            active.borrow_mut().as_mut().and_then(|env| std::mem::replace(&mut env.credential, credential))
        })
    };
    let outer = set(Some(kind));
    let result = T::deserialize(deserializer);
    set(outer);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::new(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn expands_from_dotenv_and_records_variables_and_credentials() {
        let mut env = env(&[("SB_TEST_TOKEN", "s3cret"), ("SB_TEST_BASE", "http://h")]);
        assert_eq!(env.expand("${SB_TEST_BASE}/x"), Ok("http://h/x".to_string()));
        env.credential = Some(Credential::Expansions);
        assert_eq!(env.expand("Bearer ${SB_TEST_TOKEN}!"), Ok("Bearer s3cret!".to_string()));
        let variables = [("SB_TEST_BASE", "http://h"), ("SB_TEST_TOKEN", "s3cret")];
        let variables: Vec<_> = variables.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(env.read.variables, variables);
        assert_eq!(env.read.credentials, vec!["s3cret".to_string()]);
    }

    #[test]
    fn dollar_dollar_is_a_literal_dollar() {
        assert_eq!(env(&[]).expand("cost: $$5 and $x"), Ok("cost: $5 and $x".to_string()));
    }

    #[test]
    fn missing_and_malformed_variables_are_errors() {
        let err = env(&[]).expand("${SB_SURELY_UNSET_VAR}").unwrap_err().to_string();
        assert!(err.contains("`SB_SURELY_UNSET_VAR` is not set"), "{err}");
        let unterminated = env(&[]).expand("s3cret-tok3n${OPEN").unwrap_err().to_string();
        assert!(unterminated.contains("unterminated") && !unterminated.contains("s3cret"), "{unterminated}");
        assert!(env(&[]).expand("${a b}").unwrap_err().to_string().contains("not a valid variable name"));
    }
}
