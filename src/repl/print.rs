//! How the REPL shows things: results on stdout (maps and arrays as indented JSON, strings quoted,
//! `()` as nothing), messages and errors on stderr.

use crate::engine::convert;
use rhai::{Dynamic, Engine, Scope};
use serde_json::Value;
use std::io::Write;

/// A value as the REPL shows it; `None` for `()`.
pub fn value(engine: &Engine, value: &Dynamic) -> Option<String> {
    let value = value.flatten_clone();
    if value.is_unit() {
        return None;
    }
    if let Ok(c) = value.as_char() {
        return Some(format!("{c:?}"));
    }
    if (value.is_string() || value.is_array() || value.is_map() || value.is_blob())
        && let Ok(json) = convert::to_json(&value)
    {
        return json_value(&json);
    }
    if value.is_int() || value.is_float() || value.is_bool() {
        return Some(value.to_string());
    }
    Some(debug(engine, value))
}

/// A value on one line, cut to 100 characters (for `:vars`).
pub fn compact(engine: &Engine, value: &Dynamic) -> String {
    let text = match convert::to_json(value) {
        Ok(json) if !value.is_variant() => json.to_string(),
        _ => debug(engine, value.flatten_clone()),
    };
    match text.char_indices().nth(100) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}

/// A JSON value as the REPL shows it; `None` for `null`.
pub fn json_value(json: &Value) -> Option<String> {
    match json {
        Value::Null => None,
        other => serde_json::to_string_pretty(other).ok(),
    }
}

/// The value's `to_debug` as the engine defines it for its type (`Time(2026-...)`, `Db`, function
/// pointers, maps holding them).
fn debug(engine: &Engine, value: Dynamic) -> String {
    let fallback = format!("{value:?}");
    let mut scope = Scope::new();
    scope.push_dynamic("value", value);
    engine.eval_expression_with_scope::<String>(&mut scope, "to_debug(value)").unwrap_or(fallback)
}

/// Writes `text` and a newline to stdout. Errors are ignored: a closed pipe (`| head`) only means
/// nobody reads the rest, and the session goes on reading its input.
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
}

/// Writes `text` and a newline to stderr.
pub fn err(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{text}").and_then(|()| stderr.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(value: impl Into<Dynamic>) -> Option<String> {
        super::value(&Engine::new(), &value.into())
    }

    #[test]
    fn results_are_readable() {
        assert_eq!(show(Dynamic::UNIT), None);
        assert_eq!(show(42_i64).as_deref(), Some("42"));
        assert_eq!(show(1.5_f64).as_deref(), Some("1.5"));
        assert_eq!(show(true).as_deref(), Some("true"));
        assert_eq!(show("say \"hi\"").as_deref(), Some(r#""say \"hi\"""#));
        assert_eq!(show('x').as_deref(), Some("'x'"));
        let mut map = rhai::Map::new();
        map.insert("n".into(), Dynamic::from(1_i64));
        map.insert("list".into(), Dynamic::from_array(vec![Dynamic::from("a")]));
        assert_eq!(show(map).as_deref(), Some("{\n  \"list\": [\n    \"a\"\n  ],\n  \"n\": 1\n}"));
    }

    #[test]
    fn values_json_cannot_hold_use_the_engine_debug_form() {
        let engine = Engine::new();
        let pointer = engine.eval::<Dynamic>("Fn(\"abs\")").expect("a function pointer");
        assert_eq!(value(&engine, &pointer).as_deref(), Some("Fn(abs)"));
        let map = engine.eval::<Dynamic>("#{ f: Fn(\"abs\") }").expect("a map");
        assert!(value(&engine, &map).is_some_and(|text| text.contains("Fn(abs)")));
    }
}
