//! The request pipeline of a user route, one named step each: find the route, authorize the
//! caller, apply the rate limit, read and check the input, then enqueue it or run the script on
//! the snapshot current at arrival. `reply` turns what the steps return into the response.

use super::event::HttpEvent;
use super::input::RawQuery;
use super::limits::Allowed;
use super::reply::{self, ApiError};
use super::table::{Lookup, RouteEntry};
use super::{AppState, Live, auth, input, params, verify};
use crate::config::{Auth, Manifest, Mode, Route};
use crate::engine::convert;
use crate::runner::{self, Event, EventText, Invocation, Outcome};
use axum::body::{Body as AxumBody, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use rhai::Dynamic;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;

/// The router's fallback: a path under a built-in prefix that no built-in endpoint has.
pub async fn fallback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    handle(&state, peer, request).await
}

/// A request to the hub's routes, counted in the metrics by its route. The answer of a run (or
/// of a queued request) names it in `x-run-id`; a request refused before any run gets no id,
/// as there is no record for one to name.
pub async fn handle(state: &AppState, peer: SocketAddr, request: Request) -> Response {
    let run_id = runner::new_id();
    let live = state.live.load_full();
    let (parts, body) = request.into_parts();
    let metrics = &live.snapshot.capabilities.host.metrics;
    match find(&live, &parts) {
        Ok((route, params)) => {
            let request = Matched { state, live: &live, route: &route, parts: &parts, peer, run_id: &run_id };
            let response = match request.serve(params, body).await {
                Ok(response) => reply::with_run_id(response, run_id),
                Err(refused) => refused.into_response(),
            };
            metrics.http(&route.label, response.status().as_u16());
            response
        }
        Err(error) => {
            let response = error.into_response();
            metrics.http("unmatched", response.status().as_u16());
            response
        }
    }
}

/// Path parameters by name, as the route's pattern matched them.
type Params = Vec<(String, String)>;

/// The route a request's method and path name, with its path parameters as matched.
fn find(live: &Live, parts: &Parts) -> Result<(Arc<RouteEntry>, Params), ApiError> {
    let path = parts.uri.path();
    match live.table.lookup(&parts.method, path) {
        Lookup::Found { route, params } => Ok((route, params)),
        Lookup::WrongMethod { allowed } => {
            Err(ApiError::MethodNotAllowed { allowed: allowed.into_iter().map(String::from).collect() })
        }
        Lookup::NotFound => Err(ApiError::NotFound { method: parts.method.to_string(), path: path.to_string() }),
    }
}

/// A request that matched a route, and what every later step reads of it.
struct Matched<'a> {
    state: &'a AppState,
    live: &'a Live,
    route: &'a RouteEntry,
    parts: &'a Parts,
    peer: SocketAddr,
    run_id: &'a str,
}

impl Matched<'_> {
    fn manifest(&self) -> &Manifest {
        &self.live.snapshot.manifest
    }

    fn config(&self) -> &Route {
        &self.manifest().routes[self.route.index]
    }

    /// Every step in order; the first that refuses the request gives the answer.
    async fn serve(&self, params: Params, body: AxumBody) -> Result<Response, ApiError> {
        let client = self.authorize()?;
        let rate = self.limit(client)?;
        let received = self.read_input(params, body).await?;
        let event = HttpEvent::new(self.parts, self.route, &received.params, &received.query, &received.bytes, client);
        if self.config().mode == Mode::Queue {
            self.enqueue(received.input, &event).await?;
            return Ok(reply::queued(self.run_id));
        }
        let outcome = self.run(received.input, &event).await?;
        Ok(reply::with_rate(reply::outcome(outcome), rate))
    }

    /// The name of the caller's key, if it sent a known one; a private route requires one with
    /// the route's scopes.
    fn authorize(&self) -> Result<Option<&str>, ApiError> {
        let (manifest, config, headers) = (self.manifest(), self.config(), &self.parts.headers);
        let presented = auth::presented_token(headers);
        let key = presented.and_then(|token| auth::find_key(manifest, token));
        if config.auth == Auth::Private {
            let Some(key) = key else {
                let message = if presented.is_some() { "unknown key" } else { "a key is required" };
                return Err(ApiError::Unauthorized {
                    message: format!("{message}: send `Authorization: Bearer TOKEN` or `X-Api-Key: TOKEN`"),
                });
            };
            let missing = auth::missing_scopes(key, &config.scopes);
            if !missing.is_empty() {
                return Err(ApiError::Forbidden { missing: missing.into_iter().map(String::from).collect() });
            }
        }
        Ok(key.map(|key| key.name.as_str()))
    }

    /// The route's rate limit for this caller (its key, or else its address), if it has one.
    fn limit(&self, client: Option<&str>) -> Result<Option<Allowed>, ApiError> {
        let Some(limit) = &self.route.rate_limit else { return Ok(None) };
        let caller = client.map_or_else(|| format!("ip:{}", self.peer.ip()), |name| format!("key:{name}"));
        let allowed = limit
            .check(&caller)
            .map_err(|denied| ApiError::RateLimited { limit: denied.limit, retry_after: denied.retry_after_seconds })?;
        Ok(Some(allowed))
    }

    /// Path parameters, body and query, each checked against the route's declarations, and
    /// the script's `input` built from them. After the key is checked: a caller without one
    /// learns nothing of what the route expects.
    async fn read_input(&self, params: Params, body: AxumBody) -> Result<Received<'_>, ApiError> {
        let (config, headers) = (self.config(), &self.parts.headers);
        let params = if config.raw_path { params } else { params::decode(params, self.route.wildcard.as_deref())? };
        let bytes = read_body(headers, body, self.manifest().server.max_body.0).await?;
        if let Some(verify) = &config.verify {
            verify::check(verify, headers, &bytes)
                .map_err(|err| ApiError::Unauthorized { message: err.to_string() })?;
        }
        let query = input::raw_query(self.parts.uri.query());
        let mut fields = input::typed_query(&query, &config.query)?;
        let mut body = input::parse_body(headers, &bytes)?;
        if let Some(schema) = &self.route.schema {
            match &mut body {
                input::Body::Text => return Err(ApiError::UnsupportedMediaType),
                input::Body::Form(fields) => input::coerce_form(fields, &schema.form_types)?,
                input::Body::Empty | input::Body::Json(_) => {}
            }
            input::validate(&schema.validator, &body.as_json())?;
        }
        // Built straight as Rhai values: the script reads them, the run log writes them as JSON after the run.
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
        Ok(Received { params, bytes, query, input: Dynamic::from_map(fields) })
    }

    /// Stores the run in the durable queue; it is there once this returns.
    async fn enqueue(&self, input: Dynamic, event: &HttpEvent<'_>) -> Result<(), ApiError> {
        let config = self.config();
        // Stored as the script will see it when the item runs (secrets included, as a synchronous
        // run's event has them); its run's record redacts it, as every record does.
        let invocation = Invocation::http(config, input, Event::Map(event.to_map()), self.run_id);
        let policy = config.retry.unwrap_or_default();
        let item = crate::queue::item(&invocation, self.route.label.to_string(), policy, config.on_error.clone());
        self.state.queue.enqueue(item).await.map_err(|err| ApiError::Unavailable { message: err.to_string() })
    }

    /// Runs the script on this worker, once the route has a free permit.
    async fn run(&self, input: Dynamic, event: &HttpEvent<'_>) -> Result<Outcome, ApiError> {
        let (config, route, snapshot) = (self.config(), self.route, &self.live.snapshot);
        let _permit = match &route.permits {
            Some(permits) => {
                let wait = config.timeout.map_or(self.manifest().limits.timeout.0, |t| t.0);
                match tokio::time::timeout(wait, Arc::clone(permits).acquire_owned()).await {
                    Ok(Ok(permit)) => Some(permit),
                    _ => return Err(ApiError::Busy),
                }
            }
            None => None,
        };
        // The map is built only for a script that names `event`.
        let map = (!snapshot.event_unused.contains(&config.script)).then(|| event.to_map());
        let event = Event::Text { text: self.event_text(event), map };
        let outcome = runner::run(snapshot, Invocation::http(config, input, event, self.run_id));
        if outcome.emitted > 0 {
            self.state.events_ready.notify_one();
        }
        Ok(outcome)
    }
}

impl Matched<'_> {
    /// The event as the run log keeps it: JSON text written straight from the request.
    fn event_text(&self, event: &HttpEvent<'_>) -> EventText {
        let route = self.route;
        EventText {
            kind: "http",
            // The route's own label unless a GET route answers a HEAD request.
            detail: if self.parts.method == route.method {
                Arc::clone(&route.label)
            } else {
                [self.parts.method.as_str(), " ", &route.pattern].concat().into()
            },
            json: event.to_json(&self.live.snapshot.capabilities.secrets),
        }
    }
}

/// What a request carries, read and checked, and the `input` built from it.
struct Received<'a> {
    params: Params,
    bytes: Bytes,
    query: RawQuery<'a>,
    input: Dynamic,
}

async fn read_body(headers: &HeaderMap, body: AxumBody, limit: u64) -> Result<Bytes, ApiError> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    // A request without a body (nearly every GET) skips the collecting machinery.
    if axum::body::HttpBody::is_end_stream(&body) {
        return Ok(Bytes::new());
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
