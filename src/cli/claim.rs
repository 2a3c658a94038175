//! `data/serve.lock`: one `serve` per hub. Two processes serving one SQLite store would each fire
//! every cron job, drain the same queue and watch the same folders, so the second one refuses to
//! start and names the first. The lock is the operating system's (released when the process dies,
//! even by `kill -9`); the file only carries the holder's process id for that message.

use crate::error::Error;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

/// The hub's store held by this process until dropped.
pub struct Claim {
    _file: File,
}

/// Takes the hub in `dir` for this process, or says which process serves it already.
pub fn claim(dir: &Path) -> Result<Claim, Error> {
    let data = dir.join("data");
    let path = data.join("serve.lock");
    let cannot = |err: std::io::Error| Error::Failed(format!("cannot lock {}: {err}", path.display()));
    std::fs::create_dir_all(&data).map_err(cannot)?;
    let mut file =
        OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(cannot)?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0).map_err(cannot)?;
            file.rewind().map_err(cannot)?;
            write!(file, "{}", std::process::id()).map_err(cannot)?;
            Ok(Claim { _file: file })
        }
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() { "another process".to_string() } else { format!("process {holder}") };
            Err(Error::Usage(format!(
                "this hub is already being served by {who} ({} is locked); one `serve` per hub, or two \
                 would each fire every cron job and take the same queued work",
                path.display()
            )))
        }
        Err(TryLockError::Error(err)) => Err(cannot(err)),
    }
}
