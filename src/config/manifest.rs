//! The typed form of `switchboard.toml`: every section and key a hub may use.

use super::connection::Connection;
use super::interpolate::Text;
use super::units::{Duration, Size};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The whole manifest. Unknown keys anywhere are errors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub server: Server,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default, rename = "route")]
    pub routes: Vec<Route>,
    #[serde(default, rename = "cron")]
    pub crons: Vec<Cron>,
    #[serde(default, rename = "watch")]
    pub watches: Vec<Watch>,
    #[serde(default, rename = "on")]
    pub subscriptions: Vec<Subscription>,
    #[serde(default)]
    pub connections: BTreeMap<String, Connection>,
    #[serde(default, rename = "key")]
    pub keys: Vec<Key>,
    #[serde(default)]
    pub exec: Exec,
    #[serde(default)]
    pub fs: Fs,
}

/// `[server]`: where and how the HTTP trigger listens.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    #[serde(default = "default_listen")]
    pub listen: Text,
    #[serde(default = "default_max_body")]
    pub max_body: Size,
}

impl Default for Server {
    fn default() -> Self {
        Self { listen: default_listen(), max_body: default_max_body() }
    }
}

fn default_listen() -> Text {
    Text("127.0.0.1:8080".into())
}

fn default_max_body() -> Size {
    Size(1_000_000)
}

/// `[limits]`: the sandbox every run gets unless its route or job overrides it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock deadline of one run.
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    /// Rhai operations one run may perform.
    #[serde(default = "default_max_operations")]
    pub max_operations: u64,
    /// Nesting depth of function calls.
    #[serde(default = "default_max_call_depth")]
    pub max_call_depth: usize,
    /// Largest string a script may build.
    #[serde(default = "default_max_string")]
    pub max_string: Size,
    /// Most elements in one array.
    #[serde(default = "default_max_array")]
    pub max_array: usize,
    /// Most entries in one object map.
    #[serde(default = "default_max_map")]
    pub max_map: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: default_timeout(),
            max_operations: default_max_operations(),
            max_call_depth: default_max_call_depth(),
            max_string: default_max_string(),
            max_array: default_max_array(),
            max_map: default_max_map(),
        }
    }
}

fn default_timeout() -> Duration {
    Duration(std::time::Duration::from_secs(30))
}
fn default_max_operations() -> u64 {
    50_000_000
}
fn default_max_call_depth() -> usize {
    64
}
fn default_max_string() -> Size {
    Size(16_000_000)
}
fn default_max_array() -> usize {
    1_000_000
}
fn default_max_map() -> usize {
    100_000
}

/// Whether a route needs a key.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    #[default]
    Private,
    Public,
}

/// Whether a route answers after its run or queues it durably.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Sync,
    Queue,
}

/// `[[route]]`: an HTTP method and path mapped to a script.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub script: String,
    #[serde(default)]
    pub auth: Auth,
    #[serde(default)]
    pub scopes: Vec<String>,
    pub rate_limit: Option<String>,
    pub concurrency: Option<usize>,
    #[serde(default)]
    pub query: BTreeMap<String, QueryParam>,
    pub body_schema: Option<String>,
    pub timeout: Option<Duration>,
    pub max_operations: Option<u64>,
    #[serde(default)]
    pub mode: Mode,
    pub verify: Option<Verify>,
    pub summary: Option<String>,
    pub description: Option<String>,
}

/// The type a query parameter is converted to before it reaches `input`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    #[default]
    String,
    Integer,
    Number,
    Boolean,
}

/// One declared query parameter of a route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryParam {
    #[serde(default, rename = "type")]
    pub kind: ParamType,
    #[serde(default)]
    pub required: bool,
    pub default: Option<toml::Value>,
    #[serde(rename = "enum")]
    pub allowed: Option<Vec<toml::Value>>,
    pub description: Option<String>,
}

/// Inbound webhook signature verification of a route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    pub scheme: String,
    pub header: String,
    #[serde(default)]
    pub prefix: String,
    pub secret: Text,
    pub tolerance: Option<Duration>,
}

/// `[[cron]]`: a schedule that runs a script.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cron {
    pub name: String,
    pub schedule: String,
    pub timezone: Option<String>,
    pub script: String,
    #[serde(default)]
    pub input: toml::Table,
    pub overlap: Option<String>,
    pub catch_up: Option<String>,
    pub timeout: Option<Duration>,
    pub max_operations: Option<u64>,
}

/// One glob or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Patterns {
    One(String),
    Many(Vec<String>),
}

/// `[[watch]]`: a folder whose new files run a script.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watch {
    /// The folder, relative to the hub or absolute; created at start if missing.
    pub path: String,
    /// Names the watch's ledger; defaults to `path`. Two watches of one folder need distinct names.
    pub name: Option<String>,
    /// Globs matched against the file name (or, when they contain `/`, the path under the folder).
    #[serde(alias = "patterns")]
    pub pattern: Option<Patterns>,
    pub script: String,
    /// Which changes run the script: created, modified, removed (default: created).
    pub events: Option<Vec<String>>,
    /// Also watch subfolders (except `move_to`, `error_to` and hidden ones); default false.
    #[serde(default)]
    pub recursive: bool,
    /// Where a file goes after a successful run (relative to the hub or absolute).
    pub move_to: Option<String>,
    /// Where a file goes after a failed run.
    pub error_to: Option<String>,
    /// "process" (default) or "ignore": what to do with files that arrived while the hub was stopped.
    pub on_start: Option<String>,
    /// How long a file's size and mtime must stay unchanged before it counts as written (default 500ms).
    pub settle: Option<Duration>,
    pub timeout: Option<Duration>,
    pub max_operations: Option<u64>,
}

/// `[[on]]`: a subscriber of an internal event.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    pub event: String,
    pub script: String,
    pub timeout: Option<Duration>,
}

/// `[[key]]`: an API key that may call private routes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Key {
    pub name: String,
    pub token: Text,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// `[exec]`: which programs scripts may run, and how much they may print.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exec {
    #[serde(default)]
    pub allow: Vec<Text>,
    #[serde(default = "default_exec_timeout")]
    pub timeout: Duration,
    #[serde(default = "default_max_output")]
    pub max_output: Size,
}

impl Default for Exec {
    fn default() -> Self {
        Self { allow: Vec::new(), timeout: default_exec_timeout(), max_output: default_max_output() }
    }
}

fn default_exec_timeout() -> Duration {
    Duration(std::time::Duration::from_secs(10))
}
fn default_max_output() -> Size {
    Size(1_000_000)
}

/// `[fs]`: folders outside the hub that `fs` may touch.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fs {
    #[serde(default)]
    pub roots: Vec<Text>,
}
