//! Inbound webhook signatures over the raw body: GitHub-style HMAC (SHA-256 or SHA-1) and
//! Stripe-style timestamped signatures with a tolerance window.

use crate::config::{Scheme, Verify};
use axum::http::HeaderMap;
use hmac::{EagerHash, Hmac, KeyInit, Mac};
use std::time::Duration;

/// How far a Stripe-style timestamp may be from now when `tolerance` is not set.
const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Why a request's signature was refused (never the expected value).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing signature header {0}")]
    MissingHeader(String),
    #[error("signature header {0} is not text")]
    NotText(String),
    #[error("signature does not start with `{0}`")]
    Prefix(String),
    #[error("signature is not hex")]
    NotHex,
    #[error("unusable secret")]
    UnusableSecret,
    #[error("signature has no timestamp (t=...)")]
    NoTimestamp,
    #[error("signature timestamp is outside the tolerance window")]
    OutsideTolerance,
    #[error("signature does not match the body")]
    Mismatch,
}

/// Checks the request's signature.
pub fn check(verify: &Verify, headers: &HeaderMap, body: &[u8]) -> Result<(), VerifyError> {
    let header = headers
        .get(verify.header.as_str())
        .ok_or_else(|| VerifyError::MissingHeader(verify.header.clone()))?
        .to_str()
        .map_err(|_| VerifyError::NotText(verify.header.clone()))?;
    let secret = verify.secret.as_str().as_bytes();
    match verify.scheme {
        Scheme::HmacSha256 => hex_hmac::<sha2::Sha256>(secret, body, strip(header, &verify.prefix)?),
        Scheme::HmacSha1 => hex_hmac::<sha1::Sha1>(secret, body, strip(header, &verify.prefix)?),
        Scheme::Stripe => stripe(secret, body, header, verify.tolerance.map_or(DEFAULT_TOLERANCE, |t| t.0)),
    }
}

fn strip<'a>(header: &'a str, prefix: &str) -> Result<&'a str, VerifyError> {
    header.trim().strip_prefix(prefix).ok_or_else(|| VerifyError::Prefix(prefix.to_string()))
}

fn hex_hmac<D: EagerHash>(secret: &[u8], body: &[u8], signature: &str) -> Result<(), VerifyError>
where
    Hmac<D>: KeyInit + Mac,
{
    let expected = hex::decode(signature.trim()).map_err(|_| VerifyError::NotHex)?;
    let mut mac = <Hmac<D> as KeyInit>::new_from_slice(secret).map_err(|_| VerifyError::UnusableSecret)?;
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| VerifyError::Mismatch)
}

/// `t=TIMESTAMP,v1=HEX[,v1=HEX...]`, signing `TIMESTAMP.BODY` with HMAC-SHA256.
fn stripe(secret: &[u8], body: &[u8], header: &str, tolerance: Duration) -> Result<(), VerifyError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(VerifyError::NoTimestamp)?;
    let now = chrono::Utc::now().timestamp();
    if now.abs_diff(timestamp) > tolerance.as_secs() {
        return Err(VerifyError::OutsideTolerance);
    }
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    if signatures.iter().any(|signature| hex_hmac::<sha2::Sha256>(secret, &signed, signature).is_ok()) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Text;

    fn sign(secret: &str, body: &[u8]) -> String {
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("key");
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    fn verify(scheme: &str, prefix: &str) -> Verify {
        Verify {
            scheme: scheme.parse().expect("a scheme"),
            header: "x-sig".into(),
            prefix: prefix.into(),
            secret: Text("s3cret".into()),
            tolerance: None,
        }
    }

    #[test]
    fn github_style_signatures() {
        let mut headers = HeaderMap::new();
        headers.insert("x-sig", format!("sha256={}", sign("s3cret", b"{}")).parse().expect("header"));
        assert!(check(&verify("hmac-sha256", "sha256="), &headers, b"{}").is_ok());
        assert!(check(&verify("hmac-sha256", "sha256="), &headers, b"{ }").is_err());
        assert!(check(&verify("hmac-sha256", "sha256="), &HeaderMap::new(), b"{}").is_err());
    }

    #[test]
    fn stripe_style_signatures_expire() {
        let now = chrono::Utc::now().timestamp();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-sig",
            format!("t={now},v1={}", sign("s3cret", format!("{now}.hi").as_bytes())).parse().expect("h"),
        );
        assert!(check(&verify("stripe", ""), &headers, b"hi").is_ok());
        let old = now - 3600;
        headers.insert(
            "x-sig",
            format!("t={old},v1={}", sign("s3cret", format!("{old}.hi").as_bytes())).parse().expect("h"),
        );
        assert_eq!(check(&verify("stripe", ""), &headers, b"hi"), Err(VerifyError::OutsideTolerance));
    }
}
