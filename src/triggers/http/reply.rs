//! The one place where outcomes become HTTP responses: errors of the trigger, script results
//! and run errors, the queue's acceptance, and the headers every answer of a route carries.

use super::limits::Allowed;
use crate::engine::RunError;
use crate::runner::{Body, Outcome, Reply};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One failed field of a request.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Detail {
    pub field: String,
    pub message: String,
}

/// Why a request did not produce a script result.
#[derive(Debug)]
pub enum ApiError {
    NotFound {
        method: String,
        path: String,
    },
    MethodNotAllowed {
        allowed: Vec<String>,
    },
    Unauthorized {
        message: String,
    },
    Forbidden {
        missing: Vec<String>,
    },
    PayloadTooLarge {
        limit: u64,
    },
    /// A body that is neither JSON nor a form, for a route with a `body_schema`.
    UnsupportedMediaType,
    BadRequest {
        message: String,
        details: Vec<Detail>,
    },
    RateLimited {
        limit: u32,
        retry_after: u64,
    },
    Busy,
    /// The hub cannot take the request now (the queue is stopping or unavailable).
    Unavailable {
        message: String,
    },
    /// `fail(status, message)`.
    Failed {
        status: u16,
        message: String,
    },
    Timeout {
        run_id: String,
        after: String,
    },
    /// Any other failure of the script: the details go to the log, not to the caller.
    Internal {
        run_id: String,
    },
}

fn json_response(status: StatusCode, body: Value) -> Response {
    with_body(status, "application/json", body.to_string())
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::NotFound { method, path } => {
                json_response(StatusCode::NOT_FOUND, json!({ "error": format!("no route for {method} {path}") }))
            }
            ApiError::MethodNotAllowed { allowed } => {
                let mut response = json_response(
                    StatusCode::METHOD_NOT_ALLOWED,
                    json!({ "error": format!("method not allowed; use {}", allowed.join(", ")) }),
                );
                if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
                    response.headers_mut().insert(header::ALLOW, value);
                }
                response
            }
            ApiError::Unauthorized { message } => {
                let mut response = json_response(StatusCode::UNAUTHORIZED, json!({ "error": message }));
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"switchboard\""));
                response
            }
            ApiError::Forbidden { missing } => json_response(
                StatusCode::FORBIDDEN,
                json!({ "error": format!("this key lacks the scope {}", missing.join(", ")), "missing_scopes": missing }),
            ),
            ApiError::PayloadTooLarge { limit } => json_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({ "error": format!("the body is larger than {} (server.max_body)", bytesize::ByteSize(limit)) }),
            ),
            ApiError::UnsupportedMediaType => json_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json!({ "error": "this route's body must be JSON (Content-Type: application/json) or a form, to match its body_schema" }),
            ),
            ApiError::BadRequest { message, details } => {
                json_response(StatusCode::BAD_REQUEST, json!({ "error": message, "details": details }))
            }
            ApiError::RateLimited { limit, retry_after } => {
                let mut response =
                    json_response(StatusCode::TOO_MANY_REQUESTS, json!({ "error": "rate limit exceeded; slow down" }));
                let headers = response.headers_mut();
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                headers.insert("ratelimit-limit", HeaderValue::from(limit));
                headers.insert("ratelimit-remaining", HeaderValue::from(0));
                headers.insert("ratelimit-reset", HeaderValue::from(retry_after));
                response
            }
            ApiError::Busy => {
                let mut response = json_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({ "error": "this route is at its concurrency limit; try again" }),
                );
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1));
                response
            }
            ApiError::Unavailable { message } => {
                let mut response = json_response(StatusCode::SERVICE_UNAVAILABLE, json!({ "error": message }));
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(5));
                response
            }
            ApiError::Failed { status, message } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                json_response(status, json!({ "error": message }))
            }
            ApiError::Timeout { run_id, after } => json_response(
                StatusCode::GATEWAY_TIMEOUT,
                json!({ "error": format!("the action timed out after {after}"), "run_id": run_id }),
            ),
            ApiError::Internal { run_id } => json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "error": "the action failed; its run id identifies the details in the server log", "run_id": run_id }),
            ),
        }
    }
}

/// Parsed once: a header name given as text is parsed on every insert.
const X_RUN_ID: HeaderName = HeaderName::from_static("x-run-id");

/// A run's outcome as a response: its result, or its error as the caller may see it (a
/// timeout or any unexpected failure is logged with the run id; the caller gets the id only).
pub fn outcome(outcome: Outcome) -> Response {
    let run_id = outcome.run_id.as_str();
    match outcome.result {
        Ok(result) => success(result, run_id),
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
    }
}

/// The answer to a request of a `mode = "queue"` route, once its run is stored.
pub fn queued(run_id: &str) -> Response {
    json_response(StatusCode::ACCEPTED, json!({ "run_id": run_id, "status": "queued" }))
}

/// `response` with the caller's standing under the route's rate limit, if it has one.
pub fn with_rate(mut response: Response, rate: Option<Allowed>) -> Response {
    if let Some(rate) = rate {
        let headers = response.headers_mut();
        headers.insert("ratelimit-limit", HeaderValue::from(rate.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(rate.remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(rate.reset_seconds));
    }
    response
}

/// `response` with the request's run id, which every answer of a hub route carries.
pub fn with_run_id(mut response: Response, run_id: String) -> Response {
    // The id's own buffer becomes the header value; `from_str` would copy it.
    if let Ok(value) = HeaderValue::from_maybe_shared(axum::body::Bytes::from(run_id)) {
        response.headers_mut().insert(X_RUN_ID, value);
    }
    response
}

/// A script's result as a response: map/array -> 200 JSON, string -> 200 text, `()` -> 204,
/// unless `response(...)` chose the status and headers.
fn success(reply: Reply, run_id: &str) -> Response {
    let null = matches!(&reply.body, Body::Json(json) if json.get() == "null");
    let default_status = if null { StatusCode::NO_CONTENT } else { StatusCode::OK };
    let status = reply.status.and_then(|s| StatusCode::from_u16(s).ok()).unwrap_or(default_status);
    let mut response = match reply.body {
        _ if null => status.into_response(),
        // A string result is sent as text, not as a JSON string.
        Body::Text(text) => with_body(status, "text/plain; charset=utf-8", text),
        Body::Json(json) => with_body(status, "application/json", Box::<str>::from(json).into()),
    };
    for (name, value) in reply.headers {
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            (Ok(name), Ok(value)) => {
                response.headers_mut().insert(name, value);
            }
            _ => {
                tracing::warn!(run_id, header = %name, "the script returned an invalid response header");
                return ApiError::Internal { run_id: run_id.to_string() }.into_response();
            }
        }
    }
    response
}

/// A response with `body` of `content_type`, built directly: through `IntoResponse` a text body
/// first gets a `text/plain` content type that is then replaced.
fn with_body(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut response = Response::new(axum::body::Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The built-in endpoints' error answers as JSON: axum's own (a 405, a path it could not read)
/// come as text or empty. A body already JSON, and every success, pass unchanged.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let error = if status == StatusCode::METHOD_NOT_ALLOWED {
        let allowed = parts.headers.get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or_default();
        format!("method not allowed; use {}", allowed.split(',').map(str::trim).collect::<Vec<_>>().join(", "))
    } else {
        let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
        let text = String::from_utf8_lossy(&text).trim().to_string();
        if text.is_empty() { status.canonical_reason().unwrap_or("error").to_string() } else { text }
    };
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(json!({ "error": error }).to_string()))
}
