//! Conversions between Rhai values and JSON: integers stay integers, maps keep their keys.

use crate::engine::response::Response;
use crate::stdlib::time::Time;
use rhai::{Dynamic, Map};
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

/// A Rhai value as JSON; fails for values JSON cannot hold (functions, non-finite floats).
pub fn to_json(value: &Dynamic) -> Result<Value, String> {
    serde_json::to_value(Json(value)).map_err(|err| err.to_string())
}

/// A Rhai value as JSON for serde: `serde_json::to_string(&Json(&value))` writes the text directly,
/// without building a `serde_json::Value` first. Containers are read in place.
pub struct Json<'a>(pub &'a Dynamic);

impl serde::Serialize for Json<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeMap, SerializeSeq};
        let value = self.0;
        // The `is_*` tests read the type tag; a failed `as_*` would first build an error text.
        if value.is_string() {
            return serializer.serialize_str(&value.as_immutable_string_ref().map_err(S::Error::custom)?);
        }
        if value.is_map() {
            return JsonMap(&*value.as_map_ref().map_err(S::Error::custom)?).serialize(serializer);
        }
        if value.is_unit() {
            return serializer.serialize_unit();
        }
        if value.is_int() {
            return serializer.serialize_i64(value.as_int().map_err(S::Error::custom)?);
        }
        if value.is_bool() {
            return serializer.serialize_bool(value.as_bool().map_err(S::Error::custom)?);
        }
        if value.is_array() {
            let items = value.as_array_ref().map_err(S::Error::custom)?;
            let mut seq = serializer.serialize_seq(Some(items.len()))?;
            for item in items.iter() {
                seq.serialize_element(&Json(item))?;
            }
            return seq.end();
        }
        if value.is_float() {
            let f = value.as_float().map_err(S::Error::custom)?;
            if !f.is_finite() {
                return Err(S::Error::custom(format!("{f} cannot be written as JSON")));
            }
            return serializer.serialize_f64(f);
        }
        if value.is_char() {
            return serializer.serialize_char(value.as_char().map_err(S::Error::custom)?);
        }
        if value.is_blob() {
            let bytes = value.as_blob_ref().map_err(S::Error::custom)?;
            return serializer.collect_seq(bytes.iter());
        }
        if let Some(time) = value.read_lock::<Time>() {
            return time.with_rfc3339(|text| serializer.serialize_str(text));
        }
        if let Some(response) = value.read_lock::<Response>() {
            // Keys in sorted order, as a `serde_json::Map` holds them.
            let mut out = serializer.serialize_map(Some(3))?;
            out.serialize_entry("body", &Json(&response.body))?;
            out.serialize_entry("headers", &JsonMap(&response.headers))?;
            out.serialize_entry("status", &response.status)?;
            return out.end();
        }
        Err(S::Error::custom(format!("a value of type `{}` cannot be converted to JSON", value.type_name())))
    }
}

/// A Rhai object map as a JSON object for serde, like [`Json`] of a map without wrapping it.
pub struct JsonMap<'a>(pub &'a Map);

impl serde::Serialize for JsonMap<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut out = serializer.serialize_map(Some(self.0.len()))?;
        for (key, item) in self.0.iter() {
            out.serialize_entry(key.as_str(), &Json(item))?;
        }
        out.end()
    }
}

/// `value` as JSON text, written into a buffer sized for a typical small value: serde_json's
/// own `to_string` starts empty and grows it five or six times for a request's event. Fails for
/// values JSON cannot hold.
pub fn json_text(value: &Dynamic) -> Result<String, String> {
    text_of(&Json(value))
}

/// A Rhai object map as JSON text, like [`json_text`] of the map.
pub fn map_json_text(map: &Map) -> Result<String, String> {
    text_of(&JsonMap(map))
}

fn text_of(value: &impl serde::Serialize) -> Result<String, String> {
    let mut buffer = Vec::with_capacity(256);
    serde_json::to_writer(&mut buffer, value).map_err(|err| err.to_string())?;
    // serde_json writes only UTF-8, so the lossy path is never taken.
    Ok(String::from_utf8(buffer).unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned()))
}

/// A Rhai object map as a JSON object.
pub fn map_to_json(map: &Map) -> Result<serde_json::Map<String, Value>, String> {
    map.iter().map(|(key, value)| Ok((key.to_string(), to_json(value)?))).collect()
}

/// A Rhai value as display text: strings as they are, everything else as compact JSON.
pub fn to_text(value: &Dynamic) -> String {
    if value.is_string() {
        return value.clone().into_string().unwrap_or_default();
    }
    serde_json::to_string(&Json(value)).unwrap_or_else(|_| value.to_string())
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
        assert!(serde_json::to_string(&Json(&Dynamic::from(f64::NAN))).is_err());
    }

    #[test]
    fn writing_json_directly_matches_the_value_conversion() {
        let original =
            json!({"n": 3, "x": 1.5, "s": "a \"quoted\"\nline", "list": [true, null, 'c'], "nested": {"a": -7}});
        let value = to_dynamic(&original);
        let text = serde_json::to_string(&Json(&value)).expect("writable");
        assert_eq!(text, to_json(&value).expect("convertible").to_string());
        assert_eq!(serde_json::from_str::<Value>(&text).expect("valid JSON"), original);
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
        assert_eq!(json_text(&Dynamic::from(f64::INFINITY)), Err("inf cannot be written as JSON".to_string()));
        let instant = json_text(&Dynamic::from(std::time::Instant::now())).expect_err("not JSON");
        assert!(instant.ends_with("cannot be converted to JSON"), "{instant}");
    }
}
