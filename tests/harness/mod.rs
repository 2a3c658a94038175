//! A temporary hub, the real binary run against it, and small real servers for tests.

mod http_server;
mod server;
pub mod smtp;

pub use http_server::HttpServer;
pub use server::Server;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A hub in a temporary folder, removed on drop.
pub struct Hub {
    dir: tempfile::TempDir,
}

impl Hub {
    /// An empty hub with an empty manifest.
    pub fn new() -> Self {
        let hub = Self { dir: tempfile::tempdir().expect("temp dir") };
        hub.manifest("");
        hub
    }

    /// A copy of `examples/NAME` (without its `data/` or `.env`), so a test never writes into
    /// the repository.
    pub fn from_example(name: &str) -> Self {
        let hub = Self { dir: tempfile::tempdir().expect("temp dir") };
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name);
        assert!(source.join("switchboard.toml").exists(), "no example hub {}", source.display());
        copy_tree(&source, hub.path());
        hub
    }

    /// The hub folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `switchboard.toml`.
    pub fn manifest(&self, text: &str) -> &Self {
        self.file("switchboard.toml", text)
    }

    /// Writes `scripts/NAME.rhai`.
    pub fn script(&self, name: &str, source: &str) -> &Self {
        self.file(&format!("scripts/{name}.rhai"), source)
    }

    /// Writes any file under the hub, creating folders.
    pub fn file(&self, relative: &str, contents: &str) -> &Self {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, contents).expect("write");
        self
    }

    /// Reads a file of the hub.
    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path().join(relative)).expect("read")
    }

    /// A `switchboard ARGS... --dir HUB` command, ready to add environment and run.
    pub fn cmd(&self, args: &[&str]) -> Cmd {
        let mut command = Command::new(binary());
        command.args(args).arg("--dir").arg(self.path()).env_remove("SWITCHBOARD_LOG");
        Cmd { command }
    }

    /// Starts `switchboard serve` on a free port.
    pub fn serve(&self) -> Server {
        Server::start(self.path(), &[])
    }

    /// `switchboard run SCRIPT --input JSON`.
    pub fn run(&self, script: &str, input: &str) -> Output {
        self.cmd(&["run", script, "--input", input]).output()
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read example").flatten() {
        let name = entry.file_name();
        if name == "data" || name == ".env" || name == ".switchboard_history" {
            continue;
        }
        let target = to.join(&name);
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The path of the binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_switchboard"))
}

/// A command about to run.
pub struct Cmd {
    command: Command,
}

impl Cmd {
    /// Sets an environment variable of the child.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.command.env(key, value);
        self
    }

    /// Like [`Cmd::output`], for a command that might never end (a `serve` that should refuse to
    /// start): killed and failed after `timeout`.
    pub fn output_within(mut self, timeout: std::time::Duration) -> Output {
        use std::io::Read;
        use wait_timeout::ChildExt;
        let mut child = self
            .command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn switchboard");
        let status = child.wait_timeout(timeout).expect("wait for switchboard");
        let Some(status) = status else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the command was still running after {timeout:?}");
        };
        let (mut stdout, mut stderr) = (String::new(), String::new());
        child.stdout.take().expect("stdout").read_to_string(&mut stdout).expect("read stdout");
        child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("read stderr");
        Output { code: status.code().unwrap_or(-1), stdout, stderr }
    }

    /// Runs to completion with no stdin and captures its output.
    pub fn output(mut self) -> Output {
        let output = self.command.stdin(Stdio::null()).output().expect("spawn switchboard");
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// What a finished command printed.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts exit 0 and parses stdout as JSON.
    pub fn json(&self) -> Value {
        assert_eq!(self.code, 0, "expected success\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        serde_json::from_str(&self.stdout).unwrap_or_else(|err| panic!("stdout is not JSON ({err}): {}", self.stdout))
    }

    /// Asserts the exit code and that stderr contains every fragment.
    pub fn fails_with(&self, code: i32, fragments: &[&str]) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        for fragment in fragments {
            assert!(self.stderr.contains(fragment), "stderr lacks {fragment:?}:\n{}", self.stderr);
        }
        self
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: std::time::Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < timeout {
        if condition() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    condition()
}

/// Says a test is skipped for want of an outside tool, or fails it where `SWITCHBOARD_REQUIRE_TOOLS`
/// is set, so CI (which installs every such tool) cannot pass on a skip.
pub fn skip(why: &str) {
    assert!(std::env::var_os("SWITCHBOARD_REQUIRE_TOOLS").is_none(), "SWITCHBOARD_REQUIRE_TOOLS is set, but {why}");
    println!("skipped: {why}");
}
