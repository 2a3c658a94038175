//! `import` resolution: `std/...` from the Rhai modules compiled into the binary, anything else
//! from the hub's `lib/` folder (never outside it, not even through a link).

use rhai::module_resolvers::{FileModuleResolver, StaticModuleResolver};
use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Scope, Shared};
use std::path::{Component, Path, PathBuf};

/// The embedded Rhai-source modules, importable as `import "std/NAME" as name;`.
pub const STDLIB_MODULES: &[(&str, &str)] = &[
    ("std/retry", include_str!("../../stdlib/retry.rhai")),
    ("std/text", include_str!("../../stdlib/text.rhai")),
    ("std/collections", include_str!("../../stdlib/collections.rhai")),
];

/// Why a module could not be made ready or imported.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// An embedded module does not compile: a bug in the binary, never in a hub.
    #[error("stdlib module {name}: {err}")]
    EmbeddedCompile { name: &'static str, err: rhai::ParseError },
    /// An embedded module fails while it is evaluated.
    #[error("stdlib module {name}: {err}")]
    EmbeddedRun { name: &'static str, err: Box<EvalAltResult> },
    /// A file under `lib/` that leads elsewhere (`shown` is how the hub names it).
    #[error("cannot import `{path}`: {shown} {why}")]
    Refused { path: String, shown: String, why: String },
}

/// Resolves `std/...` to embedded modules and other names to `lib/NAME.rhai` in the hub.
pub struct HubModules {
    embedded: StaticModuleResolver,
    lib: FileModuleResolver,
    /// `lib/` as the hub names it.
    lib_dir: PathBuf,
}

impl HubModules {
    /// Compiles the embedded modules with `engine` and points file imports at `hub/lib`.
    pub fn new(engine: &Engine, hub: &Path) -> Result<Self, ModuleError> {
        let mut embedded = StaticModuleResolver::new();
        for (name, source) in STDLIB_MODULES {
            let mut ast = engine.compile(source).map_err(|err| ModuleError::EmbeddedCompile { name, err })?;
            ast.set_source(*name);
            let module = Module::eval_ast_as_new(Scope::new(), &ast, engine)
                .map_err(|err| ModuleError::EmbeddedRun { name, err })?;
            embedded.insert(*name, module);
        }
        let lib_dir = hub.join("lib");
        Ok(Self { embedded, lib: FileModuleResolver::new_with_path(&lib_dir), lib_dir })
    }

    /// Refuses a module file that, through a link, lies outside `lib/`: the same containment as
    /// `fs`, so a link cannot make the hub run code from anywhere on disk. A file that does not
    /// exist is left to the resolver, which reports it as missing.
    fn contain(&self, path: &str, file: &Path) -> Result<(), ModuleError> {
        if file.symlink_metadata().is_err() {
            return Ok(());
        }
        let shown = match file.strip_prefix(&self.lib_dir) {
            Ok(inside) => format!("lib/{}", inside.display()),
            Err(_) => file.display().to_string(),
        };
        let refuse = |why: String| ModuleError::Refused { path: path.to_string(), shown: shown.clone(), why };
        let real = file.canonicalize().map_err(|_| refuse("is a link to something that does not exist".into()))?;
        let lib = self.lib_dir.canonicalize().map_err(|err| refuse(format!("cannot be resolved: {err}")))?;
        if real.starts_with(&lib) { Ok(()) } else { Err(refuse("leads outside lib/ (through a link)".into())) }
    }
}

impl ModuleResolver for HubModules {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        if path.starts_with("std/") {
            return self.embedded.resolve(engine, source, path, pos);
        }
        let confined = Path::new(path).components().all(|part| matches!(part, Component::Normal(_)));
        if !confined {
            let message =
                format!("cannot import `{path}`: imports are names under lib/, without `..` or a leading `/`");
            return Err(EvalAltResult::ErrorRuntime(message.into(), pos).into());
        }
        let file = self.lib.get_file_path(path, None);
        // A module is read once and then served from the resolver's cache.
        if !self.lib.is_cached(&file) {
            self.contain(path, &file).map_err(|err| EvalAltResult::ErrorRuntime(err.to_string().into(), pos))?;
        }
        self.lib.resolve(engine, source, path, pos)
    }
}
