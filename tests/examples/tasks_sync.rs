//! The `examples/tasks-sync` hub end to end.

use crate::harness::{HttpServer, Hub, Server, wait_until};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TODOIST_TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";
const HUB_TOKEN: &str = "hub-token-7e21aa";

/// A Todoist-shaped task. The real REST v2 task has no `updated_at`; the stand-in models one
/// (see the example's README).
#[derive(Clone, Debug, serde::Serialize)]
struct Task {
    id: String,
    content: String,
    is_completed: bool,
    updated_at: String,
}

#[derive(Default)]
struct Todoist {
    tasks: Vec<Task>,
    next_id: u64,
    /// X-Request-Id of each create, and the task it made.
    request_ids: HashMap<String, String>,
    /// Creates and updates received.
    writes: usize,
}

#[derive(Clone, Default)]
struct Api(Arc<Mutex<Todoist>>);

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

impl Api {
    fn seed(&self, content: &str, updated_at: DateTime<Utc>) {
        let mut todoist = self.0.lock().unwrap();
        todoist.next_id += 1;
        let id = format!("29951043{:02}", todoist.next_id);
        todoist.tasks.push(Task { id, content: content.into(), is_completed: false, updated_at: stamp(updated_at) });
    }

    /// An edit made in Todoist itself (say, on the phone) at `at`.
    fn edit(&self, content: &str, new_content: &str, completed: bool, at: DateTime<Utc>) {
        let mut todoist = self.0.lock().unwrap();
        let task = todoist.tasks.iter_mut().find(|task| task.content == content).expect("a task to edit");
        task.content = new_content.into();
        task.is_completed = completed;
        task.updated_at = stamp(at);
    }

    /// Content and completion by task id.
    fn state(&self) -> BTreeMap<String, (String, bool)> {
        let todoist = self.0.lock().unwrap();
        todoist.tasks.iter().map(|task| (task.id.clone(), (task.content.clone(), task.is_completed))).collect()
    }

    fn writes(&self) -> usize {
        self.0.lock().unwrap().writes
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TODOIST_TOKEN}"))
}

fn apply(task: &mut Task, body: &Value) {
    if let Some(content) = body["content"].as_str() {
        task.content = content.into();
    }
    if let Some(completed) = body["is_completed"].as_bool() {
        task.is_completed = completed;
    }
    task.updated_at = stamp(Utc::now());
}

/// `GET /rest/v2/tasks`.
async fn list(State(api): State<Api>, headers: HeaderMap) -> Result<Json<Vec<Task>>, StatusCode> {
    if !authorized(&headers) {
        return Err(StatusCode::UNAUTHORIZED);
    }
    Ok(Json(api.0.lock().unwrap().tasks.clone()))
}

/// `POST /rest/v2/tasks`: a repeated X-Request-Id gets the task the first request made.
async fn create(State(api): State<Api>, headers: HeaderMap, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    if !authorized(&headers) {
        return (StatusCode::UNAUTHORIZED, Json(Value::Null));
    }
    if body["content"].as_str().is_none_or(str::is_empty) {
        return (StatusCode::BAD_REQUEST, Json(json!("Required argument is missing: content")));
    }
    let mut todoist = api.0.lock().unwrap();
    todoist.writes += 1;
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    if let Some(id) = todoist.request_ids.get(&request_id) {
        let task = todoist.tasks.iter().find(|task| &task.id == id).cloned();
        return (StatusCode::OK, Json(json!(task)));
    }
    todoist.next_id += 1;
    let mut task = Task {
        id: format!("29951043{:02}", todoist.next_id),
        content: String::new(),
        is_completed: false,
        updated_at: String::new(),
    };
    apply(&mut task, &body);
    if !request_id.is_empty() {
        todoist.request_ids.insert(request_id, task.id.clone());
    }
    todoist.tasks.push(task.clone());
    (StatusCode::OK, Json(json!(task)))
}

/// `POST /rest/v2/tasks/{id}`: updates the fields sent.
async fn update(
    State(api): State<Api>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if !authorized(&headers) {
        return (StatusCode::UNAUTHORIZED, Json(Value::Null));
    }
    let mut todoist = api.0.lock().unwrap();
    todoist.writes += 1;
    match todoist.tasks.iter_mut().find(|task| task.id == id) {
        Some(task) => {
            apply(task, &body);
            (StatusCode::OK, Json(json!(task)))
        }
        None => (StatusCode::NOT_FOUND, Json(json!("Task not found"))),
    }
}

/// Drives the hub's routes with its key.
struct Client<'a> {
    server: &'a Server,
}

impl Client<'_> {
    fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let auth = format!("Bearer {HUB_TOKEN}");
        let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
        let body = body.map(|body| body.to_string());
        let reply = self.server.send(method, path, &headers, body.as_deref());
        let json = if reply.text.is_empty() { Value::Null } else { reply.json() };
        (reply.status, json)
    }

    fn sync(&self) -> Value {
        let (status, out) = self.call(Method::POST, "/sync", None);
        assert_eq!(status, 200, "{out}\n{}", self.server.stderr());
        out
    }

    fn tasks(&self) -> Vec<Value> {
        let (status, out) = self.call(Method::GET, "/tasks", None);
        assert_eq!(status, 200, "{out}");
        out.as_array().unwrap().clone()
    }

    /// Content and completion by Todoist id, as the local table has them.
    fn state(&self) -> BTreeMap<String, (String, bool)> {
        let tasks = self.tasks();
        tasks
            .iter()
            .map(|task| {
                let id = task["remote_id"].as_str().unwrap_or_else(|| panic!("not synced: {task}")).to_string();
                (id, (task["content"].as_str().unwrap().to_string(), task["is_completed"].as_bool().unwrap()))
            })
            .collect()
    }

    fn edit(&self, content: &str, change: Value) {
        let tasks = self.tasks();
        let task = tasks.iter().find(|task| task["content"] == content).expect("a local task to edit");
        let (status, out) = self.call(Method::PATCH, &format!("/tasks/{}", task["id"]), Some(change));
        assert_eq!(status, 200, "{out}");
    }
}

fn start(hub: &Hub, todoist: &HttpServer) -> Server {
    Server::start(
        hub.path(),
        &[("TODOIST_TOKEN", TODOIST_TOKEN), ("TODOIST_BASE_URL", &todoist.url()), ("HUB_TOKEN", HUB_TOKEN)],
    )
}

/// The example's manifest with the job's schedule replaced.
fn with_schedule(hub: &Hub, schedule: &str) {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tasks-sync/switchboard.toml");
    let manifest = std::fs::read_to_string(example).unwrap();
    let every_five_minutes = "schedule = \"*/5 * * * *\"";
    assert!(manifest.contains(every_five_minutes), "the example's schedule changed:\n{manifest}");
    hub.manifest(&manifest.replace(every_five_minutes, &format!("schedule = \"{schedule}\"")));
}

#[test]
fn syncs_both_ways_and_the_later_edit_wins() {
    let api = Api::default();
    let long_ago = Utc::now() - chrono::Duration::hours(2);
    for content in ["Buy milk", "Call Ada", "Book dentist"] {
        api.seed(content, long_ago);
    }
    let router = axum::Router::new()
        .route("/rest/v2/tasks", get(list).post(create))
        .route("/rest/v2/tasks/{id}", post(update))
        .with_state(api.clone());
    let todoist = HttpServer::start(router);
    let hub = Hub::from_example("tasks-sync");
    // Only this test's POST /sync calls sync at first; the job's own schedule is tested last.
    with_schedule(&hub, "0 0 1 1 *");
    let server = start(&hub, &todoist);
    let client = Client { server: &server };

    assert_eq!(server.send(Method::POST, "/sync", &[], None).status, 401);
    for content in ["Write report", "Water plants"] {
        let (status, out) = client.call(Method::POST, "/tasks", Some(json!({ "content": content })));
        assert_eq!(status, 201, "{out}");
    }
    assert_eq!(client.call(Method::POST, "/tasks", Some(json!({ "content": "  " }))).0, 400);

    // The first sync brings each side's tasks to the other.
    let first = client.sync();
    assert_eq!(first, json!({ "created_remote": 2, "created_local": 3, "pushed": 0, "pulled": 0, "conflicts": 0 }));
    assert_eq!(client.state(), api.state());
    assert_eq!(api.state().len(), 5);

    // Edits on one side only.
    client.edit("Write report", json!({ "content": "Write the report" }));
    client.edit("Water plants", json!({ "is_completed": true }));
    api.edit("Call Ada", "Call Ada about Rust", false, Utc::now());
    // Conflicts: edited on both sides; the later edit wins. Todoist's clock is the test's.
    api.edit("Book dentist", "Book dentist (phone)", false, Utc::now() - chrono::Duration::seconds(1));
    client.edit("Book dentist", json!({ "content": "Book dentist for Friday" }));
    client.edit("Buy milk", json!({ "content": "Buy oat milk" }));
    // Stamped after the local edit returned, so later than it even at the local table's milliseconds.
    api.edit("Buy milk", "Buy almond milk", true, Utc::now());

    let second = client.sync();
    assert_eq!(second, json!({ "created_remote": 0, "created_local": 0, "pushed": 3, "pulled": 2, "conflicts": 2 }));
    let remote = api.state();
    assert_eq!(client.state(), remote);
    let mut contents: Vec<(String, bool)> = remote.into_values().collect();
    contents.sort();
    assert_eq!(
        contents,
        [
            ("Book dentist for Friday".to_string(), false),
            ("Buy almond milk".to_string(), true),
            ("Call Ada about Rust".to_string(), false),
            ("Water plants".to_string(), true),
            ("Write the report".to_string(), false),
        ]
    );

    // Nothing changed since: nothing to do, and our own writes do not come back as changes.
    let writes = api.writes();
    let third = client.sync();
    assert_eq!(third, json!({ "created_remote": 0, "created_local": 0, "pushed": 0, "pulled": 0, "conflicts": 0 }));
    assert_eq!(api.writes(), writes);

    // The cron job runs the same sync, and the cursor survives a restart: with the job firing every
    // second, a task completed in Todoist arrives here and nothing is duplicated.
    drop(server);
    with_schedule(&hub, "* * * * * *");
    api.edit("Call Ada about Rust", "Call Ada about Rust", true, Utc::now());
    let server = start(&hub, &todoist);
    let client = Client { server: &server };
    let arrived = wait_until(Duration::from_secs(30), || {
        client.tasks().iter().any(|task| task["content"] == "Call Ada about Rust" && task["is_completed"] == true)
    });
    assert!(arrived, "the cron sync did not pull the change; server log:\n{}", server.stderr());
    assert_eq!(client.state(), api.state());
    assert_eq!(api.state().len(), 5);
    assert_eq!(api.writes(), writes);
}
