//! One REPL session: the hub's snapshot and engine, a scope whose variables and constants persist
//! from entry to entry, and the functions and imports of every entry so far. Each entry runs with
//! the hub's deadline, operation limit and secrets like any run, but is not written to the run log
//! (it is not an action); `:run` goes through the runner and is.

use super::completion::Shape;
use crate::config::ConfigErrors;
use crate::engine::context::{self, RunState};
use crate::engine::{RunError, compile_error, run_error};
use crate::hub::Snapshot;
use crate::runner::{self, Invocation, Outcome};
use rhai::{AST, Dynamic, Map, Scope};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::runtime::Handle;

/// Keys of one map offered after `name.`: the shapes are read after every entry, and a map of a
/// million rows would otherwise be copied key by key each time.
const MAX_COMPLETED_KEYS: usize = 1_000;

/// The REPL's evaluation state.
pub struct Session {
    snapshot: Snapshot,
    scope: Scope<'static>,
    /// Every function defined so far. Only definitions are kept, so no earlier statement runs again.
    functions: AST,
    /// Top-level `import` statements of earlier entries, in order; they run before each entry
    /// because Rhai keeps imported modules only for the evaluation that imported them.
    imports: Vec<String>,
    prelude: AST,
    /// Set from another thread (the Ctrl-C handler) to stop the entry in progress.
    interrupt: Arc<AtomicBool>,
}

/// How one entry went.
pub struct Evaluated {
    pub result: Result<Dynamic, RunError>,
    /// The `[[on]]` subscribers of events the entry emitted, each run after it.
    pub deliveries: Vec<Outcome>,
}

/// A variable or constant of the session.
pub struct Variable {
    pub name: String,
    pub constant: bool,
    pub value: Dynamic,
}

impl Session {
    /// Loads the hub at `dir` exactly as `serve` does, with async work driven by `runtime`.
    pub fn open(dir: &Path, runtime: Handle) -> Result<Self, ConfigErrors> {
        let snapshot = Snapshot::load(dir, runtime)?;
        Ok(Self {
            snapshot,
            scope: fresh_scope(),
            functions: AST::empty(),
            imports: Vec::new(),
            prelude: AST::empty(),
            interrupt: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The hub as loaded now.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The flag that stops the entry or `:run` in progress when set.
    pub fn interrupt(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.interrupt)
    }

    /// Evaluates one entry; `label` names it in error positions (`repl`, or the file of `:load`).
    pub fn eval(&mut self, code: &str, label: &str) -> Evaluated {
        let engine = &self.snapshot.engine;
        let mut entry = match engine.compile_with_scope(&self.scope, code) {
            Ok(ast) => ast,
            Err(err) => return Evaluated { result: Err(compile_error(label, &err)), deliveries: Vec::new() },
        };
        if label.ends_with(".rhai") {
            entry.set_source(label);
        }
        // Functions are defined even when the entry fails later, as they would be in a script.
        self.functions = self.functions.merge(&entry.clone_functions_only());
        let program = self.prelude.merge(&self.functions).merge(&entry);

        let limits = &self.snapshot.manifest.limits;
        let (timeout, max_operations) = (limits.timeout.0, limits.max_operations);
        let mut state = RunState::new(timeout, max_operations);
        state.echo = true;
        state.output = context::OutputLimits::of(limits);
        state.secrets = self.snapshot.capabilities.secrets.clone();
        state.cancel = Some(Arc::clone(&self.interrupt));
        state.scripts = Some(Arc::clone(&self.snapshot.scripts));
        self.interrupt.store(false, Ordering::SeqCst);
        let active = context::enter(state);
        let evaluated = engine.eval_ast_with_scope::<Dynamic>(&mut self.scope, &program);
        let state = active.finish();
        self.interrupt.store(false, Ordering::SeqCst);
        compact(&mut self.scope);

        let mut result = evaluated.map_err(|err| run_error(label, err, timeout, max_operations));
        if result.is_ok() {
            self.remember_imports(code);
        }
        let emitted = state.map(|state| state.emitted).unwrap_or_default();
        let mut deliveries = Vec::new();
        // As for a run: an entry that failed announces nothing.
        if !emitted.is_empty() && result.is_ok() {
            match self.deliver(&emitted) {
                Ok(outcomes) => deliveries = outcomes,
                Err(message) => result = Err(RunError::Invalid { message }),
            }
        }
        Evaluated { result, deliveries }
    }

    /// Runs the hub script `name` as an action with `input` (`:run`), then the subscribers of the
    /// events it emitted.
    pub fn run_script(&self, name: &str, input: Value) -> (Outcome, Vec<Outcome>) {
        let invocation = Invocation::repl(name, &input, Arc::clone(&self.interrupt));
        self.interrupt.store(false, Ordering::SeqCst);
        let outcome = runner::run(&self.snapshot, invocation);
        self.interrupt.store(false, Ordering::SeqCst);
        let deliveries = if outcome.emitted > 0 {
            crate::triggers::events::deliver_now(&self.snapshot, &outcome.run_id)
        } else {
            Vec::new()
        };
        (outcome, deliveries)
    }

    /// Forgets every variable, constant, function and import.
    pub fn reset(&mut self) {
        self.scope = fresh_scope();
        self.functions = AST::empty();
        self.imports.clear();
        self.prelude = AST::empty();
    }

    /// Re-reads the manifest, `.env`, connections and scripts. Variables, functions and imports
    /// stay; on error the session keeps the hub it had.
    pub fn reload(&mut self) -> Result<(), ConfigErrors> {
        // The same host: `:run`s before and after share one run log.
        let snapshot = Snapshot::load_in(&self.snapshot.dir, &self.snapshot.capabilities.host)?;
        self.snapshot = snapshot;
        self.prelude = self.compile_prelude();
        Ok(())
    }

    /// The session's variables and constants in the order they were defined, the latest of each name.
    pub fn variables(&self) -> Vec<Variable> {
        self.scope.iter().map(|(name, constant, value)| Variable { name: name.to_string(), constant, value }).collect()
    }

    /// The names of the session's variables and constants (without copying their values).
    pub fn variable_names(&self) -> Vec<String> {
        self.scope.iter_raw().map(|(name, _, _)| name.to_string()).collect()
    }

    /// What completion after `name.` can know of each variable's value: its type as the engine
    /// names it in signatures, and a map's keys (read in place, without copying the values).
    pub fn shapes(&self) -> BTreeMap<String, Shape> {
        let engine = &self.snapshot.engine;
        self.scope
            .iter_raw()
            .map(|(name, _, value)| {
                let type_name = engine.map_type_name(value.type_name()).to_string();
                let keys = value
                    .read_lock::<Map>()
                    .map(|map| map.keys().take(MAX_COMPLETED_KEYS).map(ToString::to_string).collect())
                    .unwrap_or_default();
                (name.to_string(), Shape { type_name, keys })
            })
            .collect()
    }

    /// The functions defined in the session, as `name(a, b)`.
    pub fn functions(&self) -> Vec<String> {
        let mut functions: Vec<String> =
            self.functions.iter_functions().map(|f| format!("{}({})", f.name, f.params.join(", "))).collect();
        functions.sort();
        functions
    }

    /// The `import` statements that run before each entry.
    pub fn imports(&self) -> &[String] {
        &self.imports
    }

    fn remember_imports(&mut self, code: &str) {
        let before = self.imports.len();
        for import in super::scan::top_level_imports(code) {
            if !self.imports.contains(&import) {
                self.imports.push(import);
            }
        }
        if self.imports.len() != before {
            self.prelude = self.compile_prelude();
        }
    }

    fn compile_prelude(&self) -> AST {
        // Each statement compiled once when it was entered; together they still compile.
        self.snapshot.engine.compile(self.imports.join("\n")).unwrap_or_else(|_| AST::empty())
    }

    /// Stores the entry's events and runs their subscribers, as `switchboard run` does.
    fn deliver(&self, events: &[(String, Value)]) -> Result<Vec<Outcome>, String> {
        let run_id = runner::new_id();
        let store = self.snapshot.capabilities.store.get().map_err(|err| err.to_string())?;
        crate::engine::blocking(|| store.events_enqueue(&run_id, events))
            .map_err(|err| format!("the entry's {} events could not be stored: {err}", events.len()))?;
        Ok(crate::triggers::events::deliver_now(&self.snapshot, &run_id))
    }
}

/// A scope with the script contract's `input` and `event`.
fn fresh_scope() -> Scope<'static> {
    let mut event = Map::new();
    event.insert("kind".into(), "repl".into());
    let mut scope = Scope::new();
    scope.push_dynamic("input", Dynamic::from_map(Map::new()));
    scope.push_dynamic("event", Dynamic::from_map(event));
    scope
}

/// Drops variables shadowed by a later `let` of the same name, so a long session does not keep
/// every value it ever bound. Constants stay constants (their values are read-only).
fn compact(scope: &mut Scope<'static>) {
    let mut names = HashSet::new();
    if scope.iter_raw().all(|(name, _, _)| names.insert(name.to_string())) {
        return;
    }
    let entries: Vec<(String, Dynamic, Vec<rhai::ImmutableString>)> = std::mem::take(scope).into_iter().collect();
    let mut seen = HashSet::new();
    let mut kept: Vec<(String, Dynamic)> =
        entries.into_iter().rev().filter(|(name, _, _)| seen.insert(name.clone())).map(|(n, v, _)| (n, v)).collect();
    kept.reverse();
    for (name, value) in kept {
        scope.push_dynamic(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacting_keeps_the_latest_binding_and_constness() {
        let engine = rhai::Engine::new();
        let mut scope = Scope::new();
        scope.push("x", 1_i64).push_constant("K", 2_i64).push("x", 3_i64).push("y", 4_i64);
        compact(&mut scope);
        let names: Vec<(String, bool)> = scope.iter().map(|(name, constant, _)| (name.to_string(), constant)).collect();
        assert_eq!(names, vec![("K".to_string(), true), ("x".to_string(), false), ("y".to_string(), false)]);
        assert_eq!(scope.get_value::<i64>("x"), Some(3));
        assert!(engine.run_with_scope(&mut scope, "K = 5;").is_err(), "a constant stays constant");
    }
}
