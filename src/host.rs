//! What every snapshot of one hub process shares: the async runtime, the run log and metrics.
//! Snapshots come and go with reloads; the host stays.

use crate::metrics::Metrics;
use crate::runlog::RunLog;
use std::path::Path;
use std::sync::Arc;
use tokio::runtime::Handle;

/// The process-wide services of a hub.
#[derive(Clone)]
pub struct Host {
    pub runtime: Handle,
    pub runlog: RunLog,
    pub metrics: Arc<Metrics>,
}

impl Host {
    /// Services for the hub in `dir`, using `runtime` for async I/O.
    pub fn new(dir: &Path, runtime: Handle) -> Self {
        let store = dir.join("data").join("switchboard.db");
        Self { runtime, runlog: RunLog::new(store), metrics: Arc::new(Metrics::default()) }
    }
}
