//! Paths as the file system resolves them, for `fs` and the hub-file guard alike: the real path
//! of a path that may not exist yet, and I/O errors in plain words.

use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

/// Canonicalizes the longest existing ancestor of `path` and appends the missing names.
pub(super) fn real_path(path: &Path) -> std::result::Result<PathBuf, String> {
    let mut existing = path.to_path_buf();
    let mut missing: Vec<OsString> = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(mut real) => {
                real.extend(missing.iter().rev());
                return Ok(real);
            }
            Err(err) if err.kind() == ErrorKind::NotFound => {
                // The entry is there but cannot be resolved: a link to nothing, whose target
                // could be anywhere once something creates it.
                if existing.symlink_metadata().is_ok() {
                    return Err("it leads through a link to something that does not exist".to_string());
                }
                match existing.components().next_back() {
                    Some(Component::Normal(name)) => {
                        missing.push(name.to_os_string());
                        existing.pop();
                    }
                    _ => return Err("`..` after a folder that does not exist".to_string()),
                }
            }
            Err(err) => return Err(plain(&err)),
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
