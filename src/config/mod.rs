//! The hub manifest (`switchboard.toml`) and `.env`: reading, `${VAR}` expansion and validation.

mod connection;
mod error;
mod interpolate;
mod manifest;
mod schema;
mod units;
mod validate;

pub use connection::{Connection, HttpCircuit, HttpConnection, HttpRetry, SmtpConnection, SqliteConnection};
pub use error::{ConfigError, ConfigErrors, closest, line_column, locate};
pub use interpolate::{ExpandedTable, Text};
pub use manifest::*;
pub use units::{Duration, Size};
pub use validate::{listen_problem, warnings};

use interpolate::Environment;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The manifest's file name inside a hub.
pub const MANIFEST: &str = "switchboard.toml";

/// A manifest read from a hub, with the secret values it expanded from the environment.
#[derive(Debug)]
pub struct Loaded {
    pub manifest: Manifest,
    pub secrets: Vec<String>,
}

/// Reads, expands and validates `DIR/switchboard.toml`, reporting every error found.
pub fn load(dir: &Path) -> Result<Loaded, ConfigErrors> {
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
    let mut errors = validate::manifest(dir, &file, &loaded.manifest);
    locate(&text, &mut errors);
    if errors.is_empty() { Ok(loaded) } else { Err(ConfigErrors(errors)) }
}

/// Parses manifest text; `file` is only used to name the source in errors.
pub fn parse(file: &Path, text: &str, dotenv: HashMap<String, String>) -> Result<Loaded, ConfigError> {
    let (result, secrets) = Environment::new(dotenv).scope(|| {
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
    Ok(Loaded { manifest, secrets })
}

/// Reads `DIR/.env` if it exists: `KEY=value` lines, `#` comments, optional quotes.
fn read_dotenv(dir: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let path: PathBuf = dir.join(".env");
    if !path.exists() {
        return Ok(HashMap::new());
    }
    let pairs = dotenvy::from_path_iter(&path).map_err(|err| ConfigError::file(&path, err.to_string()))?;
    pairs.map(|pair| pair.map_err(|err| ConfigError::file(&path, err.to_string()))).collect()
}
