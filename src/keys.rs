//! Ed25519 keys for issuers and holders, their JWKs and RFC 7638 thumbprints.
//!
//! Secret keys are [`SigningKey`]s: they zeroize on drop, print as
//! `[redacted]`, are not `Serialize`, `Clone` or `PartialEq`, and their bytes
//! leave only through the explicitly named [`SigningKey::to_secret_bytes`].
//! The role parameter keeps an issuer key from being used where a holder
//! key is expected, and the other way round.

use std::fmt;
use std::marker::PhantomData;

use ed25519_dalek::Signer as _;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::encoding::{b64_decode_array, b64_encode};
use crate::error::{Error, MalformedError};
use crate::rng::{random_array, SecureRng};

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

/// An issuer's Ed25519 secret key.
pub type IssuerSigningKey = SigningKey<Issuer>;
/// A holder's Ed25519 secret key (one per credential).
pub type HolderSigningKey = SigningKey<Holder>;
/// An issuer's Ed25519 public key.
pub type IssuerPublicKey = PublicKey<Issuer>;
/// A holder's Ed25519 public key, as carried in `cnf.jwk`.
pub type HolderPublicKey = PublicKey<Holder>;

/// An Ed25519 secret key for role `R`. Zeroized on drop.
pub struct SigningKey<R: Role> {
    inner: ed25519_dalek::SigningKey,
    role: PhantomData<R>,
}

impl<R: Role> SigningKey<R> {
    /// Generates a fresh key.
    pub fn generate(rng: &mut dyn SecureRng) -> Self {
        let seed = Zeroizing::new(random_array::<32>(rng));
        Self::from_secret_bytes(&seed)
    }

    /// Rebuilds a key from its 32 secret bytes (the RFC 8032 seed).
    pub fn from_secret_bytes(bytes: &[u8; 32]) -> Self {
        Self { inner: ed25519_dalek::SigningKey::from_bytes(bytes), role: PhantomData }
    }

    /// The 32 secret bytes, for storing the key in an owner-only file.
    /// The returned buffer zeroizes itself on drop.
    pub fn to_secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.inner.to_bytes())
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey<R> {
        PublicKey { inner: self.inner.verifying_key(), role: PhantomData }
    }

    /// Signs `msg` (pure Ed25519, RFC 8032).
    pub(crate) fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.inner.sign(msg).to_bytes()
    }
}

impl<R: Role> fmt::Debug for SigningKey<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey<{}>{{ public: {}, secret: [redacted] }}", R::NAME, self.public_key().thumbprint())
    }
}

/// An Ed25519 public key for role `R`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey<R: Role> {
    inner: ed25519_dalek::VerifyingKey,
    role: PhantomData<R>,
}

impl<R: Role> PublicKey<R> {
    /// Parses 32 bytes of compressed Edwards point. Rejects bytes that are
    /// not a point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, Error> {
        ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map(|inner| Self { inner, role: PhantomData })
            .map_err(|_| MalformedError::Jwk.into())
    }

    /// The 32 bytes of the compressed point.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.inner.to_bytes()
    }

    /// Whether this is a small-order ("weak") point, for which signatures
    /// prove nothing.
    pub fn is_weak(&self) -> bool {
        self.inner.is_weak()
    }

    /// The key as a JWK: `{"kty":"OKP","crv":"Ed25519","x":...}`.
    pub fn to_jwk(&self) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "x": b64_encode(self.to_bytes())})
    }

    /// Parses an OKP/Ed25519 JWK. Members other than `kty`, `crv`, `x`,
    /// `kid`, `alg` and `use` are ignored; a private `d` is refused.
    pub fn from_jwk(jwk: &Value) -> Result<Self, Error> {
        let m = jwk.as_object().ok_or(MalformedError::Jwk)?;
        let field = |k: &str| m.get(k).and_then(Value::as_str);
        if field("kty") != Some("OKP") || field("crv") != Some("Ed25519") || m.contains_key("d") {
            return Err(MalformedError::Jwk.into());
        }
        if let Some(alg) = m.get("alg") {
            if alg != "EdDSA" && alg != "Ed25519" {
                return Err(MalformedError::Jwk.into());
            }
        }
        let x = field("x").ok_or(MalformedError::Jwk)?;
        let bytes = b64_decode_array::<32>(x, "jwk x").map_err(|_| MalformedError::Jwk)?;
        Self::from_bytes(&bytes)
    }

    /// The RFC 7638 JWK SHA-256 thumbprint, base64url: the `kid` of an
    /// issuer key and the identifier of a holder key.
    pub fn thumbprint(&self) -> String {
        // RFC 7638 §3.2: required members only, lexicographic order, no
        // whitespace.
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64_encode(self.to_bytes()));
        b64_encode(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()))
    }

    /// Verifies an Ed25519 signature under the crate's one rule (see
    /// `src/ed25519.rs`): canonical `s`, `A` and `R`, neither of small
    /// order, and the cofactored equation; batch verification agrees.
    pub(crate) fn verify(&self, msg: &[u8], sig: &[u8; 64]) -> bool {
        self.ed25519_key().is_some_and(|k| crate::ed25519::verify(&k, msg, sig))
    }

    /// The key for [`crate::ed25519`], `None` if it is non-canonical or of
    /// small order.
    pub(crate) fn ed25519_key(&self) -> Option<crate::ed25519::VerifyKey> {
        crate::ed25519::VerifyKey::from_dalek(&self.inner)
    }
}

impl<R: Role> fmt::Debug for PublicKey<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey<{}>({})", R::NAME, self.thumbprint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hazmat::SeededRng;

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
}
