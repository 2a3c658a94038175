//! `json`: parse and write JSON; integers stay integers, floats stay floats.

use super::{Result, def, error};
use crate::engine::convert;
use rhai::{Dynamic, Module};

/// Builds the `json` module.
pub fn module() -> Module {
    let mut module = Module::new();
    def!(&mut module, "parse", parse);
    def!(&mut module, "stringify", stringify);
    def!(&mut module, "pretty", pretty);
    module
}

/// Parses JSON text into maps, arrays, strings, integers, floats, booleans and `()` for null.
///
/// ```rhai
/// let data = json::parse(`{"city": "London", "days": 3}`);
/// data.days + 1    // 4
/// ```
pub fn parse(text: &str) -> Result {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|err| error("json.parse", format!("{err} (line {}, column {})", err.line(), err.column())))?;
    Ok(convert::to_dynamic(&value))
}

/// Writes a value as compact JSON text.
///
/// ```rhai
/// json::stringify(#{ ok: true, n: 1 })    // `{"n":1,"ok":true}`
/// ```
pub fn stringify(value: Dynamic) -> Result<String> {
    convert::json_text(&value).map_err(|err| error("json.stringify", err))
}

/// Writes a value as indented JSON text.
///
/// ```rhai
/// print(json::pretty(#{ list: [1, 2] }));
/// ```
pub fn pretty(value: Dynamic) -> Result<String> {
    let json = convert::to_json(&value).map_err(|err| error("json.pretty", err))?;
    serde_json::to_string_pretty(&json).map_err(|err| error("json.pretty", err))
}
