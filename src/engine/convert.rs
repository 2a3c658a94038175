//! Conversions between Rhai values and JSON: integers stay integers, maps keep their keys.

use super::time::Time;
use crate::engine::response::Response;
use crate::{json_read, json_write};
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

/// A Rhai value as JSON; fails for values JSON cannot hold (functions, non-finite floats). Read
/// back from [`json_text`], so a value becomes JSON one way only; a value nested deeper than
/// [`json_read::MAX_DEPTH`] is refused, so whatever is stored from it (state, events, queued
/// work) can be read back.
pub fn to_json(value: &Dynamic) -> Result<Value, String> {
    json_read::read(&json_text(value)?).map_err(|err| format!("the value cannot be converted to JSON: {err}"))
}

/// `value` as JSON text, written straight from the Rhai value into a buffer sized for a typical
/// small value. Fails for values JSON cannot hold.
pub fn json_text(value: &Dynamic) -> Result<String, String> {
    let mut out = String::with_capacity(256);
    write_json(&mut out, value)?;
    Ok(out)
}

/// A Rhai object map as JSON text, like [`json_text`] of the map.
pub fn map_json_text(map: &Map) -> Result<String, String> {
    let mut out = String::with_capacity(256);
    write_map(&mut out, map)?;
    Ok(out)
}

/// Appends `value` as JSON text, byte for byte as serde_json writes the same data, with about a
/// tenth fewer instructions than serde's serializer took for a hello's result.
fn write_json(out: &mut String, value: &Dynamic) -> Result<(), String> {
    // The `is_*` tests read the type tag; a failed `as_*` would first build an error text.
    if value.is_string() {
        json_write::push_str(out, &value.as_immutable_string_ref()?);
    } else if value.is_map() {
        write_map(out, &*value.as_map_ref()?)?;
    } else if value.is_unit() {
        out.push_str("null");
    } else if value.is_int() {
        json_write::push_int(out, value.as_int()?);
    } else if value.is_bool() {
        out.push_str(if value.as_bool()? { "true" } else { "false" });
    } else if value.is_array() {
        out.push('[');
        for (index, item) in value.as_array_ref()?.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            write_json(out, item)?;
        }
        out.push(']');
    } else if value.is_float() {
        let f = value.as_float()?;
        if !f.is_finite() {
            return Err(format!("{f} cannot be written as JSON"));
        }
        json_write::push_f64(out, f);
    } else if value.is_char() {
        json_write::push_str(out, value.as_char()?.encode_utf8(&mut [0; 4]));
    } else if value.is_blob() {
        out.push('[');
        for (index, byte) in value.as_blob_ref()?.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            json_write::push_int(out, *byte);
        }
        out.push(']');
    } else if let Some(time) = value.read_lock::<Time>() {
        json_write::push_str(out, &time.to_rfc3339());
    } else if let Some(response) = value.read_lock::<Response>() {
        // Keys in sorted order, as a `serde_json::Map` holds them.
        out.push_str("{\"body\":");
        write_json(out, &response.body)?;
        out.push_str(",\"headers\":");
        write_map(out, &response.headers)?;
        out.push_str(",\"status\":");
        json_write::push_int(out, response.status);
        out.push('}');
    } else {
        return Err(format!("a value of type `{}` cannot be converted to JSON", value.type_name()));
    }
    Ok(())
}

/// Appends a Rhai object map as a JSON object, its keys in the map's (sorted) order.
fn write_map(out: &mut String, map: &Map) -> Result<(), String> {
    out.push('{');
    for (index, (key, item)) in map.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        json_write::push_str(out, key);
        out.push(':');
        write_json(out, item)?;
    }
    out.push('}');
    Ok(())
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
        assert_eq!(json_text(&Dynamic::from(f64::NAN)), Err("NaN cannot be written as JSON".to_string()));
    }

    #[test]
    fn values_convert_nested_as_deep_as_can_be_read_back() {
        let nested = |depth: usize| (1..depth).fold(Dynamic::from_array(Vec::new()), |inner, _| vec![inner].into());
        let json = to_json(&nested(json_read::MAX_DEPTH)).expect("convertible");
        assert_eq!(json.to_string(), format!("{}{}", "[".repeat(256), "]".repeat(256)));
        let deeper = nested(json_read::MAX_DEPTH + 1);
        assert_eq!(
            to_json(&deeper),
            Err("the value cannot be converted to JSON: it is nested deeper than 256 levels".to_string())
        );
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
        assert_eq!(map_json_text(&object_to_map(original.as_object().expect("an object"))), Ok(text));
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
