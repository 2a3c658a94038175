//! `actions`: run another script of the hub as a function, inside the current run's deadline.

use super::{Result, def, error};
use crate::engine::context;
use rhai::{Dynamic, Map, NativeCallContext, Scope};

/// Deepest nesting of `actions::run`, so mutual recursion ends with a clear error.
pub const MAX_DEPTH: usize = 8;

/// Builds the `actions` module.
pub fn module() -> rhai::Module {
    let mut module = rhai::Module::new();
    def!(&mut module, "run", |context: NativeCallContext, name: &str, input: Map| run(context, name, input));
    def!(&mut module, "run", |context: NativeCallContext, name: &str| run(context, name, Map::new()));
    module
}

/// Runs the script `name` with `input` and returns its result (`run`, since `call` is a reserved
/// word in Rhai). It shares the caller's deadline,
/// printed lines and emitted events; `fail` in the called script ends the whole run.
///
/// ```rhai
/// let weather = actions::run("weather", #{ city: "London" });
/// `It is ${weather.temp} degrees`
/// ```
pub fn run(context: NativeCallContext, name: &str, input: Map) -> Result {
    let scripts =
        context::scripts().ok_or_else(|| error("actions.run", "scripts can only be run from inside a run"))?;
    let ast = scripts.get(name).ok_or_else(|| {
        let known: Vec<&str> = scripts.keys().map(String::as_str).collect();
        let hint =
            crate::config::closest(name, known).map(|best| format!("; did you mean `{best}`?")).unwrap_or_default();
        error("actions.run", format!("no script `{name}`{hint}"))
    })?;
    let depth = context::depth();
    if depth >= MAX_DEPTH {
        return Err(error(
            "actions.run",
            format!("calls nested deeper than {MAX_DEPTH} (`{name}` calls itself in a loop?)"),
        ));
    }
    let mut event = Map::new();
    event.insert("kind".into(), "call".into());
    event.insert("caller_depth".into(), Dynamic::from(i64::try_from(depth).unwrap_or(i64::MAX)));
    let mut scope = Scope::new();
    // `push_dynamic`: rhai's `Scope::push` of a map rebuilds it entry by entry.
    scope.push_dynamic("input", Dynamic::from_map(input));
    scope.push_dynamic("event", Dynamic::from_map(event));
    context::set_depth(depth + 1);
    let result = context.engine().eval_ast_with_scope::<Dynamic>(&mut scope, ast);
    context::set_depth(depth);
    result.map_err(|err| match *err {
        // Limits and `fail` end the whole run, exactly as in the caller.
        rhai::EvalAltResult::ErrorTerminated(..) => err,
        _ => error("actions.run", format!("`{name}` failed: {err}")),
    })
}
