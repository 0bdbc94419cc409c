//! Compact JWS with EdDSA (Ed25519) only.
//!
//! The algorithm follows from the key type, never from the token: a header
//! whose `alg` is anything but `EdDSA` is rejected before the payload is
//! even decoded.

use serde_json::{Map, Value};

use crate::error::{Error, HeaderError, MalformedError};
use crate::format::encoding::{b64_decode, b64_decode_array, b64_encode, parse_json_object, to_json, truncate_at_char};
use crate::format::keys::{Algorithm, HolderPublicKey, PublicKey, Role, SigningKey};
use crate::Limits;

/// Header parameters that would let a token choose its own key or add
/// semantics we do not implement.
const FORBIDDEN_HEADERS: [&str; 6] = ["crit", "jwk", "jku", "x5u", "x5c", "x5t"];
/// The same for a token that names its own key in `jwk` (a proof of
/// possession): a key by reference (`jku`, `x5u`) or by thumbprint is still
/// refused, and `kid` / `x5c` are refused with a reason of their own.
const FORBIDDEN_WITH_EMBEDDED_KEY: [&str; 5] = ["crit", "jku", "x5u", "x5t", "x5t#S256"];
/// The header parameters that can name the key of a proof of possession
/// (OpenID4VCI Appendix F.1: exactly one of them).
const KEY_HEADERS: [&str; 3] = ["jwk", "kid", "x5c"];

/// Signs `payload` with `header` and returns `header.payload.signature`.
/// Signs a compact JWS. The header's `alg` is set from the key type;
/// callers never choose it.
pub(crate) fn sign<R: Role>(header: &Value, payload: &Value, key: &SigningKey<R>) -> String {
    let mut header = header.clone();
    if let Some(h) = header.as_object_mut() {
        h.insert("alg".to_owned(), Value::from(key.algorithm().jws_alg()));
    }
    sign_raw(&header, payload, key)
}

/// Signs with the header exactly as given (tests and vectors forge headers).
pub(crate) fn sign_raw<R: Role>(header: &Value, payload: &Value, key: &SigningKey<R>) -> String {
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
    alg: Algorithm,
    signing_input: &'a str,
    signature: [u8; 64],
}

impl<'a> UnverifiedJws<'a> {
    /// Splits and strictly decodes `token`, checking `alg` (first) and
    /// `typ` before the payload is touched.
    pub(crate) fn parse(
        token: &'a str,
        expected_typ: &str,
        limits: &Limits,
        what: &'static str,
    ) -> Result<Self, Error> {
        Self::parse_checked(token, expected_typ, limits, what, &FORBIDDEN_HEADERS)
    }

    /// Like [`UnverifiedJws::parse`], for a token that carries the public
    /// key it is signed with in its `jwk` header, as an OpenID4VCI proof
    /// JWT does (Appendix F.1). After `alg`: exactly one of `jwk`, `kid`,
    /// `x5c` must be present, and it must be `jwk` (keys by reference are
    /// not resolved here); the JWK must be a public key — one with a
    /// private `d` is refused — of a supported type whose own `alg`, if
    /// any, fits it. Returns the token and that key; the caller still
    /// checks the signature with it ([`UnverifiedJws::verify`], which
    /// refuses a header `alg` of another algorithm than the key's) and
    /// decides whether a weak key is acceptable.
    pub(crate) fn parse_with_embedded_key(
        token: &'a str,
        expected_typ: &str,
        limits: &Limits,
        what: &'static str,
    ) -> Result<(Self, HolderPublicKey), Error> {
        let jws = Self::parse_checked(token, expected_typ, limits, what, &FORBIDDEN_WITH_EMBEDDED_KEY)?;
        let bad = |reason| Error::from(HeaderError::EmbeddedKey { reason });
        let present: Vec<&str> = KEY_HEADERS.iter().copied().filter(|k| jws.header.contains_key(*k)).collect();
        let jwk = match present.as_slice() {
            ["jwk"] => jws.header.get("jwk").and_then(Value::as_object).ok_or_else(|| bad("`jwk` is not an object"))?,
            [] => return Err(bad("no `jwk` header names the key")),
            [_] => return Err(bad("only a key in a `jwk` header is supported, not `kid` or `x5c`")),
            _ => return Err(bad("more than one of `jwk`, `kid` and `x5c`")),
        };
        if jwk.contains_key("d") {
            return Err(bad("the `jwk` header holds a private key"));
        }
        let key = HolderPublicKey::from_jwk_map(jwk)?;
        Ok((jws, key))
    }

    fn parse_checked(
        token: &'a str,
        expected_typ: &str,
        limits: &Limits,
        what: &'static str,
        forbidden: &[&'static str],
    ) -> Result<Self, Error> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(MalformedError::JwsStructure { what }.into());
        };
        if h.is_empty() || p.is_empty() || s.is_empty() {
            return Err(MalformedError::JwsStructure { what }.into());
        }
        let header = parse_json_object(&b64_decode(h, "jws header")?, limits, "jws header")?;
        let alg = check_header(&header, expected_typ, forbidden)?;
        let signature = b64_decode_array::<64>(s, "jws signature")?;
        let payload = parse_json_object(&b64_decode(p, "jws payload")?, limits, "jws payload")?;
        let signing_input = &token[..h.len() + 1 + p.len()];
        Ok(Self { header, payload, alg, signing_input, signature })
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

    /// The algorithm the header names (already one this crate supports).
    pub(crate) fn alg(&self) -> Algorithm {
        self.alg
    }

    /// Checks the signature with `key`'s own algorithm. A header `alg` that
    /// names another algorithm than the key's fails like a bad signature:
    /// the header never picks how a signature is checked.
    pub(crate) fn verify<R: Role>(&self, key: &PublicKey<R>) -> bool {
        key.algorithm() == self.alg && key.verify(self.signing_input.as_bytes(), &self.signature)
    }
}

/// `alg` first (one this crate supports), then refused parameters, then
/// `typ`. Returns the algorithm the header names.
fn check_header(
    header: &Map<String, Value>,
    expected_typ: &str,
    forbidden: &[&'static str],
) -> Result<Algorithm, Error> {
    let Some(alg) = header.get("alg").and_then(Value::as_str).and_then(Algorithm::from_jws_alg) else {
        let mut alg = header.get("alg").map_or_else(
            || "(missing)".to_owned(),
            |v| match v {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            },
        );
        truncate_at_char(&mut alg, 32);
        return Err(HeaderError::UnsupportedAlg { alg }.into());
    };
    if let Some(name) = forbidden.iter().find(|n| header.contains_key(**n)) {
        return Err(HeaderError::Forbidden { name }.into());
    }
    match header.get("typ").and_then(Value::as_str) {
        Some(t) if typ_matches(t, expected_typ) => Ok(alg),
        _ => Err(HeaderError::WrongTyp { expected: expected_typ.to_owned() }.into()),
    }
}

/// RFC 7515 §4.1.9: media types compare case-insensitively, and an
/// `application/` prefix may be left out.
pub(crate) fn typ_matches(seen: &str, expected: &str) -> bool {
    // Without allocating: this runs for every token a verifier reads.
    fn strip(t: &str) -> &str {
        const PREFIX: &str = "application/";
        match t.get(..PREFIX.len()) {
            Some(p) if p.eq_ignore_ascii_case(PREFIX) => &t[PREFIX.len()..],
            _ => t,
        }
    }
    !seen.is_empty() && strip(seen).eq_ignore_ascii_case(strip(expected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::hazmat::SeededRng;
    use crate::format::keys::IssuerSigningKey;
    use serde_json::json;

    #[test]
    fn sign_then_parse_and_verify() {
        let key = IssuerSigningKey::generate(&mut SeededRng::new(b"jws"));
        let t = sign(&json!({"typ":"x"}), &json!({"a":1}), &key);
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
        for alg in ["none", "HS256", "eddsa", "EDDSA", "ES384", "es256", "\u{e9}\u{e9}\u{e9}\u{e9}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}"] {
            let t = sign_raw(&json!({"alg":alg,"typ":"x"}), &json!({}), &key);
            let e = UnverifiedJws::parse(&t, "x", &l, "t").err().unwrap();
            assert_eq!(e.check(), "header.alg", "{alg}");
        }
        let t = sign_raw(&json!({"typ":"x"}), &json!({}), &key);
        assert_eq!(UnverifiedJws::parse(&t, "x", &l, "t").err().unwrap().check(), "header.alg");
        let t = sign(&json!({"typ":"x","crit":["b64"]}), &json!({}), &key);
        let e = UnverifiedJws::parse(&t, "x", &l, "t").err().unwrap();
        assert_eq!(e.check(), "header.forbidden");
        let t = sign(&json!({"typ":"y"}), &json!({}), &key);
        let e = UnverifiedJws::parse(&t, "x", &l, "t").err().unwrap();
        assert_eq!(e.check(), "header.typ");
        for bad in ["a.b", "a.b.c.d", "..", "e30.e30."] {
            let e = UnverifiedJws::parse(bad, "x", &l, "t").err().unwrap();
            assert_eq!(e.check(), "malformed.jws", "{bad}");
        }
    }

    #[test]
    fn alg_follows_the_key_never_the_header() {
        let l = Limits::default();
        let ed = IssuerSigningKey::generate(&mut SeededRng::new(b"ed"));
        let p256 = IssuerSigningKey::generate_with(Algorithm::Es256, &mut SeededRng::new(b"p")).unwrap();
        let t = sign(&json!({"typ":"x"}), &json!({"a":1}), &p256);
        let jws = UnverifiedJws::parse(&t, "x", &l, "t").unwrap();
        assert_eq!(jws.header["alg"], "ES256");
        assert!(jws.verify(&p256.public_key()));
        assert!(!jws.verify(&ed.public_key()));
        // An Ed25519 signature under a header claiming ES256 is refused even
        // with the right key: the header does not pick the algorithm.
        let t = sign_raw(&json!({"alg":"ES256","typ":"x"}), &json!({}), &ed);
        assert!(!UnverifiedJws::parse(&t, "x", &l, "t").unwrap().verify(&ed.public_key()));
        // The fully-specified name is accepted for Ed25519 keys.
        let t = sign_raw(&json!({"alg":"Ed25519","typ":"x"}), &json!({}), &ed);
        assert!(UnverifiedJws::parse(&t, "x", &l, "t").unwrap().verify(&ed.public_key()));
    }

    #[test]
    fn typ_compares_as_a_media_type() {
        assert!(typ_matches("dc+sd-jwt", "dc+sd-jwt"));
        assert!(typ_matches("application/dc+sd-jwt", "dc+sd-jwt"));
        assert!(typ_matches("DC+SD-JWT", "dc+sd-jwt"));
        assert!(!typ_matches("vc+sd-jwt", "dc+sd-jwt"));
        assert!(!typ_matches("", ""));
        assert!(!typ_matches("application/", "dc+sd-jwt"));
        assert!(typ_matches("Application/KB+JWT", "kb+jwt"));
        assert!(typ_matches("kb+jwt", "application/kb+jwt"));
        assert!(!typ_matches("application/application/kb+jwt", "kb+jwt"), "one prefix only");
        assert!(!typ_matches("applicatio\u{e9}/kb+jwt", "kb+jwt"), "a prefix cut inside a character");
        assert!(!typ_matches("kb+jwt\u{212a}", "kb+jwtk"), "ASCII case folding only (U+212A is a Kelvin sign)");
    }

    #[test]
    fn a_token_with_its_own_key() {
        use crate::format::keys::HolderSigningKey;
        let l = Limits::default();
        let key = HolderSigningKey::generate(&mut SeededRng::new(b"pop"));
        let jwk = key.public_key().to_jwk();
        let parse = |header: Value| {
            let t = sign(&header, &json!({"a": 1}), &key);
            UnverifiedJws::parse_with_embedded_key(&t, "x", &l, "t")
                .map(|(jws, k)| (jws.verify(&k), k))
                .map_err(|e| e.check())
        };
        assert_eq!(parse(json!({"typ": "x", "jwk": jwk})), Ok((true, key.public_key())));
        // The plain parse still refuses a key in the header.
        let t = sign(&json!({"typ": "x", "jwk": jwk}), &json!({}), &key);
        assert_eq!(UnverifiedJws::parse(&t, "x", &l, "t").err().unwrap().check(), "header.forbidden");
        let mut private = jwk.clone();
        private["d"] = json!(b64_encode(*key.to_secret_bytes()));
        for header in [
            json!({"typ": "x"}),
            json!({"typ": "x", "kid": "did:example:1#0"}),
            json!({"typ": "x", "x5c": ["MII"]}),
            json!({"typ": "x", "jwk": jwk, "kid": "0"}),
            json!({"typ": "x", "jwk": "not an object"}),
            json!({"typ": "x", "jwk": private}),
        ] {
            assert_eq!(parse(header.clone()), Err("header.embedded_key"), "{header}");
        }
        assert_eq!(parse(json!({"typ": "x", "jwk": jwk, "crit": ["b64"]})), Err("header.forbidden"));
        assert_eq!(parse(json!({"typ": "x", "jwk": jwk, "jku": "https://x"})), Err("header.forbidden"));
        assert_eq!(parse(json!({"typ": "y", "jwk": jwk})), Err("header.typ"));
        assert_eq!(parse(json!({"typ": "x", "jwk": {"kty": "oct", "k": "AAAA"}})), Err("malformed.jwk"));
        // A header key of one algorithm cannot carry a signature of another.
        let p256 = HolderSigningKey::generate_with(Algorithm::Es256, &mut SeededRng::new(b"p")).unwrap();
        let t = sign(&json!({"typ": "x", "jwk": p256.public_key().to_jwk()}), &json!({}), &key);
        let (jws, k) = UnverifiedJws::parse_with_embedded_key(&t, "x", &l, "t").unwrap();
        assert!(!jws.verify(&k));
    }
}
