//! Which files a watch cares about: its globs, minus editor swap files and partial downloads.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// Suffixes of files that are still being written or belong to an editor, never run.
const TEMPORARY_SUFFIXES: &[&str] =
    &["~", ".swp", ".swo", ".swx", ".tmp", ".temp", ".part", ".partial", ".crdownload", ".download"];

/// Whether `name` is an editor swap file, a hidden file or a partial download: vim's `4913`
/// probe, `.name.swp`, `name~`, `~$name.docx` (Office locks), `*.tmp`, `*.part`, `*.crdownload`.
pub fn is_temporary(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name.starts_with('.')
        || name.starts_with("~$")
        || name == "4913"
        || TEMPORARY_SUFFIXES.iter().any(|suffix| lower.ends_with(suffix))
}

/// A watch's glob that does not compile.
#[derive(Debug, thiserror::Error)]
pub enum GlobError {
    #[error("`{glob}` is not a glob: {kind}")]
    Invalid { glob: String, kind: globset::ErrorKind },
    #[error(transparent)]
    Set(globset::Error),
}

/// A watch's globs. A glob without `/` is matched against the file name; one with `/` against the
/// path under the watched folder (where `*` stays within one folder and `**` crosses folders).
#[derive(Debug)]
pub struct Matcher {
    names: GlobSet,
    paths: GlobSet,
}

impl Matcher {
    /// Compiles `globs`; the error names the glob that does not compile.
    pub fn new(globs: &[String]) -> Result<Self, GlobError> {
        let mut names = GlobSetBuilder::new();
        let mut paths = GlobSetBuilder::new();
        for glob in globs {
            let compiled = GlobBuilder::new(glob)
                .literal_separator(true)
                .build()
                .map_err(|err| GlobError::Invalid { glob: glob.clone(), kind: err.kind().clone() })?;
            if glob.contains('/') {
                paths.add(compiled)
            } else {
                names.add(compiled)
            };
        }
        let build = |set: GlobSetBuilder| set.build().map_err(GlobError::Set);
        Ok(Self { names: build(names)?, paths: build(paths)? })
    }

    /// Whether the file at `relative` (under the watched folder, `/`-separated) matches.
    pub fn matches(&self, relative: &str) -> bool {
        let name = relative.rsplit('/').next().unwrap_or(relative);
        self.names.is_match(name) || self.paths.is_match(relative)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(globs: &[&str]) -> Matcher {
        Matcher::new(&globs.iter().map(|g| g.to_string()).collect::<Vec<_>>()).unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn names_and_paths_match() {
        let m = matcher(&["*.csv", "reports/**/*.json"]);
        assert!(m.matches("a.csv"));
        assert!(m.matches("sub/deep/a.csv"));
        assert!(!m.matches("a.csv.bak"));
        assert!(m.matches("reports/2024/x.json"));
        assert!(m.matches("reports/x.json"));
        assert!(!m.matches("x.json"));
        let all = matcher(&["*"]);
        assert!(all.matches("anything.txt") && all.matches("sub/x"));
        let braces = matcher(&["*.{csv,CSV}", "data-??.txt"]);
        assert!(braces.matches("A.CSV") && braces.matches("data-01.txt") && !braces.matches("data-1.txt"));
    }

    #[test]
    fn bad_globs_are_named() {
        let err = Matcher::new(&["[oops".to_string()]).err().map(|err| err.to_string()).unwrap_or_default();
        assert!(err.contains("`[oops`"), "{err}");
    }

    #[test]
    fn swap_and_partial_files_are_temporary() {
        for name in
            [".a.csv.swp", "a.csv~", "4913", "a.tmp", "A.TMP", "b.csv.part", "c.crdownload", "~$book.xlsx", ".hidden"]
        {
            assert!(is_temporary(name), "{name}");
        }
        for name in ["a.csv", "report.txt", "49130", "tmp.csv", "part.csv"] {
            assert!(!is_temporary(name), "{name}");
        }
    }
}
