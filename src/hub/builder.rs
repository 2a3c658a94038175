//! The one function that assembles the Rhai engine; `serve`, `run`, `check`, the REPL and the
//! tests all use it, so a script behaves the same everywhere.

use crate::config::Limits;
use crate::engine::context::{self, Level};
use crate::engine::{HubModules, ModuleError, response};
use crate::stdlib::{self, Capabilities};
use rhai::Engine;
use std::sync::Arc;

/// Builds the engine for one snapshot of a hub: sandbox limits, stdlib, `response`/`fail`,
/// captured output and module resolution. Built once per snapshot, never per run.
pub fn build_engine(capabilities: &Arc<Capabilities>, limits: &Limits) -> Result<Engine, ModuleError> {
    let mut engine = Engine::new();
    engine
        .set_max_call_levels(limits.max_call_depth)
        .set_max_expr_depths(128, 64)
        .set_max_string_size(usize::try_from(limits.max_string.0).unwrap_or(usize::MAX))
        .set_max_array_size(limits.max_array)
        .set_max_map_size(limits.max_map)
        .set_max_modules(256)
        // No string interner: it is one lock shared by every run, and under the `sync` feature
        // rhai answers contention on it by sleeping 10 ms (`locked_write`), so two requests
        // building strings at once would cost one of them 10 ms.
        .set_max_strings_interned(0);
    // `eval` would compile new code on every call, outside the AST cache and the checks of `check`.
    engine.disable_symbol("eval");
    engine.on_progress(context::progress);
    engine.on_print(|text| context::push_line(Level::Print, text));
    engine.on_debug(|text, _, _| context::push_line(Level::Debug, text));
    response::register(&mut engine);
    stdlib::register(&mut engine, capabilities);
    let modules = HubModules::new(&engine, &capabilities.hub_dir)?;
    engine.set_module_resolver(modules);
    Ok(engine)
}
