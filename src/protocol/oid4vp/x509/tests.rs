//! `x509_san_dns:` end to end over the fixed test PKI of `tests/x509`
//! (see its `gen.sh`): a CA, a leaf for `localhost`, an unrelated CA.

use std::sync::Arc;

use serde_json::{json, Value};

use super::*;
use crate::format::encoding::{b64_decode, parse_json_object};
use crate::hazmat::SeededRng;
use crate::protocol::dcql::ScoreAsk;
use crate::protocol::oid4vp::request::{parse_link_with_trust, parse_request_object, parse_request_object_with_trust};
use crate::protocol::oid4vp::{
    fetch_request, parse_link, plan, AuthorizationRequest, MemoryStore, NewTransaction, Oid4vpVerifier, RequestLink,
    WalletMetadata,
};
use crate::status_list::StatusList;
use crate::{Claims, Issuer, IssuerSigningKey, PresentOptions, StatusRef, TrustStore, Verifier, Wallet};

macro_rules! pki {
    ($file:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/x509/", $file)).as_slice()
    };
}

/// 2027-12: within the test certificates' validity (2026-12 to 2126).
const NOW: UnixTime = UnixTime(1_830_000_000);
const RESPONSE_URI: &str = "http://localhost:8080/response";

fn signer() -> Arc<RequestSigner> {
    Arc::new(RequestSigner::from_pem(pki!("leaf.key"), pki!("chain.pem")).unwrap())
}

fn trust(pem: &[u8]) -> VerifierTrust {
    let mut t = VerifierTrust::new();
    assert_eq!(t.add_pem(pem).unwrap(), 1);
    t
}

fn lender() -> Oid4vpVerifier {
    Oid4vpVerifier::x509_san_dns(signer(), RESPONSE_URI, "http://localhost:8080/request").unwrap()
}

/// A request object signed by `lender` for a fresh transaction.
fn signed_object(rng: &mut SeededRng) -> (Oid4vpVerifier, MemoryStore, String, crate::oid4vp::PendingRequest) {
    let lender = lender();
    let mut store = MemoryStore::new();
    let ask = ScoreAsk::new().predicate("score>=650".parse().unwrap());
    let created = lender.create(&mut store, NewTransaction::from_ask(&ask).unwrap(), NOW, rng).unwrap();
    let RequestLink::ByReference(reference) = parse_link(&created.link).unwrap() else { panic!("by reference") };
    assert_eq!(reference.client_id, "x509_san_dns:localhost");
    let (pending, post) = fetch_request(&reference, &WalletMetadata::creditproof(), rng);
    let id = post.url.rsplit('/').next().unwrap().to_owned();
    let object = lender.request_object(&mut store, &id, Some(post.body.as_bytes()), NOW).unwrap();
    (lender, store, object, pending)
}

fn header_of(jwt: &str) -> Map<String, Value> {
    let h = b64_decode(jwt.split('.').next().unwrap(), "h").unwrap();
    parse_json_object(&h, &crate::Limits::default(), "h").unwrap()
}

fn auth_check(r: Result<AuthorizationRequest, Oid4vpError>) -> &'static str {
    r.unwrap_err().check()
}

#[test]
fn the_signer_loads_its_key_and_chain_or_says_why_not() {
    let s = signer();
    assert_eq!((s.client_id().as_str(), s.alg()), ("x509_san_dns:localhost", "ES256"));
    let ed = RequestSigner::from_pem(pki!("ed-leaf.key"), pki!("ed-leaf.pem")).unwrap();
    assert_eq!((ed.client_id().as_str(), ed.alg()), ("x509_san_dns:localhost", "EdDSA"));
    let err = |key: &[u8], chain: &[u8]| RequestSigner::from_pem(key, chain).unwrap_err();
    assert_eq!(err(pki!("other-leaf.key"), pki!("chain.pem")), X509Error::KeyMismatch);
    assert_eq!(err(pki!("ed-leaf.key"), pki!("chain.pem")), X509Error::KeyMismatch);
    assert_eq!(err(pki!("nosan-leaf.key"), pki!("nosan-leaf.pem")), X509Error::NoDnsSan);
    assert_eq!(err(pki!("leaf.pem"), pki!("chain.pem")), X509Error::Pem { what: "PRIVATE KEY" });
    assert_eq!(err(pki!("leaf.key"), pki!("leaf.key")), X509Error::Pem { what: "CERTIFICATE" });
    assert!(matches!(
        err(pki!("leaf.key"), b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        X509Error::Certificate { .. }
    ));
    let six = [pki!("chain.pem"); 3].concat();
    assert_eq!(err(pki!("leaf.key"), &six), X509Error::ChainTooLong);
    assert!(VerifierTrust::new().add_pem(b"no pem here").is_err());
    // The response_uri must be on the leaf's host.
    for elsewhere in ["http://127.0.0.1:8080/response", "https://lender.example/response"] {
        let e = Oid4vpVerifier::x509_san_dns(signer(), elsewhere, "http://localhost:8080/request").unwrap_err();
        assert_eq!(e.check(), "oid4vp.response_uri", "{elsewhere}");
    }
    // And a redirect_uri: verifier cannot be given an x509 identifier.
    assert_eq!(
        Oid4vpVerifier::new(s.client_id().clone(), "http://localhost:8080/request").unwrap_err().check(),
        "oid4vp.request_signature"
    );
}

#[test]
fn a_signed_request_round_trips_and_the_kb_jwt_names_the_full_client_id() {
    let mut rng = SeededRng::new(b"x509 round trip");
    let issuer = Issuer::new("https://bureau.example", IssuerSigningKey::generate(&mut rng)).unwrap();
    let mut wallet = Wallet::new();
    let key = wallet.generate_key(&mut rng);
    let mut claims = Claims::new();
    claims.commit("score", 712, 950).unwrap();
    let status = StatusRef { uri: "https://bureau.example/status/1".into(), idx: 7 };
    wallet.store(issuer.issue_with_status(&key, &claims, &status, NOW, &mut rng).unwrap()).unwrap();
    let mut trusted = TrustStore::new();
    trusted.add(issuer.id(), issuer.public_key());
    let mut checks = Verifier::new(trusted);
    let list = StatusList::new(2, 1024).unwrap();
    checks.add_status_list(&issuer.sign_status_list(&status.uri, &list, NOW, 86_400, 3600), NOW).unwrap();

    let (lender, mut store, object, pending) = signed_object(&mut rng);
    let header = header_of(&object);
    assert_eq!(header.get("alg"), Some(&json!("ES256")));
    assert_eq!(header.get("typ"), Some(&json!("oauth-authz-req+jwt")));
    let x5c = header.get("x5c").and_then(Value::as_array).unwrap();
    assert_eq!(x5c.len(), 2, "leaf, then the CA");
    let leaf_der = CertificateDer::from_pem_slice(pki!("leaf.pem")).unwrap();
    assert_eq!(x5c[0], json!(STANDARD.encode(leaf_der.as_ref())), "leaf first, standard base64");

    let request = pending.accept_with_trust(200, object.as_bytes(), &trust(pki!("ca.pem")), NOW).unwrap();
    assert_eq!(request.client_id().as_str(), "x509_san_dns:localhost");
    assert_eq!(request.response_uri(), RESPONSE_URI);
    let plan = plan(request, &wallet, PresentOptions::default(), NOW).unwrap();
    assert!(plan.preview().authenticated);
    let response = plan.respond(&mut wallet, NOW, &mut rng).unwrap();

    // The KB-JWT's aud is the full client identifier, prefix included.
    let fields = crate::protocol::form::parse(response.body.as_bytes(), 1 << 20, 8).unwrap();
    let token: Value = serde_json::from_str(fields.get("vp_token").unwrap().as_str()).unwrap();
    let presentation = token["credit"][0].as_str().unwrap();
    let kb = presentation.rsplit('~').next().unwrap();
    let kb_payload = b64_decode(kb.split('.').nth(1).unwrap(), "kb").unwrap();
    let kb_claims: Value = serde_json::from_slice(&kb_payload).unwrap();
    assert_eq!(kb_claims["aud"], json!("x509_san_dns:localhost"));

    let verdict = lender.direct_post(&mut store, &checks, response.body.as_bytes(), NOW).unwrap();
    assert!(verdict.is_accepted(), "{verdict:?}");
}

#[test]
fn the_wallet_refuses_what_it_cannot_authenticate() {
    let mut rng = SeededRng::new(b"x509 refusals");
    let (_, _, object, _) = signed_object(&mut rng);
    let good = trust(pki!("ca.pem"));
    let client = "x509_san_dns:localhost";
    // Parsed without expecting a wallet_nonce (its echo is checked first).
    let with = |jwt: &str, t: &VerifierTrust, now: UnixTime| parse_request_object_with_trust(jwt, client, None, t, now);
    assert!(with(&object, &good, NOW).is_ok());

    // No anchors, an unrelated anchor, expired (year 2200), not yet valid.
    assert_eq!(auth_check(with(&object, &VerifierTrust::new(), NOW)), "oid4vp.client_auth.no_trust_anchors");
    assert_eq!(auth_check(parse_request_object(&object, client, None)), "oid4vp.client_auth.no_trust_anchors");
    assert_eq!(auth_check(with(&object, &trust(pki!("other-ca.pem")), NOW)), "oid4vp.client_auth.chain");
    assert_eq!(auth_check(with(&object, &good, UnixTime(7_258_118_400))), "oid4vp.client_auth.chain");
    assert_eq!(auth_check(with(&object, &good, UnixTime(1_000_000_000))), "oid4vp.client_auth.chain");
    let parts: Vec<&str> = object.split('.').collect();

    // A bad signature: one byte of it changed.
    let mut sig = b64_decode(parts[2], "sig").unwrap();
    sig[10] ^= 1;
    let tampered = format!("{}.{}.{}", parts[0], parts[1], b64_encode(&sig));
    assert_eq!(auth_check(with(&tampered, &good, NOW)), "oid4vp.client_auth.signature");
    // A payload changed under the signature.
    let mut payload = parse_json_object(&b64_decode(parts[1], "p").unwrap(), &crate::Limits::default(), "p").unwrap();
    payload.insert("state".into(), json!("another-state"));
    let moved = format!("{}.{}.{}", parts[0], b64_encode(to_json(&Value::Object(payload.clone()))), parts[2]);
    assert_eq!(auth_check(with(&moved, &good, NOW)), "oid4vp.client_auth.signature");

    // The same payload unsigned (alg none) still claims x509_san_dns:.
    let unsigned =
        format!("{}.{}.", b64_encode(to_json(&json!({"alg": "none", "typ": "oauth-authz-req+jwt"}))), parts[1]);
    assert_eq!(auth_check(with(&unsigned, &good, NOW)), "oid4vp.request_signature");
    // Signed, but without x5c; with an x5c that is not base64 or not a certificate.
    let mut header = header_of(&object);
    let reheader = |h: &Map<String, Value>| {
        format!("{}.{}.{}", b64_encode(to_json(&Value::Object(h.clone()))), parts[1], parts[2])
    };
    header.remove("x5c");
    assert_eq!(auth_check(with(&reheader(&header), &good, NOW)), "oid4vp.request_signature");
    header.insert("x5c".into(), json!(["!!"]));
    assert_eq!(auth_check(with(&reheader(&header), &good, NOW)), "oid4vp.client_auth.x5c");
    header.insert("x5c".into(), json!(["AAAA"]));
    assert_eq!(auth_check(with(&reheader(&header), &good, NOW)), "oid4vp.client_auth.x5c");
    // An alg that does not fit the leaf's P-256 key.
    let mut header = header_of(&object);
    header.insert("alg".into(), json!("EdDSA"));
    assert_eq!(auth_check(with(&reheader(&header), &good, NOW)), "oid4vp.client_auth.alg");

    // A request whose response_uri is elsewhere, validly signed by the
    // localhost leaf: the SAN differs from the response_uri host.
    let s = signer();
    let query = ScoreAsk::new().predicate("score>=650".parse().unwrap()).to_query("credit").unwrap();
    let nonce = "n-0S6_WzA2Mj-0S6_WzA2Mj".to_owned();
    let mut claims =
        AuthorizationRequest::new(s.client_id().clone(), RESPONSE_URI.into(), nonce, None, query, None).to_claims();
    claims.insert("response_uri".into(), json!("https://evil.example/response"));
    let evil = s.sign(REQUEST_OBJECT_TYP_FOR_TESTS, &Value::Object(claims.clone())).unwrap();
    assert_eq!(auth_check(with(&evil, &good, NOW)), "oid4vp.response_uri");
    // A leaf for other.example signing as localhost: not valid for the name.
    let other =
        RequestSigner::from_pem(pki!("other-leaf.key"), &[pki!("other-leaf.pem"), pki!("ca.pem")].concat()).unwrap();
    assert_eq!(other.client_id().as_str(), "x509_san_dns:other.example");
    claims.insert("response_uri".into(), json!(RESPONSE_URI));
    let impostor = other.sign(REQUEST_OBJECT_TYP_FOR_TESTS, &Value::Object(claims.clone())).unwrap();
    assert_eq!(auth_check(with(&impostor, &good, NOW)), "oid4vp.client_auth.dns_name");
    // The same claims signed by the right leaf pass: the refusals above
    // are the changes, not the test's construction.
    let fine = s.sign(REQUEST_OBJECT_TYP_FOR_TESTS, &Value::Object(claims)).unwrap();
    assert!(with(&fine, &good, NOW).is_ok());
}

const REQUEST_OBJECT_TYP_FOR_TESTS: &str = crate::oid4vp::REQUEST_OBJECT_TYP;

#[test]
fn by_value_links_carry_the_signed_object_and_ed25519_verifies() {
    let mut rng = SeededRng::new(b"x509 by value");
    let ed = Arc::new(RequestSigner::from_pem(pki!("ed-leaf.key"), pki!("ed-leaf.pem")).unwrap());
    let lender = Oid4vpVerifier::x509_san_dns(ed, "https://localhost/response", "https://localhost/request").unwrap();
    let mut store = MemoryStore::new();
    let ask = ScoreAsk::new().predicate("score>=650".parse().unwrap());
    let created = lender.create(&mut store, NewTransaction::from_ask(&ask).unwrap().by_value(), NOW, &mut rng).unwrap();
    assert!(created.link.contains("&request=ey"), "{}", created.link);
    assert_eq!(parse_link(&created.link).unwrap_err().check(), "oid4vp.client_auth.no_trust_anchors");
    let RequestLink::ByValue(request) = parse_link_with_trust(&created.link, &trust(pki!("ca.pem")), NOW).unwrap()
    else {
        panic!("by value")
    };
    assert_eq!(request.client_id().as_str(), "x509_san_dns:localhost");
    assert_eq!(
        parse_link_with_trust(&created.link, &trust(pki!("other-ca.pem")), NOW).unwrap_err().check(),
        "oid4vp.client_auth.chain"
    );
}
