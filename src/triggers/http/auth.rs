//! API keys and scopes: who is calling, and may they call this route.

use crate::config::{Key, Manifest};
use axum::http::{HeaderMap, HeaderName};
use subtle::ConstantTimeEq;

/// `X-Api-Key`, named once: a lookup by text parses the name on every request.
const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// The token a request presents, from `Authorization: Bearer TOKEN` or `X-Api-Key: TOKEN`.
pub fn presented_token(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let mut parts = value.splitn(2, ' ');
        if parts.next().is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer")) {
            return parts.next().map(str::trim).filter(|token| !token.is_empty());
        }
    }
    headers.get(X_API_KEY).and_then(|v| v.to_str().ok()).map(str::trim).filter(|token| !token.is_empty())
}

/// The key whose token equals `token`. Every key is compared, in constant time per key, so the
/// response time does not reveal which key or how much of it matched.
pub fn find_key<'a>(manifest: &'a Manifest, token: &str) -> Option<&'a Key> {
    let mut found = None;
    for key in &manifest.keys {
        if bool::from(key.token.as_str().as_bytes().ct_eq(token.as_bytes())) {
            found = Some(key);
        }
    }
    found
}

/// The scopes of `required` that `key` lacks.
pub fn missing_scopes<'a>(key: &Key, required: &'a [String]) -> Vec<&'a str> {
    required.iter().filter(|scope| !key.scopes.contains(scope)).map(String::as_str).collect()
}
