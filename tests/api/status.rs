//! Revocation and suspension through Token Status Lists.

use crate::fixture::*;
use creditproof::status_list::StatusList;
use creditproof::{
    Error, HolderSigningKey, Issuer, IssuerSigningKey, PresentOptions, StatusRef, TrustStore, UnixTime, Verifier,
    Wallet, DAY,
};
use flate2::write::ZlibEncoder;
use serde_json::json;
use std::io::Write as _;

const URI: &str = "https://bureau.example/status/1";

struct Setup {
    fx: Fixture,
    presentation: String,
    request: creditproof::PresentationRequest,
    list: StatusList,
}

/// A revocable credential at index 3 of a 2-bit list of 16.
fn setup() -> Setup {
    setup_at(3)
}

fn setup_at(idx: u64) -> Setup {
    let mut fx = Fixture::new();
    let mut w = Wallet::new();
    let pk = w.insert_key(HolderSigningKey::from_secret_bytes(&fx.holder_secret));
    let status = StatusRef { uri: URI.into(), idx };
    w.store(fx.issuer.issue_with_status(&pk, &claims(), &status, NOW, &mut fx.rng).unwrap()).unwrap();
    let request = fx.request(&["tier"], &[]);
    let presentation = w.present(&request, PresentOptions::default(), NOW, &mut fx.rng).unwrap().as_str().to_owned();
    assert_eq!(split(&presentation).payload["status"], json!({"status_list": {"idx": idx, "uri": URI}}));
    Setup { fx, presentation, request, list: StatusList::new(2, 16).unwrap() }
}

impl Setup {
    fn verify_with(&self, tokens: &[String]) -> Result<(), Error> {
        let mut v = Verifier::new(self.fx.trust.clone());
        for t in tokens {
            v.add_status_list(t, NOW)?;
        }
        v.verify(&self.request, &self.presentation, NOW).map(|_| ())
    }

    fn token(&self, list: &StatusList) -> String {
        self.fx.issuer.sign_status_list(URI, list, NOW, DAY, 3600)
    }

    fn check(&self, tokens: &[String]) -> &'static str {
        self.verify_with(tokens).expect_err("must be rejected").check()
    }

    /// A token with a hand-made payload, signed by the real issuer key.
    fn forged(&self, status_list: serde_json::Value) -> String {
        let header = json!({"alg": "EdDSA", "typ": "statuslist+jwt", "kid": self.fx.issuer.kid()});
        let payload =
            json!({"iss": ISS, "sub": URI, "iat": NOW.0, "exp": NOW.0 + DAY, "ttl": 60, "status_list": status_list});
        sign(&header, &payload, &self.fx.issuer_secret)
    }
}

#[test]
fn valid_revoked_suspended_reinstated() {
    let s = setup();
    let mut list = s.list.clone();
    assert!(s.verify_with(&[s.token(&list)]).is_ok());
    list.set(3, 2).unwrap();
    assert_eq!(s.check(&[s.token(&list)]), "status.suspended");
    list.set(3, 0).unwrap();
    assert!(s.verify_with(&[s.token(&list)]).is_ok(), "reinstated");
    list.set(3, 1).unwrap();
    assert_eq!(s.check(&[s.token(&list)]), "status.revoked");
    // Other entries do not matter.
    let mut others = s.list.clone();
    for i in (0..16).filter(|&i| i != 3) {
        others.set(i, 1).unwrap();
    }
    assert!(s.verify_with(&[s.token(&others)]).is_ok());
}

#[test]
fn no_list_is_an_explicit_rejection() {
    let s = setup();
    assert_eq!(s.check(&[]), "status.no_list");
}

#[test]
fn list_signed_by_another_issuer() {
    let s = setup();
    let mut rng = creditproof::hazmat::SeededRng::new(b"other issuer");
    let other = Issuer::new("https://other.example", IssuerSigningKey::generate(&mut rng)).unwrap();
    let token = other.sign_status_list(URI, &s.list, NOW, DAY, 60);
    // Untrusted other issuer: refused when loaded.
    assert_eq!(s.check(std::slice::from_ref(&token)), "status.untrusted");
    // Trusted other issuer: loaded, but it is not this credential's issuer.
    let mut trust: TrustStore = s.fx.trust.clone();
    trust.add(other.id(), other.public_key());
    let mut v = Verifier::new(trust);
    v.add_status_list(&token, NOW).unwrap();
    assert_eq!(v.verify(&s.request, &s.presentation, NOW).unwrap_err().check(), "status.issuer");
    // Right issuer name, wrong key.
    let header = json!({"alg": "EdDSA", "typ": "statuslist+jwt", "kid": s.fx.issuer.kid()});
    let payload = json!({"iss": ISS, "sub": URI, "iat": NOW.0, "exp": NOW.0 + DAY, "status_list": {"bits": 2, "lst": s.list.encode_lst()}});
    assert_eq!(s.check(&[sign(&header, &payload, &[5; 32])]), "status.signature");
}

#[test]
fn list_for_another_uri() {
    let s = setup();
    let token = s.fx.issuer.sign_status_list("https://bureau.example/status/2", &s.list, NOW, DAY, 60);
    assert_eq!(s.check(&[token]), "status.uri");
}

#[test]
fn expired_list() {
    let s = setup();
    let token = s.fx.issuer.sign_status_list(URI, &s.list, UnixTime(NOW.0 - 2 * DAY), DAY, 60);
    assert_eq!(s.check(&[token]), "status.expired");
}

#[test]
fn index_out_of_range() {
    let s = setup_at(16); // the list holds indexes 0..=15
    assert_eq!(s.check(&[s.token(&s.list)]), "status.index");
    let s = setup_at(u64::MAX);
    assert_eq!(s.check(&[s.token(&s.list)]), "status.index");
}

#[test]
fn truncated_and_bit_flipped_lst() {
    let s = setup();
    let lst = s.list.encode_lst();
    assert_eq!(s.check(&[s.forged(json!({"bits": 2, "lst": &lst[..lst.len() - 4]}))]), "status_list.truncated");
    let mut raw = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &lst).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 0x01; // the adler-32 checksum
    assert_eq!(s.check(&[s.forged(json!({"bits": 2, "lst": b64(&raw)}))]), "status_list.corrupt");
    assert_eq!(s.check(&[s.forged(json!({"bits": 2, "lst": format!("{lst}=")}))]), "status_list.base64url");
}

#[test]
fn zlib_bomb_costs_nothing() {
    let s = setup();
    let mut enc = ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        enc.write_all(&zeros).unwrap(); // 64 MiB of zeros
    }
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 256 * 1024);
    let started = std::time::Instant::now();
    assert_eq!(s.check(&[s.forged(json!({"bits": 2, "lst": b64(&bomb)}))]), "status_list.decompressed_size");
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn non_canonical_bits() {
    let s = setup();
    let lst = s.list.encode_lst();
    for bits in [0, 3, 5, 16] {
        assert_eq!(s.check(&[s.forged(json!({"bits": bits, "lst": &lst}))]), "status_list.bits", "{bits}");
    }
    assert_eq!(s.check(&[s.forged(json!({"bits": "2", "lst": &lst}))]), "malformed.claim");
}

#[test]
fn status_list_bounds_come_from_limits() {
    use creditproof::{Limits, VerifierOptions};
    let s = setup();
    let token = s.token(&StatusList::new(2, 1 << 16).unwrap());
    let tight = |l: Limits| {
        let mut v = Verifier::with_options(s.fx.trust.clone(), VerifierOptions::default().with_limits(l));
        v.add_status_list(&token, NOW).map(|_| ()).unwrap_err().check()
    };
    assert_eq!(tight(Limits::default().with_max_status_list_decompressed_bytes(1000)), "status_list.decompressed_size");
    assert_eq!(tight(Limits::default().with_max_status_list_compressed_bytes(8)), "status_list.compressed_size");
}

/// A token with a hand-made payload (any `iat`, `ttl`, `exp`), signed by the
/// real issuer key; `ttl: None` leaves the claim out.
fn token_at(s: &Setup, list: &StatusList, iat: u64, ttl: Option<u64>, exp: u64) -> String {
    let header = json!({"alg": "EdDSA", "typ": "statuslist+jwt", "kid": s.fx.issuer.kid()});
    let mut payload = json!({
        "iss": ISS, "sub": URI, "iat": iat, "exp": exp,
        "status_list": {"bits": list.bits(), "lst": list.encode_lst()},
    });
    if let Some(ttl) = ttl {
        payload["ttl"] = json!(ttl);
    }
    sign(&header, &payload, &s.fx.issuer_secret)
}

fn revoked(s: &Setup) -> StatusList {
    let mut list = s.list.clone();
    list.set(3, 1).unwrap();
    list
}

#[test]
fn the_loading_order_never_matters() {
    let s = setup();
    let older = token_at(&s, &s.list, NOW.0 - 600, Some(3600), NOW.0 + DAY);
    let fresh = token_at(&s, &revoked(&s), NOW.0 - 60, Some(3600), NOW.0 + DAY);
    assert_eq!(s.check(&[fresh.clone(), older.clone()]), "status.revoked");
    assert_eq!(s.check(&[older, fresh]), "status.revoked");
}

#[test]
fn equally_old_tokens_merge_and_the_stricter_status_wins() {
    // The issue's reproduction: two lists signed within one second, the
    // second after a revocation. Before, the one loaded last won.
    let s = setup();
    let before = s.token(&s.list);
    let after = s.token(&revoked(&s));
    assert_eq!(s.check(&[after.clone(), before.clone()]), "status.revoked");
    assert_eq!(s.check(&[before.clone(), after.clone()]), "status.revoked");
    // Revoked beats suspended beats valid, entry by entry, in either order.
    let mut suspended = s.list.clone();
    suspended.set(3, 2).unwrap();
    let suspended = s.token(&suspended);
    assert_eq!(s.check(&[before.clone(), suspended.clone()]), "status.suspended");
    assert_eq!(s.check(&[suspended.clone(), before.clone()]), "status.suspended");
    assert_eq!(s.check(&[suspended.clone(), after.clone(), before.clone()]), "status.revoked");
    assert_eq!(s.check(&[before, after, suspended]), "status.revoked");
    // Merging leaves the other entries alone: index 5 revoked in one token
    // does not touch index 3.
    let mut other = s.list.clone();
    other.set(5, 1).unwrap();
    assert!(s.verify_with(&[s.token(&s.list), s.token(&other)]).is_ok());
}

#[test]
fn a_token_from_the_future_is_refused_and_shadows_nothing() {
    let s = setup();
    // An issuer whose clock runs an hour ahead signs a list without the
    // revocation; the honest list that carries it must still count.
    let future = token_at(&s, &s.list, NOW.0 + 3600, Some(3600), NOW.0 + DAY);
    let honest = token_at(&s, &revoked(&s), NOW.0 - 60, Some(3600), NOW.0 + DAY);
    let mut v = Verifier::new(s.fx.trust.clone());
    assert_eq!(v.add_status_list(&future, NOW).map(|_| ()).unwrap_err().check(), "status.future_iat");
    v.add_status_list(&honest, NOW).unwrap();
    assert_eq!(v.verify(&s.request, &s.presentation, NOW).unwrap_err().check(), "status.revoked");
    // Within the clock skew (300 s by default) a token is not "from the future".
    let slightly_ahead = token_at(&s, &s.list, NOW.0 + 250, Some(3600), NOW.0 + DAY);
    assert!(s.verify_with(std::slice::from_ref(&slightly_ahead)).is_ok());
    // Loaded at NOW, then used for a verification at an earlier moment (the
    // key binding, made at NOW, is still within the skew): refused then too.
    let mut v = Verifier::new(s.fx.trust.clone());
    v.add_status_list(&slightly_ahead, NOW).unwrap();
    let early = UnixTime(NOW.0 - 100);
    assert_eq!(v.verify(&s.request, &s.presentation, early).unwrap_err().check(), "status.future_iat");
}

#[test]
fn a_token_older_than_its_ttl_fails_closed() {
    use creditproof::VerifierOptions;
    let s = setup();
    // ttl 1 h: fine at 50 min (plus skew), stale at 2 h, even though `exp`
    // is a day away.
    assert!(s.verify_with(&[token_at(&s, &s.list, NOW.0 - 3000, Some(3600), NOW.0 + DAY)]).is_ok());
    assert!(s.verify_with(&[token_at(&s, &s.list, NOW.0 - 3600 - 299, Some(3600), NOW.0 + DAY)]).is_ok());
    assert_eq!(s.check(&[token_at(&s, &s.list, NOW.0 - 3600 - 301, Some(3600), NOW.0 + DAY)]), "status.stale");
    assert_eq!(s.check(&[token_at(&s, &s.list, NOW.0 - 7200, Some(3600), NOW.0 + DAY)]), "status.stale");
    // A huge ttl is clamped to the verifier's maximum age (1 h by default)…
    let huge = token_at(&s, &s.list, NOW.0 - 7200, Some(365 * DAY), NOW.0 + DAY);
    assert_eq!(s.check(std::slice::from_ref(&huge)), "status.stale");
    // …and no ttl at all means the maximum age.
    assert_eq!(s.check(&[token_at(&s, &s.list, NOW.0 - 7200, None, NOW.0 + DAY)]), "status.stale");
    assert!(s.verify_with(&[token_at(&s, &s.list, NOW.0 - 1800, None, NOW.0 + DAY)]).is_ok());
    // A verifier that accepts older lists says so by name.
    let relaxed = VerifierOptions::default().with_status_max_age_secs(3 * 3600);
    let mut v = Verifier::with_options(s.fx.trust.clone(), relaxed);
    v.add_status_list(&huge, NOW).unwrap();
    assert!(v.verify(&s.request, &s.presentation, NOW).is_ok());
    // A tiny ttl counts as one minute, so a verifier never refetches more
    // often than that.
    assert!(s.verify_with(&[token_at(&s, &s.list, NOW.0 - 350, Some(1), NOW.0 + DAY)]).is_ok());
    assert_eq!(s.check(&[token_at(&s, &s.list, NOW.0 - 361, Some(1), NOW.0 + DAY)]), "status.stale");
    // A ttl that is not a number is malformed, not ignored.
    let header = json!({"alg": "EdDSA", "typ": "statuslist+jwt", "kid": s.fx.issuer.kid()});
    let payload = json!({"iss": ISS, "sub": URI, "iat": NOW.0, "exp": NOW.0 + DAY, "ttl": "3600",
        "status_list": {"bits": 2, "lst": s.list.encode_lst()}});
    assert_eq!(s.check(&[sign(&header, &payload, &s.fx.issuer_secret)]), "malformed.claim");
    // `exp` still ends a token first when it comes first.
    assert_eq!(s.check(&[token_at(&s, &s.list, NOW.0 - 1000, Some(3600), NOW.0 - 400)]), "status.expired");
}

#[test]
fn the_verifier_says_which_lists_are_due_and_when() {
    let s = setup();
    let mut v = Verifier::new(s.fx.trust.clone());
    assert!(v.status_refetch_schedule().is_empty());
    v.add_status_list(&token_at(&s, &s.list, NOW.0 - 100, Some(600), NOW.0 + DAY), NOW).unwrap();
    let schedule = v.status_refetch_schedule();
    assert_eq!(schedule.len(), 1);
    assert_eq!((schedule[0].issuer.as_str(), schedule[0].uri.as_str()), (ISS, URI));
    assert_eq!(schedule[0].due, UnixTime(NOW.0 + 500));
    // Due once the clock skew has passed too, and verification agrees.
    assert!(v.status_lists_due(NOW).is_empty());
    assert!(v.status_lists_due(UnixTime(NOW.0 + 800)).is_empty());
    assert_eq!(v.status_lists_due(UnixTime(NOW.0 + 801)), schedule);
    // A fresher token moves the date; `exp` caps it.
    v.add_status_list(&token_at(&s, &s.list, NOW.0, Some(3600), NOW.0 + 1800), NOW).unwrap();
    assert_eq!(v.status_refetch_schedule()[0].due, UnixTime(NOW.0 + 1800));
}

#[test]
fn the_verdict_names_the_status_reference_to_act_on() {
    let s = setup();
    let mut v = Verifier::new(s.fx.trust.clone());
    v.add_status_list(&s.token(&s.list), NOW).unwrap();
    let outcome = v.verify(&s.request, &s.presentation, NOW);
    let verified = outcome.as_ref().unwrap();
    assert_eq!(verified.status(), Some(&StatusRef { uri: URI.into(), idx: 3 }));
    let verdict = creditproof::verdict_json(&outcome);
    assert_eq!(verdict["status"], json!({"uri": URI, "idx": 3}));
}

#[test]
fn a_score_credential_without_status_is_refused_unless_allowed_by_name() {
    use creditproof::VerifierOptions;
    let mut fx = Fixture::new();
    let mut w = Wallet::new();
    let pk = w.generate_key(&mut fx.rng);
    w.store(fx.issuer.issue(&pk, &claims(), NOW, &mut fx.rng).unwrap()).unwrap();
    let request = fx.request(&["tier"], &[]);
    let p = w.present(&request, PresentOptions::default(), NOW, &mut fx.rng).unwrap();
    let strict = Verifier::new(fx.trust.clone()).verify(&request, p.as_str(), NOW);
    assert_eq!(strict.unwrap_err().check(), "status.missing");
    let lenient = Verifier::with_options(fx.trust.clone(), VerifierOptions::default().allow_missing_status());
    assert!(lenient.verify(&request, p.as_str(), NOW).is_ok());
}

/// What a verifier service does: which list a presentation needs (only
/// once its issuer signature verifies), a token fetched from that `uri`
/// checked against it, and a list it could not refetch failing closed at
/// once.
#[test]
fn fetched_lists_are_bound_to_their_uri_and_a_service_fails_closed_when_due() {
    use creditproof::VerifierOptions;
    let s = setup();
    let v = Verifier::new(s.fx.trust.clone());
    let (iss, status) = v.credential_status(&s.presentation).unwrap().expect("a status");
    assert_eq!((iss.as_str(), status.uri.as_str(), status.idx), (ISS, URI, 3));
    // An untrusted issuer, or a broken signature: nothing to fetch.
    let stranger = Verifier::new(TrustStore::new());
    assert_eq!(stranger.credential_status(&s.presentation).unwrap_err().check(), "trust.issuer");
    let (jwt, rest) = s.presentation.split_once('.').unwrap();
    let tampered = format!("{jwt}.{}", rest.replacen('e', "f", 1));
    assert!(v.credential_status(&tampered).is_err());
    // What a credential only claims (its issuer signature unchecked: for a
    // cache look, never for a fetch): the same reference, also under a
    // broken signature, but still only for a trusted issuer.
    let (credential, disclosures) = s.presentation.split_once('~').unwrap();
    let (signed, signature) = credential.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let forged = format!("{signed}.{flipped}{}~{disclosures}", &signature[1..]);
    assert_eq!(v.credential_status(&forged).unwrap_err().check(), "signature.issuer");
    assert_eq!(v.credential_status_claimed(&forged).unwrap(), Some((iss.clone(), status.clone())));
    assert_eq!(stranger.credential_status_claimed(&forged).unwrap_err().check(), "trust.issuer");

    // A token from the uri it names, by the credential's issuer.
    let mut v = Verifier::new(s.fx.trust.clone());
    let due = v.add_fetched_status_list(ISS, URI, &s.token(&s.list), NOW).unwrap();
    assert_eq!(due, UnixTime(NOW.0 + 3600));
    assert!(v.verify(&s.request, &s.presentation, NOW).is_ok());
    let other = s.fx.issuer.sign_status_list("https://bureau.example/status/2", &s.list, NOW, DAY, 3600);
    assert_eq!(v.add_fetched_status_list(ISS, URI, &other, NOW).unwrap_err().check(), "status.sub");
    let err = v.add_fetched_status_list("https://other.example", URI, &s.token(&s.list), NOW).unwrap_err();
    assert_eq!(err.check(), "status.issuer");

    // A service lowers the ttl floor (for tests) and drops the skew on
    // staleness: a 2 s list is due after 2 s and stale right after.
    let options = VerifierOptions::default().with_status_min_ttl_secs(1).with_status_stale_skew_secs(0);
    let mut v = Verifier::with_options(s.fx.trust.clone(), options);
    let due = v.add_fetched_status_list(ISS, URI, &token_at(&s, &s.list, NOW.0, Some(2), NOW.0 + DAY), NOW).unwrap();
    assert_eq!(due, UnixTime(NOW.0 + 2));
    assert!(v.verify(&s.request, &s.presentation, UnixTime(NOW.0 + 2)).is_ok());
    let late = v.verify(&s.request, &s.presentation, UnixTime(NOW.0 + 3)).unwrap_err();
    assert_eq!(late.check(), "status.stale");
    // The floor cannot go below a second, nor above the default minute.
    let zero = VerifierOptions::default().with_status_min_ttl_secs(0).with_status_stale_skew_secs(0);
    let mut v = Verifier::with_options(s.fx.trust.clone(), zero);
    let due = v.add_fetched_status_list(ISS, URI, &token_at(&s, &s.list, NOW.0, Some(0), NOW.0 + DAY), NOW).unwrap();
    assert_eq!(due, UnixTime(NOW.0 + 1));
    let high = VerifierOptions::default().with_status_min_ttl_secs(600);
    assert_eq!(high, VerifierOptions::default().with_status_min_ttl_secs(60));
}
