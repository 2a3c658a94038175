//! A real SMTP server on 127.0.0.1 (mailin-embedded) that records what it receives, optionally
//! with STARTTLS and AUTH PLAIN using a throw-away CA made by the openssl tool.

use super::wait_until;
use mailin_embedded::response::{AUTH_OK, INVALID_CREDENTIALS, OK};
use mailin_embedded::{AuthMechanism, Handler, Response, Server, SslConfig};
use std::io;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One message as the server received it.
#[derive(Clone, Debug, Default)]
pub struct Received {
    /// Who logged in (AUTH PLAIN) on the connection that carried it.
    pub user: Option<String>,
    pub from: String,
    /// The envelope recipients (RCPT TO), which include bcc.
    pub to: Vec<String>,
    pub data: String,
}

/// Records every message; cloned by the server for each connection.
#[derive(Clone)]
struct Recorder {
    inbox: Arc<Mutex<Vec<Received>>>,
    password: Option<String>,
    current: Received,
}

impl Handler for Recorder {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current =
            Received { user: self.current.user.take(), from: from.to_string(), to: to.to_vec(), data: String::new() };
        OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.current.data.push_str(&String::from_utf8_lossy(buf));
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.inbox.lock().unwrap().push(self.current.clone());
        OK
    }

    fn auth_plain(&mut self, _authorization_id: &str, authentication_id: &str, password: &str) -> Response {
        if self.password.as_deref() == Some(password) {
            self.current.user = Some(authentication_id.to_string());
            AUTH_OK
        } else {
            INVALID_CREDENTIALS
        }
    }
}

/// A running SMTP server on 127.0.0.1.
pub struct SmtpServer {
    pub port: u16,
    pub inbox: Arc<Mutex<Vec<Received>>>,
}

impl SmtpServer {
    /// A plain server that accepts any message.
    pub fn start() -> Self {
        Self::spawn(None, None)
    }

    /// A server that offers STARTTLS with `tls` and requires AUTH PLAIN with `password`.
    pub fn start_tls(tls: &TestCertificates, password: &str) -> Self {
        Self::spawn(Some(tls), Some(password))
    }

    fn spawn(tls: Option<&TestCertificates>, password: Option<&str>) -> Self {
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let recorder = Recorder {
            inbox: Arc::clone(&inbox),
            password: password.map(str::to_string),
            current: Received::default(),
        };
        // Bound here, so the port is known and connections queue before the server accepts.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut server = Server::new(recorder);
        server.with_name("mx.test").with_tcp_listener(listener);
        if let Some(tls) = tls {
            let ssl = SslConfig::SelfSigned {
                cert_path: tls.cert.display().to_string(),
                key_path: tls.key.display().to_string(),
            };
            server.with_ssl(ssl).unwrap().with_auth(AuthMechanism::Plain);
        }
        // mailin-embedded cannot be stopped: the thread ends with the test process.
        std::thread::spawn(move || {
            if let Err(err) = server.serve() {
                eprintln!("test SMTP server stopped: {err}");
            }
        });
        Self { port, inbox }
    }

    /// Waits (bounded) until `count` messages have arrived and returns them.
    pub fn messages(&self, count: usize) -> Vec<Received> {
        let arrived = wait_until(Duration::from_secs(10), || self.inbox.lock().unwrap().len() >= count);
        assert!(arrived, "expected {count} messages, got {:?}", self.inbox.lock().unwrap());
        self.inbox.lock().unwrap().clone()
    }
}

/// A throw-away CA and a server certificate for 127.0.0.1 signed by it, made with the openssl
/// command-line tool. The CA reaches the switchboard child through SSL_CERT_FILE, which the
/// platform verifier reads on Linux, so TLS is verified for real.
pub struct TestCertificates {
    _dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCertificates {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl").args(args).current_dir(dir.path()).output().expect("run openssl");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        openssl(
            &[
                &["req", "-x509"][..],
                &ec,
                &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=switchboard test CA"],
            ]
            .concat(),
        );
        openssl(
            &[&["req"][..], &ec, &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]].concat(),
        );
        std::fs::write(
            path("server.ext"),
            "subjectAltName = IP:127.0.0.1\nbasicConstraints = critical, CA:FALSE\nextendedKeyUsage = serverAuth\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ]);
        Self { ca: path("ca.pem"), cert: path("server.pem"), key: path("server.key"), _dir: dir }
    }
}
