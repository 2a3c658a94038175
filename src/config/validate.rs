//! Checks that need more than the manifest's shape: script references, URLs, names, formats.

use super::{ConfigError, Connection, Manifest, closest};
use std::collections::HashSet;
use std::path::Path;

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
const SCHEMES: &[&str] = &["hmac-sha256", "hmac-sha1", "stripe"];

/// Every semantic error in `manifest`, in manifest order.
pub fn manifest(dir: &Path, file: &Path, manifest: &Manifest) -> Vec<ConfigError> {
    let scripts = crate::hub::script_names(dir);
    let mut errors = Vec::new();
    let mut error = |key: String, message: String| errors.push(ConfigError::key(file, key, message));
    let script_exists = |key: String, name: &str, error: &mut dyn FnMut(String, String)| {
        if !scripts.iter().any(|known| known == name) {
            let hint = closest(name, scripts.iter().map(String::as_str))
                .map(|best| format!("; did you mean `{best}`?"))
                .unwrap_or_default();
            error(key, format!("no script `{name}` (looked for scripts/{name}.rhai){hint}"));
        }
    };

    if manifest.limits.max_operations == 0 {
        error("limits.max_operations".into(), "must be greater than 0".into());
    }
    if manifest.limits.timeout.0.is_zero() {
        error("limits.timeout".into(), "must be longer than 0s".into());
    }

    let mut seen_routes = HashSet::new();
    for (index, route) in manifest.routes.iter().enumerate() {
        let key = |field: &str| format!("route[{index}].{field}");
        let method = route.method.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            error(key("method"), format!("unknown method `{}`; expected one of {}", route.method, METHODS.join(", ")));
        }
        if !route.path.starts_with('/') {
            error(key("path"), format!("`{}` must start with `/`", route.path));
        } else if route.path.starts_with("/_/") || route.path == "/docs" || route.path == "/openapi.json" {
            error(key("path"), format!("`{}` is reserved for Switchboard (/_/..., /docs, /openapi.json)", route.path));
        } else if !seen_routes.insert((method, route.path.clone())) {
            error(key("path"), format!("{} {} is declared twice", route.method, route.path));
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
        if let Some(schema) = &route.body_schema
            && !dir.join(schema).is_file()
        {
            error(key("body_schema"), format!("no file `{schema}` in the hub"));
        }
        if let Some(limit) = &route.rate_limit
            && !valid_rate(limit)
        {
            error(
                key("rate_limit"),
                format!("`{limit}` is not a rate; expected \"N/second\", \"N/minute\" or \"N/hour\""),
            );
        }
        if let Some(verify) = &route.verify
            && !SCHEMES.contains(&verify.scheme.as_str())
        {
            error(
                key("verify.scheme"),
                format!("unknown scheme `{}`; expected one of {}", verify.scheme, SCHEMES.join(", ")),
            );
        }
    }

    let mut seen_crons = HashSet::new();
    for (index, cron) in manifest.crons.iter().enumerate() {
        let key = |field: &str| format!("cron[{index}].{field}");
        if !seen_crons.insert(cron.name.as_str()) {
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
        } else if let Err(err) = crate::triggers::cron::Schedule::parse(&cron.schedule, cron.timezone.as_deref()) {
            error(key("schedule"), err);
        }
        if let Some(overlap) = &cron.overlap
            && !matches!(overlap.as_str(), "skip" | "queue" | "allow")
        {
            error(key("overlap"), format!("`{overlap}` is not one of skip, queue, allow"));
        }
        if let Some(catch_up) = &cron.catch_up
            && !matches!(catch_up.as_str(), "none" | "once")
        {
            error(key("catch_up"), format!("`{catch_up}` is not one of none, once"));
        }
    }
    let mut watch_ledgers = std::collections::HashMap::new();
    for (index, watch) in manifest.watches.iter().enumerate() {
        script_exists(format!("watch[{index}].script"), &watch.script, &mut error);
        for (field, message) in crate::triggers::watch::spec::problems(dir, watch) {
            error(format!("watch[{index}].{field}"), message);
        }
        let ledger = crate::triggers::watch::spec::ledger_name(watch);
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
        if on.event.trim().is_empty() || on.event.chars().any(char::is_whitespace) {
            error(format!("on[{index}].event"), format!("`{}` is not an event name (no spaces)", on.event));
        }
    }

    let rules = manifest
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("route[{i}]"), r.retry.as_ref(), r.on_error.as_deref()))
        .chain(
            manifest
                .crons
                .iter()
                .enumerate()
                .map(|(i, c)| (format!("cron[{i}]"), c.retry.as_ref(), c.on_error.as_deref())),
        )
        .chain(
            manifest
                .watches
                .iter()
                .enumerate()
                .map(|(i, w)| (format!("watch[{i}]"), w.retry.as_ref(), w.on_error.as_deref())),
        )
        .chain(
            manifest
                .subscriptions
                .iter()
                .enumerate()
                .map(|(i, o)| (format!("on[{i}]"), o.retry.as_ref(), o.on_error.as_deref())),
        );
    for (prefix, retry, on_error) in rules {
        if retry.is_some_and(|retry| retry.attempts == 0) {
            error(format!("{prefix}.retry.attempts"), "must be at least 1 (the first attempt counts)".into());
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
                if let Some(mode) = &smtp.starttls
                    && !matches!(mode.as_str(), "required" | "opportunistic" | "never")
                {
                    error(key("starttls"), format!("`{mode}` is not one of required, opportunistic, never"));
                }
                if smtp.from.as_str().parse::<lettre::message::Mailbox>().is_err() {
                    error(key("from"), "not an email address".into());
                }
            }
        }
    }

    let mut seen_keys = HashSet::new();
    for (index, api_key) in manifest.keys.iter().enumerate() {
        if !seen_keys.insert(api_key.name.as_str()) {
            error(format!("key[{index}].name"), format!("key `{}` is declared twice", api_key.name));
        }
        if api_key.token.as_str().len() < 8 {
            error(format!("key[{index}].token"), "must be at least 8 characters".into());
        }
    }
    errors
}

fn valid_rate(text: &str) -> bool {
    let Some((count, unit)) = text.split_once('/') else {
        return false;
    };
    count.trim().parse::<u32>().is_ok_and(|n| n > 0) && matches!(unit.trim(), "second" | "minute" | "hour")
}
