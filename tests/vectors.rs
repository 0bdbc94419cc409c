//! Adversarial test vectors (`tests/vectors/adversarial/*.json`).
//!
//! 1. Every vector's expected outcome is checked against the library.
//! 2. The files are regenerated in memory by the same generator as
//!    `cargo run --example gen_vectors` and must equal the checked-in ones.
//!
//! Presentation vectors: a `TrustStore` from `trust` (+ `extra_trust`), a
//! `Verifier` with default options except `allow_missing_status` (most
//! vectors exercise other checks on credentials without a status; the
//! `status/` vectors carry one), with `status_lists` loaded (a vector's own list
//! replaces the file's; a load error is the outcome), the request from
//! `PresentationRequest::from_json`, and `verify` at `now`. Bytes in
//! `presentation_b64` are verified with `Verifier::verify_bytes`, which
//! checks UTF-8 (`malformed.utf8`).
//!
//! A vector with `known_deviation` records a suspected library bug: `expect`
//! is the outcome it should have, `known_deviation.actual` the one it has. The
//! test accepts either and prints the deviation, so fixing the bug needs only
//! the `known_deviation` removed in the generator.

#[path = "vectors/adversarial/generator.rs"]
mod generator;

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use creditproof::policy::Policy;
use creditproof::{Limits, PresentationRequest, TrustStore, UnixTime, Verifier, VerifierOptions};
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/adversarial");

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(DIR).join(name))
        .unwrap_or_else(|e| panic!("{name}: {e} (run `cargo run --example gen_vectors`)"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn vectors(file: &Value) -> &[Value] {
    file["vectors"].as_array().map_or(&[], Vec::as_slice)
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("`{key}` missing in {v:.80}")).to_owned()
}

/// `Ok(())` or the failed check's name.
fn run_presentation(file: &Value, v: &Value) -> Result<(), String> {
    let limits = Limits::default();
    let mut trust = TrustStore::new();
    let extra = v["extra_trust"].as_array().map_or(&[][..], Vec::as_slice);
    for meta in std::iter::once(&file["trust"]).chain(extra) {
        trust.add_metadata(meta.to_string().as_bytes(), &limits).unwrap_or_else(|e| panic!("trust: {e}"));
    }
    let mut verifier = Verifier::with_options(trust, VerifierOptions::default().allow_missing_status());
    let now = UnixTime(file["now"].as_u64().unwrap_or_else(|| panic!("now")));
    let lists = v.get("status_lists").unwrap_or(&file["status_lists"]);
    for token in lists.as_array().map_or(&[][..], Vec::as_slice) {
        let token = token.as_str().unwrap_or_default();
        verifier.add_status_list(token, now).map_err(|e| e.check().to_owned())?;
    }
    let request = PresentationRequest::from_json(v["request"].to_string().as_bytes(), &limits)
        .unwrap_or_else(|e| panic!("request: {e}"));
    let bytes = match v.get("presentation_b64") {
        Some(b) => B64.decode(b.as_str().unwrap_or_default()).unwrap_or_else(|e| panic!("presentation_b64: {e}")),
        None => text(v, "presentation").into_bytes(),
    };
    let now = UnixTime(file["now"].as_u64().unwrap_or_else(|| panic!("now")));
    verifier.verify_bytes(&request, &bytes, now).map(|_| ()).map_err(|e| e.check().to_owned())
}

fn run_request(v: &Value) -> Result<(), String> {
    PresentationRequest::from_json(text(v, "request_raw").as_bytes(), &Limits::default())
        .map(|_| ())
        .map_err(|e| e.check().to_owned())
}

fn run_policy(v: &Value) -> Result<(), String> {
    Policy::from_json_slice(text(v, "policy_raw").as_bytes(), 1 << 20).map(|_| ()).map_err(|e| e.to_string())
}

fn expected(v: &Value) -> Result<(), String> {
    match v["expect"].as_str() {
        Some("valid") => Ok(()),
        Some("invalid") => Err(text(v, "error")),
        other => panic!("bad expect {other:?} in {}", v["name"]),
    }
}

fn show(r: &Result<(), String>) -> String {
    match r {
        Ok(()) => "valid".to_owned(),
        Err(e) => format!("invalid ({e})"),
    }
}

#[derive(Default)]
struct Tally {
    valid: usize,
    invalid: usize,
    deviations: usize,
}

/// Compares one outcome; returns a failure line on mismatch.
fn compare(category: &str, v: &Value, actual: Result<(), String>, policy: bool, tally: &mut Tally) -> Option<String> {
    let want = expected(v);
    let matches = |want: &Result<(), String>| match (want, &actual) {
        (Ok(()), Ok(())) => true,
        (Err(w), Err(a)) if policy => {
            let prefix = v["message_prefix"].as_str().unwrap_or_default();
            w == "invalid" && a.starts_with(prefix)
        }
        (Err(w), Err(a)) => w == a,
        _ => false,
    };
    if want.is_ok() {
        tally.valid += 1;
    } else {
        tally.invalid += 1;
    }
    let name = v["name"].as_str().unwrap_or("?");
    if matches(&want) {
        return None;
    }
    if let Some(dev) = v.get("known_deviation") {
        let dev_actual = match dev["actual"].as_str() {
            Some("valid") => Ok(()),
            Some(e) => Err(e.to_owned()),
            None => panic!("known_deviation.actual"),
        };
        if matches(&dev_actual) {
            tally.deviations += 1;
            println!(
                "known deviation {category}/{name}: expected {}, got {} ({})",
                show(&want),
                show(&actual),
                dev["note"].as_str().unwrap_or_default()
            );
            return None;
        }
    }
    Some(format!("{category}/{name}: expected {}, got {}", show(&want), show(&actual)))
}

#[test]
fn adversarial_vectors_have_their_expected_outcomes() {
    let mut failures = Vec::new();
    let (mut p, mut r, mut q) = (Tally::default(), Tally::default(), Tally::default());
    let file = load("presentations.json");
    for v in vectors(&file) {
        let actual = run_presentation(&file, v);
        failures.extend(compare("presentations", v, actual, false, &mut p));
    }
    let file = load("requests.json");
    for v in vectors(&file) {
        failures.extend(compare("requests", v, run_request(v), false, &mut r));
    }
    let file = load("policies.json");
    for v in vectors(&file) {
        failures.extend(compare("policies", v, run_policy(v), true, &mut q));
    }
    println!(
        "vectors: presentations {} (valid {}, invalid {}), requests {} (valid {}, invalid {}), policies {} (valid {}, invalid {})",
        p.valid + p.invalid,
        p.valid,
        p.invalid,
        r.valid + r.invalid,
        r.valid,
        r.invalid,
        q.valid + q.invalid,
        q.valid,
        q.invalid,
    );
    let deviations = p.deviations + r.deviations + q.deviations;
    if deviations > 0 {
        println!("{deviations} known deviation(s) (suspected library bugs) listed above");
    }
    assert!(p.valid + p.invalid >= 80, "too few presentation vectors");
    assert!(failures.is_empty(), "{} vector(s) failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn adversarial_vectors_match_the_generator() {
    let generated = generator::generate();
    let mut expected_names: Vec<&str> = generated.iter().map(|(n, _)| n.as_str()).collect();
    expected_names.push("generator.rs");
    for entry in std::fs::read_dir(DIR).unwrap_or_else(|e| panic!("{DIR}: {e}")) {
        let name = entry.unwrap_or_else(|e| panic!("{e}")).file_name().to_string_lossy().into_owned();
        assert!(expected_names.contains(&name.as_str()), "{name} in {DIR} is not produced by the generator");
    }
    for (name, text) in generated {
        let on_disk = std::fs::read_to_string(Path::new(DIR).join(&name)).unwrap_or_default();
        assert!(
            on_disk == text,
            "tests/vectors/adversarial/{name} differs from the generator's output: \
             run `cargo run --example gen_vectors` and review the diff"
        );
    }
}

/// `Verifier::verify_batch` gives every presentation vector exactly the
/// outcome `Verifier::verify` gives it, with the valid ones interleaved so
/// that each bad signature shares its batch with good ones.
#[test]
fn verify_batch_agrees_with_verify_on_every_presentation_vector() {
    let file = load("presentations.json");
    let limits = Limits::default();
    let mut trust = TrustStore::new();
    trust.add_metadata(file["trust"].to_string().as_bytes(), &limits).unwrap_or_else(|e| panic!("trust: {e}"));
    let mut verifier = Verifier::with_options(trust, VerifierOptions::default().allow_missing_status());
    let now = UnixTime(file["now"].as_u64().unwrap_or_else(|| panic!("now")));
    for token in file["status_lists"].as_array().map_or(&[][..], Vec::as_slice) {
        verifier.add_status_list(token.as_str().unwrap_or_default(), now).unwrap_or_else(|e| panic!("{e}"));
    }
    // The vectors that run under the file's own trust and status lists.
    let plain: Vec<(PresentationRequest, String)> = vectors(&file)
        .iter()
        .filter(|v| v.get("extra_trust").is_none() && v.get("status_lists").is_none())
        .filter_map(|v| {
            let request = PresentationRequest::from_json(v["request"].to_string().as_bytes(), &limits).ok()?;
            Some((request, v.get("presentation")?.as_str()?.to_owned()))
        })
        .collect();
    assert!(plain.len() >= 100, "{} vectors", plain.len());
    let items: Vec<(&PresentationRequest, &str)> = plain.iter().map(|(r, p)| (r, p.as_str())).collect();
    let check = |r: &Result<creditproof::VerifiedPresentation, creditproof::Error>| match r {
        Ok(v) => Ok(v.clone()),
        Err(e) => Err(e.check()),
    };
    let single: Vec<_> = items.iter().map(|(r, p)| check(&verifier.verify(r, p, now))).collect();
    assert!(single.iter().filter(|o| o.is_ok()).count() >= 5);
    assert!(single.iter().any(|o| o == &Err("signature.issuer")));
    assert!(single.iter().any(|o| o == &Err("holder_binding.signature")));
    let batch: Vec<_> = verifier.verify_batch(&items, now).iter().map(check).collect();
    assert_eq!(batch, single);
    // Each item alone in a batch, and the batch reversed.
    for (i, item) in items.iter().enumerate() {
        assert_eq!(check(&verifier.verify_batch(&[*item], now)[0]), single[i]);
    }
    let reversed: Vec<_> = items.iter().rev().copied().collect();
    let mut back: Vec<_> = verifier.verify_batch(&reversed, now).iter().map(check).collect();
    back.reverse();
    assert_eq!(back, single);
    assert!(verifier.verify_batch(&[], now).is_empty());
}
