//! `mail` against a real SMTP server on loopback (mailin-embedded): recipients, multipart,
//! bcc, STARTTLS with AUTH, and errors.

use crate::harness::Hub;
use crate::harness::smtp::{SmtpServer, TestCertificates};
use serde_json::json;
use std::net::TcpListener;

fn hub_with(connection: &str) -> Hub {
    let hub = Hub::new();
    hub.manifest(&format!("[connections.out]\ntype = \"smtp\"\nfrom = \"Hub <hub@example.com>\"\n{connection}"));
    hub
}

fn header<'a>(data: &'a str, name: &str) -> Option<&'a str> {
    data.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
}

#[test]
fn sends_to_cc_and_bcc_with_reply_to() {
    let smtp = SmtpServer::start();
    let hub = hub_with(&format!("url = \"smtp://127.0.0.1:{}\"\n", smtp.port));
    hub.script(
        "notify",
        r#"
        mail::send("out", #{
            to: ["ada@example.com", "Bob <bob@example.com>"],
            cc: "carol@example.com",
            bcc: ["dave@example.com"],
            reply_to: "help@example.com",
            subject: "Disk almost full",
            text: "Only 3% left on /data.",
        })
        "#,
    );
    let out = hub.run("notify", "{}").json();
    assert_eq!(
        out["recipients"],
        json!(["ada@example.com", "bob@example.com", "carol@example.com", "dave@example.com"])
    );
    assert!(out["response"].as_str().unwrap().starts_with("250"), "{out}");

    let messages = smtp.messages(1);
    let message = &messages[0];
    assert_eq!(message.from, "hub@example.com");
    let mut to = message.to.clone();
    to.sort();
    assert_eq!(to, ["ada@example.com", "bob@example.com", "carol@example.com", "dave@example.com"]);
    let data = &message.data;
    assert_eq!(header(data, "Subject"), Some("Disk almost full"));
    assert_eq!(header(data, "From"), Some("Hub <hub@example.com>"));
    assert_eq!(header(data, "To"), Some("ada@example.com, Bob <bob@example.com>"));
    assert_eq!(header(data, "Cc"), Some("carol@example.com"));
    assert_eq!(header(data, "Reply-To"), Some("help@example.com"));
    assert_eq!(header(data, "Message-ID"), out["message_id"].as_str());
    assert!(header(data, "Content-Type").unwrap().starts_with("text/plain"), "{data}");
    assert!(data.contains("Only 3% left on /data."), "{data}");
    // Bcc recipients get the message but are not named in it.
    assert!(!data.contains("dave@"), "{data}");
    assert_eq!(header(data, "Bcc"), None);
}

#[test]
fn text_and_html_make_multipart_alternative() {
    let smtp = SmtpServer::start();
    let hub = hub_with(&format!("url = \"smtp://127.0.0.1:{}\"\n", smtp.port));
    hub.script(
        "both",
        r#"
        mail::send("out", #{ to: "ada@example.com", subject: "both", text: "plain words", html: "<p>rich <b>words</b></p>" });
        mail::send("out", #{ to: "ada@example.com", subject: "html only", html: "<p>only rich</p>" });
        "sent"
        "#,
    );
    assert_eq!(hub.run("both", "{}").json(), json!("sent"));

    let messages = smtp.messages(2);
    let both = &messages[0].data;
    assert!(header(both, "Content-Type").unwrap().starts_with("multipart/alternative;"), "{both}");
    let plain = both.find("Content-Type: text/plain").expect("a text/plain part");
    let html = both.find("Content-Type: text/html").expect("a text/html part");
    assert!(plain < html, "the plain part comes first so clients prefer the html one: {both}");
    assert!(both.contains("plain words") && both.contains("<p>rich <b>words</b></p>"), "{both}");

    let html_only = &messages[1].data;
    assert!(header(html_only, "Content-Type").unwrap().starts_with("text/html"), "{html_only}");
    assert!(html_only.contains("<p>only rich</p>"), "{html_only}");
}

#[test]
fn starttls_and_auth_with_a_password_from_the_environment() {
    let certificates = TestCertificates::new();
    let password = "pa55-w0rd-for-smtp";
    let smtp = SmtpServer::start_tls(&certificates, password);
    let hub = hub_with(&format!(
        "url = \"smtp://robot@127.0.0.1:{}\"\nstarttls = \"required\"\npassword = \"${{SB_SMTP_PASSWORD}}\"\ntimeout = \"10s\"\n",
        smtp.port
    ));
    hub.script(
        "login",
        r#"
        let caught = ();
        let sent = ();
        try { sent = mail::send("out", #{ to: "ada@example.com", subject: "over TLS", text: "hi" }); } catch (err) { caught = err; }
        #{ sent: sent != (), caught: caught }
        "#,
    );
    let run = |password: &str| {
        hub.cmd(&["run", "login"])
            .env("SB_SMTP_PASSWORD", password)
            .env("SSL_CERT_FILE", certificates.ca.to_str().unwrap())
            .output()
    };

    let out = run(password);
    assert_eq!(out.json(), json!({"sent": true, "caught": null}));
    let messages = smtp.messages(1);
    assert_eq!(messages[0].user.as_deref(), Some("robot"));
    assert_eq!(header(&messages[0].data, "Subject"), Some("over TLS"));
    assert!(!out.stdout.contains(password) && !out.stderr.contains(password), "{out:?}");

    let wrong = "not-the-pa55-w0rd";
    let out = run(wrong);
    let result = out.json();
    let caught = result["caught"].as_str().unwrap();
    assert!(
        caught.starts_with(&format!("mail.send: cannot send through `out` (127.0.0.1:{}): ", smtp.port)),
        "{caught}"
    );
    assert!(caught.contains("535"), "{caught}");
    assert!(!out.stdout.contains(wrong) && !out.stderr.contains(wrong), "{out:?}");
    assert_eq!(smtp.messages(1).len(), 1, "nothing more was delivered");
}

#[test]
fn starttls_required_fails_against_a_server_without_it() {
    let smtp = SmtpServer::start();
    let hub = hub_with(&format!("url = \"smtp://127.0.0.1:{}\"\nstarttls = \"required\"\n", smtp.port));
    hub.script("send", r#"mail::send("out", #{ to: "ada@example.com", subject: "s", text: "t" })"#);
    hub.run("send", "{}").fails_with(1, &["mail.send: cannot send through `out`", "STARTTLS"]);
    assert!(smtp.inbox.lock().unwrap().is_empty());
}

#[test]
fn mistakes_in_messages_are_clear_errors() {
    let smtp = SmtpServer::start();
    let hub = hub_with(&format!("url = \"smtp://127.0.0.1:{}\"\n", smtp.port));
    hub.script(
        "mistakes",
        r#"
        let attempts = [
            || mail::send("out", #{ subject: "no one" }),
            || mail::send("out", #{ to: [], subject: "no one" }),
            || mail::send("out", #{ to: "ada@example.com", text: "no subject" }),
            || mail::send("out", #{ to: "ada@", subject: "s" }),
            || mail::send("out", #{ to: "ada@example.com, bob@example.com", subject: "s" }),
            || mail::send("out", #{ to: "ada@example.com", cc: [1], subject: "s" }),
            || mail::send("out", #{ to: "ada@example.com", sbject: "s" }),
            || mail::send("out", "ada@example.com"),
            || mail::send("outbox", #{ to: "ada@example.com", subject: "s" }),
        ];
        let errors = [];
        for attempt in attempts {
            try { attempt.call(); errors.push("no error"); } catch (err) { errors.push(err); }
        }
        errors
        "#,
    );
    let out = hub.run("mistakes", "{}").json();
    let expected = [
        "mail.send: `to` is required",
        "mail.send: `to` is required",
        "mail.send: `subject` is required",
        "mail.send: `to`: `ada@` is not an email address",
        "mail.send: `to`: `ada@example.com, bob@example.com` is not an email address",
        "mail.send: `cc` must hold strings, not i64",
        "mail.send: unknown field `sbject` (did you mean `subject`?)",
        "mail.send: the message must be a map",
        "mail.send: no smtp connection `outbox` (known: out)",
    ];
    let errors = out.as_array().unwrap();
    assert_eq!(errors.len(), expected.len(), "{out}");
    for (error, expected) in errors.iter().zip(expected) {
        assert!(error.as_str().unwrap().starts_with(expected), "{error} should start with {expected}");
    }
    assert!(errors[4].as_str().unwrap().ends_with("give several addresses as an array"));
    assert!(smtp.inbox.lock().unwrap().is_empty(), "nothing was sent");
}

#[test]
fn an_unreachable_server_is_a_catchable_error() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let hub = hub_with(&format!("url = \"smtp://user:hunter2-secret@127.0.0.1:{port}\"\n"));
    hub.script(
        "send",
        r#"
        let caught = ();
        try { mail::send("out", #{ to: "ada@example.com", subject: "s", text: "t" }); } catch (err) { caught = err; }
        caught
        "#,
    );
    let out = hub.run("send", "{}");
    let caught = out.json();
    assert!(
        caught.as_str().unwrap().starts_with(&format!("mail.send: cannot send through `out` (127.0.0.1:{port}): "))
    );
    assert!(!out.stdout.contains("hunter2"), "the URL's password stays out of errors: {}", out.stdout);
}

#[test]
fn contradictory_connections_are_config_errors() {
    let hub = hub_with("url = \"smtps://mail.example.com\"\nstarttls = \"required\"\n");
    hub.script("noop", "1");
    hub.run("noop", "{}").fails_with(2, &["connections.out.starttls", "smtps:// uses TLS from the start"]);

    let hub = hub_with("url = \"smtp://mail.example.com\"\npassword = \"${SB_SMTP_LONELY}\"\n");
    hub.script("noop", "1");
    let out = hub.cmd(&["run", "noop"]).env("SB_SMTP_LONELY", "lonely-password").output();
    out.fails_with(2, &["connections.out.user", "no user to log in as"]);
    assert!(!out.stderr.contains("lonely-password"));
}
