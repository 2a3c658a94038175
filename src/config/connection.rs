//! `[connections.NAME]`: the outside services scripts reach by name.

use super::interpolate::Text;
use super::units::Duration;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One named connection; `type` selects the kind.
#[derive(Debug, Deserialize)]
#[serde(try_from = "ConnectionSpec")]
pub enum Connection {
    /// An HTTP API: requests made through it get its base URL, headers and query parameters.
    Http(HttpConnection),
    /// A SQLite database file.
    Sqlite(SqliteConnection),
    /// An SMTP server for `mail::send`.
    Smtp(SmtpConnection),
}

/// The kinds of connection.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionKind {
    Http,
    Sqlite,
    Smtp,
}

/// Every key any connection may have. Read as one flat struct (instead of an internally tagged
/// enum, which buffers its content) so that errors inside keep their key path and line:column;
/// [`Connection::try_from`] then checks which keys the chosen `type` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionSpec {
    #[serde(rename = "type")]
    kind: ConnectionKind,
    base_url: Option<Text>,
    headers: Option<BTreeMap<String, Text>>,
    query: Option<BTreeMap<String, Text>>,
    timeout: Option<Duration>,
    path: Option<Text>,
    read_only: Option<bool>,
    url: Option<Text>,
    from: Option<Text>,
    starttls: Option<String>,
    user: Option<Text>,
    password: Option<Text>,
}

impl TryFrom<ConnectionSpec> for Connection {
    type Error = String;

    fn try_from(spec: ConnectionSpec) -> Result<Self, String> {
        let kind = format!("{:?}", spec.kind).to_lowercase();
        let present = [
            ("base_url", spec.base_url.is_some()),
            ("headers", spec.headers.is_some()),
            ("query", spec.query.is_some()),
            ("timeout", spec.timeout.is_some()),
            ("path", spec.path.is_some()),
            ("read_only", spec.read_only.is_some()),
            ("url", spec.url.is_some()),
            ("from", spec.from.is_some()),
            ("starttls", spec.starttls.is_some()),
            ("user", spec.user.is_some()),
            ("password", spec.password.is_some()),
        ];
        let allowed: &[&str] = match spec.kind {
            ConnectionKind::Http => &["base_url", "headers", "query", "timeout"],
            ConnectionKind::Sqlite => &["path", "read_only"],
            ConnectionKind::Smtp => &["url", "from", "starttls", "user", "password", "timeout"],
        };
        if let Some((key, _)) = present.iter().find(|(key, set)| *set && !allowed.contains(key)) {
            return Err(format!("`{key}` does not apply to a {kind} connection; it takes {}", allowed.join(", ")));
        }
        let required =
            |value: Option<Text>, key: &str| value.ok_or_else(|| format!("a {kind} connection needs `{key}`"));
        Ok(match spec.kind {
            ConnectionKind::Http => Connection::Http(HttpConnection {
                base_url: required(spec.base_url, "base_url")?,
                headers: spec.headers.unwrap_or_default(),
                query: spec.query.unwrap_or_default(),
                timeout: spec.timeout,
            }),
            ConnectionKind::Sqlite => Connection::Sqlite(SqliteConnection {
                path: required(spec.path, "path")?,
                read_only: spec.read_only.unwrap_or(false),
            }),
            ConnectionKind::Smtp => Connection::Smtp(SmtpConnection {
                url: required(spec.url, "url")?,
                from: required(spec.from, "from")?,
                starttls: spec.starttls,
                user: spec.user,
                password: spec.password,
                timeout: spec.timeout,
            }),
        })
    }
}

/// `type = "http"`.
#[derive(Debug)]
pub struct HttpConnection {
    pub base_url: Text,
    pub headers: BTreeMap<String, Text>,
    pub query: BTreeMap<String, Text>,
    pub timeout: Option<Duration>,
}

/// `type = "sqlite"`.
#[derive(Debug)]
pub struct SqliteConnection {
    /// Relative to the hub folder unless absolute.
    pub path: Text,
    /// Open read-only.
    pub read_only: bool,
}

/// `type = "smtp"`.
#[derive(Debug)]
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
