//! Strict base64url and bounded, duplicate-key-rejecting JSON.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{Error, LimitError, MalformedError};
use crate::Limits;

/// Encodes bytes as base64url without padding.
pub(crate) fn b64_encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes strict base64url: no padding, no characters outside the
/// alphabet, and no non-zero trailing bits (so every byte string has exactly
/// one accepted encoding).
pub(crate) fn b64_decode(s: &str, what: &'static str) -> Result<Vec<u8>, Error> {
    URL_SAFE_NO_PAD.decode(s).map_err(|_| MalformedError::Base64 { what }.into())
}

/// Decodes strict base64url into exactly `N` bytes.
pub(crate) fn b64_decode_array<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N], Error> {
    // Exact-length inputs only: avoids decoding an attacker-sized buffer.
    if s.len() != (N * 4).div_ceil(3) {
        return Err(MalformedError::Base64 { what }.into());
    }
    let v = b64_decode(s, what)?;
    v.try_into().map_err(|_| MalformedError::Base64 { what }.into())
}

/// Parses untrusted JSON bytes into a [`Value`], enforcing the nesting depth
/// and string length limits before any allocation by the parser, and
/// rejecting objects with duplicate keys (which different parsers resolve
/// differently).
pub(crate) fn parse_json(bytes: &[u8], limits: &Limits, what: &'static str) -> Result<Value, Error> {
    prescan(bytes, limits)?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue::deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| MalformedError::Json { what, reason: short_reason(&e) })?;
    Ok(value.0)
}

/// Parses untrusted JSON into an object.
pub(crate) fn parse_json_object(
    bytes: &[u8],
    limits: &Limits,
    what: &'static str,
) -> Result<Map<String, Value>, Error> {
    match parse_json(bytes, limits, what)? {
        Value::Object(m) => Ok(m),
        _ => Err(MalformedError::Json { what, reason: "expected a json object".into() }.into()),
    }
}

fn short_reason(e: &serde_json::Error) -> String {
    let mut s = e.to_string();
    truncate_at_char(&mut s, 120);
    s
}

/// Cuts `s` to at most `max` bytes without splitting a character
/// (`String::truncate` panics inside one).
pub(crate) fn truncate_at_char(s: &mut String, max: usize) {
    let cut = (0..=max.min(s.len())).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
    s.truncate(cut);
}

/// One linear pass over the bytes that rejects excessive nesting and
/// overlong strings without allocating. A string's length counts the bytes
/// after its opening quote up to and including the closing one (all the
/// rest of the input if it is not closed); inside a string, a backslash
/// skips the byte after it and brackets do not nest.
fn prescan(bytes: &[u8], limits: &Limits) -> Result<(), Error> {
    let (max_string, max_depth) = (limits.max_string_bytes(), limits.max_json_depth());
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                let start = i + 1;
                i = string_end(bytes, start);
                if i - start > max_string {
                    return Err(LimitError::StringTooLong { limit: max_string }.into());
                }
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max_depth {
                    return Err(LimitError::JsonTooDeep { limit: max_depth }.into());
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// One past the quote that closes the string whose contents start at
/// `start`, or `bytes.len()` if none does. Jumps from one quote or
/// backslash to the next instead of walking a state machine byte by byte
/// (strings are most of a token's bytes).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut j = start;
    while let Some(rest) = bytes.get(j..) {
        match rest.iter().position(|&c| c == b'"' || c == b'\\') {
            Some(k) if rest[k] == b'"' => return j + k + 1,
            // A backslash: the next byte is escaped, whatever it is.
            Some(k) => j += k + 2,
            None => break,
        }
    }
    bytes.len()
}

/// A JSON value whose objects never had duplicate keys.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any json value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match out.entry(key) {
                serde_json::map::Entry::Occupied(e) => {
                    return Err(de::Error::custom(format_args!("duplicate key `{:.40}`", e.key())));
                }
                serde_json::map::Entry::Vacant(e) => {
                    let StrictValue(v) = map.next_value()?;
                    e.insert(v);
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// Serializes a value as compact JSON. Infallible for `Value` and for the
/// plain data types this crate serializes.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    // serde_json only fails on maps with non-string keys or on Serialize
    // impls that error; none of ours do.
    serde_json::to_string(v).unwrap_or_default()
}

/// Reads a string claim.
pub(crate) fn get_str<'a>(m: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, Error> {
    m.get(name).and_then(Value::as_str).ok_or_else(|| MalformedError::Claim { name }.into())
}

/// Reads a non-negative integer claim (rejects floats and out-of-range
/// numbers instead of rounding them).
pub(crate) fn get_u64(m: &Map<String, Value>, name: &'static str) -> Result<u64, Error> {
    m.get(name).and_then(Value::as_u64).ok_or_else(|| MalformedError::Claim { name }.into())
}

/// Reads an optional non-negative integer claim.
pub(crate) fn get_opt_u64(m: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, Error> {
    match m.get(name) {
        None => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| MalformedError::Claim { name }.into()),
    }
}

/// Which way to round a non-integer NumericDate: always in the direction
/// that makes a check stricter (an expiry earlier, a start later).
#[derive(Clone, Copy)]
pub(crate) enum Round {
    /// For `exp`.
    Down,
    /// For `iat` and `nbf`.
    Up,
}

/// Reads an optional RFC 7519 NumericDate: seconds since the epoch, an
/// integer or — as RFC 7519 §2 allows and Python issuers write — a
/// non-integer, rounded the strict way. Negative, non-finite and values
/// beyond 2^53 are refused.
pub(crate) fn get_opt_numeric_date(
    m: &Map<String, Value>,
    name: &'static str,
    round: Round,
) -> Result<Option<u64>, Error> {
    const MAX_EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    let Some(v) = m.get(name) else { return Ok(None) };
    if let Some(n) = v.as_u64() {
        return Ok(Some(n));
    }
    match v.as_f64() {
        Some(f) if f.is_finite() && (0.0..MAX_EXACT).contains(&f) => {
            let r = match round {
                Round::Down => f.floor(),
                Round::Up => f.ceil(),
            };
            // In range and integral: the conversion is exact.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(Some(r as u64))
        }
        _ => Err(MalformedError::Claim { name }.into()),
    }
}

/// Reads a required NumericDate (see [`get_opt_numeric_date`]).
pub(crate) fn get_numeric_date(m: &Map<String, Value>, name: &'static str, round: Round) -> Result<u64, Error> {
    get_opt_numeric_date(m, name, round)?.ok_or_else(|| MalformedError::Claim { name }.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_dates_round_the_strict_way() {
        let m: Map<String, Value> =
            serde_json::from_str(r#"{"i":1700000000,"f":1700000000.5,"neg":-1,"s":"1","big":1e300,"nf":-0.5,"z":0.0}"#)
                .unwrap();
        assert_eq!(get_opt_numeric_date(&m, "i", Round::Down).unwrap(), Some(1_700_000_000));
        assert_eq!(get_opt_numeric_date(&m, "f", Round::Down).unwrap(), Some(1_700_000_000));
        assert_eq!(get_opt_numeric_date(&m, "f", Round::Up).unwrap(), Some(1_700_000_001));
        assert_eq!(get_opt_numeric_date(&m, "z", Round::Up).unwrap(), Some(0));
        assert_eq!(get_opt_numeric_date(&m, "absent", Round::Up).unwrap(), None);
        for bad in ["neg", "s", "big", "nf"] {
            assert!(get_opt_numeric_date(&m, bad, Round::Up).is_err(), "{bad}");
        }
    }

    #[test]
    fn base64url_is_strict() {
        assert_eq!(b64_decode("AQ", "t").unwrap(), vec![1]);
        assert!(b64_decode("AQ==", "t").is_err(), "padding");
        assert!(b64_decode("AR", "t").is_err(), "non-zero trailing bits");
        assert!(b64_decode("A+", "t").is_err(), "standard alphabet");
        assert!(b64_decode("A", "t").is_err(), "impossible length");
    }

    #[rustfmt::skip]
    /// The byte-by-byte state machine `prescan` replaced: one linear pass over the bytes that rejects excessive nesting and
    /// overlong strings without allocating.
    fn prescan_reference(bytes: &[u8], limits: &Limits) -> Result<(), Error> {
        let (mut depth, mut in_str, mut escaped, mut str_len) = (0usize, false, false, 0usize);
        for &b in bytes {
            if in_str {
                str_len += 1;
                if str_len > limits.max_string_bytes() {
                    return Err(LimitError::StringTooLong { limit: limits.max_string_bytes() }.into());
                }
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_str = false;
                }
                continue;
            }
            match b {
                b'"' => {
                    in_str = true;
                    str_len = 0;
                }
                b'[' | b'{' => {
                    depth += 1;
                    if depth > limits.max_json_depth() {
                        return Err(LimitError::JsonTooDeep { limit: limits.max_json_depth() }.into());
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        Ok(())
    }

    #[test]
    fn prescan_agrees_with_the_byte_by_byte_reference() {
        use crate::format::rng::SecureRng as _;
        let mut rng = crate::format::hazmat::SeededRng::new(b"prescan");
        let alphabet = br#"""\\{}[]a:,"#;
        for (max_string, max_depth) in [(1, 1), (3, 2), (8, 4), (64, 32)] {
            let limits = Limits::default().with_max_string_bytes(max_string).with_max_json_depth(max_depth);
            for len in 0..48 {
                for _ in 0..200 {
                    let mut pick = vec![0u8; len];
                    rng.fill(&mut pick);
                    let input: Vec<u8> = pick.iter().map(|p| alphabet[usize::from(*p) % alphabet.len()]).collect();
                    let ours = prescan(&input, &limits).map_err(|e| e.check());
                    let reference = prescan_reference(&input, &limits).map_err(|e| e.check());
                    assert_eq!(ours, reference, "{}", String::from_utf8_lossy(&input));
                }
            }
        }
    }

    #[test]
    fn json_rejects_duplicates_depth_and_long_strings() {
        let l = Limits::default();
        assert!(parse_json(br#"{"a":1,"a":2}"#, &l, "t").is_err());
        assert!(parse_json(br#"{"a":{"b":1},"c":{"b":2}}"#, &l, "t").is_ok());
        let deep = "[".repeat(17) + &"]".repeat(17);
        assert_eq!(parse_json(deep.as_bytes(), &l, "t").unwrap_err().check(), "limit.json_depth");
        let long = format!("\"{}\"", "x".repeat(20_000));
        assert_eq!(parse_json(long.as_bytes(), &l, "t").unwrap_err().check(), "limit.string_length");
        assert!(parse_json(b"{} x", &l, "t").is_err(), "trailing garbage");
        assert!(parse_json(b"\"\xff\"", &l, "t").is_err(), "non-utf-8");
    }
}
