//! Writes the known-answer vectors of `creditproof::hazmat::range` to
//! `<crate>/<VECTORS_DIR>/range_kat.json` and `mdp.json`.
//!
//! Run: `cargo run --example range_vectors`

use std::path::Path;

use creditproof::hazmat::range::{
    commit, mdp, prove, verify, Commitment, RangeParams, RangeProof, RangeSeed, VECTORS_DIR,
};
use serde_json::{json, Value};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Fixed seed `i`: SHA-256("creditproof range kat <i>").
fn kat_seed(i: usize) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, format!("creditproof range kat {i}").as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // (base, bits, value, threshold); case 0 and the other bases of the
    // first block are what RangeParams::for_bits issues (11, 10, 16, 32, 64
    // bits), the rest explicit parameters a verifier must also accept.
    let valid: &[(u16, u8, u64, u64)] = &[
        (46, 11, 742, 700),
        (46, 11, 2047, 2023),
        (32, 10, 712, 650),
        (41, 16, 40_000, 39_999),
        (41, 32, 4_000_000_000, 123_456_789),
        (57, 64, u64::MAX, (1 << 63) + 12_345),
        (64, 6, 50, 13),
        (16, 11, 742, 700),
        (16, 11, 742, 742),
        (16, 11, 2047, 0),
        (16, 11, 0, 0),
        (2, 11, 1234, 1000),
        (4, 11, 850, 300),
        (10, 16, 3413, 2999),
        (16, 16, 0x1F3A, 0x0FFF),
        (256, 32, 4_000_000_000, 123_456_789),
        (16, 64, u64::MAX, u64::MAX),
        (256, 64, 1 << 56, (1 << 56) - 1),
        (2, 1, 1, 1),
        (3, 20, 531_441, 531_440),
    ];
    let mut valid_out = Vec::new();
    let mut proofs = Vec::new();
    for (i, &(base, bits, value, threshold)) in valid.iter().enumerate() {
        let p = RangeParams::new(base, bits)?;
        let seed_bytes = kat_seed(i);
        let seed = RangeSeed::from_bytes(seed_bytes);
        let c = commit(&p, value, &seed)?;
        let proof = prove(&p, value, &seed, threshold)?;
        verify(&p, &c, threshold, &proof)?;
        valid_out.push(json!({
            "base": base, "bits": bits,
            "seed": hex(&seed_bytes),
            "value": value.to_string(), "threshold": threshold.to_string(),
            "commitment": hex(c.as_bytes()),
            "proof": hex(&proof.to_bytes()),
            "proof_len": p.proof_len(),
        }));
        proofs.push((p, c, threshold, proof));
    }

    // Expected failures derived from case 0 (base 46, 11 bits, value 742,
    // t 700; layout: index 1 || salt 16 || 2 nodes || 1 sibling = 113 bytes).
    let (p, c, t, proof) = &proofs[0];
    let leaves = u8::try_from(p.leaf_count())?;
    let good = proof.to_bytes();
    let mut invalid = Vec::new();
    let mut push =
        |name: &str, p: &RangeParams, c: &Commitment, t: u64, bytes: &[u8]| -> Result<(), Box<dyn std::error::Error>> {
            let res = RangeProof::from_bytes(p, bytes).and_then(|pr| verify(p, c, t, &pr));
            let err = res.err().ok_or("failure case verified")?;
            invalid.push(json!({
                "name": name, "base": p.base(), "bits": p.bits(),
                "commitment": hex(c.as_bytes()), "threshold": t.to_string(),
                "proof": hex(bytes), "error": err.code(),
            }));
            Ok(())
        };
    push("other threshold (701)", p, c, 701, &good)?;
    push("lower threshold (699)", p, c, 699, &good)?;
    let mut b = good.clone();
    b[5] ^= 1;
    push("flipped salt byte", p, c, *t, &b)?;
    let mut b = good.clone();
    b[40] ^= 1;
    push("flipped chain node byte", p, c, *t, &b)?;
    let mut b = good.clone();
    let last = b.len() - 1;
    b[last] ^= 0x80;
    push("flipped merkle sibling byte", p, c, *t, &b)?;
    let mut b = good.clone();
    b[0] = (b[0] + 1) % leaves;
    push("other in-range leaf index", p, c, *t, &b)?;
    let mut b = good.clone();
    b[0] = leaves;
    push("leaf index out of range", p, c, *t, &b)?;
    push("truncated path", p, c, *t, &good[..good.len() - 32])?;
    let mut b = good.clone();
    b.push(0);
    push("oversized", p, c, *t, &b)?;
    push("empty", p, c, *t, &[])?;
    push("v1 length (16-byte salt missing)", p, c, *t, &[good.as_slice(), &[0; 16]].concat())?;
    let (_, c_other, _, _) = &proofs[1];
    push("other commitment", p, c_other, *t, &good)?;

    let mut unprovable = Vec::new();
    for (i, &(base, bits, value, threshold)) in
        [(46u16, 11u8, 699u64, 700u64), (16, 11, 699, 700), (2, 64, u64::MAX - 1, u64::MAX), (10, 16, 2999, 3000)]
            .iter()
            .enumerate()
    {
        let p = RangeParams::new(base, bits)?;
        let seed_bytes = kat_seed(100 + i);
        let e =
            prove(&p, value, &RangeSeed::from_bytes(seed_bytes), threshold).err().ok_or("proved a false predicate")?;
        unprovable.push(json!({
            "base": base, "bits": bits, "seed": hex(&seed_bytes),
            "value": value.to_string(), "threshold": threshold.to_string(), "error": e.code(),
        }));
    }

    let kat = json!({
        "description": "creditproof HashWires range proofs v2 (hashwires-v2: 16-byte leaf salt) known-answer vectors; u64 values are decimal strings, bytes are lowercase hex; seed i = SHA-256(\"creditproof range kat <i>\")",
        "valid": valid_out,
        "invalid": invalid,
        "predicate_false": unprovable,
    });

    let mdp_cases: &[(u16, u8, u64)] = &[
        (10, 14, 3413),
        (10, 14, 3499),
        (10, 14, 1010),
        (10, 14, 0),
        (2, 8, 180),
        (2, 8, 255),
        (4, 8, 100),
        (16, 16, 0x1F3A),
        (256, 64, 0x0100_00FF),
        (256, 64, u64::MAX),
        (2, 64, 1 << 63),
        (16, 11, 742),
        (3, 20, 531_441),
        (46, 11, 742),
        (46, 11, 2047),
        (41, 16, 40_000),
        (57, 64, u64::MAX / 3),
    ];
    let mut mdp_out = Vec::new();
    for &(base, bits, value) in mdp_cases {
        let p = RangeParams::new(base, bits)?;
        let m: Vec<Value> = mdp(&p, value)?.iter().map(|x| Value::String(x.to_string())).collect();
        mdp_out.push(json!({"base": base, "bits": bits, "value": value.to_string(), "mdp": m}));
    }
    let mdp_doc = json!({
        "description": "minimum dominating partitions: value first, then decreasing; u64 values as decimal strings",
        "cases": mdp_out,
    });

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(VECTORS_DIR);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("range_kat.json"), serde_json::to_string_pretty(&kat)? + "\n")?;
    std::fs::write(dir.join("mdp.json"), serde_json::to_string_pretty(&mdp_doc)? + "\n")?;
    println!("wrote {}", dir.display());
    Ok(())
}
