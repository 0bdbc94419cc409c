//! Arbitrary bytes as a presentation: verification must return an error,
//! never panic, and never accept.
#![no_main]

use std::sync::OnceLock;

use creditproof::hazmat::SeededRng;
use creditproof::{IssuerSigningKey, PresentationRequest, TrustStore, UnixTime, Verifier};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    verifier: Verifier<TrustStore>,
    request: PresentationRequest,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut rng = SeededRng::new(b"fuzz verify");
        let key = IssuerSigningKey::generate(&mut rng);
        let mut trust = TrustStore::new();
        trust.add("https://bureau.example", key.public_key());
        let request = PresentationRequest::builder("https://v.example").disclose("tier").build(&mut rng).unwrap();
        Fixture { verifier: Verifier::new(trust), request }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    assert!(f.verifier.verify_bytes(&f.request, data, UnixTime(1_795_262_400)).is_err());
});
