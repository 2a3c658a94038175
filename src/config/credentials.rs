//! Which values of a manifest are secrets: what its credential fields hold, the userinfo of its
//! URLs, HTTP Basic credentials as they are sent, and the variables `[secrets] vars` names.
//! Everything else `${VAR}` expanded is plain configuration and is never masked.

use super::connection::Connection;
use super::error::{ConfigError, closest, line_column};
use super::interpolate::Expanded;
use super::manifest::Manifest;
use base64::prelude::{BASE64_STANDARD, Engine as _};
use std::path::Path;

/// The secret values of `manifest`, read from `text` of `file` with `expanded` as what its
/// `${VAR}`s became; a name in `[secrets] vars` that the manifest never expands is an error.
pub fn secrets(file: &Path, text: &str, manifest: &Manifest, expanded: Expanded) -> Result<Vec<String>, ConfigError> {
    let Expanded { variables, mut credentials } = expanded;
    for (index, name) in manifest.secrets.vars.iter().enumerate() {
        let values: Vec<&String> = variables.iter().filter(|(used, _)| used == name).map(|(_, value)| value).collect();
        if values.is_empty() {
            let used: Vec<&str> = variables.iter().map(|(used, _)| used.as_str()).collect();
            let hint =
                closest(name, used.iter().copied()).map(|best| format!("; did you mean `{best}`?")).unwrap_or_default();
            return Err(ConfigError {
                file: file.to_path_buf(),
                position: text.find(&format!("\"{name}\"")).map(|at| line_column(text, at + 1)),
                key: Some(format!("secrets.vars[{index}]")),
                message: format!(
                    "`{name}`: there is no `${{{name}}}` in the manifest, so it names no value to keep secret{hint}"
                ),
            });
        }
        credentials.extend(values.into_iter().cloned());
    }
    for connection in manifest.connections.values() {
        match connection {
            Connection::Http(http) => {
                if let Some((user, password)) = userinfo(http.base_url.as_str(), &mut credentials) {
                    credentials.push(basic(&user, password.as_deref().unwrap_or_default()));
                }
                if let Some(user) = &http.user {
                    let password = http.password.as_ref().map_or("", |password| password.as_str());
                    // A user name without a password is the credential itself (an API key).
                    if password.is_empty() {
                        credentials.push(user.as_str().to_string());
                    }
                    credentials.push(basic(user.as_str(), password));
                }
            }
            Connection::Smtp(smtp) => {
                userinfo(smtp.url.as_str(), &mut credentials);
            }
            Connection::Mqtt(mqtt) => {
                userinfo(mqtt.url.as_str(), &mut credentials);
            }
            Connection::Postgres(server) | Connection::Mysql(server) => {
                database_password(server.url.as_str(), &mut credentials);
            }
            Connection::Sqlite(_) => {}
        }
    }
    credentials.retain(|value| !value.is_empty());
    Ok(credentials)
}

/// The user name and password of `url`, percent-decoded; the password (or, without one, the
/// user name, which is then a token) is added to `secrets`.
fn userinfo(url: &str, secrets: &mut Vec<String>) -> Option<(String, Option<String>)> {
    let url = reqwest::Url::parse(url).ok()?;
    let decode = |text: &str| percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned();
    let user = decode(url.username());
    let password = url.password().map(decode);
    match &password {
        Some(password) if !password.is_empty() => secrets.push(password.clone()),
        _ if !user.is_empty() => secrets.push(user.clone()),
        _ => return None,
    }
    Some((user, password))
}

/// The password of a database URL, from its userinfo or a `password=` query parameter (drivers
/// take it there too), percent-decoded. Unlike an HTTP URL's, a user name alone is not a token:
/// it is the database role (`postgres`), which scripts see in their own data.
fn database_password(url: &str, secrets: &mut Vec<String>) {
    let Ok(url) = reqwest::Url::parse(url) else { return };
    if let Some(password) = url.password() {
        secrets.push(percent_encoding::percent_decode_str(password).decode_utf8_lossy().into_owned());
    }
    secrets.extend(url.query_pairs().filter(|(key, _)| key == "password").map(|(_, value)| value.into_owned()));
}

/// The `Authorization: Basic` value of `user` and `password` without its scheme, as it is sent.
fn basic(user: &str, password: &str) -> String {
    BASE64_STANDARD.encode(format!("{user}:{password}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_userinfo_is_secret_decoded() {
        let mut secrets = Vec::new();
        assert_eq!(
            userinfo("https://bot:p%40ss@h/x", &mut secrets),
            Some(("bot".to_string(), Some("p@ss".to_string())))
        );
        assert_eq!(userinfo("https://tok3n@h/x", &mut secrets), Some(("tok3n".to_string(), None)));
        assert_eq!(userinfo("https://h/x", &mut secrets), None);
        assert_eq!(secrets, ["p@ss", "tok3n"]);
        let mut secrets = Vec::new();
        database_password("postgres://app:p%40ss@h/db", &mut secrets);
        database_password("postgres://postgres@h/db", &mut secrets);
        database_password("postgres://h/db?user=app&password=s%20cret", &mut secrets);
        assert_eq!(secrets, ["p@ss", "s cret"], "a database user name alone is not a secret");
    }
}
