//! Token Status List (draft-ietf-oauth-status-list) bitstrings.
//!
//! A Status List is a byte array holding one status of `bits` bits (1, 2, 4
//! or 8) per Referenced Token. Index `i` occupies bits
//! `[i * bits, (i + 1) * bits)` counted from the least significant bit of
//! byte 0 upwards, so index 0 is the least significant `bits` bits of byte 0
//! (draft Section 4.1). On the wire (`lst`, Section 4.2) the byte array is
//! ZLIB-compressed (RFC 1950, DEFLATE RFC 1951) and base64url-encoded
//! without padding.
//!
//! This module provides:
//!
//! * [`StatusList`]: the bitstring, with bounds-checked [`StatusList::get`] /
//!   [`StatusList::set`], [`StatusList::encode_lst`] and a hardened
//!   [`StatusList::decode`] whose resource use is bounded by
//!   [`DecodeLimits`] (zlib bombs, oversized input, trailing data and
//!   truncated streams are rejected with distinct errors);
//! * [`IndexAllocator`]: issuer-side allocation of list indexes uniformly at
//!   random among the unused ones (never sequential, never reused), with the
//!   randomness source passed in as a byte-filling closure.

use std::fmt;
use std::io::{Read, Write};

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, DecodeError, Engine as _};
use flate2::Compression;

#[cfg(test)]
mod tests;

/// Status type `0x00`: the Referenced Token is valid (draft Section 7.1).
pub const STATUS_VALID: u8 = 0x00;
/// Status type `0x01`: the Referenced Token is revoked / invalid.
pub const STATUS_INVALID: u8 = 0x01;
/// Status type `0x02`: the Referenced Token is temporarily suspended.
pub const STATUS_SUSPENDED: u8 = 0x02;
/// Status type `0x03`: application specific.
pub const STATUS_APPLICATION_SPECIFIC: u8 = 0x03;

/// Strict base64url: URL-safe alphabet, no padding accepted or produced, and
/// non-zero trailing bits in the last symbol rejected (canonical encodings
/// only).
const B64URL_STRICT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// Why a base64url `lst` string was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Base64Defect {
    /// The string contains `=` padding, which base64url in JWT must omit.
    Padding,
    /// The last symbol has non-zero bits that would be discarded (a
    /// non-canonical encoding of the same bytes).
    NonCanonicalTrailingBits,
    /// A character outside the base64url alphabet at this byte offset.
    InvalidCharacter {
        /// Byte offset of the offending character in the `lst` string.
        offset: usize,
    },
    /// The number of symbols is impossible for base64 (length `4n + 1`).
    InvalidLength,
}

impl fmt::Display for Base64Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Padding => f.write_str("padding is not allowed"),
            Self::NonCanonicalTrailingBits => f.write_str("non-canonical encoding (non-zero trailing bits)"),
            Self::InvalidCharacter { offset } => {
                write!(f, "character outside the alphabet at offset {offset}")
            }
            Self::InvalidLength => f.write_str("invalid length"),
        }
    }
}

/// Errors from building, decoding or allocating in a status list.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusListError {
    /// `bits` is not one of 1, 2, 4 or 8.
    InvalidBits(u8),
    /// The `lst` string is not strict, canonical, unpadded base64url.
    InvalidBase64(Base64Defect),
    /// The compressed `lst` exceeds [`DecodeLimits::max_compressed_bytes`].
    CompressedTooLarge {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// Decompression would exceed [`DecodeLimits::max_decompressed_bytes`]
    /// (for example a zlib bomb); decoding stopped at `limit + 1` bytes.
    DecompressedTooLarge {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// The zlib stream ends before its end-of-stream marker and checksum.
    TruncatedZlib,
    /// The zlib stream is malformed (bad header, invalid DEFLATE data or
    /// checksum mismatch).
    CorruptZlib,
    /// Bytes follow the end of the zlib stream.
    TrailingData {
        /// Number of bytes after the end of the zlib stream.
        bytes: usize,
    },
    /// A status value does not fit in the list's bits per entry.
    ValueTooLarge {
        /// The rejected value.
        value: u8,
        /// The list's bits per entry.
        bits: u8,
    },
    /// An index is outside the list.
    IndexOutOfRange {
        /// The rejected index.
        index: usize,
        /// The number of entries in the list.
        len: usize,
    },
    /// The requested list length does not fit in memory addressing.
    LengthTooLarge,
    /// Every index of the list has been allocated.
    Full,
    /// The randomness source failed or kept producing unusable values.
    Randomness,
}

impl fmt::Display for StatusListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidBits(bits) => {
                write!(f, "invalid bits per status {bits}: must be 1, 2, 4 or 8")
            }
            Self::InvalidBase64(defect) => write!(f, "invalid base64url status list: {defect}"),
            Self::CompressedTooLarge { limit } => {
                write!(f, "compressed status list exceeds the limit of {limit} bytes")
            }
            Self::DecompressedTooLarge { limit } => {
                write!(f, "decompressed status list exceeds the limit of {limit} bytes")
            }
            Self::TruncatedZlib => f.write_str("truncated zlib stream in status list"),
            Self::CorruptZlib => f.write_str("corrupt zlib stream in status list"),
            Self::TrailingData { bytes } => write!(f, "{bytes} trailing bytes after the zlib stream in status list"),
            Self::ValueTooLarge { value, bits } => {
                write!(f, "status value {value} does not fit in {bits} bits")
            }
            Self::IndexOutOfRange { index, len } => {
                write!(f, "status list index {index} out of range for length {len}")
            }
            Self::LengthTooLarge => f.write_str("status list length too large"),
            Self::Full => f.write_str("status list has no unused index left"),
            Self::Randomness => f.write_str("randomness source failed"),
        }
    }
}

impl std::error::Error for StatusListError {}

/// Resource limits applied by [`StatusList::decode`] to untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    max_compressed_bytes: usize,
    max_decompressed_bytes: usize,
}

impl DecodeLimits {
    /// Default limit on the compressed (base64url-decoded) size: 1 MiB.
    pub const DEFAULT_MAX_COMPRESSED_BYTES: usize = 1 << 20;
    /// Default limit on the decompressed byte array: 16 MiB, i.e.
    /// 128 Mi entries at 1 bit or 16 Mi entries at 8 bits.
    pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 16 << 20;

    /// The default limits (1 MiB compressed, 16 MiB decompressed).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            max_compressed_bytes: Self::DEFAULT_MAX_COMPRESSED_BYTES,
            max_decompressed_bytes: Self::DEFAULT_MAX_DECOMPRESSED_BYTES,
        }
    }

    /// Sets the largest accepted compressed size, in bytes.
    #[must_use]
    pub const fn with_max_compressed_bytes(mut self, max: usize) -> Self {
        self.max_compressed_bytes = max;
        self
    }

    /// Sets the largest accepted decompressed size, in bytes.
    #[must_use]
    pub const fn with_max_decompressed_bytes(mut self, max: usize) -> Self {
        self.max_decompressed_bytes = max;
        self
    }

    /// The largest accepted compressed size, in bytes.
    #[must_use]
    pub const fn max_compressed_bytes(&self) -> usize {
        self.max_compressed_bytes
    }

    /// The largest accepted decompressed size, in bytes.
    #[must_use]
    pub const fn max_decompressed_bytes(&self) -> usize {
        self.max_decompressed_bytes
    }
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self::new()
    }
}

/// Checks `bits` and returns the mask of one entry.
fn entry_mask(bits: u8) -> Result<u8, StatusListError> {
    match bits {
        1 => Ok(0x01),
        2 => Ok(0x03),
        4 => Ok(0x0f),
        8 => Ok(0xff),
        other => Err(StatusListError::InvalidBits(other)),
    }
}

/// A Token Status List: `len` statuses of `bits` bits each.
///
/// The byte array always has `ceil(len * bits / 8)` bytes; bits past the
/// last entry are zero. Note that the wire format carries no length, so a
/// decoded list has `bytes * 8 / bits` entries: a list whose `len` is not a
/// multiple of `8 / bits` comes back with its padding entries (all
/// [`STATUS_VALID`]) included.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: u8,
    mask: u8,
    len: usize,
    bytes: Vec<u8>,
}

impl fmt::Debug for StatusList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusList")
            .field("bits", &self.bits)
            .field("len", &self.len)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl StatusList {
    /// An all-[`STATUS_VALID`] list of `len` entries of `bits` bits each.
    ///
    /// # Errors
    ///
    /// [`StatusListError::InvalidBits`] unless `bits` is 1, 2, 4 or 8;
    /// [`StatusListError::LengthTooLarge`] if `len * bits` overflows.
    pub fn new(bits: u8, len: usize) -> Result<Self, StatusListError> {
        let mask = entry_mask(bits)?;
        let total_bits = len.checked_mul(usize::from(bits)).ok_or(StatusListError::LengthTooLarge)?;
        let byte_len = total_bits / 8 + usize::from(total_bits % 8 != 0);
        Ok(Self { bits, mask, len, bytes: vec![0; byte_len] })
    }

    /// A list over an existing (uncompressed) byte array; it has
    /// `bytes.len() * 8 / bits` entries.
    ///
    /// # Errors
    ///
    /// [`StatusListError::InvalidBits`] unless `bits` is 1, 2, 4 or 8;
    /// [`StatusListError::LengthTooLarge`] if the entry count overflows.
    pub fn from_bytes(bits: u8, bytes: Vec<u8>) -> Result<Self, StatusListError> {
        let mask = entry_mask(bits)?;
        let len = bytes.len().checked_mul(8).ok_or(StatusListError::LengthTooLarge)? / usize::from(bits);
        Ok(Self { bits, mask, len, bytes })
    }

    /// Bits per entry: 1, 2, 4 or 8.
    #[must_use]
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list has no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The uncompressed byte array (draft Section 4.1 layout).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The heap bytes the list holds: its packed byte array's allocation,
    /// what a verifier pays to keep a list decoded. Entries are read from
    /// the packed bits by index, never expanded; a decoded list holds its
    /// raw size exactly.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
    }

    /// Byte position and shift of entry `idx`, if in range.
    fn locate(&self, idx: usize) -> Option<(usize, usize)> {
        if idx >= self.len {
            return None;
        }
        // Cannot overflow: idx < len and len * bits was checked.
        let bit = idx.checked_mul(usize::from(self.bits))?;
        Some((bit / 8, bit % 8))
    }

    /// The status at `idx`, or `None` if `idx` is out of range.
    #[must_use]
    pub fn get(&self, idx: usize) -> Option<u8> {
        let (byte, shift) = self.locate(idx)?;
        let b = *self.bytes.get(byte)?;
        Some((b >> shift) & self.mask)
    }

    /// Sets the status at `idx` to `value`.
    ///
    /// # Errors
    ///
    /// [`StatusListError::IndexOutOfRange`] if `idx >= len()`;
    /// [`StatusListError::ValueTooLarge`] if `value` needs more than
    /// `bits()` bits. The list is unchanged on error.
    pub fn set(&mut self, idx: usize, value: u8) -> Result<(), StatusListError> {
        if value & !self.mask != 0 {
            return Err(StatusListError::ValueTooLarge { value, bits: self.bits });
        }
        let out_of_range = StatusListError::IndexOutOfRange { index: idx, len: self.len };
        let (byte, shift) = self.locate(idx).ok_or(out_of_range.clone())?;
        let b = self.bytes.get_mut(byte).ok_or(out_of_range)?;
        *b = (*b & !(self.mask << shift)) | (value << shift);
        Ok(())
    }

    /// The `lst` value: the byte array ZLIB-compressed at the best
    /// compression level, base64url-encoded without padding.
    #[must_use]
    pub fn encode_lst(&self) -> String {
        // Compressing into a Vec cannot fail; should the encoder ever report
        // an error anyway, fall back to a valid uncompressed (stored-block)
        // zlib stream rather than panicking.
        let compressed = zlib_compress_best(&self.bytes).unwrap_or_else(|_| zlib_stored(&self.bytes));
        B64URL_STRICT.encode(compressed)
    }

    /// Decodes an untrusted `lst` value for a list of `bits` bits per entry.
    ///
    /// The string must be canonical unpadded base64url of exactly one zlib
    /// stream. Work and memory are bounded by `limits`: the string is
    /// length-checked before base64 decoding, and decompression stops after
    /// `max_decompressed_bytes + 1` output bytes.
    ///
    /// # Errors
    ///
    /// [`StatusListError::InvalidBits`], [`StatusListError::InvalidBase64`],
    /// [`StatusListError::CompressedTooLarge`],
    /// [`StatusListError::DecompressedTooLarge`],
    /// [`StatusListError::TruncatedZlib`], [`StatusListError::CorruptZlib`],
    /// [`StatusListError::TrailingData`].
    pub fn decode(bits: u8, lst: &str, limits: &DecodeLimits) -> Result<Self, StatusListError> {
        entry_mask(bits)?;
        let max_compressed = limits.max_compressed_bytes;
        // Unpadded base64 of n bytes has ceil(4n / 3) symbols.
        let max_encoded = max_compressed.saturating_mul(4).saturating_add(2) / 3;
        if lst.len() > max_encoded {
            return Err(StatusListError::CompressedTooLarge { limit: max_compressed });
        }
        if lst.as_bytes().contains(&b'=') {
            return Err(StatusListError::InvalidBase64(Base64Defect::Padding));
        }
        let compressed = B64URL_STRICT.decode(lst).map_err(|e| StatusListError::InvalidBase64(base64_defect(&e)))?;
        if compressed.len() > max_compressed {
            return Err(StatusListError::CompressedTooLarge { limit: max_compressed });
        }
        let bytes = zlib_decompress_bounded(&compressed, limits.max_decompressed_bytes)?;
        Self::from_bytes(bits, bytes)
    }
}

fn base64_defect(e: &DecodeError) -> Base64Defect {
    match e {
        DecodeError::InvalidByte(_, b'=') | DecodeError::InvalidPadding => Base64Defect::Padding,
        DecodeError::InvalidByte(offset, _) => Base64Defect::InvalidCharacter { offset: *offset },
        DecodeError::InvalidLength(_) => Base64Defect::InvalidLength,
        DecodeError::InvalidLastSymbol(_, _) => Base64Defect::NonCanonicalTrailingBits,
    }
}

fn zlib_compress_best(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::with_capacity(bytes.len() / 16 + 64), Compression::best());
    enc.write_all(bytes)?;
    enc.finish()
}

/// A valid zlib stream holding `bytes` in uncompressed (stored) DEFLATE
/// blocks; only used if the compressor unexpectedly fails.
fn zlib_stored(bytes: &[u8]) -> Vec<u8> {
    const MAX_BLOCK: usize = 0xffff;
    let blocks = bytes.len() / MAX_BLOCK + 1;
    let mut out = Vec::with_capacity(bytes.len() + blocks * 5 + 6);
    // CMF 0x78 (deflate, 32 KiB window), FLG 0x01 (check bits, no dict).
    out.extend_from_slice(&[0x78, 0x01]);
    let mut chunks = bytes.chunks(MAX_BLOCK).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        out.push(u8::from(last));
        let len = u16::try_from(chunk.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&adler32(bytes).to_be_bytes());
    out
}

fn adler32(bytes: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 is the largest run that cannot overflow u32 before reduction.
    for chunk in bytes.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// Inflates exactly one zlib stream, producing at most `max_out` bytes.
fn zlib_decompress_bounded(compressed: &[u8], max_out: usize) -> Result<Vec<u8>, StatusListError> {
    let limit = u64::try_from(max_out).unwrap_or(u64::MAX).saturating_add(1);
    // The bufread decoder consumes exactly the stream's bytes from the slice,
    // so `total_in` tells where the stream ended.
    let mut decoder = flate2::bufread::ZlibDecoder::new(compressed);
    let mut out = Vec::new();
    match decoder.by_ref().take(limit).read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(StatusListError::TruncatedZlib),
        Err(_) => return Err(StatusListError::CorruptZlib),
    }
    if out.len() > max_out {
        return Err(StatusListError::DecompressedTooLarge { limit: max_out });
    }
    let consumed = usize::try_from(decoder.total_in()).unwrap_or(usize::MAX);
    // flate2 reports a stream cut short as `UnexpectedEof`; as a second
    // line of defence, a stream that consumed nothing cannot be complete.
    if consumed == 0 {
        return Err(StatusListError::TruncatedZlib);
    }
    match compressed.len().checked_sub(consumed) {
        Some(0) => {
            // `read_to_end` grows its buffer by doubling: up to twice the
            // list's size would stay allocated for as long as a verifier
            // holds it. Keep exactly the bytes.
            out.shrink_to_fit();
            Ok(out)
        }
        Some(rest) => Err(StatusListError::TrailingData { bytes: rest }),
        None => Err(StatusListError::CorruptZlib),
    }
}

/// Number of tries of plain rejection sampling before falling back to
/// selecting the k-th unused index by scanning.
const REJECTION_TRIES: u32 = 32;
/// Bound on rejected draws in [`draw_below`] (each is accepted with
/// probability above 1/2, so a working source essentially never hits it).
const MAX_DRAWS: u32 = 128;

/// A uniformly random integer in `[0, n)`, `n > 0`, by masked rejection
/// sampling (no modulo bias).
fn draw_below(n: usize, rng: &mut dyn FnMut(&mut [u8])) -> Result<usize, StatusListError> {
    let n64 = u64::try_from(n).map_err(|_| StatusListError::LengthTooLarge)?;
    if n64 <= 1 {
        return Ok(0);
    }
    let mask = u64::MAX >> (n64 - 1).leading_zeros();
    for _ in 0..MAX_DRAWS {
        let mut buf = [0u8; 8];
        rng(&mut buf);
        let x = u64::from_le_bytes(buf) & mask;
        if x < n64 {
            return usize::try_from(x).map_err(|_| StatusListError::LengthTooLarge);
        }
    }
    Err(StatusListError::Randomness)
}

/// Issuer-side allocator of status list indexes.
///
/// Each [`IndexAllocator::allocate`] returns an index not returned (or
/// marked used) before, chosen uniformly at random among the unused ones,
/// so indexes are never sequential and never reused (draft Sections 12.5
/// and 13.2 on unlinkability). Randomness is an input: a closure that fills
/// a buffer with random bytes, e.g. ring's `SystemRandom` (see
/// [`IndexAllocator::allocate_with_system_rng`]) or a seeded generator in
/// tests.
#[derive(Clone, PartialEq, Eq)]
pub struct IndexAllocator {
    capacity: usize,
    used: usize,
    /// One bit per index, 1 = used. Bits past `capacity` in the last word
    /// are set so that they never look free.
    words: Vec<u64>,
}

impl fmt::Debug for IndexAllocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndexAllocator")
            .field("capacity", &self.capacity)
            .field("used", &self.used)
            .finish_non_exhaustive()
    }
}

fn free_bits(word: u64) -> usize {
    usize::try_from(word.count_zeros()).unwrap_or(64)
}

impl IndexAllocator {
    /// An allocator for a list of `capacity` entries, none used yet.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        let n_words = capacity.div_ceil(64);
        let mut words = vec![0u64; n_words];
        let tail = capacity % 64;
        if let (Some(last), true) = (words.last_mut(), tail != 0) {
            *last = u64::MAX << tail;
        }
        Self { capacity, used: 0, words }
    }

    /// An allocator that treats the given indexes as already used (e.g.
    /// restored from storage).
    ///
    /// # Errors
    ///
    /// [`StatusListError::IndexOutOfRange`] for an index `>= capacity`.
    pub fn with_used<I: IntoIterator<Item = usize>>(capacity: usize, used: I) -> Result<Self, StatusListError> {
        let mut alloc = Self::new(capacity);
        for idx in used {
            alloc.mark_used(idx)?;
        }
        Ok(alloc)
    }

    /// The list capacity in entries.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many indexes are used.
    #[must_use]
    pub fn used(&self) -> usize {
        self.used
    }

    /// How many indexes are still free.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.capacity - self.used
    }

    /// Whether `idx` is used; `false` for out-of-range indexes.
    #[must_use]
    pub fn is_used(&self, idx: usize) -> bool {
        idx < self.capacity && self.words.get(idx / 64).is_some_and(|w| w & (1u64 << (idx % 64)) != 0)
    }

    /// Marks `idx` as used; returns whether it was free before.
    ///
    /// # Errors
    ///
    /// [`StatusListError::IndexOutOfRange`] if `idx >= capacity`.
    pub fn mark_used(&mut self, idx: usize) -> Result<bool, StatusListError> {
        let out_of_range = StatusListError::IndexOutOfRange { index: idx, len: self.capacity };
        if idx >= self.capacity {
            return Err(out_of_range);
        }
        let word = self.words.get_mut(idx / 64).ok_or(out_of_range)?;
        let bit = 1u64 << (idx % 64);
        if *word & bit != 0 {
            return Ok(false);
        }
        *word |= bit;
        self.used += 1;
        Ok(true)
    }

    /// Draws an unused index uniformly at random and marks it used.
    ///
    /// Uses rejection sampling over the whole list while it is at most
    /// 7/8 full, then (or after a few misses) picks `k` uniformly in
    /// `[0, remaining)` and scans for the `k`-th unused index; both are
    /// uniform over the unused indexes.
    ///
    /// # Errors
    ///
    /// [`StatusListError::Full`] if no index is left;
    /// [`StatusListError::Randomness`] if `rng` keeps producing values that
    /// are rejected (e.g. a constant source). Nothing is marked on error.
    pub fn allocate(&mut self, rng: &mut dyn FnMut(&mut [u8])) -> Result<usize, StatusListError> {
        let idx = self.pick(rng)?;
        self.mark_used(idx)?;
        Ok(idx)
    }

    /// [`IndexAllocator::allocate`] with ring's `SystemRandom`.
    ///
    /// # Errors
    ///
    /// As [`IndexAllocator::allocate`]; [`StatusListError::Randomness`] if
    /// the system random source fails.
    pub fn allocate_with_system_rng(&mut self) -> Result<usize, StatusListError> {
        use ring::rand::SecureRandom as _;
        let sys = ring::rand::SystemRandom::new();
        let mut failed = false;
        let idx = self.pick(&mut |buf: &mut [u8]| {
            if sys.fill(buf).is_err() {
                failed = true;
            }
        })?;
        if failed {
            return Err(StatusListError::Randomness);
        }
        self.mark_used(idx)?;
        Ok(idx)
    }

    fn pick(&self, rng: &mut dyn FnMut(&mut [u8])) -> Result<usize, StatusListError> {
        let remaining = self.remaining();
        if remaining == 0 {
            return Err(StatusListError::Full);
        }
        // Rejection sampling while at most 7/8 of the list is used.
        if remaining >= self.capacity / 8 {
            for _ in 0..REJECTION_TRIES {
                let idx = draw_below(self.capacity, rng)?;
                if !self.is_used(idx) {
                    return Ok(idx);
                }
            }
        }
        let k = draw_below(remaining, rng)?;
        self.nth_free(k).ok_or(StatusListError::Full)
    }

    /// The `k`-th (0-based) unused index in increasing order.
    fn nth_free(&self, mut k: usize) -> Option<usize> {
        for (w, &word) in self.words.iter().enumerate() {
            let free = free_bits(word);
            if k >= free {
                k -= free;
                continue;
            }
            let mut rest = !word;
            for _ in 0..k {
                rest &= rest - 1; // clear lowest free bit
            }
            let bit = usize::try_from(rest.trailing_zeros()).ok()?;
            let idx = w.checked_mul(64)?.checked_add(bit)?;
            return (idx < self.capacity).then_some(idx);
        }
        None
    }
}
