//! `[connections.NAME]`: the outside services scripts reach by name.

use super::interpolate::Text;
use super::units::Duration;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One named connection; `type` selects the kind.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Connection {
    /// An HTTP API: requests made through it get its base URL, headers and query parameters.
    Http(HttpConnection),
    /// A SQLite database file.
    Sqlite(SqliteConnection),
    /// An SMTP server for `mail::send`.
    Smtp(SmtpConnection),
}

/// `type = "http"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConnection {
    pub base_url: Text,
    #[serde(default)]
    pub headers: BTreeMap<String, Text>,
    #[serde(default)]
    pub query: BTreeMap<String, Text>,
    pub timeout: Option<Duration>,
}

/// `type = "sqlite"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqliteConnection {
    /// Relative to the hub folder unless absolute.
    pub path: Text,
    /// Open read-only.
    #[serde(default)]
    pub read_only: bool,
}

/// `type = "smtp"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConnection {
    /// `smtp://user:pass@host:port` (plain, or STARTTLS with `starttls`) or `smtps://...` (TLS).
    pub url: Text,
    pub from: Text,
    /// Upgrade a `smtp://` connection with STARTTLS: "required", "opportunistic" or "never" (default).
    pub starttls: Option<String>,
    /// Overrides the user name of the URL (for names that are awkward to percent-encode).
    pub user: Option<Text>,
    /// Overrides the password of the URL.
    pub password: Option<Text>,
    pub timeout: Option<Duration>,
}
