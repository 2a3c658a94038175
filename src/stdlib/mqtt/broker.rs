//! One `type = "mqtt"` connection: where its broker is, who the hub logs in as, and the client
//! options (rumqttc's) that scripts' publishes and the `[[mqtt]]` subscriptions connect with.

use crate::config::MqttConnection;
use reqwest::Url;
use rumqttc::{MqttOptions, Transport};
use rustls_platform_verifier::ConfigVerifierExt;
use std::path::Path;
use std::time::Duration;

/// How often the broker hears from a client when `keep_alive` does not say.
const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(30);
/// The largest packet sent or received: rumqttc's default of 10 KiB would refuse an ordinary
/// JSON document.
const MAX_PACKET: usize = 16 * 1024 * 1024;

/// A broker as a connection of the manifest names it. Two brokers are equal when a client of
/// one could serve the other (a reload that changes nothing keeps its subscriber connected).
#[derive(Clone, PartialEq, Eq)]
pub struct Broker {
    /// The connection's name in the manifest.
    pub name: String,
    host: String,
    port: u16,
    tls: bool,
    login: Option<(String, String)>,
    /// The client id of the hub's subscriptions, stable across restarts.
    pub client_id: String,
    keep_alive: Duration,
}

/// Why a client could not be set up (TLS roots could not be read).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up TLS: {0}")]
pub struct TlsError(String);

impl Broker {
    /// The broker of connection `name` of the hub at `hub_dir`; `None` for a URL `check`
    /// refuses.
    pub fn new(name: &str, mqtt: &MqttConnection, hub_dir: &Path) -> Option<Self> {
        let url = Url::parse(mqtt.url.as_str()).ok()?;
        let tls = match url.scheme() {
            "mqtt" => false,
            "mqtts" => true,
            _ => return None,
        };
        let host = url.host_str().filter(|host| !host.is_empty())?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let port = url.port().unwrap_or(if tls { 8883 } else { 1883 });
        let decode = |text: &str| percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned();
        let user = mqtt.user.as_ref().map_or_else(|| decode(url.username()), |user| user.as_str().to_string());
        let password = match (&mqtt.password, url.password()) {
            (Some(password), _) => password.as_str().to_string(),
            (None, Some(encoded)) => decode(encoded),
            (None, None) => String::new(),
        };
        let login = (!user.is_empty() || !password.is_empty()).then_some((user, password));
        let client_id = mqtt.client_id.clone().unwrap_or_else(|| default_client_id(hub_dir));
        let keep_alive = mqtt.keep_alive.map_or(DEFAULT_KEEP_ALIVE, |keep_alive| keep_alive.0);
        Some(Self { name: name.to_string(), host, port, tls, login, client_id, keep_alive })
    }

    /// `host:port`, for messages: the URL may hold a password.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Whether a client of `other` takes over this one's session on the broker (same broker,
    /// same client id).
    pub fn same_session(&self, other: &Broker) -> bool {
        (&self.host, self.port, &self.client_id) == (&other.host, other.port, &other.client_id)
    }

    /// How the connection is named in messages: "connection `home` (127.0.0.1:1883)".
    pub fn described(&self) -> String {
        format!("connection `{}` ({})", self.name, self.address())
    }

    /// Client options for `client_id`; `persistent` keeps the session (and the messages the
    /// broker holds for it) while the client is away, and leaves acknowledgements to the caller.
    pub fn options(&self, client_id: &str, persistent: bool) -> Result<MqttOptions, TlsError> {
        let mut options = MqttOptions::new(client_id, self.host.clone(), self.port);
        options
            .set_keep_alive(self.keep_alive)
            .set_max_packet_size(MAX_PACKET, MAX_PACKET)
            .set_clean_session(!persistent)
            .set_manual_acks(persistent);
        if let Some((user, password)) = &self.login {
            options.set_credentials(user.clone(), password.clone());
        }
        if self.tls {
            let config = rumqttc::tokio_rustls::rustls::ClientConfig::with_platform_verifier()
                .map_err(|err| TlsError(err.to_string()))?;
            options.set_transport(Transport::tls_with_config(config.into()));
        }
        Ok(options)
    }
}

/// `switchboard-` and the hub folder's name, in the characters every broker accepts in a client
/// id: the same at every start of the hub, as its persistent session needs.
fn default_client_id(hub_dir: &Path) -> String {
    let folder = hub_dir.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let folder: String =
        folder.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    format!("switchboard-{folder}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Text;

    fn connection(url: &str) -> MqttConnection {
        MqttConnection { url: Text(url.into()), client_id: None, keep_alive: None, user: None, password: None }
    }

    #[test]
    fn reads_the_url_and_derives_a_stable_client_id() {
        let broker =
            Broker::new("home", &connection("mqtt://hub:p%40ss@127.0.0.1"), Path::new("/srv/My Hub")).expect("broker");
        assert_eq!(broker.address(), "127.0.0.1:1883");
        assert_eq!(broker.login, Some(("hub".into(), "p@ss".into())));
        assert_eq!(broker.client_id, "switchboard-My-Hub");
        assert!(!broker.described().contains("p@ss"));
        let tls = Broker::new("cloud", &connection("mqtts://broker.example"), Path::new("/h")).expect("broker");
        assert_eq!(tls.address(), "broker.example:8883");
        assert!(Broker::new("x", &connection("http://h"), Path::new("/h")).is_none());
    }
}
