//! `import` resolution: `std/...` from the Rhai modules compiled into the binary, anything else
//! from the hub's `lib/` folder (never outside it).

use rhai::module_resolvers::{FileModuleResolver, StaticModuleResolver};
use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Scope, Shared};
use std::path::{Component, Path};

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
        Ok(Self { embedded, lib: FileModuleResolver::new_with_path(hub.join("lib")) })
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
        self.lib.resolve(engine, source, path, pos)
    }
}
