//! What came back from a request, as scripts and people see it: the result map, and errors
//! and URLs described without secrets.

use crate::engine::convert;
use reqwest::header::HeaderMap;
use reqwest::{StatusCode, Url};
use rhai::{Dynamic, Map};

/// Why a request produced no response.
pub(super) enum Failure {
    Http(reqwest::Error),
    TooLarge,
}

impl From<reqwest::Error> for Failure {
    fn from(err: reqwest::Error) -> Self {
        Failure::Http(err.without_url())
    }
}

/// `#{status, ok, headers, text, json}`.
pub(super) fn response_map(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Map {
    let mut names = Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        match names.get_mut(name.as_str()) {
            // Repeated headers are joined as HTTP allows (RFC 9110 section 5.3).
            Some(existing) => *existing = format!("{existing}, {value}").into(),
            None => {
                names.insert(name.as_str().into(), value.into_owned().into());
            }
        }
    }
    let json =
        serde_json::from_slice::<serde_json::Value>(body).map_or(Dynamic::UNIT, |json| convert::to_dynamic(&json));
    let mut map = Map::new();
    map.insert("status".into(), i64::from(status.as_u16()).into());
    map.insert("ok".into(), status.is_success().into());
    map.insert("headers".into(), names.into());
    map.insert("text".into(), String::from_utf8_lossy(body).into_owned().into());
    map.insert("json".into(), json);
    map
}

/// The URL as shown in errors: without credentials, query or fragment, which may hold secrets.
pub(super) fn shown(url: &Url) -> String {
    let mut shown = url.clone();
    // Only URLs that cannot have credentials refuse these, and they have none to hide.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// A reqwest error with its causes, which hold the useful part ("Connection refused").
pub(super) fn describe(err: &reqwest::Error) -> String {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    if err.is_connect() {
        let reason = causes.last().map_or_else(|| err.to_string(), Clone::clone);
        return format!("cannot connect ({reason})");
    }
    std::iter::once(err.to_string()).chain(causes).collect::<Vec<_>>().join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_urls_hide_credentials_and_query() {
        let url = Url::parse("https://user:pw@h/x?key=secret#frag").expect("url");
        assert_eq!(shown(&url), "https://h/x");
    }
}
