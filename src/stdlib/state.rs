//! `state`: small values that survive between runs and restarts, kept in the hub's store.

use super::{Capabilities, Result, def_with, error};
use crate::engine::blocking;
use crate::engine::convert;
use rhai::{Array, Dynamic, Module};
use std::sync::Arc;

/// Builds the `state` module over the snapshot's store.
pub fn module(capabilities: &Arc<Capabilities>) -> Module {
    let mut module = Module::new();
    def_with!(&mut module, capabilities => caps, {
        "get" => move |key: &str| get(&caps, key, Dynamic::UNIT),
        "get" => move |key: &str, default: Dynamic| get(&caps, key, default),
        "set" => move |key: &str, value: Dynamic| set(&caps, key, value),
        "remove" => move |key: &str| remove(&caps, key),
        "keys" => move || keys(&caps, ""),
        "keys" => move |prefix: &str| keys(&caps, prefix),
    });
    module
}

/// The value stored under `key`, or `default` (`()` when not given) if there is none.
///
/// ```rhai
/// let seen = state::get("seen", 0);
/// state::set("seen", seen + 1);
/// ```
pub fn get(capabilities: &Capabilities, key: &str, default: Dynamic) -> Result {
    let store = capabilities.store.get().map_err(|err| error("state.get", err))?;
    let value = blocking(|| store.state_get(key)).map_err(|err| error("state.get", err))?;
    Ok(value.map_or(default, |value| convert::to_dynamic(&value)))
}

/// Stores any JSON-compatible value under `key`.
///
/// ```rhai
/// state::set("weather:London", #{ temp: 11.5, at: time::now() });
/// ```
pub fn set(capabilities: &Capabilities, key: &str, value: Dynamic) -> Result {
    let json = convert::to_json(&value).map_err(|err| error("state.set", err))?;
    let store = capabilities.store.get().map_err(|err| error("state.set", err))?;
    blocking(|| store.state_set(key, &json)).map_err(|err| error("state.set", err))?;
    Ok(Dynamic::UNIT)
}

/// Removes `key`; returns true if it was there.
///
/// ```rhai
/// state::remove("cursor");
/// ```
pub fn remove(capabilities: &Capabilities, key: &str) -> Result<bool> {
    let store = capabilities.store.get().map_err(|err| error("state.remove", err))?;
    blocking(|| store.state_remove(key)).map_err(|err| error("state.remove", err))
}

/// The stored keys that start with `prefix` (all keys without one), sorted.
///
/// ```rhai
/// for key in state::keys("alert:") { state::remove(key); }
/// ```
pub fn keys(capabilities: &Capabilities, prefix: &str) -> Result<Array> {
    let store = capabilities.store.get().map_err(|err| error("state.keys", err))?;
    let keys = blocking(|| store.state_keys(prefix)).map_err(|err| error("state.keys", err))?;
    Ok(keys.into_iter().map(Dynamic::from).collect())
}
