//! `GET /docs`: the hub's API as a page for people, rendered on the server and fully offline.

use crate::config::{Auth, Manifest};
use serde_json::Value;
use std::fmt::Write;

/// Placeholder for the address the page was requested from, filled in per request.
pub const BASE: &str = "{{BASE}}";

/// Text for HTML content or a double-quoted attribute.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Whether a `Host` header is a host name or IP address with an optional port, and nothing else.
pub fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|byte| byte.is_ascii_alphanumeric() || b".-_:[]".contains(&byte))
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d232b}\
h1{font-size:1.6rem}section{border:1px solid #d5dbe3;border-radius:8px;padding:1rem 1.2rem;margin:1.2rem 0}\
.method{font:bold 13px monospace;padding:2px 8px;border-radius:4px;color:#fff;margin-right:.5rem}\
.GET{background:#2f7d32}.POST{background:#1f5fa8}.PUT,.PATCH{background:#a86b1f}.DELETE{background:#a8321f}\
.HEAD,.OPTIONS{background:#555}code,pre{font-family:ui-monospace,monospace;font-size:13px}\
pre{background:#f4f6f8;padding:.7rem;border-radius:6px;overflow-x:auto}table{border-collapse:collapse;width:100%}\
td,th{border-bottom:1px solid #e6e9ee;padding:4px 6px;text-align:left;vertical-align:top}\
.auth{font-size:13px;color:#555}.public{color:#2f7d32}";

/// The page for `manifest`, with `openapi` supplying each route's request body schema.
pub fn page(manifest: &Manifest, openapi: &Value) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>API docs</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style></head><body>\
         <h1>API of this hub</h1><p>{}. Private routes need a key: <code>Authorization: Bearer TOKEN</code> or \
         <code>X-Api-Key: TOKEN</code>. Machine-readable: <a href=\"/openapi.json\">/openapi.json</a>.</p>",
        crate::count::count(manifest.routes.len(), "route", "routes")
    );
    for route in &manifest.routes {
        let method = route.method.as_str();
        let path = super::table::pattern(&route.path);
        let _ = write!(
            html,
            "<section id=\"{}\"><h2><span class=\"method {method}\">{method}</span><code>{}</code></h2>",
            escape(&format!("{method}-{path}")),
            escape(&path),
            method = escape(method)
        );
        if let Some(summary) = &route.summary {
            let _ = write!(html, "<p><strong>{}</strong></p>", escape(summary));
        }
        if let Some(description) = &route.description {
            let _ = write!(html, "<p>{}</p>", escape(description));
        }
        let auth = match route.auth {
            Auth::Public => "<span class=\"public\">public: no key needed</span>".to_string(),
            Auth::Private if route.scopes.is_empty() => "private: any key".to_string(),
            Auth::Private => format!("private: a key with scopes <code>{}</code>", escape(&route.scopes.join(", "))),
        };
        let _ = write!(
            html,
            "<p class=\"auth\">{auth} &middot; script <code>scripts/{}.rhai</code>",
            escape(&route.script)
        );
        if let Some(rate) = &route.rate_limit {
            let _ = write!(html, " &middot; rate limit {}", escape(&rate.to_string()));
        }
        if route.verify.is_some() {
            html.push_str(" &middot; signed webhook");
        }
        html.push_str("</p>");
        if !route.query.is_empty() || !route.params.is_empty() {
            html.push_str(
                "<table><tr><th>parameter</th><th>in</th><th>type</th><th>required</th><th>description</th></tr>",
            );
            let params = route.params.iter().map(|(name, param)| (name, "path", true, param));
            let query = route.query.iter().map(|(name, param)| (name, "query", param.required, param));
            for (name, place, required, param) in params.chain(query) {
                let _ = write!(
                    html,
                    "<tr><td><code>{}</code></td><td>{place}</td><td>{:?}</td><td>{}</td><td>{}</td></tr>",
                    escape(name),
                    param.kind,
                    if required { "yes" } else { "no" },
                    escape(param.description.as_deref().unwrap_or(""))
                );
            }
            html.push_str("</table>");
        }
        let schema = &openapi["paths"][&path][method.to_ascii_lowercase()]["requestBody"]["content"]["application/json"]
            ["schema"];
        if route.body_schema.is_some() && !schema.is_null() {
            let pretty = serde_json::to_string_pretty(schema).unwrap_or_default();
            let _ = write!(html, "<p>Body (JSON Schema):</p><pre>{}</pre>", escape(&pretty));
        }
        let _ = write!(html, "<p>Try it:</p><pre>{}</pre></section>", escape(&curl(method, &path, route)));
    }
    html.push_str("</body></html>");
    html
}

fn curl(method: &str, path: &str, route: &crate::config::Route) -> String {
    let mut url = format!("{BASE}{path}");
    let required: Vec<String> =
        route.query.iter().filter(|(_, p)| p.required).map(|(name, _)| format!("{name}=VALUE")).collect();
    if !required.is_empty() {
        url.push('?');
        url.push_str(&required.join("&"));
    }
    let mut command = if method == "GET" { format!("curl '{url}'") } else { format!("curl -X {method} '{url}'") };
    if route.auth == Auth::Private {
        command.push_str(" \\\n  -H 'Authorization: Bearer YOUR_TOKEN'");
    }
    if matches!(method, "POST" | "PUT" | "PATCH") {
        command.push_str(" \\\n  -H 'Content-Type: application/json' -d '{}'");
    }
    command
}
