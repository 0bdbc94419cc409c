//! Interoperability inside the crate: the generic RFC 9901 mode against the
//! RFC's own examples, ES256 keys end to end, and issuer key rotation.

use creditproof::hazmat::SeededRng;
use creditproof::sd_jwt::{KeyBinding, SdJwtVerifier};
use creditproof::{
    Algorithm, HolderSigningKey, Issuer, IssuerPublicKey, IssuerSigningKey, PresentOptions, PresentationRequest,
    TrustStore, UnixTime, Verifier, VerifierOptions, Wallet,
};
use serde_json::Value;

use crate::fixture::{claims, AUD, ISS, NOW};

fn rfc_vectors() -> Value {
    serde_json::from_str(include_str!("../vectors/rfc9901_examples.json")).unwrap()
}

fn rfc_verifier(v: &Value, case: &Value) -> SdJwtVerifier {
    let key = IssuerPublicKey::from_jwk(&v["issuer_jwk"]).unwrap();
    let kb = match &case["key_binding"] {
        Value::Null => KeyBinding::None,
        kb => KeyBinding::required(kb["nonce"].as_str().unwrap(), kb["aud"].as_str().unwrap()),
    };
    SdJwtVerifier::new(key, case["typ"].as_str().unwrap()).with_key_binding(kb)
}

#[test]
fn rfc9901_examples_verify_to_the_rfcs_processed_payloads() {
    let v = rfc_vectors();
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let now = UnixTime(case["now"].as_u64().unwrap());
        let verified = rfc_verifier(&v, case).verify(case["sd_jwt"].as_str().unwrap(), now).unwrap_or_else(|e| {
            panic!("{name}: {e} ({})", e.check());
        });
        assert_eq!(Value::Object(verified.claims().clone()), case["processed"], "{name}");
        assert_eq!(verified.holder_key().is_some(), !case["key_binding"].is_null(), "{name}");
    }
}

#[test]
fn rfc9901_section_5_2_fails_each_check_it_should() {
    let v = rfc_vectors();
    let case = &v["cases"][0];
    let sd_jwt = case["sd_jwt"].as_str().unwrap();
    let now = UnixTime(case["now"].as_u64().unwrap());
    let check = |verifier: &SdJwtVerifier, input: &str, at: UnixTime| verifier.verify(input, at).unwrap_err().check();
    let good = rfc_verifier(&v, case);

    let key = IssuerPublicKey::from_jwk(&v["issuer_jwk"]).unwrap();
    let wrong_nonce = SdJwtVerifier::new(key, "example+sd-jwt")
        .with_key_binding(KeyBinding::required("123456789", "https://verifier.example.org"));
    assert_eq!(check(&wrong_nonce, sd_jwt, now), "holder_binding.nonce");
    let wrong_aud =
        SdJwtVerifier::new(key, "example+sd-jwt").with_key_binding(KeyBinding::required("1234567890", "https://x"));
    assert_eq!(check(&wrong_aud, sd_jwt, now), "holder_binding.aud");
    assert_eq!(check(&SdJwtVerifier::new(key, "example+sd-jwt"), sd_jwt, now), "holder_binding.unexpected");
    assert_eq!(check(&good, sd_jwt, UnixTime(now.0 + 3600)), "holder_binding.iat_stale");
    let wrong_typ = SdJwtVerifier::new(key, "dc+sd-jwt")
        .with_key_binding(KeyBinding::required("1234567890", "https://verifier.example.org"));
    assert_eq!(check(&wrong_typ, sd_jwt, now), "header.typ");
    let other = IssuerSigningKey::generate_with(Algorithm::Es256, &mut SeededRng::new(b"x")).unwrap().public_key();
    let wrong_key = SdJwtVerifier::new(other, "example+sd-jwt")
        .with_key_binding(KeyBinding::required("1234567890", "https://verifier.example.org"));
    assert_eq!(check(&wrong_key, sd_jwt, now), "signature.issuer");
    // Without its key binding JWT, the SD-JWT lacks what was required.
    let kb_start = sd_jwt.rfind('~').unwrap() + 1;
    assert_eq!(check(&good, &sd_jwt[..kb_start], now), "holder_binding.missing");
    // Dropping a disclosure changes sd_hash.
    let mut parts: Vec<&str> = sd_jwt.split('~').collect();
    parts.remove(1);
    assert_eq!(check(&good, &parts.join("~"), now), "holder_binding.sd_hash");
    // A well-formed disclosure the issuer never signed.
    let extra = crate::fixture::b64(r#"["c2FsdHNhbHRzYWx0","given_name","Mallory"]"#);
    let forged = sd_jwt.replacen('~', &format!("~{extra}~"), 1);
    assert_eq!(check(&good, &forged, now), "disclosure.unreferenced");
}

fn es256_world() -> (Issuer, Wallet, SeededRng) {
    let mut rng = SeededRng::new(b"es256 world");
    let issuer = Issuer::new(ISS, IssuerSigningKey::generate_with(Algorithm::Es256, &mut rng).unwrap()).unwrap();
    let mut wallet = Wallet::new();
    let holder = wallet.generate_key_with(Algorithm::Es256, &mut rng).unwrap();
    let cred = issuer.issue(&holder, &claims(), NOW, &mut rng).unwrap();
    wallet.store(cred).unwrap();
    (issuer, wallet, rng)
}

#[test]
fn es256_issuer_and_holder_keys_work_end_to_end() {
    let (issuer, mut wallet, mut rng) = es256_world();
    assert_eq!(issuer.public_key().algorithm(), Algorithm::Es256);
    assert_eq!(issuer.metadata()["jwks"]["keys"][0]["alg"], "ES256");
    let mut trust = TrustStore::new();
    trust.add_metadata(issuer.metadata().to_string().as_bytes(), &Default::default()).unwrap();
    let request = PresentationRequest::builder(AUD).disclose("tier").build(&mut rng).unwrap();
    let p = wallet.present(&request, PresentOptions::default(), NOW, &mut rng).unwrap();
    let verified = Verifier::with_options(trust, VerifierOptions::default().allow_missing_status())
        .verify(&request, p.as_str(), NOW)
        .unwrap();
    assert_eq!(verified.disclosed()["tier"], "A");

    // The same presentation is an ordinary SD-JWT VC to the generic mode.
    let generic = SdJwtVerifier::new(issuer.public_key(), "dc+sd-jwt")
        .with_key_binding(KeyBinding::required(request.nonce(), request.audience()));
    let claims = generic.verify(p.as_str(), NOW).unwrap().into_claims();
    assert_eq!(claims["tier"], "A");
    assert_eq!(claims["iss"], ISS);
    assert!(!claims.contains_key("policy"), "undisclosed claims stay hidden");
}

#[test]
fn wallet_keeps_p256_keys_across_a_save() {
    let (_, wallet, mut rng) = es256_world();
    let restored = Wallet::from_secret_json(wallet.to_secret_json().as_bytes()).unwrap();
    let mut restored = restored;
    let request = PresentationRequest::builder(AUD).disclose("tier").build(&mut rng).unwrap();
    assert!(restored.present(&request, PresentOptions::default(), NOW, &mut rng).is_ok());
    let key = HolderSigningKey::generate_with(Algorithm::Es256, &mut rng).unwrap();
    let again = HolderSigningKey::from_secret_string(&key.to_secret_string()).unwrap();
    assert_eq!(again.public_key(), key.public_key());
    assert!(format!("{key:?}").contains("[redacted]"));
    assert!(!format!("{key:?}").contains(key.to_secret_string().trim_start_matches("p256:")));
}

#[test]
fn a_retired_key_still_published_keeps_its_credentials_verifying() {
    let mut rng = SeededRng::new(b"rotation");
    let old = Issuer::new(ISS, IssuerSigningKey::generate(&mut rng)).unwrap();
    let mut wallet = Wallet::new();
    let holder = wallet.generate_key(&mut rng);
    let holder2 = wallet.generate_key(&mut rng);
    wallet.store(old.issue(&holder, &claims(), NOW, &mut rng).unwrap()).unwrap();

    // Rotate to a P-256 key; the old key is retired but still published.
    let new_key = IssuerSigningKey::generate_with(Algorithm::Es256, &mut rng).unwrap();
    let new_secret = new_key.to_secret_string();
    let mut new = Issuer::new(ISS, new_key).unwrap();
    new.publish_retired_key(old.public_key());
    let metadata = new.metadata();
    assert_eq!(metadata["jwks"]["keys"].as_array().unwrap().len(), 2);
    wallet.store(new.issue(&holder2, &claims(), NOW, &mut rng).unwrap()).unwrap();

    let mut trust = TrustStore::new();
    trust.add_metadata(metadata.to_string().as_bytes(), &Default::default()).unwrap();
    let verifier = Verifier::with_options(trust, VerifierOptions::default().allow_missing_status());
    for _ in 0..2 {
        let request = PresentationRequest::builder(AUD).disclose("tier").build(&mut rng).unwrap();
        let p = wallet.present(&request, PresentOptions::default(), NOW, &mut rng).unwrap();
        assert!(verifier.verify(&request, p.as_str(), NOW).is_ok());
    }

    // Once the old key is no longer published (the same new issuer, without
    // the retired key), what it signed stops verifying.
    let unpublished = Issuer::new(ISS, IssuerSigningKey::from_secret_string(&new_secret).unwrap()).unwrap();
    assert_eq!(unpublished.metadata()["jwks"]["keys"].as_array().unwrap().len(), 1);
    let mut trust = TrustStore::new();
    trust.add_metadata(unpublished.metadata().to_string().as_bytes(), &Default::default()).unwrap();
    let mut wallet2 = Wallet::new();
    let h = wallet2.generate_key(&mut rng);
    wallet2.store(old.issue(&h, &claims(), NOW, &mut rng).unwrap()).unwrap();
    let request = PresentationRequest::builder(AUD).disclose("tier").build(&mut rng).unwrap();
    let p = wallet2.present(&request, PresentOptions::default(), NOW, &mut rng).unwrap();
    assert_eq!(
        Verifier::with_options(trust, VerifierOptions::default().allow_missing_status())
            .verify(&request, p.as_str(), NOW)
            .unwrap_err()
            .check(),
        "trust.kid"
    );
}

#[test]
fn generic_mode_checks_iss_and_kid_when_told_them() {
    let (issuer, mut wallet, mut rng) = es256_world();
    let request = PresentationRequest::builder(AUD).disclose("tier").build(&mut rng).unwrap();
    let p = wallet.present(&request, PresentOptions::default(), NOW, &mut rng).unwrap();
    let kb = KeyBinding::required(request.nonce(), request.audience());
    let base = || SdJwtVerifier::new(issuer.public_key(), "dc+sd-jwt").with_key_binding(kb.clone());
    assert!(base().with_issuer(ISS).verify(p.as_str(), NOW).is_ok());
    assert_eq!(
        base().with_issuer("https://other.example").verify(p.as_str(), NOW).unwrap_err().check(),
        "trust.issuer"
    );
    // Named under another kid than the header's: refused.
    let named = base().with_key("not-the-header-kid", issuer.public_key());
    assert_eq!(named.verify(p.as_str(), NOW).unwrap_err().check(), "trust.kid");
    // Named under its own kid, next to another key: selected by kid.
    let other = IssuerSigningKey::generate(&mut rng).public_key();
    let two = base().with_key(issuer.kid(), issuer.public_key()).with_key("other", other);
    assert!(two.verify(p.as_str(), NOW).is_ok());
}

#[test]
fn es256_presentations_in_a_batch_next_to_ed25519_ones() {
    let (issuer, mut wallet, mut rng) = es256_world();
    let mut fx = crate::fixture::Fixture::new();
    let mut trust = fx.trust.clone();
    trust.add(ISS, issuer.public_key());
    let r1 = PresentationRequest::builder(AUD).disclose("tier").build(&mut rng).unwrap();
    let p1 = wallet.present(&r1, PresentOptions::default(), NOW, &mut rng).unwrap();
    let r2 = fx.request(&["tier"], &[]);
    let p2 = fx.present(&r2);
    // A P-256 key-binding signature with a character changed mid-way.
    let mut bad = p1.as_str().as_bytes().to_vec();
    let at = bad.len() - 10;
    bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
    let bad = String::from_utf8(bad).unwrap();
    let items = [(&r1, p1.as_str()), (&r2, p2.as_str()), (&r1, bad.as_str())];
    let verifier = Verifier::with_options(trust, VerifierOptions::default().allow_missing_status());
    let outcomes = verifier.verify_batch(&items, NOW);
    assert!(outcomes[0].is_ok() && outcomes[1].is_ok(), "{outcomes:?}");
    assert_eq!(outcomes[2].as_ref().unwrap_err().check(), "holder_binding.signature");
    for ((r, p), outcome) in items.iter().zip(&outcomes) {
        assert_eq!(&verifier.verify(r, p, NOW), outcome);
    }
}

#[test]
fn one_key_under_two_kids_is_found_by_either() {
    let (issuer, mut wallet, mut rng) = es256_world();
    let request = PresentationRequest::builder(AUD).disclose("tier").build(&mut rng).unwrap();
    let p = wallet.present(&request, PresentOptions::default(), NOW, &mut rng).unwrap();
    let v = SdJwtVerifier::new(issuer.public_key(), "dc+sd-jwt")
        .with_key_binding(KeyBinding::required(request.nonce(), request.audience()))
        .with_key(issuer.kid(), issuer.public_key())
        .with_key("alias", issuer.public_key());
    assert!(v.verify(p.as_str(), NOW).is_ok());
}
