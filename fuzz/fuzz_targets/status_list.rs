//! Status lists: `StatusList::decode` on (first byte = bits, rest = `lst`)
//! must error or give a list that re-encodes to an equal list; the whole
//! input as a `statuslist+jwt` must never load (the fuzzer cannot sign with
//! the trusted key) and never panic.
#![no_main]

use creditproof::hazmat::SeededRng;
use creditproof::status_list::{DecodeLimits, StatusList};
use creditproof::{IssuerSigningKey, TrustStore, Verifier, VerifierOptions};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn trust() -> &'static TrustStore {
    static TRUST: OnceLock<TrustStore> = OnceLock::new();
    TRUST.get_or_init(|| {
        let key = IssuerSigningKey::generate(&mut SeededRng::new(b"fuzz status_list"));
        let mut trust = TrustStore::new();
        trust.add("https://bureau.example", key.public_key());
        trust
    })
}

fuzz_target!(|data: &[u8]| {
    if let Some((&bits, rest)) = data.split_first() {
        if let Ok(lst) = std::str::from_utf8(rest) {
            let limits = DecodeLimits::default();
            if let Ok(list) = StatusList::decode(bits, lst, &limits) {
                assert_eq!(list.bits(), bits);
                let again = StatusList::decode(bits, &list.encode_lst(), &limits).expect("an encoded list must decode");
                assert!(again == list, "status list encode/decode round trip");
                for idx in [0, list.len().saturating_sub(1), list.len()] {
                    if let Some(v) = list.get(idx) {
                        assert!(u32::from(v) < (1u32 << bits));
                    }
                }
            }
        }
    }
    if let Ok(token) = std::str::from_utf8(data) {
        let mut v = Verifier::with_options(trust().clone(), VerifierOptions::default().allow_missing_status());
        assert!(v.add_status_list(token, creditproof::UnixTime(1_795_262_400)).is_err(), "an unsigned token loaded as a status list");
    }
});
