//! The optional webhook: when a transaction gets its verdict, or expires
//! unanswered (`"state": "expired"`, within a second of its expiry), the
//! service POSTs the same JSON `GET /transactions/{id}` answers to the
//! relying party's URL, signed so the receiver can tell it came from this service
//! and was not replayed long after:
//!
//! ```text
//! POST <webhook url>
//! Content-Type: application/json
//! Creditproof-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//!
//! {"id": "…", "state": "accepted", "verdict": {…}}
//! ```
//!
//! The receiver recomputes the HMAC over the timestamp, a dot and the raw
//! body, compares in constant time, and refuses a timestamp more than a few
//! minutes old. A delivery is tried three times (after 1 s and 5 s) until
//! the receiver answers 2xx; then it is dropped and counted as failed (the
//! verdict stays readable through the API).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ring::hmac;
use zeroize::Zeroizing;

use super::VerifierService;
use crate::format::time::UnixTime;
use crate::protocol::url::{self, UrlUse};

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "Creditproof-Signature";
/// The most bytes of a webhook receiver's answer read.
const MAX_ANSWER_BYTES: u64 = 16 * 1024;
/// Pauses before the second and third attempts.
const RETRIES: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(5)];

/// Where verdicts are posted, and the secret they are signed with.
#[derive(Clone)]
pub struct Webhook {
    url: String,
    secret: Arc<Zeroizing<Vec<u8>>>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook").field("url", &self.url).field("secret", &"[redacted]").finish()
    }
}

impl Webhook {
    /// A webhook to `url` (`https`, or `http` to a loopback host) signed
    /// with `secret` (32 to 512 bytes; surrounding whitespace removed).
    pub fn new(url: &str, secret: &[u8]) -> Result<Self, String> {
        url::check(url, UrlUse::Endpoint).map_err(|r| format!("the webhook url: {r}"))?;
        let secret = secret.trim_ascii();
        if !(32..=512).contains(&secret.len()) {
            return Err("the webhook secret must be 32 to 512 bytes".into());
        }
        Ok(Self { url: url.to_owned(), secret: Arc::new(Zeroizing::new(secret.to_vec())) })
    }

    /// The signature header's value for `body` sent at `t`.
    pub fn signature(&self, t: UnixTime, body: &[u8]) -> String {
        signature(&self.secret, t, body)
    }
}

fn signature(secret: &[u8], t: UnixTime, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(t.as_secs().to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    let tag = ctx.sign();
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={},v1={hex}", t.as_secs())
}

/// Delivers `body` in the background (see the [module
/// documentation](self)).
pub(crate) fn deliver(service: &Arc<VerifierService>, body: String) {
    let Some(hook) = service.config.webhook.clone() else { return };
    let s = service.clone();
    tokio::spawn(async move {
        let body = Arc::new(Zeroizing::new(body));
        for attempt in 0..=RETRIES.len() {
            let (s2, hook2, body2) = (s.clone(), hook.clone(), body.clone());
            let sent = tokio::task::spawn_blocking(move || {
                let header = hook2.signature(UnixTime::now(), body2.as_bytes());
                s2.fetch.post(
                    &hook2.url,
                    "application/json",
                    &[(SIGNATURE_HEADER, header.as_str())],
                    body2.as_bytes(),
                    MAX_ANSWER_BYTES,
                )
            })
            .await;
            let ok = matches!(&sent, Ok(Ok(a)) if (200..300).contains(&a.status));
            s.metrics.webhook(ok);
            if ok {
                return;
            }
            match &sent {
                Ok(Ok(a)) => tracing::warn!(status = a.status, attempt, "the webhook receiver refused the verdict"),
                Ok(Err(e)) => tracing::warn!(error = %e, attempt, "webhook delivery failed"),
                Err(e) => tracing::error!(error = %e, "webhook worker failed"),
            }
            if let Some(pause) = RETRIES.get(attempt) {
                tokio::time::sleep(*pause).await;
            }
        }
        tracing::warn!("webhook delivery given up; the verdict stays readable through the API");
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_time_and_body_and_the_secret_stays_hidden() {
        let secret = "webhook-secret-0123456789abcdef-0123456789";
        let hook = Webhook::new("https://lender.example/hook", format!("{secret}\n").as_bytes()).unwrap();
        let a = hook.signature(UnixTime(1_700_000_000), b"{}");
        assert!(a.starts_with("t=1700000000,v1=") && a.len() == "t=1700000000,v1=".len() + 64, "{a}");
        assert_ne!(a, hook.signature(UnixTime(1_700_000_001), b"{}"));
        assert_ne!(a, hook.signature(UnixTime(1_700_000_000), b"{ }"));
        assert!(!format!("{hook:?}").contains(secret));
        assert!(Webhook::new("http://lender.example/hook", secret.as_bytes()).is_err(), "http off loopback");
        assert!(Webhook::new("https://lender.example/hook", b"short").is_err());
    }
}
