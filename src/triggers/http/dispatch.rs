//! The request pipeline of a user route: match, authenticate, limit, read and check the body,
//! run the script on the snapshot current at arrival, and answer.

use super::event::HttpEvent;
use super::reply::{self, ApiError};
use super::table::{Lookup, RouteEntry};
use super::{AppState, Live, auth, input, params, verify};
use crate::config::{Auth, Mode};
use crate::engine::RunError;
use crate::engine::convert;
use crate::runner::{self, EventText, Invocation};
use axum::body::Body as AxumBody;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use rhai::{Dynamic, Map};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;

/// Parsed once: a header name given as text is parsed on every insert.
const X_RUN_ID: HeaderName = HeaderName::from_static("x-run-id");

/// The router's fallback: a path under a built-in prefix that no built-in endpoint has.
pub async fn fallback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    handle(&state, peer, request).await
}

/// A request to the hub's routes.
pub async fn handle(state: &AppState, peer: SocketAddr, request: Request) -> Response {
    let run_id = runner::new_id();
    let live = state.live.load_full();
    let mut route = None;
    let mut response = match serve(state, &live, peer, request, &run_id, &mut route).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    let metrics = &live.snapshot.capabilities.host.metrics;
    metrics.http(route.as_ref().map_or("unmatched", |route| &*route.label), response.status().as_u16());
    // The id's own buffer becomes the header value; `from_str` would copy it.
    if let Ok(value) = HeaderValue::from_maybe_shared(axum::body::Bytes::from(run_id)) {
        response.headers_mut().insert(X_RUN_ID, value);
    }
    response
}

async fn serve(
    state: &AppState,
    live: &Arc<Live>,
    peer: SocketAddr,
    request: Request,
    run_id: &str,
    matched: &mut Option<Arc<RouteEntry>>,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let (route, params) = match live.table.lookup(&parts.method, path) {
        Lookup::Found { route, params } => (&*matched.insert(route), params),
        Lookup::WrongMethod { allowed } => {
            return Err(ApiError::MethodNotAllowed { allowed: allowed.into_iter().map(String::from).collect() });
        }
        Lookup::NotFound => {
            return Err(ApiError::NotFound { method: parts.method.to_string(), path: path.to_string() });
        }
    };
    let manifest = &live.snapshot.manifest;
    let config = &manifest.routes[route.index];

    let key = auth::presented_token(&parts.headers).and_then(|token| auth::find_key(manifest, token));
    if config.auth == Auth::Private {
        let Some(key) = key else {
            let message =
                if auth::presented_token(&parts.headers).is_some() { "unknown key" } else { "a key is required" };
            return Err(ApiError::Unauthorized {
                message: format!("{message}: send `Authorization: Bearer TOKEN` or `X-Api-Key: TOKEN`"),
            });
        };
        let missing = auth::missing_scopes(key, &config.scopes);
        if !missing.is_empty() {
            return Err(ApiError::Forbidden { missing: missing.into_iter().map(String::from).collect() });
        }
    }
    let client = key.map(|key| key.name.as_str());
    let rate = match &route.rate_limit {
        Some(limit) => {
            let caller = client.map_or_else(|| format!("ip:{}", peer.ip()), |name| format!("key:{name}"));
            let allowed = limit.check(&caller).map_err(|denied| ApiError::RateLimited {
                limit: denied.limit,
                retry_after: denied.retry_after_seconds,
            })?;
            Some(allowed)
        }
        None => None,
    };

    // After the key is checked, as every other input: a caller without one learns nothing.
    let params = if config.raw_path { params } else { params::decode(params, route.wildcard.as_deref())? };
    let bytes = read_body(&parts.headers, body, manifest.server.max_body.0).await?;
    if let Some(verify) = &config.verify {
        verify::check(verify, &parts.headers, &bytes)
            .map_err(|err| ApiError::Unauthorized { message: err.to_string() })?;
    }
    let raw_query = input::raw_query(parts.uri.query());
    let query = input::typed_query(&raw_query, &config.query)?;
    let body = input::parse_body(&parts.headers, &bytes)?;
    if let Some(schema) = &route.schema {
        if matches!(body, input::Body::Text) {
            return Err(ApiError::UnsupportedMediaType);
        }
        input::validate(schema, &body.as_json())?;
    }

    // Built straight as Rhai values: the script reads them, the run log writes them as JSON after the run.
    let mut fields = query;
    if config.params.is_empty() {
        for (name, value) in &params {
            fields.insert(name.as_str().into(), value.as_str().into());
        }
    } else {
        fields.extend(input::typed_params(&params, &config.params)?);
    }
    if let input::Body::Json(Value::Object(object)) | input::Body::Form(object) = &body {
        for (name, value) in object {
            fields.insert(name.as_str().into(), convert::to_dynamic(value));
        }
    }
    let input = Dynamic::from_map(fields);
    let event = HttpEvent::new(&parts, route, &params, &raw_query, &bytes, client);

    if config.mode == Mode::Queue {
        let queue =
            state.queue.get().ok_or_else(|| ApiError::Unavailable { message: "the queue is not running".into() })?;
        let mut invocation = Invocation::with_event(config.script.clone(), input, event.to_map());
        invocation.run_id = Some(run_id.to_string());
        invocation.timeout = config.timeout.map(|t| t.0);
        invocation.max_operations = config.max_operations;
        let policy = config.retry.unwrap_or_default();
        let source = route.label.to_string();
        let item = crate::queue::item(&invocation, source, policy, config.on_error.clone());
        queue.enqueue(item).await.map_err(|err| ApiError::Unavailable { message: err.to_string() })?;
        let body = serde_json::json!({ "run_id": run_id, "status": "queued" });
        return Ok((axum::http::StatusCode::ACCEPTED, axum::Json(body)).into_response());
    }

    let _permit = match &route.permits {
        Some(permits) => {
            let wait = config.timeout.map_or(manifest.limits.timeout.0, |t| t.0);
            match tokio::time::timeout(wait, Arc::clone(permits).acquire_owned()).await {
                Ok(Ok(permit)) => Some(permit),
                _ => return Err(ApiError::Busy),
            }
        }
        None => None,
    };

    // The record takes the event as JSON text written straight from the request; the map is
    // built only for a script that names `event`.
    let map = if live.snapshot.event_unused.contains(&config.script) { Map::new() } else { event.to_map() };
    let mut invocation = Invocation::with_event(config.script.clone(), input, map);
    invocation.event_text = Some(EventText {
        kind: "http",
        // The route's own label unless a GET route answers a HEAD request.
        detail: if parts.method == route.method {
            Arc::clone(&route.label)
        } else {
            [parts.method.as_str(), " ", &route.pattern].concat().into()
        },
        json: event.to_json(&live.snapshot.capabilities.secrets),
    });
    invocation.timeout = config.timeout.map(|t| t.0);
    invocation.max_operations = config.max_operations;
    invocation.run_id = Some(run_id.to_string());
    invocation.hand_off = true;
    let outcome = runner::run(&live.snapshot, invocation);
    if outcome.emitted > 0 {
        state.events_ready.notify_one();
    }

    let mut response = match outcome.result {
        Ok(result) => reply::success(result, run_id),
        Err(RunError::Failed { status, message }) => ApiError::Failed { status, message }.into_response(),
        Err(RunError::Timeout { after }) => {
            tracing::warn!(run_id, script = %outcome.script, "timed out");
            ApiError::Timeout { run_id: run_id.to_string(), after: humantime::format_duration(after).to_string() }
                .into_response()
        }
        Err(error) => {
            tracing::warn!(run_id, script = %outcome.script, "{error}");
            ApiError::Internal { run_id: run_id.to_string() }.into_response()
        }
    };
    if let Some(rate) = rate {
        let headers = response.headers_mut();
        headers.insert("ratelimit-limit", HeaderValue::from(rate.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(rate.remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(rate.reset_seconds));
    }
    Ok(response)
}

async fn read_body(headers: &HeaderMap, body: AxumBody, limit: u64) -> Result<axum::body::Bytes, ApiError> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    // A request without a body (nearly every GET) skips the collecting machinery.
    if axum::body::HttpBody::is_end_stream(&body) {
        return Ok(axum::body::Bytes::new());
    }
    let max = usize::try_from(limit).unwrap_or(usize::MAX);
    axum::body::to_bytes(body, max).await.map_err(|err| {
        // `to_bytes` reports a body over the limit (413) and one the connection broke off or
        // garbled (400) alike; the limit's own error type tells them apart.
        let err = err.into_inner();
        if err.is::<http_body_util::LengthLimitError>() {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::BadRequest { message: format!("the request body could not be read: {err}"), details: vec![] }
        }
    })
}
