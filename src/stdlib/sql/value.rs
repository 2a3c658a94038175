//! The one type mapping between script values and SQL values, for every database: a bound Rhai
//! value becomes a [`Value`], and each backend maps `Value` to and from its own wire types.

use crate::engine::convert;
use crate::engine::time::Time;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rhai::{Array, Blob, Dynamic};

/// A SQL value on its way between a script and a database.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// An exact decimal as text (`-12.50`, `NaN`): never through `f64`, so nothing is rounded.
    Decimal(String),
    Text(String),
    Bytes(Vec<u8>),
    Json(serde_json::Value),
    Time(DateTime<Utc>),
    Date(NaiveDate),
    Uuid(uuid::Uuid),
    /// A PostgreSQL array (elements of one type).
    Array(Vec<Value>),
}

/// A script value that has no SQL value.
#[derive(Debug, thiserror::Error)]
#[error("a value of type `{0}` cannot be bound as a SQL parameter")]
pub struct Unbindable(pub String);

impl Value {
    /// The value a script binds: `()` is NULL, a map is JSON, an array stays an array (a
    /// PostgreSQL array, or JSON where the database has none), a time is a timestamp.
    pub fn from_dynamic(value: &Dynamic) -> Result<Self, Unbindable> {
        let value = value.flatten_clone();
        Ok(if value.is_unit() {
            Value::Null
        } else if let Ok(b) = value.as_bool() {
            Value::Bool(b)
        } else if let Ok(i) = value.as_int() {
            Value::Int(i)
        } else if let Ok(f) = value.as_float() {
            Value::Float(f)
        } else if value.is_string() || value.is_char() {
            Value::Text(convert::as_text(&value).unwrap_or_default())
        } else if value.is_blob() {
            Value::Bytes(value.cast::<Blob>())
        } else if value.is_array() {
            let items = value.cast::<Array>();
            Value::Array(items.iter().map(Value::from_dynamic).collect::<Result<_, _>>()?)
        } else if let Some(time) = value.read_lock::<Time>() {
            Value::Time(time.utc)
        } else if value.is_map() {
            Value::Json(convert::to_json(&value).map_err(|_| Unbindable(value.type_name().to_string()))?)
        } else {
            return Err(Unbindable(value.type_name().to_string()));
        })
    }

    /// The value a script reads: NULL is `()`, a decimal and a UUID are strings, a date is a
    /// time at midnight UTC, JSON is a map or array.
    pub fn into_dynamic(self) -> Dynamic {
        match self {
            Value::Null => Dynamic::UNIT,
            Value::Bool(b) => b.into(),
            Value::Int(i) => i.into(),
            Value::Float(f) => f.into(),
            Value::Decimal(text) | Value::Text(text) => text.into(),
            Value::Bytes(bytes) => Dynamic::from_blob(bytes),
            Value::Json(json) => convert::to_dynamic(&json),
            Value::Time(utc) => Dynamic::from(Time::new(utc)),
            Value::Date(date) => Dynamic::from(Time::new(date.and_time(chrono::NaiveTime::MIN).and_utc())),
            Value::Uuid(uuid) => uuid.to_string().into(),
            Value::Array(items) => Dynamic::from_array(items.into_iter().map(Value::into_dynamic).collect()),
        }
    }

    /// The value as text, for databases and parameters that take text: a time in RFC 3339,
    /// a date as `YYYY-MM-DD`, JSON (and an array) as JSON text; `None` for NULL and bytes.
    pub fn to_text(&self) -> Option<String> {
        Some(match self {
            Value::Null | Value::Bytes(_) => return None,
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Decimal(text) | Value::Text(text) => text.clone(),
            Value::Json(json) => json.to_string(),
            Value::Time(utc) => utc.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            Value::Date(date) => date.format("%Y-%m-%d").to_string(),
            Value::Uuid(uuid) => uuid.to_string(),
            Value::Array(_) => self.to_json().to_string(),
        })
    }

    /// The value as JSON (a string for text, times, decimals and UUIDs; bytes as an array of numbers).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as Json;
        match self {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::Bytes(bytes) => Json::Array(bytes.iter().map(|byte| Json::from(*byte)).collect()),
            Value::Json(json) => json.clone(),
            Value::Array(items) => Json::Array(items.iter().map(Value::to_json).collect()),
            other => Json::String(other.to_text().unwrap_or_default()),
        }
    }

    /// What the value is, in error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "()",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Decimal(_) => "decimal",
            Value::Text(_) => "string",
            Value::Bytes(_) => "blob",
            Value::Json(_) => "map",
            Value::Time(_) => "time",
            Value::Date(_) => "date",
            Value::Uuid(_) => "uuid",
            Value::Array(_) => "array",
        }
    }
}

/// A timestamp or date written as text: RFC 3339, `YYYY-MM-DD HH:MM:SS[.f]` (read as UTC), or
/// `YYYY-MM-DD` (midnight UTC).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    for pattern in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(time) = chrono::NaiveDateTime::parse_from_str(text, pattern) {
            return Some(time.and_utc());
        }
    }
    for pattern in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%:z"] {
        if let Ok(time) = DateTime::parse_from_str(text, pattern) {
            return Some(time.with_timezone(&Utc));
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(|date| date.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// Whether `text` is an exact decimal number as SQL writes one (`-12.50`, `1e3`, `NaN`).
pub fn is_decimal(text: &str) -> bool {
    let text = text.trim();
    if matches!(text, "NaN" | "Infinity" | "-Infinity") {
        return true;
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match digits.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (digits, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|exponent| {
        let exponent = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
        !exponent.is_empty() && all_digits(exponent)
    });
    !(whole.is_empty() && fraction.is_empty()) && all_digits(whole) && all_digits(fraction) && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhai::Map;

    #[test]
    fn script_values_bind_and_read_back() {
        let mut map = Map::new();
        map.insert("a".into(), 1_i64.into());
        let cases: Vec<(Dynamic, Value)> = vec![
            (Dynamic::UNIT, Value::Null),
            (true.into(), Value::Bool(true)),
            (7_i64.into(), Value::Int(7)),
            (1.5_f64.into(), Value::Float(1.5)),
            ("x".into(), Value::Text("x".into())),
            (Dynamic::from_blob(vec![0, 255]), Value::Bytes(vec![0, 255])),
            (Dynamic::from_map(map), Value::Json(serde_json::json!({"a": 1}))),
            (Dynamic::from_array(vec![1_i64.into()]), Value::Array(vec![Value::Int(1)])),
        ];
        for (script, sql) in cases {
            assert_eq!(Value::from_dynamic(&script).expect("binds"), sql);
            assert_eq!(sql.clone().into_dynamic().to_string(), script.to_string());
        }
    }

    #[test]
    fn decimals_uuids_and_dates_read_as_strings_and_times() {
        assert_eq!(
            Value::Decimal("12345678901234567890.000001".into()).into_dynamic().to_string(),
            "12345678901234567890.000001"
        );
        let date = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
        let time = Value::Date(date).into_dynamic();
        assert_eq!(time.read_lock::<Time>().expect("a time").to_rfc3339(), "2026-12-02T00:00:00Z");
    }

    #[test]
    fn times_parse_from_the_forms_databases_write() {
        let expected = "2026-12-02T10:20:30Z";
        for text in ["2026-12-02T10:20:30Z", "2026-12-02 10:20:30", "2026-12-02 11:20:30+01:00", "2026-12-02T10:20:30"]
        {
            let time = parse_time(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(Time::new(time).to_rfc3339(), expected, "{text}");
        }
        assert!(parse_time("2026-12-02").is_some());
        assert!(parse_time("soon").is_none());
    }

    #[test]
    fn decimal_text_is_recognized() {
        for good in ["0", "-12.50", "+3", ".5", "5.", "1e10", "1.5E-3", "NaN"] {
            assert!(is_decimal(good), "{good}");
        }
        for bad in ["", "-", "1.2.3", "1e", "abc", "0x10", "."] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }
}
