//! `state`: small values that survive between runs and restarts, kept in the hub's store.

use super::{Capabilities, Result, def_with, error};
use crate::engine::blocking;
use crate::engine::convert;
use rhai::{Array, Dynamic, FnPtr, Module, NativeCallContext};
use std::sync::Arc;

/// Builds the `state` module over the snapshot's store.
pub fn module(capabilities: &Arc<Capabilities>) -> Module {
    let mut module = Module::new();
    def_with!(&mut module, capabilities => caps, {
        "get" => move |key: &str| get(&caps, key, Dynamic::UNIT),
        "get" => move |key: &str, default: Dynamic| get(&caps, key, default),
        "set" => move |key: &str, value: Dynamic| set(&caps, key, value),
        "remove" => move |key: &str| remove(&caps, key),
        "incr" => move |key: &str| incr(&caps, key, 1),
        "incr" => move |key: &str, by: i64| incr(&caps, key, by),
        "update" => move |context: NativeCallContext, key: &str, f: FnPtr| update(&caps, &context, key, &f),
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

/// Adds `by` (1 when not given) to the integer under `key`, which starts at 0, and returns the
/// new value. Atomic: runs at the same time, even in other processes, never lose a count.
///
/// ```rhai
/// let visits = state::incr("visits");
/// state::incr("stock:apples", -3)
/// ```
pub fn incr(capabilities: &Capabilities, key: &str, by: i64) -> Result<i64> {
    let store = capabilities.store.get().map_err(|err| error("state.incr", err))?;
    blocking(|| store.state_incr(key, by)).map_err(|err| error("state.incr", err))
}

/// How often `state::update` calls its function again after another writer changed the key
/// first, before it gives up.
const UPDATE_TRIES: usize = 100;

/// Replaces the value under `key` with what `f(old)` returns (`old` is `()` when there is none)
/// and returns it. Atomic without a lock held while `f` runs: if another run changed the key
/// meanwhile, `f` is called again with the newer value, so `f` should only compute.
///
/// ```rhai
/// state::update("recent", |old| {
///     let list = if old == () { [] } else { old };
///     list.push(input.id);
///     list
/// })
/// ```
pub fn update(capabilities: &Capabilities, context: &NativeCallContext, key: &str, f: &FnPtr) -> Result {
    let store = capabilities.store.get().map_err(|err| error("state.update", err))?;
    for _ in 0..UPDATE_TRIES {
        let text = blocking(|| store.state_text(key)).map_err(|err| error("state.update", err))?;
        let old = match text.as_deref().map(crate::json::read).transpose() {
            Ok(old) => old.map_or(Dynamic::UNIT, |old| convert::to_dynamic(&old)),
            Err(err) => return Err(error("state.update", format!("stored value is not JSON: {err}"))),
        };
        let new = f.call_within_context::<Dynamic>(context, (old,))?;
        let json = convert::to_json(&new).map_err(|err| error("state.update", err))?;
        if blocking(|| store.state_swap(key, text.as_deref(), &json)).map_err(|err| error("state.update", err))? {
            return Ok(new);
        }
    }
    Err(error("state.update", format!("`{key}` kept changing under {UPDATE_TRIES} tries; nothing was stored")))
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
