//! Bounds on work done for untrusted input.

/// Upper bounds applied by every parser of untrusted bytes.
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
}
