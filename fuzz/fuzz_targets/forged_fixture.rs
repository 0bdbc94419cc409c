//! The `forged` target's issuer, holder, credential and request, made from
//! one seeded RNG. `examples/gen_corpus.rs` includes this file too, so the
//! seeds it writes are cut from a presentation of exactly this credential.
// Each includer reads only some of the fields.
#![allow(dead_code)]

use creditproof::hazmat::SeededRng;
use creditproof::{
    Claims, HolderSigningKey, IssuedCredential, Issuer, IssuerSigningKey, PresentationRequest, StatusRef, UnixTime,
};

/// 2026-11-21T12:00:00Z.
pub const NOW: UnixTime = UnixTime(1_795_262_400);
/// The status list the credential points into (index 3).
pub const URI: &str = "https://bureau.example/status/1";

/// Everything the target and its seeds share.
pub struct Forged {
    pub issuer: Issuer,
    pub issuer_secret: [u8; 32],
    pub holder: HolderSigningKey,
    pub issued: IssuedCredential,
    pub request: PresentationRequest,
    /// The RNG after the above, for whatever the caller draws next.
    pub rng: SeededRng,
}

pub fn forged_fixture() -> Forged {
    let mut rng = SeededRng::new(b"creditproof fuzz forged");
    let issuer_key = IssuerSigningKey::generate(&mut rng);
    let issuer_secret = *issuer_key.to_secret_bytes();
    let issuer = Issuer::new("https://bureau.example", issuer_key).unwrap();
    let holder = HolderSigningKey::generate(&mut rng);
    let mut claims = Claims::new();
    claims.insert("tier", "A").unwrap();
    claims.insert_perk("no_deposit_rental", true).unwrap();
    claims.commit("score", 712, 1300).unwrap();
    let status = StatusRef { uri: URI.into(), idx: 3 };
    let issued = issuer.issue_with_status(&holder.public_key(), &claims, &status, NOW, &mut rng).unwrap();
    let request = PresentationRequest::builder("https://lender.example")
        .disclose("tier")
        .predicate("score>=650".parse().unwrap())
        .predicate("perk:no_deposit_rental".parse().unwrap())
        .build(&mut rng)
        .unwrap();
    Forged { issuer, issuer_secret, holder, issued, request, rng }
}
