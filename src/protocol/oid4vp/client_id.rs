//! Client identifiers with their prefix (OpenID4VP 1.0 §5.9): how the
//! wallet authenticates the verifier, and the string every presentation's
//! KB-JWT `aud` must equal — always the **full** identifier, prefix
//! included (§14.1.2 "Always Use the Full Client Identifier").
//!
//! | prefix | authentication | request object | `response_uri` |
//! |---|---|---|---|
//! | `redirect_uri:` | none | unsigned (`alg: none`) | the identifier without its prefix, byte for byte |
//! | `x509_san_dns:` | the leaf certificate's DNS SAN | signed, `x5c` | on the named host |
//!
//! Other prefixes (`x509_hash:`, `decentralized_identifier:`,
//! `verifier_attestation:`, `openid_federation:`, and none at all, a
//! pre-registered client) are refused: this layer has no way to
//! authenticate them.

use crate::protocol::oid4vp::error::Oid4vpError;
use crate::protocol::url::{self, UrlUse};

/// The most bytes of a client identifier.
pub const MAX_CLIENT_ID_BYTES: usize = 2048;

/// A client identifier prefix this layer knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientIdPrefix {
    /// `redirect_uri:` — unauthenticated; requests are unsigned.
    RedirectUri,
    /// `x509_san_dns:` — authenticated by an X.509 certificate whose DNS
    /// SAN is the identifier; requests are signed.
    X509SanDns,
}

impl ClientIdPrefix {
    /// The prefix as written, without the `:`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RedirectUri => "redirect_uri",
            Self::X509SanDns => "x509_san_dns",
        }
    }

    /// Whether request objects under this prefix must be signed.
    pub fn requires_signed_request(self) -> bool {
        self == Self::X509SanDns
    }
}

/// A client identifier, prefix included, checked for its prefix's rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId {
    full: String,
    prefix: ClientIdPrefix,
}

impl ClientId {
    /// `redirect_uri:<response_uri>` for a verifier that receives
    /// `direct_post` responses at `response_uri` (`https`, or `http` to a
    /// loopback host; no fragment).
    pub fn redirect_uri(response_uri: &str) -> Result<Self, Oid4vpError> {
        Self::parse(&format!("redirect_uri:{response_uri}"))
    }

    /// `x509_san_dns:<dns_name>`.
    pub fn x509_san_dns(dns_name: &str) -> Result<Self, Oid4vpError> {
        Self::parse(&format!("x509_san_dns:{dns_name}"))
    }

    /// Reads a client identifier: the prefix is the text before the first
    /// `:` (§5.9.1); only the prefixes of [`ClientIdPrefix`] are accepted.
    pub fn parse(s: &str) -> Result<Self, Oid4vpError> {
        let bad = |reason: &str| Oid4vpError::ClientIdPrefix { reason: reason.to_owned() };
        if s.len() > MAX_CLIENT_ID_BYTES {
            return Err(bad("the client identifier is too long"));
        }
        let Some((prefix, original)) = s.split_once(':') else {
            return Err(bad("pre-registered clients (no prefix) are not supported"));
        };
        let prefix = match prefix {
            "redirect_uri" => {
                url::check(original, UrlUse::Endpoint).map_err(|r| Oid4vpError::ClientIdPrefix {
                    reason: format!("a redirect_uri: identifier must be a url: {r}"),
                })?;
                ClientIdPrefix::RedirectUri
            }
            "x509_san_dns" => {
                if !is_dns_name(original) {
                    return Err(bad("an x509_san_dns: identifier must be a dns name"));
                }
                ClientIdPrefix::X509SanDns
            }
            _ => return Err(bad("only the redirect_uri: and x509_san_dns: client identifier prefixes are supported")),
        };
        Ok(Self { full: s.to_owned(), prefix })
    }

    /// The full identifier, prefix included: the KB-JWT `aud`.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The prefix.
    pub fn prefix(&self) -> ClientIdPrefix {
        self.prefix
    }

    /// The identifier without its prefix.
    pub fn original(&self) -> &str {
        &self.full[self.prefix.as_str().len() + 1..]
    }

    /// Checks `response_uri` against this identifier: `https` (or `http` to
    /// a loopback host), and for `redirect_uri:` equal to the identifier
    /// without its prefix byte for byte, for `x509_san_dns:` on the named
    /// host.
    pub fn check_response_uri(&self, response_uri: &str) -> Result<(), Oid4vpError> {
        let u = url::check(response_uri, UrlUse::Endpoint).map_err(|_| Oid4vpError::ResponseUri {
            reason: "not https (http only to a loopback host), or malformed",
        })?;
        match self.prefix {
            ClientIdPrefix::RedirectUri if response_uri != self.original() => Err(Oid4vpError::ResponseUri {
                reason: "with redirect_uri:, it must equal the client identifier without its prefix",
            }),
            ClientIdPrefix::X509SanDns => {
                let host = u.authority.rsplit_once(':').map_or(u.authority, |(h, _)| h);
                if host.eq_ignore_ascii_case(self.original()) {
                    Ok(())
                } else {
                    Err(Oid4vpError::ResponseUri { reason: "with x509_san_dns:, its host must be the named dns name" })
                }
            }
            ClientIdPrefix::RedirectUri => Ok(()),
        }
    }
}

/// A DNS name: dot-separated labels of letters, digits and hyphens, each
/// 1 to 63 bytes and not starting or ending with a hyphen; 253 bytes at
/// most.
fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_response_uris() {
        let c = ClientId::redirect_uri("https://lender.example/response").unwrap();
        assert_eq!(c.as_str(), "redirect_uri:https://lender.example/response");
        assert_eq!((c.prefix(), c.original()), (ClientIdPrefix::RedirectUri, "https://lender.example/response"));
        assert!(c.check_response_uri("https://lender.example/response").is_ok());
        for bad in ["https://lender.example/response/", "https://LENDER.example/response", "https://evil.example/r"] {
            assert_eq!(c.check_response_uri(bad).unwrap_err().check(), "oid4vp.response_uri", "{bad}");
        }
        let x = ClientId::parse("x509_san_dns:lender.example").unwrap();
        assert!(x.prefix().requires_signed_request());
        assert!(x.check_response_uri("https://lender.example:8443/post").is_ok());
        assert!(x.check_response_uri("https://evil.example/post").is_err());
        assert!(x.check_response_uri("http://lender.example/post").is_err());
        let local = ClientId::redirect_uri("http://127.0.0.1:8080/response").unwrap();
        assert!(local.check_response_uri("http://127.0.0.1:8080/response").is_ok());
        for bad in [
            "lender",
            "https://lender.example",
            "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk",
            "decentralized_identifier:did:example:123",
            "origin:https://lender.example",
            "redirect_uri:http://lender.example/response",
            "redirect_uri:https://lender.example/r#frag",
            "x509_san_dns:-lender.example",
            "x509_san_dns:lender..example",
            "x509_san_dns:https://lender.example",
            "REDIRECT_URI:https://lender.example/response",
        ] {
            assert_eq!(ClientId::parse(bad).unwrap_err().check(), "oid4vp.client_id_prefix", "{bad}");
        }
    }
}
