//! The HTTP trigger: `switchboard serve` on axum. [`router`] builds the whole app so tests can
//! drive it without a socket; [`server::serve`] runs it on a bound listener until shutdown.

mod admin;
mod app;
mod auth;
mod dispatch;
mod docs;
mod early;
mod event;
mod input;
mod limits;
pub mod openapi;
mod params;
mod reply;
pub mod server;
mod table;
mod verify;

use crate::hub::Snapshot;
pub use admin::ADMIN_SCOPE;
use arc_swap::ArcSwap;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
pub use table::{RouteTable, pattern};

/// Why a snapshot cannot be served over HTTP.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// A route that cannot be served, as `route[N].key: what is wrong`.
    #[error(transparent)]
    Routes(#[from] table::TableError),
    #[error("cannot write the OpenAPI document: {0}")]
    OpenApi(#[from] serde_json::Error),
}

/// What the HTTP trigger serves from one snapshot, built whole and swapped whole.
pub struct Live {
    pub snapshot: Arc<Snapshot>,
    pub table: RouteTable,
    openapi: String,
    docs: String,
}

impl Live {
    /// Builds the route table, OpenAPI document and docs page of a snapshot.
    pub fn new(snapshot: Arc<Snapshot>) -> Result<Self, LiveError> {
        let table = RouteTable::build(&snapshot.dir, &snapshot.manifest)?;
        let document = openapi::document(&snapshot.dir, &snapshot.manifest);
        let openapi = serde_json::to_string_pretty(&document)?;
        let docs = docs::page(&snapshot.manifest, &document);
        Ok(Self { snapshot, table, openapi, docs })
    }
}

/// How the last reload went, for `/_/health`.
#[derive(Clone, Debug, Default)]
pub struct Status {
    /// The error of the last reload, while the previous snapshot keeps serving.
    pub reload_error: Option<String>,
    pub reloaded_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Shared state of every request: the served hub's live snapshot (owned by the service, one
/// atomic pointer) and the queue. One `Arc`, so the clone axum makes for each request is a
/// single reference count.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] shares.
pub struct Shared {
    pub live: Arc<ArcSwap<Live>>,
    pub status: ArcSwap<Status>,
    /// Notified when a run emitted events, so the dispatcher delivers them at once.
    pub events_ready: Arc<tokio::sync::Notify>,
    /// The durable queue of `mode = "queue"` routes.
    pub queue: Arc<crate::queue::Queue>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// State serving whatever `live` holds at each request, queueing on `queue`.
    pub fn new(
        live: Arc<ArcSwap<Live>>,
        queue: Arc<crate::queue::Queue>,
        events_ready: Arc<tokio::sync::Notify>,
    ) -> Self {
        Self(Arc::new(Shared { live, status: ArcSwap::from_pointee(Status::default()), events_ready, queue }))
    }
}

/// Every route of the app: built-in endpoints, then the hub's routes as the fallback. (A
/// connection's [`app::App`] sends only built-in paths here.)
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/_/health", get(health))
        .route("/_/runs", get(admin::runs))
        .route("/_/runs/{id}", get(admin::run))
        .route("/_/metrics", get(admin::metrics))
        .route("/_/cron/{name}/run", axum::routing::post(admin::cron_run))
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(docs_page))
        .fallback(dispatch::fallback)
        .with_state(state)
}

async fn health(State(state): State<AppState>) -> Response {
    let live = state.live.load();
    let status = state.status.load();
    axum::Json(serde_json::json!({
        "status": if status.reload_error.is_some() { "degraded" } else { "ok" },
        "routes": live.snapshot.manifest.routes.len(),
        "scripts": live.snapshot.scripts.len(),
        "last_reload_error": status.reload_error,
        "reloaded_at": status.reloaded_at.map(|t| t.to_rfc3339()),
    }))
    .into_response()
}

async fn openapi_json(State(state): State<AppState>) -> Response {
    let live = state.live.load();
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], live.openapi.clone()).into_response()
}

/// The page with the address it was requested from in its examples: the `Host` header when it
/// is a plain host and port (anything else, say `<script>` or a quote that would end the curl
/// command's quoting, gives way to `[server] listen`), escaped like all the page's text.
async fn docs_page(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let live = state.live.load();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|host| docs::is_host(host))
        .unwrap_or(live.snapshot.manifest.server.listen.as_str());
    Html(live.docs.replace(docs::BASE, &docs::escape(&format!("http://{host}")))).into_response()
}
