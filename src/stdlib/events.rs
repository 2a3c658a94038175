//! `events`: announce that something happened; every `[[on]]` subscriber of the name runs later,
//! each as its own run, after the emitting run ends.

use super::{Result, def, error};
use crate::engine::{context, convert};
use rhai::{Dynamic, Module};

/// Longest accepted event name.
const MAX_NAME: usize = 200;

/// Builds the `events` module.
pub fn module() -> Module {
    let mut module = Module::new();
    def!(&mut module, "emit", emit);
    def!(&mut module, "emit", |name: &str| emit(name, Dynamic::UNIT));
    module
}

/// Emits the event `name` with `data` (any JSON-compatible value). The event is stored when the
/// run ends and each subscriber gets `data` as its `input` (a non-map value arrives as
/// `#{ data: value }`).
///
/// ```rhai
/// events::emit("customer.created", #{ email: "ada@example.com", name: "Ada" });
/// ```
pub fn emit(name: &str, data: Dynamic) -> Result<()> {
    if name.trim().is_empty() || name.len() > MAX_NAME || name.chars().any(char::is_whitespace) {
        return Err(error(
            "events.emit",
            format!("`{name}` is not an event name (no spaces, 1-{MAX_NAME} characters)"),
        ));
    }
    let json = convert::to_json(&data).map_err(|err| error("events.emit", err))?;
    context::record_event(name, json).map_err(|err| error("events.emit", err))
}
