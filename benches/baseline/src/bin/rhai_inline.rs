//! The design's inline prototype, as a reference point between bare axum and Switchboard: axum
//! evaluating the demo's hello script, compiled once, inline on the tokio worker, with `input`
//! built from the query string and the result turned into JSON. No run ids, limits, events, run
//! log or metrics.
//!
//! `rhai-inline [ADDR]` prints `listening on http://IP:PORT` first on stdout.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rhai::{AST, Dynamic, Engine, Map, Scope};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The demo hub's `scripts/hello.rhai`, with `time::now()` as a plain function.
const HELLO: &str = r#"
let name = input.name ?? "world";
#{ message: `Hello, ${name}!`, at: now() }
"#;

struct App {
    engine: Engine,
    hello: AST,
}

async fn hello_handler(State(app): State<Arc<App>>, Query(query): Query<BTreeMap<String, String>>) -> Response {
    let mut input = Map::new();
    for (name, value) in query {
        input.insert(name.into(), Dynamic::from(value));
    }
    let mut scope = Scope::new();
    scope.push("input", input);
    match app.engine.eval_ast_with_scope::<Dynamic>(&mut scope, &app.hello) {
        Ok(value) => match rhai::serde::from_dynamic::<serde_json::Value>(&value) {
            Ok(json) => axum::Json(json).into_response(),
            Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
        },
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:0".to_string());
    let mut engine = Engine::new();
    // As in Switchboard: with the `sync` feature, rhai sleeps 10 ms when two threads contend on
    // its string interner, which `${...}` interpolation uses.
    engine.set_max_strings_interned(0);
    engine.register_fn("now", || chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
    let hello = engine.compile(HELLO).map_err(|err| std::io::Error::other(err.to_string()))?;
    let app = Router::new().route("/hello", get(hello_handler)).with_state(Arc::new(App { engine, hello }));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
