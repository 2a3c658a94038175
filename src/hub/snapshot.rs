//! A snapshot: everything one version of a hub needs to run, built whole and never mutated.

use super::build_engine;
use super::calls::Stdlib;
use super::scripts::{discover, discover_in};
use crate::config::{self, ConfigError, ConfigErrors, Manifest};
use crate::engine::context::Scripts;
use crate::engine::{self, RunError};
use crate::host::Host;
use crate::secrets::Secrets;
use crate::stdlib::Capabilities;
use rhai::{AST, Engine};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::runtime::Handle;

/// The manifest, capabilities, engine and compiled scripts of one version of a hub.
pub struct Snapshot {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub capabilities: Arc<Capabilities>,
    pub engine: Engine,
    /// Scripts that compiled, by name; each run's state holds them for `actions::run`.
    pub scripts: Arc<Scripts>,
    /// Scripts whose text never names `event`: they run without a copy of it in scope (the
    /// run's record keeps it), which spares copying and dropping the map on every run. With
    /// `eval` disabled a script cannot reach a variable without naming it.
    pub event_unused: BTreeSet<String>,
    /// Scripts and `lib/` modules that did not compile, with their positions.
    pub problems: Vec<(String, RunError)>,
    /// What `check` and `serve` both report but accept (such as an allowed program that is not
    /// installed), with positions.
    pub warnings: Vec<ConfigError>,
}

impl Snapshot {
    /// Reads the manifest, builds the engine and compiles every script and `lib/` module.
    /// Configuration errors fail the load; compile errors are collected in `problems`.
    pub fn load(dir: &Path, runtime: Handle) -> Result<Self, ConfigErrors> {
        Self::load_in(dir, &Host::new(dir, runtime))
    }

    /// Like [`Snapshot::load`], sharing `host`'s run log and metrics (a reload of a served hub).
    pub fn load_in(dir: &Path, host: &Host) -> Result<Self, ConfigErrors> {
        let found = discover(dir);
        let script_names: Vec<String> = found.iter().map(|script| script.name.clone()).collect();
        let loaded = config::load(dir, &script_names)?;
        let run_log = &loaded.manifest.run_log;
        host.runlog.set_retention(run_log.keep_for.0, run_log.keep_last);
        let secrets = Secrets::new(loaded.secrets);
        let capabilities = Arc::new(
            Capabilities::new(dir, &loaded.manifest, secrets, host.clone())
                .map_err(|errors| positioned(dir, errors.0))?,
        );
        let warnings = positioned(dir, config::warnings(dir, &dir.join(config::MANIFEST), &loaded.manifest)).0;
        let engine = build_engine(&capabilities, &loaded.manifest.limits)
            .map_err(|err| ConfigError::file("stdlib", err.to_string()))?;
        let mut scripts = BTreeMap::new();
        let mut event_unused = BTreeSet::new();
        let mut problems = Vec::new();
        let stdlib = Stdlib::of(&engine);
        for script in found {
            match compile(&engine, &stdlib, &script.path, &script.source) {
                Ok((ast, text)) => {
                    if !names(&text, "event") {
                        event_unused.insert(script.name.clone());
                    }
                    scripts.insert(script.name, Arc::new(ast));
                }
                Err(err) => problems.push((script.name, err)),
            }
        }
        for module in discover_in(dir, "lib") {
            if let Err(err) = compile(&engine, &stdlib, &module.path, &module.source) {
                problems.push((module.source, err));
            }
        }
        Ok(Self {
            dir: capabilities.hub_dir.clone(),
            manifest: loaded.manifest,
            capabilities,
            engine,
            scripts: Arc::new(scripts),
            event_unused,
            problems,
            warnings,
        })
    }

    /// Compiles a script file outside `scripts/` (for `switchboard run path/to/file.rhai`).
    pub fn compile_file(&self, path: &Path) -> Result<AST, RunError> {
        compile(&self.engine, &Stdlib::of(&self.engine), path, &path.display().to_string()).map(|(ast, _)| ast)
    }

    /// An error of what `serve` builds from a snapshot before it listens (the route table, the
    /// queue), as `serve` and `check` both report it: a configuration error at its place in the
    /// manifest when it names a key (`route[1].path: ...`), a usage error otherwise.
    pub fn startup_error(dir: &Path, message: String) -> crate::error::Error {
        let key = message.split_once(": ").filter(|(key, _)| is_key_path(key));
        match key {
            Some((key, rest)) => {
                let error = ConfigError::key(dir.join(config::MANIFEST), key, rest);
                crate::error::Error::Config(positioned(dir, vec![error]))
            }
            None => crate::error::Error::Usage(message),
        }
    }

    /// The compile error of the script `name`, if it has one.
    pub fn problem(&self, name: &str) -> Option<&RunError> {
        self.problems.iter().find(|(script, _)| script == name).map(|(_, err)| err)
    }
}

/// `errors` with the line and column of each that is about a key of the manifest.
fn positioned(dir: &Path, mut errors: Vec<ConfigError>) -> ConfigErrors {
    if let Ok(text) = std::fs::read_to_string(dir.join(config::MANIFEST)) {
        config::locate(&text, &mut errors);
    }
    ConfigErrors(errors)
}

/// Whether `text` reads like a manifest key path such as `route[1].path`.
fn is_key_path(text: &str) -> bool {
    let first = text.split(['.', '[']).next().unwrap_or_default();
    ["server", "limits", "route", "cron", "watch", "on", "connections", "key", "exec", "fs", "run_log", "queue"]
        .contains(&first)
        && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']'))
}

/// The compiled file and its text; its calls of stdlib module functions are checked too.
fn compile(engine: &Engine, stdlib: &Stdlib, path: &Path, source: &str) -> Result<(AST, String), RunError> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| RunError::Compile { message: format!("{source}: cannot read: {err}"), location: None })?;
    let mut ast = engine.compile(&text).map_err(|err| engine::compile_error(source, &err))?;
    stdlib.check(&ast, source)?;
    ast.set_source(source);
    Ok((ast, text))
}

/// Whether `word` occurs in `text` as a whole identifier. Occurrences in comments and strings
/// count too: a false "yes" only costs a copy.
fn names(text: &str, word: &str) -> bool {
    let part_of_name = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    text.match_indices(word).any(|(at, _)| {
        !part_of_name(text[..at].chars().next_back()) && !part_of_name(text[at + word.len()..].chars().next())
    })
}

#[cfg(test)]
mod tests {
    use super::names;

    #[test]
    fn finds_a_name_only_as_a_whole_identifier() {
        assert!(names("let kind = event.kind;", "event"));
        assert!(names("event", "event"));
        assert!(names("print(`${event}`)", "event"));
        assert!(names("// the event\n1", "event"), "a comment counts: it costs only a copy");
        assert!(!names("let events = 1; let event_name = 2; let prevent = 3;", "event"));
        assert!(!names("input.name ?? \"world\"", "event"));
    }
}
