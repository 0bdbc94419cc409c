//! RFC 9901 selective disclosures: creation, digests, decoys, and the
//! verifier's processing of an SD-JWT payload (§7.1).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::error::{DisclosureError, Error, LimitError, MalformedError};
use crate::format::encoding::{b64_decode, b64_encode, parse_json, to_json};
use crate::format::rng::{random_array, SecureRng};
use crate::Limits;

/// The only `_sd_alg` this crate accepts; also the default when the claim
/// is absent (RFC 9901 §4.1.1), which is how creditproof issues.
pub(crate) const SD_ALG: &str = "sha-256";

/// base64url(SHA-256(ascii)) — the digest of a disclosure, and `sd_hash`.
pub(crate) fn sha256_b64(ascii: &[u8]) -> String {
    b64_encode(ring::digest::digest(&ring::digest::SHA256, ascii))
}

/// Whether `b64` is base64url(SHA-256(`ascii`)), without allocating.
pub(crate) fn sha256_matches(b64: &str, ascii: &str) -> bool {
    let digest = ring::digest::digest(&ring::digest::SHA256, ascii.as_bytes());
    let mut buf = [0u8; 43];
    matches!(URL_SAFE_NO_PAD.encode_slice(digest, &mut buf), Ok(43)) && buf[..] == *b64.as_bytes()
}

/// One object-property disclosure `[salt, name, value]`.
///
/// Before it is shown, a disclosure (its salt above all) is a holder secret:
/// its encoding zeroizes on drop and `Debug` shows only the claim name.
#[derive(Clone)]
pub(crate) struct Disclosure {
    encoded: Zeroizing<String>,
    digest: String,
    name: String,
    value: Value,
}

impl Disclosure {
    /// A fresh disclosure with a 128-bit random salt (RFC 9901 §9.3).
    pub(crate) fn new(name: &str, value: &Value, rng: &mut dyn SecureRng) -> Self {
        let salt = b64_encode(random_array::<16>(rng));
        let json = to_json(&Value::Array(vec![Value::String(salt), Value::String(name.to_owned()), value.clone()]));
        let encoded = Zeroizing::new(b64_encode(json));
        Self { digest: sha256_b64(encoded.as_bytes()), encoded, name: name.to_owned(), value: value.clone() }
    }

    /// Parses an encoded object-property disclosure.
    pub(crate) fn parse(encoded: &str, limits: &Limits) -> Result<Self, Error> {
        match RawDisclosure::parse(encoded, limits)? {
            RawDisclosure::Property { name, value } => Ok(Self {
                digest: sha256_b64(encoded.as_bytes()),
                encoded: Zeroizing::new(encoded.to_owned()),
                name,
                value,
            }),
            RawDisclosure::Element { .. } => Err(DisclosureError::Shape.into()),
        }
    }

    pub(crate) fn encoded(&self) -> &str {
        &self.encoded
    }
    pub(crate) fn digest(&self) -> &str {
        &self.digest
    }
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
    pub(crate) fn value(&self) -> &Value {
        &self.value
    }
}

impl fmt::Debug for Disclosure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Disclosure({:?}, [redacted])", self.name)
    }
}

/// A decoy digest: the digest of 32 random bytes, indistinguishable from a
/// real one (RFC 9901 §4.2.5).
pub(crate) fn decoy_digest(rng: &mut dyn SecureRng) -> String {
    sha256_b64(&random_array::<32>(rng))
}

/// A decoded disclosure of either shape.
enum RawDisclosure {
    /// `[salt, name, value]`, referenced from an `_sd` array.
    Property { name: String, value: Value },
    /// `[salt, value]`, referenced from an array element `{"...": digest}`.
    Element { value: Value },
}

impl RawDisclosure {
    fn parse(encoded: &str, limits: &Limits) -> Result<Self, Error> {
        let bytes = b64_decode(encoded, "disclosure")?;
        let Value::Array(mut items) = parse_json(&bytes, limits, "disclosure")? else {
            return Err(DisclosureError::Shape.into());
        };
        if !items.first().is_some_and(Value::is_string) {
            return Err(DisclosureError::Shape.into());
        }
        match items.len() {
            3 => {
                let value = items.pop().unwrap_or(Value::Null);
                let Some(Value::String(name)) = items.pop() else {
                    return Err(DisclosureError::Shape.into());
                };
                if name == "_sd" || name == "..." {
                    return Err(DisclosureError::ReservedName.into());
                }
                Ok(Self::Property { name, value })
            }
            2 => Ok(Self::Element { value: items.pop().unwrap_or(Value::Null) }),
            _ => Err(DisclosureError::Shape.into()),
        }
    }
}

/// The result of processing: the payload with every presented disclosure
/// substituted and every digest removed, plus the names disclosed at the
/// top level.
pub(crate) struct Processed {
    pub(crate) claims: Map<String, Value>,
    pub(crate) disclosed_top_level: BTreeSet<String>,
}

/// Processes an issuer-signed payload and the presented disclosures as RFC
/// 9901 §7.1 requires: every digest in the credential is unique, every
/// disclosure is referenced exactly once from a place of its shape, no
/// disclosed name collides, `_sd`/`...` are never names, and undisclosed
/// digests (real or decoy) vanish.
pub(crate) fn process(
    mut payload: Map<String, Value>,
    disclosures: &[&str],
    limits: &Limits,
) -> Result<Processed, Error> {
    match payload.remove("_sd_alg") {
        None => {}
        Some(Value::String(s)) if s == SD_ALG => {}
        Some(_) => return Err(DisclosureError::UnsupportedHashAlg.into()),
    }
    let mut pending: HashMap<String, Option<RawDisclosure>> = HashMap::with_capacity(disclosures.len());
    for d in disclosures {
        if d.is_empty() {
            return Err(MalformedError::SdJwtStructure.into());
        }
        let raw = RawDisclosure::parse(d, limits)?;
        if pending.insert(sha256_b64(d.as_bytes()), Some(raw)).is_some() {
            return Err(DisclosureError::Duplicate.into());
        }
    }
    let mut state = State { pending, seen: HashSet::new(), top: BTreeSet::new(), max_depth: limits.max_json_depth() };
    state.object(&mut payload, 0)?;
    if state.pending.values().any(Option::is_some) {
        return Err(DisclosureError::Unreferenced.into());
    }
    Ok(Processed { claims: payload, disclosed_top_level: state.top })
}

struct State {
    pending: HashMap<String, Option<RawDisclosure>>,
    seen: HashSet<String>,
    top: BTreeSet<String>,
    max_depth: usize,
}

impl State {
    fn take(&mut self, digest: String) -> Result<Option<RawDisclosure>, Error> {
        let found = self.pending.get_mut(&digest).and_then(Option::take);
        if !self.seen.insert(digest) {
            return Err(DisclosureError::DuplicateDigest.into());
        }
        Ok(found)
    }

    fn depth_ok(&self, depth: usize) -> Result<(), Error> {
        if depth > self.max_depth {
            return Err(LimitError::JsonTooDeep { limit: self.max_depth }.into());
        }
        Ok(())
    }

    fn object(&mut self, obj: &mut Map<String, Value>, depth: usize) -> Result<(), Error> {
        self.depth_ok(depth)?;
        // Recurse into the values the issuer wrote in the clear first, so a
        // disclosed value is processed exactly once, below.
        for v in obj.values_mut() {
            self.value(v, depth + 1)?;
        }
        let Some(sd) = obj.remove("_sd") else {
            return Ok(());
        };
        let Value::Array(digests) = sd else {
            return Err(DisclosureError::SdNotArray.into());
        };
        for digest in digests {
            let Value::String(digest) = digest else {
                return Err(DisclosureError::SdNotArray.into());
            };
            match self.take(digest)? {
                None => {}
                Some(RawDisclosure::Element { .. }) => return Err(DisclosureError::Shape.into()),
                Some(RawDisclosure::Property { name, mut value }) => {
                    if obj.contains_key(&name) {
                        return Err(DisclosureError::NameExists.into());
                    }
                    self.value(&mut value, depth + 1)?;
                    if depth == 0 {
                        self.top.insert(name.clone());
                    }
                    obj.insert(name, value);
                }
            }
        }
        Ok(())
    }

    fn value(&mut self, v: &mut Value, depth: usize) -> Result<(), Error> {
        match v {
            Value::Object(o) => self.object(o, depth),
            Value::Array(items) => self.array(items, depth),
            _ => Ok(()),
        }
    }

    fn array(&mut self, items: &mut Vec<Value>, depth: usize) -> Result<(), Error> {
        self.depth_ok(depth)?;
        let mut out = Vec::with_capacity(items.len());
        for mut item in items.drain(..) {
            let digest = match &item {
                Value::Object(o) if o.len() == 1 => match o.get("...") {
                    Some(Value::String(d)) => Some(d.clone()),
                    Some(_) => return Err(DisclosureError::Shape.into()),
                    None => None,
                },
                _ => None,
            };
            match digest {
                None => {
                    self.value(&mut item, depth + 1)?;
                    out.push(item);
                }
                Some(d) => match self.take(d)? {
                    None => {} // undisclosed element or decoy: removed
                    Some(RawDisclosure::Property { .. }) => return Err(DisclosureError::Shape.into()),
                    Some(RawDisclosure::Element { mut value }) => {
                        self.value(&mut value, depth + 1)?;
                        out.push(value);
                    }
                },
            }
        }
        *items = out;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::hazmat::SeededRng;
    use serde_json::json;

    fn payload_with(digests: &[&str]) -> Map<String, Value> {
        let Value::Object(m) = json!({"iss":"x","_sd_alg":"sha-256","_sd":digests}) else { unreachable!() };
        m
    }

    #[test]
    fn rfc9901_disclosure_digest_example() {
        // RFC 9901 §4.2.1 / §4.2.3: the example disclosure of family_name.
        let d = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0";
        assert_eq!(sha256_b64(d.as_bytes()), "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0");
        let parsed = Disclosure::parse(d, &Limits::default()).unwrap();
        assert_eq!(parsed.name(), "family_name");
        assert_eq!(parsed.value(), &json!("Möbius"));
    }

    #[test]
    fn process_checks() {
        let l = Limits::default();
        let mut rng = SeededRng::new(b"disclosure");
        let a = Disclosure::new("tier", &json!("A"), &mut rng);
        let b = Disclosure::new("perk", &json!(true), &mut rng);
        let decoy = decoy_digest(&mut rng);
        let p = payload_with(&[a.digest(), b.digest(), &decoy]);
        let out = process(p.clone(), &[a.encoded()], &l).unwrap();
        assert_eq!(out.claims["tier"], "A");
        assert!(!out.claims.contains_key("perk") && !out.claims.contains_key("_sd"));
        let err = |r: Result<Processed, Error>| r.err().map(|e| e.check());
        assert_eq!(err(process(p.clone(), &[a.encoded(), a.encoded()], &l)), Some("disclosure.duplicate"));
        let other = Disclosure::new("tier", &json!("AAA"), &mut rng);
        assert_eq!(err(process(p.clone(), &[other.encoded()], &l)), Some("disclosure.unreferenced"));
        let dup = payload_with(&[a.digest(), &decoy, &decoy]);
        assert_eq!(err(process(dup, &[], &l)), Some("disclosure.duplicate_digest"));
        let mut exists = p.clone();
        exists.insert("tier".into(), json!("B"));
        assert_eq!(err(process(exists, &[a.encoded()], &l)), Some("disclosure.name_exists"));
        let mut not_array = p.clone();
        not_array.insert("_sd".into(), json!(a.digest()));
        assert_eq!(err(process(not_array, &[], &l)), Some("disclosure.sd_not_array"));
        let mut alg = p;
        alg.insert("_sd_alg".into(), json!("sha-512"));
        assert_eq!(err(process(alg, &[], &l)), Some("disclosure.hash_alg"));
    }

    #[test]
    fn reserved_names_and_shapes() {
        let l = Limits::default();
        let enc = |v: Value| b64_encode(to_json(&v));
        let sd = enc(json!(["salt", "_sd", 1]));
        let dots = enc(json!(["salt", "...", 1]));
        let elem = enc(json!(["salt", 1]));
        for (d, want) in
            [(sd, "disclosure.reserved_name"), (dots, "disclosure.reserved_name"), (elem.clone(), "disclosure.shape")]
        {
            let p = payload_with(&[&sha256_b64(d.as_bytes())]);
            assert_eq!(process(p, &[&d], &l).err().unwrap().check(), want);
        }
        // A three-element disclosure referenced from an array element.
        let prop = enc(json!(["salt", "n", 1]));
        let Value::Object(p) = json!({"arr":[{"...": sha256_b64(prop.as_bytes())}]}) else { unreachable!() };
        assert_eq!(process(p, &[&prop], &l).err().unwrap().check(), "disclosure.shape");
        // A two-element one from an array element is fine.
        let Value::Object(p) = json!({"arr":[{"...": sha256_b64(elem.as_bytes())}, 2]}) else { unreachable!() };
        assert_eq!(process(p, &[&elem], &l).unwrap().claims["arr"], json!([1, 2]));
    }
}
