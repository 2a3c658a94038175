//! Paths as the file system resolves them, for `fs` and the hub-file guard alike: the real path
//! of a path that may not exist yet, and `fs` errors (I/O errors in plain words).

use super::hub_files::Refusal;
use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

/// Why an `fs` call failed: the message after `fs.function:`.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("the path is empty")]
    EmptyPath,
    #[error("`{path}`: {why}")]
    Unresolvable { path: String, why: Unresolvable },
    #[error("`{path}` is outside the hub folder and [fs] roots")]
    Outside { path: String },
    #[error(transparent)]
    HubFile(#[from] Refusal),
    /// An I/O error on a path the script named.
    #[error("`{path}`: {}", plain(.err))]
    Io { path: String, err: std::io::Error },
    /// Any other refusal or failure, already in words (an option, a value, a move into itself).
    #[error("{0}")]
    Failed(String),
}

impl From<String> for FsError {
    fn from(message: String) -> Self {
        Self::Failed(message)
    }
}

/// Why a path has no real path.
#[derive(Debug, thiserror::Error)]
pub enum Unresolvable {
    /// The entry is there but cannot be resolved: a link to nothing, whose target could be
    /// anywhere once something creates it.
    #[error("it leads through a link to something that does not exist")]
    DanglingLink,
    #[error("`..` after a folder that does not exist")]
    ClimbsFromMissing,
    #[error("{}", plain(.0))]
    Io(std::io::Error),
}

/// Canonicalizes the longest existing ancestor of `path` and appends the missing names.
pub(super) fn real_path(path: &Path) -> Result<PathBuf, Unresolvable> {
    let mut existing = path.to_path_buf();
    let mut missing: Vec<OsString> = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(mut real) => {
                real.extend(missing.iter().rev());
                return Ok(real);
            }
            Err(err) if err.kind() == ErrorKind::NotFound => {
                if existing.symlink_metadata().is_ok() {
                    return Err(Unresolvable::DanglingLink);
                }
                match existing.components().next_back() {
                    Some(Component::Normal(name)) => {
                        missing.push(name.to_os_string());
                        existing.pop();
                    }
                    _ => return Err(Unresolvable::ClimbsFromMissing),
                }
            }
            Err(err) => return Err(Unresolvable::Io(err)),
        }
    }
}

/// An I/O error in words, without the "(os error N)" suffix where a plainer phrase exists.
pub(super) fn plain(err: &std::io::Error) -> String {
    match err.kind() {
        ErrorKind::NotFound => "it does not exist".to_string(),
        ErrorKind::PermissionDenied => "permission denied".to_string(),
        ErrorKind::AlreadyExists => "it already exists".to_string(),
        ErrorKind::NotADirectory => "a part of the path is a file, not a folder".to_string(),
        ErrorKind::IsADirectory => "it is a folder".to_string(),
        ErrorKind::DirectoryNotEmpty => "the folder is not empty".to_string(),
        _ => err.to_string(),
    }
}
