//! `Verifier::verify_batch`: one outcome per item, each exactly what
//! `Verifier::verify` says, whatever else is in the batch.

use creditproof::{Error, PresentationRequest, VerifiedPresentation, Verifier, VerifierOptions};
use serde_json::json;

use crate::fixture::{split, Fixture, NOW};

fn checks(outcomes: &[Result<VerifiedPresentation, Error>]) -> Vec<Result<(), &'static str>> {
    outcomes.iter().map(|o| o.as_ref().map(|_| ()).map_err(Error::check)).collect()
}

#[test]
fn one_bad_signature_among_63_good_fails_alone() {
    let mut f = Fixture::new();
    let requests: Vec<PresentationRequest> = (0..64).map(|_| f.request(&["tier"], &[])).collect();
    let mut presentations: Vec<String> = requests.iter().map(|r| f.present(r)).collect();
    let verifier = Verifier::with_options(f.trust.clone(), VerifierOptions::default().allow_missing_status());
    fn items<'a>(rs: &'a [PresentationRequest], ps: &'a [String]) -> Vec<(&'a PresentationRequest, &'a str)> {
        rs.iter().zip(ps).map(|(r, p)| (r, p.as_str())).collect()
    }
    assert!(verifier.verify_batch(&items(&requests, &presentations), NOW).iter().all(Result::is_ok));

    // A key-binding signature with one bit flipped (still canonical).
    let good = presentations[17].clone();
    let mut bad = good.clone().into_bytes();
    let at = good.len() - 10;
    bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
    presentations[17] = String::from_utf8(bad).unwrap();
    let single = verifier.verify(&requests[17], &presentations[17], NOW).unwrap_err().check();
    assert_eq!(single, "holder_binding.signature");
    let got = checks(&verifier.verify_batch(&items(&requests, &presentations), NOW));
    let want: Vec<Result<(), &str>> = (0..64).map(|i| if i == 17 { Err(single) } else { Ok(()) }).collect();
    assert_eq!(got, want);

    // An issuer JWT signed by the holder instead: signature.issuer.
    presentations[17] = good;
    let mut parts = split(&presentations[40]);
    parts.payload["extra"] = json!(1);
    presentations[40] = parts.assemble(&f.holder_secret, &f.holder_secret);
    let got = checks(&verifier.verify_batch(&items(&requests, &presentations), NOW));
    let want: Vec<Result<(), &str>> = (0..64).map(|i| if i == 40 { Err("signature.issuer") } else { Ok(()) }).collect();
    assert_eq!(got, want);
}

#[test]
fn a_bad_issuer_signature_wins_over_every_later_check() {
    let mut f = Fixture::new();
    let request = f.request(&["tier"], &[]);
    let p = f.present(&request);
    let verifier = Verifier::with_options(f.trust.clone(), VerifierOptions::default().allow_missing_status());
    // Expired, a wrong nonce and a bad key-binding signature too; the
    // issuer signature is checked first.
    let mut parts = split(&p);
    parts.payload["exp"] = json!(1);
    parts.kb_payload["nonce"] = json!("another nonce, 16+");
    let forged = parts.assemble(&f.holder_secret, &f.issuer_secret);
    assert_eq!(verifier.verify(&request, &forged, NOW).unwrap_err().check(), "signature.issuer");
    let batch = verifier.verify_batch(&[(&request, forged.as_str()), (&request, p.as_str())], NOW);
    assert_eq!(checks(&batch), [Err("signature.issuer"), Ok(())]);
    // Correctly signed by the issuer but expired: time, before the bad
    // key-binding signature.
    let expired = parts.assemble(&f.issuer_secret, &f.issuer_secret);
    assert_eq!(verifier.verify(&request, &expired, NOW).unwrap_err().check(), "time.expired");
    let batch = verifier.verify_batch(&[(&request, expired.as_str())], NOW);
    assert_eq!(checks(&batch), [Err("time.expired")]);
    // Valid issuer JWT, wrong nonce, key binding signed by the wrong key:
    // the signature check comes before the nonce.
    let mut parts = split(&p);
    parts.kb_payload["nonce"] = json!("another nonce, 16+");
    let wrong_kb = parts.assemble(&f.issuer_secret, &f.issuer_secret);
    assert_eq!(verifier.verify(&request, &wrong_kb, NOW).unwrap_err().check(), "holder_binding.signature");
    let right_kb = parts.assemble(&f.issuer_secret, &f.holder_secret);
    assert_eq!(verifier.verify(&request, &right_kb, NOW).unwrap_err().check(), "holder_binding.nonce");
    let batch = verifier.verify_batch(&[(&request, wrong_kb.as_str()), (&request, right_kb.as_str())], NOW);
    assert_eq!(checks(&batch), [Err("holder_binding.signature"), Err("holder_binding.nonce")]);
}
