//! The typed form of `switchboard.toml`: every section and key a hub may use.

use super::choices::{CatchUp, Change, Method, OnStart, Overlap, Scheme};
use super::connection::Connection;
use super::interpolate::{ExpandedTable, Text, credential};
use super::policy::Policy;
use super::rate::Rate;
use super::topic::Qos;
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
    pub mqtt: Vec<Mqtt>,
    #[serde(default)]
    pub connections: BTreeMap<String, Connection>,
    #[serde(default, rename = "key")]
    pub keys: Vec<Key>,
    #[serde(default)]
    pub exec: Exec,
    #[serde(default)]
    pub fs: Fs,
    #[serde(default)]
    pub run_log: RunLog,
    #[serde(default)]
    pub queue: Queue,
    #[serde(default)]
    pub secrets: SecretVars,
}

/// `[secrets]`: variables whose values are secrets wherever the manifest expands them, beside
/// the credential fields (key tokens, passwords, verify secrets, connection headers and query,
/// URL userinfo), which always are.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretVars {
    /// Names of variables the manifest uses as `${NAME}`.
    #[serde(default)]
    pub vars: Vec<String>,
}

/// `[run_log]`: how long run records are kept.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunLog {
    /// Records older than this are pruned.
    #[serde(default = "default_keep_for")]
    pub keep_for: Duration,
    /// At most this many records are kept.
    #[serde(default = "default_keep_last")]
    pub keep_last: u64,
}

impl Default for RunLog {
    fn default() -> Self {
        Self { keep_for: default_keep_for(), keep_last: default_keep_last() }
    }
}

fn default_keep_for() -> Duration {
    Duration(std::time::Duration::from_secs(30 * 24 * 3600))
}
fn default_keep_last() -> u64 {
    100_000
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
    /// Longest printed or logged line kept; a longer one is cut and marked.
    #[serde(default = "default_max_line")]
    pub max_line: Size,
    /// Most bytes of printed and logged lines kept per run; later lines are counted, not kept.
    #[serde(default = "default_max_output_per_run")]
    pub max_output: Size,
}

impl Limits {
    /// What is wrong with these limits, as (key, message): what the manifest's shape cannot say.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if self.max_line.0 < MIN_LINE {
            problems.push((
                "limits.max_line",
                format!(
                    "{} is too short; it must be at least {MIN_LINE} bytes, to hold a line and its truncation marker",
                    self.max_line
                ),
            ));
        }
        if self.max_output < self.max_line {
            problems.push((
                "limits.max_output",
                format!("{} must be at least max_line ({})", self.max_output, self.max_line),
            ));
        }
        problems
    }
}

/// The shortest `max_line`: a cut line ends with a marker of about 30 bytes.
const MIN_LINE: u64 = 256;

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: default_timeout(),
            max_operations: default_max_operations(),
            max_call_depth: default_max_call_depth(),
            max_string: default_max_string(),
            max_array: default_max_array(),
            max_map: default_max_map(),
            max_line: default_max_line(),
            max_output: default_max_output_per_run(),
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
fn default_max_line() -> Size {
    Size(64 * 1024)
}
fn default_max_output_per_run() -> Size {
    Size(1024 * 1024)
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
    pub method: Method,
    pub path: String,
    pub script: String,
    #[serde(default)]
    pub auth: Auth,
    #[serde(default)]
    pub scopes: Vec<String>,
    pub rate_limit: Option<Rate>,
    pub concurrency: Option<usize>,
    #[serde(default)]
    pub query: BTreeMap<String, QueryParam>,
    /// Types of path parameters, converted and checked like query parameters.
    #[serde(default)]
    pub params: BTreeMap<String, QueryParam>,
    pub body_schema: Option<String>,
    /// Path parameters as requested: not percent-decoded, no segment refused.
    #[serde(default)]
    pub raw_path: bool,
    pub timeout: Option<Duration>,
    pub max_operations: Option<u64>,
    #[serde(default)]
    pub mode: Mode,
    pub verify: Option<Verify>,
    pub summary: Option<String>,
    pub description: Option<String>,
    /// With `mode = "queue"`: retry a failed run before marking it dead.
    pub retry: Option<Policy>,
    /// With `mode = "queue"`: a script to run when the last attempt failed.
    pub on_error: Option<String>,
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
    pub scheme: Scheme,
    pub header: String,
    #[serde(default)]
    pub prefix: String,
    #[serde(deserialize_with = "credential")]
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
    /// The script's `input`; `${VAR}` in its strings is expanded.
    #[serde(default)]
    pub input: ExpandedTable,
    #[serde(default)]
    pub overlap: Overlap,
    #[serde(default)]
    pub catch_up: CatchUp,
    pub timeout: Option<Duration>,
    pub max_operations: Option<u64>,
    /// Retry a failed run before giving up on the occurrence.
    pub retry: Option<Policy>,
    /// A script to run when the last attempt failed.
    pub on_error: Option<String>,
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
    pub events: Option<Vec<Change>>,
    /// Also watch subfolders (except `move_to`, `error_to` and hidden ones); default false.
    #[serde(default)]
    pub recursive: bool,
    /// Where a file goes after a successful run (relative to the hub or absolute).
    pub move_to: Option<String>,
    /// Where a file goes after a failed run.
    pub error_to: Option<String>,
    /// "process" (default) or "ignore": what to do with files that arrived while the hub was stopped.
    #[serde(default)]
    pub on_start: OnStart,
    /// How long a file's size and mtime must stay unchanged before it counts as written (default 500ms).
    pub settle: Option<Duration>,
    /// How long a file still open for writing may stay quiet before it is run anyway, with a
    /// warning (default 10m). Only where closes are reported (Linux).
    pub close_timeout: Option<Duration>,
    pub timeout: Option<Duration>,
    pub max_operations: Option<u64>,
    /// Retry a failed run before giving up on the file.
    pub retry: Option<Policy>,
    /// A script to run when the last attempt failed.
    pub on_error: Option<String>,
}

/// `[[on]]`: a subscriber of an internal event.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    pub event: String,
    pub script: String,
    pub timeout: Option<Duration>,
    /// Retry a failed delivery before giving up.
    pub retry: Option<Policy>,
    /// A script to run when the last attempt failed.
    pub on_error: Option<String>,
}

/// `[[mqtt]]`: messages on an MQTT topic that run a script, through the durable queue.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mqtt {
    /// The name of a `type = "mqtt"` connection.
    pub connection: String,
    /// A topic filter; `+` matches one level, `#` the rest.
    pub topic: String,
    /// The QoS subscribed with (default 1: a message is acknowledged once queued).
    #[serde(default)]
    pub qos: Qos,
    pub script: String,
    pub timeout: Option<Duration>,
    pub max_operations: Option<u64>,
    /// Retry a failed run before marking it dead.
    pub retry: Option<Policy>,
    /// A script to run when the last attempt failed.
    pub on_error: Option<String>,
}

/// `[queue]`: the workers that run queued requests and cron firings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    /// Queued items run at once.
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// A script to run when any queued item, job, watch or subscription without its own
    /// `on_error` fails for the last time.
    pub on_error: Option<String>,
}

impl Default for Queue {
    fn default() -> Self {
        Self { workers: default_workers(), on_error: None }
    }
}

fn default_workers() -> usize {
    4
}

/// `[[key]]`: an API key that may call private routes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Key {
    pub name: String,
    #[serde(deserialize_with = "credential")]
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
    /// Lets scripts read and change the hub's own files (`.env`, the store, the definition).
    #[serde(default)]
    pub allow_hub_files: bool,
}
