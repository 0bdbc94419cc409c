//! Tests for the status list module.

use std::collections::HashSet;
use std::io::Write as _;
use std::time::{Duration, Instant};

use super::*;

/// Draft test vectors (Section 4.2 and Appendix C of
/// draft-ietf-oauth-status-list). Single place to change when the file
/// moves to `tests/vectors/`.
const VECTORS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/status_list_draft.json");

/// Deterministic splitmix64 byte source for tests.
fn test_rng(seed: u64) -> impl FnMut(&mut [u8]) {
    let mut state = seed;
    move |buf: &mut [u8]| {
        for chunk in buf.chunks_mut(8) {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            let bytes = z.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

fn as_usize(v: &serde_json::Value) -> usize {
    usize::try_from(v.as_u64().expect("integer")).expect("fits usize")
}

#[test]
fn draft_vectors_decode_to_listed_entries_and_round_trip() {
    let text = std::fs::read_to_string(VECTORS_PATH).expect("read vectors");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("parse vectors");
    let vectors = doc["vectors"].as_array().expect("vectors array");
    let mut seen_bits = HashSet::new();
    for v in vectors {
        let name = v["name"].as_str().expect("name");
        let bits = u8::try_from(v["bits"].as_u64().expect("bits")).expect("bits u8");
        let size = as_usize(&v["size"]);
        let lst: String =
            v["lst_lines"].as_array().expect("lst_lines").iter().map(|l| l.as_str().expect("line")).collect();
        let mut expected = StatusList::new(bits, size).expect("new");
        for e in v["entries"].as_array().expect("entries") {
            let idx = as_usize(&e[0]);
            let val = u8::try_from(e[1].as_u64().expect("value")).expect("u8");
            expected.set(idx, val).expect("set");
        }

        let decoded = StatusList::decode(bits, &lst, &limits()).expect(name);
        assert_eq!(decoded.bits(), bits, "{name}");
        assert_eq!(decoded.len(), size, "{name}");
        for i in 0..size {
            assert_eq!(decoded.get(i), expected.get(i), "{name} entry {i}");
        }
        assert_eq!(decoded.get(size), None, "{name}");

        // Our encoding of the same entries decodes to the same list.
        let ours = expected.encode_lst();
        let back = StatusList::decode(bits, &ours, &limits()).expect("own encoding");
        assert_eq!(back, decoded, "{name}");
        seen_bits.insert(bits);
    }
    assert_eq!(seen_bits, [1, 2, 4, 8].into_iter().collect());
}

#[test]
fn byte_and_bit_order_matches_section_4_1() {
    let mut l = StatusList::new(1, 16).unwrap();
    for i in [0, 3, 4, 5, 7, 8, 9, 13, 15] {
        l.set(i, STATUS_INVALID).unwrap();
    }
    assert_eq!(l.as_bytes(), &[0xb9, 0xa3]);
    let mut l = StatusList::new(2, 12).unwrap();
    for (i, v) in [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3].into_iter().enumerate() {
        l.set(i, v).unwrap();
    }
    assert_eq!(l.as_bytes(), &[0xc9, 0x44, 0xf9]);
    let mut l = StatusList::new(4, 2).unwrap();
    l.set(0, 0x1).unwrap();
    l.set(1, 0xe).unwrap();
    assert_eq!(l.as_bytes(), &[0xe1]);
}

#[test]
fn random_lists_round_trip_for_every_width() {
    let mut rng = test_rng(1);
    for bits in [1u8, 2, 4, 8] {
        for len in [0usize, 1, 7, 8, 9, 1000, 100_003] {
            let mut l = StatusList::new(bits, len).unwrap();
            let mut want = vec![0u8; len];
            let mask = entry_mask(bits).unwrap();
            let mut buf = [0u8; 1];
            for (i, w) in want.iter_mut().enumerate() {
                rng(&mut buf);
                // Sparse-ish: about a quarter non-zero, to exercise both runs and noise.
                let v = if buf[0] < 64 { buf[0] & mask } else { 0 };
                l.set(i, v).unwrap();
                *w = v;
            }
            for (i, &w) in want.iter().enumerate() {
                assert_eq!(l.get(i), Some(w));
            }
            let lst = l.encode_lst();
            let back = StatusList::decode(bits, &lst, &limits()).unwrap();
            // The wire format has no length: padding entries come back as VALID.
            assert!(back.len() >= len && back.len() < len + 8);
            assert_eq!(back.as_bytes(), l.as_bytes());
            for i in 0..back.len() {
                assert_eq!(back.get(i), Some(want.get(i).copied().unwrap_or(0)));
            }
        }
    }
}

#[test]
fn get_and_set_out_of_range() {
    let mut l = StatusList::new(2, 5).unwrap();
    assert_eq!(l.len(), 5);
    assert_eq!(l.as_bytes().len(), 2);
    assert_eq!(l.get(4), Some(STATUS_VALID));
    assert_eq!(l.get(5), None);
    assert_eq!(l.get(7), None); // padding entry inside the last byte
    assert_eq!(l.get(usize::MAX), None);
    assert_eq!(l.set(5, 1), Err(StatusListError::IndexOutOfRange { index: 5, len: 5 }));
    assert!(matches!(l.set(usize::MAX, 1), Err(StatusListError::IndexOutOfRange { .. })));
    assert_eq!(l.set(0, 4), Err(StatusListError::ValueTooLarge { value: 4, bits: 2 }));
    l.set(4, STATUS_APPLICATION_SPECIFIC).unwrap();
    l.set(3, STATUS_SUSPENDED).unwrap();
    assert_eq!(l.get(4), Some(3));
    assert_eq!(l.get(3), Some(2));
    l.set(4, STATUS_VALID).unwrap();
    assert_eq!(l.get(4), Some(0));
    assert_eq!(l.get(3), Some(2));
    let empty = StatusList::new(8, 0).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.get(0), None);
}

#[test]
fn invalid_bits_is_its_own_error() {
    for bits in [0u8, 3, 5, 7, 16, 255] {
        assert_eq!(StatusList::new(bits, 8), Err(StatusListError::InvalidBits(bits)));
        assert_eq!(StatusList::decode(bits, "eNrbuRgAAhcBXQ", &limits()), Err(StatusListError::InvalidBits(bits)));
    }
    assert_eq!(StatusList::new(8, usize::MAX), Err(StatusListError::LengthTooLarge));
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), Compression::best());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn b64(bytes: &[u8]) -> String {
    B64URL_STRICT.encode(bytes)
}

#[test]
fn zlib_bomb_is_rejected_quickly_with_bounded_output() {
    // 64 MiB of zeros, streamed into the compressor 1 MiB at a time.
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        enc.write_all(&zeros).unwrap();
    }
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 128 << 10, "bomb is {} bytes", bomb.len());
    let lst = b64(&bomb);

    let start = Instant::now();
    let err = StatusList::decode(1, &lst, &limits()).unwrap_err();
    let elapsed = start.elapsed();
    assert_eq!(err, StatusListError::DecompressedTooLarge { limit: DecodeLimits::DEFAULT_MAX_DECOMPRESSED_BYTES });
    // Stops after 16 MiB + 1 of output instead of inflating all 64 MiB.
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");

    // The output bound is exact: a small limit stops at limit + 1 bytes.
    let small = limits().with_max_decompressed_bytes(1000);
    assert_eq!(StatusList::decode(1, &lst, &small), Err(StatusListError::DecompressedTooLarge { limit: 1000 }));
    assert_eq!(zlib_decompress_bounded(&bomb, 4096), Err(StatusListError::DecompressedTooLarge { limit: 4096 }));
}

#[test]
fn decompressed_size_exactly_at_limit_is_accepted() {
    let data = vec![0u8; 4096];
    let lst = b64(&zlib(&data));
    let exact = limits().with_max_decompressed_bytes(4096);
    assert_eq!(StatusList::decode(8, &lst, &exact).unwrap().len(), 4096);
    let under = limits().with_max_decompressed_bytes(4095);
    assert_eq!(StatusList::decode(8, &lst, &under), Err(StatusListError::DecompressedTooLarge { limit: 4095 }));
}

#[test]
fn compressed_size_limit() {
    let mut data = vec![0u8; 10_000];
    test_rng(7)(&mut data); // incompressible
    let z = zlib(&data);
    let lst = b64(&z);
    let ok = limits().with_max_compressed_bytes(z.len());
    assert!(StatusList::decode(8, &lst, &ok).is_ok());
    let tight = limits().with_max_compressed_bytes(z.len() - 1);
    assert_eq!(StatusList::decode(8, &lst, &tight), Err(StatusListError::CompressedTooLarge { limit: z.len() - 1 }));
    // Rejected on length alone, before any decoding, even if not base64.
    let huge = "!".repeat(2 << 20);
    assert_eq!(
        StatusList::decode(1, &huge, &limits()),
        Err(StatusListError::CompressedTooLarge { limit: DecodeLimits::DEFAULT_MAX_COMPRESSED_BYTES })
    );
}

#[test]
fn truncated_stream_is_rejected() {
    let z = zlib(&[0xb9, 0xa3, 0x00, 0x11, 0x22]);
    for cut in [1, 2, 3, z.len() - 4, z.len() - 1] {
        assert_eq!(
            StatusList::decode(1, &b64(&z[..cut]), &limits()),
            Err(StatusListError::TruncatedZlib),
            "cut at {cut}"
        );
    }
    assert_eq!(StatusList::decode(1, "", &limits()), Err(StatusListError::TruncatedZlib));
    // Truncated draft example string (cut at a 4-symbol boundary).
    let draft = "eNrt2zENACEQAEEuoaBABP5VIO01fCjIHTMStt9ovGVIAAAA";
    assert_eq!(StatusList::decode(2, draft, &limits()), Err(StatusListError::TruncatedZlib));
}

#[test]
fn bit_flipped_stream_is_corrupt() {
    let z = zlib(&[0xb9, 0xa3]);
    // Header check bits, DEFLATE block type (BTYPE 11 is reserved) and
    // Adler-32 trailer.
    for (pos, bit) in [(0usize, 0x01u8), (1, 0x01), (2, 0x04), (z.len() - 1, 0x01)] {
        let mut bad = z.clone();
        bad[pos] ^= bit;
        assert_eq!(StatusList::decode(1, &b64(&bad), &limits()), Err(StatusListError::CorruptZlib), "flip at {pos}");
    }
    // The draft's own 16-entry example with the checksum's last byte flipped.
    assert_eq!(StatusList::decode(1, "eNrbuRgAAhcBXA", &limits()), Err(StatusListError::CorruptZlib));
    // Preset-dictionary streams are not valid status lists.
    let mut dict = z.clone();
    dict[1] = 0x20; // FDICT set; 0x7820 % 31 == 0 keeps the header check valid
    assert_eq!((0x78u32 * 256 + 0x20) % 31, 0);
    assert!(matches!(
        StatusList::decode(1, &b64(&dict), &limits()),
        Err(StatusListError::CorruptZlib | StatusListError::TruncatedZlib)
    ));
}

#[test]
fn trailing_data_is_rejected() {
    let mut z = zlib(&[0xb9, 0xa3]);
    z.extend_from_slice(&[0x00]);
    assert_eq!(StatusList::decode(1, &b64(&z), &limits()), Err(StatusListError::TrailingData { bytes: 1 }));
    // A second complete stream after the first is trailing data too.
    let mut two = zlib(&[0xb9, 0xa3]);
    let second = zlib(&[0xff]);
    two.extend_from_slice(&second);
    assert_eq!(
        StatusList::decode(1, &b64(&two), &limits()),
        Err(StatusListError::TrailingData { bytes: second.len() })
    );
}

#[test]
fn base64_strictness() {
    let ok = "eNrbuRgAAhcBXQ";
    assert!(StatusList::decode(1, ok, &limits()).is_ok());
    let cases = [
        ("eNrbuRgAAhcBXQ==", Base64Defect::Padding),
        ("eNrbuRgAAhcBXQ=", Base64Defect::Padding),
        ("eNrbuRgA=AhcBXQ", Base64Defect::Padding),
        // Same bytes, but the last symbol carries non-zero discarded bits.
        ("eNrbuRgAAhcBXR", Base64Defect::NonCanonicalTrailingBits),
        ("eNrbuRgAAhcBXf", Base64Defect::NonCanonicalTrailingBits),
        // Standard (non-URL) alphabet, whitespace and other junk.
        ("eNrbuRgAAhcB+Q", Base64Defect::InvalidCharacter { offset: 12 }),
        ("eNrbuRgAAhcB/Q", Base64Defect::InvalidCharacter { offset: 12 }),
        ("eNrbuRgA AhcBXQ", Base64Defect::InvalidCharacter { offset: 8 }),
        ("eNrbuRgAAhcBXQ\n", Base64Defect::InvalidCharacter { offset: 14 }),
        ("eNrbuRgAAhcBX", Base64Defect::InvalidLength),
    ];
    for (input, defect) in cases {
        assert_eq!(StatusList::decode(1, input, &limits()), Err(StatusListError::InvalidBase64(defect)), "{input:?}");
    }
}

#[test]
fn stored_fallback_encoder_produces_valid_zlib() {
    for len in [0usize, 1, 65_535, 65_536, 200_000] {
        let mut data = vec![0u8; len];
        test_rng(u64::try_from(len).unwrap())(&mut data);
        let stored = zlib_stored(&data);
        let back = zlib_decompress_bounded(&stored, len).unwrap();
        assert_eq!(back, data, "len {len}");
    }
    assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
}

#[test]
fn errors_display_lowercase() {
    let errs = [
        StatusListError::InvalidBits(3),
        StatusListError::InvalidBase64(Base64Defect::Padding),
        StatusListError::CompressedTooLarge { limit: 1 },
        StatusListError::DecompressedTooLarge { limit: 1 },
        StatusListError::TruncatedZlib,
        StatusListError::CorruptZlib,
        StatusListError::TrailingData { bytes: 1 },
        StatusListError::ValueTooLarge { value: 2, bits: 1 },
        StatusListError::IndexOutOfRange { index: 1, len: 1 },
        StatusListError::LengthTooLarge,
        StatusListError::Full,
        StatusListError::Randomness,
    ];
    let mut seen = HashSet::new();
    for e in errs {
        let s = e.to_string();
        assert!(s.starts_with(|c: char| !c.is_uppercase()), "{s}");
        assert!(!s.ends_with('.'), "{s}");
        assert!(seen.insert(s));
        let _: &dyn std::error::Error = &e;
    }
}

#[test]
fn allocation_draws_every_index_once_in_random_order() {
    const N: usize = 10_000;
    let mut alloc = IndexAllocator::new(N);
    let mut rng = test_rng(42);
    let mut order = Vec::with_capacity(N);
    let mut seen = HashSet::with_capacity(N);
    for _ in 0..N {
        let idx = alloc.allocate(&mut rng).unwrap();
        assert!(idx < N);
        assert!(seen.insert(idx), "index {idx} reused");
        order.push(idx);
    }
    assert_eq!(alloc.remaining(), 0);
    assert_eq!(alloc.allocate(&mut rng), Err(StatusListError::Full));
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_ne!(order, sorted, "draws are sequential");
    assert_eq!(sorted, (0..N).collect::<Vec<_>>());
    // Not merely "not sorted": few consecutive draws are adjacent indexes.
    let adjacent = order.windows(2).filter(|w| w[1] == w[0] + 1).count();
    assert!(adjacent < N / 100, "{adjacent} adjacent pairs");
}

#[test]
fn allocation_is_roughly_uniform() {
    // First draw from a fresh allocator, and the draw when 7 of 10 are used
    // (the scan fallback path), both over many seeds.
    let mut rng = test_rng(9);
    let mut fresh = [0u32; 10];
    let mut dense = [0u32; 10];
    let trials = 20_000;
    for _ in 0..trials {
        let mut a = IndexAllocator::new(10);
        fresh[a.allocate(&mut rng).unwrap()] += 1;
        let d = IndexAllocator::with_used(10, [0, 2, 3, 5, 6, 8, 9]).unwrap();
        d.pick(&mut rng).map(|i| dense[i] += 1).unwrap();
        let mut f = IndexAllocator::with_used(64, (0..64).filter(|i| i % 7 != 0)).unwrap();
        assert_eq!(f.allocate(&mut rng).unwrap() % 7, 0);
    }
    for c in fresh {
        assert!((1700..2300).contains(&c), "{fresh:?}");
    }
    for (i, c) in dense.into_iter().enumerate() {
        if [1, 4, 7].contains(&i) {
            assert!((6000..7300).contains(&c), "{dense:?}");
        } else {
            assert_eq!(c, 0);
        }
    }
}

#[test]
fn allocation_edge_cases() {
    let mut rng = test_rng(3);
    assert_eq!(IndexAllocator::new(0).allocate(&mut rng), Err(StatusListError::Full));
    let mut one = IndexAllocator::new(1);
    assert_eq!(one.allocate(&mut rng), Ok(0));
    assert_eq!(one.allocate(&mut rng), Err(StatusListError::Full));
    // Capacity not a multiple of 64: padding bits never handed out.
    let mut a = IndexAllocator::new(70);
    let mut got: Vec<usize> = (0..70).map(|_| a.allocate(&mut rng).unwrap()).collect();
    got.sort_unstable();
    assert_eq!(got, (0..70).collect::<Vec<_>>());
    assert_eq!(a.allocate(&mut rng), Err(StatusListError::Full));
    // Restored state: the only free index is found by the scan.
    let mut last = IndexAllocator::with_used(1000, (0..1000).filter(|&i| i != 617)).unwrap();
    assert_eq!(last.remaining(), 1);
    assert_eq!(last.allocate(&mut rng), Ok(617));
    assert!(last.is_used(617));
    assert!(!last.is_used(1000));
    assert_eq!(IndexAllocator::with_used(10, [10]), Err(StatusListError::IndexOutOfRange { index: 10, len: 10 }));
    let mut m = IndexAllocator::new(10);
    assert_eq!(m.mark_used(3), Ok(true));
    assert_eq!(m.mark_used(3), Ok(false));
    assert_eq!(m.used(), 1);
}

#[test]
fn broken_rng_errors_instead_of_looping() {
    // All-ones bytes: every masked draw is 7 >= 5, so nothing is accepted.
    let mut ones = |buf: &mut [u8]| buf.fill(0xff);
    let mut a = IndexAllocator::new(5);
    assert_eq!(a.allocate(&mut ones), Err(StatusListError::Randomness));
    assert_eq!(a.used(), 0);
}

#[test]
fn system_rng_allocation() {
    let mut a = IndexAllocator::new(100);
    let mut seen = HashSet::new();
    for _ in 0..100 {
        assert!(seen.insert(a.allocate_with_system_rng().unwrap()));
    }
    assert_eq!(a.allocate_with_system_rng(), Err(StatusListError::Full));
}

/// A verifier holds a decoded list in its raw size (within 10 %), not in
/// the doubling buffer decompression grew: for a 2^20-entry list and for
/// sizes that are not a power of two.
#[test]
fn decoded_list_holds_its_raw_size() {
    let mut rng = test_rng(18);
    for len in [1usize << 20, 300_000, 1_000_003] {
        let mut list = StatusList::new(2, len).unwrap();
        let mut b = [0u8; 8];
        for _ in 0..len / 100 {
            rng(&mut b);
            let idx = usize::try_from(u64::from_le_bytes(b) % len as u64).unwrap();
            list.set(idx, STATUS_INVALID).unwrap();
        }
        let raw = list.as_bytes().len();
        let decoded = StatusList::decode(2, &list.encode_lst(), &limits()).unwrap();
        assert_eq!(decoded.as_bytes(), list.as_bytes());
        let held = decoded.heap_bytes();
        println!("status list of {len} 2-bit entries: raw {raw} bytes, held decoded {held} bytes");
        assert!(held * 10 <= raw * 11, "{len} entries: {held} bytes held for {raw} raw");
    }
}
