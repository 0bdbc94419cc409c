//! What a verifier asks for: audience, a fresh nonce, claims to disclose
//! and predicates to prove, and optionally which issuers and credential
//! types (`vct`) it accepts.

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
///
/// A request may name the issuers and the credential types it accepts
/// (the file form of DCQL's `trusted_authorities` and `vct_values`): the
/// wallet then considers only those credentials, and the verifier rejects
/// any other (`request.issuer`, `request.vct`) even if its trust store
/// trusts the issuer. Empty lists accept any trusted issuer and any type.
///
/// ```
/// use creditproof::{PresentationRequest, SystemRng};
/// let request = PresentationRequest::builder("https://lender.example")
///     .predicate("score>=650".parse().unwrap())
///     .issuer("https://bureau.example")
///     .vct("urn:creditproof:score:2")
///     .build(&mut SystemRng::new())
///     .unwrap();
/// assert!(request.accepts("https://bureau.example", Some("urn:creditproof:score:2")));
/// assert!(!request.accepts("https://other.example", Some("urn:creditproof:score:2")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationRequest {
    aud: String,
    nonce: String,
    disclose: Vec<String>,
    predicates: Vec<Predicate>,
    issuers: Vec<String>,
    vct_values: Vec<String>,
}

/// The most issuers, and the most credential types, a request may name.
pub const MAX_REQUEST_ISSUERS: usize = 16;

/// The longest issuer identifier or credential type a request may name,
/// in bytes.
const MAX_ACCEPTED_LEN: usize = 512;

/// Builds a [`PresentationRequest`].
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    aud: String,
    disclose: Vec<String>,
    predicates: Vec<Predicate>,
    issuers: Vec<String>,
    vct_values: Vec<String>,
}

impl RequestBuilder {
    /// Accepts credentials of issuer `iss` (repeat for several). Without
    /// any, every issuer the verifier trusts is accepted.
    #[must_use]
    pub fn issuer(mut self, iss: impl Into<String>) -> Self {
        self.issuers.push(iss.into());
        self
    }

    /// Accepts credentials of type `vct` (repeat for several). Without
    /// any, every type is accepted.
    #[must_use]
    pub fn vct(mut self, vct: impl Into<String>) -> Self {
        self.vct_values.push(vct.into());
        self
    }

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
            issuers: self.issuers,
            vct_values: self.vct_values,
        };
        request.validate(&Limits::default())?;
        Ok(request)
    }
}

impl PresentationRequest {
    /// Starts a request for audience `aud` (the verifier's identifier).
    pub fn builder(aud: impl Into<String>) -> RequestBuilder {
        RequestBuilder {
            aud: aud.into(),
            disclose: Vec::new(),
            predicates: Vec::new(),
            issuers: Vec::new(),
            vct_values: Vec::new(),
        }
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
        let request = Self {
            aud: aud.to_owned(),
            nonce: nonce.to_owned(),
            disclose,
            predicates,
            issuers: Vec::new(),
            vct_values: Vec::new(),
        };
        request.validate(limits)?;
        Ok(request)
    }

    /// The same request, accepting only credentials of `vct_values` (none:
    /// any type), checked as [`RequestBuilder::vct`] values are.
    pub(crate) fn with_vct_values(mut self, vct_values: &[String]) -> Result<Self, Error> {
        self.vct_values = vct_values.to_vec();
        self.validate(&Limits::default())?;
        Ok(self)
    }

    /// A request that skips validation, as a hostile verifier could send.
    #[cfg(test)]
    pub(crate) fn unchecked_for_tests(aud: &str, predicates: Vec<Predicate>) -> Self {
        Self {
            aud: aud.into(),
            nonce: "0123456789abcdef0123".into(),
            disclose: Vec::new(),
            predicates,
            issuers: Vec::new(),
            vct_values: Vec::new(),
        }
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
    /// The issuers whose credentials are accepted (empty: any trusted one).
    pub fn issuers(&self) -> &[String] {
        &self.issuers
    }
    /// The credential types (`vct`) accepted (empty: any).
    pub fn vct_values(&self) -> &[String] {
        &self.vct_values
    }

    /// Whether the request accepts a credential of issuer `iss` and type
    /// `vct` (`None`: a credential without a `vct`, which a request naming
    /// types never accepts).
    pub fn accepts(&self, iss: &str, vct: Option<&str>) -> bool {
        self.accepts_issuer(iss) && (self.vct_values.is_empty() || vct.is_some_and(|v| self.accepts_vct(v)))
    }

    /// Whether the request accepts credentials of issuer `iss`.
    pub fn accepts_issuer(&self, iss: &str) -> bool {
        self.issuers.is_empty() || self.issuers.iter().any(|i| i == iss)
    }

    /// Whether the request accepts credentials of type `vct`.
    pub fn accepts_vct(&self, vct: &str) -> bool {
        self.vct_values.is_empty() || self.vct_values.iter().any(|v| v == vct)
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
        for (what, list) in [("issuers", &self.issuers), ("vct_values", &self.vct_values)] {
            if list.len() > MAX_REQUEST_ISSUERS {
                return Err(bad(&format!("more than {MAX_REQUEST_ISSUERS} {what}")));
            }
            if let Some(v) = list.iter().find(|v| !is_accepted_value(v)) {
                return Err(bad(&format!(
                    "`{v:.64}` in {what} is not 1 to {MAX_ACCEPTED_LEN} bytes of printable ascii without spaces"
                )));
            }
            let mut sorted = list.clone();
            sorted.sort();
            sorted.dedup();
            if sorted.len() != list.len() {
                return Err(bad(&format!("a value of {what} is named twice")));
            }
        }
        Ok(())
    }

    /// The request as JSON, to hand to the holder. `issuers` and
    /// `vct_values` appear only when the request names some.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "aud": self.aud,
            "nonce": self.nonce,
            "disclose": self.disclose,
            "predicates": self.predicates.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        if !self.issuers.is_empty() {
            v["issuers"] = json!(self.issuers);
        }
        if !self.vct_values.is_empty() {
            v["vct_values"] = json!(self.vct_values);
        }
        v
    }

    /// Parses a request received from a verifier (untrusted input).
    pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        if bytes.len() > limits.max_request_bytes() {
            return Err(LimitError::InputTooLarge { what: "request", limit: limits.max_request_bytes() }.into());
        }
        let m = parse_json_object(bytes, limits, "request")?;
        let bad = |reason: &str| Error::from(MalformedError::Request { reason: reason.into() });
        if let Some(k) = m.keys().find(|k| !FIELDS.contains(&k.as_str())) {
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
        let request = Self {
            aud: string("aud")?,
            nonce: string("nonce")?,
            disclose: strings("disclose")?,
            predicates,
            issuers: strings("issuers")?,
            vct_values: strings("vct_values")?,
        };
        request.validate(limits)?;
        Ok(request)
    }
}

/// The members of a request's JSON form.
const FIELDS: [&str; 6] = ["aud", "nonce", "disclose", "predicates", "issuers", "vct_values"];

/// An issuer identifier or credential type a request may name: 1 to
/// [`MAX_ACCEPTED_LEN`] bytes of printable ASCII, no spaces.
fn is_accepted_value(v: &str) -> bool {
    !v.is_empty() && v.len() <= MAX_ACCEPTED_LEN && v.bytes().all(|b| b.is_ascii_graphic())
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
            r#"{"aud":"a","nonce":"0123456789abcdef","issuers":"https://b.example"}"#,
            r#"{"aud":"a","nonce":"0123456789abcdef","issuers":[1]}"#,
            r#"{"aud":"a","nonce":"0123456789abcdef","issuers":[""]}"#,
            r#"{"aud":"a","nonce":"0123456789abcdef","issuers":["a b"]}"#,
            r#"{"aud":"a","nonce":"0123456789abcdef","issuers":["x","x"]}"#,
            r#"{"aud":"a","nonce":"0123456789abcdef","vct_values":["v","v"]}"#,
            r#"{"aud":"a","nonce":"0123456789abcdef","vct_values":["\u0007"]}"#,
        ] {
            assert!(PresentationRequest::from_json(bad.as_bytes(), &l).is_err(), "{bad}");
        }
        let many: Vec<String> = (0..=MAX_REQUEST_ISSUERS).map(|i| format!("https://i{i}.example")).collect();
        let too_many = json!({"aud": "a", "nonce": "0123456789abcdef", "issuers": many}).to_string();
        assert!(PresentationRequest::from_json(too_many.as_bytes(), &l).is_err());
        let long = json!({"aud": "a", "nonce": "0123456789abcdef", "vct_values": ["v".repeat(513)]}).to_string();
        assert!(PresentationRequest::from_json(long.as_bytes(), &l).is_err());
    }

    #[test]
    fn accepted_issuers_and_types_round_trip_and_old_files_still_load() {
        let l = Limits::default();
        let r = PresentationRequest::builder("https://v.example")
            .disclose("tier")
            .issuer("https://bureau.example")
            .issuer("https://other.example")
            .vct("urn:creditproof:score:2")
            .build(&mut SeededRng::new(b"r"))
            .unwrap();
        let v = r.to_json();
        assert_eq!(v["issuers"], json!(["https://bureau.example", "https://other.example"]));
        assert_eq!(v["vct_values"], json!(["urn:creditproof:score:2"]));
        assert_eq!(PresentationRequest::from_json(v.to_string().as_bytes(), &l).unwrap(), r);
        assert!(r.accepts("https://other.example", Some("urn:creditproof:score:2")));
        assert!(!r.accepts("https://third.example", Some("urn:creditproof:score:2")));
        assert!(!r.accepts("https://bureau.example", Some("urn:other")));
        assert!(!r.accepts("https://bureau.example", None));
        // A request file from before these members: accepts any issuer and type.
        let old = r#"{"aud":"https://v.example","nonce":"0123456789abcdef","disclose":["tier"],"predicates":[]}"#;
        let old = PresentationRequest::from_json(old.as_bytes(), &l).unwrap();
        assert!(old.issuers().is_empty() && old.vct_values().is_empty());
        assert!(old.accepts("https://any.example", None));
        assert!(old.to_json().get("issuers").is_none(), "written without them, as before");
        // The builder validates like the parser.
        assert!(PresentationRequest::builder("a").issuer("").build(&mut SeededRng::new(b"r")).is_err());
    }
}
