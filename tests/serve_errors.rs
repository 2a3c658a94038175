//! Every answer the hub itself makes is JSON with an `error` field, including those to requests
//! hyper cannot parse and those of the built-in endpoints. Sent over a raw socket: an HTTP client
//! would refuse to send most of these.

use crate::harness::Hub;
use crate::serve_paths::{raw_get, raw_request};
use std::io::Write;

fn hub() -> Hub {
    let hub = Hub::new();
    hub.manifest(
        r#"
[server]
max_body = "1KB"

[[route]]
method = "POST"
path = "/echo"
script = "echo"
auth = "public"

[[route]]
method = "POST"
path = "/typed"
script = "echo"
auth = "public"
body_schema = "schemas/thing.json"

[[key]]
name = "ops"
token = "ops-token"
scopes = ["admin"]
"#,
    );
    hub.script("echo", "#{ input: input }").file("schemas/thing.json", r#"{"type": "object"}"#);
    hub
}

#[test]
fn requests_hyper_cannot_parse_get_json_errors() {
    let hub = hub();
    let server = hub.serve();
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".to_vec(), 400),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab".to_vec(), 400),
        (b"POST /echo HTTP/1.0\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(), 400),
        (b"GET /echo HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n".to_vec(), 400),
        (b"GET /echo HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(), 400),
        (b"G(T /echo HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 400),
        (format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000)).into_bytes(), 414),
        (format!("GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(1_000_000)).into_bytes(), 431),
        (
            format!(
                "GET /echo HTTP/1.1\r\nHost: x\r\n{}\r\n",
                (0..200).map(|i| format!("X-H{i}: v\r\n")).collect::<String>()
            )
            .into_bytes(),
            431,
        ),
    ];
    for (request, status) in cases {
        let reply = raw_request(&server, &request);
        let shown = String::from_utf8_lossy(&request[..request.len().min(60)]).into_owned();
        assert_eq!(reply.status, status, "{shown}: {reply:?}");
        reply.json_error(status);
    }
    // The connection that carried a good request first still gets JSON for a bad one after it.
    let both = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}GET /echo HTTP/1.1\r\nbad\r\n\r\n";
    let address = server.base.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.write_all(both).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let mut received = Vec::new();
    let _ = std::io::Read::read_to_end(&mut stream, &mut received);
    let text = String::from_utf8_lossy(&received);
    let second = text.find("HTTP/1.1 400").unwrap_or_else(|| panic!("{text}"));
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text[second..].contains("application/json") && text[second..].contains("\"error\""), "{text}");
}

#[test]
fn built_in_paths_answer_405_as_json_with_allow() {
    let hub = hub();
    let server = hub.serve();
    for (method, path) in [("POST", "/_/health"), ("DELETE", "/docs"), ("PUT", "/openapi.json"), ("POST", "/_/runs")] {
        let reply = raw_request(
            &server,
            format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        let body = reply.json_error(405);
        assert!(reply.header("allow").is_some_and(|allow| allow.contains("GET")), "{reply:?}");
        assert!(body["error"].as_str().unwrap().contains("GET"), "{body}");
    }
}

#[test]
fn admin_runs_checks_the_key_before_the_query() {
    let hub = hub();
    let server = hub.serve();
    raw_get(&server, "/_/runs?limit=abc").json_error(401);
    raw_get(&server, "/_/runs/%FF").json_error(401);
    let with_key = |path: &str| {
        raw_request(
            &server,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ops-token\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
    };
    let body = with_key("/_/runs?limit=abc").json_error(400);
    assert!(body["error"].as_str().unwrap().contains("limit"), "{body}");
    with_key("/_/runs/%FF").json_error(400);
    assert_eq!(with_key("/_/runs?limit=2").status, 200);
}

#[test]
fn bodies_too_large_or_broken_get_json_errors() {
    let hub = hub();
    let server = hub.serve();
    let declared = format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n{}",
        "a".repeat(5000)
    );
    raw_request(&server, declared.as_bytes()).json_error(413);
    let chunked = format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n800\r\n{}\r\n0\r\n\r\n",
        "a".repeat(2048)
    );
    raw_request(&server, chunked.as_bytes()).json_error(413);
    let bad_chunk = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n";
    let body = raw_request(&server, bad_chunk).json_error(400);
    assert!(body["error"].as_str().unwrap().contains("body"), "{body}");

    // A body shorter than its Content-Length, the client done sending: not "too large".
    let address = server.base.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{}").unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let mut received = Vec::new();
    let _ = std::io::Read::read_to_end(&mut stream, &mut received);
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("content-type: application/json") && text.contains("\"error\""), "{text}");
}

#[test]
fn a_body_of_another_type_on_a_route_with_a_body_schema_is_415() {
    let hub = hub();
    let server = hub.serve();
    let request = |content_type: &str, body: &str| {
        let head = format!("POST /typed HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n");
        raw_request(
            &server,
            format!("{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes(),
        )
    };
    let body = request("text/csv", "a,b\n1,2\n").json_error(415);
    assert!(body["error"].as_str().unwrap().contains("application/json"), "{body}");
    assert_eq!(request("application/json", "{}").status, 200);
}
