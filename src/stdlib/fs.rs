//! `fs`: files inside the hub and the declared roots (placeholder being filled in).

use crate::config::{ConfigError, Manifest};
use crate::stdlib::Capabilities;
use rhai::Module;
use std::path::Path;
use std::sync::Arc;

/// The folders `fs` may touch.
pub struct FsPolicy {}

impl FsPolicy {
    /// The hub folder plus `[fs] roots`.
    pub fn new(_hub: &Path, _manifest: &Manifest, _file: &Path) -> Result<Self, Vec<ConfigError>> {
        Ok(Self {})
    }
}

/// Builds the `fs` module.
pub fn module(_capabilities: &Arc<Capabilities>) -> Module {
    Module::new()
}
