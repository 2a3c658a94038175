//! `[connections.NAME]`: the outside services scripts reach by name.

use super::choices::{SqlTls, StartTls};
use super::interpolate::{Text, credential, credential_expansions};
use super::policy::{Policy, PolicyError, Spec};
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
    /// An MQTT broker for `mqtt::connection` and `[[mqtt]]` subscriptions.
    Mqtt(MqttConnection),
    /// A PostgreSQL server.
    Postgres(SqlServerConnection),
    /// A MySQL or MariaDB server.
    Mysql(SqlServerConnection),
}

/// The kinds of connection.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionKind {
    Http,
    Sqlite,
    Smtp,
    Mqtt,
    Postgres,
    Mysql,
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
    #[serde(default, deserialize_with = "credential_expansions")]
    headers: Option<BTreeMap<String, Text>>,
    #[serde(default, deserialize_with = "credential_expansions")]
    query: Option<BTreeMap<String, Text>>,
    timeout: Option<Duration>,
    path: Option<Text>,
    read_only: Option<bool>,
    url: Option<Text>,
    from: Option<Text>,
    starttls: Option<StartTls>,
    user: Option<Text>,
    #[serde(default, deserialize_with = "credential")]
    password: Option<Text>,
    retry: Option<HttpRetry>,
    circuit: Option<HttpCircuit>,
    client_id: Option<String>,
    keep_alive: Option<Duration>,
    tls: Option<SqlTls>,
    #[serde(default, deserialize_with = "pool")]
    pool: Option<u32>,
}

/// Why a connection's keys do not make a connection of its `type`.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("`{key}` does not apply to a {kind} connection; it takes {takes}")]
    DoesNotApply { key: &'static str, kind: String, takes: String },
    #[error("a {kind} connection needs `{key}`")]
    Missing { kind: String, key: &'static str },
}

impl TryFrom<ConnectionSpec> for Connection {
    type Error = ConnectionError;

    fn try_from(spec: ConnectionSpec) -> Result<Self, ConnectionError> {
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
            ("retry", spec.retry.is_some()),
            ("circuit", spec.circuit.is_some()),
            ("client_id", spec.client_id.is_some()),
            ("keep_alive", spec.keep_alive.is_some()),
            ("tls", spec.tls.is_some()),
            ("pool", spec.pool.is_some()),
        ];
        let allowed: &[&str] = match spec.kind {
            ConnectionKind::Http => {
                &["base_url", "headers", "query", "timeout", "retry", "circuit", "user", "password"]
            }
            ConnectionKind::Sqlite => &["path", "read_only"],
            ConnectionKind::Smtp => &["url", "from", "starttls", "user", "password", "timeout"],
            ConnectionKind::Mqtt => &["url", "client_id", "keep_alive", "user", "password"],
            ConnectionKind::Postgres | ConnectionKind::Mysql => {
                &["url", "tls", "pool", "read_only", "timeout", "retry", "circuit"]
            }
        };
        if let Some((key, _)) = present.iter().find(|(key, set)| *set && !allowed.contains(key)) {
            return Err(ConnectionError::DoesNotApply { key, kind, takes: allowed.join(", ") });
        }
        let server = matches!(spec.kind, ConnectionKind::Postgres | ConnectionKind::Mysql);
        if server && spec.retry.as_ref().is_some_and(|retry| retry.explicit_methods) {
            return Err(ConnectionError::DoesNotApply {
                key: "retry.methods",
                kind,
                takes: "attempts, backoff, max_backoff (a statement is retried only when it never ran)".into(),
            });
        }
        let required = |value: Option<Text>, key: &'static str| {
            value.ok_or_else(|| ConnectionError::Missing { kind: kind.clone(), key })
        };
        Ok(match spec.kind {
            ConnectionKind::Http => Connection::Http(HttpConnection {
                base_url: required(spec.base_url, "base_url")?,
                headers: spec.headers.unwrap_or_default(),
                query: spec.query.unwrap_or_default(),
                timeout: spec.timeout,
                retry: spec.retry,
                circuit: spec.circuit,
                user: spec.user,
                password: spec.password,
            }),
            ConnectionKind::Sqlite => Connection::Sqlite(SqliteConnection {
                path: required(spec.path, "path")?,
                read_only: spec.read_only.unwrap_or(false),
            }),
            ConnectionKind::Smtp => Connection::Smtp(SmtpConnection {
                url: required(spec.url, "url")?,
                from: required(spec.from, "from")?,
                starttls: spec.starttls.unwrap_or_default(),
                user: spec.user,
                password: spec.password,
                timeout: spec.timeout,
            }),
            ConnectionKind::Mqtt => Connection::Mqtt(MqttConnection {
                url: required(spec.url, "url")?,
                client_id: spec.client_id,
                keep_alive: spec.keep_alive,
                user: spec.user,
                password: spec.password,
            }),
            ConnectionKind::Postgres | ConnectionKind::Mysql => {
                let server = SqlServerConnection {
                    url: required(spec.url, "url")?,
                    tls: spec.tls.unwrap_or_default(),
                    pool: spec.pool.unwrap_or(DEFAULT_POOL),
                    read_only: spec.read_only.unwrap_or(false),
                    timeout: spec.timeout,
                    retry: spec.retry.map(|retry| retry.policy),
                    circuit: spec.circuit,
                };
                if spec.kind == ConnectionKind::Postgres {
                    Connection::Postgres(server)
                } else {
                    Connection::Mysql(server)
                }
            }
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
    /// Retry failed requests (connect errors, timeouts, 5xx, 429) with exponential backoff.
    pub retry: Option<HttpRetry>,
    /// Fail fast after consecutive failures until a cooldown has passed.
    pub circuit: Option<HttpCircuit>,
    /// HTTP Basic credentials sent with every request (for APIs such as Mailchimp's).
    pub user: Option<Text>,
    pub password: Option<Text>,
}

/// The methods retried unless `retry.methods` says otherwise: the idempotent ones.
const IDEMPOTENT_METHODS: [&str; 5] = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"];
/// The methods `retry.methods` may name.
const KNOWN_METHODS: [&str; 8] = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "POST", "PATCH", "TRACE"];

/// `retry = { attempts, backoff, max_backoff, methods }` of an HTTP connection; every key is optional.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "HttpRetrySpec")]
pub struct HttpRetry {
    /// Attempts and pauses, over [`Policy::HTTP`] (3 attempts, 200ms doubling up to 5s); the
    /// longest pause is also the longest `Retry-After` a request waits for.
    pub policy: Policy,
    /// Upper-case methods that are retried (default: GET, HEAD, PUT, DELETE, OPTIONS).
    pub methods: Vec<String>,
    /// Whether `methods` was written (SQL connections refuse it).
    pub explicit_methods: bool,
}

impl Default for HttpRetry {
    fn default() -> Self {
        Self {
            policy: Policy::HTTP,
            methods: IDEMPOTENT_METHODS.iter().map(ToString::to_string).collect(),
            explicit_methods: false,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpRetrySpec {
    #[serde(default, deserialize_with = "super::policy::attempts")]
    attempts: Option<u32>,
    backoff: Option<Duration>,
    max_backoff: Option<Duration>,
    #[serde(default, deserialize_with = "methods")]
    methods: Option<Vec<String>>,
}

impl TryFrom<HttpRetrySpec> for HttpRetry {
    type Error = PolicyError;

    fn try_from(spec: HttpRetrySpec) -> Result<Self, PolicyError> {
        let policy =
            Spec { attempts: spec.attempts, backoff: spec.backoff, max_backoff: spec.max_backoff }.over(Policy::HTTP);
        policy.check()?;
        let explicit_methods = spec.methods.is_some();
        Ok(HttpRetry { policy, methods: spec.methods.unwrap_or(HttpRetry::default().methods), explicit_methods })
    }
}

fn methods<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<String>>, D::Error> {
    let methods = Vec::<String>::deserialize(deserializer)?;
    let mut upper = Vec::with_capacity(methods.len());
    for method in methods {
        let method = method.to_ascii_uppercase();
        if !KNOWN_METHODS.contains(&method.as_str()) {
            let hint = super::closest(&method, KNOWN_METHODS)
                .map(|best| format!(" (did you mean `{best}`?)"))
                .unwrap_or_default();
            return Err(serde::de::Error::custom(format!(
                "unknown method `{method}`{hint}; expected some of {}",
                KNOWN_METHODS.join(", ")
            )));
        }
        upper.push(method);
    }
    Ok(Some(upper))
}

/// `circuit = { failures, cooldown }` of an HTTP connection; both keys are optional.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(from = "HttpCircuitSpec")]
pub struct HttpCircuit {
    /// Consecutive failures (connect errors, timeouts, 5xx) that open the circuit (default 5).
    pub failures: u32,
    /// How long an open circuit refuses calls before it lets one trial through (default 30s).
    pub cooldown: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpCircuitSpec {
    #[serde(default, deserialize_with = "failures")]
    failures: Option<u32>,
    #[serde(default, deserialize_with = "cooldown")]
    cooldown: Option<Duration>,
}

impl From<HttpCircuitSpec> for HttpCircuit {
    fn from(spec: HttpCircuitSpec) -> Self {
        Self {
            failures: spec.failures.unwrap_or(5),
            cooldown: spec.cooldown.unwrap_or(Duration(std::time::Duration::from_secs(30))),
        }
    }
}

fn failures<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let failures = u32::deserialize(deserializer)?;
    if failures == 0 {
        return Err(serde::de::Error::custom("must be at least 1 (consecutive failures that open the circuit)"));
    }
    Ok(Some(failures))
}

fn cooldown<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    let cooldown = Duration::deserialize(deserializer)?;
    if cooldown.0.is_zero() {
        return Err(serde::de::Error::custom("must be longer than 0s (how long an open circuit refuses calls)"));
    }
    Ok(Some(cooldown))
}

/// `type = "sqlite"`.
#[derive(Debug)]
pub struct SqliteConnection {
    /// Relative to the hub folder unless absolute.
    pub path: Text,
    /// Open read-only.
    pub read_only: bool,
}

/// Open connections a SQL server connection keeps at most when `pool` does not say.
const DEFAULT_POOL: u32 = 4;

fn pool<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let pool = u32::deserialize(deserializer)?;
    if pool == 0 {
        return Err(serde::de::Error::custom("must be at least 1 (the most connections open at once)"));
    }
    Ok(Some(pool))
}

/// `type = "postgres"` and `type = "mysql"`.
#[derive(Debug)]
pub struct SqlServerConnection {
    /// `postgres://user:password@host:port/database?options` (or `mysql://...`); the userinfo is
    /// a secret.
    pub url: Text,
    pub tls: SqlTls,
    /// The most connections open at once (default 4).
    pub pool: u32,
    /// Sessions refuse writes (the server's own read-only mode).
    pub read_only: bool,
    /// Time allowed to connect (capped by the run's deadline).
    pub timeout: Option<Duration>,
    /// Retries of a call that never ran (cannot connect, no pooled connection in time), over
    /// [`Policy::HTTP`]; `None` tries once.
    pub retry: Option<Policy>,
    /// Fail fast after consecutive connection failures.
    pub circuit: Option<HttpCircuit>,
}

/// `type = "smtp"`.
#[derive(Debug)]
pub struct SmtpConnection {
    /// `smtp://user:pass@host:port` (plain, or STARTTLS with `starttls`) or `smtps://...` (TLS).
    pub url: Text,
    pub from: Text,
    /// Upgrade a `smtp://` connection with STARTTLS (default: never).
    pub starttls: StartTls,
    /// Overrides the user name of the URL (for names that are awkward to percent-encode).
    pub user: Option<Text>,
    /// Overrides the password of the URL.
    pub password: Option<Text>,
    pub timeout: Option<Duration>,
}

/// `type = "mqtt"`.
#[derive(Debug)]
pub struct MqttConnection {
    /// `mqtt://user:pass@host:port` (plain) or `mqtts://...` (TLS, rustls).
    pub url: Text,
    /// The client id the hub's subscriptions connect with; a persistent session is kept under
    /// it, so it must stay the same across restarts (default: `switchboard-` and the hub
    /// folder's name).
    pub client_id: Option<String>,
    /// How often the broker hears from the client when nothing else is sent (default 30s).
    pub keep_alive: Option<Duration>,
    /// Overrides the user name of the URL (for names that are awkward to percent-encode).
    pub user: Option<Text>,
    /// Overrides the password of the URL.
    pub password: Option<Text>,
}
