//! Every bad input named by the core-flow issue, each its own test and its
//! own error. None of them may panic.

use crate::fixture::*;
use creditproof::error::IssuanceError;
use creditproof::{HolderPublicKey, Limits, PresentationRequest, UnixTime, Verifier, VerifierOptions, DAY};
use serde_json::{json, Value};

/// A valid presentation of the tier, its request, and the fixture.
fn setup() -> (Fixture, PresentationRequest, String) {
    let mut fx = Fixture::new();
    let req = fx.request(&["tier"], &[]);
    let p = fx.present(&req);
    assert!(fx.verify(&req, &p).is_ok(), "the unmodified presentation verifies");
    (fx, req, p)
}

fn check(fx: &Fixture, req: &PresentationRequest, p: &str) -> &'static str {
    fx.verify(req, p).expect_err("must be rejected").check()
}

/// Re-signs the issuer JWT after `f` edits header and payload.
fn tamper_jwt(f: impl Fn(&mut Value, &mut Value)) -> &'static str {
    let (fx, req, p) = setup();
    let mut parts = split(&p);
    f(&mut parts.header, &mut parts.payload);
    check(&fx, &req, &parts.assemble(&fx.issuer_secret, &fx.holder_secret))
}

/// Re-signs the KB-JWT after `f` edits its payload.
fn tamper_kb(f: impl Fn(&mut Value)) -> &'static str {
    let (fx, req, p) = setup();
    let mut parts = split(&p);
    f(&mut parts.kb_payload);
    check(&fx, &req, &parts.assemble(&fx.issuer_secret, &fx.holder_secret))
}

#[test]
fn alg_none() {
    assert_eq!(tamper_jwt(|h, _| h["alg"] = json!("none")), "header.alg");
}

#[test]
fn alg_hs256() {
    assert_eq!(tamper_jwt(|h, _| h["alg"] = json!("HS256")), "header.alg");
}

#[test]
fn any_alg_but_the_supported_ones() {
    for alg in
        [json!("ES384"), json!("es256"), json!("RS256"), json!("eddsa"), json!("EdDSA "), json!(null), json!(["EdDSA"])]
    {
        assert_eq!(tamper_jwt(|h, _| h["alg"] = alg.clone()), "header.alg", "{alg}");
    }
    assert_eq!(
        tamper_jwt(|h, _| {
            h.as_object_mut().unwrap().remove("alg");
        }),
        "header.alg"
    );
}

#[test]
fn alg_that_does_not_fit_the_issuers_key() {
    // ES256 is supported, but this issuer's key is Ed25519: the key decides
    // how the signature is checked, so the token fails as badly signed.
    assert_eq!(tamper_jwt(|h, _| h["alg"] = json!("ES256")), "signature.issuer");
}

#[test]
fn wrong_typ() {
    assert_eq!(tamper_jwt(|h, _| h["typ"] = json!("JWT")), "header.typ");
    assert_eq!(tamper_jwt(|h, _| h["typ"] = json!("vc+sd-jwt")), "header.typ");
}

#[test]
fn unknown_issuer() {
    assert_eq!(tamper_jwt(|_, p| p["iss"] = json!("https://other.example")), "trust.issuer");
}

#[test]
fn unknown_kid() {
    assert_eq!(tamper_jwt(|h, _| h["kid"] = json!("not-a-known-kid")), "trust.kid");
}

#[test]
fn bad_issuer_signature() {
    let (fx, req, p) = setup();
    // Same header and payload, signed by the holder instead of the issuer.
    let parts = split(&p);
    let forged = parts.assemble(&fx.holder_secret, &fx.holder_secret);
    assert_eq!(check(&fx, &req, &forged), "signature.issuer");
    // A flipped bit in the payload, signature unchanged.
    let jwt_end = p.find('~').unwrap();
    let mut bytes = p.as_bytes().to_vec();
    let payload_at = p.find('.').unwrap() + 5;
    assert!(payload_at < jwt_end);
    bytes[payload_at] = if bytes[payload_at] == b'A' { b'B' } else { b'A' };
    let s = String::from_utf8(bytes).unwrap();
    assert!(matches!(check(&fx, &req, &s), "signature.issuer" | "malformed.json" | "malformed.base64url"));
}

#[test]
fn expired() {
    let (fx, req, p) = setup();
    let later = UnixTime(NOW.0 + 31 * DAY);
    let e = Verifier::with_options(fx.trust.clone(), VerifierOptions::default().allow_missing_status())
        .verify(&req, &p, later)
        .unwrap_err();
    assert_eq!(e.check(), "time.expired");
    assert_eq!(tamper_jwt(|_, p| p["exp"] = json!(NOW.0 - 1000)), "time.expired");
}

#[test]
fn not_yet_valid() {
    assert_eq!(tamper_jwt(|_, p| p["nbf"] = json!(NOW.0 + DAY)), "time.not_yet_valid");
    assert_eq!(tamper_jwt(|_, p| p["iat"] = json!(NOW.0 + DAY)), "time.not_yet_valid");
}

#[test]
fn disclosure_not_in_sd() {
    let (fx, req, p) = setup();
    let mut parts = split(&p);
    let foreign = b64(json!(["c2FsdHNhbHRzYWx0", "tier", "AAA"]).to_string());
    parts.disclosures = vec![foreign];
    assert_eq!(check(&fx, &req, &parts.assemble(&fx.issuer_secret, &fx.holder_secret)), "disclosure.unreferenced");
}

#[test]
fn same_disclosure_twice() {
    let (fx, req, p) = setup();
    let mut parts = split(&p);
    let d = parts.disclosures[0].clone();
    parts.disclosures.push(d);
    assert_eq!(check(&fx, &req, &parts.assemble(&fx.issuer_secret, &fx.holder_secret)), "disclosure.duplicate");
}

#[test]
fn disclosure_named_sd_or_ellipsis() {
    for name in ["_sd", "..."] {
        let (fx, req, p) = setup();
        let mut parts = split(&p);
        let d = b64(json!(["c2FsdHNhbHRzYWx0", name, "x"]).to_string());
        parts.payload["_sd"].as_array_mut().unwrap().push(json!(sd_hash(&d)));
        parts.disclosures.push(d);
        assert_eq!(
            check(&fx, &req, &parts.assemble(&fx.issuer_secret, &fx.holder_secret)),
            "disclosure.reserved_name",
            "{name}"
        );
    }
}

#[test]
fn missing_kb_jwt() {
    let (fx, req, p) = setup();
    let without = &p[..=p.rfind('~').unwrap()];
    assert_eq!(check(&fx, &req, without), "holder_binding.missing");
}

#[test]
fn kb_jwt_signed_by_another_key() {
    let (fx, req, p) = setup();
    let parts = split(&p);
    let jwt = p.split('~').next().unwrap();
    let other = [7u8; 32];
    assert_eq!(check(&fx, &req, &parts.assemble_with_jwt(jwt, &other)), "holder_binding.signature");
}

#[test]
fn kb_jwt_wrong_typ_or_alg() {
    let (fx, req, p) = setup();
    let mut parts = split(&p);
    parts.kb_header["typ"] = json!("JWT");
    let jwt = p.split('~').next().unwrap();
    assert_eq!(check(&fx, &req, &parts.assemble_with_jwt(jwt, &fx.holder_secret)), "header.typ");
    parts.kb_header = json!({"alg": "none", "typ": "kb+jwt"});
    assert_eq!(check(&fx, &req, &parts.assemble_with_jwt(jwt, &fx.holder_secret)), "header.alg");
}

#[test]
fn wrong_nonce() {
    assert_eq!(tamper_kb(|kb| kb["nonce"] = json!("AAAAAAAAAAAAAAAAAAAAAA")), "holder_binding.nonce");
}

#[test]
fn wrong_aud() {
    assert_eq!(tamper_kb(|kb| kb["aud"] = json!("https://hotel.example")), "holder_binding.aud");
}

#[test]
fn replay_to_another_verifier() {
    let (mut fx, _, p) = setup();
    let hotel = PresentationRequest::builder("https://hotel.example").disclose("tier").build(&mut fx.rng).unwrap();
    let e = fx.verify(&hotel, &p).unwrap_err();
    assert!(matches!(e.check(), "holder_binding.nonce" | "holder_binding.aud"));
}

#[test]
fn kb_iat_too_old() {
    assert_eq!(tamper_kb(|kb| kb["iat"] = json!(NOW.0 - 301)), "holder_binding.iat_stale");
}

#[test]
fn kb_iat_in_future() {
    assert_eq!(tamper_kb(|kb| kb["iat"] = json!(NOW.0 + 301)), "holder_binding.iat_future");
}

#[test]
fn sd_hash_mismatch() {
    let (fx, req, p) = setup();
    let mut parts = split(&p);
    // A KB-JWT computed over a presentation without the disclosure.
    let jwt = p.split('~').next().unwrap();
    parts.kb_payload["sd_hash"] = json!("KEEP");
    let mut kb = parts.kb_payload.clone();
    kb["sd_hash"] = json!(sd_hash(&format!("{jwt}~")));
    let kb_jwt = sign(&parts.kb_header, &kb, &fx.holder_secret);
    let forged = format!("{jwt}~{}~{kb_jwt}", parts.disclosures[0]);
    assert_eq!(check(&fx, &req, &forged), "holder_binding.sd_hash");
    // A KB-JWT with no sd_hash at all.
    parts.disclosures.clear();
    assert_eq!(check(&fx, &req, &parts.assemble_with_jwt(jwt, &fx.holder_secret)), "holder_binding.sd_hash");
}

#[test]
fn invalid_base64url() {
    let (fx, req, p) = setup();
    // Standard-alphabet character in the header.
    let bad = format!("+{}", &p[1..]);
    assert_eq!(check(&fx, &req, &bad), "malformed.base64url");
    // Padding on a disclosure.
    let parts = split(&p);
    let d = &parts.disclosures[0];
    let padded = p.replace(d.as_str(), &format!("{d}=="));
    assert_eq!(check(&fx, &req, &padded), "malformed.base64url");
}

#[test]
fn non_canonical_base64url() {
    let (fx, req, p) = setup();
    // The header JSON is 3n+1 or 3n+2 bytes, so its last character carries
    // unused low bits; set them to make a non-canonical encoding.
    let header = p.split('.').next().unwrap();
    assert_ne!(header.len() % 4, 0, "header must end on a partial group");
    let last = header.chars().last().unwrap();
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let idx = ALPHABET.find(last).unwrap();
    let bumped = ALPHABET.as_bytes()[idx | 1] as char;
    assert_ne!(bumped, last, "the canonical char has its low bit clear");
    let forged = format!("{}{bumped}{}", &header[..header.len() - 1], &p[header.len()..]);
    assert_eq!(check(&fx, &req, &forged), "malformed.base64url");
}

#[test]
fn trailing_garbage() {
    let (fx, req, p) = setup();
    for tail in ["x", "~", ".", " ", "\n", "~garbage"] {
        let forged = format!("{p}{tail}");
        let c = check(&fx, &req, &forged);
        assert!(
            c.starts_with("malformed.") || c.starts_with("holder_binding.") || c.starts_with("disclosure."),
            "{tail:?}: {c}"
        );
    }
}

#[test]
fn over_size_limit() {
    let (fx, req, p) = setup();
    let big = format!("{p}{}", "A".repeat(64 * 1024));
    assert_eq!(check(&fx, &req, &big), "limit.input_size");
    let small = Verifier::with_options(
        fx.trust.clone(),
        VerifierOptions::default().with_limits(Limits::default().with_max_presentation_bytes(100)),
    );
    assert_eq!(small.verify(&req, &p, NOW).unwrap_err().check(), "limit.input_size");
}

#[test]
fn too_many_disclosures() {
    let (fx, req, p) = setup();
    let jwt = p.split('~').next().unwrap();
    let forged = format!("{jwt}~{}x", "d~".repeat(100));
    assert_eq!(check(&fx, &req, &forged), "limit.disclosures");
}

#[test]
fn json_deeper_than_limit() {
    let mut deep = json!(1);
    for _ in 0..40 {
        deep = json!([deep]);
    }
    assert_eq!(tamper_jwt(|_, p| p["deep"] = deep.clone()), "limit.json_depth");
    let (fx, req, p) = setup();
    let mut parts = split(&p);
    let d = b64(format!("[\"salt\",\"x\",{}1{}]", "[".repeat(40), "]".repeat(40)));
    parts.disclosures.push(d);
    assert_eq!(check(&fx, &req, &parts.assemble(&fx.issuer_secret, &fx.holder_secret)), "limit.json_depth");
}

#[test]
fn duplicate_json_keys() {
    let (fx, req, p) = setup();
    let parts = split(&p);
    let payload = parts.payload.to_string();
    let dup = format!("{{\"iss\":\"https://evil.example\",{}", &payload[1..]);
    let jwt = sign_raw(&parts.header.to_string(), &dup, &fx.issuer_secret);
    assert_eq!(check(&fx, &req, &parts.assemble_with_jwt(&jwt, &fx.holder_secret)), "malformed.json");
}

#[test]
fn forbidden_header_parameters() {
    for name in ["crit", "jwk", "x5u", "x5c", "jku"] {
        assert_eq!(tamper_jwt(|h, _| h[name] = json!("x")), "header.forbidden", "{name}");
    }
}

#[test]
fn huge_numbers_in_time_claims() {
    assert_eq!(tamper_jwt(|_, p| p["exp"] = json!(1e300)), "malformed.claim");
    assert_eq!(tamper_jwt(|_, p| p["iat"] = json!(-1)), "malformed.claim");
    assert_eq!(tamper_jwt(|_, p| p["exp"] = json!("1795262400")), "malformed.claim");
}

#[test]
fn weak_holder_key_at_issuance() {
    let fx = Fixture::new();
    let mut rng = creditproof::hazmat::SeededRng::new(b"weak");
    // Small-order points: the identity (y = 1) and a point of order 8.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let order8 = [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20,
        0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
    ];
    for bytes in [identity, order8] {
        let weak = HolderPublicKey::from_bytes(&bytes).unwrap();
        let e = fx.issuer.issue(&weak, &claims(), NOW, &mut rng).unwrap_err();
        assert_eq!(e, IssuanceError::WeakHolderKey.into());
    }
}

#[test]
fn garbage_never_panics() {
    let (fx, req, p) = setup();
    let inputs: Vec<String> = vec![
        String::new(),
        "~".into(),
        "~~~~".into(),
        "a.b.c~".into(),
        "..~..".into(),
        p.replace('.', ""),
        p.replace('~', "."),
        p.chars().rev().collect(),
        "\u{0}\u{ffff}~é.ß.∂~".into(),
        p[..p.len() / 2].to_string(),
    ];
    for i in inputs {
        assert!(fx.verify(&req, &i).is_err(), "{i:.40}");
    }
}
