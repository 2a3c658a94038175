//! A hub on disk and its snapshot: the parsed manifest, the engine and the compiled scripts.

mod host;
mod scripts;
mod snapshot;

pub use host::Host;
pub use scripts::{ScriptFile, discover, discover_in, script_names};
pub use snapshot::Snapshot;
