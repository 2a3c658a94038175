//! A hub on disk and its snapshot: the parsed manifest, the engine and the compiled scripts.

mod scripts;
mod snapshot;

pub use scripts::{ScriptFile, discover, discover_in, script_names};
pub use snapshot::Snapshot;
