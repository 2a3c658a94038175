//! The route table of one snapshot: paths matched with matchit, then methods, plus the
//! per-route state that requests share (rate limiter, concurrency permits, body schema).

use super::limits::RateLimit;
use crate::config::schema::{BodySchema, SchemaError, compile};
use crate::config::{self, Manifest, Route};
use axum::http::Method;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// One route, ready to serve.
pub struct RouteEntry {
    /// Index into `manifest.routes`.
    pub index: usize,
    pub method: Method,
    /// The path as written in OpenAPI form (`/tasks/{id}`).
    pub pattern: String,
    /// `METHOD pattern`, the route's name in metrics and queue items.
    pub label: Arc<str>,
    pub rate_limit: Option<RateLimit>,
    pub permits: Option<Arc<Semaphore>>,
    pub schema: Option<Arc<BodySchema>>,
    /// The name of the trailing `{*name}` parameter, whose `/`-separated segments are decoded
    /// one by one.
    pub wildcard: Option<String>,
}

/// All routes sharing one path pattern, by method.
pub struct PathEntry {
    pub methods: BTreeMap<String, Arc<RouteEntry>>,
}

/// Paths to routes.
pub struct RouteTable {
    router: matchit::Router<usize>,
    paths: Vec<PathEntry>,
}

/// What a request path and method resolve to.
pub enum Lookup<'a> {
    Found { route: Arc<RouteEntry>, params: Vec<(String, String)> },
    WrongMethod { allowed: Vec<&'a str> },
    NotFound,
}

impl RouteTable {
    /// Builds the table for a manifest whose routes were already validated; errors name the route.
    pub fn build(hub: &Path, manifest: &Manifest) -> Result<Self, TableError> {
        let mut router = matchit::Router::new();
        let mut by_pattern: BTreeMap<String, usize> = BTreeMap::new();
        let mut paths: Vec<PathEntry> = Vec::new();
        for (index, route) in manifest.routes.iter().enumerate() {
            let pattern = pattern(&route.path);
            let slot = match by_pattern.get(&pattern) {
                Some(slot) => *slot,
                None => {
                    router.insert(pattern.clone(), paths.len()).map_err(|source| TableError::Conflict {
                        index,
                        path: route.path.clone(),
                        source,
                    })?;
                    by_pattern.insert(pattern.clone(), paths.len());
                    paths.push(PathEntry { methods: BTreeMap::new() });
                    paths.len() - 1
                }
            };
            let entry = entry(hub, index, route, pattern)?;
            paths[slot].methods.insert(entry.method.to_string(), Arc::new(entry));
        }
        Ok(Self { router, paths })
    }

    /// Finds the route for `method` and `path`. HEAD falls back to GET.
    pub fn lookup(&self, method: &Method, path: &str) -> Lookup<'_> {
        let Ok(matched) = self.router.at(path) else {
            return Lookup::NotFound;
        };
        let entry = &self.paths[*matched.value];
        let params = matched.params.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect();
        let found = entry
            .methods
            .get(method.as_str())
            .or_else(|| (method == Method::HEAD).then(|| entry.methods.get(Method::GET.as_str())).flatten());
        match found {
            Some(route) => Lookup::Found { route: Arc::clone(route), params },
            None => Lookup::WrongMethod { allowed: entry.methods.keys().map(String::as_str).collect() },
        }
    }
}

/// Why a route table cannot be built; each names its route as a manifest key.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// Two paths matchit cannot tell apart (one parameter with two names, `/t/{id}` and `/t/{task}`).
    #[error("route[{index}].path: `{path}` conflicts: {source}")]
    Conflict { index: usize, path: String, source: matchit::InsertError },
    #[error("route[{index}].body_schema: {file}: {source}")]
    Schema { index: usize, file: String, source: SchemaError },
}

fn entry(hub: &Path, index: usize, route: &Route, pattern: String) -> Result<RouteEntry, TableError> {
    let method = match route.method {
        config::Method::Get => Method::GET,
        config::Method::Post => Method::POST,
        config::Method::Put => Method::PUT,
        config::Method::Patch => Method::PATCH,
        config::Method::Delete => Method::DELETE,
        config::Method::Head => Method::HEAD,
        config::Method::Options => Method::OPTIONS,
    };
    let rate_limit = route.rate_limit.map(RateLimit::new);
    let permits = route.concurrency.map(|limit| Arc::new(Semaphore::new(limit.max(1))));
    let schema = route
        .body_schema
        .as_deref()
        .map(|file| load_schema(hub, file).map_err(|source| TableError::Schema { index, file: file.into(), source }))
        .transpose()?;
    let label = format!("{method} {pattern}").into();
    let wildcard = pattern
        .rsplit('/')
        .next()
        .and_then(|last| last.strip_prefix("{*"))
        .and_then(|last| last.strip_suffix('}'))
        .map(String::from);
    Ok(RouteEntry { index, method, pattern, label, rate_limit, permits, schema, wildcard })
}

/// Reads and compiles a JSON Schema file of the hub.
pub fn load_schema(hub: &Path, file: &str) -> Result<Arc<BodySchema>, SchemaError> {
    compile(&hub.join(file)).map(Arc::new)
}

/// The manifest's path syntax in matchit/OpenAPI form: `:id` becomes `{id}`, a trailing `*` or
/// `*name` becomes `{*rest}` / `{*name}`.
pub fn pattern(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if let Some(name) = segment.strip_prefix(':') {
                format!("{{{name}}}")
            } else if segment == "*" {
                "{*rest}".to_string()
            } else if let Some(name) = segment.strip_prefix('*') {
                format!("{{*{name}}}")
            } else {
                segment.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colon_and_star_syntax_become_braces() {
        assert_eq!(pattern("/tasks/:id"), "/tasks/{id}");
        assert_eq!(pattern("/files/*"), "/files/{*rest}");
        assert_eq!(pattern("/files/*path"), "/files/{*path}");
        assert_eq!(pattern("/hooks/{repo}"), "/hooks/{repo}");
    }
}
