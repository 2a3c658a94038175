//! `http`: requests to URLs and to named HTTP connections (placeholder being filled in).

use crate::config::{ConfigError, Manifest};
use crate::stdlib::Capabilities;
use rhai::{Engine, Module};
use std::path::Path;
use std::sync::Arc;

/// The HTTP clients of one snapshot.
pub struct HttpCapability {}

impl HttpCapability {
    /// Reads the `type = "http"` connections of the manifest.
    pub fn new(_manifest: &Manifest, _file: &Path) -> Result<Self, Vec<ConfigError>> {
        Ok(Self {})
    }
}

/// Builds the `http` module.
pub fn module(_capabilities: &Arc<Capabilities>) -> Module {
    Module::new()
}

/// Registers the client type returned by `http::connection`.
pub fn register_type(_engine: &mut Engine) {}
