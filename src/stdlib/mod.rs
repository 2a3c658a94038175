//! The curated native stdlib: one file per script-visible module, each built from the
//! capabilities of one hub snapshot (connections, roots, allow-lists in; a Rhai `Module` out).

pub(crate) mod actions;
mod capabilities;
pub(crate) mod circuit;
pub(crate) mod events;
pub(crate) mod exec;
pub(crate) mod fs;
pub(crate) mod http;
mod hub_files;
pub(crate) mod json;
pub(crate) mod log;
pub(crate) mod mail;
pub(crate) mod mqtt;
mod paths;
pub(crate) mod sql;
pub(crate) mod state;
pub(crate) mod time;

pub use capabilities::Capabilities;

use rhai::{Dynamic, Engine, EvalAltResult};
use std::fmt::Display;
use std::sync::Arc;

/// Registers every stdlib module and the types they return.
pub fn register(engine: &mut Engine, capabilities: &Arc<Capabilities>) {
    engine.register_static_module("json", json::module().into());
    engine.register_static_module("log", log::module().into());
    engine.register_static_module("time", time::module().into());
    time::register_type(engine);
    engine.register_static_module("http", http::module(capabilities).into());
    http::register_type(engine);
    engine.register_static_module("sql", sql::module(capabilities).into());
    sql::register_type(engine);
    engine.register_static_module("mail", mail::module(capabilities).into());
    engine.register_static_module("mqtt", mqtt::module(capabilities).into());
    mqtt::register_type(engine);
    engine.register_static_module("fs", fs::module(capabilities).into());
    engine.register_static_module("exec", exec::module(capabilities).into());
    engine.register_static_module("state", state::module(capabilities).into());
    engine.register_static_module("events", events::module().into());
    engine.register_static_module("actions", actions::module().into());
}

/// A catchable script error whose message starts with `module.function:`.
pub fn error(function: &str, message: impl Display) -> Box<EvalAltResult> {
    format!("{function}: {message}").into()
}

/// Adds a native function to a module. Marked volatile so the optimizer never runs it at
/// compile time (it may do I/O or read the clock). A macro because rhai's `Variant` bound is
/// not public.
macro_rules! def {
    ($module:expr, $name:expr, $function:expr) => {
        rhai::FuncRegistration::new($name)
            .in_internal_namespace()
            .with_volatility(true)
            .set_into_module($module, $function)
    };
}
pub(crate) use def;

/// Adds native functions that each own a clone of the snapshot's capabilities, under the name
/// the caller gives it, so a module's registration reads as the list of its calls:
/// `def_with!(&mut module, capabilities => caps, { "read" => move |path: &str| read(&caps, path) })`.
macro_rules! def_with {
    ($module:expr, $capabilities:expr => $caps:ident, { $($name:literal => $function:expr),* $(,)? }) => {
        $({
            let $caps = std::sync::Arc::clone($capabilities);
            $crate::stdlib::def!($module, $name, $function);
        })*
    };
}
pub(crate) use def_with;

/// The `Dynamic` result of a stdlib call.
pub type Result<T = Dynamic> = std::result::Result<T, Box<EvalAltResult>>;
