//! Conversions between Rhai values and JSON: integers stay integers, maps keep their keys. A Rhai
//! value becomes JSON one way only, through [`Json`]'s `Serialize`, whether as text or as a
//! `serde_json::Value`; neither is made from the other. (It stays in the engine rather than in
//! `json`: it knows the engine's own value types, `Time` and `Response`.)

use super::time::Time;
use crate::engine::response::Response;
use crate::json;
use crate::secrets::Secrets;
use rhai::{Dynamic, Map};
use serde::Serialize;
use serde::ser::{Error as _, SerializeMap, Serializer};
use serde_json::Value;

/// A JSON value as a Rhai value.
pub fn to_dynamic(value: &Value) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().map_or(Dynamic::UNIT, Dynamic::from),
        },
        Value::String(s) => s.clone().into(),
        Value::Array(items) => Dynamic::from_array(items.iter().map(to_dynamic).collect()),
        Value::Object(fields) => Dynamic::from_map(object_to_map(fields)),
    }
}

/// A JSON object as a Rhai object map.
pub fn object_to_map(fields: &serde_json::Map<String, Value>) -> Map {
    fields.iter().map(|(key, value)| (key.as_str().into(), to_dynamic(value))).collect()
}

/// A Rhai value as JSON, built directly (no text in between); fails for values JSON cannot hold
/// (functions, non-finite floats) and for a value nested deeper than [`json::MAX_DEPTH`], so
/// whatever is stored from it (state, events, queued work) can be read back.
pub fn to_json(value: &Dynamic) -> serde_json::Result<Value> {
    serde_json::to_value(Json::new(value).stored())
}

/// A Rhai object map as a JSON object, built directly.
pub fn map_to_json(map: &Map) -> serde_json::Result<serde_json::Map<String, Value>> {
    match serde_json::to_value(Json::map(map).stored())? {
        Value::Object(fields) => Ok(fields),
        _ => Ok(serde_json::Map::new()),
    }
}

/// `value` as JSON text. Fails for values JSON cannot hold.
pub fn json_text(value: &Dynamic) -> serde_json::Result<String> {
    serde_json::to_string(&Json::new(value))
}

/// A Rhai value as serde sees it, so serde_json writes it as text, or builds a `Value` from
/// it, in one pass: integers stay integers, a map's keys keep their (sorted) order, a `Time` is
/// its RFC 3339 text and a `response(...)` its `{body, headers, status}`.
#[derive(Clone, Copy)]
pub struct Json<'a> {
    node: Node<'a>,
    /// Levels of arrays and objects around this one.
    depth: usize,
    /// Deepest nesting written, and what refuses a deeper one.
    limit: usize,
    /// Secrets redacted from every string, key and number as they are written.
    secrets: Option<&'a Secrets>,
}

#[derive(Clone, Copy)]
enum Node<'a> {
    Value(&'a Dynamic),
    Map(&'a Map),
}

impl<'a> Json<'a> {
    /// `value`, at any depth.
    pub fn new(value: &'a Dynamic) -> Self {
        Self { node: Node::Value(value), depth: 0, limit: usize::MAX, secrets: None }
    }

    /// An object map, at any depth.
    pub fn map(map: &'a Map) -> Self {
        Self { node: Node::Map(map), depth: 0, limit: usize::MAX, secrets: None }
    }

    /// Refusing what [`json::read`] could not read back.
    #[must_use]
    pub fn stored(self) -> Self {
        Self { limit: json::MAX_DEPTH, ..self }
    }

    /// With `secrets` redacted from it.
    #[must_use]
    pub fn redacted(self, secrets: &'a Secrets) -> Self {
        Self { secrets: Some(secrets), ..self }
    }

    /// What the values inside this array or object are written with, one level deeper: refused
    /// past `limit`.
    fn level<E: serde::ser::Error>(self) -> Result<Self, E> {
        if self.depth >= self.limit {
            return Err(E::custom(format!(
                "the value cannot be converted to JSON: it is nested deeper than {} levels",
                self.limit
            )));
        }
        Ok(Self { depth: self.depth + 1, ..self })
    }

    fn with(self, node: Node<'a>) -> Self {
        Self { node, ..self }
    }

    fn text<S: Serializer>(&self, text: &str, serializer: S) -> Result<S::Ok, S::Error> {
        match self.secrets {
            Some(secrets) => serializer.serialize_str(&secrets.redacted_str(text)),
            None => serializer.serialize_str(text),
        }
    }

    /// A number, or its redacted digits as a string should they hold a secret.
    fn number<S: Serializer>(
        &self,
        digits: &str,
        serializer: S,
        write: impl FnOnce(S) -> Result<S::Ok, S::Error>,
    ) -> Result<S::Ok, S::Error> {
        match self.secrets.and_then(|secrets| secrets.redacted_digits(digits)) {
            Some(redacted) => serializer.serialize_str(&redacted),
            None => write(serializer),
        }
    }

    /// `map` as an object, with `self` the level of its values.
    fn object<S: Serializer>(self, map: &Map, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_map(Some(map.len()))?;
        for (key, item) in map {
            match self.secrets {
                Some(secrets) => out.serialize_key(&*secrets.redacted_str(key))?,
                None => out.serialize_key(key.as_str())?,
            }
            out.serialize_value(&self.with(Node::Value(item)))?;
        }
        out.end()
    }
}

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value = match self.node {
            Node::Value(value) => value,
            Node::Map(map) => return self.level()?.object(map, serializer),
        };
        // The `is_*` tests read the type tag; a failed `as_*` would first build an error text.
        if value.is_string() {
            self.text(&value.as_immutable_string_ref().map_err(S::Error::custom)?, serializer)
        } else if value.is_map() {
            self.level()?.object(&*value.as_map_ref().map_err(S::Error::custom)?, serializer)
        } else if value.is_unit() {
            serializer.serialize_unit()
        } else if value.is_int() {
            let int = value.as_int().map_err(S::Error::custom)?;
            match self.secrets {
                Some(_) => self.number(itoa::Buffer::new().format(int), serializer, |s| s.serialize_i64(int)),
                None => serializer.serialize_i64(int),
            }
        } else if value.is_bool() {
            serializer.serialize_bool(value.as_bool().map_err(S::Error::custom)?)
        } else if value.is_array() {
            let items = value.as_array_ref().map_err(S::Error::custom)?;
            let level = self.level::<S::Error>()?;
            serializer.collect_seq(items.iter().map(|item| level.with(Node::Value(item))))
        } else if value.is_float() {
            let float = value.as_float().map_err(S::Error::custom)?;
            if !float.is_finite() {
                return Err(S::Error::custom(format!("{float} cannot be written as JSON")));
            }
            match self.secrets {
                // The digits as serde_json writes them.
                Some(_) => {
                    self.number(zmij::Buffer::new().format_finite(float), serializer, |s| s.serialize_f64(float))
                }
                None => serializer.serialize_f64(float),
            }
        } else if value.is_char() {
            self.text(value.as_char().map_err(S::Error::custom)?.encode_utf8(&mut [0; 4]), serializer)
        } else if value.is_blob() {
            self.level::<S::Error>()?;
            serializer.collect_seq(value.as_blob_ref().map_err(S::Error::custom)?.iter())
        } else if let Some(time) = value.read_lock::<Time>() {
            self.text(&time.to_rfc3339(), serializer)
        } else if let Some(response) = value.read_lock::<Response>() {
            // Keys in sorted order, as a `serde_json::Map` holds them.
            let level = self.level::<S::Error>()?;
            let mut out = serializer.serialize_map(Some(3))?;
            out.serialize_entry("body", &level.with(Node::Value(&response.body)))?;
            out.serialize_entry("headers", &level.with(Node::Map(&response.headers)))?;
            out.serialize_entry("status", &response.status)?;
            out.end()
        } else {
            Err(S::Error::custom(format!("a value of type `{}` cannot be converted to JSON", value.type_name())))
        }
    }
}

/// The text of a value JSON writes as a string (a string, a character, a time), as it is.
pub fn as_text(value: &Dynamic) -> Option<String> {
    if value.is_string() {
        return value.clone().into_string().ok();
    }
    if value.is_char() {
        return value.as_char().ok().map(String::from);
    }
    value.read_lock::<Time>().map(|time| time.to_rfc3339())
}

/// A Rhai value as display text: strings as they are, everything else as compact JSON.
pub fn to_text(value: &Dynamic) -> String {
    if value.is_string() {
        return value.clone().into_string().unwrap_or_default();
    }
    json_text(value).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_with_integers_kept() {
        let original = json!({"n": 3, "x": 1.5, "s": "hi", "list": [true, null], "nested": {"a": -7}});
        let back = to_json(&to_dynamic(&original)).expect("convertible");
        assert_eq!(back, original);
        assert!(to_dynamic(&json!(3)).is_int());
    }

    #[test]
    fn non_finite_floats_are_refused() {
        assert!(to_json(&Dynamic::from(f64::NAN)).is_err());
        let error = json_text(&Dynamic::from(f64::NAN)).map_err(|err| err.to_string());
        assert_eq!(error, Err("NaN cannot be written as JSON".to_string()));
    }

    #[test]
    fn values_convert_nested_as_deep_as_can_be_read_back() {
        let nested = |depth: usize| (1..depth).fold(Dynamic::from_array(Vec::new()), |inner, _| vec![inner].into());
        let json = to_json(&nested(json::MAX_DEPTH)).expect("convertible");
        assert_eq!(json.to_string(), format!("{}{}", "[".repeat(256), "]".repeat(256)));
        let deeper = nested(json::MAX_DEPTH + 1);
        assert_eq!(
            to_json(&deeper).map_err(|err| err.to_string()),
            Err("the value cannot be converted to JSON: it is nested deeper than 256 levels".to_string())
        );
        // The levels of a map and a response's body and headers count alike.
        let mut response = Map::new();
        response.insert("r".into(), Dynamic::from(Response { status: 200, body: nested(2), headers: Map::new() }));
        let map = Json::map(&response);
        assert!(serde_json::to_value(Json { limit: 4, ..map }).is_ok());
        assert!(serde_json::to_value(Json { limit: 3, ..map }).is_err());
        assert!(json_text(&deeper).is_ok(), "written as text all the same");
    }

    #[test]
    fn json_text_is_the_text_serde_json_writes() {
        let original = json!({
            "n": 3, "x": 1.5, "s": "a \"quoted\"\nline", "list": [true, null, "c", 1e-7, -0.0], "nested": {"a": -7},
            "max": i64::MAX, "min": i64::MIN, "unicode": "caf\u{e9} \u{1F600} \u{7f}",
        });
        let text = json_text(&to_dynamic(&original)).expect("writable");
        assert_eq!(text, original.to_string());
        let map = object_to_map(original.as_object().expect("an object"));
        assert_eq!(serde_json::to_string(&Json::map(&map)).ok(), Some(text));
        assert_eq!(map_to_json(&map).ok().map(Value::Object), Some(original));
    }

    #[test]
    fn json_text_writes_every_kind_of_value() {
        let mut value = to_dynamic(&json!({
            "n": -3, "x": 0.30000000000000004, "big": 1e300, "s": "tab\t \"q\" caf\u{e9} \u{1}",
            "list": [true, false, null, {"deep": []}], "empty": {},
        }));
        let mut response = Map::new();
        response.insert("char".into(), Dynamic::from_char('\n'));
        response.insert("blob".into(), Dynamic::from_blob(vec![0, 7, 255]));
        response.insert("time".into(), Dynamic::from(Time { utc: chrono::DateTime::UNIX_EPOCH, zone: None }));
        let mut headers = Map::new();
        headers.insert("x-a".into(), "1".into());
        let reply = Response { status: 201, body: Dynamic::from_map(response), headers };
        if let Some(mut map) = value.write_lock::<Map>() {
            map.insert("response".into(), Dynamic::from(reply));
        }
        let text = json_text(&value).expect("writable");
        let expected = json!({
            "n": -3, "x": 0.30000000000000004, "big": 1e300, "s": "tab\t \"q\" caf\u{e9} \u{1}",
            "list": [true, false, null, {"deep": []}], "empty": {},
            "response": {
                "body": { "blob": [0, 7, 255], "char": "\n", "time": "1970-01-01T00:00:00Z" },
                "headers": { "x-a": "1" },
                "status": 201,
            },
        });
        assert_eq!(text, expected.to_string());
        assert_eq!(
            json_text(&Dynamic::from(f64::INFINITY)).map_err(|err| err.to_string()),
            Err("inf cannot be written as JSON".to_string())
        );
        assert_eq!(to_json(&value).ok(), Some(expected));
        let instant = json_text(&Dynamic::from(std::time::Instant::now())).expect_err("not JSON").to_string();
        assert!(instant.ends_with("cannot be converted to JSON"), "{instant}");
    }

    #[test]
    fn secrets_are_redacted_from_strings_keys_and_numbers_as_written() {
        let secrets = Secrets::new(["s3cret\"9".to_string(), "424242".to_string()]);
        let value = to_dynamic(&json!({
            "token": "a s3cret\"9 b", "s3cret\"9": [14242420, 1.5, 0.424242], "plain": "x", "n": 7,
        }));
        let written = serde_json::to_string(&Json::new(&value).redacted(&secrets)).expect("writable");
        let expected = json!({ "token": "a *** b", "***": ["1***0", 1.5, "0.***"], "plain": "x", "n": 7 });
        // A redacted key keeps its place in the text (a map's order by the keys as they were).
        assert_eq!(serde_json::from_str::<Value>(&written).ok().as_ref(), Some(&expected));
        assert_eq!(serde_json::to_value(Json::new(&value).redacted(&secrets)).ok(), Some(expected));
    }
}
