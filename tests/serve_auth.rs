//! Keys and scopes, webhook signatures.

use crate::harness::Hub;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;

fn hub() -> Hub {
    let hub = Hub::new();
    hub.manifest(
        r#"
[[route]]
method = "GET"
path = "/open"
script = "who"
auth = "public"

[[route]]
method = "GET"
path = "/any-key"
script = "who"

[[route]]
method = "GET"
path = "/read"
script = "who"
scopes = ["tasks:read"]

[[route]]
method = "POST"
path = "/write"
script = "who"
scopes = ["tasks:read", "tasks:write"]

[[route]]
method = "POST"
path = "/hooks/github"
script = "who"
auth = "public"
verify = { scheme = "hmac-sha256", header = "X-Hub-Signature-256", prefix = "sha256=", secret = "${GH_SECRET}" }

[[route]]
method = "POST"
path = "/hooks/legacy"
script = "who"
auth = "public"
verify = { scheme = "hmac-sha1", header = "X-Hub-Signature", prefix = "sha1=", secret = "${GH_SECRET}" }

[[route]]
method = "POST"
path = "/hooks/stripe"
script = "who"
auth = "public"
verify = { scheme = "stripe", header = "Stripe-Signature", secret = "${GH_SECRET}", tolerance = "5m" }

[[key]]
name = "reader"
token = "${READER_TOKEN}"
scopes = ["tasks:read"]

[[key]]
name = "writer"
token = "writer-token-123"
scopes = ["tasks:read", "tasks:write"]
"#,
    )
    .file(".env", "READER_TOKEN=reader-token-456\nGH_SECRET=webhook-secret\n");
    hub.script("who", "#{ client: event.client }");
    hub
}

#[test]
fn auth_matrix_over_every_route() {
    let hub = hub();
    let server = hub.serve();
    // (path, method, expected status for: no key, wrong key, reader, writer)
    let matrix = [
        ("/open", Method::GET, [200, 200, 200, 200]),
        ("/any-key", Method::GET, [401, 401, 200, 200]),
        ("/read", Method::GET, [401, 401, 200, 200]),
        ("/write", Method::POST, [401, 401, 403, 200]),
    ];
    let keys: [Option<(&str, &str)>; 4] = [
        None,
        Some(("authorization", "Bearer not-a-key-000")),
        Some(("x-api-key", "reader-token-456")),
        Some(("authorization", "Bearer writer-token-123")),
    ];
    for (path, method, expected) in matrix {
        for (key, want) in keys.iter().zip(expected) {
            let headers: Vec<(&str, &str)> = key.iter().copied().collect();
            let reply = server.send(method.clone(), path, &headers, None);
            assert_eq!(reply.status, want, "{method} {path} with {key:?}: {}", reply.text);
            if want == 401 {
                assert_eq!(reply.header("www-authenticate").as_deref(), Some("Bearer realm=\"switchboard\""));
            }
            if want == 403 {
                assert_eq!(reply.json()["missing_scopes"], serde_json::json!(["tasks:write"]));
            }
            // A refused request ran nothing, so it names no run; an answered one names its record.
            let id = reply.header("x-run-id");
            assert_eq!(id.is_some(), want == 200, "{method} {path} with {key:?}: x-run-id {id:?}");
            if let Some(id) = id {
                assert!(crate::harness::wait_until(std::time::Duration::from_secs(10), || {
                    hub.cmd(&["runs", "show", &id, "--json"]).output().code == 0
                }));
            }
        }
    }
}

#[test]
fn scripts_see_the_key_name_never_the_token() {
    let hub = hub();
    let server = hub.serve();
    let reply = server.get("/read", &[("x-api-key", "reader-token-456")]);
    assert_eq!(reply.json(), serde_json::json!({"client": "reader"}));
    let public = server.get("/open", &[("authorization", "Bearer writer-token-123")]);
    assert_eq!(public.json(), serde_json::json!({"client": "writer"}));
    drop(server);
    let hub_logs = hub.cmd(&["check"]).output();
    assert!(!hub_logs.stdout.contains("reader-token-456") && !hub_logs.stderr.contains("reader-token-456"));
}

fn hmac_hex<D: hmac::EagerHash>(secret: &str, data: &[u8]) -> String {
    let mut mac = <Hmac<D> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(data);
    hex::encode(mac.finalize().into_bytes())
}

#[test]
fn github_signatures_right_wrong_and_missing() {
    let hub = hub();
    let server = hub.serve();
    let body = r#"{"ref":"refs/heads/main"}"#;
    let good = format!("sha256={}", hmac_hex::<sha2::Sha256>("webhook-secret", body.as_bytes()));
    let wrong = format!("sha256={}", hmac_hex::<sha2::Sha256>("other-secret", body.as_bytes()));
    let ok = server.send(Method::POST, "/hooks/github", &[("x-hub-signature-256", &good)], Some(body));
    assert_eq!(ok.status, 200, "{}", ok.text);
    let bad = server.send(Method::POST, "/hooks/github", &[("x-hub-signature-256", &wrong)], Some(body));
    assert_eq!(bad.status, 401);
    assert_eq!(bad.json()["error"], "signature does not match the body");
    let tampered = server.send(Method::POST, "/hooks/github", &[("x-hub-signature-256", &good)], Some("{}"));
    assert_eq!(tampered.status, 401);
    let missing = server.send(Method::POST, "/hooks/github", &[], Some(body));
    assert_eq!(missing.status, 401);
    assert!(missing.json()["error"].as_str().unwrap().contains("missing signature header"));
    let legacy = format!("sha1={}", hmac_hex::<sha1::Sha1>("webhook-secret", body.as_bytes()));
    assert_eq!(server.send(Method::POST, "/hooks/legacy", &[("x-hub-signature", &legacy)], Some(body)).status, 200);
}

#[test]
fn stripe_signatures_check_the_timestamp_window() {
    let hub = hub();
    let server = hub.serve();
    let body = r#"{"type":"charge.succeeded"}"#;
    let sign =
        |t: i64| format!("t={t},v1={}", hmac_hex::<sha2::Sha256>("webhook-secret", format!("{t}.{body}").as_bytes()));
    let now = chrono::Utc::now().timestamp();
    assert_eq!(server.send(Method::POST, "/hooks/stripe", &[("stripe-signature", &sign(now))], Some(body)).status, 200);
    let stale = server.send(Method::POST, "/hooks/stripe", &[("stripe-signature", &sign(now - 3600))], Some(body));
    assert_eq!(stale.status, 401);
    assert!(stale.json()["error"].as_str().unwrap().contains("tolerance"));
}
