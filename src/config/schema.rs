//! A route's `body_schema` checked the way `serve` compiles it, with the schema file's line and
//! column and the JSON pointer of the mistake.

use super::{ConfigError, ParamType, line_column};
use std::collections::BTreeMap;
use std::path::Path;

/// Why a JSON Schema file cannot be used, with the place of the mistake when it has one.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("cannot read: {0}")]
    Read(#[source] std::io::Error),
    #[error("not JSON: {source}")]
    NotJson { position: (usize, usize), source: serde_json::Error },
    #[error("not a valid JSON Schema: {message}")]
    Invalid {
        /// The JSON pointer of the mistake (empty for the whole schema).
        pointer: String,
        position: Option<(usize, usize)>,
        message: String,
    },
}

/// A route's compiled body schema, with the types it declares for the body's top-level fields.
pub struct BodySchema {
    pub validator: jsonschema::Validator,
    /// `properties.NAME.type` when it is integer, number or boolean: a form body's fields (all
    /// text) are converted to it before validation, as declared query parameters are.
    pub form_types: BTreeMap<String, ParamType>,
}

/// Reads and compiles the JSON Schema in `file`, as `serve` validates bodies with it.
pub fn compile(file: &Path) -> Result<BodySchema, SchemaError> {
    let text = std::fs::read_to_string(file).map_err(SchemaError::Read)?;
    let schema: serde_json::Value = serde_json::from_str(&text)
        .map_err(|err| SchemaError::NotJson { position: (err.line(), err.column()), source: err })?;
    let validator = jsonschema::validator_for(&schema).map_err(|err| {
        let pointer = err.instance_path().as_str().to_string();
        let position = offset(&text, &pointer).map(|at| line_column(&text, at));
        SchemaError::Invalid { pointer, position, message: err.to_string() }
    })?;
    Ok(BodySchema { validator, form_types: form_types(&schema) })
}

/// The scalar types a schema declares for its top-level properties (`"type": "number"`, or the
/// first of integer, number, boolean in a list of types).
fn form_types(schema: &serde_json::Value) -> BTreeMap<String, ParamType> {
    let kind = |name: &str| match name {
        "integer" => Some(ParamType::Integer),
        "number" => Some(ParamType::Number),
        "boolean" => Some(ParamType::Boolean),
        _ => None,
    };
    let Some(properties) = schema.get("properties").and_then(serde_json::Value::as_object) else {
        return BTreeMap::new();
    };
    properties
        .iter()
        .filter_map(|(name, property)| {
            let declared = match property.get("type")? {
                serde_json::Value::String(one) => kind(one),
                serde_json::Value::Array(many) => many.iter().filter_map(serde_json::Value::as_str).find_map(kind),
                _ => None,
            };
            declared.map(|kind| (name.clone(), kind))
        })
        .collect()
}

/// What is wrong with the JSON Schema `relative` of the hub at `hub`, if anything. `used_by`
/// names the route (`route[0] POST /a`); the error names the schema file itself, with a
/// position when the mistake has one.
pub fn problem(hub: &Path, relative: &str, used_by: &str) -> Option<ConfigError> {
    let err = compile(&hub.join(relative)).err()?;
    let (position, key) = match &err {
        SchemaError::Read(_) => (None, None),
        SchemaError::NotJson { position, .. } => (Some(*position), None),
        SchemaError::Invalid { pointer, position, .. } => (*position, (!pointer.is_empty()).then(|| pointer.clone())),
    };
    Some(ConfigError {
        file: hub.join(relative),
        position,
        key,
        message: format!("{err} (the body_schema of {used_by})"),
    })
}

/// Where the value at JSON `pointer` (`/properties/a/type`) starts in the JSON `text`.
fn offset(text: &str, pointer: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = skip_space(bytes, 0);
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        at = match bytes.get(at)? {
            b'{' => member(text, at, &token)?,
            b'[' => element(bytes, at, token.parse().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}

/// The start of the value of member `name` of the object at `at`.
fn member(text: &str, at: usize, name: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = skip_space(bytes, at + 1);
    while bytes.get(at)? == &b'"' {
        let end = skip_value(bytes, at)?;
        let key: String = serde_json::from_str(&text[at..end]).ok()?;
        at = skip_space(bytes, end);
        if bytes.get(at)? != &b':' {
            return None;
        }
        at = skip_space(bytes, at + 1);
        if key == name {
            return Some(at);
        }
        at = skip_space(bytes, skip_value(bytes, at)?);
        if bytes.get(at) == Some(&b',') {
            at = skip_space(bytes, at + 1);
        }
    }
    None
}

/// The start of element `index` of the array at `at`.
fn element(bytes: &[u8], at: usize, index: usize) -> Option<usize> {
    let mut at = skip_space(bytes, at + 1);
    for _ in 0..index {
        at = skip_space(bytes, skip_value(bytes, at)?);
        if bytes.get(at)? != &b',' {
            return None;
        }
        at = skip_space(bytes, at + 1);
    }
    (bytes.get(at)? != &b']').then_some(at)
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// The end of the value starting at `at` (in text already known to be valid JSON).
fn skip_value(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at)? {
        b'"' => {
            let mut at = at + 1;
            loop {
                match bytes.get(at)? {
                    b'\\' => at += 2,
                    b'"' => return Some(at + 1),
                    _ => at += 1,
                }
            }
        }
        b'{' | b'[' => {
            let (mut at, mut depth) = (at, 0usize);
            loop {
                match bytes.get(at)? {
                    b'"' => {
                        at = skip_value(bytes, at)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(at + 1);
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
        }
        _ => {
            let scalar = |byte: &u8| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'+');
            Some(at + bytes[at..].iter().take_while(|byte| scalar(byte)).count())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_lead_to_the_value_they_name() {
        let text = "{\n  \"type\": \"object\",\n  \"properties\": {\n    \"a/b\": {\"type\": 5},\n    \"list\": [1, {\"x\": \"y\\\"\"}, true]\n  }\n}";
        let at = |pointer| offset(text, pointer).map(|at| line_column(text, at));
        assert_eq!(at(""), Some((1, 1)));
        assert_eq!(at("/type"), Some((2, 11)));
        assert_eq!(at("/properties/a~1b/type"), Some((4, 21)));
        assert_eq!(at("/properties/list/1/x"), Some((5, 23)));
        assert_eq!(at("/properties/list/2"), Some((5, 31)));
        assert_eq!(at("/properties/list/3"), None);
        assert_eq!(at("/nope"), None);
    }
}
