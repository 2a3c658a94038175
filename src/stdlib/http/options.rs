//! The options map of an `http` call: `query`, `headers`, `json`, `form`, `body`, `timeout`, `retry`.

use super::retry::CallRetry;
use crate::engine::convert;
use crate::stdlib::{Result, error};
use reqwest::header::{HeaderName, HeaderValue};
use rhai::{Blob, Dynamic, Map};
use std::time::Duration;

/// The keys an options map may have.
const OPTIONS: [&str; 7] = ["query", "headers", "json", "form", "body", "timeout", "retry"];
/// The keys a `retry` map may have.
const RETRY_KEYS: [&str; 3] = ["attempts", "backoff", "max_backoff"];

/// What an options map asked for.
#[derive(Default)]
pub(super) struct Options {
    pub(super) query: Vec<(String, String)>,
    pub(super) headers: Vec<(HeaderName, HeaderValue)>,
    /// The bytes to send and the content type used unless a header sets one.
    pub(super) body: Option<(Vec<u8>, &'static str)>,
    pub(super) timeout: Option<Duration>,
    pub(super) retry: CallRetry,
}

impl Options {
    pub(super) fn read(function: &str, opts: Dynamic) -> Result<Self> {
        let mut options = Self::default();
        if opts.is_unit() {
            return Ok(options);
        }
        let kind = opts.type_name();
        let Some(map) = opts.try_cast::<Map>() else {
            return Err(error(
                function,
                format!("options must be a map such as #{{ query: #{{ q: \"rust\" }} }}, not {kind}"),
            ));
        };
        for (key, value) in map {
            match key.as_str() {
                "query" => options.query = pairs(function, "query", value)?,
                "headers" => {
                    for (name, text) in pairs(function, "headers", value)? {
                        let name = HeaderName::from_bytes(name.as_bytes())
                            .map_err(|_| error(function, format!("`{name}` is not a valid header name")))?;
                        let value = HeaderValue::from_str(&text).map_err(|_| {
                            error(
                                function,
                                format!("header `{name}` has an invalid value (visible ASCII and spaces only)"),
                            )
                        })?;
                        options.headers.push((name, value));
                    }
                }
                "json" => {
                    let json = convert::to_json(&value).map_err(|err| error(function, format!("`json`: {err}")))?;
                    let bytes = serde_json::to_vec(&json).map_err(|err| error(function, format!("`json`: {err}")))?;
                    options.set_body(function, bytes, "application/json")?;
                }
                "form" => {
                    let fields = pairs(function, "form", value)?;
                    let text = serde_urlencoded::to_string(&fields)
                        .map_err(|err| error(function, format!("`form`: {err}")))?;
                    options.set_body(function, text.into_bytes(), "application/x-www-form-urlencoded")?;
                }
                "body" => {
                    if value.is_blob() {
                        options.set_body(function, value.cast::<Blob>(), "application/octet-stream")?;
                    } else if value.is_string() {
                        let text = value.into_string().unwrap_or_default();
                        options.set_body(function, text.into_bytes(), "text/plain; charset=utf-8")?;
                    } else {
                        let kind = value.type_name();
                        return Err(error(function, format!("`body` must be a string or a blob, not {kind}")));
                    }
                }
                "timeout" => options.timeout = Some(duration(function, "timeout", &value)?),
                "retry" => options.retry = retry(function, value)?,
                other => return Err(unknown(function, "option", other, &OPTIONS)),
            }
        }
        Ok(options)
    }

    fn set_body(&mut self, function: &str, bytes: Vec<u8>, content_type: &'static str) -> Result<()> {
        if self.body.is_some() {
            return Err(error(function, "give only one of `json`, `form` and `body`"));
        }
        self.body = Some((bytes, content_type));
        Ok(())
    }
}

fn unknown(function: &str, what: &str, key: &str, expected: &[&str]) -> Box<rhai::EvalAltResult> {
    let hint = crate::config::closest(key, expected.iter().copied())
        .map(|best| format!(" (did you mean `{best}`?)"))
        .unwrap_or_default();
    error(function, format!("unknown {what} `{key}`{hint}; expected one of {}", expected.join(", ")))
}

/// `retry: true`, `retry: false` or `retry: #{ attempts, backoff, max_backoff }`.
fn retry(function: &str, value: Dynamic) -> Result<CallRetry> {
    if let Ok(on) = value.as_bool() {
        return Ok(if on { CallRetry::On } else { CallRetry::Off });
    }
    let kind = value.type_name();
    let Some(map) = value.try_cast::<Map>() else {
        return Err(error(
            function,
            format!("`retry` must be true, false or a map such as #{{ attempts: 3, backoff: \"200ms\" }}, not {kind}"),
        ));
    };
    let (mut attempts, mut backoff, mut max_backoff) = (None, None, None);
    for (key, value) in map {
        match key.as_str() {
            "attempts" => {
                let count = value.as_int().ok().and_then(|n| u32::try_from(n).ok()).filter(|n| (1..=100).contains(n));
                let Some(count) = count else {
                    return Err(error(
                        function,
                        format!(
                            "`retry.attempts` must be a number from 1 to 100 (the first attempt counts), not {value}"
                        ),
                    ));
                };
                attempts = Some(count);
            }
            "backoff" => backoff = Some(duration(function, "retry.backoff", &value)?),
            "max_backoff" => max_backoff = Some(duration(function, "retry.max_backoff", &value)?),
            other => return Err(unknown(function, "`retry` key", other, &RETRY_KEYS)),
        }
    }
    Ok(CallRetry::With { attempts, backoff, max_backoff })
}

/// The name/value pairs of a map option; `()` values are left out and arrays repeat the name.
fn pairs(function: &str, option: &str, value: Dynamic) -> Result<Vec<(String, String)>> {
    let kind = value.type_name();
    let Some(map) = value.try_cast::<Map>() else {
        return Err(error(function, format!("`{option}` must be a map, not {kind}")));
    };
    let mut out = Vec::with_capacity(map.len());
    for (name, value) in map {
        if value.is_array() {
            out.extend(value.cast::<rhai::Array>().iter().map(|item| (name.to_string(), convert::to_text(item))));
        } else if !value.is_unit() {
            out.push((name.to_string(), convert::to_text(&value)));
        }
    }
    Ok(out)
}

/// A duration given as milliseconds or as text such as `"10s"`.
fn duration(function: &str, option: &str, value: &Dynamic) -> Result<Duration> {
    if let Ok(millis) = value.as_int() {
        return u64::try_from(millis)
            .map(Duration::from_millis)
            .map_err(|_| error(function, format!("`{option}` cannot be negative ({millis})")));
    }
    if value.is_string() {
        let text = value.clone().into_string().unwrap_or_default();
        return humantime::parse_duration(text.trim())
            .map_err(|err| error(function, format!("`{option}`: invalid duration `{text}` ({err}); e.g. \"10s\"")));
    }
    Err(error(function, format!("`{option}` must be milliseconds or text such as \"10s\", not {}", value.type_name())))
}
