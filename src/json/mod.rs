//! JSON that Switchboard reads back: its own text at any depth it writes (`read`), and how large
//! a value is as text, for bounds (`size`). Rhai values reach JSON through `engine::convert`'s
//! `Serialize`, run log records through `store`'s `#[derive(Serialize)]`: serde_json writes all
//! of it, and nothing written is parsed again to be written once more.

mod read;
mod size;

pub use read::{MAX_DEPTH, read};
pub use size::approx_len;
