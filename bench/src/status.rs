//! Token Status List figures: the issuer's cost to publish a list (build,
//! compress, sign), the verifier's cost to load one (signature check and
//! bounded decompression) and the cost of one lookup in a loaded list.

use std::hint::black_box;

use creditproof::status_list::{DecodeLimits, StatusList, STATUS_INVALID};
use creditproof::{StatusLists, VerifierOptions, DAY};

use crate::fixture::{Fixture, NOW, STATUS_URI};
use crate::harness::Harness;
use crate::report::Report;
use crate::splitmix::SplitMix;
use crate::BoxError;

/// Distinct random positions: 1 % of `len`.
fn revoked_positions(len: usize, rng: &mut SplitMix) -> Vec<usize> {
    let mut taken = vec![false; len];
    let mut out = Vec::with_capacity(len / 100);
    while out.len() < len / 100 {
        let i = rng.below(len);
        if !taken[i] {
            taken[i] = true;
            out.push(i);
        }
    }
    out
}

/// Builds a 2-bit list of `len` entries with `revoked` set to "invalid".
fn build(len: usize, revoked: &[usize]) -> Result<StatusList, BoxError> {
    let mut list = StatusList::new(2, len)?;
    for &i in revoked {
        list.set(i, STATUS_INVALID)?;
    }
    Ok(list)
}

/// Status list rows for 1 M and 10 M entries.
pub fn run(h: &Harness, report: &Report, fx: &Fixture) -> Result<(), BoxError> {
    report.section("status lists: 2-bit entries, 1 % revoked at random (Token Status List)");
    let mut rng = SplitMix(0x5747_7573);
    for (len, tag) in [(1_000_000usize, "1M"), (10_000_000, "10M")] {
        let revoked = revoked_positions(len, &mut rng);

        // Issuer: allocate the list, set the revoked entries, compress, sign.
        let publish = h.measure(|| {
            let list = build(len, &revoked).unwrap_or_else(|e| panic!("status list: {e}"));
            black_box(fx.issuer.sign_status_list(STATUS_URI, &list, NOW, DAY, 3600));
        });
        report.time(
            &format!("status.{tag}.build_compress_sign"),
            &format!("{tag} entries: build + compress + sign"),
            &publish,
            &[],
        );

        let list = build(len, &revoked)?;
        let token = fx.issuer.sign_status_list(STATUS_URI, &list, NOW, DAY, 3600);
        let lst = list.encode_lst();

        // Verifier: check the token's signature and decode its list, once per fetch.
        let options = VerifierOptions::default();
        let mut check = StatusLists::new();
        check.add(&token, &fx.trust, &options, NOW)?;
        let load = h.measure(|| {
            let mut lists = StatusLists::new();
            black_box(lists.add(black_box(&token), &fx.trust, &options, NOW).is_ok());
        });
        report.time(
            &format!("status.{tag}.load"),
            &format!("{tag} entries: verifier load (signature + decompress)"),
            &load,
            &[],
        );

        let decode = h.measure(|| {
            black_box(StatusList::decode(2, black_box(&lst), &DecodeLimits::default()).is_ok());
        });
        report.time(
            &format!("status.{tag}.decompress"),
            &format!("{tag} entries: of which decompress alone (StatusList::decode)"),
            &decode,
            &[],
        );

        // One lookup in the decoded list, at a random index each time.
        let decoded = StatusList::decode(2, &lst, &DecodeLimits::default())?;
        if decoded.as_bytes() != list.as_bytes() {
            return Err("status list: decoding did not give back the list".into());
        }
        let idx: Vec<usize> = (0..4096).map(|_| rng.below(len)).collect();
        let mut k = 0usize;
        let lookup = h.measure(|| {
            k = (k + 1) & 4095;
            black_box(decoded.get(black_box(idx[k])));
        });
        report.time(
            &format!("status.{tag}.lookup"),
            &format!("{tag} entries: one lookup (random index)"),
            &lookup,
            &[],
        );

        report.bytes(
            &format!("status.{tag}.raw_bytes"),
            &format!("{tag} entries: raw bitstring"),
            list.as_bytes().len(),
        );
        // What a verifier keeps per decoded list: the packed bits, read by
        // index (heap allocation of the decoded list; goal ≤ 1.1× raw).
        report.bytes(
            &format!("status.{tag}.held_bytes"),
            &format!("{tag} entries: held decoded by a verifier (heap)"),
            decoded.heap_bytes(),
        );
        // `lst` is unpadded base64url: 4 symbols carry 3 bytes.
        report.bytes(
            &format!("status.{tag}.compressed_bytes"),
            &format!("{tag} entries: compressed (zlib)"),
            lst.len() * 3 / 4,
        );
        report.bytes(
            &format!("status.{tag}.token_bytes"),
            &format!("{tag} entries: signed token (statuslist+jwt)"),
            token.len(),
        );
    }
    Ok(())
}
