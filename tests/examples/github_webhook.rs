//! The `examples/github-webhook` hub end to end.

use crate::harness::{Hub, Server};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};

const SECRET: &str = "whsec-github-7c1e0a9b5d";
const TOKEN: &str = "dashboard-token-0123456789";

/// `sha256=HEX`: GitHub's X-Hub-Signature-256 of `body` under `secret`.
fn signature(secret: &str, body: &str) -> String {
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs `payload` the way GitHub delivers it (compact JSON with its event, delivery id and
/// signature headers) and returns the status and the JSON answer.
fn deliver(server: &Server, event: &str, delivery: &str, payload: &Value, secret: &str) -> (u16, Value) {
    let body = payload.to_string();
    let headers = [
        ("Content-Type", "application/json"),
        ("User-Agent", "GitHub-Hookshot/5b9a2c1"),
        ("X-GitHub-Event", event),
        ("X-GitHub-Delivery", delivery),
        ("X-GitHub-Hook-ID", "482213937"),
        ("X-Hub-Signature-256", &signature(secret, &body)),
    ];
    let reply = server.send(Method::POST, "/hooks/github", &headers, Some(&body));
    (reply.status, reply.json())
}

fn repository(full_name: &str) -> Value {
    let (owner, name) = full_name.split_once('/').unwrap();
    json!({
        "id": 186853002,
        "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
        "name": name,
        "full_name": full_name,
        "private": false,
        "owner": { "name": owner, "login": owner, "id": 21031067, "type": "User" },
        "html_url": format!("https://github.com/{full_name}"),
        "default_branch": "main",
        "pushed_at": 1717225200
    })
}

fn commit(id: &str, message: &str) -> Value {
    json!({
        "id": id,
        "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
        "distinct": true,
        "message": message,
        "timestamp": "2024-06-01T09:00:00+02:00",
        "url": format!("https://github.com/octo-org/hello-world/commit/{id}"),
        "author": { "name": "Mona Lisa", "email": "mona@example.com", "username": "monalisa" },
        "committer": { "name": "GitHub", "email": "noreply@github.com", "username": "web-flow" },
        "added": [],
        "removed": [],
        "modified": ["README.md"]
    })
}

/// A push of two commits to main, trimmed from a real delivery (same keys and nesting).
fn push() -> Value {
    let first = commit("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "Fix the typo in the README");
    let head = commit("a3f0b9c2e1d4f5a6b7c8d9e0f1a2b3c4d5e6f7a8", "Add install steps\n\nCloses #12");
    json!({
        "ref": "refs/heads/main",
        "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "after": "a3f0b9c2e1d4f5a6b7c8d9e0f1a2b3c4d5e6f7a8",
        "repository": repository("octo-org/hello-world"),
        "pusher": { "name": "monalisa", "email": "mona@example.com" },
        "sender": { "login": "monalisa", "id": 583231, "type": "User" },
        "created": false,
        "deleted": false,
        "forced": false,
        "base_ref": null,
        "compare": "https://github.com/octo-org/hello-world/compare/6113728f27ae...a3f0b9c2e1d4",
        "commits": [first, head.clone()],
        "head_commit": head
    })
}

/// A push that deleted a branch: no commits and `head_commit` null.
fn branch_deletion() -> Value {
    json!({
        "ref": "refs/heads/old-experiment",
        "before": "9049f1265b7d61be4a8904a9a27120d2064dab3b",
        "after": "0000000000000000000000000000000000000000",
        "repository": repository("octo-org/tools"),
        "pusher": { "name": "hubot", "email": "hubot@example.com" },
        "sender": { "login": "hubot", "id": 480938, "type": "Bot" },
        "created": false,
        "deleted": true,
        "forced": false,
        "base_ref": null,
        "compare": "https://github.com/octo-org/tools/compare/9049f1265b7d...000000000000",
        "commits": [],
        "head_commit": null
    })
}

fn ping() -> Value {
    json!({
        "zen": "Design for failure.",
        "hook_id": 482213937,
        "hook": {
            "type": "Repository",
            "id": 482213937,
            "name": "web",
            "active": true,
            "events": ["push"],
            "config": { "content_type": "json", "insecure_ssl": "0", "url": "https://hub.example.com/hooks/github" }
        },
        "repository": repository("octo-org/hello-world"),
        "sender": { "login": "monalisa", "id": 583231, "type": "User" }
    })
}

fn issue_opened() -> Value {
    json!({
        "action": "opened",
        "issue": { "number": 7, "title": "Crash on start", "state": "open", "user": { "login": "monalisa" } },
        "repository": repository("octo-org/hello-world"),
        "sender": { "login": "monalisa", "id": 583231, "type": "User" }
    })
}

/// The rows of the example's SQLite file, read directly.
fn stored(hub: &Hub) -> Vec<Value> {
    let db = rusqlite::Connection::open(hub.path().join("data/pushes.db")).unwrap();
    let sql = "SELECT delivery, repo, ref, pusher, commit_count, head_sha, head_message FROM pushes ORDER BY id";
    let mut statement = db.prepare(sql).unwrap();
    let rows = statement
        .query_map([], |row| {
            Ok(json!({
                "delivery": row.get::<_, String>(0)?,
                "repo": row.get::<_, String>(1)?,
                "ref": row.get::<_, String>(2)?,
                "pusher": row.get::<_, String>(3)?,
                "commit_count": row.get::<_, i64>(4)?,
                "head_sha": row.get::<_, Option<String>>(5)?,
                "head_message": row.get::<_, Option<String>>(6)?,
            }))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

fn list(server: &Server, path: &str) -> Vec<Value> {
    let reply = server.get(path, &[("Authorization", &format!("Bearer {TOKEN}"))]);
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.text);
    reply.json()["pushes"].as_array().unwrap().clone()
}

#[test]
fn signed_pushes_are_stored_once_and_listed_pings_answered_other_events_and_bad_signatures_refused() {
    let hub = Hub::from_example("github-webhook");
    let server = Server::start(hub.path(), &[("GITHUB_WEBHOOK_SECRET", SECRET), ("PUSHES_TOKEN", TOKEN)]);

    // The ping GitHub sends when the webhook is created.
    let pong = deliver(&server, "ping", "5a1f3e00-2000-11ef-8c1a-7e4f1b2a9d01", &ping(), SECRET);
    assert_eq!(pong, (200, json!({ "ok": true, "zen": "Design for failure.", "hook_id": 482213937 })));

    // A signed push is stored: one row with what matters, and 201.
    let delivery = "6b2c4f10-2000-11ef-9a3e-1c2d3e4f5a6b";
    assert_eq!(
        deliver(&server, "push", delivery, &push(), SECRET),
        (201, json!({ "stored": true, "repo": "octo-org/hello-world", "ref": "refs/heads/main", "commits": 2 }))
    );
    let expected_row = json!({
        "delivery": delivery,
        "repo": "octo-org/hello-world",
        "ref": "refs/heads/main",
        "pusher": "monalisa",
        "commit_count": 2,
        "head_sha": "a3f0b9c2e1d4f5a6b7c8d9e0f1a2b3c4d5e6f7a8",
        "head_message": "Add install steps\n\nCloses #12",
    });
    assert_eq!(stored(&hub), std::slice::from_ref(&expected_row));

    // GitHub redelivers the same delivery: acknowledged, not stored twice.
    let (status, again) = deliver(&server, "push", delivery, &push(), SECRET);
    assert_eq!((status, &again["stored"]), (200, &json!(false)), "{again}");
    assert_eq!(stored(&hub).len(), 1);

    // Other events are acknowledged with 202 and dropped.
    let issue = deliver(&server, "issues", "7c3d5a20-2000-11ef-8f00-0a0b0c0d0e0f", &issue_opened(), SECRET);
    assert_eq!(issue, (202, json!({ "ignored": "issues" })));

    // A wrong signature (another secret), a tampered body and no signature are all 401, and
    // nothing reaches the database.
    let forged = deliver(&server, "push", "8d4e6b30-2000-11ef-b1b2-b3b4b5b6b7b8", &branch_deletion(), "not-the-secret");
    assert_eq!(forged, (401, json!({ "error": "signature does not match the body" })));
    let body = push().to_string();
    let tampered_headers = [
        ("Content-Type", "application/json"),
        ("X-GitHub-Event", "push"),
        ("X-GitHub-Delivery", "9e5f7c40-2000-11ef-a0a1-a2a3a4a5a6a7"),
        ("X-Hub-Signature-256", &signature(SECRET, &body)),
    ];
    let tampered = body.replace("monalisa", "mallory");
    assert_eq!(server.send(Method::POST, "/hooks/github", &tampered_headers, Some(&tampered)).status, 401);
    let unsigned = [("Content-Type", "application/json"), ("X-GitHub-Event", "push")];
    assert_eq!(server.send(Method::POST, "/hooks/github", &unsigned, Some(&body)).status, 401);
    assert_eq!(stored(&hub), [expected_row]);

    // A branch deletion (no commits, no head commit) from a webhook whose content type is
    // "application/x-www-form-urlencoded": the same JSON arrives in a `payload` field.
    let form = serde_urlencoded::to_string([("payload", branch_deletion().to_string())]).unwrap();
    let form_headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("X-GitHub-Event", "push"),
        ("X-GitHub-Delivery", "af608d50-2000-11ef-8e8f-909192939495"),
        ("X-Hub-Signature-256", &signature(SECRET, &form)),
    ];
    let deletion = server.send(Method::POST, "/hooks/github", &form_headers, Some(&form));
    assert_eq!((deletion.status, &deletion.json()["commits"]), (201, &json!(0)), "{}", deletion.text);

    // The list needs the dashboard key; it shows the newest first and filters by repository.
    assert_eq!(server.get("/pushes", &[]).status, 401);
    let pushes = list(&server, "/pushes");
    assert_eq!(pushes.len(), 2, "{pushes:?}");
    let newest = &pushes[0];
    assert_eq!(
        (&newest["repo"], &newest["ref"], &newest["pusher"], &newest["commit_count"], &newest["head_sha"]),
        (&json!("octo-org/tools"), &json!("refs/heads/old-experiment"), &json!("hubot"), &json!(0), &Value::Null)
    );
    let only = list(&server, "/pushes?repo=octo-org/hello-world");
    assert_eq!(only.len(), 1, "{only:?}");
    assert_eq!(
        (&only[0]["pusher"], &only[0]["commit_count"], &only[0]["head_message"]),
        (&json!("monalisa"), &json!(2), &json!("Add install steps\n\nCloses #12"))
    );
    assert_eq!(only[0]["compare_url"], "https://github.com/octo-org/hello-world/compare/6113728f27ae...a3f0b9c2e1d4");
    let received_at = only[0]["received_at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(received_at).is_ok(), "{received_at}");
    assert_eq!(list(&server, "/pushes?limit=1").len(), 1);
}

/// The README's "Try it without GitHub" lines, run by `sh` in the hub folder against the running
/// hub (its port for the README's 8080): `openssl` signs `push.json` as GitHub would.
#[test]
fn the_readme_signs_and_sends_the_sample_push_locally() {
    if std::process::Command::new("openssl").arg("version").output().is_err() {
        return crate::harness::skip("openssl is not installed");
    }
    let hub = Hub::from_example("github-webhook");
    std::fs::copy(hub.path().join(".env.example"), hub.path().join(".env")).unwrap();
    let server = Server::start(hub.path(), &[]);
    let readme = std::fs::read_to_string(hub.path().join("README.md")).unwrap();
    let section = readme.split("## Try it without GitHub").nth(1).expect("the README has the section");
    let block = section.split("```sh\n").nth(1).and_then(|rest| rest.split("```").next()).unwrap();
    let script = block.replace("http://127.0.0.1:8080", &server.base);
    let send = || {
        let output = std::process::Command::new("sh").arg("-c").arg(&script).current_dir(hub.path()).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    assert_eq!(
        send(),
        json!({ "stored": true, "repo": "octo-org/hello-world", "ref": "refs/heads/main", "commits": 2 })
    );
    assert_eq!(send()["stored"], false);
    assert_eq!(stored(&hub).len(), 1);
    assert_eq!(stored(&hub)[0]["delivery"], "local-1");
    // A changed byte without a new signature is refused and stores nothing.
    let payload = std::fs::read_to_string(hub.path().join("push.json")).unwrap();
    std::fs::write(hub.path().join("tampered.json"), payload.replace("monalisa", "mallory")).unwrap();
    let tampered =
        script.replace("--data-binary @push.json", "--data-binary @tampered.json").replace("local-1", "local-2");
    let output = std::process::Command::new("sh").arg("-c").arg(&tampered).current_dir(hub.path()).output().unwrap();
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("signature"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(stored(&hub).len(), 1);
}
