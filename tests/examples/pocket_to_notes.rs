//! The `examples/pocket-to-notes` hub end to end.

use crate::harness::{HttpServer, Hub, Server, wait_until};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CONSUMER_KEY: &str = "1234-abcd1234abcd1234abcd1234";
const ACCESS_TOKEN: &str = "5678defg-5678-defg-5678-defg56";
const NOTES_TOKEN: &str = "notes-token-91b2";

/// The JSON body of every `/v3/get` request the stand-in accepted.
type Requests = Arc<Mutex<Vec<Value>>>;

fn item(id: &str, title: &str, url: &str, excerpt: &str, added: i64) -> Value {
    json!({
        "item_id": id, "resolved_id": id, "given_url": url, "given_title": "", "favorite": "0", "status": "0",
        "resolved_title": title, "resolved_url": url, "excerpt": excerpt, "is_article": "1",
        "time_added": added.to_string(), "time_updated": added.to_string(), "word_count": "1200",
    })
}

/// `POST /v3/get` as Pocket answers it: what changed after `since`, and the next cursor.
/// Credentials may come as body fields or as request parameters, as Pocket accepts both.
async fn get(
    State(requests): State<Requests>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, HeaderMap, Json<Value>) {
    let credential = |name: &str| body[name].as_str().map(str::to_string).or_else(|| query.get(name).cloned());
    let mut reply = HeaderMap::new();
    if credential("consumer_key").as_deref() != Some(CONSUMER_KEY)
        || credential("access_token").as_deref() != Some(ACCESS_TOKEN)
    {
        reply.insert("x-error-code", "107".parse().unwrap());
        reply.insert("x-error", "Consumer key or access token invalid".parse().unwrap());
        return (StatusCode::UNAUTHORIZED, reply, Json(Value::Null));
    }
    // The connection asks for JSON with X-Accept, as Pocket's documentation says to.
    if headers.get("x-accept").and_then(|v| v.to_str().ok()) != Some("application/json") {
        return (StatusCode::NOT_ACCEPTABLE, reply, Json(Value::Null));
    }
    requests.lock().unwrap().push(body.clone());
    let list = match body["since"].as_i64() {
        None => json!({
            "101": item("101", "Rust: The Book / Chapter 1", "https://example.com/rust-book", "Ownership, briefly.\nAnd borrowing.", 1_700_000_050),
            "102": item("102", "Why \"plain text\" wins", "https://example.com/plain-text", "Files outlive apps.", 1_700_000_060),
        }),
        Some(1_700_000_100) => json!({
            // Favourited since the last poll: changed, but it has its note already.
            "101": item("101", "Rust: The Book / Chapter 1", "https://example.com/rust-book", "Ownership, briefly.\nAnd borrowing.", 1_700_000_050),
            "103": item("103", "Backups that restore", "https://example.com/backups", "Test the restore.", 1_700_000_150),
        }),
        // Nothing changed: Pocket sends an empty array rather than an empty object.
        Some(_) => json!([]),
    };
    let since = match body["since"].as_i64() {
        None => 1_700_000_100,
        Some(since) => since.max(1_700_000_200),
    };
    (StatusCode::OK, reply, Json(json!({ "status": 1, "complete": 1, "list": list, "since": since })))
}

fn notes(vault: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(vault)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .collect();
    names.sort();
    names
}

#[test]
fn polls_pocket_with_a_cursor_and_writes_each_note_once() {
    let requests = Requests::default();
    let pocket = HttpServer::start(axum::Router::new().route("/v3/get", post(get)).with_state(Arc::clone(&requests)));
    let vault = tempfile::tempdir().unwrap();
    let hub = Hub::from_example("pocket-to-notes");
    // As the example's README says: `vault` in the hub links to the real vault's folder.
    std::fs::remove_dir_all(hub.path().join("vault")).unwrap();
    std::os::unix::fs::symlink(vault.path(), hub.path().join("vault")).unwrap();
    // The poll runs every second instead of every 15 minutes.
    let manifest = hub.read("switchboard.toml");
    assert!(manifest.contains("schedule = \"*/15 * * * *\""), "the example's schedule changed:\n{manifest}");
    hub.manifest(&manifest.replace("schedule = \"*/15 * * * *\"", "schedule = \"* * * * * *\""));
    let server = Server::start(
        hub.path(),
        &[
            ("POCKET_CONSUMER_KEY", CONSUMER_KEY),
            ("POCKET_ACCESS_TOKEN", ACCESS_TOKEN),
            ("POCKET_BASE_URL", &pocket.url()),
            ("VAULT_DIR", vault.path().to_str().unwrap()),
            ("NOTES_TOKEN", NOTES_TOKEN),
        ],
    );

    // Three polls: the first without a cursor, then each with the cursor the previous one got.
    let polled = wait_until(Duration::from_secs(30), || requests.lock().unwrap().len() >= 3);
    assert!(polled, "Pocket was polled {} times; server log:\n{}", requests.lock().unwrap().len(), server.stderr());
    let sent = requests.lock().unwrap().clone();
    assert_eq!(sent[0], json!({ "state": "all", "detailType": "simple", "sort": "oldest" }));
    assert_eq!(sent[1]["since"], 1_700_000_100);
    assert_eq!(sent[2]["since"], 1_700_000_200);

    // One note per article, none twice although article 101 came back in the second poll.
    assert_eq!(
        notes(vault.path()),
        ["Backups that restore.md", "Rust The Book Chapter 1.md", "Why plain text wins.md"]
    );
    let note = std::fs::read_to_string(vault.path().join("Rust The Book Chapter 1.md")).unwrap();
    assert_eq!(
        note,
        "---\n\
         title: \"Rust: The Book / Chapter 1\"\n\
         source: \"https://example.com/rust-book\"\n\
         saved: 2023-11-14\n\
         via: pocket\n\
         tags: [reading]\n\
         ---\n\
         \n\
         # Rust: The Book / Chapter 1\n\
         \n\
         [Read the article](https://example.com/rust-book)\n\
         \n\
         > Ownership, briefly.\n\
         > And borrowing.\n"
    );
    let quoted = std::fs::read_to_string(vault.path().join("Why plain text wins.md")).unwrap();
    assert!(quoted.contains("title: \"Why \\\"plain text\\\" wins\"\n"), "{quoted}");

    // The webhook writes a note directly; the same URL again, or one Pocket already brought,
    // answers with the existing note.
    let auth = format!("Bearer {NOTES_TOKEN}");
    let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
    let article = r#"{"url": "https://example.com/sqlite", "title": "SQLite is enough", "summary": "One file."}"#;
    let created = server.send(Method::POST, "/articles", &headers, Some(article));
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json(), json!({ "path": "vault/SQLite is enough.md", "created": true }));
    let again = server.send(Method::POST, "/articles", &headers, Some(article));
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["created"], false);
    let known = r#"{"url": "https://example.com/backups", "title": "Backups, again"}"#;
    let existing = server.send(Method::POST, "/articles", &headers, Some(known));
    assert_eq!(existing.json(), json!({ "path": "vault/Backups that restore.md", "created": false }));
    let written = std::fs::read_to_string(vault.path().join("SQLite is enough.md")).unwrap();
    assert!(written.contains("via: webhook\n") && written.ends_with("> One file.\n"), "{written}");

    // The webhook needs the key, and a body with a URL.
    let json_only = [("Content-Type", "application/json")];
    assert_eq!(server.send(Method::POST, "/articles", &json_only, Some(article)).status, 401);
    assert_eq!(server.send(Method::POST, "/articles", &headers, Some(r#"{"title": "no url"}"#)).status, 400);

    assert_eq!(notes(vault.path()).len(), 4);
}
