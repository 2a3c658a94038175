//! `response(...)` and `fail(...)`: how a script chooses its HTTP status, body and headers.

use rhai::{Dynamic, Engine, EvalAltResult, Map, Position};

/// A result with an explicit status, body and headers.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: i64,
    pub body: Dynamic,
    pub headers: Map,
}

/// The termination token of `fail(status, message)`: ends the run, and no `catch` can swallow it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub status: u16,
    pub message: String,
}

fn status(code: i64) -> Result<u16, Box<EvalAltResult>> {
    u16::try_from(code)
        .ok()
        .filter(|code| (100..=599).contains(code))
        .ok_or_else(|| format!("status {code} is not an HTTP status (100-599)").into())
}

/// Returns `body` with the HTTP status `status`.
///
/// ```rhai
/// response(201, #{ id: 42 })
/// ```
pub fn response(code: i64, body: Dynamic) -> Result<Response, Box<EvalAltResult>> {
    response_with_headers(code, body, Map::new())
}

/// Returns `body` with the HTTP status `status` and extra response headers.
///
/// ```rhai
/// response(302, (), #{ location: "/tasks" })
/// ```
pub fn response_with_headers(code: i64, body: Dynamic, headers: Map) -> Result<Response, Box<EvalAltResult>> {
    status(code)?;
    Ok(Response { status: code, body, headers })
}

/// Ends the run at once with the HTTP status `status` and `{"error": message}`.
///
/// ```rhai
/// if input.city == () { fail(400, "city is required") }
/// ```
pub fn fail(code: i64, message: &str) -> Result<Dynamic, Box<EvalAltResult>> {
    let failure = Failure { status: status(code)?, message: message.to_string() };
    Err(EvalAltResult::ErrorTerminated(Dynamic::from(failure), Position::NONE).into())
}

/// Registers the `Response` type, `response` and `fail`.
pub fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<Response>("Response")
        .register_get("status", |r: &mut Response| r.status)
        .register_get("body", |r: &mut Response| r.body.clone())
        .register_get("headers", |r: &mut Response| r.headers.clone())
        .register_fn("response", response)
        .register_fn("response", response_with_headers)
        .register_fn("fail", fail)
        .register_fn("fail", |message: &str| fail(400, message));
}
