//! Compact JWS with EdDSA (Ed25519) only.
//!
//! The algorithm follows from the key type, never from the token: a header
//! whose `alg` is anything but `EdDSA` is rejected before the payload is
//! even decoded.

use serde_json::{Map, Value};

use crate::encoding::{b64_decode, b64_decode_array, b64_encode, parse_json_object, to_json};
use crate::error::{Error, HeaderError, MalformedError};
use crate::keys::{PublicKey, Role, SigningKey};
use crate::Limits;

/// Header parameters that would let a token choose its own key or add
/// semantics we do not implement.
const FORBIDDEN_HEADERS: [&str; 6] = ["crit", "jwk", "jku", "x5u", "x5c", "x5t"];

/// Signs `payload` with `header` and returns `header.payload.signature`.
pub(crate) fn sign<R: Role>(header: &Value, payload: &Value, key: &SigningKey<R>) -> String {
    let mut out = b64_encode(to_json(header));
    out.push('.');
    out.push_str(&b64_encode(to_json(payload)));
    let sig = key.sign(out.as_bytes());
    out.push('.');
    out.push_str(&b64_encode(sig));
    out
}

/// A compact JWS whose header passed the algorithm and type checks and
/// whose payload parsed, but whose signature has not been checked yet.
pub(crate) struct UnverifiedJws<'a> {
    pub(crate) header: Map<String, Value>,
    pub(crate) payload: Map<String, Value>,
    signing_input: &'a str,
    signature: [u8; 64],
}

impl<'a> UnverifiedJws<'a> {
    /// Splits and strictly decodes `token`, checking `alg` (first) and
    /// `typ` before the payload is touched.
    pub(crate) fn parse(
        token: &'a str,
        expected_typ: &'static str,
        limits: &Limits,
        what: &'static str,
    ) -> Result<Self, Error> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(MalformedError::JwsStructure { what }.into());
        };
        if h.is_empty() || p.is_empty() || s.is_empty() {
            return Err(MalformedError::JwsStructure { what }.into());
        }
        let header = parse_json_object(&b64_decode(h, "jws header")?, limits, "jws header")?;
        check_header(&header, expected_typ)?;
        let signature = b64_decode_array::<64>(s, "jws signature")?;
        let payload = parse_json_object(&b64_decode(p, "jws payload")?, limits, "jws payload")?;
        let signing_input = &token[..h.len() + 1 + p.len()];
        Ok(Self { header, payload, signing_input, signature })
    }

    /// The `kid` header, which every issuer-signed token must carry.
    pub(crate) fn kid(&self) -> Result<&str, Error> {
        self.header.get("kid").and_then(Value::as_str).ok_or_else(|| HeaderError::MissingKid.into())
    }

    /// The signed bytes, `header.payload`.
    pub(crate) fn signing_input(&self) -> &'a [u8] {
        self.signing_input.as_bytes()
    }

    /// The 64 signature bytes.
    pub(crate) fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// Whether the signature verifies under `key` (see `crate::ed25519`).
    pub(crate) fn verify<R: Role>(&self, key: &PublicKey<R>) -> bool {
        key.verify(self.signing_input.as_bytes(), &self.signature)
    }
}

fn check_header(header: &Map<String, Value>, expected_typ: &'static str) -> Result<(), Error> {
    match header.get("alg") {
        Some(Value::String(a)) if a == "EdDSA" => {}
        other => {
            let mut alg = other.map_or_else(
                || "(missing)".to_owned(),
                |v| match v {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                },
            );
            alg.truncate(32);
            return Err(HeaderError::UnsupportedAlg { alg }.into());
        }
    }
    if let Some(name) = FORBIDDEN_HEADERS.iter().find(|n| header.contains_key(**n)) {
        return Err(HeaderError::Forbidden { name }.into());
    }
    match header.get("typ").and_then(Value::as_str) {
        Some(t) if t == expected_typ => Ok(()),
        _ => Err(HeaderError::WrongTyp { expected: expected_typ }.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hazmat::SeededRng;
    use crate::keys::IssuerSigningKey;
    use serde_json::json;

    #[test]
    fn sign_then_parse_and_verify() {
        let key = IssuerSigningKey::generate(&mut SeededRng::new(b"jws"));
        let t = sign(&json!({"alg":"EdDSA","typ":"x"}), &json!({"a":1}), &key);
        let jws = UnverifiedJws::parse(&t, "x", &Limits::default(), "t").unwrap();
        assert!(jws.verify(&key.public_key()));
        assert_eq!(jws.payload["a"], 1);
        let other = IssuerSigningKey::generate(&mut SeededRng::new(b"other"));
        assert!(!jws.verify(&other.public_key()));
    }

    #[test]
    fn header_checks() {
        let key = IssuerSigningKey::generate(&mut SeededRng::new(b"jws"));
        let l = Limits::default();
        for alg in ["none", "HS256", "eddsa", "EDDSA", "ES256"] {
            let t = sign(&json!({"alg":alg,"typ":"x"}), &json!({}), &key);
            let e = UnverifiedJws::parse(&t, "x", &l, "t").err().unwrap();
            assert_eq!(e.check(), "header.alg", "{alg}");
        }
        let t = sign(&json!({"alg":"EdDSA","typ":"x","crit":["b64"]}), &json!({}), &key);
        let e = UnverifiedJws::parse(&t, "x", &l, "t").err().unwrap();
        assert_eq!(e.check(), "header.forbidden");
        let t = sign(&json!({"alg":"EdDSA","typ":"y"}), &json!({}), &key);
        let e = UnverifiedJws::parse(&t, "x", &l, "t").err().unwrap();
        assert_eq!(e.check(), "header.typ");
        for bad in ["a.b", "a.b.c.d", "..", "e30.e30."] {
            let e = UnverifiedJws::parse(bad, "x", &l, "t").err().unwrap();
            assert_eq!(e.check(), "malformed.jws", "{bad}");
        }
    }
}
