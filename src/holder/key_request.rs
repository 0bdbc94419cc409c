//! The holder's side of batch issuance: fresh keys, each with a proof of
//! possession over the issuer's nonce.

use serde_json::json;

use crate::error::Error;
use crate::format::keys::{Algorithm, HolderPublicKey};
use crate::format::rng::SecureRng;
use crate::format::time::UnixTime;
use crate::holder::wallet::Wallet;
use crate::profile::key_request::{KeyRequest, PROOF_TYP};

impl Wallet {
    /// Generates `count` fresh keys, keeps them, and signs a proof of
    /// possession with each, over the issuer's nonce ([`crate::Issuer::nonce`]) and
    /// for the issuer as audience when they are known.
    pub fn request_keys(
        &mut self,
        count: usize,
        issuer: Option<(&str, &str)>,
        now: UnixTime,
        rng: &mut dyn SecureRng,
    ) -> KeyRequest {
        let mut keys = Vec::with_capacity(count);
        for _ in 0..count {
            keys.push(self.generate_key(rng));
        }
        self.prove_possession(keys, issuer, now)
    }

    /// Like [`Wallet::request_keys`], with keys of `alg` (e.g. ES256 for an
    /// issuer that accepts only P-256 holder keys).
    pub fn request_keys_with(
        &mut self,
        alg: Algorithm,
        count: usize,
        issuer: Option<(&str, &str)>,
        now: UnixTime,
        rng: &mut dyn SecureRng,
    ) -> Result<KeyRequest, Error> {
        let mut keys = Vec::with_capacity(count);
        for _ in 0..count {
            keys.push(self.generate_key_with(alg, rng)?);
        }
        Ok(self.prove_possession(keys, issuer, now))
    }

    fn prove_possession(&self, keys: Vec<HolderPublicKey>, issuer: Option<(&str, &str)>, now: UnixTime) -> KeyRequest {
        let entries = keys
            .into_iter()
            .map(|public| {
                let mut payload = json!({"iat": now.as_secs()});
                if let Some((aud, nonce)) = issuer {
                    payload["aud"] = json!(aud);
                    payload["nonce"] = json!(nonce);
                }
                let proof = self.sign_with(&public, &json!({"typ": PROOF_TYP}), &payload);
                (public, proof.unwrap_or_default())
            })
            .collect();
        KeyRequest { entries }
    }
}
