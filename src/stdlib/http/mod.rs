//! `http`: requests to URLs and to the named `type = "http"` connections of the manifest
//! (reqwest's async client on the snapshot's runtime, rustls), with per-connection retries and
//! circuit breakers.
//!
//! The script-visible functions live here; `client` holds connections, `options` reads the
//! options map, `exchange` sends a request (attempts, retries, circuit), `retry` and `circuit`
//! hold the rules, `response` turns what came back into script values.

mod client;
mod endpoint;
mod exchange;
mod options;
mod response;
mod retry;

pub use client::HttpClient;

use super::{Capabilities, Result, def_with, error};
use crate::config::{ConfigError, Connection, Manifest};
use crate::metrics::Metrics;
use endpoint::Endpoint;
use reqwest::{Client, Method, Url};
use rhai::{Dynamic, Engine, Map, Module};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use tokio::runtime::Handle;

/// Largest response body read; a run holds the whole body in memory.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The HTTP client and named HTTP connections of one snapshot. A connection's circuit breaker
/// lives in its endpoint here, so every run of the snapshot shares it.
pub struct HttpCapability {
    /// Built on first use: loading the platform's root certificates is wasted on `check`.
    clients: OnceLock<std::result::Result<Clients, String>>,
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
        if errors.is_empty() { Ok(Self { clients: OnceLock::new(), connections }) } else { Err(errors) }
    }

    fn sender(&self, capabilities: &Capabilities, function: &str) -> Result<Sender> {
        let clients = self.clients.get_or_init(|| {
            let client = |redirects: reqwest::redirect::Policy| {
                Client::builder()
                    .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
                    // A Referer would carry the URL (and its query) to wherever a redirect leads.
                    .referer(false)
                    .redirect(redirects)
                    .build()
                    .map_err(|err| format!("cannot start the HTTP client: {err}"))
            };
            Ok(Clients { open: client(reqwest::redirect::Policy::default())?, guarded: client(same_origin())? })
        });
        match clients {
            Ok(clients) => Ok(Sender {
                open: clients.open.clone(),
                guarded: clients.guarded.clone(),
                runtime: capabilities.runtime.clone(),
                metrics: Arc::clone(&capabilities.host.metrics),
            }),
            Err(message) => Err(error(function, message)),
        }
    }
}

/// The two clients of a snapshot, which differ only in the redirects they follow.
struct Clients {
    open: Client,
    guarded: Client,
}

/// Redirects within the origin (scheme, host and port) of the first request, up to 10; a
/// redirect elsewhere is not followed and its 3xx is the answer. A connection's headers, query
/// and credentials, and headers a script set, are meant for the origin they were sent to only
/// (reqwest itself would forward all but `Authorization` and `Cookie`).
fn same_origin() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(Url::origin);
        if first.is_some_and(|first| first != attempt.url().origin()) {
            attempt.stop()
        } else if attempt.previous().len() > 10 {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    })
}

/// What sends a request: the shared clients, the runtime that drives them and the metrics that
/// count retries and circuit states.
#[derive(Clone)]
struct Sender {
    /// Follows every redirect, for a call that carries nothing the hub or the script set.
    open: Client,
    /// Follows redirects within the origin only ([`same_origin`]).
    guarded: Client,
    runtime: Handle,
    metrics: Arc<Metrics>,
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
    let sender = capabilities.http.sender(capabilities, function)?;
    let url = parse_url(function, url)?;
    exchange::send(&sender, function, method, url, None, opts)
}

/// Builds the `http` module.
pub fn module(capabilities: &Arc<Capabilities>) -> Module {
    let mut module = Module::new();
    def_with!(&mut module, capabilities => caps, {
        "get" => move |url: &str| get(&caps, url, Dynamic::UNIT),
        "get" => move |url: &str, opts: Dynamic| get(&caps, url, opts),
        "post" => move |url: &str| post(&caps, url, Dynamic::UNIT),
        "post" => move |url: &str, opts: Dynamic| post(&caps, url, opts),
        "put" => move |url: &str| put(&caps, url, Dynamic::UNIT),
        "put" => move |url: &str, opts: Dynamic| put(&caps, url, opts),
        "patch" => move |url: &str| patch(&caps, url, Dynamic::UNIT),
        "patch" => move |url: &str, opts: Dynamic| patch(&caps, url, opts),
        "delete" => move |url: &str| delete(&caps, url, Dynamic::UNIT),
        "delete" => move |url: &str, opts: Dynamic| delete(&caps, url, opts),
        "request" => move |method: &str, url: &str| request(&caps, method, url, Dynamic::UNIT),
        "request" => move |method: &str, url: &str, opts: Dynamic| request(&caps, method, url, opts),
        "connection" => move |name: &str| connection(&caps, name),
    });
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
        .register_fn("to_string", |client: &mut HttpClient| format!("HttpClient({})", client.name()))
        .register_fn("to_debug", |client: &mut HttpClient| format!("HttpClient({})", client.name()));
}

/// Sends a GET request. The result is `#{status, ok, headers, text, json}`: `headers` has
/// lower-case names, `json` is the parsed body or `()` when the body is not JSON. Statuses
/// such as 404 are returned, not thrown; connection failures and timeouts throw. Options:
/// `query` (map), `headers` (map), `json` (any value), `form` (map), `body` (string or blob),
/// `timeout` (milliseconds or text such as `"10s"`; 30 s by default), `retry` (`true`, `false`
/// or `#{ attempts, backoff, max_backoff }`: retry connect errors, timeouts, 5xx and 429 with
/// backoff; a plain URL is tried once unless the call asks).
///
/// ```rhai
/// let res = http::get("https://api.example.com/items", #{ query: #{ page: 2 }, timeout: "10s" });
/// if !res.ok { fail(502, `upstream said ${res.status}`) }
/// let flaky = http::get("https://api.example.com/flaky", #{ retry: #{ attempts: 4, backoff: "250ms" } });
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
/// `query`; options given to a call override them. Its `retry` and `circuit` settings apply to
/// every call (`retry: false` or `retry: true` in a call's options overrides the methods list).
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
    let sender = capabilities.http.sender(capabilities, "http.connection")?;
    Ok(HttpClient::new(sender, Arc::clone(endpoint)))
}
