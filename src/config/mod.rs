//! The hub manifest (`switchboard.toml`) and `.env`: reading, `${VAR}` expansion and validation.

mod choices;
mod connection;
mod credentials;
mod error;
mod interpolate;
mod manifest;
pub(crate) mod parsed;
mod policy;
mod rate;
mod read;
mod schedule;
pub(crate) mod schema;
pub(crate) mod topic;
mod units;
mod validate;
pub(crate) mod watch_patterns;
pub(crate) mod watch_spec;

pub(crate) use choices::{CatchUp, Change, Method, OnStart, Overlap, Scheme, SqlTls, StartTls, reserved_path};
pub(crate) use connection::{
    Connection, HttpCircuit, HttpConnection, HttpRetry, MqttConnection, SmtpConnection, SqlServerConnection,
};
pub use error::{ConfigError, ConfigErrors};
pub(crate) use error::{closest, line_column, locate};
pub(crate) use interpolate::Text;
pub(crate) use manifest::*;
pub use manifest::{Limits, Manifest};
pub(crate) use policy::{AfterFailure, Policy};
pub(crate) use rate::{Per, Rate};
pub(crate) use schedule::{Schedule, ScheduleError};
pub(crate) use topic::Qos;
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

/// Reads, expands and validates `DIR/switchboard.toml`, reporting every error found (all of
/// them but after a TOML syntax error, which stops the reading). `scripts`
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
    let (read, expanded) = Environment::new(dotenv).scope(|| read::manifest(&file, &text));
    let read::Read { manifest, mut errors, numbering } = read?;
    let mut secrets = Vec::new();
    // Only a manifest read whole has all its `${VAR}`s expanded, which `[secrets] vars` names.
    if errors.is_empty() {
        match credentials::secrets(&file, &text, &manifest, expanded) {
            Ok(found) => secrets = found,
            Err(err) => errors.push(err),
        }
    }
    let mut checked = validate::manifest(dir, &file, &manifest, scripts);
    read::renumber(&numbering, &mut checked);
    errors.extend(checked);
    locate(&text, &mut errors);
    // In the manifest's order, then those about other files (a route's JSON Schema).
    errors.sort_by_key(|error| (error.file != file, error.position.unwrap_or((usize::MAX, 0))));
    if errors.is_empty() { Ok(Loaded { manifest, secrets }) } else { Err(ConfigErrors(errors)) }
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
