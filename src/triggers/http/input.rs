//! Turning a request into the script's `input`: query parameters (declared ones converted to
//! their type), path parameters and the body (JSON, form or text), then schema validation.

use super::reply::{ApiError, Detail};
use crate::config::{ParamType, QueryParam};
use axum::http::HeaderMap;
use rhai::Dynamic;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// A parsed request body.
pub enum Body {
    Empty,
    Json(Value),
    Form(Map<String, Value>),
    Text,
}

impl Body {
    /// The body as a JSON value for schema validation (`null` when empty or text).
    pub fn as_json(&self) -> Value {
        match self {
            Body::Json(value) => value.clone(),
            Body::Form(fields) => Value::Object(fields.clone()),
            Body::Empty | Body::Text => Value::Null,
        }
    }
}

/// Parses the body according to its `Content-Type`. `curl -d '{...}'` sends JSON labelled as a
/// form, so a form body that is a JSON object is read as JSON.
pub fn parse_body(headers: &HeaderMap, bytes: &[u8]) -> Result<Body, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Body::Empty);
    }
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default();
    let looks_like_json = bytes.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|b| *b == b'{' || *b == b'[');
    let json = |bytes: &[u8]| {
        serde_json::from_slice::<Value>(bytes).map(Body::Json).map_err(|err| ApiError::BadRequest {
            message: format!("the body is not valid JSON: {err}"),
            details: vec![Detail {
                field: "body".into(),
                message: format!("line {}, column {}", err.line(), err.column()),
            }],
        })
    };
    match content_type.as_str() {
        "application/json" => json(bytes),
        t if t.ends_with("+json") => json(bytes),
        "application/x-www-form-urlencoded" if looks_like_json => json(bytes).or(Ok(Body::Text)),
        "application/x-www-form-urlencoded" => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).map_err(|err| {
                ApiError::BadRequest { message: format!("the form body is malformed: {err}"), details: vec![] }
            })?;
            Ok(Body::Form(pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect()))
        }
        "" if looks_like_json => json(bytes),
        _ => Ok(Body::Text),
    }
}

/// Query parameters as text, borrowed from the query unless percent-decoding changed them.
pub type RawQuery<'a> = BTreeMap<Cow<'a, str>, Cow<'a, str>>;

/// Query parameters as strings (the last of repeated names wins).
pub fn raw_query(query: Option<&str>) -> RawQuery<'_> {
    // Inserted one by one: `collect` into a BTreeMap sorts through a Vec first, costly for the
    // one or two parameters a request usually has.
    let mut raw = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        raw.insert(name, value);
    }
    raw
}

/// Query parameters for `input`, as Rhai values: declared ones checked and converted, others
/// passed as text. (Written straight as Rhai values: going through JSON values first cost a
/// request three more allocations per parameter.)
pub fn typed_query(raw: &RawQuery<'_>, declared: &BTreeMap<String, QueryParam>) -> Result<rhai::Map, ApiError> {
    typed(raw, declared, "invalid query parameters")
}

/// Path parameters for `input`: declared ones (`params = { id = { type = "integer" } }`)
/// checked and converted as query parameters are, others as text.
pub fn typed_params(
    params: &[(String, String)],
    declared: &BTreeMap<String, QueryParam>,
) -> Result<rhai::Map, ApiError> {
    let raw: RawQuery<'_> =
        params.iter().map(|(name, value)| (Cow::Borrowed(name.as_str()), Cow::Borrowed(value.as_str()))).collect();
    typed(&raw, declared, "invalid path parameters")
}

fn typed(raw: &RawQuery<'_>, declared: &BTreeMap<String, QueryParam>, problem: &str) -> Result<rhai::Map, ApiError> {
    let mut out = rhai::Map::new();
    for (name, value) in raw.iter().filter(|(name, _)| !declared.contains_key(name.as_ref())) {
        out.insert(name.as_ref().into(), value.as_ref().into());
    }
    let mut details = Vec::new();
    for (name, param) in declared {
        let value = match raw.get(name.as_str()) {
            Some(text) => match convert(text, param.kind) {
                Ok(value) => value,
                Err(message) => {
                    details.push(Detail { field: name.clone(), message });
                    continue;
                }
            },
            None => match &param.default {
                Some(default) => {
                    crate::engine::convert::to_dynamic(&serde_json::to_value(default).unwrap_or(Value::Null))
                }
                None if param.required => {
                    details.push(Detail { field: name.clone(), message: "is required".into() });
                    continue;
                }
                None => continue,
            },
        };
        if let Some(allowed) = &param.allowed
            && !allowed.iter().any(|allowed| is_allowed(&value, allowed))
        {
            let list: Vec<String> =
                allowed.iter().filter_map(|v| serde_json::to_value(v).ok()).map(|v| v.to_string()).collect();
            details.push(Detail { field: name.clone(), message: format!("must be one of {}", list.join(", ")) });
            continue;
        }
        out.insert(name.as_str().into(), value);
    }
    if details.is_empty() { Ok(out) } else { Err(ApiError::BadRequest { message: problem.into(), details }) }
}

/// Whether a parameter's `value` is the enum value `allowed`: compared as values, so a number
/// matches whether the manifest wrote it with a decimal point or not.
fn is_allowed(value: &Dynamic, allowed: &toml::Value) -> bool {
    #[allow(clippy::cast_precision_loss)]
    let number = |value: &Dynamic| value.as_float().ok().or_else(|| value.as_int().ok().map(|int| int as f64));
    match allowed {
        toml::Value::String(text) => value.as_immutable_string_ref().is_ok_and(|value| value.as_str() == text),
        toml::Value::Integer(int) if value.is_int() => value.as_int() == Ok(*int),
        #[allow(clippy::cast_precision_loss)]
        toml::Value::Integer(int) => number(value) == Some(*int as f64),
        toml::Value::Float(float) => number(value) == Some(*float),
        toml::Value::Boolean(flag) => value.as_bool() == Ok(*flag),
        _ => false,
    }
}

fn convert(text: &str, kind: ParamType) -> Result<Dynamic, String> {
    match kind {
        ParamType::String => Ok(text.into()),
        ParamType::Integer => text.trim().parse::<i64>().map(Dynamic::from_int).map_err(|_| {
            let digits = text.trim().trim_start_matches(['-', '+']);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                format!("`{text}` is out of range for an integer (64-bit)")
            } else {
                format!("`{text}` is not an integer")
            }
        }),
        ParamType::Number => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|number| number.is_finite())
            .map(Dynamic::from_float)
            .ok_or_else(|| format!("`{text}` is not a number")),
        ParamType::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Dynamic::TRUE),
            "false" | "0" | "no" | "off" => Ok(Dynamic::FALSE),
            _ => Err(format!("`{text}` is not a boolean (true or false)")),
        },
    }
}

/// Converts the fields of a form body (all text) to the types the route's body schema declares
/// for them, by the rules of declared query parameters; a field that does not convert is named.
pub fn coerce_form(fields: &mut Map<String, Value>, types: &BTreeMap<String, ParamType>) -> Result<(), ApiError> {
    let mut details = Vec::new();
    for (name, kind) in types {
        let Some(Value::String(text)) = fields.get(name) else { continue };
        match convert(text, *kind) {
            Ok(value) => {
                let value = crate::engine::convert::to_json(&value).unwrap_or(Value::Null);
                fields.insert(name.clone(), value);
            }
            Err(message) => details.push(Detail { field: name.clone(), message }),
        }
    }
    if details.is_empty() {
        Ok(())
    } else {
        Err(ApiError::BadRequest { message: "the form body does not match the route's schema".into(), details })
    }
}

/// Validates the body against the route's JSON Schema, listing every failure.
pub fn validate(schema: &jsonschema::Validator, body: &Value) -> Result<(), ApiError> {
    let details: Vec<Detail> = schema
        .iter_errors(body)
        .map(|error| {
            let pointer = error.instance_path().to_string();
            let field =
                if pointer.is_empty() { "body".to_string() } else { pointer.trim_start_matches('/').replace('/', ".") };
            Detail { field, message: error.to_string() }
        })
        .collect();
    if details.is_empty() {
        Ok(())
    } else {
        Err(ApiError::BadRequest { message: "the body does not match the route's schema".into(), details })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(kind: ParamType, required: bool) -> QueryParam {
        QueryParam { kind, required, default: None, allowed: None, description: None }
    }

    #[test]
    fn declared_parameters_are_converted_and_checked() {
        let declared = BTreeMap::from([
            ("n".to_string(), param(ParamType::Integer, true)),
            ("flag".to_string(), param(ParamType::Boolean, false)),
        ]);
        let raw = raw_query(Some("n=7&fl%61g=yes"));
        let out = typed_query(&raw, &declared).expect("valid");
        assert_eq!(out.get("n").and_then(|n| n.as_int().ok()), Some(7));
        assert_eq!(out.get("flag").and_then(|flag| flag.as_bool().ok()), Some(true));
        let missing = typed_query(&BTreeMap::new(), &declared);
        assert!(matches!(missing, Err(ApiError::BadRequest { details, .. }) if details[0].field == "n"));
    }

    #[test]
    fn enum_values_are_compared_as_values() {
        let with = |kind: ParamType, allowed: Vec<toml::Value>| {
            BTreeMap::from([("p".to_string(), QueryParam { allowed: Some(allowed), ..param(kind, true) })])
        };
        let passes = |declared: &BTreeMap<String, QueryParam>, query: &str| {
            typed_query(&raw_query(Some(query)), declared).is_ok()
        };
        let colors = with(ParamType::String, vec!["red".into(), "blue".into()]);
        assert!(passes(&colors, "p=red") && !passes(&colors, "p=green"));
        let sizes = with(ParamType::Integer, vec![1.into(), 2.into()]);
        assert!(passes(&sizes, "p=2") && !passes(&sizes, "p=3"));
        // A number parameter whose enum the manifest wrote as integers (regression: `1` was
        // refused as `1.0`).
        let ratios = with(ParamType::Number, vec![1.into(), 2.5.into()]);
        assert!(passes(&ratios, "p=1") && passes(&ratios, "p=2.5") && !passes(&ratios, "p=2"));
        let flags = with(ParamType::Boolean, vec![true.into()]);
        assert!(passes(&flags, "p=yes") && !passes(&flags, "p=no"));
        let refused = typed_query(&raw_query(Some("p=green")), &colors);
        assert!(
            matches!(&refused, Err(ApiError::BadRequest { details, .. }) if details[0].message == r#"must be one of "red", "blue""#),
            "{refused:?}"
        );
    }
}
