//! `mail`: sending mail through named SMTP connections (placeholder being filled in).

use crate::config::{ConfigError, Manifest};
use crate::stdlib::Capabilities;
use rhai::Module;
use std::path::Path;
use std::sync::Arc;

/// The SMTP transports of one snapshot.
pub struct MailCapability {}

impl MailCapability {
    /// Reads the `type = "smtp"` connections of the manifest.
    pub fn new(_manifest: &Manifest, _file: &Path) -> Result<Self, Vec<ConfigError>> {
        Ok(Self {})
    }
}

/// Builds the `mail` module.
pub fn module(_capabilities: &Arc<Capabilities>) -> Module {
    Module::new()
}
