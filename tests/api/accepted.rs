//! A request that names the issuers and credential types it accepts: the
//! verifier enforces the lists itself, whatever the wallet did.

use crate::fixture::*;
use creditproof::hazmat::SeededRng;
use creditproof::{
    Claims, Issuer, IssuerConfig, IssuerSigningKey, PresentOptions, PresentationRequest, TrustStore, Verifier,
    VerifierOptions, Wallet,
};

const OTHER: &str = "https://other-bureau.example";

/// The same request (audience and nonce) without its `issuers` and
/// `vct_values`: what a wallet that ignored them would have answered.
fn without_lists(r: &PresentationRequest) -> PresentationRequest {
    let mut v = r.to_json();
    let o = v.as_object_mut().unwrap();
    o.remove("issuers");
    o.remove("vct_values");
    PresentationRequest::from_json(v.to_string().as_bytes(), &Default::default()).unwrap()
}

/// A wallet with one credential of `issuer`, a trust store trusting both
/// `issuer` and the fixture's bureau.
fn wallet_of(issuer: &Issuer, rng: &mut SeededRng) -> (Wallet, TrustStore) {
    let mut w = Wallet::new();
    let pk = w.generate_key(rng);
    let mut c = Claims::new();
    c.insert("tier", "B").unwrap();
    w.store(issuer.issue(&pk, &c, NOW, rng).unwrap()).unwrap();
    let fx = Fixture::new();
    let mut trust = fx.trust.clone();
    trust.add(issuer.id(), issuer.public_key());
    (w, trust)
}

#[test]
fn an_issuer_the_request_does_not_name_is_rejected_even_if_trusted() {
    let mut rng = SeededRng::new(b"accepted issuers");
    let other = Issuer::new(OTHER, IssuerSigningKey::generate(&mut rng)).unwrap();
    let (mut w, trust) = wallet_of(&other, &mut rng);
    let named = PresentationRequest::builder(AUD).disclose("tier").issuer(ISS).build(&mut rng).unwrap();
    let open = without_lists(&named);
    assert_eq!(open.nonce(), named.nonce());
    let p = w.present(&open, PresentOptions::default(), NOW, &mut rng).unwrap();
    // The credential carries no status: this test is about issuers and types.
    let verifier = Verifier::with_options(trust, VerifierOptions::default().allow_missing_status());
    // Trusted, and accepted by a request that names no issuer...
    assert_eq!(verifier.verify(&open, p.as_str(), NOW).unwrap().issuer(), OTHER);
    // ...but not by one that names only the bureau.
    let e = verifier.verify(&named, p.as_str(), NOW).unwrap_err();
    assert_eq!(e.check(), "request.issuer");
    // Naming it too accepts it.
    let both = PresentationRequest::from_json(
        serde_json::json!({"aud": AUD, "nonce": named.nonce(), "disclose": ["tier"], "issuers": [ISS, OTHER]})
            .to_string()
            .as_bytes(),
        &Default::default(),
    )
    .unwrap();
    assert!(verifier.verify(&both, p.as_str(), NOW).is_ok());
}

#[test]
fn a_type_the_request_does_not_name_is_rejected() {
    let mut rng = SeededRng::new(b"accepted types");
    let other = Issuer::new(OTHER, IssuerSigningKey::generate(&mut rng))
        .unwrap()
        .with_config(IssuerConfig::default().with_vct("urn:example:rental-history:1"))
        .unwrap();
    let (mut w, trust) = wallet_of(&other, &mut rng);
    let named =
        PresentationRequest::builder(AUD).disclose("tier").vct("urn:creditproof:score:2").build(&mut rng).unwrap();
    let open = without_lists(&named);
    let p = w.present(&open, PresentOptions::default(), NOW, &mut rng).unwrap();
    // The credential carries no status: this test is about issuers and types.
    let verifier = Verifier::with_options(trust, VerifierOptions::default().allow_missing_status());
    assert_eq!(verifier.verify(&open, p.as_str(), NOW).unwrap().vct(), "urn:example:rental-history:1");
    assert_eq!(verifier.verify(&named, p.as_str(), NOW).unwrap_err().check(), "request.vct");
}

#[test]
fn a_named_issuer_and_type_are_accepted() {
    let mut fx = Fixture::new();
    let r = PresentationRequest::builder(AUD)
        .disclose("tier")
        .issuer(ISS)
        .vct("urn:creditproof:score:2")
        .build(&mut fx.rng)
        .unwrap();
    let p = fx.present(&r);
    let v = fx.verify(&r, &p).unwrap();
    assert_eq!((v.issuer(), v.vct()), (ISS, "urn:creditproof:score:2"));
}
