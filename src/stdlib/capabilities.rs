//! What the stdlib may reach in one hub snapshot: its folder, connections, roots and allow-lists.

use super::{exec, fs, http, mail, mqtt, sql};
use crate::config::{ConfigErrors, Manifest};
use crate::host::Host;
use crate::secrets::Secrets;
use crate::store::LazyStore;
use std::path::{Path, PathBuf};
use tokio::runtime::Handle;

/// Capabilities handed to every stdlib module of one snapshot; nothing in the stdlib reads
/// globals for these.
pub struct Capabilities {
    /// The hub folder, canonicalized.
    pub hub_dir: PathBuf,
    /// The runtime that drives async I/O (HTTP) on behalf of synchronous scripts.
    pub runtime: Handle,
    pub secrets: Secrets,
    pub http: http::HttpCapability,
    pub sql: sql::SqlCapability,
    pub mail: mail::MailCapability,
    pub mqtt: mqtt::MqttCapability,
    pub fs: fs::FsPolicy,
    pub exec: exec::ExecPolicy,
    pub store: LazyStore,
    /// The run log and metrics shared by every snapshot of this hub process.
    pub host: Host,
}

impl Capabilities {
    /// Builds every capability from the manifest of the hub at `dir`. Opens nothing yet: files
    /// and connections are opened on first use, so `check` never creates a database.
    pub fn new(dir: &Path, manifest: &Manifest, secrets: Secrets, host: Host) -> Result<Self, ConfigErrors> {
        let runtime = host.runtime.clone();
        let hub_dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let file = hub_dir.join(crate::config::MANIFEST);
        let mut errors = Vec::new();
        let mut keep = |result: Result<(), Vec<crate::config::ConfigError>>| {
            if let Err(more) = result {
                errors.extend(more);
            }
        };
        let http = http::HttpCapability::new(manifest, &file);
        let sql = sql::SqlCapability::new(&hub_dir, manifest, &file, &host);
        let mail = mail::MailCapability::new(manifest, &file);
        let fs = fs::FsPolicy::new(&hub_dir, manifest, &file);
        let exec = exec::ExecPolicy::new(manifest, &file);
        let (http, sql, mail, fs, exec) = match (http, sql, mail, fs, exec) {
            (Ok(http), Ok(sql), Ok(mail), Ok(fs), Ok(exec)) => (http, sql, mail, fs, exec),
            (http, sql, mail, fs, exec) => {
                keep(http.map(drop));
                keep(sql.map(drop));
                keep(mail.map(drop));
                keep(fs.map(drop));
                keep(exec.map(drop));
                return Err(ConfigErrors(errors));
            }
        };
        let mqtt = mqtt::MqttCapability::new(&hub_dir, manifest);
        let store = LazyStore::new(hub_dir.join("data").join("switchboard.db"));
        Ok(Self { hub_dir, runtime, secrets, http, sql, mail, mqtt, fs, exec, store, host })
    }
}
