//! `http`: requests to URLs and to the named `type = "http"` connections of the manifest
//! (reqwest's async client on the snapshot's runtime, rustls).

use super::{Capabilities, Result, def, error, wait};
use crate::config::{ConfigError, Connection, HttpConnection, Manifest};
use crate::engine::{context, convert};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, Method, StatusCode, Url};
use rhai::{Blob, Dynamic, Engine, Map, Module};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::runtime::Handle;

/// Time a request may take when neither the call nor its connection says (capped by the run's
/// deadline).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest response body read; a run holds the whole body in memory.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// The keys an options map may have.
const OPTIONS: [&str; 6] = ["query", "headers", "json", "form", "body", "timeout"];

/// The HTTP client and named HTTP connections of one snapshot.
pub struct HttpCapability {
    /// Built on first use: loading the platform's root certificates is wasted on `check`.
    client: OnceLock<std::result::Result<Client, String>>,
    connections: BTreeMap<String, Arc<Endpoint>>,
}

impl HttpCapability {
    /// Reads the `type = "http"` connections of the manifest; bad header names or values are
    /// reported against their key.
    pub fn new(manifest: &Manifest, file: &Path) -> std::result::Result<Self, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut connections = BTreeMap::new();
        for (name, connection) in &manifest.connections {
            let Connection::Http(http) = connection else { continue };
            let mut report = |key: String, message: String| {
                errors.push(ConfigError::key(file, format!("connections.{name}.{key}"), message));
            };
            if let Some(endpoint) = Endpoint::new(name, http, &mut report) {
                connections.insert(name.clone(), Arc::new(endpoint));
            }
        }
        if errors.is_empty() { Ok(Self { client: OnceLock::new(), connections }) } else { Err(errors) }
    }

    fn sender(&self, runtime: &Handle, function: &str) -> Result<Sender> {
        let client = self.client.get_or_init(|| {
            Client::builder()
                .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|err| format!("cannot start the HTTP client: {err}"))
        });
        match client {
            Ok(client) => Ok(Sender { client: client.clone(), runtime: runtime.clone() }),
            Err(message) => Err(error(function, message)),
        }
    }
}

/// One named connection: where its paths go and what every request through it carries.
struct Endpoint {
    name: String,
    /// The base URL without query or trailing slash, so that paths join with one `/`.
    base: String,
    headers: HeaderMap,
    /// The connection's `query` table plus any query written into `base_url`.
    query: Vec<(String, String)>,
    timeout: Option<Duration>,
}

impl Endpoint {
    fn new(name: &str, http: &HttpConnection, report: &mut impl FnMut(String, String)) -> Option<Self> {
        let mut valid = true;
        let mut base = match Url::parse(http.base_url.as_str()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url),
            Ok(url) => {
                report(
                    "base_url".into(),
                    format!("`{}:` URLs are not supported; use http:// or https://", url.scheme()),
                );
                None
            }
            Err(err) => {
                report("base_url".into(), format!("not a URL ({err})"));
                None
            }
        };
        let mut headers = HeaderMap::new();
        for (header, value) in &http.headers {
            let key = format!("headers.{header}");
            match (HeaderName::from_bytes(header.as_bytes()), HeaderValue::from_str(value.as_str())) {
                (Ok(header), Ok(mut value)) => {
                    // Connection headers usually carry credentials: keep them out of HPACK tables.
                    value.set_sensitive(true);
                    headers.insert(header, value);
                }
                (Err(_), _) => {
                    report(key, format!("`{header}` is not a valid header name"));
                    valid = false;
                }
                (_, Err(_)) => {
                    // The value is not quoted: it is often a secret.
                    report(key, "not a valid header value (only visible ASCII and spaces, no line breaks)".into());
                    valid = false;
                }
            }
        }
        let mut query: Vec<(String, String)> = Vec::new();
        if let Some(url) = base.as_mut() {
            query.extend(url.query_pairs().map(|(key, value)| (key.into_owned(), value.into_owned())));
            url.set_query(None);
            url.set_fragment(None);
        }
        query.extend(http.query.iter().map(|(key, value)| (key.clone(), value.as_str().to_string())));
        let base = base.filter(|_| valid)?;
        Some(Self {
            name: name.to_string(),
            base: base.as_str().trim_end_matches('/').to_string(),
            headers,
            query,
            timeout: http.timeout.map(|timeout| timeout.0),
        })
    }

    /// `base_url` joined with `path` by exactly one slash.
    fn url(&self, function: &str, path: &str) -> Result<Url> {
        let before_query = path.split(['?', '#']).next().unwrap_or_default();
        if before_query.contains("://") {
            return Err(error(
                function,
                format!(
                    "`{path}` is a full URL; connection `{}` takes a path under its base_url (use http::get and friends for other URLs)",
                    self.name
                ),
            ));
        }
        let joined = match path.trim_start_matches('/') {
            "" => self.base.clone(),
            rest if rest.starts_with(['?', '#']) => format!("{}{rest}", self.base),
            rest => format!("{}/{rest}", self.base),
        };
        Url::parse(&joined).map_err(|err| error(function, format!("`{path}` does not make a URL ({err})")))
    }
}

/// What sends a request: the shared client and the runtime that drives it.
#[derive(Clone)]
struct Sender {
    client: Client,
    runtime: Handle,
}

/// A named connection as scripts see it: `http::connection("name")`.
#[derive(Clone)]
pub struct HttpClient {
    sender: Sender,
    endpoint: Arc<Endpoint>,
}

/// What an options map asked for.
#[derive(Default)]
struct Options {
    query: Vec<(String, String)>,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The bytes to send and the content type used unless a header sets one.
    body: Option<(Vec<u8>, &'static str)>,
    timeout: Option<Duration>,
}

impl Options {
    fn read(function: &str, opts: Dynamic) -> Result<Self> {
        let mut options = Self::default();
        if opts.is_unit() {
            return Ok(options);
        }
        let kind = opts.type_name();
        let Some(map) = opts.try_cast::<Map>() else {
            return Err(error(
                function,
                format!("options must be a map such as #{{ query: #{{ q: \"rust\" }} }}, not {kind}"),
            ));
        };
        for (key, value) in map {
            match key.as_str() {
                "query" => options.query = pairs(function, "query", value)?,
                "headers" => {
                    for (name, text) in pairs(function, "headers", value)? {
                        let name = HeaderName::from_bytes(name.as_bytes())
                            .map_err(|_| error(function, format!("`{name}` is not a valid header name")))?;
                        let value = HeaderValue::from_str(&text).map_err(|_| {
                            error(
                                function,
                                format!("header `{name}` has an invalid value (visible ASCII and spaces only)"),
                            )
                        })?;
                        options.headers.push((name, value));
                    }
                }
                "json" => {
                    let json = convert::to_json(&value).map_err(|err| error(function, format!("`json`: {err}")))?;
                    let bytes = serde_json::to_vec(&json).map_err(|err| error(function, format!("`json`: {err}")))?;
                    options.set_body(function, bytes, "application/json")?;
                }
                "form" => {
                    let fields = pairs(function, "form", value)?;
                    let text = serde_urlencoded::to_string(&fields)
                        .map_err(|err| error(function, format!("`form`: {err}")))?;
                    options.set_body(function, text.into_bytes(), "application/x-www-form-urlencoded")?;
                }
                "body" => {
                    if value.is_blob() {
                        options.set_body(function, value.cast::<Blob>(), "application/octet-stream")?;
                    } else if value.is_string() {
                        let text = value.into_string().unwrap_or_default();
                        options.set_body(function, text.into_bytes(), "text/plain; charset=utf-8")?;
                    } else {
                        let kind = value.type_name();
                        return Err(error(function, format!("`body` must be a string or a blob, not {kind}")));
                    }
                }
                "timeout" => options.timeout = Some(timeout(function, &value)?),
                other => {
                    let hint = crate::config::closest(other, OPTIONS)
                        .map(|best| format!(" (did you mean `{best}`?)"))
                        .unwrap_or_default();
                    return Err(error(
                        function,
                        format!("unknown option `{other}`{hint}; expected one of {}", OPTIONS.join(", ")),
                    ));
                }
            }
        }
        Ok(options)
    }

    fn set_body(&mut self, function: &str, bytes: Vec<u8>, content_type: &'static str) -> Result<()> {
        if self.body.is_some() {
            return Err(error(function, "give only one of `json`, `form` and `body`"));
        }
        self.body = Some((bytes, content_type));
        Ok(())
    }
}

/// The name/value pairs of a map option; `()` values are left out and arrays repeat the name.
fn pairs(function: &str, option: &str, value: Dynamic) -> Result<Vec<(String, String)>> {
    let kind = value.type_name();
    let Some(map) = value.try_cast::<Map>() else {
        return Err(error(function, format!("`{option}` must be a map, not {kind}")));
    };
    let mut out = Vec::with_capacity(map.len());
    for (name, value) in map {
        if value.is_array() {
            out.extend(value.cast::<rhai::Array>().iter().map(|item| (name.to_string(), convert::to_text(item))));
        } else if !value.is_unit() {
            out.push((name.to_string(), convert::to_text(&value)));
        }
    }
    Ok(out)
}

/// A timeout given as milliseconds or as text such as `"10s"`.
fn timeout(function: &str, value: &Dynamic) -> Result<Duration> {
    if let Ok(millis) = value.as_int() {
        return u64::try_from(millis)
            .map(Duration::from_millis)
            .map_err(|_| error(function, format!("`timeout` cannot be negative ({millis})")));
    }
    if value.is_string() {
        let text = value.clone().into_string().unwrap_or_default();
        return humantime::parse_duration(text.trim())
            .map_err(|err| error(function, format!("`timeout`: invalid duration `{text}` ({err}); e.g. \"10s\"")));
    }
    Err(error(function, format!("`timeout` must be milliseconds or text such as \"10s\", not {}", value.type_name())))
}

/// Why a request produced no response.
enum Failure {
    Http(reqwest::Error),
    TooLarge,
}

impl From<reqwest::Error> for Failure {
    fn from(err: reqwest::Error) -> Self {
        Failure::Http(err.without_url())
    }
}

/// Sends one request and reads the whole response into a result map.
fn send(
    sender: &Sender,
    function: &str,
    method: Method,
    mut url: Url,
    endpoint: Option<&Endpoint>,
    opts: Dynamic,
) -> Result<Map> {
    let options = Options::read(function, opts)?;

    // Query parameters of the call replace the connection's parameters of the same name.
    let mut query: Vec<(String, String)> = endpoint
        .map(|endpoint| {
            let overridden = |key: &String| options.query.iter().any(|(name, _)| name == key);
            endpoint.query.iter().filter(|(key, _)| !overridden(key)).cloned().collect()
        })
        .unwrap_or_default();
    query.extend(options.query);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(&query);
    }

    // Headers of the call replace the connection's headers of the same name; an array value
    // sends the header once per item.
    let mut headers = endpoint.map(|endpoint| endpoint.headers.clone()).unwrap_or_default();
    for (name, _) in &options.headers {
        headers.remove(name);
    }
    for (name, value) in options.headers {
        headers.append(name, value);
    }
    let body = options.body.map(|(bytes, content_type)| {
        if !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        bytes
    });

    let wanted = options.timeout.or(endpoint.and_then(|endpoint| endpoint.timeout)).unwrap_or(DEFAULT_TIMEOUT);
    let left = context::remaining().unwrap_or(Duration::MAX);
    let timeout = wanted.min(left);

    let what = match endpoint {
        Some(endpoint) => format!("{method} {} (connection `{}`)", shown(&url), endpoint.name),
        None => format!("{method} {}", shown(&url)),
    };
    let client = sender.client.clone();
    let exchange = async move {
        let mut request = client.request(method, url).headers(headers).timeout(timeout);
        if let Some(body) = body {
            request = request.body(body);
        }
        let mut response = request.send().await?;
        if response.content_length().is_some_and(|length| length > MAX_BODY as u64) {
            return Err(Failure::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(Failure::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok((response.status(), response.headers().clone(), body))
    };
    match wait(&sender.runtime, exchange) {
        Ok((status, headers, body)) => Ok(response_map(status, &headers, &body)),
        Err(Failure::TooLarge) => Err(error(
            function,
            format!("{what}: the response body is larger than {} MiB, the most a script may read", MAX_BODY >> 20),
        )),
        Err(Failure::Http(err)) if err.is_timeout() => {
            let cause = if left < wanted { " (the run's deadline)" } else { "" };
            // Whole milliseconds: a deadline-capped timeout would otherwise print down to nanoseconds.
            let after = Duration::from_millis(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
            Err(error(function, format!("{what}: timed out after {}{cause}", humantime::format_duration(after))))
        }
        Err(Failure::Http(err)) => Err(error(function, format!("{what}: {}", describe(&err)))),
    }
}

/// `#{status, ok, headers, text, json}`.
fn response_map(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Map {
    let mut names = Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        match names.get_mut(name.as_str()) {
            // Repeated headers are joined as HTTP allows (RFC 9110 section 5.3).
            Some(existing) => *existing = format!("{existing}, {value}").into(),
            None => {
                names.insert(name.as_str().into(), value.into_owned().into());
            }
        }
    }
    let json =
        serde_json::from_slice::<serde_json::Value>(body).map_or(Dynamic::UNIT, |json| convert::to_dynamic(&json));
    let mut map = Map::new();
    map.insert("status".into(), i64::from(status.as_u16()).into());
    map.insert("ok".into(), status.is_success().into());
    map.insert("headers".into(), names.into());
    map.insert("text".into(), String::from_utf8_lossy(body).into_owned().into());
    map.insert("json".into(), json);
    map
}

/// The URL as shown in errors: without credentials, query or fragment, which may hold secrets.
fn shown(url: &Url) -> String {
    let mut shown = url.clone();
    // Only URLs that cannot have credentials refuse these, and they have none to hide.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// A reqwest error with its causes, which hold the useful part ("Connection refused").
fn describe(err: &reqwest::Error) -> String {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    if err.is_connect() {
        let reason = causes.last().map_or_else(|| err.to_string(), Clone::clone);
        return format!("cannot connect ({reason})");
    }
    std::iter::once(err.to_string()).chain(causes).collect::<Vec<_>>().join(": ")
}

fn parse_url(function: &str, url: &str) -> Result<Url> {
    let parsed = Url::parse(url).map_err(|err| error(function, format!("`{url}` is not a URL ({err})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(error(function, format!("`{}:` URLs are not supported; use http:// or https://", parsed.scheme())));
    }
    Ok(parsed)
}

fn parse_method(function: &str, method: &str) -> Result<Method> {
    Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| error(function, format!("`{method}` is not an HTTP method")))
}

fn to_url(capabilities: &Capabilities, function: &str, method: Method, url: &str, opts: Dynamic) -> Result<Map> {
    let sender = capabilities.http.sender(&capabilities.runtime, function)?;
    let url = parse_url(function, url)?;
    send(&sender, function, method, url, None, opts)
}

/// Builds the `http` module.
pub fn module(capabilities: &Arc<Capabilities>) -> Module {
    let mut module = Module::new();
    let caps = Arc::clone(capabilities);
    def!(&mut module, "get", move |url: &str| get(&caps, url, Dynamic::UNIT));
    let caps = Arc::clone(capabilities);
    def!(&mut module, "get", move |url: &str, opts: Dynamic| get(&caps, url, opts));
    let caps = Arc::clone(capabilities);
    def!(&mut module, "post", move |url: &str| post(&caps, url, Dynamic::UNIT));
    let caps = Arc::clone(capabilities);
    def!(&mut module, "post", move |url: &str, opts: Dynamic| post(&caps, url, opts));
    let caps = Arc::clone(capabilities);
    def!(&mut module, "put", move |url: &str| put(&caps, url, Dynamic::UNIT));
    let caps = Arc::clone(capabilities);
    def!(&mut module, "put", move |url: &str, opts: Dynamic| put(&caps, url, opts));
    let caps = Arc::clone(capabilities);
    def!(&mut module, "patch", move |url: &str| patch(&caps, url, Dynamic::UNIT));
    let caps = Arc::clone(capabilities);
    def!(&mut module, "patch", move |url: &str, opts: Dynamic| patch(&caps, url, opts));
    let caps = Arc::clone(capabilities);
    def!(&mut module, "delete", move |url: &str| delete(&caps, url, Dynamic::UNIT));
    let caps = Arc::clone(capabilities);
    def!(&mut module, "delete", move |url: &str, opts: Dynamic| delete(&caps, url, opts));
    let caps = Arc::clone(capabilities);
    def!(&mut module, "request", move |method: &str, url: &str| request(&caps, method, url, Dynamic::UNIT));
    let caps = Arc::clone(capabilities);
    def!(&mut module, "request", move |method: &str, url: &str, opts: Dynamic| request(&caps, method, url, opts));
    let caps = Arc::clone(capabilities);
    def!(&mut module, "connection", move |name: &str| connection(&caps, name));
    module
}

/// Registers the `HttpClient` type returned by `http::connection` and its methods.
pub fn register_type(engine: &mut Engine) {
    engine
        .register_type_with_name::<HttpClient>("HttpClient")
        .register_fn("get", |client: &mut HttpClient, path: &str| client.get(path, Dynamic::UNIT))
        .register_fn("get", HttpClient::get)
        .register_fn("post", |client: &mut HttpClient, path: &str| client.post(path, Dynamic::UNIT))
        .register_fn("post", HttpClient::post)
        .register_fn("put", |client: &mut HttpClient, path: &str| client.put(path, Dynamic::UNIT))
        .register_fn("put", HttpClient::put)
        .register_fn("patch", |client: &mut HttpClient, path: &str| client.patch(path, Dynamic::UNIT))
        .register_fn("patch", HttpClient::patch)
        .register_fn("delete", |client: &mut HttpClient, path: &str| client.delete(path, Dynamic::UNIT))
        .register_fn("delete", HttpClient::delete)
        .register_fn("request", |client: &mut HttpClient, method: &str, path: &str| {
            client.request(method, path, Dynamic::UNIT)
        })
        .register_fn("request", HttpClient::request)
        .register_fn("to_string", |client: &mut HttpClient| format!("HttpClient({})", client.endpoint.name))
        .register_fn("to_debug", |client: &mut HttpClient| format!("HttpClient({})", client.endpoint.name));
}

/// Sends a GET request. The result is `#{status, ok, headers, text, json}`: `headers` has
/// lower-case names, `json` is the parsed body or `()` when the body is not JSON. Statuses
/// such as 404 are returned, not thrown; connection failures and timeouts throw. Options:
/// `query` (map), `headers` (map), `json` (any value), `form` (map), `body` (string or blob),
/// `timeout` (milliseconds or text such as `"10s"`; 30 s by default).
///
/// ```rhai
/// let res = http::get("https://api.example.com/items", #{ query: #{ page: 2 }, timeout: "10s" });
/// if !res.ok { fail(502, `upstream said ${res.status}`) }
/// res.json
/// ```
pub fn get(capabilities: &Capabilities, url: &str, opts: Dynamic) -> Result<Map> {
    to_url(capabilities, "http.get", Method::GET, url, opts)
}

/// Sends a POST request; `json`, `form` or `body` in the options is the request body.
///
/// ```rhai
/// let res = http::post("https://api.example.com/items", #{ json: #{ title: "milk" } });
/// res.status    // 201
/// ```
pub fn post(capabilities: &Capabilities, url: &str, opts: Dynamic) -> Result<Map> {
    to_url(capabilities, "http.post", Method::POST, url, opts)
}

/// Sends a PUT request.
///
/// ```rhai
/// http::put("https://api.example.com/items/7", #{ json: #{ title: "oat milk" } });
/// ```
pub fn put(capabilities: &Capabilities, url: &str, opts: Dynamic) -> Result<Map> {
    to_url(capabilities, "http.put", Method::PUT, url, opts)
}

/// Sends a PATCH request.
///
/// ```rhai
/// http::patch("https://api.example.com/items/7", #{ json: #{ done: true } });
/// ```
pub fn patch(capabilities: &Capabilities, url: &str, opts: Dynamic) -> Result<Map> {
    to_url(capabilities, "http.patch", Method::PATCH, url, opts)
}

/// Sends a DELETE request.
///
/// ```rhai
/// let res = http::delete("https://api.example.com/items/7");
/// res.ok
/// ```
pub fn delete(capabilities: &Capabilities, url: &str, opts: Dynamic) -> Result<Map> {
    to_url(capabilities, "http.delete", Method::DELETE, url, opts)
}

/// Sends a request with any method (case-insensitive), e.g. `"HEAD"` or `"OPTIONS"`.
///
/// ```rhai
/// let res = http::request("HEAD", "https://example.com/", #{ timeout: 2000 });
/// res.headers["content-type"]
/// ```
pub fn request(capabilities: &Capabilities, method: &str, url: &str, opts: Dynamic) -> Result<Map> {
    let method = parse_method("http.request", method)?;
    to_url(capabilities, "http.request", method, url, opts)
}

/// The HTTP connection named in `[connections]`: a client whose methods (`get`, `post`, `put`,
/// `patch`, `delete`, `request`) take paths under its `base_url` and add its `headers` and
/// `query`; options given to a call override them.
///
/// ```rhai
/// let weather = http::connection("weather");
/// weather.get("/weather", #{ query: #{ q: "London" } }).json
/// ```
pub fn connection(capabilities: &Capabilities, name: &str) -> Result<HttpClient> {
    let endpoint = capabilities.http.connections.get(name).ok_or_else(|| {
        let known: Vec<&str> = capabilities.http.connections.keys().map(String::as_str).collect();
        let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
        error("http.connection", format!("no http connection `{name}` (known: {known})"))
    })?;
    let sender = capabilities.http.sender(&capabilities.runtime, "http.connection")?;
    Ok(HttpClient { sender, endpoint: Arc::clone(endpoint) })
}

impl HttpClient {
    fn send(&self, function: &str, method: Method, path: &str, opts: Dynamic) -> Result<Map> {
        let url = self.endpoint.url(function, path)?;
        send(&self.sender, function, method, url, Some(&self.endpoint), opts)
    }

    /// GET a path under the connection's base URL; same options and result as `http::get`.
    ///
    /// ```rhai
    /// let api = http::connection("github");
    /// api.get("/repos/rhaiscript/rhai").json.stargazers_count
    /// ```
    pub fn get(&mut self, path: &str, opts: Dynamic) -> Result<Map> {
        self.send("http.get", Method::GET, path, opts)
    }

    /// POST to a path under the connection's base URL.
    ///
    /// ```rhai
    /// let hooks = http::connection("slack");
    /// hooks.post("/services/T000/B000", #{ json: #{ text: "deploy finished" } });
    /// ```
    pub fn post(&mut self, path: &str, opts: Dynamic) -> Result<Map> {
        self.send("http.post", Method::POST, path, opts)
    }

    /// PUT to a path under the connection's base URL.
    ///
    /// ```rhai
    /// http::connection("api").put("/items/7", #{ json: #{ title: "oat milk" } });
    /// ```
    pub fn put(&mut self, path: &str, opts: Dynamic) -> Result<Map> {
        self.send("http.put", Method::PUT, path, opts)
    }

    /// PATCH a path under the connection's base URL.
    ///
    /// ```rhai
    /// http::connection("api").patch("/items/7", #{ json: #{ done: true } });
    /// ```
    pub fn patch(&mut self, path: &str, opts: Dynamic) -> Result<Map> {
        self.send("http.patch", Method::PATCH, path, opts)
    }

    /// DELETE a path under the connection's base URL.
    ///
    /// ```rhai
    /// http::connection("api").delete("/items/7").status    // 204
    /// ```
    pub fn delete(&mut self, path: &str, opts: Dynamic) -> Result<Map> {
        self.send("http.delete", Method::DELETE, path, opts)
    }

    /// Sends any method to a path under the connection's base URL.
    ///
    /// ```rhai
    /// http::connection("api").request("OPTIONS", "/items", #{}).headers["allow"]
    /// ```
    pub fn request(&mut self, method: &str, path: &str, opts: Dynamic) -> Result<Map> {
        let method = parse_method("http.request", method)?;
        self.send("http.request", method, path, opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Text;

    fn endpoint(base: &str) -> Endpoint {
        let http = HttpConnection {
            base_url: Text(base.to_string()),
            headers: BTreeMap::new(),
            query: BTreeMap::from([("units".to_string(), Text("metric".to_string()))]),
            timeout: None,
        };
        Endpoint::new("api", &http, &mut |key, message| panic!("{key}: {message}")).expect("valid")
    }

    #[test]
    fn paths_join_the_base_url_with_one_slash() {
        let api = endpoint("http://h/data/2.5/");
        assert_eq!(api.url("t", "/weather").expect("url").as_str(), "http://h/data/2.5/weather");
        assert_eq!(api.url("t", "weather?q=x").expect("url").as_str(), "http://h/data/2.5/weather?q=x");
        assert_eq!(api.url("t", "").expect("url").as_str(), "http://h/data/2.5");
        assert!(api.url("t", "https://elsewhere/x").is_err());
    }

    #[test]
    fn base_url_query_joins_the_connection_query() {
        let api = endpoint("https://h/api?key=abc");
        assert_eq!(api.base, "https://h/api");
        assert_eq!(api.query, vec![("key".into(), "abc".into()), ("units".into(), "metric".into())]);
    }

    #[test]
    fn bad_header_values_are_reported_without_the_value() {
        let http = HttpConnection {
            base_url: Text("http://h".into()),
            headers: BTreeMap::from([("Authorization".into(), Text("Bearer s3cret\n".into()))]),
            query: BTreeMap::new(),
            timeout: None,
        };
        let mut reported = Vec::new();
        assert!(Endpoint::new("api", &http, &mut |key, message| reported.push(format!("{key}: {message}"))).is_none());
        assert_eq!(reported.len(), 1);
        assert!(reported[0].starts_with("headers.Authorization: "), "{}", reported[0]);
        assert!(!reported[0].contains("s3cret"));
    }

    #[test]
    fn shown_urls_hide_credentials_and_query() {
        let url = Url::parse("https://user:pw@h/x?key=secret#frag").expect("url");
        assert_eq!(shown(&url), "https://h/x");
    }
}
