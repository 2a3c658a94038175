//! The hub manifest (`switchboard.toml`) and `.env`: reading, `${VAR}` expansion and validation.

mod connection;
mod credentials;
mod error;
mod interpolate;
mod manifest;
mod policy;
mod schedule;
mod schema;
mod units;
mod validate;
pub(crate) mod watch_patterns;
pub(crate) mod watch_spec;

pub(crate) use connection::{Connection, HttpCircuit, HttpConnection, HttpRetry, SmtpConnection};
pub use error::{ConfigError, ConfigErrors};
pub(crate) use error::{closest, line_column, locate};
pub(crate) use interpolate::Text;
pub(crate) use manifest::*;
pub use manifest::{Limits, Manifest};
pub(crate) use policy::Policy;
pub(crate) use schedule::{Schedule, ScheduleError};
pub(crate) use units::{Duration, Size};
pub(crate) use validate::{listen_problem, warnings};

use interpolate::Environment;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The manifest's file name inside a hub.
pub const MANIFEST: &str = "switchboard.toml";

/// A manifest read from a hub, with its secret values (see `credentials`).
pub struct Loaded {
    pub manifest: Manifest,
    pub secrets: Vec<String>,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Like `Text`, Debug output never prints a secret.
        let secrets = format!("{} values", self.secrets.len());
        f.debug_struct("Loaded").field("manifest", &self.manifest).field("secrets", &secrets).finish()
    }
}

/// Reads, expands and validates `DIR/switchboard.toml`, reporting every error found. `scripts`
/// are the names of the hub's scripts, which routes, jobs and handlers must name.
pub fn load(dir: &Path, scripts: &[String]) -> Result<Loaded, ConfigErrors> {
    let file = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&file).map_err(|err| {
        let message = if err.kind() == std::io::ErrorKind::NotFound {
            format!("no {MANIFEST} here; is `{}` a hub? (`switchboard init DIR` creates one)", dir.display())
        } else {
            format!("cannot read: {err}")
        };
        ConfigError::file(&file, message)
    })?;
    let dotenv = read_dotenv(dir)?;
    let loaded = parse(&file, &text, dotenv)?;
    let mut errors = validate::manifest(dir, &file, &loaded.manifest, scripts);
    locate(&text, &mut errors);
    if errors.is_empty() { Ok(loaded) } else { Err(ConfigErrors(errors)) }
}

/// Parses manifest text; `file` is only used to name the source in errors.
pub fn parse(file: &Path, text: &str, dotenv: HashMap<String, String>) -> Result<Loaded, ConfigError> {
    let (result, expanded) = Environment::new(dotenv).scope(|| {
        let deserializer = toml::Deserializer::parse(text).map_err(|err| (String::new(), err))?;
        serde_path_to_error::deserialize::<_, Manifest>(deserializer)
            .map_err(|err| (err.path().to_string(), err.into_inner()))
    });
    let manifest = result.map_err(|(key, err)| ConfigError {
        file: file.to_path_buf(),
        position: err.span().map(|span| line_column(text, span.start)),
        key: Some(key),
        message: error::with_suggestion(err.message().trim()),
    })?;
    let secrets = credentials::secrets(file, text, &manifest, expanded)?;
    Ok(Loaded { manifest, secrets })
}

/// Reads `DIR/.env` if it exists: `KEY=value` lines, `#` comments, optional quotes.
fn read_dotenv(dir: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let path: PathBuf = dir.join(".env");
    if !path.exists() {
        return Ok(HashMap::new());
    }
    let text = std::fs::read_to_string(&path).map_err(|err| ConfigError::file(&path, format!("cannot read: {err}")))?;
    let pairs = dotenvy::from_read_iter(text.as_bytes());
    pairs.map(|pair| pair.map_err(|err| dotenv_error(&path, &text, err))).collect()
}

/// A `.env` error that says where, never what the line holds: the line may be a secret.
fn dotenv_error(path: &Path, text: &str, err: dotenvy::Error) -> ConfigError {
    let dotenvy::Error::LineParse(line, index) = err else {
        return ConfigError::file(path, err.to_string());
    };
    let position = text.find(line.trim_end()).map(|start| {
        let at = start + index.min(line.trim_end().len());
        line_column(text, if text.is_char_boundary(at) { at } else { start })
    });
    let message = if position.is_some() {
        "not a `KEY=value` line, or a quote opened here is never closed (a name, `=`, then the value, quoted if it holds spaces, `#` or quotes); the line is not shown, as it may hold a secret"
    } else {
        "a line is not `KEY=value` (a name, `=`, then the value, quoted if it holds spaces, `#` or quotes); it is not shown, as it may hold a secret"
    };
    ConfigError { file: path.to_path_buf(), position, key: None, message: message.to_string() }
}
