//! The issuer's side of batch issuance: stateless nonces, checking a
//! [`KeyRequest`]'s proofs of possession, and signing one credential per key
//! in parallel.

use ring::hmac;
use serde_json::Value;

use crate::error::{Error, IssuanceError, MalformedError};
use crate::format::encoding::{b64_decode, b64_encode, get_u64, parse_json_object};
use crate::format::jws::UnverifiedJws;
use crate::format::keys::HolderPublicKey;
use crate::format::rng::{random_array, SecureRng};
use crate::format::time::UnixTime;
use crate::issuer::{Claims, Issuer};
use crate::profile::credential::IssuedCredential;
use crate::profile::key_request::{KeyRequest, NoncePolicy, NONCE_LIFETIME_SECS, PROOF_TYP};
use crate::profile::status::StatusRef;
use crate::Limits;

impl KeyRequest {
    /// Parses a key request and checks every proof of possession: signed by
    /// its key, at most a day old at `now`, and — when present, or always
    /// with [`NoncePolicy::Required`] — for `issuer` as audience over a nonce
    /// this issuer made within the last hour.
    pub fn from_json(
        bytes: &[u8],
        issuer: &Issuer,
        nonce: NoncePolicy,
        now: UnixTime,
        limits: &Limits,
    ) -> Result<Self, Error> {
        let m = parse_json_object(bytes, limits, "holder keys")?;
        let bad = |reason: &str| Error::from(MalformedError::Request { reason: format!("holder keys: {reason}") });
        if m.get("type").and_then(Value::as_str) != Some("creditproof-holder-keys/1") {
            return Err(bad("not a holder keys file"));
        }
        let keys = m.get("keys").and_then(Value::as_array).ok_or_else(|| bad("no `keys` array"))?;
        if keys.is_empty() {
            return Err(bad("no keys"));
        }
        if keys.len() > issuer.max_batch() {
            return Err(IssuanceError::BatchTooLarge { limit: issuer.max_batch() }.into());
        }
        let mut entries = Vec::with_capacity(keys.len());
        for k in keys {
            let key = HolderPublicKey::from_jwk(k.get("jwk").ok_or_else(|| bad("entry without `jwk`"))?)?;
            if key.is_weak() {
                return Err(IssuanceError::WeakHolderKey.into());
            }
            let proof = k.get("proof").and_then(Value::as_str).ok_or_else(|| bad("entry without `proof`"))?;
            check_proof(proof, &key, issuer, nonce, now, limits)?;
            if entries.iter().any(|(e, _): &(HolderPublicKey, String)| *e == key) {
                return Err(bad("the same key twice"));
            }
            entries.push((key, proof.to_owned()));
        }
        Ok(Self { entries })
    }
}

fn check_proof(
    proof: &str,
    key: &HolderPublicKey,
    issuer: &Issuer,
    policy: NoncePolicy,
    now: UnixTime,
    limits: &Limits,
) -> Result<(), Error> {
    let pop = |reason| Error::from(IssuanceError::ProofOfPossession { reason });
    let jws = UnverifiedJws::parse(proof, PROOF_TYP, limits, "proof of possession")?;
    if !jws.verify(key) {
        return Err(pop("signature"));
    }
    let iat = get_u64(&jws.payload, "iat")?;
    if iat > now.as_secs().saturating_add(300) || now.as_secs().saturating_sub(iat) > crate::DAY {
        return Err(pop("iat"));
    }
    let (aud, nonce) = (jws.payload.get("aud"), jws.payload.get("nonce"));
    if policy == NoncePolicy::Required && aud.is_none() && nonce.is_none() {
        return Err(IssuanceError::ProofWithoutNonce.into());
    }
    match (aud, policy) {
        (Some(Value::String(aud)), _) if aud == issuer.id() => {}
        (None, NoncePolicy::IfPresent) => {}
        _ => return Err(pop("audience")),
    }
    match (nonce, policy) {
        (Some(Value::String(nonce)), _) => issuer.check_nonce(nonce, now),
        (None, NoncePolicy::IfPresent) => Ok(()),
        _ => Err(pop("nonce")),
    }
}

impl Issuer {
    fn nonce_key(&self) -> hmac::Key {
        let secret = self.secret_for(b"creditproof/issuer/v1/nonce");
        hmac::Key::new(hmac::HMAC_SHA256, secret.as_ref())
    }

    /// A fresh nonce for holders' proofs of possession: `time || HMAC`, so
    /// the issuer needs no state to check it; valid for
    /// [`NONCE_LIFETIME_SECS`].
    pub fn nonce(&self, now: UnixTime, rng: &mut dyn SecureRng) -> String {
        let mut msg = now.as_secs().to_be_bytes().to_vec();
        msg.extend_from_slice(&random_array::<8>(rng));
        let tag = hmac::sign(&self.nonce_key(), &msg);
        msg.extend_from_slice(tag.as_ref());
        b64_encode(msg)
    }

    /// Checks a nonce from [`Issuer::nonce`] at `now`.
    pub fn check_nonce(&self, nonce: &str, now: UnixTime) -> Result<(), Error> {
        let bad = || Error::from(IssuanceError::ProofOfPossession { reason: "nonce" });
        if nonce.len() != 64 {
            return Err(bad());
        }
        let raw = b64_decode(nonce, "nonce").map_err(|_| bad())?;
        let (msg, tag) = raw.split_at(16);
        hmac::verify(&self.nonce_key(), msg, tag).map_err(|_| bad())?;
        let mut t = [0u8; 8];
        t.copy_from_slice(&msg[..8]);
        let t = u64::from_be_bytes(t);
        if t > now.as_secs().saturating_add(300) || now.as_secs().saturating_sub(t) > NONCE_LIFETIME_SECS {
            return Err(bad());
        }
        Ok(())
    }

    /// Issues one credential per key of `request`, in parallel where the
    /// machine has cores. Every credential gets its own salts, decoys,
    /// range seed and (if `statuses` is given, one per key) status entry;
    /// all share the same day-rounded `iat`/`exp`. Each credential's
    /// randomness comes from its own DRBG seeded with 32 bytes from `rng`.
    pub fn issue_batch(
        &self,
        request: &KeyRequest,
        claims: &Claims,
        statuses: Option<&[StatusRef]>,
        now: UnixTime,
        rng: &mut dyn SecureRng,
    ) -> Result<Vec<IssuedCredential>, Error> {
        let keys = request.keys();
        if keys.len() > self.max_batch() {
            return Err(IssuanceError::BatchTooLarge { limit: self.max_batch() }.into());
        }
        if statuses.is_some_and(|s| s.len() != keys.len()) {
            return Err(IssuanceError::Config { reason: "one status entry per key is required" }.into());
        }
        // One job per credential: its key, its status entry and a 32-byte
        // DRBG seed from the caller's RNG, so the jobs can run on any thread.
        let jobs: Vec<(&HolderPublicKey, Option<&StatusRef>, [u8; 32])> =
            keys.iter().enumerate().map(|(i, k)| (k, statuses.map(|s| &s[i]), random_array::<32>(rng))).collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(jobs.len()).max(1);
        let results: Vec<Result<IssuedCredential, Error>> = std::thread::scope(|scope| {
            let handles: Vec<_> = jobs
                .chunks(jobs.len().div_ceil(threads))
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|&(key, status, seed)| {
                                let mut drbg = crate::format::hazmat::SeededRng::from_seed(seed);
                                self.issue_inner(key, claims, status, now, &mut drbg)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join().unwrap_or_else(|_| {
                        vec![Err(IssuanceError::Config { reason: "an issuing thread failed" }.into())]
                    })
                })
                .collect()
        });
        results.into_iter().collect()
    }
}
