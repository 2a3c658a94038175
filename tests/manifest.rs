//! The manifest: `${VAR}`, .env, units, unknown keys.

use crate::harness::Hub;

#[test]
fn unknown_key_names_file_line_key_and_suggestion() {
    let hub = Hub::new();
    hub.manifest("[server]\nlisen = \"127.0.0.1:1\"\n");
    hub.cmd(&["check"])
        .output()
        .fails_with(2, &["switchboard.toml:2:1", "server", "unknown field `lisen`", "did you mean `listen`?"]);
}

#[test]
fn unknown_section_is_an_error() {
    let hub = Hub::new();
    hub.manifest("[limit]\ntimeout = \"1s\"\n");
    hub.cmd(&["check"]).output().fails_with(2, &["unknown field `limit`", "did you mean `limits`?"]);
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    let hub = Hub::new();
    hub.manifest("[server]\nlisten = \"unterminated\n");
    hub.cmd(&["check"]).output().fails_with(2, &["switchboard.toml:2:"]);
}

#[test]
fn wrong_type_names_the_key_path() {
    let hub = Hub::new();
    hub.manifest("[limits]\nmax_operations = \"lots\"\n");
    hub.cmd(&["check"]).output().fails_with(2, &["switchboard.toml:2:18", "limits.max_operations", "expected u64"]);
}

#[test]
fn bad_duration_and_size_are_explained() {
    let hub = Hub::new();
    hub.manifest("[limits]\ntimeout = \"ten seconds\"\n");
    hub.cmd(&["check"]).output().fails_with(2, &["limits.timeout", "invalid duration `ten seconds`", "\"10s\""]);
    hub.manifest("[server]\nmax_body = \"big\"\n");
    hub.cmd(&["check"]).output().fails_with(2, &["server.max_body", "invalid size `big`"]);
}

#[test]
fn missing_variable_names_the_variable_and_where_it_is_used() {
    let hub = Hub::new();
    hub.manifest(
        "[connections.api]\ntype = \"http\"\nbase_url = \"http://127.0.0.1:1\"\nheaders = { Authorization = \"Bearer ${SB_TEST_NOT_SET}\" }\n",
    );
    hub.cmd(&["check"]).output().fails_with(
        2,
        &["switchboard.toml:4:", "connections.api.headers.Authorization", "`SB_TEST_NOT_SET` is not set"],
    );
}

#[test]
fn a_missing_variable_in_a_required_key_is_reported_once_as_itself() {
    let hub = Hub::new();
    hub.manifest("[connections.crm]\ntype = \"postgres\"\nurl = \"postgres://app:${SB_TEST_NOT_SET}@db/crm\"\n");
    let out = hub.cmd(&["check"]).output();
    out.fails_with(2, &["switchboard.toml:3:7: connections.crm.url", "`SB_TEST_NOT_SET` is not set"]);
    assert!(!out.stderr.contains("needs `url`"), "the url is there, its variable is not: {}", out.stderr);
}

#[test]
fn variables_come_from_the_environment_before_dotenv() {
    let hub = Hub::new();
    hub.manifest("[connections.db]\ntype = \"sqlite\"\npath = \"${SB_DB_FILE}\"\n")
        .file(".env", "# the database\nSB_DB_FILE=data/from-dotenv.db\n")
        .script("touch", r#"sql::connection("db").execute_batch("CREATE TABLE t (x)"); "ok""#);
    assert_eq!(hub.run("touch", "{}").json(), "ok");
    assert!(hub.path().join("data/from-dotenv.db").exists());
    let out = hub.cmd(&["run", "touch"]).env("SB_DB_FILE", "data/from-env.db").output();
    assert_eq!(out.json(), "ok");
    assert!(hub.path().join("data/from-env.db").exists());
}

#[test]
fn unknown_connection_type_lists_the_known_ones() {
    let hub = Hub::new();
    hub.manifest("[connections.x]\ntype = \"oracle\"\n");
    hub.cmd(&["check"])
        .output()
        .fails_with(2, &["connections.x", "unknown variant `oracle`", "`sqlite`", "`postgres`"]);
}

#[test]
fn demo_style_manifest_with_every_section_is_accepted() {
    let hub = Hub::new();
    hub.script("weather", "1").script("on_push", "1").script("digest", "1").script("import_customers", "1");
    hub.script("add_to_mailing_list", "1");
    hub.manifest(
        r#"
[server]
listen = "127.0.0.1:8080"
max_body = "1MB"

[limits]
timeout = "30s"
max_operations = 50_000_000

[[route]]
method = "GET"
path = "/weather/current"
script = "weather"
auth = "public"
scopes = ["weather:read"]
rate_limit = "60/minute"
query = { city = { type = "string", required = true, description = "City name" } }
timeout = "10s"
mode = "sync"

[[route]]
method = "POST"
path = "/hooks/github/{repo}"
script = "on_push"
auth = "public"
verify = { scheme = "hmac-sha256", header = "X-Hub-Signature-256", prefix = "sha256=", secret = "${GH_SECRET}" }

[[cron]]
name = "morning-digest"
schedule = "0 7 * * *"
timezone = "Europe/London"
script = "digest"
input = { city = "London" }

[[watch]]
path = "inbox"
pattern = "*.csv"
script = "import_customers"
move_to = "inbox/done"

[[on]]
event = "customer.created"
script = "add_to_mailing_list"

[connections.weather]
type = "http"
base_url = "https://api.openweathermap.org/data/2.5"
query = { appid = "${OWM_API_KEY}" }

[connections.tasks]
type = "sqlite"
path = "data/tasks.db"

[connections.mail]
type = "smtp"
url = "smtp://me:${SMTP_PASSWORD}@mail.example.com:587"
from = "hub@example.com"

[[key]]
name = "phone"
token = "${PHONE_TOKEN}"
scopes = ["weather:read"]

[exec]
allow = ["jq"]
"#,
    );
    hub.file(
        ".env",
        "GH_SECRET=gh-secret-value\nOWM_API_KEY=owm-key\nSMTP_PASSWORD=smtp-pass\nPHONE_TOKEN=phone-token-123\n",
    );
    let out = hub.cmd(&["check"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn every_semantic_error_has_its_line_and_column() {
    let hub = Hub::new();
    hub.manifest(
        "[[route]]\nmethod = \"FETCH\"\npath = \"/a\"\nscript = \"nope\"\n\n[fs]\nroots = [\"no-such-folder\"]\n",
    );
    hub.cmd(&["check"]).output().fails_with(
        2,
        &["switchboard.toml:2:10: route[0].method: unknown method `FETCH`", "switchboard.toml:4:10: route[0].script"],
    );
    // Errors found while building the stdlib's capabilities are placed the same way.
    hub.manifest("[fs]\nroots = [\"no-such-folder\"]\n");
    hub.cmd(&["check"]).output().fails_with(2, &["switchboard.toml:2:10: fs.roots[0]: cannot use `no-such-folder`"]);
}

#[test]
fn a_dotenv_line_that_does_not_parse_is_named_by_line_without_its_value() {
    let hub = Hub::new();
    hub.manifest("[connections.db]\ntype = \"sqlite\"\npath = \"${SB_DB_FILE}\"\n")
        .file(".env", "# the database\nSB_DB_FILE=data/x.db\n\nSB_TOKEN \"hunter2-very-secret\"\n");
    let out = hub.cmd(&["check"]).output();
    out.fails_with(2, &[".env:4"]);
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
}
