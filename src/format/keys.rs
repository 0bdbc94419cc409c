//! Issuer and holder keys — Ed25519 (the default) and P-256 for ES256 —,
//! their JWKs and RFC 7638 thumbprints.
//!
//! Secret keys are [`SigningKey`]s: they zeroize on drop, print as
//! `[redacted]`, are not `Serialize`, `Clone` or `PartialEq`, and their bytes
//! leave only through the explicitly named [`SigningKey::to_secret_string`]
//! and [`SigningKey::to_secret_bytes`].
//! The role parameter keeps an issuer key from being used where a holder
//! key is expected, and the other way round.
//!
//! The JWS `alg` of every token follows from the key type
//! ([`Algorithm::jws_alg`]); a token header never chooses the algorithm a
//! signature is checked with.

use std::fmt;
use std::marker::PhantomData;

use ed25519_dalek::Signer as _;
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use crate::error::{Error, MalformedError};
use crate::format::encoding::{b64_decode, b64_decode_array, b64_encode};
use crate::format::rng::{random_array, SecureRng};

mod sealed {
    pub trait Sealed {}
}

/// Who a key belongs to: [`Issuer`] or [`Holder`].
pub trait Role: sealed::Sealed {
    /// A short name used in `Debug` output.
    const NAME: &'static str;
}

/// The role of an issuer's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issuer {}
/// The role of a holder's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {}

impl sealed::Sealed for Issuer {}
impl sealed::Sealed for Holder {}
impl Role for Issuer {
    const NAME: &'static str = "issuer";
}
impl Role for Holder {
    const NAME: &'static str = "holder";
}

/// An issuer's secret key.
pub type IssuerSigningKey = SigningKey<Issuer>;
/// A holder's secret key (one per credential).
pub type HolderSigningKey = SigningKey<Holder>;
/// An issuer's public key.
pub type IssuerPublicKey = PublicKey<Issuer>;
/// A holder's public key, as carried in `cnf.jwk`.
pub type HolderPublicKey = PublicKey<Holder>;

/// A signature algorithm, fixed by the key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// Ed25519 (RFC 8032), JWS `alg` `EdDSA`. The default.
    Ed25519,
    /// ECDSA on P-256 with SHA-256, JWS `alg` `ES256` (OpenID4VC HAIP's
    /// mandatory algorithm).
    Es256,
}

impl Algorithm {
    /// The JWS `alg` this crate writes for the algorithm.
    pub fn jws_alg(self) -> &'static str {
        match self {
            Self::Ed25519 => "EdDSA",
            Self::Es256 => "ES256",
        }
    }

    /// Whether a token header's `alg` names this algorithm: `EdDSA` or the
    /// fully-specified `Ed25519` for Ed25519 keys, `ES256` for P-256 keys.
    /// Case matters (RFC 7515).
    pub fn accepts_jws_alg(self, alg: &str) -> bool {
        match self {
            Self::Ed25519 => alg == "EdDSA" || alg == "Ed25519",
            Self::Es256 => alg == "ES256",
        }
    }

    /// The algorithm a header `alg` names, if this crate supports it.
    pub(crate) fn from_jws_alg(alg: &str) -> Option<Self> {
        [Self::Ed25519, Self::Es256].into_iter().find(|a| a.accepts_jws_alg(alg))
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ed25519 => "ed25519",
            Self::Es256 => "es256",
        })
    }
}

impl std::str::FromStr for Algorithm {
    type Err = Error;
    /// `ed25519` (or `eddsa`) and `es256` (or `p-256`), any case.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "ed25519" | "eddsa" => Ok(Self::Ed25519),
            "es256" | "p-256" | "p256" => Ok(Self::Es256),
            _ => {
                Err(MalformedError::Request { reason: format!("unknown key algorithm {s:?} (ed25519 or es256)") }
                    .into())
            }
        }
    }
}

/// A P-256 secret: the scalar, kept zeroized, and ring's key pair.
///
/// ring keeps its own copy of the scalar inside [`EcdsaKeyPair`] and does not
/// zeroize it on drop; ours is zeroized.
struct P256Secret {
    d: Zeroizing<[u8; 32]>,
    pair: EcdsaKeyPair,
}

enum SecretInner {
    Ed25519(ed25519_dalek::SigningKey),
    P256(P256Secret),
}

/// A secret key for role `R`: Ed25519 or P-256. Zeroized on drop.
pub struct SigningKey<R: Role> {
    inner: SecretInner,
    role: PhantomData<R>,
}

/// The fixed PKCS#8 v1 prefix ring writes for a P-256 key, up to the scalar;
/// then `d`, [`P256_PKCS8_MID`], and the 65-byte SEC1 public point.
const P256_PKCS8_PREFIX: [u8; 36] = [
    0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
    0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x6d, 0x30, 0x6b, 0x02, 0x01, 0x01, 0x04, 0x20,
];
const P256_PKCS8_MID: [u8; 5] = [0xa1, 0x44, 0x03, 0x42, 0x00];
const P256_PKCS8_LEN: usize = 36 + 32 + 5 + 65;

fn p256_pkcs8(d: &[u8; 32], public: &[u8; 65]) -> Zeroizing<Vec<u8>> {
    let mut doc = Zeroizing::new(Vec::with_capacity(P256_PKCS8_LEN));
    doc.extend_from_slice(&P256_PKCS8_PREFIX);
    doc.extend_from_slice(d);
    doc.extend_from_slice(&P256_PKCS8_MID);
    doc.extend_from_slice(public);
    doc
}

impl<R: Role> SigningKey<R> {
    /// Generates a fresh Ed25519 key.
    pub fn generate(rng: &mut dyn SecureRng) -> Self {
        let seed = Zeroizing::new(random_array::<32>(rng));
        Self::from_secret_bytes(&seed)
    }

    /// Generates a fresh key of `alg`. Ed25519 keys come from `rng`; P-256
    /// keys from the operating system's generator through ring (ring
    /// generates ECDSA keys only from its own generator), so a seeded `rng`
    /// does not make them reproducible.
    pub fn generate_with(alg: Algorithm, rng: &mut dyn SecureRng) -> Result<Self, Error> {
        match alg {
            Algorithm::Ed25519 => Ok(Self::generate(rng)),
            Algorithm::Es256 => {
                let sys = ring::rand::SystemRandom::new();
                let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &sys)
                    .map_err(|_| Error::from(MalformedError::Jwk))?;
                let doc = Zeroizing::new(doc.as_ref().to_vec());
                let d: [u8; 32] = doc
                    .get(P256_PKCS8_PREFIX.len()..P256_PKCS8_PREFIX.len() + 32)
                    .and_then(|s| s.try_into().ok())
                    .ok_or(MalformedError::Jwk)?;
                let d = Zeroizing::new(d);
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &doc, &sys)
                    .map_err(|_| Error::from(MalformedError::Jwk))?;
                if doc.len() != P256_PKCS8_LEN || !doc.starts_with(&P256_PKCS8_PREFIX) {
                    return Err(MalformedError::Jwk.into());
                }
                Ok(Self { inner: SecretInner::P256(P256Secret { d, pair }), role: PhantomData })
            }
        }
    }

    /// Rebuilds an Ed25519 key from its 32 secret bytes (the RFC 8032 seed).
    pub fn from_secret_bytes(bytes: &[u8; 32]) -> Self {
        Self { inner: SecretInner::Ed25519(ed25519_dalek::SigningKey::from_bytes(bytes)), role: PhantomData }
    }

    /// Rebuilds a P-256 key from its scalar `d` and its public point (SEC1
    /// uncompressed, 65 bytes). Refused unless they belong together.
    pub fn from_p256_secret(d: &[u8; 32], public: &[u8; 65]) -> Result<Self, Error> {
        let doc = p256_pkcs8(d, public);
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &doc, &ring::rand::SystemRandom::new())
            .map_err(|_| Error::from(MalformedError::Jwk))?;
        Ok(Self { inner: SecretInner::P256(P256Secret { d: Zeroizing::new(*d), pair }), role: PhantomData })
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self.inner {
            SecretInner::Ed25519(_) => Algorithm::Ed25519,
            SecretInner::P256(_) => Algorithm::Es256,
        }
    }

    /// The 32 secret bytes — the Ed25519 seed or the P-256 scalar. A P-256
    /// key cannot be rebuilt from them alone; store keys with
    /// [`SigningKey::to_secret_string`]. The buffer zeroizes itself on drop.
    pub fn to_secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        match &self.inner {
            SecretInner::Ed25519(k) => Zeroizing::new(k.to_bytes()),
            SecretInner::P256(s) => s.d.clone(),
        }
    }

    /// The key as one string for an owner-only file: base64url of the
    /// Ed25519 seed, or `p256:` and base64url of `d ‖ public point`.
    /// Read it back with [`SigningKey::from_secret_string`].
    pub fn to_secret_string(&self) -> Zeroizing<String> {
        match &self.inner {
            SecretInner::Ed25519(k) => Zeroizing::new(b64_encode(Zeroizing::new(k.to_bytes()).as_ref())),
            SecretInner::P256(s) => {
                let mut raw = Zeroizing::new(Vec::with_capacity(97));
                raw.extend_from_slice(s.d.as_ref());
                raw.extend_from_slice(s.pair.public_key().as_ref());
                Zeroizing::new(format!("p256:{}", b64_encode(raw.as_slice())))
            }
        }
    }

    /// Parses [`SigningKey::to_secret_string`]'s output.
    pub fn from_secret_string(s: &str) -> Result<Self, Error> {
        match s.strip_prefix("p256:") {
            None => {
                let seed = Zeroizing::new(b64_decode_array::<32>(s, "secret key")?);
                Ok(Self::from_secret_bytes(&seed))
            }
            Some(rest) => {
                let raw = Zeroizing::new(b64_decode_array::<97>(rest, "secret key")?);
                let mut d = Zeroizing::new([0u8; 32]);
                d.copy_from_slice(&raw[..32]);
                let public: [u8; 65] = raw[32..].try_into().map_err(|_| MalformedError::Jwk)?;
                Self::from_p256_secret(&d, &public)
            }
        }
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey<R> {
        let inner = match &self.inner {
            SecretInner::Ed25519(k) => PublicInner::Ed25519(k.verifying_key()),
            SecretInner::P256(s) => {
                let mut p = [0u8; 65];
                p.copy_from_slice(s.pair.public_key().as_ref());
                PublicInner::P256(p)
            }
        };
        PublicKey { inner, role: PhantomData }
    }

    /// Signs `msg`: pure Ed25519 (RFC 8032), or ECDSA P-256 SHA-256 with
    /// the fixed 64-byte `r ‖ s` encoding JWS uses.
    pub(crate) fn sign(&self, msg: &[u8]) -> [u8; 64] {
        match &self.inner {
            SecretInner::Ed25519(k) => k.sign(msg).to_bytes(),
            SecretInner::P256(s) => {
                let mut out = [0u8; 64];
                // Signing fails only if the OS generator does; ring has no
                // other failure for a valid key. Fail closed: an all-zero
                // signature never verifies (r = 0 is invalid).
                if let Ok(sig) = s.pair.sign(&ring::rand::SystemRandom::new(), msg) {
                    if sig.as_ref().len() == 64 {
                        out.copy_from_slice(sig.as_ref());
                    }
                }
                out
            }
        }
    }
}

impl<R: Role> fmt::Debug for SigningKey<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SigningKey<{}>{{ alg: {}, public: {}, secret: [redacted] }}",
            R::NAME,
            self.algorithm(),
            self.public_key().thumbprint()
        )
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PublicInner {
    Ed25519(ed25519_dalek::VerifyingKey),
    /// SEC1 uncompressed: `0x04 ‖ x ‖ y`.
    P256([u8; 65]),
}

/// A public key for role `R`: Ed25519 or P-256.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey<R: Role> {
    inner: PublicInner,
    role: PhantomData<R>,
}

impl<R: Role> PublicKey<R> {
    /// Parses 32 bytes of compressed Edwards point (an Ed25519 key).
    /// Rejects bytes that are not a point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, Error> {
        ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map(|k| Self { inner: PublicInner::Ed25519(k), role: PhantomData })
            .map_err(|_| MalformedError::Jwk.into())
    }

    /// The key's bytes: the 32-byte compressed Edwards point, or the
    /// 65-byte SEC1 uncompressed P-256 point.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.inner {
            PublicInner::Ed25519(k) => k.as_bytes(),
            PublicInner::P256(p) => p,
        }
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self.inner {
            PublicInner::Ed25519(_) => Algorithm::Ed25519,
            PublicInner::P256(_) => Algorithm::Es256,
        }
    }

    /// Whether this is a small-order ("weak") Ed25519 point, for which
    /// signatures prove nothing. Always false for P-256 keys (ring checks
    /// that a P-256 point is on the curve whenever it verifies with it).
    pub fn is_weak(&self) -> bool {
        match &self.inner {
            PublicInner::Ed25519(k) => k.is_weak(),
            PublicInner::P256(_) => false,
        }
    }

    /// The key as a JWK: `{"kty":"OKP","crv":"Ed25519","x":...}` or
    /// `{"kty":"EC","crv":"P-256","x":...,"y":...}`.
    pub fn to_jwk(&self) -> Value {
        match &self.inner {
            PublicInner::Ed25519(k) => json!({"kty": "OKP", "crv": "Ed25519", "x": b64_encode(k.as_bytes())}),
            PublicInner::P256(p) => {
                json!({"kty": "EC", "crv": "P-256", "x": b64_encode(&p[1..33]), "y": b64_encode(&p[33..])})
            }
        }
    }

    /// Parses an OKP/Ed25519 or EC/P-256 JWK. Members other than `kty`,
    /// `crv`, `x`, `y`, `kid`, `alg` and `use` are ignored; a private `d` is
    /// refused, and so is an `alg` that does not fit the key type.
    pub fn from_jwk(jwk: &Value) -> Result<Self, Error> {
        let m = jwk.as_object().ok_or(MalformedError::Jwk)?;
        Self::from_jwk_map(m)
    }

    pub(crate) fn from_jwk_map(m: &Map<String, Value>) -> Result<Self, Error> {
        let field = |k: &str| m.get(k).and_then(Value::as_str);
        if m.contains_key("d") {
            return Err(MalformedError::Jwk.into());
        }
        let key = match (field("kty"), field("crv")) {
            (Some("OKP"), Some("Ed25519")) => {
                let x = field("x").ok_or(MalformedError::Jwk)?;
                let bytes = b64_decode_array::<32>(x, "jwk x").map_err(|_| MalformedError::Jwk)?;
                Self::from_bytes(&bytes)?
            }
            (Some("EC"), Some("P-256")) => {
                let coord = |k: &str| {
                    field(k)
                        .and_then(|v| b64_decode(v, "jwk coordinate").ok())
                        .filter(|b| b.len() == 32)
                        .ok_or(MalformedError::Jwk)
                };
                let mut p = [0u8; 65];
                p[0] = 4;
                p[1..33].copy_from_slice(&coord("x")?);
                p[33..].copy_from_slice(&coord("y")?);
                if !p256::on_curve(&p) {
                    return Err(MalformedError::Jwk.into());
                }
                Self { inner: PublicInner::P256(p), role: PhantomData }
            }
            _ => return Err(MalformedError::Jwk.into()),
        };
        match m.get("alg") {
            None => {}
            Some(Value::String(a)) if key.algorithm().accepts_jws_alg(a) => {}
            Some(_) => return Err(MalformedError::Jwk.into()),
        }
        Ok(key)
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url), used as `kid`.
    pub fn thumbprint(&self) -> String {
        let canonical = match &self.inner {
            PublicInner::Ed25519(k) => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64_encode(k.as_bytes())),
            PublicInner::P256(p) => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                b64_encode(&p[1..33]),
                b64_encode(&p[33..])
            ),
        };
        b64_encode(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()))
    }

    /// Checks a signature over `msg` with this key's own algorithm: Ed25519
    /// under the crate's one rule (see `src/ed25519.rs`: canonical `s`, `A`
    /// and `R`, neither of small order, the cofactored equation; batch
    /// verification agrees), or ECDSA P-256 SHA-256 (`r ‖ s`).
    pub(crate) fn verify(&self, msg: &[u8], sig: &[u8; 64]) -> bool {
        match &self.inner {
            PublicInner::Ed25519(_) => self.ed25519_key().is_some_and(|k| crate::format::ed25519::verify(&k, msg, sig)),
            PublicInner::P256(p) => {
                ring::signature::UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, p).verify(msg, sig).is_ok()
            }
        }
    }

    /// The key for [`crate::format::ed25519`]: `None` for a P-256 key, or an
    /// Ed25519 key that is non-canonical or of small order.
    pub(crate) fn ed25519_key(&self) -> Option<crate::format::ed25519::VerifyKey> {
        match &self.inner {
            PublicInner::Ed25519(k) => crate::format::ed25519::VerifyKey::from_dalek(k),
            PublicInner::P256(_) => None,
        }
    }
}

/// The P-256 curve equation, so that a JWK whose point is not on the curve
/// is refused when it is parsed (ring would refuse it only when verifying,
/// and report a bad signature). Variable-time: public keys are public.
mod p256 {
    type U256 = [u64; 4]; // little-endian limbs

    const P: U256 = [0xffff_ffff_ffff_ffff, 0x0000_0000_ffff_ffff, 0x0000_0000_0000_0000, 0xffff_ffff_0000_0001];
    const B: U256 = [0x3bce_3c3e_27d2_604b, 0x651d_06b0_cc53_b0f6, 0xb3eb_bd55_7698_86bc, 0x5ac6_35d8_aa3a_93e7];

    fn from_be(bytes: &[u8]) -> U256 {
        let mut out = [0u64; 4];
        for (i, chunk) in bytes.chunks_exact(8).enumerate() {
            let mut limb = [0u8; 8];
            limb.copy_from_slice(chunk);
            out[3 - i] = u64::from_be_bytes(limb);
        }
        out
    }

    fn less_than_p(a: &U256) -> bool {
        for i in (0..4).rev() {
            if a[i] != P[i] {
                return a[i] < P[i];
            }
        }
        false
    }

    /// a − b on 256 bits, wrapping (callers ensure a ≥ b, or want the wrap).
    fn sub_raw(a: &U256, b: &U256) -> U256 {
        let mut out = [0u64; 4];
        let mut borrow = false;
        for i in 0..4 {
            let (d, b1) = a[i].overflowing_sub(b[i]);
            let (d, b2) = d.overflowing_sub(u64::from(borrow));
            out[i] = d;
            borrow = b1 || b2;
        }
        out
    }

    /// (a + b) mod p, for a, b < p.
    fn add(a: &U256, b: &U256) -> U256 {
        let mut out = [0u64; 4];
        let mut carry = false;
        for i in 0..4 {
            let (s, c1) = a[i].overflowing_add(b[i]);
            let (s, c2) = s.overflowing_add(u64::from(carry));
            out[i] = s;
            carry = c1 || c2;
        }
        if carry || !less_than_p(&out) {
            sub_raw(&out, &P)
        } else {
            out
        }
    }

    /// (a - b) mod p, for a, b < p.
    fn sub(a: &U256, b: &U256) -> U256 {
        let neg_b = if *b == [0; 4] { [0; 4] } else { sub_raw(&P, b) };
        add(a, &neg_b)
    }

    /// (a · b) mod p by double-and-add: slow, simple, only for parsing keys.
    fn mul(a: &U256, b: &U256) -> U256 {
        let mut r = [0u64; 4];
        for i in (0..256).rev() {
            r = add(&r, &r);
            if (b[i / 64] >> (i % 64)) & 1 == 1 {
                r = add(&r, a);
            }
        }
        r
    }

    /// Whether `0x04 ‖ x ‖ y` has coordinates below p and y² = x³ − 3x + b.
    pub(super) fn on_curve(point: &[u8; 65]) -> bool {
        let (x, y) = (from_be(&point[1..33]), from_be(&point[33..]));
        if point[0] != 4 || !less_than_p(&x) || !less_than_p(&y) {
            return false;
        }
        let x3 = mul(&mul(&x, &x), &x);
        let three_x = add(&add(&x, &x), &x);
        let rhs = add(&sub(&x3, &three_x), &B);
        mul(&y, &y) == rhs
    }
}

impl<R: Role> fmt::Debug for PublicKey<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey<{}>({} {})", R::NAME, self.algorithm(), self.thumbprint())
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::hazmat::SeededRng;

    #[test]
    fn debug_never_prints_secret_bytes() {
        let key = IssuerSigningKey::generate(&mut SeededRng::new(b"debug"));
        let secret = key.to_secret_bytes();
        let shown = format!("{key:?}");
        assert!(shown.contains("[redacted]"));
        assert!(!shown.contains(&b64_encode(*secret)));
        assert!(!shown.contains(&format!("{:?}", *secret)));
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!shown.contains(&hex));
    }

    #[test]
    fn rfc8037_thumbprint_vector() {
        // RFC 8037 Appendix A.3: the thumbprint of the A.2 public key.
        let jwk = json!({"kty":"OKP","crv":"Ed25519",
            "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let pk = HolderPublicKey::from_jwk(&jwk).unwrap();
        assert_eq!(pk.thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn jwk_round_trip_and_rejections() {
        let key = HolderSigningKey::generate(&mut SeededRng::new(b"jwk"));
        let pk = key.public_key();
        assert_eq!(HolderPublicKey::from_jwk(&pk.to_jwk()).unwrap(), pk);
        let mut with_d = pk.to_jwk();
        with_d["d"] = json!("AAAA");
        assert!(HolderPublicKey::from_jwk(&with_d).is_err());
        let mut p256 = pk.to_jwk();
        p256["crv"] = json!("P-256");
        assert!(HolderPublicKey::from_jwk(&p256).is_err());
    }

    #[test]
    fn small_order_point_is_weak() {
        // The identity point (y = 1) has order 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(HolderPublicKey::from_bytes(&identity).unwrap().is_weak());
    }

    #[test]
    fn p256_keys_sign_verify_and_round_trip() {
        let key = HolderSigningKey::generate_with(Algorithm::Es256, &mut SeededRng::new(b"p")).unwrap();
        let pk = key.public_key();
        assert_eq!(pk.algorithm(), Algorithm::Es256);
        let sig = key.sign(b"msg");
        assert!(pk.verify(b"msg", &sig));
        assert!(!pk.verify(b"msh", &sig));
        assert_eq!(HolderPublicKey::from_jwk(&pk.to_jwk()).unwrap(), pk);
        assert_eq!(pk.to_jwk()["kty"], "EC");
        let again = HolderSigningKey::from_secret_string(&key.to_secret_string()).unwrap();
        assert_eq!(again.public_key(), pk);
        // A scalar that does not belong to the public point is refused.
        let other = HolderSigningKey::generate_with(Algorithm::Es256, &mut SeededRng::new(b"q")).unwrap();
        let mut point = [0u8; 65];
        point.copy_from_slice(pk.as_bytes());
        assert!(HolderSigningKey::from_p256_secret(&other.to_secret_bytes(), &point).is_err());
    }

    #[test]
    fn p256_jwk_points_must_be_on_the_curve() {
        // RFC 9901 appendix A.5's issuer key.
        let good = json!({"kty":"EC","crv":"P-256",
            "x":"b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ","y":"Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"});
        assert!(IssuerPublicKey::from_jwk(&good).is_ok());
        let mut bad = good.clone();
        bad["y"] = json!("Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk9");
        assert!(IssuerPublicKey::from_jwk(&bad).is_err());
        // (0, √b) is on the curve; x + p is the same residue, so only the
        // range check refuses that alias (it would give the key a second
        // thumbprint).
        let sqrt_b = "ZkhceA4vg9ckM71dhKBrtlQcKvMdrocXKL-FahdPk_Q";
        let zero = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let p = "_____wAAAAEAAAAAAAAAAAAAAAD_______________8";
        assert!(IssuerPublicKey::from_jwk(&json!({"kty":"EC","crv":"P-256","x":zero,"y":sqrt_b})).is_ok());
        for (x, y) in [(p, sqrt_b), ("AA", "AA")] {
            let jwk = json!({"kty":"EC","crv":"P-256","x":x,"y":y});
            assert!(IssuerPublicKey::from_jwk(&jwk).is_err(), "{x}");
        }
        for _ in 0..8 {
            let k = IssuerSigningKey::generate_with(Algorithm::Es256, &mut SeededRng::new(b"r")).unwrap();
            assert!(IssuerPublicKey::from_jwk(&k.public_key().to_jwk()).is_ok());
        }
        // An Ed25519 key's alg on an EC key is refused.
        let mut wrong_alg = good;
        wrong_alg["alg"] = json!("EdDSA");
        assert!(IssuerPublicKey::from_jwk(&wrong_alg).is_err());
    }
}
