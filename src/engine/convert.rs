//! Conversions between Rhai values and JSON: integers stay integers, maps keep their keys.

use crate::engine::response::Response;
use crate::stdlib::time::Time;
use rhai::{Array, Blob, Dynamic, Map};
use serde_json::{Number, Value};

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
    let value = value.flatten_clone();
    if value.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Ok(Value::Number(i.into()));
    }
    if let Ok(f) = value.as_float() {
        return Number::from_f64(f).map(Value::Number).ok_or_else(|| format!("{f} cannot be written as JSON"));
    }
    if let Ok(c) = value.as_char() {
        return Ok(Value::String(c.to_string()));
    }
    if value.is_string() {
        return Ok(Value::String(value.into_string().unwrap_or_default()));
    }
    if value.is_array() {
        let items = value.cast::<Array>();
        return items.iter().map(to_json).collect::<Result<_, _>>().map(Value::Array);
    }
    if value.is_map() {
        return map_to_json(&value.cast::<Map>()).map(Value::Object);
    }
    if value.is_blob() {
        let bytes = value.cast::<Blob>();
        return Ok(Value::Array(bytes.into_iter().map(|b| Value::Number(b.into())).collect()));
    }
    if let Some(time) = value.clone().try_cast::<Time>() {
        return Ok(Value::String(time.to_rfc3339()));
    }
    if let Some(response) = value.clone().try_cast::<Response>() {
        let mut object = serde_json::Map::new();
        object.insert("status".into(), Value::Number(response.status.into()));
        object.insert("body".into(), to_json(&response.body)?);
        object.insert("headers".into(), Value::Object(map_to_json(&response.headers)?));
        return Ok(Value::Object(object));
    }
    Err(format!("a value of type `{}` cannot be converted to JSON", value.type_name()))
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
    match to_json(value) {
        Ok(json) => json.to_string(),
        Err(_) => value.to_string(),
    }
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
    }
}
