//! A hub on disk and its snapshot: the parsed manifest, the engine and the compiled scripts.

mod builder;
mod calls;
mod scripts;
mod snapshot;

pub use builder::build_engine;
pub(crate) use scripts::{discover_in, script_names};
pub use snapshot::Snapshot;
