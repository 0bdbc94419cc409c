//! Arbitrary bytes as a presentation request: parsing must return an error
//! or a request that survives a JSON round trip unchanged; never panic.
#![no_main]

use creditproof::{Limits, PresentationRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(request) = PresentationRequest::from_json(data, &limits) {
        let json = request.to_json();
        let again = PresentationRequest::from_json(json.to_string().as_bytes(), &limits)
            .expect("a parsed request must re-parse from its own JSON");
        assert_eq!(again.to_json(), json, "request JSON round trip");
    }
});
