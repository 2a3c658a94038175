//! `exec`: running allow-listed programs without a shell (placeholder being filled in).

use crate::config::{ConfigError, Manifest};
use crate::stdlib::Capabilities;
use rhai::Module;
use std::path::Path;
use std::sync::Arc;

/// The programs scripts may run.
pub struct ExecPolicy {}

impl ExecPolicy {
    /// Reads `[exec]`.
    pub fn new(_manifest: &Manifest, _file: &Path) -> Result<Self, Vec<ConfigError>> {
        Ok(Self {})
    }
}

/// Builds the `exec` module.
pub fn module(_capabilities: &Arc<Capabilities>) -> Module {
    Module::new()
}
