//! Arbitrary bytes as a presentation: verification — the score profile and
//! the generic RFC 9901 mode, with and without key binding — must return an
//! error, never panic, and never accept.
#![no_main]

use std::sync::OnceLock;

use creditproof::hazmat::SeededRng;
use creditproof::sd_jwt::{KeyBinding, SdJwtVerifier};
use creditproof::{Algorithm, IssuerSigningKey, PresentationRequest, TrustStore, UnixTime, Verifier, VerifierOptions};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    verifier: Verifier<TrustStore>,
    request: PresentationRequest,
    generic: [SdJwtVerifier; 2],
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut rng = SeededRng::new(b"fuzz verify");
        let key = IssuerSigningKey::generate(&mut rng);
        let mut trust = TrustStore::new();
        trust.add("https://bureau.example", key.public_key());
        let request = PresentationRequest::builder("https://v.example").disclose("tier").build(&mut rng).unwrap();
        let p256 = IssuerSigningKey::generate_with(Algorithm::Es256, &mut rng).unwrap().public_key();
        let generic = [
            SdJwtVerifier::new(key.public_key(), "dc+sd-jwt"),
            SdJwtVerifier::new(p256, "example+sd-jwt").with_key_binding(KeyBinding::required("n", "https://v.example")),
        ];
        Fixture { verifier: Verifier::with_options(trust, VerifierOptions::default().allow_missing_status()), request, generic }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let now = UnixTime(1_795_262_400);
    assert!(f.verifier.verify_bytes(&f.request, data, now).is_err());
    if let Ok(text) = std::str::from_utf8(data) {
        for g in &f.generic {
            assert!(g.verify(text, now).is_err());
        }
    }
});
