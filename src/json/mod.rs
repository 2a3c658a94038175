//! JSON that Switchboard reads back: its own text at any depth it writes (`read`); how large a
//! value is as text, for bounds (`size`); the run log record's hand-written strings (`write`).
//! Rhai values reach JSON through `engine::convert`'s `Serialize`, and nothing written is parsed
//! again to be written once more.

mod read;
mod size;
pub mod write;

pub use read::{MAX_DEPTH, read};
pub use size::approx_len;
