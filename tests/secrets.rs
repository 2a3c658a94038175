//! Secrets: which manifest values are credentials, and that no form of one leaves the hub
//! (printed lines, errors, results to callers, the run log, the admin API).

use crate::harness::{HttpServer, Hub};
use axum::Json;
use axum::http::{HeaderMap, Uri};
use axum::routing::any;
use base64::prelude::{BASE64_STANDARD, Engine as _};
use serde_json::{Value, json};

/// A secret with every character URL-encoding changes: `+ / = &` and a space.
const AWKWARD: &str = "p+ss/w=rd&x y";
/// The Basic password of the test connection.
const PASSWORD: &str = "basic-pa55word";

/// Answers with the query and Authorization header it got.
fn echo_server() -> HttpServer {
    HttpServer::start(axum::Router::new().fallback(any(|uri: Uri, headers: HeaderMap| async move {
        let auth = headers.get("authorization").map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        Json(json!({ "query": uri.query().unwrap_or_default(), "authorization": auth }))
    })))
}

/// Every form of the test's secrets the hub itself could write.
fn forms() -> Vec<String> {
    vec![
        AWKWARD.to_string(),
        form_encoded(AWKWARD),
        form_encoded(AWKWARD).replace('+', "%20"),
        PASSWORD.to_string(),
        BASE64_STANDARD.encode(format!("robot:{PASSWORD}")),
    ]
}

fn form_encoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn assert_clean(what: &str, text: &str) {
    for form in forms() {
        assert!(!text.contains(&form), "{what} holds {form:?}:\n{text}");
    }
}

/// A hub whose `api` connection sends the awkward secret as a query parameter and Basic
/// credentials; `leak` returns what the server saw and `fails` throws it.
fn leaky_hub(server: &HttpServer) -> Hub {
    let hub = Hub::new();
    hub.manifest(&format!(
        r#"
[connections.api]
type = "http"
base_url = "{}"
query = {{ key = "${{SB_AWKWARD}}" }}
user = "robot"
password = "${{SB_BASIC_PASSWORD}}"

[[route]]
method = "GET"
path = "/leak"
script = "leak"
auth = "public"

[[route]]
method = "GET"
path = "/leak-header"
script = "leak_header"
auth = "public"

[[key]]
name = "ops"
token = "admin-token-1"
scopes = ["admin"]
"#,
        server.url()
    ))
    .file(".env", &format!("SB_AWKWARD=\"{AWKWARD}\"\nSB_BASIC_PASSWORD={PASSWORD}\n"))
    .script(
        "leak",
        r#"
        let seen = http::connection("api").get("/x").json;
        print(`query ${seen.query}`);
        log::warn(`auth ${seen.authorization}`);
        #{ query: seen.query, auth: seen.authorization }
        "#,
    )
    .script(
        "leak_header",
        r#"let seen = http::connection("api").get("/x").json; response(200, "seen", #{ "x-seen": seen.authorization })"#,
    )
    .script(
        "fails",
        r#"let seen = http::connection("api").get("/x").json; throw `${seen.query} ${seen.authorization}`;"#,
    );
    hub
}

#[test]
fn encoded_forms_of_secrets_are_redacted_everywhere() {
    let server = echo_server();
    let hub = leaky_hub(&server);
    let out = hub.run("leak", "{}");
    let result = out.json();
    assert_eq!(result, json!({ "query": "key=***", "auth": "Basic ***" }), "{}", out.stderr);
    assert!(out.stderr.contains("query key=***"), "{}", out.stderr);
    assert_clean("stdout", &out.stdout);
    assert_clean("stderr", &out.stderr);
    let failed = hub.run("fails", "{}");
    failed.fails_with(1, &["key=*** Basic ***"]);
    assert_clean("stderr", &failed.stderr);
    let list = hub.cmd(&["runs", "list", "--json"]).output();
    assert_clean("runs list", &list.stdout);
    let runs: Value = serde_json::from_str(&list.stdout).expect("runs list is JSON");
    for run in runs.as_array().expect("an array") {
        let id = run["id"].as_str().expect("an id");
        let shown = hub.cmd(&["runs", "show", id, "--json"]).output();
        assert!(shown.stdout.contains("***"), "{}", shown.stdout);
        assert_clean("runs show", &shown.stdout);
    }
}

#[test]
fn a_result_returned_over_http_is_redacted_like_its_run_log_record() {
    let upstream = echo_server();
    let hub = leaky_hub(&upstream);
    let server = hub.serve();
    let reply = server.get("/leak", &[]);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json(), json!({ "query": "key=***", "auth": "Basic ***" }));
    let header = server.get("/leak-header", &[]);
    assert_eq!((header.status, header.header("x-seen").as_deref()), (200, Some("Basic ***")), "{}", header.text);
    let runs = server.get("/_/runs", &[("authorization", "Bearer admin-token-1")]);
    assert_eq!(runs.status, 200, "{}", runs.text);
    assert!(runs.text.contains("key=***"), "{}", runs.text);
    assert_clean("/_/runs", &runs.text);
    assert_clean("server log", &server.stderr());
}

#[test]
fn plain_configuration_from_the_environment_is_never_masked() {
    let hub = Hub::new();
    hub.manifest(
        r#"
[connections.quotes]
type = "http"
base_url = "${SB_QUOTES_BASE}"

[connections.notes]
type = "sqlite"
path = "${SB_VAULT_DIR}/notes.db"
"#,
    )
    .file(".env", "SB_QUOTES_BASE=http://127.0.0.1:9\nSB_VAULT_DIR=vault\n")
    .script(
        "quote",
        r#"
        print("reading vault/today.md");
        let failed = "";
        try { http::connection("quotes").get("/quote") } catch (err) { failed = err }
        #{ failed: failed, folder: "vault" }
        "#,
    );
    let out = hub.run("quote", "{}");
    let result = out.json();
    assert_eq!(result["folder"], "vault");
    let failed = result["failed"].as_str().expect("an error");
    assert!(failed.contains("GET http://127.0.0.1:9/quote"), "{failed}");
    assert!(out.stderr.contains("reading vault/today.md"), "{}", out.stderr);
    assert!(!out.stdout.contains("***") && !out.stderr.contains("***"), "{out:?}");
}

#[test]
fn a_variable_the_manifest_marks_secret_is_masked() {
    let hub = Hub::new();
    hub.manifest(
        r#"
[secrets]
vars = ["SB_PHONE_TOKEN"]

[[cron]]
name = "ping"
schedule = "0 0 1 1 *"
script = "echo"
input = { token = "${SB_PHONE_TOKEN}", region = "${SB_REGION}" }
"#,
    )
    .file(".env", "SB_PHONE_TOKEN=phone-token-123\nSB_REGION=europe-west\n")
    .script("echo", r#"print(`${input.token} in ${input.region}`); input"#);
    let out = hub.run("echo", r#"{"token": "phone-token-123", "region": "europe-west"}"#);
    assert_eq!(out.json(), json!({ "token": "***", "region": "europe-west" }));
    assert!(out.stderr.contains("*** in europe-west"), "{}", out.stderr);
    hub.manifest(
        "[secrets]\nvars = [\"SB_PHONE_TOKN\"]\n[connections.a]\ntype = \"sqlite\"\npath = \"${SB_PHONE_TOKEN}.db\"\n",
    );
    hub.cmd(&["check"]).output().fails_with(
        2,
        &["secrets.vars", "`SB_PHONE_TOKN`", "no `${SB_PHONE_TOKN}` in the manifest", "did you mean `SB_PHONE_TOKEN`?"],
    );
}

#[test]
fn credentials_are_masked_but_a_literal_header_is_not() {
    let hub = Hub::new();
    hub.manifest(
        r#"
[connections.api]
type = "http"
base_url = "https://bot:url-pa55@api.example.com/v1"
headers = { Accept = "application/json", Authorization = "Bearer ${SB_BEARER}" }

[[route]]
method = "POST"
path = "/hook"
script = "echo"
verify = { scheme = "hmac-sha256", header = "X-Sig", secret = "verify-secret-1" }

[[key]]
name = "app"
token = "key-token-1234"
"#,
    )
    .file(".env", "SB_BEARER=bearer-token-1\n")
    .script("echo", "input");
    let input = json!({ "a": "application/json", "b": "bearer-token-1", "c": "url-pa55", "d": "verify-secret-1", "e": "key-token-1234" });
    assert_eq!(
        hub.run("echo", &input.to_string()).json(),
        json!({ "a": "application/json", "b": "***", "c": "***", "d": "***", "e": "***" })
    );
}
