//! The admin API under `/_/`: the run log, metrics and firing a cron job, for keys with the
//! `admin` scope.

use super::reply::ApiError;
use super::{AppState, auth};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

/// The scope a key needs for `/_/runs` and `/_/metrics`.
pub const ADMIN_SCOPE: &str = "admin";

fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let live = state.live.load();
    let token = auth::presented_token(headers);
    let key = token
        .and_then(|token| auth::find_key(&live.snapshot.manifest, token))
        .ok_or_else(|| ApiError::Unauthorized { message: "the admin API needs a key with the `admin` scope".into() })?;
    if key.scopes.iter().any(|scope| scope == ADMIN_SCOPE) {
        Ok(())
    } else {
        Err(ApiError::Forbidden { missing: vec![ADMIN_SCOPE.to_string()] })
    }
}

/// Query parameters of `GET /_/runs`.
#[derive(Debug, Deserialize)]
pub struct RunsQuery {
    script: Option<String>,
    status: Option<String>,
    since: Option<String>,
    limit: Option<usize>,
}

/// `GET /_/runs`: records newest first, filtered like `switchboard runs list`: at most
/// `store::MAX_PAGE` of them (50 unless `limit` says), whole up to about `store::PAGE_BYTES`,
/// summaries after.
pub async fn runs(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    if let Err(error) = authorize(&state, &headers) {
        return error.into_response();
    }
    // Read only once the key is checked: a caller without one learns nothing of the parameters.
    let pairs = form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes());
    let query: RunsQuery = match serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs)) {
        Ok(query) => query,
        Err(err) => {
            let message = format!("invalid query parameters: {err}");
            return ApiError::BadRequest { message, details: vec![] }.into_response();
        }
    };
    let since = match query.since.as_deref().map(crate::runlog::since).transpose() {
        Ok(since) => since,
        Err(err) => return ApiError::BadRequest { message: err.to_string(), details: vec![] }.into_response(),
    };
    let filter =
        crate::store::RunFilter { script: query.script, status: query.status, since, limit: query.limit.unwrap_or(50) };
    let snapshot = Arc::clone(&state.live.load().snapshot);
    let listed = tokio::task::spawn_blocking(move || {
        snapshot.capabilities.host.runlog.flush();
        snapshot.capabilities.store.get().map_err(|e| e.to_string())?.runs_page(&filter).map_err(|e| e.to_string())
    })
    .await;
    match listed {
        Ok(Ok(page)) => axum::Json(serde_json::json!({ "runs": page.json() })).into_response(),
        Ok(Err(message)) => internal(&message),
        Err(err) => internal(&err.to_string()),
    }
}

/// The path parameter of an admin endpoint, read only once the key is checked: a caller without
/// one learns nothing of it.
fn authorized_path(
    state: &AppState,
    headers: &HeaderMap,
    param: Result<Path<String>, PathRejection>,
) -> Result<String, ApiError> {
    authorize(state, headers)?;
    param.map(|Path(value)| value).map_err(|err| ApiError::BadRequest { message: err.body_text(), details: vec![] })
}

/// `GET /_/runs/{id}`: one record.
pub async fn run(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let id = match authorized_path(&state, &headers, id) {
        Ok(id) => id,
        Err(refused) => return refused.into_response(),
    };
    let snapshot = Arc::clone(&state.live.load().snapshot);
    let lookup = id.clone();
    let found = tokio::task::spawn_blocking(move || {
        snapshot.capabilities.host.runlog.flush();
        snapshot.capabilities.store.get().map_err(|e| e.to_string())?.run_get(&lookup).map_err(|e| e.to_string())
    })
    .await;
    match found {
        Ok(Ok(Some(record))) => axum::Json(record).into_response(),
        Ok(Ok(None)) => ApiError::NotFound { method: "run".into(), path: id }.into_response(),
        Ok(Err(message)) => internal(&message),
        Err(err) => internal(&err.to_string()),
    }
}

/// `POST /_/cron/{name}/run`: queues cron job `name` to run now, as `switchboard cron run` does;
/// 202 once the run is stored in the queue.
pub async fn cron_run(
    State(state): State<AppState>,
    headers: HeaderMap,
    name: Result<Path<String>, PathRejection>,
) -> Response {
    let name = match authorized_path(&state, &headers, name) {
        Ok(name) => name,
        Err(refused) => return refused.into_response(),
    };
    let snapshot = Arc::clone(&state.live.load().snapshot);
    let background = crate::triggers::background::Background {
        events_ready: Arc::clone(&state.events_ready),
        queue: Arc::clone(&state.queue),
    };
    match crate::triggers::cron::fire_now(snapshot, &name, &background).await {
        Ok(fired_at) => (
            axum::http::StatusCode::ACCEPTED,
            axum::Json(serde_json::json!({ "job": name, "scheduled_at": fired_at.to_rfc3339() })),
        )
            .into_response(),
        Err(err @ crate::triggers::cron::ManualError::UnknownJob { .. }) => {
            (axum::http::StatusCode::NOT_FOUND, axum::Json(serde_json::json!({ "error": err.to_string() })))
                .into_response()
        }
        Err(err) => {
            tracing::error!("admin API: {err}");
            (axum::http::StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({ "error": err.to_string() })))
                .into_response()
        }
    }
}

/// `GET /_/metrics`: Prometheus text.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(error) = authorize(&state, &headers) {
        return error.into_response();
    }
    let text = state.live.load().snapshot.capabilities.host.metrics.render();
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))], text)
        .into_response()
}

fn internal(message: &str) -> Response {
    tracing::error!("admin API: {message}");
    (
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(serde_json::json!({ "error": "cannot read the run log" })),
    )
        .into_response()
}
