//! Forged issuer signatures. The verifier checks both Ed25519 signatures of
//! a presentation in one equation at the end, so a forger who cannot sign
//! still reaches the parsing of the payload, the disclosures, the key
//! binding and the range proofs. This target builds such forgeries: the
//! trusted issuer's real header, a payload from the input, and the
//! issuer's genuine signature over *another* payload ([`SIGNED`]); then
//! the input's disclosures and a KB-JWT over the input's key-binding
//! payload, correctly signed by the holder key that [`SIGNED`] binds, with
//! `nonce`, `aud`, `iat` and `sd_hash` set right when the payload is a JSON
//! object, so that checks after the key binding are reached too.
//!
//! The target PANICS if a presentation verifies while its payload is not
//! byte for byte the one the issuer signed; any other outcome (and no
//! panic, no unbounded allocation) is correct.
//!
//! Input: sections separated by `0x00`: the issuer payload (JSON text), the
//! KB-JWT payload (JSON text), then each disclosure as JSON text (the
//! target base64url-encodes it). `examples/gen_corpus.rs` writes seeds made
//! from a real presentation of the same credential (`forged_fixture.rs`).
#![no_main]

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use creditproof::status_list::StatusList;
use creditproof::{PresentationRequest, TrustStore, Verifier, DAY, VerifierOptions};
use ed25519_dalek::Signer as _;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

#[path = "forged_fixture.rs"]
mod forged_fixture;
use forged_fixture::{forged_fixture, Forged, NOW, URI};

struct Setup {
    header_b64: String,
    /// The payload the issuer really signed, and its signature (base64url).
    signed_payload_b64: String,
    signature_b64: String,
    holder: ed25519_dalek::SigningKey,
    request: PresentationRequest,
    verifier: Verifier<TrustStore>,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let Forged { issuer, issuer_secret, holder, issued, request, .. } = forged_fixture();
        let jwt = issued.expose_sd_jwt().split('~').next().unwrap().to_owned();
        let mut parts = jwt.split('.');
        let (header_b64, signed_payload_b64, signature_b64) =
            (parts.next().unwrap().to_owned(), parts.next().unwrap().to_owned(), parts.next().unwrap().to_owned());
        // The issuer's key signs exactly that header and payload.
        let check = ed25519_dalek::SigningKey::from_bytes(&issuer_secret)
            .sign(format!("{header_b64}.{signed_payload_b64}").as_bytes());
        assert_eq!(B64.encode(check.to_bytes()), signature_b64);

        let mut trust = TrustStore::new();
        trust.add(issuer.id(), issuer.public_key());
        let mut list = StatusList::new(2, 16).unwrap();
        list.set(5, 1).unwrap();
        let mut verifier = Verifier::with_options(trust, VerifierOptions::default().allow_missing_status());
        verifier.add_status_list(&issuer.sign_status_list(URI, &list, NOW, DAY, 3600), NOW).unwrap();
        let holder = ed25519_dalek::SigningKey::from_bytes(&holder.to_secret_bytes());
        Setup { header_b64, signed_payload_b64, signature_b64, holder, request, verifier }
    })
}

fuzz_target!(|data: &[u8]| {
    let s = setup();
    let mut sections = data.split(|&b| b == 0);
    let payload = sections.next().unwrap_or_default();
    let kb_payload = sections.next().unwrap_or_default();
    let payload_b64 = B64.encode(payload);
    let mut sd_jwt = format!("{}.{payload_b64}.{}~", s.header_b64, s.signature_b64);
    for d in sections.take(64) {
        sd_jwt.push_str(&B64.encode(d));
        sd_jwt.push('~');
    }
    let kb_payload = match serde_json::from_slice::<Value>(kb_payload) {
        Ok(Value::Object(mut m)) => {
            let sd_hash = B64.encode(ring::digest::digest(&ring::digest::SHA256, sd_jwt.as_bytes()));
            m.insert("nonce".into(), json!(s.request.nonce()));
            m.insert("aud".into(), json!(s.request.audience()));
            m.insert("iat".into(), json!(NOW.as_secs()));
            m.insert("sd_hash".into(), json!(sd_hash));
            Value::Object(m).to_string().into_bytes()
        }
        _ => kb_payload.to_vec(),
    };
    let kb_input = format!("{}.{}", B64.encode(br#"{"alg":"EdDSA","typ":"kb+jwt"}"#), B64.encode(&kb_payload));
    let kb_sig = B64.encode(s.holder.sign(kb_input.as_bytes()).to_bytes());
    let presentation = format!("{sd_jwt}{kb_input}.{kb_sig}");
    let outcome = s.verifier.verify(&s.request, &presentation, NOW);
    if outcome.is_ok() && payload_b64 != s.signed_payload_b64 {
        panic!("a payload the issuer never signed verified: {}", String::from_utf8_lossy(payload));
    }
});
