//! `log`: lines at a level, kept in the run log of the current run (like `print` and `debug`).

use super::def;
use crate::engine::context::{Level, push_line};
use crate::engine::convert::to_text;
use rhai::{Dynamic, Module};

/// Builds the `log` module.
pub fn module() -> Module {
    let mut module = Module::new();
    def!(&mut module, "info", info);
    def!(&mut module, "warn", warn);
    def!(&mut module, "error", error);
    module
}

/// Records an informational line; maps and arrays are written as JSON.
///
/// ```rhai
/// log::info(`imported ${rows.len()} rows`);
/// ```
pub fn info(message: Dynamic) {
    push_line(Level::Info, &to_text(&message));
}

/// Records a warning line.
///
/// ```rhai
/// log::warn("upstream slow, using cached value");
/// ```
pub fn warn(message: Dynamic) {
    push_line(Level::Warn, &to_text(&message));
}

/// Records an error line (the run itself goes on; use `throw` or `fail` to stop it).
///
/// ```rhai
/// log::error(#{ failed: "row 7", reason: "no email" });
/// ```
pub fn error(message: Dynamic) {
    push_line(Level::Error, &to_text(&message));
}
