//! The `HttpClient` scripts get for a named connection (`http::connection("name")`): requests
//! under its base URL, sent through the exchange with the connection's settings.

use super::endpoint::Endpoint;
use super::{Sender, exchange, parse_method};
use crate::stdlib::Result;
use reqwest::Method;
use rhai::{Dynamic, Map};
use std::sync::Arc;

/// A named connection as scripts see it: `http::connection("name")`.
#[derive(Clone)]
pub struct HttpClient {
    sender: Sender,
    endpoint: Arc<Endpoint>,
}

impl HttpClient {
    pub(super) fn new(sender: Sender, endpoint: Arc<Endpoint>) -> Self {
        Self { sender, endpoint }
    }

    /// The connection's name in the manifest.
    pub(super) fn name(&self) -> &str {
        &self.endpoint.name
    }

    fn send(&self, function: &str, method: Method, path: &str, opts: Dynamic) -> Result<Map> {
        let url = self.endpoint.url(function, path)?;
        exchange::send(&self.sender, function, method, url, Some(&self.endpoint), opts)
    }

    /// GET a path under the connection's base URL; same options and result as `http::get`.
    /// With `retry` on the connection, failed GETs are tried again; `#{ retry: false }` opts out.
    ///
    /// ```rhai
    /// let api = http::connection("github");
    /// api.get("/repos/rhaiscript/rhai").json.stargazers_count
    /// ```
    pub fn get(&mut self, path: &str, opts: Dynamic) -> Result<Map> {
        self.send("http.get", Method::GET, path, opts)
    }

    /// POST to a path under the connection's base URL. POST is not retried unless the
    /// connection's `retry.methods` lists it or the call passes `retry: true`.
    ///
    /// ```rhai
    /// let hooks = http::connection("slack");
    /// hooks.post("/services/T000/B000", #{ json: #{ text: "deploy finished" } });
    /// hooks.post("/services/T000/B000", #{ json: #{ text: "safe to repeat" }, retry: true });
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
