//! Arbitrary bytes as a presentation: verification must return an error,
//! never panic, and never accept.
#![no_main]

use creditproof::hazmat::SeededRng;
use creditproof::{IssuerSigningKey, PresentationRequest, TrustStore, UnixTime, Verifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rng = SeededRng::new(b"fuzz verify");
    let key = IssuerSigningKey::generate(&mut rng);
    let mut trust = TrustStore::new();
    trust.add("https://bureau.example", key.public_key());
    let request = PresentationRequest::builder("https://v.example").disclose("tier").build(&mut rng).unwrap();
    if let Ok(s) = std::str::from_utf8(data) {
        assert!(Verifier::new(trust).verify(&request, s, UnixTime(1_795_262_400)).is_err());
    }
});
