//! The `examples/tasks-sync` hub end to end, against a stand-in for Todoist's API v1 that answers
//! as the API documents: the task object of the official SDKs (todoist-api-typescript's `Task`,
//! todoist-api-python's fixtures), `{results, next_cursor}` and `{items, next_cursor}` pages,
//! 200 with the task for creates and updates, 204 for close and reopen, 401 for a wrong token.

use crate::harness::{HttpServer, Hub, Server, wait_until};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TODOIST_TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";
const HUB_TOKEN: &str = "hub-token-7e21aa";
const USER_ID: &str = "2671355";
const INBOX_ID: &str = "6Jf8VQXxpwv56VQ7";
/// Todoist's default page is 50 tasks; the stand-in's is 2, so that every listing here takes
/// several pages. A `limit` from 1 to 200 is honoured, as documented.
const PAGE: usize = 2;

struct Task {
    id: String,
    content: String,
    checked: bool,
    added_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    child_order: usize,
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

impl Task {
    /// The API's task object, every field of it.
    fn json(&self) -> Value {
        json!({
            "id": self.id, "user_id": USER_ID, "project_id": INBOX_ID, "section_id": null, "parent_id": null,
            "added_by_uid": USER_ID, "assigned_by_uid": null, "responsible_uid": null, "labels": [],
            "deadline": null, "duration": null, "checked": self.checked, "is_deleted": false,
            "added_at": stamp(self.added_at), "completed_at": self.completed_at.map(stamp),
            "updated_at": stamp(self.updated_at), "due": null, "priority": 1, "child_order": self.child_order,
            "content": self.content, "description": "", "day_order": -1, "is_collapsed": false,
        })
    }
}

#[derive(Default)]
struct Todoist {
    tasks: Vec<Task>,
    /// Tasks ever added, so that an id is never given twice.
    added: usize,
    /// Cursors handed out, and the offset each continues from.
    cursors: HashMap<String, usize>,
    /// Pages served, creates, updates, closes and reopens received.
    pages: usize,
    writes: usize,
    /// Every X-Request-Id sent with a create.
    request_ids: Vec<String>,
    /// A create of this content is made, and then its answer lost (a 502 from the way back).
    lose_answer_to: Option<String>,
}

#[derive(Clone, Default)]
struct Api(Arc<Mutex<Todoist>>);

impl Todoist {
    fn add(&mut self, content: &str, at: DateTime<Utc>) -> &mut Task {
        self.added += 1;
        let order = self.added;
        // Ids are opaque strings in API v1, like the SDK fixtures' "6X7rM8997g3RQmvh".
        let id = format!("6X7r{order:04}g3RQmvh");
        self.tasks.push(Task {
            id,
            content: content.into(),
            checked: false,
            added_at: at,
            updated_at: at,
            completed_at: None,
            child_order: order,
        });
        self.tasks.last_mut().unwrap()
    }

    fn find(&mut self, content: &str) -> &mut Task {
        self.tasks.iter_mut().find(|task| task.content == content).unwrap_or_else(|| panic!("no task {content}"))
    }

    /// One page of `tasks` from `query`'s cursor and limit, as `{field: [...], next_cursor}`.
    fn page(&mut self, tasks: Vec<Value>, query: &HashMap<String, String>, field: &str) -> Response {
        let limit = match query.get("limit").map(|limit| limit.parse::<usize>()) {
            None => PAGE,
            Some(Ok(limit)) if (1..=200).contains(&limit) => limit,
            Some(_) => return (StatusCode::BAD_REQUEST, "limit must be from 1 to 200").into_response(),
        };
        let from = match query.get("cursor") {
            None => 0,
            Some(cursor) => match self.cursors.get(cursor) {
                Some(&from) => from,
                None => return (StatusCode::BAD_REQUEST, "invalid cursor").into_response(),
            },
        };
        self.pages += 1;
        let to = (from + limit).min(tasks.len());
        let next = (to < tasks.len()).then(|| {
            let cursor = format!("eyJwYWdlIjo{}fQ", self.cursors.len() + 1);
            self.cursors.insert(cursor.clone(), to);
            cursor
        });
        Json(json!({ field: tasks[from..to], "next_cursor": next })).into_response()
    }
}

impl Api {
    fn with<T>(&self, f: impl FnOnce(&mut Todoist) -> T) -> T {
        f(&mut self.0.lock().unwrap())
    }

    /// Edits made in Todoist itself (say, on the phone) at `at`.
    fn add(&self, content: &str, at: DateTime<Utc>) {
        self.with(|todoist| {
            todoist.add(content, at);
        });
    }
    fn edit(&self, content: &str, new_content: &str, at: DateTime<Utc>) {
        self.with(|todoist| {
            let task = todoist.find(content);
            task.content = new_content.into();
            task.updated_at = at;
        });
    }
    fn complete(&self, content: &str, completed: bool, at: DateTime<Utc>) {
        self.with(|todoist| {
            let task = todoist.find(content);
            task.checked = completed;
            task.completed_at = completed.then_some(at);
        });
    }

    /// Content and completion by task id.
    fn state(&self) -> BTreeMap<String, (String, bool)> {
        self.with(|todoist| {
            todoist.tasks.iter().map(|task| (task.id.clone(), (task.content.clone(), task.checked))).collect()
        })
    }

    fn count(&self, f: impl FnOnce(&Todoist) -> usize) -> usize {
        self.with(|todoist| f(todoist))
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TODOIST_TOKEN}"))
}

/// 401 without the token. The error body is not modelled: the sync reads only the status.
fn refused() -> Response {
    StatusCode::UNAUTHORIZED.into_response()
}

/// `GET /api/v1/tasks`: the open tasks, by `child_order`.
async fn list(State(api): State<Api>, headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Response {
    if !authorized(&headers) {
        return refused();
    }
    api.with(|todoist| {
        let open = todoist.tasks.iter().filter(|task| !task.checked).map(Task::json).collect();
        todoist.page(open, &query, "results")
    })
}

/// `GET /api/v1/tasks/completed/by_completion_date`: tasks completed from `since` to `until`, both
/// required and at most three months apart.
async fn completed(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&headers) {
        return refused();
    }
    let time = |name: &str| query.get(name).and_then(|text| DateTime::parse_from_rfc3339(text).ok());
    let (Some(since), Some(until)) = (time("since"), time("until")) else {
        return (StatusCode::BAD_REQUEST, "since and until are required").into_response();
    };
    if until - since > chrono::Duration::days(92) {
        return (StatusCode::BAD_REQUEST, "the range is limited to 3 months").into_response();
    }
    api.with(|todoist| {
        let done = todoist
            .tasks
            .iter()
            .filter(|task| task.completed_at.is_some_and(|at| since <= at && at <= until))
            .map(Task::json)
            .collect();
        todoist.page(done, &query, "items")
    })
}

/// `POST /api/v1/tasks`: 200 with the new task. The X-Request-Id is recorded and does not make a
/// repeated create a no-op: Todoist does not promise that it does.
async fn create(State(api): State<Api>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if !authorized(&headers) {
        return refused();
    }
    let Some(content) = body["content"].as_str().filter(|content| !content.is_empty()) else {
        return (StatusCode::BAD_REQUEST, "Required argument is missing: content").into_response();
    };
    api.with(|todoist| {
        todoist.writes += 1;
        let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
        todoist.request_ids.push(request_id.into());
        let task = todoist.add(content, Utc::now()).json();
        if todoist.lose_answer_to.as_deref() == Some(content) {
            todoist.lose_answer_to = None;
            return StatusCode::BAD_GATEWAY.into_response();
        }
        Json(task).into_response()
    })
}

/// `POST /api/v1/tasks/{id}`: 200 with the task updated; 404 for a task it does not have.
async fn update(
    State(api): State<Api>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorized(&headers) {
        return refused();
    }
    api.with(|todoist| {
        todoist.writes += 1;
        let Some(task) = todoist.tasks.iter_mut().find(|task| task.id == id) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        if let Some(content) = body["content"].as_str() {
            task.content = content.into();
        }
        task.updated_at = Utc::now();
        Json(task.json()).into_response()
    })
}

/// `POST /api/v1/tasks/{id}/close` and `/reopen`: 204 with no body. Whether they move
/// `updated_at` is not documented, so here they do not.
async fn close_or_reopen(
    State(api): State<Api>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&headers) {
        return refused();
    }
    let checked = match action.as_str() {
        "close" => true,
        "reopen" => false,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    api.with(|todoist| {
        todoist.writes += 1;
        let Some(task) = todoist.tasks.iter_mut().find(|task| task.id == id) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        task.checked = checked;
        task.completed_at = checked.then(Utc::now);
        StatusCode::NO_CONTENT.into_response()
    })
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

    fn add(&self, content: &str) {
        let (status, out) = self.call(Method::POST, "/tasks", Some(json!({ "content": content })));
        assert_eq!(status, 201, "{out}");
    }

    fn edit(&self, content: &str, change: Value) {
        let tasks = self.tasks();
        let task = tasks.iter().find(|task| task["content"] == content).expect("a local task to edit");
        let (status, out) = self.call(Method::PATCH, &format!("/tasks/{}", task["id"]), Some(change));
        assert_eq!(status, 200, "{out}");
    }
}

fn start(hub: &Hub, todoist: &HttpServer, token: &str) -> Server {
    Server::start(
        hub.path(),
        &[("TODOIST_TOKEN", token), ("TODOIST_BASE_URL", &todoist.url()), ("HUB_TOKEN", HUB_TOKEN)],
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

fn todoist(api: &Api) -> HttpServer {
    let router = axum::Router::new()
        .route("/api/v1/tasks", get(list).post(create))
        .route("/api/v1/tasks/completed/by_completion_date", get(completed))
        .route("/api/v1/tasks/{id}", post(update))
        .route("/api/v1/tasks/{id}/{action}", post(close_or_reopen))
        .with_state(api.clone());
    HttpServer::start(router)
}

fn sorted(state: BTreeMap<String, (String, bool)>) -> Vec<(String, bool)> {
    let mut tasks: Vec<(String, bool)> = state.into_values().collect();
    tasks.sort();
    tasks
}

fn task(content: &str, completed: bool) -> (String, bool) {
    (content.to_string(), completed)
}

#[test]
fn syncs_both_ways_and_the_later_edit_wins() {
    let api = Api::default();
    let long_ago = Utc::now() - chrono::Duration::hours(2);
    for content in ["Buy milk", "Call Ada", "Book dentist", "Pay rent", "Old and done"] {
        api.add(content, long_ago);
    }
    api.complete("Old and done", true, long_ago);
    let todoist = todoist(&api);
    let hub = Hub::from_example("tasks-sync");
    // Only this test's POST /sync calls sync at first; the job's own schedule is tested last.
    with_schedule(&hub, "0 0 1 1 *");
    let server = start(&hub, &todoist, TODOIST_TOKEN);
    let client = Client { server: &server };

    assert_eq!(server.send(Method::POST, "/sync", &[], None).status, 401);
    client.add("Write report");
    client.add("Water plants");
    assert_eq!(client.call(Method::POST, "/tasks", Some(json!({ "content": "  " }))).0, 400);

    // The first sync brings each side's open tasks to the other, listing Todoist's page by page.
    let first = client.sync();
    assert_eq!(first, json!({ "created_remote": 2, "created_local": 4, "pushed": 0, "pulled": 0, "conflicts": 0 }));
    assert!(api.count(|todoist| todoist.pages) >= 2, "four open tasks fill two pages of {PAGE}");
    let remote = remote_without_old(&api);
    assert_eq!(client.state(), remote);

    // Edits on one side only, on both sides (a conflict each way), and on both sides but in
    // different fields (merged, no conflict). New tasks in Todoist: one open, one already done.
    client.edit("Write report", json!({ "content": "Write the report" }));
    client.edit("Water plants", json!({ "is_completed": true }));
    api.edit("Call Ada", "Call Ada about Rust", Utc::now());
    api.edit("Book dentist", "Book dentist (phone)", Utc::now() - chrono::Duration::seconds(1));
    client.edit("Book dentist", json!({ "content": "Book dentist for Friday" }));
    client.edit("Buy milk", json!({ "content": "Buy oat milk" }));
    // Stamped after the local edit returned, so later than it even at the local table's milliseconds.
    api.edit("Buy milk", "Buy almond milk", Utc::now());
    client.edit("Pay rent", json!({ "content": "Pay rent for May" }));
    api.complete("Pay rent", true, Utc::now());
    api.add("Plan trip", Utc::now());
    api.add("Renew passport", Utc::now());
    api.complete("Renew passport", true, Utc::now());

    let second = client.sync();
    assert_eq!(second, json!({ "created_remote": 0, "created_local": 2, "pushed": 4, "pulled": 3, "conflicts": 2 }));
    let remote = remote_without_old(&api);
    assert_eq!(client.state(), remote);
    assert_eq!(
        sorted(remote),
        [
            task("Book dentist for Friday", false),
            task("Buy almond milk", false),
            task("Call Ada about Rust", false),
            task("Pay rent for May", true),
            task("Plan trip", false),
            task("Renew passport", true),
            task("Water plants", true),
            task("Write the report", false),
        ]
    );

    // Nothing changed since: nothing to do, and our own writes do not come back as changes.
    let writes = api.count(|todoist| todoist.writes);
    let third = client.sync();
    assert_eq!(third, json!({ "created_remote": 0, "created_local": 0, "pushed": 0, "pulled": 0, "conflicts": 0 }));
    assert_eq!(api.count(|todoist| todoist.writes), writes);

    // Reopened in Todoist, and reopened here.
    api.complete("Water plants", false, Utc::now());
    client.edit("Pay rent for May", json!({ "is_completed": false }));
    let fourth = client.sync();
    assert_eq!(fourth, json!({ "created_remote": 0, "created_local": 0, "pushed": 1, "pulled": 1, "conflicts": 0 }));
    assert_eq!(client.state()[&remote_id(&api, "Water plants")], task("Water plants", false));
    assert_eq!(api.state()[&remote_id(&api, "Pay rent for May")], task("Pay rent for May", false));

    // A create whose answer is lost fails that sync; the next one finds the task it made instead of
    // making another.
    api.with(|todoist| todoist.lose_answer_to = Some("Call the bank".into()));
    client.add("Call the bank");
    assert_eq!(client.call(Method::POST, "/sync", None).0, 500);
    let fifth = client.sync();
    assert_eq!(fifth, json!({ "created_remote": 0, "created_local": 0, "pushed": 0, "pulled": 0, "conflicts": 0 }));
    let banks = api.state().values().filter(|(content, _)| content == "Call the bank").count();
    assert_eq!(banks, 1);
    assert_eq!(client.state(), remote_without_old(&api));
    let request_ids = api.with(|todoist| todoist.request_ids.clone());
    assert!(request_ids.iter().all(|id| !id.is_empty() && id.len() <= 36), "{request_ids:?}");

    // Deleted in Todoist, then edited here: the update finds no task (404), so the next sync creates
    // the task in Todoist again.
    api.with(|todoist| todoist.tasks.retain(|task| task.content != "Plan trip"));
    client.edit("Plan trip", json!({ "content": "Plan the trip" }));
    let nothing = json!({ "created_remote": 0, "created_local": 0, "pushed": 0, "pulled": 0, "conflicts": 0 });
    assert_eq!(client.sync(), nothing);
    let recreated = client.sync();
    assert_eq!(recreated, json!({ "created_remote": 1, "created_local": 0, "pushed": 0, "pulled": 0, "conflicts": 0 }));
    assert_eq!(client.state(), remote_without_old(&api));

    // The cron job runs the same sync, and the state survives a restart: with the job firing every
    // second, a task completed in Todoist arrives here and nothing is duplicated.
    drop(server);
    with_schedule(&hub, "* * * * * *");
    api.complete("Call Ada about Rust", true, Utc::now());
    let writes = api.count(|todoist| todoist.writes);
    let server = start(&hub, &todoist, TODOIST_TOKEN);
    let client = Client { server: &server };
    let arrived = wait_until(Duration::from_secs(30), || {
        client.tasks().iter().any(|task| task["content"] == "Call Ada about Rust" && task["is_completed"] == true)
    });
    assert!(arrived, "the cron sync did not pull the change; server log:\n{}", server.stderr());
    assert_eq!(client.state(), remote_without_old(&api));
    assert_eq!(api.count(|todoist| todoist.writes), writes);
}

#[test]
fn a_wrong_todoist_token_fails_the_sync_with_what_was_refused() {
    let api = Api::default();
    let todoist = todoist(&api);
    let hub = Hub::from_example("tasks-sync");
    let server = start(&hub, &todoist, "not-the-token");
    let (status, _) = Client { server: &server }.call(Method::POST, "/sync", None);
    assert_eq!(status, 500);
    let refused = "Todoist refused TODOIST_TOKEN while listing tasks (401)";
    // The log line may land just after the answer.
    let logged = wait_until(Duration::from_secs(10), || server.stderr().contains(refused));
    assert!(logged, "{}", server.stderr());
    assert_eq!(api.count(|todoist| todoist.writes), 0);
}

fn remote_id(api: &Api, content: &str) -> String {
    api.state().into_iter().find(|(_, (text, _))| text == content).map(|(id, _)| id).expect("a task")
}

fn remote_without_old(api: &Api) -> BTreeMap<String, (String, bool)> {
    let mut remote = api.state();
    remote.retain(|_, (content, _)| content != "Old and done");
    remote
}

#[test]
fn an_answer_not_shaped_like_api_v1_fails_the_sync_with_what_was_wrong() {
    // A bare array, as the retired REST v2 listed tasks: not the `{results, next_cursor}` page.
    let v2 = axum::Router::new().route("/api/v1/tasks", get(|| async { Json(json!([{ "id": "1", "content": "x" }])) }));
    let todoist = HttpServer::start(v2);
    let hub = Hub::from_example("tasks-sync");
    let server = start(&hub, &todoist, TODOIST_TOKEN);
    assert_eq!(Client { server: &server }.call(Method::POST, "/sync", None).0, 500);
    let wrong = "Todoist answered listing tasks without a \"results\" list";
    let logged = wait_until(Duration::from_secs(10), || server.stderr().contains(wrong));
    assert!(logged, "{}", server.stderr());
}
