//! `switchboard init DIR`: a new hub from a small template that passes `check` at once.

use super::print_stdout;
use crate::error::Error;
use anyhow::Context;
use std::path::{Path, PathBuf};

const FILES: &[(&str, &str)] = &[
    ("switchboard.toml", include_str!("template/switchboard.toml")),
    ("scripts/hello.rhai", include_str!("template/hello.rhai")),
    ("scripts/whoami.rhai", include_str!("template/whoami.rhai")),
    (".env.example", include_str!("template/env.example")),
    (".gitignore", include_str!("template/gitignore")),
];

pub fn init(dir: &Path, listen: &str) -> Result<(), Error> {
    if let Some(problem) = crate::config::listen_problem(listen) {
        return Err(Error::Usage(format!("--listen: {problem}")));
    }
    if dir.join(crate::config::MANIFEST).exists() {
        return Err(Error::Usage(format!("{} already holds a hub (switchboard.toml exists)", dir.display())));
    }
    for (relative, _) in FILES {
        let path: PathBuf = dir.join(relative);
        if path.exists() {
            return Err(Error::Usage(format!("{} exists; not overwriting it", path.display())));
        }
    }
    for (relative, contents) in FILES {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let contents = if *relative == crate::config::MANIFEST {
            contents.replacen(TEMPLATE_LISTEN, &format!("listen = \"{listen}\""), 1)
        } else {
            (*contents).to_owned()
        };
        std::fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))?;
    }
    for folder in ["lib", "schemas"] {
        std::fs::create_dir_all(dir.join(folder)).with_context(|| format!("cannot create {folder}/"))?;
    }
    let token = format!("{:032x}", fastrand::u128(..));
    std::fs::write(dir.join(".env"), format!("HUB_TOKEN={token}\n")).context("cannot write .env")?;
    let base = format!("http://{}", reachable(listen));
    print_stdout(&format!(
        "created a hub in {dir}\n\nnext:\n  switchboard serve --dir {dir}\n  curl '{base}/hello?name=Ada'\n  curl -H \"Authorization: Bearer $(grep HUB_TOKEN {dir}/.env | cut -d= -f2)\" {base}/whoami",
        dir = dir.display()
    ))
}

/// The template's `[server] listen` line, which `--listen` replaces.
const TEMPLATE_LISTEN: &str = "listen = \"127.0.0.1:8080\"";

/// The address a local `curl` reaches a hub listening on `listen` at: a wildcard host is not one
/// to connect to, so it becomes the loopback address of the same family.
fn reachable(listen: &str) -> String {
    match listen.rsplit_once(':') {
        Some(("0.0.0.0", port)) => format!("127.0.0.1:{port}"),
        Some(("[::]", port)) => format!("[::1]:{port}"),
        _ => listen.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_listen_line_is_the_one_init_replaces() {
        assert!(FILES[0].1.contains(TEMPLATE_LISTEN), "template/switchboard.toml no longer has {TEMPLATE_LISTEN}");
    }

    #[test]
    fn wildcard_hosts_become_loopback_for_curl() {
        assert_eq!(reachable("0.0.0.0:9000"), "127.0.0.1:9000");
        assert_eq!(reachable("[::]:9000"), "[::1]:9000");
        assert_eq!(reachable("192.168.1.5:8080"), "192.168.1.5:8080");
    }
}
