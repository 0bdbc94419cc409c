//! The protocol's secrets: pre-authorized codes, transaction codes, access
//! tokens and c_nonces.
//!
//! Each is its own type: zeroized on drop, printed as `[redacted]`, not
//! `Serialize`, readable only through `expose_secret`. The issuer never
//! stores one: its state is keyed by [`SecretDigest`]s (SHA-256 under a
//! label of the secret's kind), so a copy of the state grants nothing, and
//! looking a digest up leaks nothing about the secret. A transaction code
//! is stored as a digest over the pre-authorized code *and* the
//! transaction code, so a copy of the state does not let anyone try the few
//! million six-digit codes offline either; it is compared in constant time.

use std::fmt;

use zeroize::Zeroizing;

use crate::format::encoding::b64_encode;
use crate::format::rng::{random_array, SecureRng};

/// The most bytes a code or token received from the network may have.
pub(crate) const MAX_SECRET_BYTES: usize = 512;

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(Zeroizing<String>);

        impl $name {
            /// Wraps a value received from the other party.
            pub fn new(value: impl Into<String>) -> Self {
                Self(Zeroizing::new(value.into()))
            }

            /// The value, to put on the wire. Handle as a secret.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }

        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl PartialEq for $name {
            /// Constant-time in the contents (the lengths may differ
            /// observably).
            fn eq(&self, other: &Self) -> bool {
                ct_eq(self.0.as_bytes(), other.0.as_bytes())
            }
        }
        impl Eq for $name {}
    };
}

/// A random secret the issuer makes and keys its state by.
macro_rules! issuer_made {
    ($name:ident, $label:literal) => {
        impl $name {
            /// A fresh random value: 32 bytes from `rng`, base64url.
            pub(crate) fn generate(rng: &mut dyn SecureRng) -> Self {
                let raw = Zeroizing::new(random_array::<32>(rng));
                Self(Zeroizing::new(b64_encode(raw.as_ref())))
            }

            /// The digest the issuer's state is keyed by.
            pub(crate) fn digest(&self) -> SecretDigest {
                SecretDigest::of(&[$label, self.0.as_bytes()])
            }
        }
    };
}

secret_type!(
    /// A pre-authorized code: the issuer's authorization, carried in a
    /// credential offer, to exchange for an access token once.
    PreAuthorizedCode
);
secret_type!(
    /// A transaction code (`tx_code`): sent to the holder over a second
    /// channel, entered in the wallet, sent with the token request.
    TxCode
);
secret_type!(
    /// An access token (a random bearer token, RFC 6750).
    AccessToken
);
secret_type!(
    /// A `c_nonce`: the issuer's challenge that proofs of possession sign.
    CNonce
);
issuer_made!(PreAuthorizedCode, b"creditproof/oid4vci/v1/pre-authorized_code");
issuer_made!(AccessToken, b"creditproof/oid4vci/v1/access_token");

impl TxCode {
    /// A fresh numeric code of `length` digits, uniform over `0..10^length`.
    pub(crate) fn generate_numeric(length: usize, rng: &mut dyn SecureRng) -> Self {
        let mut code = Zeroizing::new(String::with_capacity(length));
        while code.len() < length {
            let mut byte = Zeroizing::new([0u8; 1]);
            rng.fill(byte.as_mut());
            // 250 = 25 · 10: rejecting 250..=255 keeps the digits uniform.
            if byte[0] < 250 {
                code.push(char::from(b'0' + byte[0] % 10));
            }
        }
        Self(code)
    }

    /// The digest a transaction code is stored as: bound to the
    /// pre-authorized code it belongs to.
    pub(crate) fn digest_for(&self, code: &PreAuthorizedCode) -> SecretDigest {
        SecretDigest::of(&[b"creditproof/oid4vci/v1/tx_code", code.0.as_bytes(), self.0.as_bytes()])
    }
}

/// SHA-256 of a secret under a label of its kind: what the issuer's state
/// is keyed by, in place of the secret. Not itself secret (the secrets are
/// 256-bit random values, or bound to one), and compared in constant time.
#[derive(Clone, Copy, Eq)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// The digest of `parts`, each length-prefixed so that no two lists of
    /// parts collide.
    fn of(parts: &[&[u8]]) -> Self {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for p in parts {
            ctx.update(&u64::try_from(p.len()).unwrap_or(u64::MAX).to_be_bytes());
            ctx.update(p);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        Self(out)
    }

    /// The 32 bytes, for a store's key column.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Rebuilds a digest read back from a store.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl PartialEq for SecretDigest {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(&self.0, &other.0)
    }
}

impl std::hash::Hash for SecretDigest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short: String = self.0[..4].iter().map(|b| format!("{b:02x}")).collect();
        write!(f, "SecretDigest({short}…)")
    }
}

/// Equality without a data-dependent early exit (lengths excepted).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    core::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::hazmat::SeededRng;

    #[test]
    fn secrets_do_not_print_and_digests_differ_by_kind() {
        let mut rng = SeededRng::new(b"secrets");
        let code = PreAuthorizedCode::generate(&mut rng);
        assert_eq!(code.expose_secret().len(), 43);
        assert!(!format!("{code:?}").contains(code.expose_secret()));
        let same = AccessToken::new(code.expose_secret());
        assert_ne!(code.digest(), same.digest(), "one value, two kinds, two digests");
        assert_eq!(code.digest(), PreAuthorizedCode::new(code.expose_secret()).digest());
        let tx = TxCode::generate_numeric(6, &mut rng);
        assert_eq!(tx.expose_secret().len(), 6);
        assert!(tx.expose_secret().bytes().all(|b| b.is_ascii_digit()));
        assert!(!format!("{tx:?}").contains(tx.expose_secret()));
        let other = PreAuthorizedCode::generate(&mut rng);
        assert_ne!(tx.digest_for(&code), tx.digest_for(&other), "bound to its code");
        assert_eq!(TxCode::new("123"), TxCode::new("123"));
        assert_ne!(TxCode::new("123"), TxCode::new("124"));
        assert_ne!(TxCode::new("123"), TxCode::new("1234"));
    }

    #[test]
    fn numeric_codes_use_every_digit() {
        let mut rng = SeededRng::new(b"digits");
        let mut seen = [0u32; 10];
        for b in TxCode::generate_numeric(2000, &mut rng).expose_secret().bytes() {
            seen[usize::from(b - b'0')] += 1;
        }
        assert!(seen.iter().all(|&n| (140..=260).contains(&n)), "{seen:?}");
    }
}
