//! Checks that need more than the manifest's shape (script references, URLs, names, formats,
//! ranges), shared by `check`, `serve` and a reload; and the warnings `check` and `serve` print alike.

use super::{ConfigError, Connection, Manifest, closest, watch_spec};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Every semantic error in `manifest`, in manifest order; `scripts` are the hub's script names.
pub fn manifest(dir: &Path, file: &Path, manifest: &Manifest, scripts: &[String]) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    // Errors about other files (a route's JSON Schema), added after the manifest's own.
    let mut errors_elsewhere = Vec::new();
    let mut error = |key: String, message: String| errors.push(ConfigError::key(file, key, message));
    let script_exists = |key: String, name: &str, error: &mut dyn FnMut(String, String)| {
        if !scripts.iter().any(|known| known == name) {
            let hint = closest(name, scripts.iter().map(String::as_str))
                .map(|best| format!("; did you mean `{best}`?"))
                .unwrap_or_default();
            error(key, format!("no script `{name}` (looked for scripts/{name}.rhai){hint}"));
        }
    };

    if let Some(problem) = listen_problem(manifest.server.listen.as_str()) {
        error("server.listen".into(), problem);
    }
    if manifest.server.max_body.0 == 0 {
        error("server.max_body".into(), "must be at least 1 byte".into());
    }
    let limits = &manifest.limits;
    if limits.max_operations == 0 {
        error("limits.max_operations".into(), "must be greater than 0".into());
    }
    if limits.timeout.0.is_zero() {
        error("limits.timeout".into(), "must be longer than 0s".into());
    }
    if !(1..=MAX_CALL_DEPTH).contains(&limits.max_call_depth) {
        error(
            "limits.max_call_depth".into(),
            format!(
                "must be from 1 to {MAX_CALL_DEPTH}; deeper recursion could overflow a thread's stack and abort the whole hub"
            ),
        );
    }
    // Rhai reads 0 as "no limit", the opposite of what a 0 here looks like it says.
    let sizes = [
        ("max_string", limits.max_string.0),
        ("max_array", limits.max_array as u64),
        ("max_map", limits.max_map as u64),
    ];
    for (field, value) in sizes {
        if value == 0 {
            error(format!("limits.{field}"), "must be at least 1 (there is no \"unlimited\")".into());
        }
    }
    for (key, message) in limits.problems() {
        error(key.into(), message);
    }

    let mut seen_routes = HashMap::new();
    for (index, route) in manifest.routes.iter().enumerate() {
        let key = |field: &str| format!("route[{index}].{field}");
        if !route.path.starts_with('/') {
            error(key("path"), format!("`{}` must start with `/`", route.path));
        } else if let Some(problem) = path_problem(&route.path) {
            error(key("path"), problem);
        } else if super::reserved_path(&route.path) {
            error(key("path"), format!("`{}` is reserved for Switchboard (/_/..., /docs, /openapi.json)", route.path));
        } else if let Some(first) = seen_routes.insert((route.method, shape(&route.path)), index) {
            let same = if manifest.routes[first].path == route.path {
                String::new()
            } else {
                format!(" (as `{}`)", manifest.routes[first].path)
            };
            error(
                key("path"),
                format!("{} {} is declared twice: route[{first}] has it{same}", route.method, route.path),
            );
        }
        script_exists(key("script"), &route.script, &mut error);
        let path_params: Vec<&str> = route
            .path
            .split('/')
            .filter_map(|s| {
                s.strip_prefix([':', '*']).or_else(|| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            })
            .map(|name| name.trim_start_matches('*'))
            .map(|name| if name.is_empty() { "rest" } else { name })
            .collect();
        for name in route.params.keys().filter(|name| !path_params.contains(&name.as_str())) {
            error(key(&format!("params.{name}")), format!("`{}` has no path parameter `{name}`", route.path));
        }
        if route.raw_path && path_params.is_empty() {
            error(key("raw_path"), format!("`{}` has no path parameters for `raw_path` to apply to", route.path));
        }
        if let Some(schema) = &route.body_schema {
            if !dir.join(schema).is_file() {
                error(key("body_schema"), format!("no file `{schema}` in the hub"));
            } else if let Some(problem) =
                super::schema::problem(dir, schema, &format!("route[{index}] {} {}", route.method, route.path))
            {
                errors_elsewhere.push(problem);
            }
        }
        match route.concurrency {
            Some(0) => error(key("concurrency"), "must be at least 1".into()),
            Some(limit) if limit > tokio::sync::Semaphore::MAX_PERMITS => {
                error(key("concurrency"), format!("must be at most {}", tokio::sync::Semaphore::MAX_PERMITS));
            }
            _ => {}
        }
        run_limits(&key, route.timeout, route.max_operations, &mut error);
        for (name, param) in &route.query {
            for problem in query_problems(param) {
                error(key(&format!("query.{name}")), problem);
            }
        }
        if let Some(verify) = &route.verify {
            if verify.header.trim().is_empty() {
                error(key("verify.header"), "must name the header that carries the signature".into());
            }
            // An empty key signs with nothing a caller does not already know.
            if verify.secret.as_str().is_empty() {
                error(key("verify.secret"), "is empty; anyone could sign a request".into());
            }
            if verify.tolerance.is_some_and(|tolerance| tolerance.0.is_zero()) {
                error(key("verify.tolerance"), "must be longer than 0s".into());
            }
        }
    }

    let mut seen_crons = HashSet::new();
    for (index, cron) in manifest.crons.iter().enumerate() {
        let key = |field: &str| format!("cron[{index}].{field}");
        run_limits(&key, cron.timeout, cron.max_operations, &mut error);
        if cron.name.trim().is_empty() {
            error(key("name"), "must not be empty".into());
        } else if !seen_crons.insert(cron.name.as_str()) {
            error(key("name"), format!("cron job `{}` is declared twice", cron.name));
        }
        script_exists(key("script"), &cron.script, &mut error);
        if let Some(zone) = &cron.timezone
            && zone.parse::<chrono_tz::Tz>().is_err()
        {
            error(
                key("timezone"),
                format!("unknown timezone `{zone}`; expected an IANA name such as \"Europe/London\""),
            );
        } else {
            match super::Schedule::parse(&cron.schedule, cron.timezone.as_deref()) {
                Err(err) => error(key("schedule"), err.to_string()),
                Ok(schedule) if schedule.next_after(chrono::Utc::now()).is_none() => {
                    error(key("schedule"), format!("`{}` never fires (no such date from now on)", cron.schedule));
                }
                Ok(_) => {}
            }
        }
    }
    let mut watch_ledgers = std::collections::HashMap::new();
    for (index, watch) in manifest.watches.iter().enumerate() {
        script_exists(format!("watch[{index}].script"), &watch.script, &mut error);
        for (field, message) in watch_spec::problems(dir, watch) {
            error(format!("watch[{index}].{field}"), message);
        }
        let ledger = watch_spec::ledger_name(watch);
        if let Some(first) = watch_ledgers.insert(ledger.clone(), index) {
            let field = if watch.name.is_some() { "name" } else { "path" };
            error(
                format!("watch[{index}].{field}"),
                format!(
                    "watch[{first}] already uses the name `{ledger}`; give each watch of one folder its own `name`"
                ),
            );
        }
    }
    for (index, on) in manifest.subscriptions.iter().enumerate() {
        script_exists(format!("on[{index}].script"), &on.script, &mut error);
        run_limits(&|field: &str| format!("on[{index}].{field}"), on.timeout, None, &mut error);
        if on.event.trim().is_empty() || on.event.chars().any(char::is_whitespace) {
            error(format!("on[{index}].event"), format!("`{}` is not an event name (no spaces)", on.event));
        }
    }
    for (index, entry) in manifest.mqtt.iter().enumerate() {
        let key = |field: &str| format!("mqtt[{index}].{field}");
        script_exists(key("script"), &entry.script, &mut error);
        run_limits(&key, entry.timeout, entry.max_operations, &mut error);
        if let Some(problem) = super::topic::filter_problem(&entry.topic) {
            error(key("topic"), problem);
        }
        match manifest.connections.get(&entry.connection) {
            Some(Connection::Mqtt(_)) => {}
            Some(_) => error(
                key("connection"),
                format!("`{}` is not an MQTT connection (it needs type = \"mqtt\")", entry.connection),
            ),
            None => {
                let mqtt = manifest.connections.iter().filter(|(_, c)| matches!(c, Connection::Mqtt(_)));
                let names: Vec<&str> = mqtt.map(|(name, _)| name.as_str()).collect();
                let hint = match closest(&entry.connection, names.iter().copied()) {
                    Some(best) => format!("; did you mean `{best}`?"),
                    None if names.is_empty() => " (there is no type = \"mqtt\" connection)".to_string(),
                    None => format!(" (MQTT connections: {})", names.join(", ")),
                };
                error(key("connection"), format!("no connection `{}` in [connections]{hint}", entry.connection));
            }
        }
    }

    let rules = manifest
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("route[{i}]"), r.retry, r.on_error.as_deref()))
        .chain(manifest.crons.iter().enumerate().map(|(i, c)| (format!("cron[{i}]"), c.retry, c.on_error.as_deref())))
        .chain(
            manifest.watches.iter().enumerate().map(|(i, w)| (format!("watch[{i}]"), w.retry, w.on_error.as_deref())),
        )
        .chain(
            manifest
                .subscriptions
                .iter()
                .enumerate()
                .map(|(i, o)| (format!("on[{i}]"), o.retry, o.on_error.as_deref())),
        )
        .chain(manifest.mqtt.iter().enumerate().map(|(i, m)| (format!("mqtt[{i}]"), m.retry, m.on_error.as_deref())));
    for (prefix, retry, on_error) in rules {
        if let Some(Err(err)) = retry.map(|retry| retry.check()) {
            error(format!("{prefix}.retry.max_backoff"), err.to_string());
        }
        if let Some(handler) = on_error {
            script_exists(format!("{prefix}.on_error"), handler, &mut error);
        }
    }
    for (index, route) in manifest.routes.iter().enumerate() {
        if route.mode != super::Mode::Queue && (route.retry.is_some() || route.on_error.is_some()) {
            let field = if route.retry.is_some() { "retry" } else { "on_error" };
            error(format!("route[{index}].{field}"), "applies to mode = \"queue\" routes only".into());
        }
    }
    if manifest.queue.workers == 0 {
        error("queue.workers".into(), "must be at least 1".into());
    }
    if let Some(handler) = &manifest.queue.on_error {
        script_exists("queue.on_error".into(), handler, &mut error);
    }

    for (name, connection) in &manifest.connections {
        let key = |field: &str| format!("connections.{name}.{field}");
        match connection {
            Connection::Http(http) => {
                if let Err(err) = reqwest::Url::parse(http.base_url.as_str()) {
                    error(key("base_url"), format!("not a URL ({err})"));
                }
            }
            Connection::Sqlite(sqlite) => {
                if sqlite.path.as_str().is_empty() {
                    error(key("path"), "must name a database file".into());
                }
            }
            Connection::Smtp(smtp) => {
                let scheme = smtp.url.as_str().split("://").next().unwrap_or_default();
                if !matches!(scheme, "smtp" | "smtps") || !smtp.url.as_str().contains("://") {
                    error(key("url"), "expected a URL starting with smtp:// or smtps://".into());
                }
                if smtp.from.as_str().parse::<lettre::message::Mailbox>().is_err() {
                    error(key("from"), "not an email address".into());
                }
            }
            Connection::Mqtt(mqtt) => {
                if let Some(problem) = mqtt_url_problem(mqtt.url.as_str()) {
                    error(key("url"), problem);
                }
                if mqtt.client_id.as_ref().is_some_and(|id| id.is_empty() || id.len() > 65_535) {
                    error(key("client_id"), "must be 1 to 65535 bytes".into());
                }
                if let Some(keep_alive) = mqtt.keep_alive
                    && !(std::time::Duration::from_secs(1)..=std::time::Duration::from_secs(65_535))
                        .contains(&keep_alive.0)
                {
                    error(key("keep_alive"), "must be from 1s to 65535s (18h 12m 15s)".into());
                }
            }
            // Their URLs are read where the connection is built (`stdlib::sql`), by the driver's rules.
            Connection::Postgres(_) | Connection::Mysql(_) => {}
        }
    }

    if manifest.run_log.keep_last == 0 {
        error("run_log.keep_last".into(), "must be at least 1; every run ends in a record".into());
    }
    if manifest.run_log.keep_for.0.is_zero() {
        error("run_log.keep_for".into(), "must be longer than 0s; every run ends in a record".into());
    }
    if manifest.exec.timeout.0.is_zero() {
        error("exec.timeout".into(), "must be longer than 0s".into());
    }
    if manifest.exec.max_output.0 == 0 {
        error("exec.max_output".into(), "must be at least 1 byte".into());
    }
    for (index, entry) in manifest.exec.allow.iter().enumerate() {
        if let Some(problem) = allow_problem(entry.as_str()) {
            error(format!("exec.allow[{index}]"), problem);
        }
    }

    let mut seen_keys = HashSet::new();
    for (index, api_key) in manifest.keys.iter().enumerate() {
        if !seen_keys.insert(api_key.name.as_str()) {
            error(format!("key[{index}].name"), format!("key `{}` is declared twice", api_key.name));
        }
        if api_key.token.as_str().len() < 8 {
            error(format!("key[{index}].token"), "must be at least 8 characters".into());
        } else if let Some(first) = manifest.keys[..index].iter().position(|other| other.token == api_key.token) {
            // A caller holding it would be taken for the first key only, with that key's scopes.
            error(format!("key[{index}].token"), format!("is the token of key[{first}] too; give each key its own"));
        }
    }
    errors.extend(errors_elsewhere);
    errors
}

/// What is wrong with an MQTT connection's `url`; the message never repeats the URL, whose
/// userinfo is a secret.
fn mqtt_url_problem(url: &str) -> Option<String> {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Some("not a URL; expected mqtt://HOST:PORT or mqtts://HOST:PORT".into());
    };
    if !matches!(parsed.scheme(), "mqtt" | "mqtts") {
        return Some(format!("expected a URL starting with mqtt:// or mqtts://, not {}://", parsed.scheme()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Some("names no broker host; expected mqtt://HOST:PORT".into());
    }
    if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() || parsed.fragment().is_some() {
        return Some("takes no path, query or fragment; set `client_id` and `keep_alive` as keys".into());
    }
    None
}

/// The deepest `[limits] max_call_depth`. Rhai's own default for release builds: each level of
/// a script's recursion takes stack, and the threads that run scripts have 2 MiB of it.
pub const MAX_CALL_DEPTH: usize = 64;

/// A run's own `timeout` and `max_operations` (of a route, job or subscription).
fn run_limits(
    key: &dyn Fn(&str) -> String,
    timeout: Option<super::Duration>,
    max_operations: Option<u64>,
    error: &mut dyn FnMut(String, String),
) {
    if timeout.is_some_and(|timeout| timeout.0.is_zero()) {
        error(key("timeout"), "must be longer than 0s".into());
    }
    if max_operations == Some(0) {
        error(key("max_operations"), "must be greater than 0".into());
    }
}

/// What is wrong with `[server] listen`, which `serve` binds as written (a host name is looked
/// up then, not here).
pub fn listen_problem(listen: &str) -> Option<String> {
    let expected = "expected HOST:PORT such as \"127.0.0.1:8080\" or \"[::1]:8080\"";
    if listen.parse::<std::net::SocketAddr>().is_ok() {
        return None;
    }
    let Some((host, port)) = listen.rsplit_once(':') else {
        return Some(format!("`{listen}` is not an address; {expected}"));
    };
    if port.parse::<u16>().is_err() {
        return Some(format!("`{port}` in `{listen}` is not a port (0 to 65535); {expected}"));
    }
    let name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
    if host.is_empty() || !host.chars().all(name) {
        return Some(format!("`{host}` in `{listen}` is not a host name or IP address; {expected}"));
    }
    None
}

/// Characters a shell would read specially: a name holding one was meant for a shell, and
/// `exec` never starts one.
const SHELL: &[char] =
    &[';', '&', '|', '<', '>', '$', '`', '\'', '"', '(', ')', '*', '?', '[', ']', '{', '}', '!', '#', '~', '\\'];

/// What is wrong with one `[exec] allow` entry: an empty one, a command line, shell syntax, a
/// relative path out of the hub. (Whether the program exists is a warning: see [`warnings`].)
fn allow_problem(entry: &str) -> Option<String> {
    let trimmed = entry.trim();
    if trimmed.is_empty() {
        return Some("an empty program name".into());
    }
    if trimmed != entry {
        return Some(format!("`{entry}` has spaces around it; the program name is matched exactly"));
    }
    if entry.starts_with('~') {
        return Some(format!("`{entry}`: `~` is not expanded; write the absolute path"));
    }
    if !entry.contains('/') {
        if entry.contains(char::is_whitespace) {
            return Some(format!(
                "`{entry}` looks like a command line; list only the program and pass arguments to exec::run"
            ));
        }
        if let Some(c) = entry.chars().find(|c| SHELL.contains(c) || c.is_control()) {
            return Some(format!(
                "`{entry}` is not a program name (`{}`): exec runs programs directly, never through a shell",
                c.escape_default()
            ));
        }
        return None;
    }
    let path = std::path::Path::new(entry);
    if path.is_relative() && watch_spec::normalize(path).starts_with("..") {
        return Some(format!(
            "`{entry}` leaves the hub; a relative path must stay inside it (write an absolute path for a program elsewhere)"
        ));
    }
    None
}

/// What `check` and `serve` warn about but accept: things that may be true only on this machine
/// or only now, such as a program of `[exec] allow` that is not installed yet.
pub fn warnings(dir: &Path, file: &Path, manifest: &Manifest) -> Vec<ConfigError> {
    let mut warnings = Vec::new();
    for (index, route) in manifest.routes.iter().enumerate() {
        if route.auth == super::Auth::Public && !route.scopes.is_empty() {
            warnings.push(ConfigError::key(
                file,
                format!("route[{index}].scopes"),
                "are not checked: a public route needs no key (make it auth = \"private\" to require them)",
            ));
        }
    }
    for (index, entry) in manifest.exec.allow.iter().enumerate() {
        let entry = entry.as_str();
        if allow_problem(entry).is_some() {
            continue;
        }
        let problem = if entry.contains('/') {
            let path = dir.join(entry);
            match std::fs::metadata(&path) {
                Err(_) => Some(format!("`{entry}` does not exist (yet); calls to it fail until it does")),
                Ok(meta) if !meta.is_file() => Some(format!("`{entry}` is not a file; calls to it fail")),
                Ok(meta) if !executable(&meta) => {
                    Some(format!("`{entry}` is not executable; calls to it fail until it is (chmod +x)"))
                }
                Ok(_) => None,
            }
        } else {
            which::which(entry)
                .is_err()
                .then(|| format!("`{entry}` is not on PATH; calls to it fail until it is installed"))
        };
        if let Some(problem) = problem {
            warnings.push(ConfigError::key(file, format!("exec.allow[{index}]"), problem));
        }
    }
    let now = chrono::Utc::now();
    for (index, cron) in manifest.crons.iter().enumerate() {
        if let Ok(schedule) = super::Schedule::parse(&cron.schedule, cron.timezone.as_deref())
            && let Some(warning) = schedule.or_rule_warning(now)
        {
            warnings.push(ConfigError::key(file, format!("cron[{index}].schedule"), warning));
        }
    }
    warnings
}

#[cfg(unix)]
fn executable(meta: &std::fs::Metadata) -> bool {
    std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0
}

#[cfg(not(unix))]
fn executable(_: &std::fs::Metadata) -> bool {
    true
}

/// What is wrong with the parameters of a route path: `:name`, `{name}`, a last `*`, `*name`
/// or `{*name}`, each name letters, digits and `_`.
fn path_problem(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let named = |name: &str| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    for (index, segment) in segments.iter().enumerate() {
        let last = index + 1 == segments.len();
        let (name, wildcard) = if let Some(inner) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            match inner.strip_prefix('*') {
                Some(name) => (name, true),
                None => (inner, false),
            }
        } else if let Some(name) = segment.strip_prefix(':') {
            (name, false)
        } else if let Some(name) = segment.strip_prefix('*') {
            (if name.is_empty() { "rest" } else { name }, true)
        } else if segment.contains(['{', '}', '*']) || segment.starts_with(':') {
            return Some(format!(
                "`{path}`: `{segment}` is not a parameter; write `{{name}}`, `:name`, or a last `*name`"
            ));
        } else {
            continue;
        };
        if !named(name) {
            return Some(format!("`{path}`: `{segment}` needs a name of letters, digits and `_`"));
        }
        if wildcard && !last {
            return Some(format!("`{path}`: the wildcard `{segment}` must be the last segment"));
        }
    }
    None
}

/// A route path with its parameters' names left out: `/a/:id`, `/a/{id}` and `/a/{name}` all
/// match the same requests.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with(':') || (segment.starts_with('{') && !segment.starts_with("{*")) {
                "{}"
            } else if segment.starts_with('*') || segment.starts_with("{*") {
                "{*}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// What is wrong with a declared query parameter: a default or allowed value of another type,
/// or a default that is not one of the allowed values (every request without it would fail).
fn query_problems(param: &super::QueryParam) -> Vec<String> {
    use super::ParamType;
    let fits = |value: &toml::Value| match param.kind {
        ParamType::String => value.is_str(),
        ParamType::Integer => value.is_integer(),
        ParamType::Number => value.is_integer() || value.is_float(),
        ParamType::Boolean => value.is_bool(),
    };
    let kind = match param.kind {
        ParamType::String => "a string",
        ParamType::Integer => "an integer",
        ParamType::Number => "a number",
        ParamType::Boolean => "a boolean",
    };
    let mut problems = Vec::new();
    if let Some(default) = &param.default
        && !fits(default)
    {
        problems.push(format!("default {default} is not {kind}"));
    }
    if let Some(allowed) = &param.allowed {
        if let Some(value) = allowed.iter().find(|value| !fits(value)) {
            problems.push(format!("enum value {value} is not {kind}"));
        }
        if let Some(default) = &param.default
            && !allowed.contains(default)
        {
            problems.push(format!("default {default} is not one of the enum values"));
        }
    }
    problems
}
