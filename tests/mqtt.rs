//! MQTT against a real Mosquitto: `[[mqtt]]` subscriptions through the durable queue (persistent
//! sessions, broker restarts, `kill -9`, hot reload), `mqtt::connection(...).publish`, and `check`.
//! Skipped when `SWITCHBOARD_TEST_MQTT_URL` is unset; each test uses its own topic prefix.

use crate::harness::{Hub, Server, skip, wait_until};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// The shared broker's host and port, or `None` (the test is skipped) when it is not configured.
pub fn broker() -> Option<(String, u16)> {
    let Ok(url) = std::env::var("SWITCHBOARD_TEST_MQTT_URL") else {
        skip("SWITCHBOARD_TEST_MQTT_URL is not set (e.g. mqtt://127.0.0.1:1883)");
        return None;
    };
    let url = reqwest::Url::parse(&url).expect("SWITCHBOARD_TEST_MQTT_URL is a URL");
    Some((url.host_str().expect("host").to_string(), url.port().unwrap_or(1883)))
}

/// A topic prefix no other test (or run of this test) uses.
pub fn prefix(test: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("sbtest/{test}-{}-{}-{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// `mosquitto_pub` of one message.
pub fn publish(broker: &(String, u16), topic: &str, message: &str, qos: u8) {
    let status = Command::new("mosquitto_pub")
        .args(["-h", &broker.0, "-p", &broker.1.to_string(), "-q", &qos.to_string(), "-t", topic, "-m", message])
        .status()
        .expect("mosquitto_pub (apt-get install mosquitto-clients)");
    assert!(status.success(), "mosquitto_pub failed");
}

/// `mosquitto_pub -l`: each line a QoS 1 message, over one connection.
fn publish_lines(broker: &(String, u16), topic: &str, lines: &str) {
    let mut child = Command::new("mosquitto_pub")
        .args(["-h", &broker.0, "-p", &broker.1.to_string(), "-q", "1", "-t", topic, "-l"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("mosquitto_pub");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), lines.as_bytes()).expect("write");
    assert!(child.wait().expect("wait").success(), "mosquitto_pub -l failed");
}

/// Ends the persistent session `client_id` left on the broker: a clean-session connect under
/// that id discards it.
pub fn forget_session(broker: &(String, u16), client_id: &str) {
    let _ = Command::new("mosquitto_pub")
        .args(["-h", &broker.0, "-p", &broker.1.to_string(), "-i", client_id, "-t", "sbtest/forget", "-n"])
        .status();
}

/// The hub's client id: `switchboard-` and its folder's name.
pub fn client_id(hub: &Hub) -> String {
    let folder = hub.path().file_name().unwrap().to_string_lossy().to_string();
    let folder: String =
        folder.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    format!("switchboard-{folder}")
}

fn manifest(broker: &(String, u16), entries: &str) -> String {
    format!(
        "[connections.home]\ntype = \"mqtt\"\nurl = \"mqtt://hub:${{MQTT_PASSWORD}}@{}:{}\"\n\n{entries}",
        broker.0, broker.1
    )
}

fn entry(topic: &str, script: &str) -> String {
    format!("[[mqtt]]\nconnection = \"home\"\ntopic = \"{topic}\"\nqos = 1\nscript = \"{script}\"\n\n")
}

const PASSWORD: &str = "mqtt-s3cret-pw";

fn serve(hub: &Hub) -> Server {
    Server::start(hub.path(), &[("MQTT_PASSWORD", PASSWORD)])
}

/// Waits until the server has logged `line` at least `count` times.
fn logged(server: &Server, line: &str, count: usize) {
    let seen = wait_until(WAIT, || server.stderr().matches(line).count() >= count);
    assert!(seen, "`{line}` was not logged {count} times:\n{}", server.stderr());
}

fn runs(hub: &Hub) -> Vec<Value> {
    let output = hub.cmd(&["runs", "list", "--json", "--limit", "10000"]).env("MQTT_PASSWORD", PASSWORD).output();
    output.json().as_array().unwrap().clone()
}

fn runs_of(hub: &Hub, script: &str) -> Vec<Value> {
    runs(hub).into_iter().filter(|run| run["script"] == script).collect()
}

#[test]
fn a_message_runs_its_script_once_with_the_payload_as_input() {
    let Some(broker) = broker() else { return };
    let topics = prefix("once");
    let hub = Hub::new();
    hub.manifest(&manifest(&broker, &entry(&format!("{topics}/+/temperature"), "reading")))
        .script("reading", "#{ input: input, kind: event.kind, topic: event.topic, qos: event.qos, retain: event.retain, connection: event.connection }");
    let server = serve(&hub);
    logged(&server, ": subscribed", 1);

    publish(&broker, &format!("{topics}/kitchen/temperature"), r#"{"celsius": 21.5}"#, 1);
    assert!(wait_until(WAIT, || runs_of(&hub, "reading").len() == 1), "{}", server.stderr());
    let run = &runs_of(&hub, "reading")[0];
    assert_eq!(run["trigger"], "mqtt");
    assert_eq!(run["detail"], format!("{topics}/kitchen/temperature"));
    assert_eq!(run["input"], json!({ "celsius": 21.5 }));
    let result: Value = serde_json::from_str(run["result"].as_str().unwrap()).unwrap();
    assert_eq!(
        result,
        json!({
            "input": { "celsius": 21.5 }, "kind": "mqtt", "topic": format!("{topics}/kitchen/temperature"),
            "qos": 1, "retain": false, "connection": "home"
        })
    );

    // Text that is not JSON is `input.payload`; a topic the filter does not match runs nothing.
    publish(&broker, &format!("{topics}/kitchen/humidity"), "55", 1);
    publish(&broker, &format!("{topics}/garage/temperature"), "warm-ish", 0);
    assert!(wait_until(WAIT, || runs_of(&hub, "reading").len() >= 2), "{}", server.stderr());
    let runs = runs_of(&hub, "reading");
    assert_eq!(runs.len(), 2, "each message ran once, and the humidity none: {runs:#?}");
    assert_eq!(runs[0]["input"], json!({ "payload": "warm-ish" }));
    assert_eq!(runs[0]["event"]["qos"], 0);

    let everything = format!("{}{}", server.stderr(), serde_json::to_string(&runs).unwrap());
    assert!(!everything.contains(PASSWORD), "the password leaked:\n{everything}");
    drop(server);
    forget_session(&broker, &client_id(&hub));
}

#[test]
fn a_script_publishes_json_text_and_bytes() {
    let Some(broker) = broker() else { return };
    let topics = prefix("publish");
    let hub = Hub::new();
    hub.manifest(&manifest(&broker, "")).script(
        "send",
        &format!(
            r#"
            let home = mqtt::connection("home");
            home.publish("{topics}/map", #{{ celsius: 21.5 }}, #{{ retain: true }});
            home.publish("{topics}/text", "hello", #{{ qos: 2, retain: true }});
            home.publish("{topics}/bytes", blob(3, 65), #{{ qos: 0, retain: true }});
            "sent"
            "#
        ),
    );
    let sent = hub.cmd(&["run", "send"]).env("MQTT_PASSWORD", PASSWORD).output();
    assert_eq!(sent.json(), json!("sent"), "{}", sent.stderr);
    // Retained, so a subscriber that comes after them still gets all three.
    let received = Command::new("mosquitto_sub")
        .args(["-h", &broker.0, "-p", &broker.1.to_string(), "-t", &format!("{topics}/#"), "-v", "-C", "3", "-W", "20"])
        .output()
        .expect("mosquitto_sub");
    let mut lines: Vec<String> = String::from_utf8_lossy(&received.stdout).lines().map(String::from).collect();
    lines.sort();
    assert_eq!(
        lines,
        [format!("{topics}/bytes AAA"), format!(r#"{topics}/map {{"celsius":21.5}}"#), format!("{topics}/text hello")]
    );
    // `()` is the empty message, which clears a retained one.
    hub.script(
        "clear",
        &format!(
            r#"for topic in ["map", "text", "bytes"] {{ mqtt::connection("home").publish(`{topics}/${{topic}}`, (), #{{ retain: true }}); }}"#
        ),
    );
    hub.cmd(&["run", "clear"]).env("MQTT_PASSWORD", PASSWORD).output().json();
    let left = Command::new("mosquitto_sub")
        .args(["-h", &broker.0, "-p", &broker.1.to_string(), "-t", &format!("{topics}/#"), "-C", "1", "-W", "1"])
        .output()
        .expect("mosquitto_sub");
    assert!(left.stdout.is_empty(), "retained messages left: {}", String::from_utf8_lossy(&left.stdout));
}

#[test]
fn publish_errors_are_catchable_and_name_the_connection_without_the_password() {
    let Some(_) = broker() else { return };
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let hub = Hub::new();
    hub.manifest(&format!(
        "[connections.home]\ntype = \"mqtt\"\nurl = \"mqtt://hub:${{MQTT_PASSWORD}}@127.0.0.1:{port}\"\n"
    ))
    .script(
        "errors",
        r#"
        let caught = [];
        for attempt in [
            || mqtt::connection("home").publish("a/b", "x"),
            || mqtt::connection("home").publish("a/+", "x"),
            || mqtt::connection("home").publish("a/b", "x", #{ qos: 3 }),
            || mqtt::connection("home").publish("a/b", "x", #{ later: true }),
            || mqtt::connection("hom"),
        ] {
            try { attempt.call(); caught.push("no error"); } catch (err) { caught.push(err); }
        }
        caught
        "#,
    );
    let output = hub.cmd(&["run", "errors"]).env("MQTT_PASSWORD", PASSWORD).output();
    let caught = output.json();
    let caught: Vec<&str> = caught.as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    let at = format!("mqtt.publish: connection `home` (127.0.0.1:{port}): ");
    assert!(caught[0].starts_with(&format!("{at}cannot reach the broker")), "{}", caught[0]);
    assert_eq!(caught[1], format!("{at}`a/+`: a topic to publish to has no wildcards (`+`, `#`)"));
    assert_eq!(caught[2], format!("{at}`qos` must be 0, 1 or 2, not 3"));
    assert_eq!(caught[3], format!("{at}unknown option `later`; it takes qos, retain"));
    assert_eq!(caught[4], "mqtt.connection: no mqtt connection `hom`; did you mean `home`?");
    assert!(!format!("{}{}", output.stdout, output.stderr).contains(PASSWORD));
    let record = &runs(&hub)[0];
    assert!(!record.to_string().contains(PASSWORD), "{record}");
}

#[test]
fn a_publish_waits_for_the_broker_no_longer_than_the_run_may_take() {
    if broker().is_none() {
        return;
    }
    // A "broker" that takes the connection and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let hub = Hub::new();
    hub.manifest(&format!(
        "[limits]\ntimeout = \"1s\"\n\n[connections.home]\ntype = \"mqtt\"\nurl = \"mqtt://127.0.0.1:{port}\"\n"
    ))
    .script(
        "send",
        "let result = (); try { mqtt::connection(\"home\").publish(\"a/b\", \"x\"); } catch (err) { result = err; } result",
    );
    // The listener's backlog takes the connection; nobody reads it.
    let output = hub.run("send", "{}");
    let error = output.json();
    let error = error.as_str().unwrap_or_else(|| panic!("not an error: {error}"));
    let at = format!("mqtt.publish: connection `home` (127.0.0.1:{port}): no acknowledgement from the broker within ");
    assert!(error.starts_with(&at) && error.ends_with("(the run's deadline)"), "{error}");
}

#[test]
fn a_message_published_while_the_hub_is_down_runs_after_it_starts() {
    let Some(broker) = broker() else { return };
    let topic = format!("{}/later", prefix("down"));
    // The session is the client id's: a stable one set in the manifest.
    let id = format!("sbtest-down-{}", std::process::id());
    let hub = Hub::new();
    // QoS 2 end to end: subscribed with it, published with it, acknowledged once queued.
    let connection = manifest(&broker, &entry(&topic, "later").replace("qos = 1", "qos = 2"));
    let connection = connection.replacen("\n\n", &format!("\nclient_id = \"{id}\"\nkeep_alive = \"10s\"\n\n"), 1);
    hub.manifest(&connection).script("later", "input");
    let server = serve(&hub);
    logged(&server, ": subscribed", 1);
    assert!(server.stderr().contains(&format!("connected as `{id}` (session new)")), "{}", server.stderr());
    drop(server);

    // The broker keeps it in the hub's persistent session.
    publish(&broker, &topic, r#"{"n": 1}"#, 2);
    let server = serve(&hub);
    assert!(wait_until(WAIT, || runs_of(&hub, "later").len() == 1), "{}", server.stderr());
    assert_eq!(runs_of(&hub, "later")[0]["input"], json!({ "n": 1 }));
    assert_eq!(runs_of(&hub, "later")[0]["event"]["qos"], 2);
    assert!(server.stderr().contains(&format!("connected as `{id}` (session resumed)")), "{}", server.stderr());
    drop(server);
    forget_session(&broker, &id);
}

/// A Mosquitto of the test's own on a free port, without persistence: restarting it forgets
/// every session and subscription.
struct OwnBroker {
    child: Child,
    port: u16,
    config: tempfile::TempDir,
}

impl OwnBroker {
    fn start() -> Self {
        Self::start_with(|_| String::new())
    }

    /// A broker whose configuration also has what `extra` returns for its folder (where it may
    /// write files such as certificates).
    fn start_with(extra: impl FnOnce(&std::path::Path) -> String) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = tempfile::tempdir().unwrap();
        let extra = extra(config.path());
        std::fs::write(
            config.path().join("mosquitto.conf"),
            format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n{extra}"),
        )
        .unwrap();
        let mut broker = Self { child: Self::spawn(config.path()), port, config };
        broker.wait_ready();
        broker
    }

    fn spawn(dir: &std::path::Path) -> Child {
        Command::new("mosquitto")
            .arg("-c")
            .arg(dir.join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto (apt-get install mosquitto)")
    }

    fn wait_ready(&mut self) {
        let ready = wait_until(WAIT, || std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok());
        assert!(ready, "mosquitto did not listen on {}", self.port);
    }

    fn restart(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.child = Self::spawn(self.config.path());
        self.wait_ready();
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_broker_restart_loses_no_subscription() {
    if broker().is_none() {
        return;
    }
    let mut own = OwnBroker::start();
    let address = ("127.0.0.1".to_string(), own.port);
    let topic = format!("{}/ping", prefix("restart"));
    let hub = Hub::new();
    hub.manifest(&manifest(&address, &entry(&topic, "ping"))).script("ping", "input");
    let server = serve(&hub);
    logged(&server, ": subscribed", 1);
    publish(&address, &topic, "1", 1);
    assert!(wait_until(WAIT, || runs_of(&hub, "ping").len() == 1), "{}", server.stderr());

    own.restart();
    logged(&server, "connection lost", 1);
    logged(&server, ": subscribed", 2);
    publish(&address, &topic, "2", 1);
    assert!(wait_until(WAIT, || runs_of(&hub, "ping").len() == 2), "{}", server.stderr());
    assert!(server.stderr().contains("reconnected as"), "{}", server.stderr());
}

#[test]
fn mqtts_refuses_a_broker_whose_certificate_is_not_trusted() {
    if broker().is_none() {
        return;
    }
    // A self-signed certificate: TLS is spoken, and the system's roots do not vouch for it.
    let own = OwnBroker::start_with(|dir| {
        let made = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
            .arg(dir.join("key.pem"))
            .arg("-out")
            .arg(dir.join("cert.pem"))
            .output()
            .expect("openssl");
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        // Mosquitto started as root reads them as its own user.
        for (path, mode) in [(dir.to_path_buf(), 0o755), (dir.join("key.pem"), 0o644)] {
            let mut permissions = std::fs::metadata(&path).unwrap().permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, mode);
            std::fs::set_permissions(&path, permissions).unwrap();
        }
        format!("certfile {}\nkeyfile {}\n", dir.join("cert.pem").display(), dir.join("key.pem").display())
    });
    let hub = Hub::new();
    hub.manifest(&format!(
        "[connections.home]\ntype = \"mqtt\"\nurl = \"mqtts://hub:${{MQTT_PASSWORD}}@127.0.0.1:{}\"\n",
        own.port
    ))
    .script(
        "send",
        "let result = \"sent\"; try { mqtt::connection(\"home\").publish(\"a/b\", \"x\"); } catch (err) { result = err; } result",
    );
    let output = hub.cmd(&["run", "send"]).env("MQTT_PASSWORD", PASSWORD).output();
    let error = output.json();
    let error = error.as_str().unwrap_or_else(|| panic!("not an error: {error}"));
    assert!(error.starts_with(&format!("mqtt.publish: connection `home` (127.0.0.1:{}): TLS", own.port)), "{error}");
    assert!(error.contains("certificate"), "{error}");
    assert!(!format!("{}{}", output.stdout, output.stderr).contains(PASSWORD));
}

#[test]
fn kill_9_during_a_burst_loses_no_message() {
    let Some(broker) = broker() else { return };
    const COUNT: usize = 200;
    let topic = format!("{}/burst", prefix("burst"));
    let hub = Hub::new();
    hub.manifest(&format!(
        "{}[connections.seen]\ntype = \"sqlite\"\npath = \"data/seen.db\"\n",
        manifest(&broker, &entry(&topic, "count"))
    ))
    .script(
        "count",
        r#"
        let db = sql::connection("seen");
        db.execute("CREATE TABLE IF NOT EXISTS seen (n INTEGER)");
        db.execute("INSERT INTO seen (n) VALUES (?)", [input.payload]);
        "#,
    );
    let seen = || -> std::collections::BTreeSet<i64> {
        rusqlite::Connection::open(hub.path().join("data/seen.db"))
            .and_then(|db| {
                let mut statement = db.prepare("SELECT n FROM seen")?;
                statement.query_map([], |row| row.get(0))?.collect()
            })
            .unwrap_or_default()
    };
    let server = serve(&hub);
    logged(&server, ": subscribed", 1);
    let lines: String = (0..COUNT).map(|n| format!("{n}\n")).collect();
    let publisher = {
        let (broker, topic) = (broker.clone(), topic.clone());
        std::thread::spawn(move || publish_lines(&broker, &topic, &lines))
    };
    // Kill the hub without warning once some messages ran, while the rest are arriving.
    assert!(wait_until(WAIT, || seen().len() >= 20), "{}", server.stderr());
    Command::new("kill").args(["-KILL", &server.pid().to_string()]).status().unwrap();
    drop(server);
    let before = seen().len();
    publisher.join().unwrap();

    let server = serve(&hub);
    let all_ran = wait_until(Duration::from_secs(60), || seen().len() == COUNT);
    let ran = seen();
    let missing: Vec<i64> = (0..COUNT as i64).filter(|n| !ran.contains(n)).collect();
    assert!(all_ran, "{} messages never ran: {missing:?}\n{}", missing.len(), server.stderr());
    println!("kill -9 during {COUNT} QoS 1 messages, {before} ran before it: every one ran after the restart");
    drop(server);
    forget_session(&broker, &client_id(&hub));
}

#[test]
fn hot_reload_adds_and_removes_subscriptions() {
    let Some(broker) = broker() else { return };
    let topics = prefix("reload");
    let (first, second) = (format!("{topics}/first"), format!("{topics}/second"));
    let hub = Hub::new();
    hub.manifest(&manifest(&broker, &entry(&first, "first"))).script("first", "input").script("second", "input");
    let server = serve(&hub);
    logged(&server, ": subscribed", 1);

    hub.manifest(&manifest(&broker, &format!("{}{}", entry(&first, "first"), entry(&second, "second"))));
    logged(&server, &format!("subscribing to `{second}`"), 1);
    logged(&server, ": subscribed", 2);
    publish(&broker, &second, "1", 1);
    assert!(wait_until(WAIT, || runs_of(&hub, "second").len() == 1), "{}", server.stderr());
    let routes = hub.cmd(&["routes"]).env("MQTT_PASSWORD", PASSWORD).output();
    assert!(routes.stdout.contains(&format!("mqtt    {second}")), "{}", routes.stdout);

    hub.manifest(&manifest(&broker, &entry(&second, "second")));
    logged(&server, &format!("unsubscribing from `{first}`"), 1);
    logged(&server, "reloaded", 2);
    publish(&broker, &first, "2", 1);
    publish(&broker, &second, "3", 1);
    assert!(wait_until(WAIT, || runs_of(&hub, "second").len() == 2), "{}", server.stderr());
    assert_eq!(runs_of(&hub, "first").len(), 0, "the removed subscription ran:\n{}", server.stderr());
    drop(server);
    forget_session(&broker, &client_id(&hub));
}

#[test]
fn routes_list_the_subscriptions() {
    let hub = Hub::new();
    hub.manifest(&format!(
        "{}[[mqtt]]\nconnection = \"home\"\ntopic = \"sensors/#\"\nqos = 2\nscript = \"all\"\n",
        manifest(&("127.0.0.1".into(), 1883), &entry("sensors/+/temperature", "reading"))
    ))
    .script("reading", "1")
    .script("all", "1");
    let routes = hub.cmd(&["routes"]).env("MQTT_PASSWORD", PASSWORD).output();
    assert_eq!(routes.code, 0, "{}", routes.stderr);
    assert!(
        routes
            .stdout
            .contains("mqtt    sensors/+/temperature            -> reading                  (connection home, qos 1)")
    );
    assert!(
        routes
            .stdout
            .contains("mqtt    sensors/#                        -> all                      (connection home, qos 2)")
    );
}

#[test]
fn check_refuses_wrong_mqtt_entries_and_connections_with_their_place() {
    let hub = Hub::new();
    hub.manifest(
        r#"[connections.home]
type = "mqtt"
url = "mqtt://hub:pw@127.0.0.1:1883"

[connections.web]
type = "http"
base_url = "https://example.com"

[connections.bad]
type = "mqtt"
url = "http://hub:pw@127.0.0.1"
keep_alive = "0s"

[[mqtt]]
connection = "hom"
topic = "a/#/b"
script = "nope"

[[mqtt]]
connection = "web"
topic = "a/b+"
qos = 3
script = "one"
"#,
    )
    .script("one", "1");
    let check = hub.cmd(&["check"]).output();
    check.fails_with(
        2,
        &[
            "switchboard.toml:11:7: connections.bad.url: expected a URL starting with mqtt:// or mqtts://, not http://",
            "switchboard.toml:12:14: connections.bad.keep_alive: must be from 1s to 65535s",
            "switchboard.toml:15:14: mqtt[0].connection: no connection `hom` in [connections]; did you mean `home`?",
            "switchboard.toml:16:9: mqtt[0].topic: `a/#/b`: `#` must be the whole last level (`home/#`)",
            "switchboard.toml:17:10: mqtt[0].script: no script `nope`",
            "switchboard.toml:20:14: mqtt[1].connection: `web` is not an MQTT connection (it needs type = \"mqtt\")",
            "switchboard.toml:21:9: mqtt[1].topic: `a/b+`: `+` must be a whole level",
            "switchboard.toml:22:7: mqtt[1].qos: qos 3 is not 0, 1 or 2",
        ],
    );
    assert!(!check.stderr.contains("hub:pw"), "the URL's password is shown:\n{}", check.stderr);
}

#[test]
fn check_refuses_an_unknown_mqtt_function() {
    let hub = Hub::new();
    hub.manifest("").script("send", "mqtt::publish(\"a/b\", 1)");
    hub.cmd(&["check"]).output().fails_with(
        1,
        &["scripts/send.rhai:1:7", "`mqtt::publish` is not a function of the `mqtt` module (it has connection)"],
    );
}
