//! Bounds on work done for untrusted input.

/// Upper bounds applied by every parser of untrusted bytes: presentations,
/// requests, JSON, status lists, policies and records. (Range proofs need
/// no bound of their own: their length is fixed by the signed parameters
/// and checked exactly before decoding.)
///
/// Work is bounded by these numbers, never by what the input claims about
/// itself. Exceeding any of them is an [`crate::error::LimitError`]. The
/// defaults are generous for creditproof's own credentials (a presentation
/// with two range proofs is about 2 KiB) and small enough that a hostile
/// input costs a verifier microseconds.
///
/// ```
/// use creditproof::Limits;
/// let limits = Limits::default().with_max_presentation_bytes(16 * 1024);
/// assert_eq!(limits.max_presentation_bytes(), 16 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    max_presentation_bytes: usize,
    max_request_bytes: usize,
    max_disclosures: usize,
    max_json_depth: usize,
    max_string_bytes: usize,
    max_predicates: usize,
    max_status_list_compressed_bytes: usize,
    max_status_list_decompressed_bytes: usize,
    max_policy_bytes: usize,
    max_records_bytes: usize,
    max_records: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_presentation_bytes: 64 * 1024,
            max_request_bytes: 16 * 1024,
            max_disclosures: 64,
            max_json_depth: 16,
            max_string_bytes: 16 * 1024,
            max_predicates: 8,
            max_status_list_compressed_bytes: 1 << 20,
            max_status_list_decompressed_bytes: 16 << 20,
            max_policy_bytes: 256 << 10,
            max_records_bytes: 4 << 20,
            max_records: 100_000,
        }
    }
}

macro_rules! limit_accessors {
    ($($field:ident, $setter:ident, $doc:literal;)*) => {
        impl Limits {$(
            #[doc = concat!("Maximum ", $doc, ".")]
            pub fn $field(&self) -> usize {
                self.$field
            }
            #[doc = concat!("Sets the maximum ", $doc, ".")]
            #[must_use]
            pub fn $setter(mut self, value: usize) -> Self {
                self.$field = value;
                self
            }
        )*}
    };
}

limit_accessors! {
    max_presentation_bytes, with_max_presentation_bytes,
        "size of a presentation in bytes (default 64 KiB)";
    max_request_bytes, with_max_request_bytes,
        "size of a verifier request in bytes (default 16 KiB)";
    max_disclosures, with_max_disclosures,
        "number of disclosures in one presentation (default 64)";
    max_json_depth, with_max_json_depth,
        "nesting depth of any JSON value (default 16)";
    max_string_bytes, with_max_string_bytes,
        "length of one JSON string in bytes (default 16 KiB)";
    max_predicates, with_max_predicates,
        "number of predicates in a request, and of range proofs in a presentation (default 8)";
    max_status_list_compressed_bytes, with_max_status_list_compressed_bytes,
        "compressed size of a status list's `lst` in bytes (default 1 MiB)";
    max_status_list_decompressed_bytes, with_max_status_list_decompressed_bytes,
        "inflated size of a status list in bytes (default 16 MiB = 64 M two-bit entries); a zlib bomb stops here";
    max_policy_bytes, with_max_policy_bytes,
        "size of a policy file in bytes (default 256 KiB)";
    max_records_bytes, with_max_records_bytes,
        "size of a records file in bytes (default 4 MiB)";
    max_records, with_max_records,
        "number of records scored at once (default 100,000)";
}
