//! `switchboard check`: manifest validation and compile errors.

use crate::harness::{Hub, Output};

#[test]
fn a_good_hub_passes() {
    let hub = Hub::new();
    hub.manifest("[[route]]\nmethod = \"GET\"\npath = \"/a\"\nscript = \"a\"\n").script("a", "1");
    let out = hub.cmd(&["check"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Counts agree with their number: "1 route", "0 watches".
    assert_eq!(
        out.stdout.trim(),
        "ok: 1 script, 1 route, 0 cron jobs, 0 watches, 0 subscriptions, 0 connections",
        "{}",
        out.stdout
    );
    hub.script("b", "2").file("switchboard.toml", "[connections.db]\ntype = \"sqlite\"\npath = \"data/x.db\"\n");
    let out = hub.cmd(&["check"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("ok: 2 scripts, 0 routes, ") && out.stdout.trim().ends_with(" 1 connection"),
        "{}",
        out.stdout
    );
}

#[test]
fn every_compile_error_is_reported() {
    let hub = Hub::new();
    hub.script("one", "let = 1;").script("two", "fn f( {").script("fine", "1").file("lib/util.rhai", "fn x() { (");
    let out = hub.cmd(&["check"]).output();
    out.fails_with(
        1,
        &["scripts/one.rhai:1:5", "scripts/two.rhai:1:", "lib/util.rhai:1:", "3 scripts failed to compile"],
    );
}

#[test]
fn configuration_errors_exit_2_and_are_all_reported() {
    let hub = Hub::new();
    hub.manifest(
        "[[route]]\nmethod = \"FETCH\"\npath = \"a\"\nscript = \"nope\"\n\n[[cron]]\nname = \"x\"\nschedule = \"* * * * *\"\ntimezone = \"Mars/Base\"\nscript = \"nope\"\n",
    );
    hub.cmd(&["check"]).output().fails_with(
        2,
        &[
            "route[0].method: unknown method `FETCH`",
            "route[0].path",
            "route[0].script: no script `nope`",
            "cron[0].timezone",
        ],
    );
}

#[test]
fn a_folder_without_a_manifest_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        std::process::Command::new(crate::harness::binary()).args(["check", "--dir"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no switchboard.toml here"));
}

/// A manifest's first lines in the tests below: a `listen` that never collides, should a
/// `serve` that ought to refuse start after all.
const LISTEN: &str = "[server]\nlisten = \"127.0.0.1:0\"\n";

/// The `error:` lines of a command's stderr (`serve` also logs).
fn errors(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|line| line.starts_with("error: ")).collect()
}

/// `serve --no-watch` on the manifest's own `listen`, until it exits; one still running after
/// 20 s started, and is ended here so the test can fail on its exit code.
fn serve_until_exit(hub: &Hub) -> Output {
    let mut child = std::process::Command::new(crate::harness::binary())
        .args(["serve", "--no-watch", "--dir"])
        .arg(hub.path())
        .env_remove("SWITCHBOARD_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let exited = crate::harness::wait_until(std::time::Duration::from_secs(20), || {
        child.try_wait().expect("serve's status").is_some()
    });
    if !exited {
        let _ = child.kill();
    }
    let out = child.wait_with_output().expect("serve's output");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Both `check` and `serve` refuse `hub` with exit 2 and the same errors, which hold every fragment.
fn refused_by_check_and_serve(hub: &Hub, fragments: &[&str]) {
    let check = hub.cmd(&["check"]).output();
    check.fails_with(2, fragments);
    let serve = serve_until_exit(hub);
    serve.fails_with(2, fragments);
    assert_eq!(errors(&check.stderr), errors(&serve.stderr), "check and serve disagree");
}

#[test]
fn an_invalid_json_schema_names_its_file_position_pointer_and_route() {
    let hub = Hub::new();
    hub.manifest(&format!(
        "{LISTEN}[[route]]\nmethod = \"POST\"\npath = \"/a\"\nscript = \"a\"\nbody_schema = \"schemas/bad.json\"\n"
    ))
    .script("a", "1")
    .file("schemas/bad.json", "{\n  \"type\": \"object\",\n  \"properties\": {\n    \"a\": { \"type\": 5 }\n  }\n}\n");
    refused_by_check_and_serve(
        &hub,
        &["schemas/bad.json:4:20: /properties/a/type: not a valid JSON Schema", "route[0] POST /a"],
    );
}

#[test]
fn a_body_schema_that_is_not_json_names_its_line_and_column() {
    let hub = Hub::new();
    hub.manifest(&format!(
        "{LISTEN}[[route]]\nmethod = \"POST\"\npath = \"/a\"\nscript = \"a\"\nbody_schema = \"schemas/broken.json\"\n"
    ))
    .script("a", "1")
    .file("schemas/broken.json", "{\n  \"type\": \"object\",,\n}\n");
    refused_by_check_and_serve(&hub, &["schemas/broken.json:2:20: not JSON", "route[0] POST /a"]);
}

#[test]
fn listen_must_be_an_address() {
    let hub = Hub::new();
    hub.manifest("[server]\nlisten = \"not-an-address\"\n");
    refused_by_check_and_serve(
        &hub,
        &["switchboard.toml:2:10: server.listen: `not-an-address` is not an address; expected HOST:PORT"],
    );
    hub.manifest("[server]\nlisten = \"127.0.0.1:99999\"\n");
    refused_by_check_and_serve(
        &hub,
        &["switchboard.toml:2:10: server.listen: `99999` in `127.0.0.1:99999` is not a port"],
    );
    hub.manifest("[server]\nlisten = \"http://127.0.0.1:8080\"\n");
    refused_by_check_and_serve(&hub, &["server.listen: `http://127.0.0.1` in `http://127.0.0.1:8080` is not a host"]);
    hub.manifest("[server]\nlisten = \"localhost:0\"\n");
    assert_eq!(hub.cmd(&["check"]).output().code, 0, "a host name is looked up when serve binds");
    hub.manifest(LISTEN);
    hub.cmd(&["serve", "--listen", "nowhere"]).output().fails_with(2, &["--listen: `nowhere` is not an address"]);
}

#[test]
fn zero_limits_are_refused_where_they_are_written() {
    let hub = Hub::new();
    hub.script("a", "1").manifest(
        "[server]\nlisten = \"127.0.0.1:0\"\nmax_body = 0\n\
         [limits]\nmax_call_depth = 0\nmax_string = \"0B\"\nmax_array = 0\nmax_map = 0\n\
         [[route]]\nmethod = \"GET\"\npath = \"/a\"\nscript = \"a\"\nconcurrency = 0\ntimeout = \"0s\"\nmax_operations = 0\nrate_limit = \"0/minute\"\n\
         [[cron]]\nname = \"c\"\nschedule = \"* * * * *\"\nscript = \"a\"\ntimeout = \"0s\"\n\
         [[on]]\nevent = \"e\"\nscript = \"a\"\ntimeout = \"0s\"\n\
         [queue]\nworkers = 0\n[run_log]\nkeep_last = 0\nkeep_for = \"0s\"\n[exec]\ntimeout = \"0s\"\nmax_output = 0\n",
    );
    refused_by_check_and_serve(
        &hub,
        &[
            "switchboard.toml:3:12: server.max_body: must be at least 1 byte",
            "switchboard.toml:5:18: limits.max_call_depth: must be from 1 to 64",
            "switchboard.toml:6:14: limits.max_string: must be at least 1",
            "switchboard.toml:7:13: limits.max_array: must be at least 1",
            "switchboard.toml:8:11: limits.max_map: must be at least 1",
            "switchboard.toml:13:15: route[0].concurrency: must be at least 1",
            "switchboard.toml:14:11: route[0].timeout: must be longer than 0s",
            "switchboard.toml:15:18: route[0].max_operations: must be greater than 0",
            "switchboard.toml:16:14: route[0].rate_limit: `0/minute` is not a rate",
            "switchboard.toml:21:11: cron[0].timeout: must be longer than 0s",
            "switchboard.toml:25:11: on[0].timeout: must be longer than 0s",
            "switchboard.toml:27:11: queue.workers: must be at least 1",
            "switchboard.toml:29:13: run_log.keep_last: must be at least 1",
            "switchboard.toml:30:12: run_log.keep_for: must be longer than 0s",
            "switchboard.toml:32:11: exec.timeout: must be longer than 0s",
            "switchboard.toml:33:14: exec.max_output: must be at least 1 byte",
        ],
    );
}

#[test]
fn absurd_limits_are_refused() {
    let hub = Hub::new();
    hub.script("a", "1").manifest(&format!(
        "{LISTEN}[limits]\nmax_call_depth = 100000\n[[route]]\nmethod = \"GET\"\npath = \"/a\"\nscript = \"a\"\nconcurrency = 9000000000000000000\n\
         retry = {{ attempts = 3, backoff = \"10m\", max_backoff = \"1s\" }}\nmode = \"queue\"\n"
    ));
    refused_by_check_and_serve(
        &hub,
        &[
            "switchboard.toml:4:18: limits.max_call_depth: must be from 1 to 64; deeper recursion could overflow",
            "switchboard.toml:9:15: route[0].concurrency: must be at most",
            "route[0].retry.max_backoff: `backoff` (10m) is longer than `max_backoff` (1s)",
        ],
    );
}

#[test]
fn nonsense_in_exec_allow_is_refused() {
    let hub = Hub::new();
    hub.manifest(&format!(
        "{LISTEN}[exec]\nallow = [\"\", \"../outside/tool\", \"a;b\", \"jq -r\", \"~/bin/x\", \" ls\"]\n"
    ));
    refused_by_check_and_serve(
        &hub,
        &[
            "switchboard.toml:4:10: exec.allow[0]: an empty program name",
            "switchboard.toml:4:14: exec.allow[1]: `../outside/tool` leaves the hub",
            "exec.allow[2]: `a;b` is not a program name (`;`): exec runs programs directly, never through a shell",
            "exec.allow[3]: `jq -r` looks like a command line",
            "exec.allow[4]: `~/bin/x`: `~` is not expanded",
            "exec.allow[5]: ` ls` has spaces around it",
        ],
    );
}

#[test]
fn an_allowed_program_that_is_missing_is_a_warning_in_check_and_serve() {
    let hub = Hub::new();
    hub.manifest(&format!(
        "{LISTEN}[exec]\nallow = [\"surely-not-installed-sb17\", \"tools/none.sh\", \"tools/plain.sh\"]\n"
    ))
    .file("tools/plain.sh", "echo hi\n");
    let warnings = [
        "switchboard.toml:4:10: exec.allow[0]: `surely-not-installed-sb17` is not on PATH",
        "exec.allow[1]: `tools/none.sh` does not exist",
        "exec.allow[2]: `tools/plain.sh` is not executable",
    ];
    let out = hub.cmd(&["check"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    for warning in warnings {
        let warned = out.stderr.lines().any(|line| line.starts_with("warning: ") && line.contains(warning));
        assert!(warned, "{}", out.stderr);
    }
    let server = hub.serve();
    let logged = crate::harness::wait_until(std::time::Duration::from_secs(10), || {
        warnings.iter().all(|warning| server.stderr().contains(warning))
    });
    assert!(logged, "{}", server.stderr());
}

#[test]
fn one_route_written_two_ways_is_declared_twice() {
    let hub = Hub::new();
    hub.script("a", "1").manifest(&format!(
        "{LISTEN}[[route]]\nmethod = \"GET\"\npath = \"/a/:id\"\nscript = \"a\"\n[[route]]\nmethod = \"get\"\npath = \"/a/{{key}}\"\nscript = \"a\"\n"
    ));
    refused_by_check_and_serve(
        &hub,
        &["switchboard.toml:9:8: route[1].path: GET /a/{key} is declared twice: route[0] has it (as `/a/:id`)"],
    );
}

#[test]
fn a_malformed_path_parameter_is_refused() {
    let hub = Hub::new();
    hub.script("a", "1");
    for (path, message) in [
        ("/f/{name}.json", "`/f/{name}.json`: `{name}.json` is not a parameter"),
        ("/f/{x", "`/f/{x`: `{x` is not a parameter"),
        ("/f/:", "`/f/:`: `:` needs a name"),
        ("/f/*rest/more", "the wildcard `*rest` must be the last segment"),
    ] {
        hub.manifest(&format!("{LISTEN}[[route]]\nmethod = \"GET\"\npath = \"{path}\"\nscript = \"a\"\n"));
        refused_by_check_and_serve(&hub, &["switchboard.toml:5:8: route[0].path:", message]);
    }
}

#[test]
fn what_only_the_route_table_refuses_is_refused_by_check_too() {
    // One path whose parameter has two names: only building the route table finds it.
    let hub = Hub::new();
    hub.script("a", "1").manifest(&format!(
        "{LISTEN}[[route]]\nmethod = \"GET\"\npath = \"/t/{{id}}\"\nscript = \"a\"\n[[route]]\nmethod = \"DELETE\"\npath = \"/t/{{task}}\"\nscript = \"a\"\n"
    ));
    refused_by_check_and_serve(&hub, &["switchboard.toml:9:8: route[1].path: `/t/{task}` conflicts"]);
}

#[test]
fn cron_watch_and_query_mistakes_are_refused() {
    let hub = Hub::new();
    hub.script("a", "1").manifest(&format!(
        "{LISTEN}[[route]]\nmethod = \"GET\"\npath = \"/a\"\nscript = \"a\"\n\
         query = {{ n = {{ type = \"integer\", default = \"x\" }}, s = {{ enum = [\"a\", \"b\"], default = \"c\" }} }}\n\
         verify = {{ scheme = \"hmac-sha256\", header = \"X-Sig\", secret = \"\" }}\n\
         [[cron]]\nname = \"\"\nschedule = \"* * * * *\"\ntimezone = \"Mars/Base\"\nscript = \"a\"\n\
         [[watch]]\npath = \"inbox\"\nmove_to = \"./inbox/\"\nscript = \"a\"\n"
    ));
    refused_by_check_and_serve(
        &hub,
        &[
            "switchboard.toml:7:15: route[0].query.n: default \"x\" is not an integer",
            "route[0].query.s: default \"c\" is not one of the enum values",
            "switchboard.toml:8:63: route[0].verify.secret: is empty; anyone could sign a request",
            "switchboard.toml:10:8: cron[0].name: must not be empty",
            "switchboard.toml:12:12: cron[0].timezone: unknown timezone `Mars/Base`",
            "switchboard.toml:16:11: watch[0].move_to: `./inbox/` is the watched folder itself",
        ],
    );
}

#[test]
fn a_schedule_that_never_fires_and_a_shared_key_token_are_refused() {
    let hub = Hub::new();
    hub.script("a", "1").manifest(&format!(
        "{LISTEN}[[cron]]\nname = \"feb30\"\nschedule = \"0 0 30 2 *\"\nscript = \"a\"\n\
         [[key]]\nname = \"one\"\ntoken = \"same-token-123\"\n[[key]]\nname = \"two\"\ntoken = \"same-token-123\"\n"
    ));
    refused_by_check_and_serve(
        &hub,
        &[
            "switchboard.toml:5:12: cron[0].schedule: `0 0 30 2 *` never fires",
            "switchboard.toml:12:9: key[1].token: is the token of key[0] too",
        ],
    );
}

#[test]
fn scopes_on_a_public_route_are_a_warning_in_check_and_serve() {
    let hub = Hub::new();
    hub.script("a", "1").manifest(&format!(
        "{LISTEN}[[route]]\nmethod = \"GET\"\npath = \"/a\"\nscript = \"a\"\nauth = \"public\"\nscopes = [\"x\"]\n"
    ));
    let warning = "switchboard.toml:8:10: route[0].scopes: are not checked: a public route needs no key";
    let out = hub.cmd(&["check"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.lines().any(|line| line.starts_with("warning: ") && line.contains(warning)), "{}", out.stderr);
    let server = hub.serve();
    let logged = crate::harness::wait_until(std::time::Duration::from_secs(10), || server.stderr().contains(warning));
    assert!(logged, "{}", server.stderr());
}

#[test]
fn five_independent_mistakes_are_five_errors_with_their_places() {
    let hub = Hub::new();
    hub.script("a", "1").manifest(&format!(
        "{LISTEN}[[route]]\nmethod = \"FETCH\"\npath = \"/a\"\nscript = \"a\"\n\
         [[route]]\nmethod = \"GET\"\npath = \"/b\"\nscript = \"a\"\nrate_limit = \"10/fortnight\"\n\
         [[cron]]\nname = \"c\"\nschedule = \"61 * * * *\"\nscript = \"a\"\n\
         [[watch]]\npath = \"inbox\"\npattern = \"[a\"\nscript = \"a\"\n\
         [[on]]\nevent = \"e\"\nscript = \"nope\"\n"
    ));
    let fragments = [
        "switchboard.toml:4:10: route[0].method: unknown method `FETCH`; expected one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS",
        "switchboard.toml:11:14: route[1].rate_limit: `10/fortnight` is not a rate",
        "switchboard.toml:14:12: cron[0].schedule: invalid schedule `61 * * * *`",
        "switchboard.toml:18:11: watch[0].pattern: `[a` is not a glob",
        "switchboard.toml:22:10: on[0].script: no script `nope`",
    ];
    refused_by_check_and_serve(&hub, &fragments);
    let out = hub.cmd(&["check"]).output();
    assert_eq!(errors(&out.stderr).len(), 5, "{}", out.stderr);
}

#[test]
fn wrong_types_in_several_entries_are_all_reported() {
    // Each of these stopped the reading before: now every one is reported, and the entries
    // after a wrong one keep their numbers.
    let hub = Hub::new();
    hub.script("a", "1").manifest(&format!(
        "{LISTEN}[limits]\ntimeout = \"soon\"\n\
         [[route]]\nmethod = \"GET\"\npath = 5\nscript = \"a\"\n\
         [[route]]\nmethod = \"GET\"\npath = \"/b\"\nscript = \"b\"\ntimeout = 3\nverify = {{ scheme = \"hmac-md5\", header = \"X\", secret = \"s3cret\" }}\n\
         [[cron]]\nname = \"c\"\nschedule = \"* * * * *\"\nscript = \"a\"\novelap = \"skip\"\ncatch_up = \"twice\"\n\
         [[watch]]\npath = \"inbox\"\nscript = \"a\"\nevents = [\"created\", \"changed\"]\non_start = \"later\"\n\
         [connections.db]\ntype = \"sqlite\"\npath = \"data/x.db\"\nretry = {{ attempts = 2 }}\n\
         [connections.mail]\ntype = \"smtp\"\nurl = \"smtp://mail.example.com\"\nfrom = \"hub@example.com\"\nstarttls = \"always\"\n"
    ));
    refused_by_check_and_serve(
        &hub,
        &[
            "switchboard.toml:4:11: limits.timeout: invalid duration `soon`",
            "switchboard.toml:7:8: route[0].path: invalid type: integer `5`, expected a string",
            "switchboard.toml:12:10: route[1].script: no script `b`",
            "switchboard.toml:13:11: route[1].timeout:",
            "switchboard.toml:14:21: route[1].verify.scheme: unknown scheme `hmac-md5`; expected one of hmac-sha256, hmac-sha1, stripe",
            "switchboard.toml:19:1: cron[0].ovelap: unknown field `ovelap`",
            "did you mean `overlap`?",
            "switchboard.toml:20:12: cron[0].catch_up: unknown catch_up `twice`; expected one of none, once",
            "switchboard.toml:24:22: watch[0].events[1]: unknown event `changed`; expected one of created, modified, removed",
            "switchboard.toml:25:12: watch[0].on_start: unknown on_start `later`; expected one of process, ignore",
            "connections.db: `retry` does not apply to a sqlite connection",
            "connections.mail.starttls: unknown starttls `always`; expected one of required, opportunistic, never",
        ],
    );
}

#[test]
fn a_word_of_the_wrong_type_names_its_key() {
    let hub = Hub::new();
    hub.script("a", "1").manifest(&format!(
        "{LISTEN}[[route]]\nmethod = 5\npath = \"/a\"\nscript = \"a\"\n[[route]]\nmethod = \"GET\"\npath = \"/b\"\nscript = \"b\"\nrate_limit = [\"1/second\"]\n"
    ));
    let out = hub.cmd(&["check"]).output();
    out.fails_with(
        2,
        &[
            "switchboard.toml:4:10: route[0].method: invalid type: integer `5`, expected a string",
            "switchboard.toml:10:10: route[1].script: no script `b`",
            "switchboard.toml:11:14: route[1].rate_limit: invalid type: sequence, expected a string",
        ],
    );
    assert!(!out.stderr.contains("$__"), "{}", out.stderr);
}

#[test]
fn a_syntax_error_says_that_it_stops_the_reading() {
    let hub = Hub::new();
    hub.manifest("[[route]]\nmethod = \"FETCH\"\npath = \"/a\nscript = \"a\"\n");
    let out = hub.cmd(&["check"]).output();
    out.fails_with(2, &["switchboard.toml:3:", "a syntax error stops the reading"]);
    assert_eq!(errors(&out.stderr).len(), 1, "{}", out.stderr);
}
