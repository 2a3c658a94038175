//! `switchboard serve` as a child process on 127.0.0.1:0, killed on drop.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running hub server.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    stderr: Arc<Mutex<String>>,
    pub client: reqwest::blocking::Client,
}

impl Server {
    /// Starts `switchboard serve --listen 127.0.0.1:0` in `dir` with extra environment, and waits
    /// (bounded) for its `listening on` line.
    pub fn start(dir: &std::path::Path, env: &[(&str, &str)]) -> Self {
        Self::spawn(dir, env, &[])
    }

    /// Like [`Server::start`] with extra `serve` arguments.
    pub fn start_with_args(dir: &std::path::Path, args: &[&str]) -> Self {
        Self::spawn(dir, &[], args)
    }

    /// Runs the binary with exactly `args` (a `serve` command line that listens on port 0), and
    /// waits (bounded) for its `listening on` line.
    pub fn start_command_line(args: &[String]) -> Self {
        let mut command = Command::new(super::binary());
        command.args(args);
        Self::launch(command)
    }

    fn spawn(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Self {
        let mut command = Command::new(super::binary());
        command.args(["serve", "--listen", "127.0.0.1:0"]).args(args).arg("--dir").arg(dir);
        for (key, value) in env {
            command.env(key, value);
        }
        Self::launch(command)
    }

    fn launch(mut command: Command) -> Self {
        command.env("SWITCHBOARD_LOG", "info").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining so the child never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("serve did not announce its address; stderr:\n{}", stderr.lock().unwrap());
            }
        };
        let base =
            line.strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line: {line}")).to_string();
        let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
        Self { child, base, stderr, client }
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET `path` with optional headers.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.send(reqwest::Method::GET, path, headers, None)
    }

    /// Any request with an optional body.
    pub fn send(&self, method: reqwest::Method, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().expect("body");
        Reply { status, headers, text }
    }

    /// Everything the server logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The process id, for sending signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (bounded) for the process to exit and returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let start = std::time::Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response as the tests look at it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.text))
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap_or_default().to_string())
    }
}
