use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use ed25519_dalek::Signer as _;

use super::*;
use crate::format::hazmat::SeededRng;
use crate::format::rng::{random_array, SecureRng};

/// ℓ, little-endian.
const ELL: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn arr<const N: usize>(v: &[u8]) -> [u8; N] {
    v.try_into().unwrap()
}

fn strict(pk: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(pk)
        .is_ok_and(|k| k.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig)).is_ok())
}

fn ours(pk: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    VerifyKey::from_bytes(pk).is_some_and(|k| verify(&k, msg, sig))
}

fn batch_of(items: &[([u8; 32], Vec<u8>, [u8; 64])]) -> Vec<bool> {
    let keys: Vec<Option<VerifyKey>> = items.iter().map(|(pk, _, _)| VerifyKey::from_bytes(pk)).collect();
    // Items whose key does not decode are refused before the batch, as the
    // verifier does.
    let idx: Vec<usize> = (0..items.len()).filter(|&i| keys[i].is_some()).collect();
    let batch: Vec<BatchItem<'_>> =
        idx.iter().map(|&i| BatchItem { key: keys[i].as_ref().unwrap(), msg: &items[i].1, sig: &items[i].2 }).collect();
    let got = verify_batch(&batch, None);
    // With the table of any item's key (the first, the last), the verdicts
    // are the same; and `first_invalid` names the first `false`.
    for table in [batch.first(), batch.last()].into_iter().flatten().map(|i| KeyTable::new(i.key)) {
        assert_eq!(verify_batch(&batch, Some(&table)), got);
        assert_eq!(first_invalid(&batch, Some(&table)), got.iter().position(|v| !v));
    }
    assert_eq!(first_invalid(&batch, None), got.iter().position(|v| !v));
    let mut out = vec![false; items.len()];
    for (j, &i) in idx.iter().enumerate() {
        out[i] = got[j];
    }
    out
}

/// `s + ℓ`: the same signature with a non-canonical `s`.
fn add_ell(s: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(s[i]) + u16::from(ELL[i]) + carry;
        out[i] = v.to_le_bytes()[0];
        carry = v >> 8;
    }
    out
}

fn random_signatures(n: usize, label: &[u8]) -> Vec<([u8; 32], Vec<u8>, [u8; 64])> {
    let mut rng = SeededRng::new(label);
    (0..n)
        .map(|i| {
            let key = ed25519_dalek::SigningKey::from_bytes(&random_array::<32>(&mut rng));
            let mut msg = vec![0u8; i * 7 % 300];
            rng.fill(&mut msg);
            let sig = key.sign(&msg).to_bytes();
            (key.verifying_key().to_bytes(), msg, sig)
        })
        .collect()
}

#[test]
fn agrees_with_verify_strict_on_valid_and_tampered_signatures() {
    for (pk, msg, sig) in random_signatures(64, b"ed25519 agreement") {
        assert!(strict(&pk, &msg, &sig) && ours(&pk, &msg, &sig));
        let mut bad = sig;
        bad[5] ^= 0x10;
        assert!(!strict(&pk, &msg, &bad) && !ours(&pk, &msg, &bad));
        let mut bad = sig;
        bad[40] ^= 0x01;
        assert!(!strict(&pk, &msg, &bad) && !ours(&pk, &msg, &bad));
        let mut other = msg.clone();
        other.push(0);
        assert!(!strict(&pk, &other, &sig) && !ours(&pk, &other, &sig));
    }
}

#[test]
fn rfc8032_test_vectors() {
    // RFC 8032 §7.1, TEST 1 to TEST 3: (secret, public, message, signature).
    let vectors = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
    ];
    let mut items = Vec::new();
    for (sk, pk, msg, sig) in vectors {
        let (pk, msg, sig) = (arr::<32>(&hex(pk)), hex(msg), arr::<64>(&hex(sig)));
        let key = ed25519_dalek::SigningKey::from_bytes(&arr::<32>(&hex(sk)));
        assert_eq!(key.verifying_key().to_bytes(), pk);
        assert_eq!(key.sign(&msg).to_bytes(), sig);
        assert!(strict(&pk, &msg, &sig) && ours(&pk, &msg, &sig));
        items.push((pk, msg, sig));
    }
    assert_eq!(batch_of(&items), [true, true, true]);
}

/// The ten cases of "Taming the many EdDSAs" (ed25519-speccheck,
/// `cases.json`): 0 small A and R with s = 0; 1 small A; 2 small R; 3 mixed
/// A and R passing both equations; 4 mixed A and R passing only the
/// cofactored one; 5 the same where only the unreduced cofactored form
/// passes; 6 and 7 non-canonical s; 8 and 9 non-canonical small R.
#[test]
fn speccheck_cases() {
    let cases = [
        ("8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a0000000000000000000000000000000000000000000000000000000000000000"),
        ("9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04"),
        ("aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab", "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e"),
        ("9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79", "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d", "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009"),
        ("e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c", "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d", "160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed5125ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09"),
        ("e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c", "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d", "21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405"),
        ("85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40", "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623", "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514"),
        ("85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40", "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623", "8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa19427e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22"),
        ("fdaebc429f4a735932a160da1301080c13280eea8bc280d1b392c6b9e6ba3a5a", "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f454d370c8d9fc323a41450f8d513eafeb5b0697390c1e505a0d4ddc71f566607"),
        ("84b698d39be126ff55fe45079e6c8bf64a0d7db6994560b4e96b7021eb39c1a1", "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f084d5b99c2a9463d9c8bd5026916996984eeec87ddf1d3be329006ace1b37b09"),
    ];
    let items: Vec<([u8; 32], Vec<u8>, [u8; 64])> =
        cases.iter().map(|(m, pk, sig)| (arr::<32>(&hex(pk)), hex(m), arr::<64>(&hex(sig)))).collect();
    let strict_says: Vec<bool> = items.iter().map(|(pk, m, s)| strict(pk, m, s)).collect();
    let ours_says: Vec<bool> = items.iter().map(|(pk, m, s)| ours(pk, m, s)).collect();
    assert_eq!(strict_says, [false, false, false, true, false, false, false, false, false, false]);
    // The cofactored rule also accepts 4 and 5 (mixed order, neither small).
    assert_eq!(ours_says, [false, false, false, true, true, true, false, false, false, false]);
    assert_eq!(batch_of(&items), ours_says);
}

/// Signs `msg` with secret scalar `a` and nonce point `R = [r]B + t`.
fn sign_with_torsion(a: Scalar, r: Scalar, t: EdwardsPoint, msg: &[u8]) -> ([u8; 32], [u8; 64]) {
    let big_a = (ED25519_BASEPOINT_POINT * a).compress().to_bytes();
    let big_r = (ED25519_BASEPOINT_POINT * r + t).compress().to_bytes();
    let mut h = ring::digest::Context::new(&ring::digest::SHA512);
    h.update(&big_r);
    h.update(&big_a);
    h.update(msg);
    let k = Scalar::from_bytes_mod_order_wide(&arr::<64>(h.finish().as_ref()));
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&big_r);
    sig[32..].copy_from_slice(s.as_bytes());
    (big_a, sig)
}

#[test]
fn mixed_order_r_passes_cofactored_single_and_batch_alike() {
    let mut rng = SeededRng::new(b"mixed order");
    let a = Scalar::from_bytes_mod_order(random_array::<32>(&mut rng));
    let r = Scalar::from_bytes_mod_order(random_array::<32>(&mut rng));
    let msg = b"mixed order R".to_vec();
    let (pk, sig) = sign_with_torsion(a, r, EIGHT_TORSION[1], &msg);
    assert!(!strict(&pk, &msg, &sig), "cofactorless rejects: [s]B - R - [k]A is the torsion point");
    assert!(ours(&pk, &msg, &sig), "cofactored accepts");
    // Sanity: without torsion both accept.
    let (pk0, sig0) = sign_with_torsion(a, r, EdwardsPoint::default(), &msg);
    assert!(strict(&pk0, &msg, &sig0) && ours(&pk0, &msg, &sig0));
    // In a batch with valid signatures, it is accepted, as alone.
    let mut items = random_signatures(7, b"mixed batch");
    items.insert(3, (pk, msg.clone(), sig));
    assert_eq!(batch_of(&items), vec![true; 8]);
    // And a tampered copy is refused by both.
    let mut bad = sig;
    bad[33] ^= 1;
    assert!(!ours(&pk, &msg, &bad));
    items[3].2 = bad;
    let got = batch_of(&items);
    assert_eq!(got, (0..8).map(|i| i != 3).collect::<Vec<_>>());
}

#[test]
fn rejects_small_order_keys_and_r() {
    let mut rng = SeededRng::new(b"small order");
    let msg = b"m".to_vec();
    for t in EIGHT_TORSION {
        let t_bytes = t.compress().to_bytes();
        // Small-order A: s = 0 and R = identity satisfy every equation.
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&EdwardsPoint::default().compress().to_bytes());
        assert!(VerifyKey::from_bytes(&t_bytes).is_none());
        assert!(!ours(&t_bytes, &msg, &sig) && !strict(&t_bytes, &msg, &sig));
        // Small-order R with a real key: [8]R = 0, so s = k·a would pass
        // the cofactored equation if R were not refused.
        let a = Scalar::from_bytes_mod_order(random_array::<32>(&mut rng));
        let (pk, sig) = sign_with_torsion(a, Scalar::ZERO, t, &msg);
        assert!(!ours(&pk, &msg, &sig) && !strict(&pk, &msg, &sig));
        assert_eq!(batch_of(&[(pk, msg.clone(), sig)]), [false]);
    }
}

#[test]
fn rejects_non_canonical_s() {
    for (pk, msg, sig) in random_signatures(16, b"non-canonical s") {
        let mut bad = sig;
        bad[32..].copy_from_slice(&add_ell(&sig[32..]));
        assert!(!strict(&pk, &msg, &bad) && !ours(&pk, &msg, &bad));
        assert_eq!(batch_of(&[(pk, msg.clone(), sig), (pk, msg.clone(), bad)]), [true, false]);
    }
}

#[test]
fn rejects_non_canonical_encodings() {
    let mut p = P_BYTES;
    assert!(!is_canonical_encoding(&p), "y = p");
    p[0] -= 1;
    assert!(is_canonical_encoding(&p), "y = p - 1");
    let mut one = [0u8; 32];
    one[0] = 1;
    assert!(is_canonical_encoding(&one));
    one[31] |= 0x80;
    assert!(!is_canonical_encoding(&one), "x = -0 for y = 1");
    assert!(!is_canonical_encoding(&[0xff; 32]));
    // Points with y < 19 have a second encoding y + p. Those of large order
    // decode under the canonical encoding and are refused under the other.
    let mut large = 0;
    for y in 0u8..19 {
        let mut canonical = [0u8; 32];
        canonical[0] = y;
        let Some(point) = CompressedEdwardsY(canonical).decompress() else { continue };
        let mut alias = P_BYTES;
        alias[0] = alias[0].wrapping_add(y); // 0xed + y < 0x100 for y < 19
        assert_eq!(CompressedEdwardsY(alias).decompress(), Some(point));
        assert!(VerifyKey::from_bytes(&alias).is_none(), "y = {y} + p");
        if !point.is_small_order() {
            large += 1;
            assert!(VerifyKey::from_bytes(&canonical).is_some());
        }
    }
    assert!(large > 0, "some y < 19 is a large-order point");
    // A non-canonical R is refused before the equation.
    let (pk, msg, sig) = random_signatures(1, b"nc R").remove(0);
    let mut bad = sig;
    bad[..32].copy_from_slice(&P_BYTES);
    assert!(!ours(&pk, &msg, &bad));
}

#[test]
fn batch_of_64_with_one_bad_signature() {
    for bad_at in [0, 17, 63] {
        let mut items = random_signatures(64, b"batch 64");
        items[bad_at].1.push(b'!');
        let expected: Vec<bool> = (0..64).map(|i| i != bad_at).collect();
        assert_eq!(batch_of(&items), expected);
    }
    // One key for every item (merged into one term) still finds the bad one.
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let pk = key.verifying_key().to_bytes();
    let mut items: Vec<([u8; 32], Vec<u8>, [u8; 64])> =
        (0u8..64).map(|i| (pk, vec![i], key.sign(&[i]).to_bytes())).collect();
    assert_eq!(batch_of(&items), vec![true; 64]);
    items[40].2[63] ^= 0x02;
    assert_eq!(batch_of(&items), (0..64).map(|i| i != 40).collect::<Vec<_>>());
    assert!(batch_of(&[]).is_empty());
}

#[test]
fn dalek_keys_convert_without_a_second_decode() {
    for (pk, msg, sig) in random_signatures(4, b"from dalek") {
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk).unwrap();
        let k = VerifyKey::from_dalek(&vk).unwrap();
        assert!(verify(&k, &msg, &sig));
    }
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = ed25519_dalek::VerifyingKey::from_bytes(&identity).unwrap();
    assert!(VerifyKey::from_dalek(&weak).is_none());
}

#[test]
fn one_signature_by_the_table_key() {
    for (pk, msg, sig) in random_signatures(8, b"table key") {
        let key = VerifyKey::from_bytes(&pk).unwrap();
        let table = KeyTable::new(&key);
        let item = BatchItem { key: &key, msg: &msg, sig: &sig };
        assert_eq!(first_invalid(&[item], Some(&table)), None);
        assert_eq!(verify_batch(&[item], Some(&table)), [true]);
        let mut bad = sig;
        bad[45] ^= 4;
        let item = BatchItem { key: &key, msg: &msg, sig: &bad };
        assert_eq!(first_invalid(&[item], Some(&table)), Some(0));
        assert_eq!(verify_batch(&[item], Some(&table)), [false]);
    }
}

#[test]
fn key_tables_are_shared_and_bounded() {
    let tables = KeyTables::default();
    let clone = tables.clone();
    let keys: Vec<VerifyKey> = random_signatures(KeyTables::CAPACITY + 1, b"tables")
        .iter()
        .map(|(pk, _, _)| VerifyKey::from_bytes(pk).unwrap())
        .collect();
    for k in &keys[..KeyTables::CAPACITY] {
        assert!(tables.get(k).is_some());
    }
    assert_eq!(clone.len(), KeyTables::CAPACITY, "a clone shares the tables");
    assert!(tables.get(&keys[KeyTables::CAPACITY]).is_none(), "full: no new table");
    assert!(tables.get(&keys[0]).is_some(), "full: known keys keep theirs");
    assert_eq!(format!("{tables:?}"), format!("KeyTables {{ keys: {} }}", KeyTables::CAPACITY));
}
