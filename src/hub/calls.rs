//! Calls of stdlib module functions (`http::get(...)`) checked when a script compiles: an unknown
//! name or a wrong number of arguments is a compile problem with its position and a "did you
//! mean", found by `check`, instead of a `Function not found` when the run gets there.

use crate::engine::{Location, RunError};
use rhai::{AST, ASTNode, Engine, Expr, Stmt};
use std::collections::{BTreeMap, BTreeSet};

/// The stdlib's module functions: module name to function name to the argument counts it takes.
#[derive(Debug, Default)]
pub struct Stdlib {
    modules: BTreeMap<String, BTreeMap<String, BTreeSet<usize>>>,
}

impl Stdlib {
    /// Reads the static modules' functions from `engine`'s metadata.
    pub fn of(engine: &Engine) -> Self {
        let mut stdlib = Self::default();
        for signature in engine.gen_fn_signatures(false) {
            let Some((name, rest)) = signature.split_once('(') else { continue };
            let Some((module, function)) = name.rsplit_once("::") else { continue };
            let Some(count) = arguments(rest) else { continue };
            stdlib
                .modules
                .entry(module.to_string())
                .or_default()
                .entry(function.to_string())
                .or_default()
                .insert(count);
        }
        stdlib
    }

    /// The first call in `ast` (the script `source`) of a stdlib module function that does not
    /// exist or does not take that many arguments. A module a script imports under a stdlib
    /// module's name is the script's own, and not checked.
    pub fn check(&self, ast: &AST, source: &str) -> Result<(), RunError> {
        let mut shadowed = BTreeSet::new();
        ast.walk(&mut |path: &[ASTNode]| {
            if let Some(ASTNode::Stmt(Stmt::Import(import, _))) = path.last() {
                shadowed.insert(import.1.name.to_string());
            }
            true
        });
        let mut problem = None;
        ast.walk(&mut |path: &[ASTNode]| {
            // A call is an expression, or a statement of its own (`http::get(url);`).
            let (call, position) = match path.last() {
                Some(ASTNode::Expr(Expr::FnCall(call, position)) | ASTNode::Stmt(Stmt::FnCall(call, position))) => {
                    (call, position)
                }
                _ => return true,
            };
            if call.namespace.is_empty() || shadowed.contains(call.namespace.root()) {
                return true;
            }
            let module = call.namespace.to_string();
            let Some(functions) = self.modules.get(&module) else { return true };
            let message = match functions.get(call.name.as_str()) {
                None => Some(unknown(&module, &call.name, functions)),
                Some(counts) if !counts.contains(&call.args.len()) => {
                    Some(wrong_count(&module, &call.name, counts, call.args.len()))
                }
                Some(_) => None,
            };
            match message {
                Some(message) => {
                    let location = position.line().map(|line| Location {
                        source: source.to_string(),
                        line,
                        column: position.position().unwrap_or(1),
                    });
                    problem = Some(RunError::Compile { message, location });
                    false
                }
                None => true,
            }
        });
        problem.map_or(Ok(()), Err)
    }
}

/// The number of parameters in the text after a signature's `(`, counting only top-level commas
/// (types such as `Map<K, V>` have their own).
fn arguments(rest: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut count = 0;
    let mut empty = true;
    for c in rest.chars() {
        match c {
            '(' | '<' | '[' => depth += 1,
            ')' if depth == 0 => return Some(if empty { 0 } else { count + 1 }),
            ')' | '>' | ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => count += 1,
            c if !c.is_whitespace() => empty = false,
            _ => {}
        }
    }
    None
}

fn unknown(module: &str, name: &str, functions: &BTreeMap<String, BTreeSet<usize>>) -> String {
    let hint = crate::config::closest(name, functions.keys().map(String::as_str))
        .map(|close| format!("; did you mean `{module}::{close}`?"))
        .unwrap_or_else(|| {
            let all: Vec<&str> = functions.keys().map(String::as_str).collect();
            format!(" (it has {})", all.join(", "))
        });
    format!("`{module}::{name}` is not a function of the `{module}` module{hint}")
}

fn wrong_count(module: &str, name: &str, counts: &BTreeSet<usize>, given: usize) -> String {
    let takes: Vec<String> = counts.iter().map(ToString::to_string).collect();
    let takes = match takes.as_slice() {
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
        [] => "no".to_string(),
    };
    let plural = if counts.len() == 1 && counts.contains(&1) { "argument" } else { "arguments" };
    format!("`{module}::{name}` takes {takes} {plural}, not {given}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_top_level_parameters() {
        assert_eq!(arguments(") -> Map"), Some(0));
        assert_eq!(arguments("url: &str) -> Response"), Some(1));
        assert_eq!(arguments("url: &str, options: Map<String, Dynamic>) -> Response"), Some(2));
        assert_eq!(arguments("f: Fn(a, b), x: i64)"), Some(2));
    }

    #[test]
    fn says_what_a_function_takes() {
        assert_eq!(wrong_count("http", "get", &BTreeSet::from([1, 2]), 3), "`http::get` takes 1 or 2 arguments, not 3");
        assert_eq!(wrong_count("time", "now", &BTreeSet::from([0]), 1), "`time::now` takes 0 arguments, not 1");
        assert_eq!(wrong_count("json", "parse", &BTreeSet::from([1]), 2), "`json::parse` takes 1 argument, not 2");
    }
}
