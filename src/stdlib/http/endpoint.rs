//! A named HTTP connection resolved from `[connections.NAME]`: base URL, headers, query,
//! timeout, retry policy and circuit breaker, shared by every request through it.

use super::retry::ConnectionRetry;
use crate::config::HttpConnection;
use crate::stdlib::circuit::Circuit;
use crate::stdlib::{Result, error};
use base64::prelude::{BASE64_STANDARD, Engine as _};
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::time::Duration;

/// One named connection: where its paths go and what every request through it carries.
pub(super) struct Endpoint {
    pub(super) name: String,
    /// The base URL without query or trailing slash, so that paths join with one `/`.
    base: String,
    pub(super) headers: HeaderMap,
    /// The connection's `query` table plus any query written into `base_url`.
    pub(super) query: Vec<(String, String)>,
    pub(super) timeout: Option<Duration>,
    /// `retry = {...}`: which failed requests are tried again, and how.
    pub(super) retry: Option<ConnectionRetry>,
    /// `circuit = {...}`: shared by every run of the snapshot.
    pub(super) circuit: Option<Circuit>,
}

impl Endpoint {
    pub(super) fn new(name: &str, http: &HttpConnection, report: &mut impl FnMut(String, String)) -> Option<Self> {
        let mut valid = true;
        let mut base = match Url::parse(http.base_url.as_str()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url),
            Ok(url) => {
                report(
                    "base_url".into(),
                    format!("`{}:` URLs are not supported; use http:// or https://", url.scheme()),
                );
                None
            }
            Err(err) => {
                report("base_url".into(), format!("not a URL ({err})"));
                None
            }
        };
        let mut headers = HeaderMap::new();
        for (header, value) in &http.headers {
            let key = format!("headers.{header}");
            match (HeaderName::from_bytes(header.as_bytes()), HeaderValue::from_str(value.as_str())) {
                (Ok(header), Ok(mut value)) => {
                    // Connection headers usually carry credentials: keep them out of HPACK tables.
                    value.set_sensitive(true);
                    headers.insert(header, value);
                }
                (Err(_), _) => {
                    report(key, format!("`{header}` is not a valid header name"));
                    valid = false;
                }
                (_, Err(_)) => {
                    // The value is not quoted: it is often a secret.
                    report(key, "not a valid header value (only visible ASCII and spaces, no line breaks)".into());
                    valid = false;
                }
            }
        }
        if let Some(user) = &http.user {
            if headers.contains_key(reqwest::header::AUTHORIZATION) {
                report("user".into(), "give either `user`/`password` or an Authorization header, not both".into());
                valid = false;
            } else {
                let password = http.password.as_ref().map_or("", crate::config::Text::as_str);
                let credentials = BASE64_STANDARD.encode(format!("{}:{password}", user.as_str()));
                if let Ok(mut value) = HeaderValue::from_str(&format!("Basic {credentials}")) {
                    value.set_sensitive(true);
                    headers.insert(reqwest::header::AUTHORIZATION, value);
                }
            }
        } else if http.password.is_some() {
            report("password".into(), "a password needs a `user` too".into());
            valid = false;
        }
        let mut query: Vec<(String, String)> = Vec::new();
        if let Some(url) = base.as_mut() {
            query.extend(url.query_pairs().map(|(key, value)| (key.into_owned(), value.into_owned())));
            url.set_query(None);
            url.set_fragment(None);
        }
        query.extend(http.query.iter().map(|(key, value)| (key.clone(), value.as_str().to_string())));
        let base = base.filter(|_| valid)?;
        Some(Self {
            name: name.to_string(),
            base: base.as_str().trim_end_matches('/').to_string(),
            headers,
            query,
            timeout: http.timeout.map(|timeout| timeout.0),
            retry: http.retry.as_ref().map(ConnectionRetry::new),
            circuit: http.circuit.map(Circuit::new),
        })
    }

    /// `base_url` joined with `path` by exactly one slash.
    pub(super) fn url(&self, function: &str, path: &str) -> Result<Url> {
        let before_query = path.split(['?', '#']).next().unwrap_or_default();
        if before_query.contains("://") {
            return Err(error(
                function,
                format!(
                    "`{path}` is a full URL; connection `{}` takes a path under its base_url (use http::get and friends for other URLs)",
                    self.name
                ),
            ));
        }
        let joined = match path.trim_start_matches('/') {
            "" => self.base.clone(),
            rest if rest.starts_with(['?', '#']) => format!("{}{rest}", self.base),
            rest => format!("{}/{rest}", self.base),
        };
        Url::parse(&joined).map_err(|err| error(function, format!("`{path}` does not make a URL ({err})")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Text;
    use std::collections::BTreeMap;

    fn connection(base: &str, headers: BTreeMap<String, Text>) -> HttpConnection {
        HttpConnection {
            base_url: Text(base.to_string()),
            headers,
            query: BTreeMap::from([("units".to_string(), Text("metric".to_string()))]),
            timeout: None,
            retry: None,
            circuit: None,
            user: None,
            password: None,
        }
    }

    fn endpoint(base: &str) -> Endpoint {
        let http = connection(base, BTreeMap::new());
        Endpoint::new("api", &http, &mut |key, message| panic!("{key}: {message}")).expect("valid")
    }

    #[test]
    fn paths_join_the_base_url_with_one_slash() {
        let api = endpoint("http://h/data/2.5/");
        assert_eq!(api.url("t", "/weather").expect("url").as_str(), "http://h/data/2.5/weather");
        assert_eq!(api.url("t", "weather?q=x").expect("url").as_str(), "http://h/data/2.5/weather?q=x");
        assert_eq!(api.url("t", "").expect("url").as_str(), "http://h/data/2.5");
        assert!(api.url("t", "https://elsewhere/x").is_err());
    }

    #[test]
    fn base_url_query_joins_the_connection_query() {
        let api = endpoint("https://h/api?key=abc");
        assert_eq!(api.base, "https://h/api");
        assert_eq!(api.query, vec![("key".into(), "abc".into()), ("units".into(), "metric".into())]);
    }

    #[test]
    fn bad_header_values_are_reported_without_the_value() {
        let headers = BTreeMap::from([("Authorization".into(), Text("Bearer s3cret\n".into()))]);
        let http = connection("http://h", headers);
        let mut reported = Vec::new();
        assert!(Endpoint::new("api", &http, &mut |key, message| reported.push(format!("{key}: {message}"))).is_none());
        assert_eq!(reported.len(), 1);
        assert!(reported[0].starts_with("headers.Authorization: "), "{}", reported[0]);
        assert!(!reported[0].contains("s3cret"));
    }
}
