//! The bare axum baseline of the benchmark harness: the same routes as `benches/hubs/http`, answered
//! by plain Rust handlers, so every Switchboard figure can be given as a ratio to bare axum.
//!
//! `baseline [ADDR]` binds ADDR (default `127.0.0.1:0`) and prints `listening on http://IP:PORT` first
//! on stdout, like `switchboard serve --listen 127.0.0.1:0`.

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::hint::black_box;

/// The token of the bench hub's key.
const TOKEN: &str = "bench-token";

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// `GET /hello?name=`: like `scripts/hello.rhai`.
async fn hello(Query(query): Query<BTreeMap<String, String>>) -> axum::Json<Value> {
    let name = query.get("name").map_or("world", String::as_str);
    axum::Json(json!({ "message": format!("Hello, {name}!"), "at": now() }))
}

/// `POST /echo?tag=` with a JSON object body: like `scripts/echo.rhai` (query and body merged).
async fn echo(Query(query): Query<BTreeMap<String, String>>, body: axum::body::Bytes) -> Response {
    let Some(tag) = query.get("tag") else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": "tag is required" }))).into_response();
    };
    let mut fields: Map<String, Value> = match serde_json::from_slice(&body) {
        Ok(Value::Object(fields)) => fields,
        _ => {
            return (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": "expected a JSON object" }))).into_response();
        }
    };
    fields.insert("tag".into(), Value::String(tag.clone()));
    let title = fields.get("title").cloned().unwrap_or(Value::Null);
    axum::Json(json!({ "tag": tag, "title": title, "fields": fields.len(), "at": now() })).into_response()
}

/// `GET /private`: a key is required, like a private route of the bench hub.
async fn private(headers: HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let api_key = headers.get("x-api-key").and_then(|value| value.to_str().ok());
    if bearer.or(api_key) != Some(TOKEN) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({ "error": "a key is required" }))).into_response();
    }
    axum::Json(json!({ "message": "Hello, bench!", "client": "bench" })).into_response()
}

/// `GET /loop`: 1,000 loop iterations, like `scripts/loop.rhai`.
async fn looped() -> axum::Json<Value> {
    let mut sum: i64 = 0;
    for i in 0..1000 {
        sum += black_box(i);
    }
    axum::Json(json!({ "sum": sum }))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:0".to_string());
    let app = Router::new()
        .route("/hello", get(hello))
        .route("/echo", post(echo))
        .route("/private", get(private))
        .route("/loop", get(looped));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
