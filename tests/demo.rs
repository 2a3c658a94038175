//! The demo hub in the repository root, driven with the README's five-minute tour.

use crate::harness::{Hub, Server};
use reqwest::Method;

fn demo() -> Hub {
    let hub = Hub::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    hub.file("switchboard.toml", &std::fs::read_to_string(root.join("switchboard.toml")).unwrap());
    for folder in ["scripts", "scripts/tasks", "lib"] {
        for entry in std::fs::read_dir(root.join(folder)).unwrap().flatten() {
            if entry.path().is_file() {
                let name = format!("{folder}/{}", entry.file_name().to_string_lossy());
                hub.file(&name, &std::fs::read_to_string(entry.path()).unwrap());
            }
        }
    }
    hub
}

#[test]
fn the_readme_tour_works_against_the_demo_hub() {
    let hub = demo();
    let server = Server::start(hub.path(), &[]);
    let hello = server.get("/hello?name=Ada", &[]);
    assert_eq!(hello.json()["message"], "Hello, Ada!");
    assert_eq!(server.get("/tasks", &[]).status, 401);
    let key = [("authorization", "Bearer demo-token-change-me"), ("content-type", "application/json")];
    let created = server.send(Method::POST, "/tasks", &key, Some(r#"{"title": "Try Switchboard"}"#));
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("location").as_deref(), Some("/tasks/1"));
    assert_eq!(created.json()["done"], false);
    let listed = server.get("/tasks", &key);
    assert_eq!(listed.json()[0]["title"], "Try Switchboard");
    let done = server.send(Method::POST, "/tasks/1/done", &key, None);
    assert_eq!(done.json()["done"], true);
    assert_eq!(server.get("/tasks?done=true", &key).json().as_array().unwrap().len(), 1);
    assert_eq!(server.send(Method::DELETE, "/tasks/1", &key, None).status, 204);
    assert_eq!(server.get("/tasks/1", &key).status, 404);
    let blank = server.send(Method::POST, "/tasks", &key, Some(r#"{"title": "   "}"#));
    assert_eq!((blank.status, blank.json()["error"].as_str()), (400, Some("`title` must not be blank")));
    assert!(server.get("/docs", &[]).text.contains("/tasks/{id}"));
}
