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

/// Resolves `std/...` to embedded modules and other names to `lib/NAME.rhai` in the hub.
pub struct HubModules {
    embedded: StaticModuleResolver,
    lib: FileModuleResolver,
    /// `lib/` as the hub names it.
    lib_dir: PathBuf,
}

impl HubModules {
    /// Compiles the embedded modules with `engine` and points file imports at `hub/lib`.
    pub fn new(engine: &Engine, hub: &Path) -> Result<Self, String> {
        let mut embedded = StaticModuleResolver::new();
        for (name, source) in STDLIB_MODULES {
            let mut ast = engine.compile(source).map_err(|err| format!("stdlib module {name}: {err}"))?;
            ast.set_source(*name);
            let module = Module::eval_ast_as_new(Scope::new(), &ast, engine)
                .map_err(|err| format!("stdlib module {name}: {err}"))?;
            embedded.insert(*name, module);
        }
        let lib_dir = hub.join("lib");
        Ok(Self { embedded, lib: FileModuleResolver::new_with_path(&lib_dir), lib_dir })
    }

    /// Refuses a module file that, through a link, lies outside `lib/`: the same containment as
    /// `fs`, so a link cannot make the hub run code from anywhere on disk. A file that does not
    /// exist is left to the resolver, which reports it as missing.
    fn contain(&self, path: &str, file: &Path) -> Result<(), String> {
        if file.symlink_metadata().is_err() {
            return Ok(());
        }
        let shown = match file.strip_prefix(&self.lib_dir) {
            Ok(inside) => format!("lib/{}", inside.display()),
            Err(_) => file.display().to_string(),
        };
        let refuse = |why: &str| format!("cannot import `{path}`: {shown} {why}");
        let real = file.canonicalize().map_err(|_| refuse("is a link to something that does not exist"))?;
        let lib = self.lib_dir.canonicalize().map_err(|err| refuse(&format!("cannot be resolved: {err}")))?;
        if real.starts_with(&lib) { Ok(()) } else { Err(refuse("leads outside lib/ (through a link)")) }
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
            self.contain(path, &file).map_err(|message| EvalAltResult::ErrorRuntime(message.into(), pos))?;
        }
        self.lib.resolve(engine, source, path, pos)
    }
}
