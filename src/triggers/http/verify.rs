//! Inbound webhook signatures over the raw body: GitHub-style HMAC (SHA-256 or SHA-1) and
//! Stripe-style timestamped signatures with a tolerance window.

use crate::config::Verify;
use axum::http::HeaderMap;
use hmac::{EagerHash, Hmac, KeyInit, Mac};
use std::time::Duration;

/// How far a Stripe-style timestamp may be from now when `tolerance` is not set.
const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Checks the request's signature; the error says what was wrong (never the expected value).
pub fn check(verify: &Verify, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let header = headers
        .get(verify.header.as_str())
        .ok_or_else(|| format!("missing signature header {}", verify.header))?
        .to_str()
        .map_err(|_| format!("signature header {} is not text", verify.header))?;
    let secret = verify.secret.as_str().as_bytes();
    match verify.scheme.as_str() {
        "hmac-sha256" => hex_hmac::<sha2::Sha256>(secret, body, strip(header, &verify.prefix)?),
        "hmac-sha1" => hex_hmac::<sha1::Sha1>(secret, body, strip(header, &verify.prefix)?),
        "stripe" => stripe(secret, body, header, verify.tolerance.map_or(DEFAULT_TOLERANCE, |t| t.0)),
        other => Err(format!("unknown signature scheme {other}")),
    }
}

fn strip<'a>(header: &'a str, prefix: &str) -> Result<&'a str, String> {
    header.trim().strip_prefix(prefix).ok_or_else(|| format!("signature does not start with `{prefix}`"))
}

fn hex_hmac<D: EagerHash>(secret: &[u8], body: &[u8], signature: &str) -> Result<(), String>
where
    Hmac<D>: KeyInit + Mac,
{
    let expected = hex::decode(signature.trim()).map_err(|_| "signature is not hex".to_string())?;
    let mut mac = <Hmac<D> as KeyInit>::new_from_slice(secret).map_err(|_| "unusable secret".to_string())?;
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| "signature does not match the body".to_string())
}

/// `t=TIMESTAMP,v1=HEX[,v1=HEX...]`, signing `TIMESTAMP.BODY` with HMAC-SHA256.
fn stripe(secret: &[u8], body: &[u8], header: &str, tolerance: Duration) -> Result<(), String> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| "signature has no timestamp (t=...)".to_string())?;
    let now = chrono::Utc::now().timestamp();
    if now.abs_diff(timestamp) > tolerance.as_secs() {
        return Err("signature timestamp is outside the tolerance window".to_string());
    }
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    if signatures.iter().any(|signature| hex_hmac::<sha2::Sha256>(secret, &signed, signature).is_ok()) {
        Ok(())
    } else {
        Err("signature does not match the body".to_string())
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
            scheme: scheme.into(),
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
        assert!(check(&verify("stripe", ""), &headers, b"hi").unwrap_err().contains("tolerance"));
    }
}
