//! Ctrl-C during an evaluation. While rustyline reads a line the terminal is in raw mode and
//! Ctrl-C arrives as a key (it cancels the line); while an entry runs it arrives as SIGINT, which
//! sets the session's interrupt flag. The progress callback sees the flag within 256 operations
//! and the entry ends as "interrupted"; stdlib calls that wait watch the flag too (see
//! `engine::blocking`). A second Ctrl-C before the entry noticed the first (it is stuck in a call
//! that does not watch the flag) quits the REPL.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::runtime::Handle;

/// Exit code of a process ended by SIGINT, by shell convention (128 + 2).
const INTERRUPTED_EXIT: i32 = 130;

/// Routes SIGINT to `flag` for the rest of the process. The handler is registered before this
/// returns, so no Ctrl-C can arrive in between and kill the process.
pub fn install(runtime: &Handle, flag: Arc<AtomicBool>) -> std::io::Result<()> {
    let mut signals = {
        let _entered = runtime.enter();
        listen()?
    };
    runtime.spawn(async move {
        while signals.recv().await.is_some() {
            if flag.swap(true, Ordering::SeqCst) {
                super::print::err("interrupted again: quitting");
                std::process::exit(INTERRUPTED_EXIT);
            }
        }
    });
    Ok(())
}

#[cfg(unix)]
fn listen() -> std::io::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
}

#[cfg(windows)]
fn listen() -> std::io::Result<tokio::signal::windows::CtrlC> {
    tokio::signal::windows::ctrl_c()
}
