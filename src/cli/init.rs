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

pub fn init(dir: &Path) -> Result<(), Error> {
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
        std::fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))?;
    }
    for folder in ["lib", "schemas"] {
        std::fs::create_dir_all(dir.join(folder)).with_context(|| format!("cannot create {folder}/"))?;
    }
    let token = format!("{:032x}", fastrand::u128(..));
    std::fs::write(dir.join(".env"), format!("HUB_TOKEN={token}\n")).context("cannot write .env")?;
    print_stdout(&format!(
        "created a hub in {dir}\n\nnext:\n  switchboard serve --dir {dir}\n  curl 'http://127.0.0.1:8080/hello?name=Ada'\n  curl -H \"Authorization: Bearer $(grep HUB_TOKEN {dir}/.env | cut -d= -f2)\" http://127.0.0.1:8080/whoami",
        dir = dir.display()
    ))
}
