//! OpenAPI document, /docs, `openapi` and `routes` commands.

use crate::harness::Hub;
use serde_json::Value;

fn hub() -> Hub {
    let hub = Hub::new();
    hub.manifest(
        r#"
[[route]]
method = "GET"
path = "/weather/current"
script = "weather"
auth = "public"
summary = "Current weather"
description = "Weather for a city, cached for ten minutes."
query = { city = { type = "string", required = true, description = "City name" }, units = { enum = ["metric", "imperial"], default = "metric" } }
rate_limit = "60/minute"

[[route]]
method = "POST"
path = "/tasks"
script = "tasks/create"
scopes = ["tasks:write"]
body_schema = "schemas/task.json"

[[route]]
method = "GET"
path = "/tasks/:id"
script = "tasks/get"

[[route]]
method = "POST"
path = "/jobs"
script = "tasks/create"
mode = "queue"
"#,
    );
    hub.script("weather", "1").script("tasks/create", "1").script("tasks/get", "1").file(
        "schemas/task.json",
        r#"{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}"#,
    );
    hub
}

fn check_document(document: &Value) {
    let text = document.to_string();
    let spec = oas3::from_json(&text).expect("a valid OpenAPI 3.1 document");
    assert_eq!(spec.openapi, "3.1.0");
    let paths = &document["paths"];
    let weather = &paths["/weather/current"]["get"];
    assert_eq!(weather["summary"], "Current weather");
    assert_eq!(weather["security"], serde_json::json!([]));
    let city = weather["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "city").unwrap();
    assert_eq!(city["in"], "query");
    assert_eq!(city["required"], true);
    assert_eq!(city["description"], "City name");
    let create = &paths["/tasks"]["post"];
    assert_eq!(create["security"][0]["bearerAuth"], serde_json::json!(["tasks:write"]));
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"]["required"],
        serde_json::json!(["title"])
    );
    assert!(create["responses"].get("403").is_some());
    let get = &paths["/tasks/{id}"]["get"];
    assert_eq!(get["parameters"][0]["in"], "path");
    // Every answer the hub can give is declared: errors with the Error schema.
    for status in ["2XX", "400", "401", "404", "413", "4XX", "500", "504", "5XX"] {
        assert!(get["responses"].get(status).is_some(), "{status} undeclared: {}", get["responses"]);
    }
    assert_eq!(get["responses"]["404"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error");
    assert!(get.get("requestBody").is_none(), "no body_schema, no declared body");
    let queued = &paths["/jobs"]["post"]["responses"];
    assert_eq!(
        queued["202"]["content"]["application/json"]["schema"]["required"],
        serde_json::json!(["run_id", "status"])
    );
    assert!(queued.get("2XX").is_none() && queued.get("503").is_some(), "{queued}");
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(schemes["apiKeyHeader"]["name"], "X-Api-Key");
}

#[test]
fn openapi_json_is_valid_and_describes_every_route() {
    let hub = hub();
    let server = hub.serve();
    let reply = server.get("/openapi.json", &[]);
    assert_eq!(reply.status, 200);
    check_document(&reply.json());
}

#[test]
fn openapi_command_prints_the_same_document() {
    let hub = hub();
    check_document(&hub.cmd(&["openapi"]).output().json());
}

#[test]
fn docs_page_shows_every_route_with_a_curl_example() {
    let hub = hub();
    let server = hub.serve();
    let reply = server.get("/docs", &[]);
    assert_eq!(reply.status, 200);
    assert!(reply.header("content-type").unwrap().starts_with("text/html"));
    let page = reply.text;
    for fragment in [
        "/weather/current",
        "Current weather",
        "City name",
        "/tasks/{id}",
        "tasks:write",
        "&quot;required&quot;",
        &format!("curl &#x27;{}/weather/current?city=VALUE&#x27;", server.base).replace("&#x27;", "'"),
        &format!("curl -X POST '{}/tasks'", server.base),
        "Authorization: Bearer YOUR_TOKEN",
    ] {
        assert!(page.contains(fragment), "docs lack {fragment:?}");
    }
    assert!(!page.contains("http://cdn") && !page.contains("https://"), "the page must work offline");
}

#[test]
fn routes_command_lists_routes_with_their_auth() {
    let hub = hub();
    let out = hub.cmd(&["routes"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("GET     /weather/current"), "{}", out.stdout);
    assert!(out.stdout.contains("(key: tasks:write)"));
    assert!(out.stdout.contains("/tasks/{id}"));
}

#[test]
fn routes_command_shows_each_watch_with_its_patterns_and_events() {
    let hub = Hub::new();
    hub.manifest(
        "[[watch]]\npath = \"inbox\"\npattern = [\"*.csv\", \"*.tsv\"]\nscript = \"import\"\nevents = [\"created\", \"modified\"]\nrecursive = true\n\n\
         [[watch]]\npath = \"drop\"\nscript = \"import\"\n",
    );
    hub.script("import", "()");
    let out = hub.cmd(&["routes"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("(*.csv, *.tsv; created, modified, recursive)"), "{}", out.stdout);
    assert!(out.stdout.contains("(*; created)"), "{}", out.stdout);
}

#[test]
fn docs_page_escapes_what_a_request_or_the_manifest_puts_in_it() {
    let hub = Hub::new();
    hub.manifest(
        r#"
[[route]]
method = "GET"
path = "/a/:id"
script = "a"
auth = "public"
summary = "<img src=x onerror=alert(1)>"
description = "</p><script>alert(2)</script>"
query = { "q<b>" = { description = "<i>x</i>" } }
"#,
    )
    .script("a", "1");
    let server = hub.serve();
    for host in ["<script>alert(3)</script>", "x';touch /tmp/p;'", "a\"b"] {
        let request = format!("GET /docs HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let reply = crate::serve_paths::raw_request(&server, request.as_bytes());
        assert_eq!(reply.status, 200, "{reply:?}");
        let page = String::from_utf8_lossy(&reply.body);
        for raw in ["<script", "<img", "<i>", "<b>", "';touch", "a\"b"] {
            assert!(!page.contains(raw), "the page shows {raw:?} unescaped for Host {host:?}:\n{page}");
        }
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"), "{page}");
    }
    let normal = crate::serve_paths::raw_request(
        &server,
        b"GET /docs HTTP/1.1\r\nHost: hub.local:8080\r\nConnection: close\r\n\r\n",
    );
    assert!(String::from_utf8_lossy(&normal.body).contains("curl 'http://hub.local:8080/a/{id}'"));
}
