//! The peers, side by side with creditproof:
//!
//! - **sd-jwt-rs** (OpenWallet Foundation Labs): a plain SD-JWT with
//!   key binding, Ed25519 for the issuer and the holder, issued, presented
//!   and verified by sd-jwt-rs itself, disclosing one claim (`tier`) as
//!   creditproof's (a) does. sd-jwt-rs checks the issuer signature, `exp`,
//!   the disclosures, and the KB-JWT's signature, `aud`, `nonce` and
//!   `sd_hash`; it checks no `typ` of the issuer JWT and no `iat` freshness
//!   of the KB-JWT, and its API takes the presentation as an owned
//!   `String` (the clone is inside the timed loop, as a caller would do).
//! - **bulletproofs** (zkcrypto, Ristretto): verification of a single
//!   range proof `v in [0, 2^n)` for n = 16, 32, 64. A HashWires proof
//!   shows `v >= t` for a verifier-chosen `t`; a bulletproof of the same
//!   statement proves `v - t in [0, 2^n)` against the commitment shifted
//!   by `t`, which costs the verifier one more point operation than the
//!   figure here. A fresh transcript per verification is part of the time.

use std::hint::black_box;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bulletproofs::{BulletproofGens, PedersenGens, RangeProof};
use curve25519_dalek::ristretto::CompressedRistretto;
use curve25519_dalek::scalar::Scalar;
use jsonwebtoken::{DecodingKey, EncodingKey};
use merlin::Transcript;
use ring::signature::KeyPair as _;
use sd_jwt_rs::issuer::ClaimsForSelectiveDisclosureStrategy;
use sd_jwt_rs::{SDJWTHolder, SDJWTIssuer, SDJWTSerializationFormat, SDJWTVerifier};
use serde_json::json;

use crate::harness::{plain, Sampler, Timing};
use crate::report::{Base, Report};
use crate::BoxError;

/// An Ed25519 key as jsonwebtoken wants it: PKCS#8 to sign, the raw public
/// key to verify, and the public JWK for `cnf`.
struct EdKey {
    pkcs8: Vec<u8>,
    public: Vec<u8>,
}

impl EdKey {
    fn generate(rng: &ring::rand::SystemRandom) -> Result<Self, BoxError> {
        let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(rng).map_err(|e| format!("ring: {e}"))?;
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|e| format!("ring: {e}"))?;
        Ok(Self { pkcs8: pkcs8.as_ref().to_vec(), public: pair.public_key().as_ref().to_vec() })
    }

    fn x(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.public)
    }
}

/// The sd-jwt-rs presentation and what its verifier needs.
pub struct SdJwtCase {
    presentation: String,
    issuer_key: DecodingKey,
    aud: String,
    nonce: String,
}

impl SdJwtCase {
    /// Issues an SD-JWT with sd-jwt-rs (EdDSA issuer, four selectively
    /// disclosable claims plus decoys, an Ed25519 holder key in `cnf`) and
    /// presents it with sd-jwt-rs, disclosing `tier`, with a KB-JWT;
    /// checks that sd-jwt-rs verifies it and discloses exactly `tier`.
    pub fn new() -> Result<Self, String> {
        let case = Self::build().map_err(|e| format!("setup failed: {e}"))?;
        match case.verify() {
            Ok(claims) if claims.get("tier") == Some(&json!("A")) && claims.get("policy").is_none() => Ok(case),
            Ok(claims) => Err(format!("verified, but disclosed the wrong claims: {claims}")),
            Err(e) => Err(format!("its own presentation does not verify: {e}")),
        }
    }

    fn build() -> Result<Self, BoxError> {
        let rng = ring::rand::SystemRandom::new();
        let issuer = EdKey::generate(&rng)?;
        let holder = EdKey::generate(&rng)?;
        // jsonwebtoken checks `exp` against the wall clock.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
        let claims = json!({
            "iss": "https://bureau.example",
            "iat": now / 86_400 * 86_400,
            "exp": now / 86_400 * 86_400 + 30 * 86_400,
            "vct": "urn:creditproof:score:2",
            "tier": "A",
            "policy": "sesame-style/1",
            "score_scale": {"min": 0, "max": 1300},
            "no_deposit_rental": true,
        });
        let holder_jwk = serde_json::from_value(json!({"kty": "OKP", "crv": "Ed25519", "x": holder.x()}))?;
        let sd_jwt = SDJWTIssuer::new(EncodingKey::from_ed_der(&issuer.pkcs8), Some("EdDSA".into())).issue_sd_jwt(
            claims,
            ClaimsForSelectiveDisclosureStrategy::Custom(vec![
                "$.tier",
                "$.policy",
                "$.score_scale",
                "$.no_deposit_rental",
            ]),
            Some(holder_jwk),
            true,
            SDJWTSerializationFormat::Compact,
        )?;
        let (aud, nonce) = ("https://lender.example".to_owned(), URL_SAFE_NO_PAD.encode([0x42u8; 16]));
        let mut disclose = serde_json::Map::new();
        disclose.insert("tier".into(), json!(true));
        let presentation = SDJWTHolder::new(sd_jwt, SDJWTSerializationFormat::Compact)?.create_presentation(
            disclose,
            Some(nonce.clone()),
            Some(aud.clone()),
            Some(EncodingKey::from_ed_der(&holder.pkcs8)),
            Some("EdDSA".into()),
        )?;
        Ok(Self { presentation, issuer_key: DecodingKey::from_ed_der(&issuer.public), aud, nonce })
    }

    /// One verification, as a caller of sd-jwt-rs writes it.
    pub fn verify(&self) -> Result<serde_json::Value, sd_jwt_rs::error::Error> {
        let key = self.issuer_key.clone();
        SDJWTVerifier::new(
            self.presentation.clone(),
            Box::new(move |_, _| key.clone()),
            Some(self.aud.clone()),
            Some(self.nonce.clone()),
            SDJWTSerializationFormat::Compact,
        )
        .map(|v| v.verified_claims)
    }

    /// A sampler of [`SdJwtCase::verify`].
    pub fn sampler(&self) -> Sampler<'_> {
        plain(move || {
            black_box(self.verify().is_ok());
        })
    }
}

/// Prints the sd-jwt-rs rows: its time (measured in the same group as
/// creditproof (a)) or why it was not measured.
pub fn report_sd_jwt(
    report: &Report,
    case: &Result<SdJwtCase, String>,
    timing: Option<&Timing>,
    two_verify: Base,
    creditproof_a: Base,
) {
    report.section(&format!(
        "peer: sd-jwt-rs {} (jsonwebtoken {}), plain SD-JWT+KB, EdDSA issuer and holder, disclose tier",
        env!("BENCH_SD_JWT_RS_VERSION"),
        env!("BENCH_JSONWEBTOKEN_VERSION")
    ));
    match (case, timing) {
        (Ok(case), Some(t)) => {
            report.time(
                "peer.sd_jwt_rs.verify",
                "sd-jwt-rs: verify SD-JWT+KB (disclose tier)",
                t,
                &[two_verify, creditproof_a],
            );
            report.bytes("peer.sd_jwt_rs.presentation_bytes", "sd-jwt-rs: presentation size", case.presentation.len());
        }
        (Err(why), _) => report.missing("peer.sd_jwt_rs.verify", "sd-jwt-rs: verify SD-JWT+KB", why),
        (Ok(_), None) => report.missing("peer.sd_jwt_rs.verify", "sd-jwt-rs: verify SD-JWT+KB", "no timing taken"),
    }
}

/// Widths at which bulletproofs is measured (it supports 8, 16, 32, 64).
pub const BULLETPROOF_WIDTHS: [u32; 3] = [16, 32, 64];

/// A bulletproofs single range proof and what its verifier needs.
pub struct BulletproofCase {
    bits: usize,
    pc_gens: PedersenGens,
    bp_gens: BulletproofGens,
    proof: RangeProof,
    commitment: CompressedRistretto,
}

impl BulletproofCase {
    /// Proves that the same typical value the HashWires figures use lies
    /// in `[0, 2^bits)`, and checks that the proof verifies.
    pub fn new(bits: u32) -> Result<Self, String> {
        let n = usize::try_from(bits).map_err(|e| e.to_string())?;
        let value = crate::fixture::Score::full_scale(bits).value;
        let pc_gens = PedersenGens::default();
        let bp_gens = BulletproofGens::new(64, 1);
        let blinding = Scalar::from_bytes_mod_order([0x24; 32]);
        let mut transcript = Transcript::new(b"creditproof-bench range");
        let (proof, commitment) = RangeProof::prove_single(&bp_gens, &pc_gens, &mut transcript, value, &blinding, n)
            .map_err(|e| format!("prove failed: {e}"))?;
        let case = Self { bits: n, pc_gens, bp_gens, proof, commitment };
        case.verify().map_err(|e| format!("its own proof does not verify: {e}"))?;
        Ok(case)
    }

    /// One verification, with a fresh transcript.
    pub fn verify(&self) -> Result<(), bulletproofs::ProofError> {
        let mut transcript = Transcript::new(b"creditproof-bench range");
        self.proof.verify_single(&self.bp_gens, &self.pc_gens, &mut transcript, &self.commitment, self.bits)
    }

    /// A sampler of [`BulletproofCase::verify`].
    pub fn sampler(&self) -> Sampler<'_> {
        plain(move || {
            black_box(self.verify().is_ok());
        })
    }

    /// The serialized proof's length.
    pub fn proof_len(&self) -> usize {
        self.proof.to_bytes().len()
    }
}

/// One bulletproofs row: the width, the case (or why there is none), its
/// timing, and HashWires's typical timing at that width from the same group.
pub struct BulletproofRow {
    /// Bit width.
    pub bits: u32,
    /// The proof, or why it could not be made.
    pub case: Result<BulletproofCase, String>,
    /// Its verification time, if measured.
    pub timing: Option<Timing>,
    /// HashWires verification at the same width, same group.
    pub hashwires: Timing,
}

/// Prints the bulletproofs rows, each against HashWires at the same width
/// (measured in the same group).
pub fn report_bulletproofs(report: &Report, rows: &[BulletproofRow]) {
    report.section(&format!(
        "peer: bulletproofs {} (Ristretto, curve25519-dalek 4), single range proof v in [0, 2^n)",
        env!("BENCH_BULLETPROOFS_VERSION")
    ));
    for BulletproofRow { bits, case, timing, hashwires } in rows {
        let name = format!("peer.bulletproofs.bits{bits}.verify");
        let label = format!("{bits}-bit verify");
        match (case, timing) {
            (Ok(case), Some(t)) => {
                let base = Base { ns: hashwires.median_ns, key: "x_hashwires", label: "HashWires verify, same width" };
                report.time(&name, &label, t, &[base]);
                report.bytes(
                    &format!("peer.bulletproofs.bits{bits}.proof_bytes"),
                    &format!("{bits}-bit proof size"),
                    case.proof_len(),
                );
            }
            (Err(why), _) => report.missing(&name, &label, why),
            (Ok(_), None) => report.missing(&name, &label, "no timing taken"),
        }
    }
}
