//! `tls` of a MySQL connection against a MariaDB server of the test's own, started with a
//! self-signed certificate on a free port (the machine's shared server may have no TLS).

use crate::harness::smtp::TestCertificates;
use crate::harness::{Hub, skip, wait_until};
use serde_json::json;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A MariaDB server with TLS in a temporary folder, stopped when dropped.
struct TlsMariadb {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
    _certificates: TestCertificates,
}

impl TlsMariadb {
    /// A new server, or `None` (the test skipped) where MariaDB is not installed.
    fn start() -> Option<Self> {
        let server = ["/usr/sbin/mariadbd", "/usr/bin/mariadbd"].into_iter().find(|path| Path::new(path).exists());
        let (Some(server), Ok(_)) = (server, Command::new("mariadb-install-db").arg("--help").output()) else {
            skip("mariadbd and mariadb-install-db are not installed (apt-get install mariadb-server)");
            return None;
        };
        let dir = tempfile::tempdir().expect("a temporary folder");
        let data = dir.path().join("data");
        let installed = Command::new("mariadb-install-db")
            .args(["--no-defaults", "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"])
            .arg(format!("--datadir={}", data.display()))
            .output()
            .expect("run mariadb-install-db");
        assert!(installed.status.success(), "{}", String::from_utf8_lossy(&installed.stderr));
        let certificates = TestCertificates::new();
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port();
        let child = Command::new(server)
            .args(["--no-defaults", "--user=root", "--bind-address=127.0.0.1", "--skip-log-bin"])
            .args(["--innodb-buffer-pool-size=16M", "--skip-name-resolve"])
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--port={port}"))
            .arg(format!("--socket={}", dir.path().join("sock").display()))
            .arg(format!("--ssl-cert={}", certificates.cert.display()))
            .arg(format!("--ssl-key={}", certificates.key.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd");
        let server = Self { child, port, _dir: dir, _certificates: certificates };
        let up = wait_until(Duration::from_secs(20), || {
            Command::new("mariadb-admin")
                .args(["--protocol=tcp", "-h", "127.0.0.1", "-u", "root", "ping"])
                .arg(format!("-P{port}"))
                .output()
                .is_ok_and(|out| out.status.success())
        });
        assert!(up, "the test's MariaDB did not start");
        Some(server)
    }
}

impl Drop for TlsMariadb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn tls_prefer_and_require_encrypt_and_verify_full_refuses_a_self_signed_certificate() {
    let Some(server) = TlsMariadb::start() else { return };
    let url = format!("mysql://root@127.0.0.1:{}/mysql", server.port);
    let hub = Hub::new();
    hub.manifest(&format!(
        "[connections.plain]\ntype = \"mysql\"\nurl = \"{url}\"\ntls = \"disable\"\n\n\
         [connections.preferred]\ntype = \"mysql\"\nurl = \"{url}\"\ntls = \"prefer\"\n\n\
         [connections.encrypted]\ntype = \"mysql\"\nurl = \"{url}\"\ntls = \"require\"\n\n\
         [connections.verified]\ntype = \"mysql\"\nurl = \"{url}\"\ntls = \"verify-full\"\n\n\
         [limits]\ntimeout = \"20s\"\n"
    ));
    hub.script(
        "tls",
        r#"
        let cipher = "SHOW SESSION STATUS LIKE 'Ssl_cipher'";
        let verified = "";
        try { sql::connection("verified") } catch (e) { verified = e }
        #{
            plain: sql::connection("plain").query_one(cipher).Value,
            preferred: sql::connection("preferred").query_one(cipher).Value,
            encrypted: sql::connection("encrypted").query_one(cipher).Value,
            verified: verified,
        }
        "#,
    );
    let out = hub.run("tls", "{}").json();
    assert_eq!(out["plain"], json!(""));
    assert_ne!(out["preferred"], json!(""), "prefer did not encrypt: {out}");
    assert_ne!(out["encrypted"], json!(""), "require did not encrypt: {out}");
    let verified = out["verified"].as_str().expect("an error");
    assert!(verified.starts_with("sql.connection: cannot connect to 127.0.0.1:"), "{verified}");
    assert!(verified.contains("certificate") && verified.contains("\"require\" encrypts"), "{verified}");
}
