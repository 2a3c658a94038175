//! `data/serve.json`, which `serve` keeps while it runs (its address and process id) so other
//! commands find the running hub: `cron run` fires a job through it.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A running hub as its file says.
#[derive(Debug, Deserialize, Serialize)]
pub struct Running {
    /// Where a local client reaches it: `http://127.0.0.1:PORT`.
    pub url: String,
    pub pid: u32,
}

/// The file of a hub being served; removed when dropped, at a graceful stop.
pub struct Announced {
    path: PathBuf,
}

impl Drop for Announced {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn path(dir: &Path) -> PathBuf {
    dir.join("data").join("serve.json")
}

/// Writes the file of the hub in `dir` listening on `addr` (a wildcard address is reached at
/// the loopback address of its family).
pub fn announce(dir: &Path, addr: SocketAddr) -> std::io::Result<Announced> {
    let mut reach = addr;
    if addr.ip().is_unspecified() {
        reach.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let running = Running { url: format!("http://{reach}"), pid: std::process::id() };
    let path = path(dir);
    std::fs::create_dir_all(dir.join("data"))?;
    std::fs::write(&path, serde_json::to_string(&running).map_err(std::io::Error::other)?)?;
    Ok(Announced { path })
}

/// The hub running in `dir`, if its file is there, names a loopback address and its process is
/// alive (a hub that crashed leaves its file behind).
pub fn find(dir: &Path) -> Option<Running> {
    let text = std::fs::read_to_string(path(dir)).ok()?;
    let running: Running = serde_json::from_str(&text).ok()?;
    // An admin key goes to this address: never to one off this machine, whatever the file says.
    let addr: SocketAddr = running.url.strip_prefix("http://")?.parse().ok()?;
    (addr.ip().is_loopback() && alive(running.pid)).then_some(running)
}

#[cfg(unix)]
fn alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else { return false };
    // Signal 0 checks only that the process exists; EPERM means it does, under another user.
    matches!(rustix::process::test_kill_process(pid), Ok(()) | Err(rustix::io::Errno::PERM))
}

#[cfg(not(unix))]
fn alive(_pid: u32) -> bool {
    // Without a cheap check, a stale file is found out when its address does not answer.
    true
}
