//! Path parameters: percent-decoded once, `.`/`..`/`/`/NUL segments refused unless the route asks
//! for the raw path. Requests go over a raw TcpStream: reqwest would normalise `..` away.

use crate::harness::{Hub, Server};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::time::Duration;

/// A response read off the wire.
#[derive(Debug)]
pub struct RawReply {
    pub status: u16,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawReply {
    /// A header's value, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Asserts a JSON error answer (`application/json` with an `error` field) of `status`.
    pub fn json_error(&self, status: u16) -> Value {
        let text = String::from_utf8_lossy(&self.body);
        assert_eq!(self.status, status, "{self:?}\n{text}");
        assert_eq!(self.header("content-type"), Some("application/json"), "{self:?}\n{text}");
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"));
        assert!(body["error"].as_str().is_some_and(|error| !error.is_empty()), "no `error` field: {body}");
        body
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        let text = String::from_utf8_lossy(&self.body);
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
    }
}

/// Sends `request` as is and reads the answer until the server closes the connection (or the
/// body it announced is complete).
pub fn raw_request(server: &Server, request: &[u8]) -> RawReply {
    let address = server.base.strip_prefix("http://").expect("http base");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    // The server may answer and close before reading a long request whole.
    let _ = stream.write_all(request);
    let mut received = Vec::new();
    let mut buffer = [0u8; 65536];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
        }
        if let Some(reply) = parse(&received)
            && reply.header("content-length").and_then(|v| v.parse::<usize>().ok()) == Some(reply.body.len())
        {
            return reply;
        }
    }
    parse(&received).unwrap_or_else(|| panic!("no HTTP answer: {:?}", String::from_utf8_lossy(&received)))
}

fn parse(bytes: &[u8]) -> Option<RawReply> {
    let end = bytes.windows(4).position(|window| window == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    Some(RawReply { status, headers, body: bytes[end + 4..].to_vec() })
}

/// `GET path` with `Connection: close`.
pub fn raw_get(server: &Server, path: &str) -> RawReply {
    raw_request(server, format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes())
}

fn hub() -> Hub {
    let hub = Hub::new();
    hub.manifest(
        r#"
[[route]]
method = "GET"
path = "/files/:name"
script = "echo"
auth = "public"

[[route]]
method = "GET"
path = "/rest/*path"
script = "echo"
auth = "public"

[[route]]
method = "GET"
path = "/raw/*path"
script = "echo"
auth = "public"
raw_path = true

[[route]]
method = "GET"
path = "/private/:name"
script = "echo"

[[route]]
method = "GET"
path = "/items/{id}/{kind}"
script = "echo"
auth = "public"
params = { id = { type = "integer" }, kind = { enum = ["a", "b"] } }
"#,
    );
    hub.script("echo", "#{ input: input, params: event.params, path: event.path }");
    hub
}

#[test]
fn path_parameters_are_percent_decoded_once() {
    let hub = hub();
    let server = hub.serve();
    let reply = raw_get(&server, "/files/caf%C3%A9");
    assert_eq!(reply.status, 200, "{reply:?}");
    let body = reply.json();
    assert_eq!(body["input"], json!({"name": "café"}));
    assert_eq!(body["params"], json!({"name": "café"}));
    assert_eq!(body["path"], "/files/caf%C3%A9", "event.path is the path as requested");
    assert_eq!(raw_get(&server, "/files/a%20b%2520c").json()["input"]["name"], "a b%20c", "decoded once only");
    let rest = raw_get(&server, "/rest/docs/caf%C3%A9/notes.txt");
    assert_eq!(rest.json()["input"]["path"], "docs/café/notes.txt");
}

#[test]
fn dot_segments_slashes_and_nul_in_parameters_are_400() {
    let hub = hub();
    let server = hub.serve();
    for path in [
        "/files/..",
        "/files/.",
        "/files/%2E%2E",
        "/files/%2e",
        "/files/a%2Fb",
        "/files/..%2Fetc",
        "/files/a%00b",
        "/files/%FF",
        "/files/100%",
        "/files/%zz",
        "/rest/../../etc/passwd",
        "/rest/a/./b",
        "/rest/a/%2e%2E/b",
        "/rest/a/b%2Fc",
        "/rest/a/b/..",
        "/rest/x%00",
    ] {
        let body = raw_get(&server, path).json_error(400);
        let field = if path.starts_with("/files") { "name" } else { "path" };
        assert_eq!(body["details"][0]["field"], field, "{path}: {body}");
    }
    assert!(!server.stderr().contains("/etc/passwd\" ok"), "no run for a refused path");
}

#[test]
fn a_refused_parameter_on_a_private_route_still_needs_a_key_first() {
    let hub = hub();
    let server = hub.serve();
    raw_get(&server, "/private/..").json_error(401);
}

#[test]
fn raw_path_routes_get_the_parameters_as_requested() {
    let hub = hub();
    let server = hub.serve();
    let reply = raw_get(&server, "/raw/../a%2Fb/caf%C3%A9");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["input"]["path"], "../a%2Fb/caf%C3%A9");
}

#[test]
fn check_refuses_raw_path_on_a_route_without_parameters() {
    let hub = Hub::new();
    hub.manifest("[[route]]\nmethod = \"GET\"\npath = \"/plain\"\nscript = \"x\"\nraw_path = true\n").script("x", "1");
    hub.cmd(&["check"]).output().fails_with(2, &["route[0].raw_path", "no path parameters"]);
    hub.manifest("[[route]]\nmethod = \"GET\"\npath = \"/p/:a\"\nscript = \"x\"\nraw_path = \"yes\"\n");
    hub.cmd(&["check"]).output().fails_with(2, &["raw_path"]);
}

#[test]
fn declared_path_parameters_are_converted_and_checked() {
    let hub = hub();
    let server = hub.serve();
    let reply = raw_get(&server, "/items/42/a");
    assert_eq!(reply.json()["input"], json!({"id": 42, "kind": "a"}), "{reply:?}");
    assert_eq!(reply.json()["params"], json!({"id": "42", "kind": "a"}), "event.params stay text");
    for (path, field) in [
        ("/items/abc/a", "id"),
        ("/items/1.5/a", "id"),
        ("/items/99999999999999999999/a", "id"),
        ("/items/1/c", "kind"),
    ] {
        let body = raw_get(&server, path).json_error(400);
        assert_eq!(body["details"][0]["field"], field, "{path}: {body}");
    }
    let document: Value = serde_json::from_str(&server.get("/openapi.json", &[]).text).unwrap();
    let id = &document["paths"]["/items/{id}/{kind}"]["get"]["parameters"][0];
    assert_eq!(id["schema"], json!({"type": "integer", "format": "int64"}), "{id}");
}

#[test]
fn check_refuses_params_that_are_not_in_the_path() {
    let hub = Hub::new();
    hub.manifest(
        "[[route]]\nmethod = \"GET\"\npath = \"/p/:a\"\nscript = \"x\"\nparams = { b = { type = \"integer\" } }\n",
    )
    .script("x", "1");
    hub.cmd(&["check"]).output().fails_with(2, &["route[0].params.b", "no path parameter `b`"]);
}
