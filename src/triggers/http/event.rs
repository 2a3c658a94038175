//! The `event` of an HTTP run, read once from the request: a Rhai map for a script that reads
//! it, and JSON text written straight from the request for the run log. A unit test holds the
//! two forms to the same JSON.

use super::input::RawQuery;
use super::table::RouteEntry;
use crate::secrets::Secrets;
use axum::http::header;
use axum::http::request::Parts;
use rhai::{Dynamic, Map};
use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The parts of a request its event shows, borrowed. [`HttpEvent::to_json`] writes the fields in
/// alphabetical order, the order of a Rhai map's keys, so both forms write the same JSON.
pub struct HttpEvent<'a> {
    body: Cow<'a, str>,
    client: Option<&'a str>,
    headers: BTreeMap<&'a str, Cow<'a, str>>,
    kind: &'static str,
    method: &'a str,
    params: BTreeMap<&'a str, &'a str>,
    path: &'a str,
    query: &'a RawQuery<'a>,
    route: &'a str,
}

impl<'a> HttpEvent<'a> {
    /// The event of a request. Credentials are left out: scripts get the key's name as
    /// `client`, never its token; a repeated header is joined with `, `.
    pub fn new(
        parts: &'a Parts,
        route: &'a RouteEntry,
        params: &'a [(String, String)],
        query: &'a RawQuery<'a>,
        body: &'a [u8],
        client: Option<&'a str>,
    ) -> Self {
        let mut headers: BTreeMap<&str, Cow<str>> = BTreeMap::new();
        for (name, value) in &parts.headers {
            if name == header::AUTHORIZATION || name.as_str() == "x-api-key" || name == header::COOKIE {
                continue;
            }
            // Nearly every value is visible ASCII, checked faster than the UTF-8 it also is.
            let text = value.to_str().map_or_else(|_| String::from_utf8_lossy(value.as_bytes()), Cow::Borrowed);
            match headers.get_mut(name.as_str()) {
                Some(existing) => *existing = format!("{existing}, {text}").into(),
                None => {
                    headers.insert(name.as_str(), text);
                }
            }
        }
        Self {
            body: String::from_utf8_lossy(body),
            client,
            headers,
            kind: "http",
            method: parts.method.as_str(),
            params: params.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect(),
            path: parts.uri.path(),
            query,
            route: route.pattern.as_str(),
        }
    }

    /// The event as the script's `event` map (built by hand: through `rhai::serde` it cost a
    /// script that reads its event a few percent of its request's CPU).
    pub fn to_map(&self) -> Map {
        fn texts<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Dynamic {
            let mut map = Map::new();
            for (name, value) in pairs {
                map.insert(name.into(), value.into());
            }
            Dynamic::from_map(map)
        }
        let mut map = Map::new();
        map.insert("body".into(), self.body.as_ref().into());
        map.insert("client".into(), self.client.map_or(Dynamic::UNIT, Into::into));
        map.insert("headers".into(), texts(self.headers.iter().map(|(name, value)| (*name, value.as_ref()))));
        map.insert("kind".into(), self.kind.into());
        map.insert("method".into(), self.method.into());
        map.insert("params".into(), texts(self.params.iter().map(|(name, value)| (*name, *value))));
        map.insert("path".into(), self.path.into());
        map.insert("query".into(), texts(self.query.iter().map(|(name, value)| (name.as_ref(), value.as_ref()))));
        map.insert("route".into(), self.route.into());
        map
    }

    /// The event as JSON text, as the run log stores it: written straight from the request,
    /// secrets redacted, the same text as the map's (a test checks).
    pub fn to_json(&self, secrets: &Secrets) -> Box<RawValue> {
        // Strings only: nothing serde_json can fail to write.
        serde_json::value::to_raw_value(&Redacted { event: self, secrets }).unwrap_or_default()
    }
}

/// An event as its record writes it, secrets redacted from every name and value.
struct Redacted<'a> {
    event: &'a HttpEvent<'a>,
    secrets: &'a Secrets,
}

impl Serialize for Redacted<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (event, secrets) = (self.event, self.secrets);
        let mut out = serializer.serialize_struct("event", 9)?;
        out.serialize_field("body", &secrets.redacted_str(&event.body))?;
        out.serialize_field("client", &event.client.map(|client| secrets.redacted_str(client)))?;
        out.serialize_field("headers", &Texts { pairs: &event.headers, secrets })?;
        out.serialize_field("kind", event.kind)?;
        out.serialize_field("method", &secrets.redacted_str(event.method))?;
        out.serialize_field("params", &Texts { pairs: &event.params, secrets })?;
        out.serialize_field("path", &secrets.redacted_str(event.path))?;
        out.serialize_field("query", &Texts { pairs: event.query, secrets })?;
        out.serialize_field("route", &secrets.redacted_str(event.route))?;
        out.end()
    }
}

/// Names and values as a JSON object, secrets redacted.
struct Texts<'a, K, V> {
    pairs: &'a BTreeMap<K, V>,
    secrets: &'a Secrets,
}

impl<K: AsRef<str>, V: AsRef<str>> Serialize for Texts<'_, K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let secrets = self.secrets;
        serializer.collect_map(
            self.pairs
                .iter()
                .map(|(name, value)| (secrets.redacted_str(name.as_ref()), secrets.redacted_str(value.as_ref()))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::convert::Json;

    #[test]
    fn map_and_text_write_the_same_json() -> Result<(), Box<dyn std::error::Error>> {
        let request = axum::http::Request::builder()
            .method("POST")
            .uri("/orders/7?x=1")
            .header("accept", "a")
            .header("accept", "b")
            .header("authorization", "Bearer secret")
            .header("x-api-key", "secret")
            .header("cookie", "secret")
            .header("x-note", "caf\u{e9} \"quoted\"")
            .body(())?;
        let (parts, ()) = request.into_parts();
        let route = RouteEntry {
            index: 0,
            method: axum::http::Method::POST,
            pattern: "/orders/{id}".into(),
            label: "POST /orders/{id}".into(),
            rate_limit: None,
            permits: None,
            schema: None,
            wildcard: None,
        };
        let params = vec![("id".to_string(), "7".to_string())];
        let query = crate::triggers::http::input::raw_query(Some("x=1"));
        let event = HttpEvent::new(&parts, &route, &params, &query, b"{\"a\":1}", Some("ci"));

        let text = event.to_json(&Secrets::default()).get().to_string();
        let from_map = serde_json::to_string(&Json::map(&event.to_map()))?;
        assert_eq!(text, from_map);
        let value: serde_json::Value = serde_json::from_str(&text)?;
        assert_eq!(
            value,
            serde_json::json!({
                "body": "{\"a\":1}", "client": "ci", "kind": "http", "method": "POST",
                "headers": { "accept": "a, b", "x-note": "caf\u{e9} \"quoted\"" },
                "params": { "id": "7" }, "path": "/orders/7", "query": { "x": "1" }, "route": "/orders/{id}"
            })
        );
        assert!(!text.contains("secret"), "credentials stay out of the event: {text}");
        let redacted = event.to_json(&Secrets::new(["caf\u{e9}".to_string(), "orders".to_string()]));
        let redacted: serde_json::Value = serde_json::from_str(redacted.get())?;
        assert_eq!(
            (&redacted["headers"]["x-note"], &redacted["path"], &redacted["route"]),
            (&"*** \"quoted\"".into(), &"/***/7".into(), &"/***/{id}".into())
        );
        Ok(())
    }
}
