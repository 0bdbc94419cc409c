//! A strict, bounded `application/x-www-form-urlencoded` parser and
//! encoder (the bodies of OAuth token requests, the query of offer URIs).
//!
//! Strict where the WHATWG algorithm is lenient: a `%` must start a
//! two-digit hex escape, the decoded bytes must be UTF-8, every field has a
//! `=`, there are no empty fields (`a=1&&b=2`, a trailing `&`), and a name
//! may occur once (RFC 6749 §3.2: parameters "MUST NOT be included more
//! than once"). `+` decodes to a space, as in every form. Bounded: the
//! input's length is checked before anything is decoded, and no more than
//! the allowed number of fields is decoded.

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroizing;

/// Why a form could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormError {
    /// The input is longer than allowed.
    TooLarge,
    /// More fields than allowed.
    TooManyFields,
    /// An empty field (`&&`, or a leading or trailing `&`).
    EmptyField,
    /// A field without `=`.
    NoEquals,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
    /// A name occurs more than once.
    Duplicate,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooLarge => "the form is too large",
            Self::TooManyFields => "the form has too many fields",
            Self::EmptyField => "the form has an empty field",
            Self::NoEquals => "a form field has no `=`",
            Self::BadEscape => "a `%` is not followed by two hex digits",
            Self::NotUtf8 => "a form field is not utf-8 after decoding",
            Self::Duplicate => "a form field occurs more than once",
        })
    }
}

/// Parses `input` into its fields, by decoded name. An empty input is an
/// empty form. Values may be secrets (codes, tokens): they zeroize on drop.
pub(crate) fn parse(
    input: &[u8],
    max_bytes: usize,
    max_fields: usize,
) -> Result<BTreeMap<String, Zeroizing<String>>, FormError> {
    if input.len() > max_bytes {
        return Err(FormError::TooLarge);
    }
    let mut out = BTreeMap::new();
    if input.is_empty() {
        return Ok(out);
    }
    for (n, field) in input.split(|&b| b == b'&').enumerate() {
        // Counted before the field is decoded: at most `max_fields` are.
        if n >= max_fields {
            return Err(FormError::TooManyFields);
        }
        if field.is_empty() {
            return Err(FormError::EmptyField);
        }
        let eq = field.iter().position(|&b| b == b'=').ok_or(FormError::NoEquals)?;
        let name = decode(&field[..eq])?;
        let value = Zeroizing::new(decode(&field[eq + 1..])?);
        if out.insert(name, value).is_some() {
            return Err(FormError::Duplicate);
        }
    }
    Ok(out)
}

/// Percent-decodes one form component (`+` is a space).
pub(crate) fn decode(bytes: &[u8]) -> Result<String, FormError> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        // A run of bytes that decode to themselves is copied at once (a
        // presentation is mostly base64url, which forms leave as it is).
        let run = bytes[i..].iter().position(|&c| c == b'%' || c == b'+').unwrap_or(bytes.len() - i);
        if run > 0 {
            out.extend_from_slice(&bytes[i..i + run]);
            i += run;
            continue;
        }
        match b {
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|c| hex(*c));
                let lo = bytes.get(i + 2).and_then(|c| hex(*c));
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(FormError::BadEscape);
                };
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| FormError::NotUtf8)
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes one component: everything but RFC 3986's unreserved
/// characters (`A-Z a-z 0-9 - . _ ~`), a space as `%20` (which every
/// decoder, form or URI, reads as a space).
pub(crate) fn encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

/// Encodes fields as a form body, in the given order.
pub(crate) fn encode_fields(fields: &[(&str, &str)]) -> String {
    let encoded: Vec<String> = fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    encoded.join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_decoding() {
        let body = encode_fields(&[("grant_type", "urn:a b"), ("x", "ä&=%+")]);
        assert_eq!(body, "grant_type=urn%3Aa%20b&x=%C3%A4%26%3D%25%2B");
        let m = parse(body.as_bytes(), 1024, 8).unwrap();
        assert_eq!(m["grant_type"].as_str(), "urn:a b");
        assert_eq!(m["x"].as_str(), "ä&=%+");
        assert_eq!(parse(b"a=1+2&b=", 64, 8).unwrap()["a"].as_str(), "1 2");
        assert_eq!(parse(b"a=1+2&b=", 64, 8).unwrap()["b"].as_str(), "");
        assert!(parse(b"", 64, 8).unwrap().is_empty());
        assert_eq!(parse(b"a=%2x", 64, 8).unwrap_err(), FormError::BadEscape);
        assert_eq!(parse(b"a=%2", 64, 8).unwrap_err(), FormError::BadEscape);
        assert_eq!(parse(b"a=%", 64, 8).unwrap_err(), FormError::BadEscape);
    }

    #[test]
    fn strictness_and_bounds() {
        for (input, err) in [
            (&b"a=1&&b=2"[..], FormError::EmptyField),
            (b"a=1&", FormError::EmptyField),
            (b"&a=1", FormError::EmptyField),
            (b"a", FormError::NoEquals),
            (b"a=1&a=2", FormError::Duplicate),
            (b"a=1&%61=2", FormError::Duplicate),
            (b"a=%FF", FormError::NotUtf8),
            (b"a=\xff", FormError::NotUtf8),
        ] {
            assert_eq!(parse(input, 64, 8).unwrap_err(), err, "{}", String::from_utf8_lossy(input));
        }
        assert_eq!(parse(b"a=1&b=2&c=3", 64, 2).unwrap_err(), FormError::TooManyFields);
        assert!(parse(b"a=1&b=2", 64, 2).is_ok());
        assert_eq!(parse(&[b'a'; 65], 64, 2).unwrap_err(), FormError::TooLarge);
        // `=` inside a value is kept; the first one splits.
        assert_eq!(parse(b"a=b=c", 64, 2).unwrap()["a"].as_str(), "b=c");
    }
}
