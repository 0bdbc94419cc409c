//! What a verifier asks for: audience, a fresh nonce, claims to disclose
//! and predicates to prove.

use serde_json::{json, Value};

use crate::error::{Error, LimitError, MalformedError};
use crate::format::encoding::{b64_encode, parse_json_object};
use crate::format::rng::{random_array, SecureRng};
use crate::profile::predicate::{is_identifier, Predicate};
use crate::Limits;

/// A verifier's request. It always has an audience and a fresh 128-bit
/// nonce: there is no way to build one without them.
///
/// ```
/// use creditproof::{PresentationRequest, SystemRng};
/// let request = PresentationRequest::builder("https://rental.example")
///     .disclose("tier")
///     .predicate("score>=650".parse().unwrap())
///     .build(&mut SystemRng::new())
///     .unwrap();
/// assert_eq!(request.nonce().len(), 22);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationRequest {
    aud: String,
    nonce: String,
    disclose: Vec<String>,
    predicates: Vec<Predicate>,
}

/// Builds a [`PresentationRequest`].
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    aud: String,
    disclose: Vec<String>,
    predicates: Vec<Predicate>,
}

impl RequestBuilder {
    /// Asks the holder to disclose `claim`.
    #[must_use]
    pub fn disclose(mut self, claim: impl Into<String>) -> Self {
        self.disclose.push(claim.into());
        self
    }

    /// Asks the holder to prove `predicate`.
    #[must_use]
    pub fn predicate(mut self, predicate: Predicate) -> Self {
        self.predicates.push(predicate);
        self
    }

    /// Draws a fresh nonce and checks the request.
    pub fn build(self, rng: &mut dyn SecureRng) -> Result<PresentationRequest, Error> {
        let request = PresentationRequest {
            aud: self.aud,
            nonce: b64_encode(random_array::<16>(rng)),
            disclose: self.disclose,
            predicates: self.predicates,
        };
        request.validate(&Limits::default())?;
        Ok(request)
    }
}

impl PresentationRequest {
    /// Starts a request for audience `aud` (the verifier's identifier).
    pub fn builder(aud: impl Into<String>) -> RequestBuilder {
        RequestBuilder { aud: aud.into(), disclose: Vec::new(), predicates: Vec::new() }
    }

    /// A request bound to a nonce a protocol chose (an OpenID4VP
    /// transaction's), checked as [`RequestBuilder::build`] checks one.
    pub(crate) fn with_nonce(
        aud: &str,
        nonce: &str,
        disclose: Vec<String>,
        predicates: Vec<Predicate>,
        limits: &Limits,
    ) -> Result<Self, Error> {
        let request = Self { aud: aud.to_owned(), nonce: nonce.to_owned(), disclose, predicates };
        request.validate(limits)?;
        Ok(request)
    }

    /// A request that skips validation, as a hostile verifier could send.
    #[cfg(test)]
    pub(crate) fn unchecked_for_tests(aud: &str, predicates: Vec<Predicate>) -> Self {
        Self { aud: aud.into(), nonce: "0123456789abcdef0123".into(), disclose: Vec::new(), predicates }
    }

    /// The verifier's identifier the holder must bind to (`aud`).
    pub fn audience(&self) -> &str {
        &self.aud
    }
    /// The one-time nonce the holder must bind to.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }
    /// Claims to disclose.
    pub fn disclose(&self) -> &[String] {
        &self.disclose
    }
    /// Predicates to prove.
    pub fn predicates(&self) -> &[Predicate] {
        &self.predicates
    }

    fn validate(&self, limits: &Limits) -> Result<(), Error> {
        let bad = |reason: &str| Error::from(MalformedError::Request { reason: reason.into() });
        if self.aud.is_empty() || self.aud.len() > 512 {
            return Err(bad("aud must be 1 to 512 bytes"));
        }
        if self.nonce.len() < 16 || self.nonce.len() > 256 {
            return Err(bad("nonce must be 16 to 256 bytes"));
        }
        if self.predicates.len() > limits.max_predicates() {
            return Err(LimitError::TooManyPredicates { limit: limits.max_predicates() }.into());
        }
        if self.disclose.len() > limits.max_disclosures() {
            return Err(LimitError::TooManyDisclosures { limit: limits.max_disclosures() }.into());
        }
        if let Some(c) = self.disclose.iter().find(|c| !is_identifier(c)) {
            return Err(bad(&format!("`{c:.64}` is not a claim name")));
        }
        let mut sorted = self.disclose.clone();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != self.disclose.len() {
            return Err(bad("a claim is requested twice"));
        }
        let mut preds = self.predicates.clone();
        preds.sort();
        preds.dedup();
        if preds.len() != self.predicates.len() {
            return Err(bad("a predicate is requested twice"));
        }
        crate::profile::range_claim::check_one_atom_per_commitment(&self.predicates).map_err(|r| bad(&r))?;
        Ok(())
    }

    /// The request as JSON, to hand to the holder.
    pub fn to_json(&self) -> Value {
        json!({
            "aud": self.aud,
            "nonce": self.nonce,
            "disclose": self.disclose,
            "predicates": self.predicates.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })
    }

    /// Parses a request received from a verifier (untrusted input).
    pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        if bytes.len() > limits.max_request_bytes() {
            return Err(LimitError::InputTooLarge { what: "request", limit: limits.max_request_bytes() }.into());
        }
        let m = parse_json_object(bytes, limits, "request")?;
        let bad = |reason: &str| Error::from(MalformedError::Request { reason: reason.into() });
        if let Some(k) = m.keys().find(|k| !["aud", "nonce", "disclose", "predicates"].contains(&k.as_str())) {
            return Err(bad(&format!("unknown field `{k:.40}`")));
        }
        let string = |k: &str| {
            m.get(k).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| bad(&format!("`{k}` must be a string")))
        };
        let strings = |k: &str| -> Result<Vec<String>, Error> {
            match m.get(k) {
                None => Ok(Vec::new()),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| bad(&format!("`{k}` must hold strings"))))
                    .collect(),
                Some(_) => Err(bad(&format!("`{k}` must be an array"))),
            }
        };
        let predicates = strings("predicates")?.iter().map(|p| p.parse()).collect::<Result<Vec<Predicate>, Error>>()?;
        let request = Self { aud: string("aud")?, nonce: string("nonce")?, disclose: strings("disclose")?, predicates };
        request.validate(limits)?;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::hazmat::SeededRng;

    #[test]
    fn predicate_syntax() {
        for ok in ["score>=0", "score<=900", "600<=score<=800", "perk:no_deposit_rental", "months_on_time>=12"] {
            let p: Predicate = ok.parse().unwrap();
            assert_eq!(p.to_string(), ok);
        }
        for bad in [
            "",
            "score",
            "score>650",
            "score>=-1",
            "score>=06",
            "Score>=1",
            "800<=score<=600",
            "score>=18446744073709551616",
            "perk:",
            "perk:a b",
            "1<=a<=2<=3",
        ] {
            assert!(bad.parse::<Predicate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn request_round_trip_and_rejections() {
        let r = PresentationRequest::builder("https://v.example")
            .disclose("tier")
            .predicate("score>=650".parse().unwrap())
            .build(&mut SeededRng::new(b"r"))
            .unwrap();
        let bytes = r.to_json().to_string();
        let l = Limits::default();
        assert_eq!(PresentationRequest::from_json(bytes.as_bytes(), &l).unwrap(), r);
        for bad in [
            r#"{"aud":"a","nonce":"short"}"#,
            r#"{"aud":"","nonce":"0123456789abcdef"}"#,
            r#"{"aud":"a","nonce":"0123456789abcdef","extra":1}"#,
            r#"{"aud":"a","nonce":"0123456789abcdef","disclose":["x","x"]}"#,
            r#"{"aud":"a","nonce":"0123456789abcdef","disclose":"x"}"#,
            r#"[]"#,
        ] {
            assert!(PresentationRequest::from_json(bad.as_bytes(), &l).is_err(), "{bad}");
        }
    }
}
