//! Moving a handled file to `move_to` or `error_to` without ever overwriting: a name that is taken
//! gets a numbered suffix (`a.csv`, `a-1.csv`, `a-2.csv`, ...).

use std::fs::{self, File};
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};

/// Tries this many names before giving up.
const MAX_SUFFIX: usize = 10_000;

/// The `attempt`-th name for `name`: itself, then `stem-N.ext` (the extension is everything
/// after the first dot, so `a.tar.gz` becomes `a-1.tar.gz`).
pub fn candidate(name: &str, attempt: usize) -> String {
    if attempt == 0 {
        return name.to_string();
    }
    match name.char_indices().skip(1).find(|&(_, c)| c == '.') {
        Some((dot, _)) => format!("{}-{attempt}{}", &name[..dot], &name[dot..]),
        None => format!("{name}-{attempt}"),
    }
}

/// Moves the file `from` to `folder/relative`, creating folders as needed and never replacing an
/// existing file. Returns where it went.
pub fn move_file(from: &Path, folder: &Path, relative: &str) -> io::Result<PathBuf> {
    let target = folder.join(relative);
    let parent = target.parent().unwrap_or(folder).to_path_buf();
    fs::create_dir_all(&parent)?;
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    for attempt in 0..MAX_SUFFIX {
        let to = parent.join(candidate(&name, attempt));
        // A hard link fails rather than replace an existing file, unlike rename.
        match fs::hard_link(from, &to) {
            Ok(()) => {
                remove_source(from, &to)?;
                return Ok(to);
            }
            Err(err) if err.kind() == ErrorKind::AlreadyExists => continue,
            Err(_) => {}
        }
        // Another filesystem, or one without hard links: copy into a new file, then remove.
        match copy_new(from, &to) {
            Ok(()) => {
                remove_source(from, &to)?;
                return Ok(to);
            }
            Err(err) if err.kind() == ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
    Err(io::Error::new(ErrorKind::AlreadyExists, format!("{MAX_SUFFIX} names for `{name}` are taken")))
}

fn remove_source(from: &Path, to: &Path) -> io::Result<()> {
    // On failure leave one copy only: the original stays where it was, so nothing is lost.
    fs::remove_file(from).inspect_err(|_| {
        let _ = fs::remove_file(to);
    })
}

fn copy_new(from: &Path, to: &Path) -> io::Result<()> {
    let mut source = File::open(from)?;
    let modified = source.metadata()?.modified().ok();
    let mut target = File::create_new(to)?;
    let copied = io::copy(&mut source, &mut target).and_then(|_| target.sync_all());
    if let Err(err) = copied {
        drop(target);
        let _ = fs::remove_file(to);
        return Err(err);
    }
    if let Some(modified) = modified {
        let _ = target.set_modified(modified);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_keep_the_extension() {
        assert_eq!(candidate("a.csv", 0), "a.csv");
        assert_eq!(candidate("a.csv", 2), "a-2.csv");
        assert_eq!(candidate("a.tar.gz", 1), "a-1.tar.gz");
        assert_eq!(candidate("README", 1), "README-1");
    }

    #[test]
    fn a_taken_name_gets_a_suffix_and_nothing_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let done = dir.path().join("done");
        fs::create_dir_all(done.join("sub")).unwrap();
        fs::write(done.join("sub/a.csv"), "old").unwrap();
        fs::write(done.join("sub/a-1.csv"), "older").unwrap();
        let from = dir.path().join("a.csv");
        fs::write(&from, "new").unwrap();
        let to = move_file(&from, &done, "sub/a.csv").unwrap();
        assert_eq!(to, done.join("sub/a-2.csv"));
        assert_eq!(fs::read_to_string(&to).unwrap(), "new");
        assert_eq!(fs::read_to_string(done.join("sub/a.csv")).unwrap(), "old");
        assert!(!from.exists());
        let fresh = dir.path().join("b.csv");
        fs::write(&fresh, "b").unwrap();
        assert_eq!(
            move_file(&fresh, &dir.path().join("new/deep"), "b.csv").unwrap(),
            dir.path().join("new/deep/b.csv")
        );
    }
}
