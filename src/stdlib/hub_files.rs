//! The hub's own files that `fs` keeps from scripts: its secrets and store (neither read nor
//! changed), its definition (read but not changed) and the programs `[exec] allow` lists.

use crate::config::{MANIFEST, Manifest};
use std::path::{Path, PathBuf};

/// The manifest setting that lifts every guard but the one on allow-listed programs.
pub const OPT_IN: &str = "[fs] allow_hub_files = true";

/// What a script is about to do with a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Whether it exists, or its entries.
    Look,
    /// Its contents.
    Read,
    /// Writing, appending, creating, removing, moving or replacing it.
    Change,
}

impl Access {
    fn verb(self) -> &'static str {
        match self {
            Self::Look => "look at it",
            Self::Read => "read it",
            Self::Change => "change it",
        }
    }
}

/// One file or folder of the hub that scripts may not use freely.
struct Guarded {
    /// The path as the hub names it, absolute (the hub folder is canonical).
    path: PathBuf,
    /// What it is, for the error: "the hub's secret file".
    what: &'static str,
    /// Whether reading it is refused too, not only changing it.
    secret: bool,
    /// Whether everything under it is guarded as well (`scripts/`).
    tree: bool,
    /// Whether `[fs] allow_hub_files` lifts this guard.
    lifted_by_opt_in: bool,
}

/// The hub's guarded files, built once per snapshot; each check resolves links afresh, since
/// the owner may relink a file between snapshots.
pub struct HubFiles {
    guarded: Vec<Guarded>,
}

/// A guarded path as it reads on disk right now: the name the hub uses and, when that is (or
/// leads through) a link, where it really is.
pub struct Candidate<'a> {
    guarded: &'a Guarded,
    /// Lower-cased (ASCII), so `.ENV` matches `.env` on filesystems that ignore case.
    folded: Vec<PathBuf>,
    exists: bool,
}

impl HubFiles {
    /// The guards for the hub at `hub` (canonical): with `allow_hub_files` only the programs'.
    pub fn new(hub: &Path, manifest: &Manifest) -> Self {
        let mut guarded = Vec::new();
        if !manifest.fs.allow_hub_files {
            let own = |relative: &str, what, secret, tree| Guarded {
                path: hub.join(relative),
                what,
                secret,
                tree,
                lifted_by_opt_in: true,
            };
            guarded.push(own(".env", "the hub's secret file", true, false));
            for companion in ["", "-wal", "-shm", "-journal"] {
                guarded.push(own(&format!("data/switchboard.db{companion}"), "the hub's store", true, false));
            }
            // Lines typed into the REPL, secrets pasted while trying a call among them.
            guarded.push(own(".switchboard_history", "the REPL's history", true, false));
            guarded.push(own(MANIFEST, "the hub's manifest", false, false));
            guarded.push(own("scripts", "part of the hub's scripts", false, true));
            guarded.push(own("lib", "part of the hub's modules", false, true));
            guarded.push(own("schemas", "part of the hub's schemas", false, true));
            // Where `cron run` sends an admin key: a script must not point it elsewhere.
            guarded.push(own("data/serve.json", "the running hub's address", false, false));
            // A script that truncated it could not take the lock, but would hide who holds it.
            guarded.push(own("data/serve.lock", "the running hub's lock", false, false));
        }
        for program in super::exec::listed_programs(hub, manifest) {
            guarded.push(Guarded {
                path: program,
                what: "a program in [exec] allow",
                secret: false,
                tree: false,
                lifted_by_opt_in: false,
            });
        }
        Self { guarded }
    }

    /// The guards that apply to `access`, resolved on disk now.
    pub fn candidates(&self, access: Access) -> Vec<Candidate<'_>> {
        self.guarded
            .iter()
            .filter(|guarded| access == Access::Change || guarded.secret)
            .map(|guarded| {
                let mut folded = vec![fold(&guarded.path)];
                if let Ok(real) = super::paths::real_path(&guarded.path)
                    && real != guarded.path
                {
                    folded.push(fold(&real));
                }
                Candidate { guarded, folded, exists: guarded.path.exists() }
            })
            .collect()
    }
}

/// Checks real paths against the guards of one access. In its methods `path` is the path as the
/// script wrote it (for the error) and `show` turns a real path into the form scripts see.
pub struct Check<'a> {
    pub candidates: &'a [Candidate<'a>],
    pub access: Access,
}

impl Check<'_> {
    /// The refusal for `real` itself (or, for a tree, anything under it), if guarded.
    pub fn path(&self, path: &str, real: &Path, show: impl Fn(&Path) -> String) -> Result<(), Refusal> {
        let folded = fold(real);
        for candidate in self.candidates {
            let guarded = candidate.guarded;
            let hit = candidate.folded.iter().any(|name| folded == *name || (guarded.tree && folded.starts_with(name)));
            if hit {
                let shown = if guarded.tree { show(real) } else { show(&guarded.path) };
                let aside = if shown == path { String::new() } else { format!(" ({shown})") };
                return Err(self.refusal(format!("`{path}` is {}{aside}", guarded.what), guarded));
            }
        }
        Ok(())
    }

    /// The refusal for a folder `real` that holds a guarded file, for operations on a whole tree
    /// (removing, moving or copying a folder).
    pub fn tree(&self, path: &str, real: &Path, show: impl Fn(&Path) -> String) -> Result<(), Refusal> {
        self.path(path, real, &show)?;
        let folded = fold(real);
        for candidate in self.candidates.iter().filter(|candidate| candidate.exists) {
            if candidate.folded.iter().any(|name| name.starts_with(&folded)) {
                let guarded = candidate.guarded;
                let what = guarded.what.strip_prefix("part of ").unwrap_or(guarded.what);
                let message = format!("`{path}` holds {what} ({})", show(&guarded.path));
                return Err(self.refusal(message, guarded));
            }
        }
        Ok(())
    }

    /// Whether `real` may be shown in a listing.
    pub fn allows(&self, real: &Path) -> bool {
        self.path("", real, |_| String::new()).is_ok()
    }

    fn refusal(&self, subject: String, guarded: &Guarded) -> Refusal {
        Refusal { subject, access: self.access, lifted_by_opt_in: guarded.lifted_by_opt_in }
    }
}

/// A script's use of one of the hub's own files, refused: what the file is, what the script may
/// not do with it, and the setting that would allow it, if one does.
#[derive(Debug, thiserror::Error)]
#[error("{subject}; scripts may not {}{}", access.verb(), opt_in_hint(*lifted_by_opt_in))]
pub struct Refusal {
    subject: String,
    access: Access,
    lifted_by_opt_in: bool,
}

fn opt_in_hint(lifted_by_opt_in: bool) -> String {
    if lifted_by_opt_in { format!(" (set {OPT_IN} to allow)") } else { String::new() }
}

fn fold(path: &Path) -> PathBuf {
    PathBuf::from(path.as_os_str().to_ascii_lowercase())
}
