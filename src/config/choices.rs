//! The manifest's closed sets of words: route methods, signature schemes, a cron job's
//! `overlap` and `catch_up`, a watch's `events` and `on_start`, an SMTP connection's `starttls`,
//! a SQL server connection's `tls`, and the paths Switchboard keeps.

use super::parsed::{Choice, read_from_text, word};

/// The HTTP method of a route (written in any case: `get` is `GET`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
}

impl Choice for Method {
    const WHAT: &'static str = "method";
    const WORDS: &'static [(&'static str, Self)] = &[
        ("GET", Self::Get),
        ("POST", Self::Post),
        ("PUT", Self::Put),
        ("PATCH", Self::Patch),
        ("DELETE", Self::Delete),
        ("HEAD", Self::Head),
        ("OPTIONS", Self::Options),
    ];
    const ANY_CASE: bool = true;
}

/// How a signed webhook's signature is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// GitHub style: hex HMAC-SHA256 of the raw body, after an optional prefix.
    HmacSha256,
    /// The same with SHA-1.
    HmacSha1,
    /// `t=TIMESTAMP,v1=HEX`: HMAC-SHA256 of `TIMESTAMP.BODY`, within a tolerance window.
    Stripe,
}

impl Choice for Scheme {
    const WHAT: &'static str = "scheme";
    const WORDS: &'static [(&'static str, Self)] =
        &[("hmac-sha256", Self::HmacSha256), ("hmac-sha1", Self::HmacSha1), ("stripe", Self::Stripe)];
}

/// What a cron job does when it is due while its previous run is still going.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Overlap {
    /// Skip the occurrence (logged).
    #[default]
    Skip,
    /// Run it after the current one.
    Queue,
    /// Run it at once, beside the current one.
    Allow,
}

impl Choice for Overlap {
    const WHAT: &'static str = "overlap";
    const WORDS: &'static [(&'static str, Self)] =
        &[("skip", Self::Skip), ("queue", Self::Queue), ("allow", Self::Allow)];
}

/// What a cron job does at start about occurrences missed while the hub was down.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CatchUp {
    #[default]
    None,
    /// One run for the latest missed occurrence.
    Once,
}

impl Choice for CatchUp {
    const WHAT: &'static str = "catch_up";
    const WORDS: &'static [(&'static str, Self)] = &[("none", Self::None), ("once", Self::Once)];
}

/// What happened to a file in a watched folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Created,
    Modified,
    Removed,
}

impl Choice for Change {
    const WHAT: &'static str = "event";
    const WORDS: &'static [(&'static str, Self)] =
        &[("created", Self::Created), ("modified", Self::Modified), ("removed", Self::Removed)];
}

/// What a watch does with files that arrived while the hub was stopped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnStart {
    #[default]
    Process,
    /// Record them as seen without running them.
    Ignore,
}

impl Choice for OnStart {
    const WHAT: &'static str = "on_start";
    const WORDS: &'static [(&'static str, Self)] = &[("process", Self::Process), ("ignore", Self::Ignore)];
}

/// Whether a `smtp://` connection is upgraded with STARTTLS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StartTls {
    /// Plain text (and `smtps://`, which uses TLS from the start).
    #[default]
    Never,
    /// Upgrade when the server offers it.
    Opportunistic,
    /// Upgrade, or fail.
    Required,
}

impl Choice for StartTls {
    const WHAT: &'static str = "starttls";
    const WORDS: &'static [(&'static str, Self)] =
        &[("required", Self::Required), ("opportunistic", Self::Opportunistic), ("never", Self::Never)];
}

/// Whether a SQL server connection (PostgreSQL, MySQL) uses TLS and checks the server, as
/// libpq's `sslmode` words say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SqlTls {
    /// Plain text.
    Disable,
    /// TLS when the server offers it, else plain; the certificate is not checked.
    #[default]
    Prefer,
    /// TLS or fail; encrypted, but the certificate is not checked.
    Require,
    /// TLS with the certificate checked against the platform's roots and the host name.
    VerifyFull,
}

impl Choice for SqlTls {
    const WHAT: &'static str = "tls";
    const WORDS: &'static [(&'static str, Self)] = &[
        ("disable", Self::Disable),
        ("prefer", Self::Prefer),
        ("require", Self::Require),
        ("verify-full", Self::VerifyFull),
    ];
}

read_from_text!(Method, Scheme, Overlap, CatchUp, Change, OnStart, StartTls, SqlTls);

macro_rules! display_word {
    ($($kind:ty),*) => {$(
        impl $kind {
            /// The word the manifest writes (and scripts see).
            pub fn as_str(self) -> &'static str {
                word(self)
            }
        }

        impl std::fmt::Display for $kind {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_word!(Method, Scheme, Overlap, CatchUp, Change, OnStart, StartTls, SqlTls);

/// Whether requests to `path` are Switchboard's own (`/_/...`, `/docs`, `/openapi.json`), which
/// no route may take.
pub fn reserved_path(path: &str) -> bool {
    path.starts_with("/_/") || path == "/docs" || path == "/openapi.json"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_parse_and_mistakes_list_what_is_accepted() {
        assert_eq!("get".parse::<Method>(), Ok(Method::Get));
        assert_eq!(Method::Delete.to_string(), "DELETE");
        assert_eq!("stripe".parse::<Scheme>(), Ok(Scheme::Stripe));
        let err = "creatd".parse::<Change>().unwrap_err().to_string();
        assert_eq!(err, "unknown event `creatd`; expected one of created, modified, removed; did you mean `created`?");
        assert!("Skip".parse::<Overlap>().is_err(), "only methods are read in any case");
        assert_eq!("verify-full".parse::<SqlTls>(), Ok(SqlTls::VerifyFull));
        assert_eq!(SqlTls::default(), SqlTls::Prefer);
    }

    #[test]
    fn switchboard_keeps_its_own_paths() {
        assert!(reserved_path("/_/health") && reserved_path("/docs") && reserved_path("/openapi.json"));
        assert!(!reserved_path("/docs/x") && !reserved_path("/_x"));
    }
}
