//! The `examples/crm-to-mailing-list` hub end to end.

use crate::harness::{HttpServer, Hub, Server, wait_until};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::prelude::{BASE64_STANDARD, Engine as _};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const API_KEY: &str = "0123456789abcdef0123456789abcdef-us21";
const LIST_ID: &str = "c0ffee1234";

/// A Mailchimp audience as the Marketing API shows it: who is a member, and every request that
/// got past authentication.
#[derive(Default)]
struct Audience {
    members: Mutex<BTreeSet<String>>,
    requests: Mutex<Vec<Value>>,
}

impl Audience {
    fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }

    /// The `email_address` of every POST, in order.
    fn posted(&self) -> Vec<String> {
        self.requests().iter().map(|body| body["email_address"].as_str().unwrap_or_default().to_string()).collect()
    }
}

/// Mailchimp's error body (application/problem+json).
fn problem(status: StatusCode, title: &str, detail: &str) -> (StatusCode, Json<Value>) {
    let body = json!({
        "type": "https://mailchimp.com/developer/marketing/docs/errors/",
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
        "instance": "2e5c4f4e-7a8b-4c3d-9e0f-1a2b3c4d5e6f",
    });
    (status, Json(body))
}

/// `POST /3.0/lists/{list_id}/members`, with Mailchimp's answers: 401 for a wrong key, 404 for
/// an unknown audience, 400 "Member Exists" for a duplicate, 400 "Invalid Resource" for an
/// address it considers fake, else 200 with the new member.
async fn add_member(
    State(audience): State<Arc<Audience>>,
    Path(list_id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let expected = format!("Basic {}", BASE64_STANDARD.encode(format!("anystring:{API_KEY}")));
    if headers.get("authorization").and_then(|value| value.to_str().ok()) != Some(expected.as_str()) {
        let detail = "Your API key may be invalid, or you've attempted to access the wrong datacenter.";
        return problem(StatusCode::UNAUTHORIZED, "API Key Invalid", detail);
    }
    if list_id != LIST_ID {
        return problem(StatusCode::NOT_FOUND, "Resource Not Found", "The requested resource could not be found.");
    }
    audience.requests.lock().unwrap().push(body.clone());
    let email = body["email_address"].as_str().unwrap_or_default().to_lowercase();
    if email.ends_with(".invalid") {
        let detail = format!("{email} looks fake or invalid, please enter a real email address.");
        return problem(StatusCode::BAD_REQUEST, "Invalid Resource", &detail);
    }
    if !audience.members.lock().unwrap().insert(email.clone()) {
        let detail = format!("{email} is already a list member. Use PUT to insert or update list members.");
        return problem(StatusCode::BAD_REQUEST, "Member Exists", &detail);
    }
    let member = json!({
        "id": format!("{:x}", email.len() * 7919),
        "email_address": email,
        "status": body["status"],
        "merge_fields": body["merge_fields"],
        "list_id": list_id,
    });
    (StatusCode::OK, Json(member))
}

/// Puts `contents` into the watched folder the way a browser download or `mv` does: written
/// elsewhere, then renamed in.
fn drop_file(hub: &Hub, name: &str, contents: &str) {
    hub.file(&format!("staging/{name}"), contents);
    std::fs::rename(hub.path().join("staging").join(name), hub.path().join("inbox").join(name)).unwrap();
}

fn exists(hub: &Hub, relative: &str) -> bool {
    hub.path().join(relative).exists()
}

/// The error file's rows as (line, email, error).
fn error_rows(hub: &Hub, relative: &str) -> Vec<(String, String, String)> {
    let mut reader = csv::Reader::from_path(hub.path().join(relative)).unwrap();
    let headers = reader.headers().unwrap().clone();
    assert_eq!(headers.iter().collect::<Vec<_>>(), ["line", "name", "email", "company", "signed_up", "error"]);
    reader
        .records()
        .map(Result::unwrap)
        .map(|row| (row[0].to_string(), row[2].to_string(), row[5].to_string()))
        .collect()
}

const FIRST_EXPORT: &str = "\
name,email,company,signed_up
Ada Lovelace,ada@example.com,Analytical Engines Ltd,2024-05-02
Grace Hopper,Grace@Example.com,US Navy,2024-05-03
Alan Turing,,Bletchley Park,2024-05-04
Katherine Johnson,katherine.johnson(at)nasa.gov,NASA,2024-05-05
Mallory Fake,mallory@nowhere.invalid,Nowhere Inc,2024-05-06
Linus,linus@example.com,,2024-05-07
Ada Lovelace,ADA@example.com,Analytical Engines Ltd,2024-05-02
";

const SECOND_EXPORT: &str = "\
Name,Email,Company,Signed_up
Ada Lovelace,ada@example.com,Analytical Engines Ltd,2024-05-02
Margaret Heafield Hamilton,margaret@example.com,\"MIT, Instrumentation Lab\",2024-06-10
";

#[test]
fn each_customer_is_added_once_bad_rows_are_reported_and_files_are_sorted() {
    let audience = Arc::new(Audience::default());
    // Grace signed up on the website before: Mailchimp has her already.
    audience.members.lock().unwrap().insert("grace@example.com".into());
    let api = HttpServer::start(
        axum::Router::new().route("/3.0/lists/{list_id}/members", post(add_member)).with_state(Arc::clone(&audience)),
    );
    let hub = Hub::from_example("crm-to-mailing-list");
    let env = [
        ("MAILCHIMP_BASE_URL", api.url()),
        ("MAILCHIMP_LIST_ID", LIST_ID.into()),
        ("MAILCHIMP_API_KEY", API_KEY.into()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(key, value)| (*key, value.as_str())).collect();
    let server = Server::start(hub.path(), &env);
    assert!(wait_until(WAIT, || server.stderr().contains(": watching ")), "{}", server.stderr());

    drop_file(&hub, "crm-2024-06.csv", FIRST_EXPORT);
    assert!(wait_until(WAIT, || exists(&hub, "inbox/done/crm-2024-06.csv")), "{}", server.stderr());
    assert!(!exists(&hub, "inbox/crm-2024-06.csv"));

    // Every row with a plausible address was sent once, the repeated Ada only once; the rows
    // without a usable address never reached Mailchimp.
    assert_eq!(
        audience.posted(),
        ["ada@example.com", "grace@example.com", "mallory@nowhere.invalid", "linus@example.com"]
    );
    let requests = audience.requests();
    assert_eq!(
        requests[0],
        json!({
            "email_address": "ada@example.com",
            "status": "subscribed",
            "merge_fields": { "FNAME": "Ada", "LNAME": "Lovelace" },
        })
    );
    assert_eq!(requests[3]["merge_fields"], json!({ "FNAME": "Linus", "LNAME": "" }));
    assert_eq!(
        *audience.members.lock().unwrap(),
        BTreeSet::from(["ada@example.com".into(), "grace@example.com".into(), "linus@example.com".into()])
    );

    // The rows that were not added are in the error file with their line and the reason.
    let errors = error_rows(&hub, "inbox/failed/crm-2024-06.errors.csv");
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert_eq!(errors[0], ("4".into(), "".into(), "email is missing".into()));
    assert_eq!(
        errors[1],
        (
            "5".into(),
            "katherine.johnson(at)nasa.gov".into(),
            "\"katherine.johnson(at)nasa.gov\" is not an email address".into()
        )
    );
    assert_eq!((errors[2].0.as_str(), errors[2].1.as_str()), ("6", "mallory@nowhere.invalid"));
    assert!(
        errors[2].2.starts_with("Mailchimp: Invalid Resource: ") && errors[2].2.contains("looks fake"),
        "{errors:?}"
    );

    // A later export repeats Ada (and the spreadsheet capitalized its header): only Margaret is new.
    hub.file("inbox/crm-2024-07.csv", SECOND_EXPORT);
    assert!(wait_until(WAIT, || exists(&hub, "inbox/done/crm-2024-07.csv")), "{}", server.stderr());
    assert_eq!(audience.posted()[4..], ["margaret@example.com"]);
    assert_eq!(audience.requests()[4]["merge_fields"], json!({ "FNAME": "Margaret", "LNAME": "Heafield Hamilton" }));
    assert!(!exists(&hub, "inbox/failed/crm-2024-07.errors.csv"), "a clean export has no error file");

    // A file that is not a customer export at all fails as a whole and goes to failed/.
    drop_file(&hub, "meeting-notes.csv", "title,body\nStandup,All good\n");
    assert!(wait_until(WAIT, || exists(&hub, "inbox/failed/meeting-notes.csv")), "{}", server.stderr());
    assert!(server.stderr().contains("meeting-notes.csv has no \"email\" column"), "{}", server.stderr());
    assert_eq!(audience.posted().len(), 5, "{:?}", audience.posted());
}
