//! Systems under test as child processes: started, waited for, measured (/proc RSS) and stopped.

use crate::http;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running server.
pub struct Server {
    pub name: String,
    pub url: String,
    child: Child,
}

impl Server {
    /// Starts `command` (stderr to `log`) and waits up to `timeout` for its first stdout line,
    /// `listening on http://IP:PORT`.
    pub fn listening(name: &str, mut command: Command, log: &Path, timeout: Duration) -> Result<Self, String> {
        let stderr = File::create(log).map_err(|err| format!("{}: {err}", log.display()))?;
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(stderr);
        let mut child = command.spawn().map_err(|err| format!("cannot start {name}: {err}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            // Keep draining so the child never blocks on a full pipe.
            for _ in lines {}
        });
        let mut server = Self { name: name.to_string(), url: String::new(), child };
        match rx.recv_timeout(timeout) {
            Ok(line) => match line.strip_prefix("listening on ") {
                Some(url) => {
                    server.url = url.trim().to_string();
                    Ok(server)
                }
                None => Err(format!("{name}: unexpected first line {line:?} (log: {})", log.display())),
            },
            Err(_) => Err(format!("{name} did not say where it listens within {timeout:?} (log: {})", log.display())),
        }
    }

    /// Starts `command` (stdout and stderr to `log`), which listens on `port`, and waits up to
    /// `timeout` until `GET ready_path` answers 200.
    pub fn on_port(
        name: &str,
        mut command: Command,
        port: u16,
        ready_path: &str,
        log: &Path,
        timeout: Duration,
    ) -> Result<Self, String> {
        let out = File::create(log).map_err(|err| format!("{}: {err}", log.display()))?;
        let err = out.try_clone().map_err(|err| err.to_string())?;
        command.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = command.spawn().map_err(|err| format!("cannot start {name}: {err}"))?;
        let mut server = Self { name: name.to_string(), url: format!("http://127.0.0.1:{port}"), child };
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("{name} exited with {status} (log: {})", log.display()));
            }
            if http::get(&server.url, ready_path).is_ok_and(|reply| reply.status == 200) {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("{name} was not ready within {timeout:?} (log: {})", log.display()))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now, in KiB.
    pub fn rss_kb(&self) -> Option<u64> {
        rss_kb(self.pid())
    }

    /// Asks the server to stop (SIGTERM) and waits up to 15 s, then kills it.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill").arg("-TERM").arg(self.pid().to_string()).status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(15) {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// VmRSS of process `pid`, in KiB.
pub fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
}

/// CPU time (user + system, all threads) process `pid` has used so far, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let ticks = *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    });
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks)
}

/// Samples a process's RSS every 100 ms on a thread until stopped; keeps the largest.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl RssSampler {
    pub fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (stop2, peak2) = (Arc::clone(&stop), Arc::clone(&peak));
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                if let Some(kb) = rss_kb(pid) {
                    peak2.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Self { stop, peak, thread: Some(thread) }
    }

    /// Stops sampling; the largest RSS seen, in KiB.
    pub fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

/// A port that was free a moment ago, for servers that take a port number.
pub fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|err| err.to_string())?;
    listener.local_addr().map(|addr| addr.port()).map_err(|err| err.to_string())
}

/// Copies the folder `from` into `to` (replacing `to`).
pub fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    if to.exists() {
        std::fs::remove_dir_all(to).map_err(|err| format!("{}: {err}", to.display()))?;
    }
    std::fs::create_dir_all(to).map_err(|err| format!("{}: {err}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|err| format!("{}: {err}", from.display()))? {
        let entry = entry.map_err(|err| err.to_string())?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(|err| format!("{}: {err}", target.display()))?;
        }
    }
    Ok(())
}
