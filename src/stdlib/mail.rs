//! `mail`: sending mail through the named `type = "smtp"` connections of the manifest (lettre's
//! synchronous SMTP transport, rustls for `smtps://` and STARTTLS).

use super::{Capabilities, Result, def_with, error};
use crate::config::{ConfigError, Connection, Manifest, SmtpConnection, StartTls};
use crate::engine::blocking_detached;
use crate::engine::context;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{SmtpTransport, SmtpTransportBuilder};
use lettre::{Message, Transport};
use reqwest::Url;
use rhai::{Array, Dynamic, Map, Module};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Time allowed for connecting and for each SMTP reply when the connection does not say
/// (capped by the run's deadline).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The fields a message map may have.
const FIELDS: [&str; 8] = ["to", "cc", "bcc", "subject", "text", "html", "reply_to", "from"];

/// The SMTP servers of one snapshot.
pub struct MailCapability {
    servers: BTreeMap<String, Arc<Server>>,
}

impl MailCapability {
    /// Reads the `type = "smtp"` connections of the manifest and prepares a transport for each.
    pub fn new(manifest: &Manifest, file: &Path) -> std::result::Result<Self, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut servers = BTreeMap::new();
        for (name, connection) in &manifest.connections {
            let Connection::Smtp(smtp) = connection else { continue };
            match Server::new(smtp) {
                Ok(server) => {
                    servers.insert(name.clone(), Arc::new(server));
                }
                Err((key, message)) => {
                    errors.push(ConfigError::key(file, format!("connections.{name}.{key}"), message))
                }
            }
        }
        if errors.is_empty() { Ok(Self { servers }) } else { Err(errors) }
    }
}

/// One SMTP server: how to reach it and who mail from it is from.
struct Server {
    /// Complete but for the timeout, which is capped by each run's deadline when sending.
    transport: SmtpTransportBuilder,
    timeout: Duration,
    from: Mailbox,
    /// `host:port`, for error messages (the URL may hold a password).
    address: String,
}

impl Server {
    /// The server of a connection, or the key at fault and why.
    fn new(smtp: &SmtpConnection) -> std::result::Result<Self, (&'static str, String)> {
        let url = Url::parse(smtp.url.as_str()).map_err(|err| ("url", format!("not a URL ({err})")))?;
        let starttls = smtp.starttls;
        let implicit_tls = match url.scheme() {
            "smtp" => false,
            "smtps" if starttls == StartTls::Never => true,
            "smtps" => {
                return Err(("starttls", "applies to smtp:// URLs; smtps:// uses TLS from the start".into()));
            }
            other => return Err(("url", format!("`{other}://` is not supported; use smtp:// or smtps://"))),
        };
        if url.query().is_some() {
            return Err(("url", "takes no query; set `starttls = \"required\"` to upgrade with STARTTLS".into()));
        }
        let host = url.host_str().filter(|host| !host.is_empty()).ok_or(("url", "names no host".to_string()))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let port = url.port().unwrap_or(match (implicit_tls, starttls) {
            (true, _) => 465,
            (false, StartTls::Never) => 25,
            (false, _) => 587,
        });
        let tls = || {
            TlsParameters::new(host.clone()).map_err(|err| ("url", format!("cannot set up TLS for `{host}`: {err}")))
        };
        let tls = match (implicit_tls, starttls) {
            (true, _) => Tls::Wrapper(tls()?),
            (false, StartTls::Required) => Tls::Required(tls()?),
            (false, StartTls::Opportunistic) => Tls::Opportunistic(tls()?),
            (false, StartTls::Never) => Tls::None,
        };
        let mut transport = SmtpTransport::builder_dangerous(host.as_str()).port(port).tls(tls);

        let user = match &smtp.user {
            Some(user) => user.as_str().to_string(),
            None => percent_decode(url.username()).ok_or(("url", "the user name is not valid UTF-8".to_string()))?,
        };
        let password = match (&smtp.password, url.password()) {
            (Some(password), _) => Some(password.as_str().to_string()),
            (None, Some(encoded)) => {
                // The password itself is not quoted: it is a secret.
                Some(percent_decode(encoded).ok_or(("url", "the password is not valid UTF-8".to_string()))?)
            }
            (None, None) => None,
        };
        match (user.is_empty(), password) {
            (false, password) => {
                transport = transport.credentials(Credentials::new(user, password.unwrap_or_default()));
            }
            (true, Some(_)) => return Err(("user", "a password is set, but no user to log in as".into())),
            (true, None) => {}
        }
        // Like lettre's own URLs: a path names the host to announce in EHLO.
        let hello = url.path().trim_matches('/');
        if !hello.is_empty() {
            transport = transport.hello_name(ClientId::Domain(hello.to_string()));
        }

        let from = smtp
            .from
            .as_str()
            .parse::<Mailbox>()
            .map_err(|err| ("from", format!("`{}` is not an email address ({err})", smtp.from.as_str())))?;
        let timeout = smtp.timeout.map_or(DEFAULT_TIMEOUT, |timeout| timeout.0);
        Ok(Self { transport, timeout, from, address: format!("{host}:{port}") })
    }
}

/// Decodes `%XX` escapes of a URL's user or password; `None` if the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = bytes
            .get(index + 1..index + 3)
            .filter(|_| bytes[index] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Builds the `mail` module.
pub fn module(capabilities: &Arc<Capabilities>) -> Module {
    let mut module = Module::new();
    def_with!(&mut module, capabilities => caps, {
        "send" => move |connection: &str, message: Dynamic| send(&caps, connection, message),
    });
    module
}

/// Sends a message through the SMTP connection named in `[connections]`, from its `from`
/// address. Fields: `to` (required), `cc`, `bcc` (each an address or an array of addresses),
/// `subject` (required), `text` and/or `html` (both make a multipart/alternative message),
/// `reply_to`, and `from` to override the connection's sender. Addresses may carry a name:
/// `"Ada <ada@example.com>"`. Bcc recipients get the message but are not listed in it. Returns
/// `#{ message_id, recipients, response }`, where `response` is the server's final reply.
///
/// ```rhai
/// mail::send("alerts", #{
///     to: ["ops@example.com", "Ada <ada@example.com>"],
///     subject: "Disk almost full",
///     text: "Only 3% left on /data.",
///     html: "<p>Only <b>3%</b> left on <code>/data</code>.</p>",
/// }).message_id
/// ```
pub fn send(capabilities: &Capabilities, connection: &str, message: Dynamic) -> Result<Map> {
    const FUNCTION: &str = "mail.send";
    let server = capabilities.mail.servers.get(connection).ok_or_else(|| {
        let known: Vec<&str> = capabilities.mail.servers.keys().map(String::as_str).collect();
        let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
        error(FUNCTION, format!("no smtp connection `{connection}` (known: {known})"))
    })?;
    let email = compose(server, message)?;
    let message_id = email.headers().get_raw("Message-ID").unwrap_or_default().to_string();
    let recipients: Array = email.envelope().to().iter().map(|address| address.to_string().into()).collect();

    let left = context::remaining().unwrap_or(Duration::MAX);
    // Sockets refuse a zero timeout; past the deadline the run is stopped anyway.
    let timeout = server.timeout.min(left).max(Duration::from_millis(10));
    let transport = server.transport.clone().timeout(Some(timeout)).build();
    // Ctrl-C in the REPL stops waiting for the server; the message may still go out.
    let reply = blocking_detached(move || transport.send(&email))
        .map_err(|_| {
            error(
                FUNCTION,
                format!("interrupted while sending through `{connection}`; the message may still be delivered"),
            )
        })?
        .map_err(|err| {
            let cause = if err.is_timeout() && left < server.timeout { " (the run's deadline)" } else { "" };
            error(FUNCTION, format!("cannot send through `{connection}` ({}): {err}{cause}", server.address))
        })?;

    let mut result = Map::new();
    result.insert("message_id".into(), message_id.into());
    result.insert("recipients".into(), recipients.into());
    let lines: Vec<&str> = reply.message().collect();
    result.insert("response".into(), format!("{} {}", reply.code(), lines.join(" ")).trim_end().to_string().into());
    Ok(result)
}

/// The message a script's map describes.
fn compose(server: &Server, message: Dynamic) -> Result<Message> {
    const FUNCTION: &str = "mail.send";
    let kind = message.type_name();
    let Some(fields) = message.try_cast::<Map>() else {
        return Err(error(FUNCTION, format!("the message must be a map such as #{{ to, subject, text }}, not {kind}")));
    };
    if let Some(unknown) = fields.keys().find(|key| !FIELDS.contains(&key.as_str())) {
        let hint = crate::config::closest(unknown, FIELDS)
            .map(|best| format!(" (did you mean `{best}`?)"))
            .unwrap_or_default();
        return Err(error(FUNCTION, format!("unknown field `{unknown}`{hint}; expected {}", FIELDS.join(", "))));
    }
    let text = |name: &str| -> Result<Option<String>> {
        match fields.get(name) {
            None => Ok(None),
            Some(value) if value.is_unit() => Ok(None),
            Some(value) if value.is_string() => Ok(Some(value.clone().into_string().unwrap_or_default())),
            Some(value) => Err(error(FUNCTION, format!("`{name}` must be a string, not {}", value.type_name()))),
        }
    };

    let to = addresses(&fields, "to")?;
    if to.is_empty() {
        return Err(error(FUNCTION, "`to` is required: an address or an array of addresses"));
    }
    let subject = text("subject")?.ok_or_else(|| error(FUNCTION, "`subject` is required"))?;
    let from = match text("from")? {
        Some(from) => mailbox("from", &from)?,
        None => server.from.clone(),
    };

    let mut builder = Message::builder().from(from).subject(subject).message_id(None);
    for mailbox in to {
        builder = builder.to(mailbox);
    }
    for mailbox in addresses(&fields, "cc")? {
        builder = builder.cc(mailbox);
    }
    for mailbox in addresses(&fields, "bcc")? {
        builder = builder.bcc(mailbox);
    }
    for mailbox in addresses(&fields, "reply_to")? {
        builder = builder.reply_to(mailbox);
    }
    let built = match (text("text")?, text("html")?) {
        (Some(text), Some(html)) => builder.multipart(MultiPart::alternative_plain_html(text, html)),
        (None, Some(html)) => builder.singlepart(SinglePart::html(html)),
        (text, None) => builder.singlepart(SinglePart::plain(text.unwrap_or_default())),
    };
    built.map_err(|err| error(FUNCTION, format!("cannot build the message: {err}")))
}

/// The addresses of a field that holds one address or an array of them.
fn addresses(fields: &Map, name: &str) -> Result<Vec<Mailbox>> {
    let Some(value) = fields.get(name).filter(|value| !value.is_unit()) else { return Ok(Vec::new()) };
    if value.is_string() {
        return Ok(vec![mailbox(name, &value.clone().into_string().unwrap_or_default())?]);
    }
    if value.is_array() {
        return value
            .clone()
            .cast::<Array>()
            .iter()
            .map(|item| match item.clone().into_string() {
                Ok(text) => mailbox(name, &text),
                Err(kind) => Err(error("mail.send", format!("`{name}` must hold strings, not {kind}"))),
            })
            .collect();
    }
    Err(error("mail.send", format!("`{name}` must be an address or an array of addresses, not {}", value.type_name())))
}

fn mailbox(field: &str, text: &str) -> Result<Mailbox> {
    text.trim().parse::<Mailbox>().map_err(|err| {
        let hint = if text.contains(',') { "; give several addresses as an array" } else { "" };
        error("mail.send", format!("`{field}`: `{text}` is not an email address ({err}){hint}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Text;

    fn smtp(url: &str, starttls: Option<&str>) -> SmtpConnection {
        SmtpConnection {
            url: Text(url.to_string()),
            from: Text("Hub <hub@example.com>".to_string()),
            starttls: starttls.map_or(StartTls::Never, |word| word.parse().expect("a starttls word")),
            user: None,
            password: None,
            timeout: None,
        }
    }

    #[test]
    fn ports_follow_the_scheme_and_starttls() {
        let address = |url: &str, starttls| Server::new(&smtp(url, starttls)).map(|server| server.address);
        assert_eq!(address("smtp://mail.example.com", None), Ok("mail.example.com:25".to_string()));
        assert_eq!(address("smtp://mail.example.com", Some("required")), Ok("mail.example.com:587".to_string()));
        assert_eq!(address("smtps://u:p@mail.example.com", None), Ok("mail.example.com:465".to_string()));
        assert_eq!(address("smtp://127.0.0.1:2525", None), Ok("127.0.0.1:2525".to_string()));
    }

    #[test]
    fn contradictions_and_queries_are_config_errors() {
        assert_eq!(Server::new(&smtp("smtps://h", Some("required"))).err().map(|e| e.0), Some("starttls"));
        assert_eq!(Server::new(&smtp("smtp://h?tls=required", None)).err().map(|e| e.0), Some("url"));
        let mut lonely = smtp("smtp://h", None);
        lonely.password = Some(Text("pw".into()));
        assert_eq!(Server::new(&lonely).err().map(|e| e.0), Some("user"));
    }

    #[test]
    fn url_credentials_are_percent_decoded() {
        assert_eq!(percent_decode("ada%40example.com"), Some("ada@example.com".to_string()));
        assert_eq!(percent_decode("p%2Bw%zz"), Some("p+w%zz".to_string()));
    }
}
