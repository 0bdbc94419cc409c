//! Generic RFC 9901 verification: any issuer's SD-JWT or SD-JWT+KB, not only
//! creditproof's score credentials.
//!
//! The caller names what it trusts and expects — the issuer's key(s), the
//! issuer JWT's `typ`, and whether key binding is required (with the nonce
//! and audience it must carry) — and gets back the processed claims exactly
//! as RFC 9901 §7.1 defines them: every presented disclosure substituted
//! (nested objects, array elements, recursive disclosures), `_sd` and
//! `_sd_alg` removed, and undisclosed array elements and decoys dropped.
//!
//! Checks, in order, each failing with its own [`Error`]: size → structure →
//! header (`alg` one of `EdDSA`/`Ed25519`/`ES256`, no `crit`/`jwk`/`jku`/`x5*`,
//! `typ` as expected) → trusted key (by `kid` when more than one is trusted)
//! → signature with that key's own algorithm → `exp`/`nbf`/`iat` when present
//! → disclosures → key binding (`cnf.jwk`, `typ` `kb+jwt`, signature, nonce,
//! aud, `iat` age, `sd_hash`), or its absence when none is required.
//!
//! ```
//! use creditproof::sd_jwt::{KeyBinding, SdJwtVerifier};
//! use creditproof::IssuerPublicKey;
//! # fn demo(key: IssuerPublicKey, presentation: &str) -> Result<(), creditproof::Error> {
//! let verifier = SdJwtVerifier::new(key, "example+sd-jwt")
//!     .with_key_binding(KeyBinding::required("n-0S6_WzA2Mj", "https://verifier.example.org"));
//! let verified = verifier.verify(presentation, creditproof::UnixTime::now())?;
//! println!("{}", serde_json::Value::Object(verified.claims().clone()));
//! # Ok(()) }
//! ```

use serde_json::{Map, Value};

pub(crate) mod disclosure;
mod options;

pub use options::VerifierOptions;

/// JOSE `typ` of an issued credential (draft-ietf-oauth-sd-jwt-vc).
pub const CREDENTIAL_TYP: &str = "dc+sd-jwt";
/// JOSE `typ` of a Key Binding JWT (RFC 9901).
pub const KB_TYP: &str = "kb+jwt";

use crate::error::{Error, HolderBindingError, LimitError, MalformedError, SignatureError, TimeError, TrustError};
use crate::format::encoding::{get_numeric_date, get_opt_numeric_date, Round};
use crate::format::jws::UnverifiedJws;
use crate::format::keys::{HolderPublicKey, IssuerPublicKey};
use crate::format::sd_jwt::disclosure::{process, sha256_matches};
use crate::format::time::UnixTime;
use crate::Limits;

/// Whether a key binding JWT must accompany the SD-JWT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyBinding {
    /// The input must be an SD-JWT without KB-JWT (ending in `~`); one that
    /// carries a KB-JWT is refused (`holder_binding.unexpected`), since this
    /// verifier could not tell whether it is fresh.
    None,
    /// A KB-JWT signed by the `cnf.jwk` key is required, with this `nonce`
    /// and `aud`.
    Required {
        /// The nonce the verifier handed out.
        nonce: String,
        /// The verifier's own identifier.
        audience: String,
    },
}

impl KeyBinding {
    /// [`KeyBinding::Required`] with `nonce` and `audience`.
    pub fn required(nonce: impl Into<String>, audience: impl Into<String>) -> Self {
        Self::Required { nonce: nonce.into(), audience: audience.into() }
    }
}

/// Verifies RFC 9901 SD-JWTs of one issuer and type.
#[derive(Debug, Clone)]
pub struct SdJwtVerifier {
    keys: Vec<(Option<String>, IssuerPublicKey)>,
    issuer: Option<String>,
    typ: String,
    key_binding: KeyBinding,
    options: VerifierOptions,
}

/// An SD-JWT that passed every check: its processed claims, and the holder
/// key that signed its key binding, if one was required.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedSdJwt {
    claims: Map<String, Value>,
    holder_key: Option<HolderPublicKey>,
}

impl VerifiedSdJwt {
    /// The processed claims (RFC 9901 §7.1), issuer-signed and disclosed.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }
    /// The processed claims, by value.
    pub fn into_claims(self) -> Map<String, Value> {
        self.claims
    }
    /// The `cnf.jwk` key that signed the key binding JWT, when one was
    /// required.
    pub fn holder_key(&self) -> Option<&HolderPublicKey> {
        self.holder_key.as_ref()
    }
}

impl SdJwtVerifier {
    /// A verifier trusting one issuer key, expecting issuer JWTs of type
    /// `typ` (compared as a media type: case-insensitive, `application/`
    /// optional), without key binding. The key has no `kid` of its own, so
    /// the header's `kid`, if any, is not compared (name the key with
    /// [`SdJwtVerifier::with_key`] to have it compared).
    pub fn new(key: IssuerPublicKey, typ: impl Into<String>) -> Self {
        Self {
            keys: vec![(None, key)],
            issuer: None,
            typ: typ.into(),
            key_binding: KeyBinding::None,
            options: VerifierOptions::default(),
        }
    }

    /// Trusts `key` under `kid` (replacing an unnamed key that is the same
    /// key). A header `kid` must then name a trusted key (`trust.kid`);
    /// with several keys trusted, the header must carry one (`header.kid`).
    #[must_use]
    pub fn with_key(mut self, kid: impl Into<String>, key: IssuerPublicKey) -> Self {
        let kid = kid.into();
        self.keys.retain(|(k, existing)| match k {
            Some(k) => *k != kid,
            None => *existing != key,
        });
        self.keys.push((Some(kid), key));
        self
    }

    /// Requires the `iss` claim to be `issuer` (`trust.issuer` otherwise),
    /// e.g. the `issuer` of the metadata the key came from, as
    /// draft-ietf-oauth-sd-jwt-vc requires.
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Sets the key binding requirement.
    #[must_use]
    pub fn with_key_binding(mut self, key_binding: KeyBinding) -> Self {
        self.key_binding = key_binding;
        self
    }

    /// Sets limits, clock skew and the key binding's maximum age.
    #[must_use]
    pub fn with_options(mut self, options: VerifierOptions) -> Self {
        self.options = options;
        self
    }

    /// Verifies `input` (`<jwt>~<d1>~…~<dn>~[<kb-jwt>]`) at time `now`.
    pub fn verify(&self, input: &str, now: UnixTime) -> Result<VerifiedSdJwt, Error> {
        let limits = self.options.limits();
        let skew = self.options.clock_skew_secs();
        let now = now.as_secs();
        if input.len() > limits.max_presentation_bytes() {
            return Err(LimitError::InputTooLarge { what: "sd-jwt", limit: limits.max_presentation_bytes() }.into());
        }
        let split = split(input, limits)?;
        let jws = UnverifiedJws::parse(split.jwt, &self.typ, limits, "sd-jwt")?;
        let key = self.key_for(&jws)?;
        if !jws.verify(&key) {
            return Err(SignatureError::Issuer.into());
        }
        if let Some(iss) = &self.issuer {
            if jws.payload.get("iss").and_then(Value::as_str) != Some(iss.as_str()) {
                return Err(TrustError::UnknownIssuer.into());
            }
        }
        if let Some(exp) = get_opt_numeric_date(&jws.payload, "exp", Round::Down)? {
            if now > exp.saturating_add(skew) {
                return Err(TimeError::Expired.into());
            }
        }
        let nbf = get_opt_numeric_date(&jws.payload, "nbf", Round::Up)?;
        let not_before = nbf.max(get_opt_numeric_date(&jws.payload, "iat", Round::Up)?).unwrap_or(0);
        if not_before > now.saturating_add(skew) {
            return Err(TimeError::NotYetValid.into());
        }
        let processed = process(jws.payload, &split.disclosures, limits)?;
        let claims = processed.claims;
        let holder_key = match (&self.key_binding, split.kb) {
            (KeyBinding::None, "") => None,
            (KeyBinding::None, _) => return Err(HolderBindingError::Unexpected.into()),
            (KeyBinding::Required { nonce, audience }, kb) => {
                let holder = cnf_holder_key(&claims).ok_or(HolderBindingError::NoConfirmationKey)?;
                let expected = ExpectedBinding { nonce, audience, sd_jwt: split.sd_jwt, now };
                check_key_binding(kb, &holder, &expected, &self.options)?;
                Some(holder)
            }
        };
        Ok(VerifiedSdJwt { claims, holder_key })
    }

    fn key_for(&self, jws: &UnverifiedJws<'_>) -> Result<IssuerPublicKey, Error> {
        let header_kid = jws.header.get("kid");
        match (header_kid, self.keys.as_slice()) {
            (None, [(_, only)]) => Ok(*only),
            (None, _) => Err(jws.kid().err().unwrap_or_else(|| TrustError::UnknownKid.into())),
            (Some(_), keys) => {
                let kid = jws.kid()?;
                if let Some((_, key)) = keys.iter().find(|(k, _)| k.as_deref() == Some(kid)) {
                    return Ok(*key);
                }
                match keys {
                    [(None, only)] => Ok(*only),
                    _ => Err(TrustError::UnknownKid.into()),
                }
            }
        }
    }
}

/// The parts of `<jwt>~<d1>~…~<dn>~<kb>`; `kb` is empty for a plain SD-JWT.
pub(crate) struct Split<'a> {
    pub(crate) jwt: &'a str,
    pub(crate) disclosures: Vec<&'a str>,
    /// Everything up to and including the last `~`: what `sd_hash` covers.
    pub(crate) sd_jwt: &'a str,
    pub(crate) kb: &'a str,
}

/// Splits an SD-JWT (+KB) with at most [`Limits::max_disclosures`]
/// disclosures; empty disclosures are refused (an empty JWT fails when its
/// header is parsed, as `malformed.jws`).
pub(crate) fn split<'a>(input: &'a str, limits: &Limits) -> Result<Split<'a>, Error> {
    let i = input.rfind('~').ok_or(MalformedError::SdJwtStructure)?;
    let (sd_jwt, kb) = (&input[..=i], &input[i + 1..]);
    let mut parts = input[..i].split('~');
    let jwt = parts.next().unwrap_or_default();
    let disclosures: Vec<&str> = parts.take(limits.max_disclosures() + 1).collect();
    if disclosures.len() > limits.max_disclosures() {
        return Err(LimitError::TooManyDisclosures { limit: limits.max_disclosures() }.into());
    }
    if disclosures.iter().any(|d| d.is_empty()) {
        return Err(MalformedError::SdJwtStructure.into());
    }
    Ok(Split { jwt, disclosures, sd_jwt, kb })
}

/// The holder key of a payload or its processed claims: `cnf.jwk`, a valid
/// JWK and not a weak point.
pub(crate) fn cnf_holder_key(claims: &Map<String, Value>) -> Option<HolderPublicKey> {
    claims
        .get("cnf")
        .and_then(|c| c.get("jwk"))
        .and_then(|jwk| HolderPublicKey::from_jwk(jwk).ok())
        .filter(|k| !k.is_weak())
}

/// What a key binding JWT must state.
pub(crate) struct ExpectedBinding<'a> {
    pub(crate) nonce: &'a str,
    pub(crate) audience: &'a str,
    /// The presented SD-JWT up to and including its last `~`.
    pub(crate) sd_jwt: &'a str,
    pub(crate) now: u64,
}

/// RFC 9901 §7.3: the KB-JWT's `typ`, its signature by `holder`, `nonce`,
/// `aud`, `iat` (not in the future, not older than allowed) and `sd_hash`.
/// Returns the parsed KB-JWT (its payload may carry extensions).
pub(crate) fn check_key_binding<'a>(
    kb: &'a str,
    holder: &HolderPublicKey,
    expected: &ExpectedBinding<'_>,
    options: &VerifierOptions,
) -> Result<UnverifiedJws<'a>, Error> {
    if kb.is_empty() {
        return Err(HolderBindingError::MissingKbJwt.into());
    }
    let kb = UnverifiedJws::parse(kb, KB_TYP, options.limits(), "key binding jwt")?;
    if !kb.verify(holder) {
        return Err(HolderBindingError::Signature.into());
    }
    check_key_binding_claims(&kb.payload, expected, options)?;
    Ok(kb)
}

/// RFC 9901 §7.3 after the signature: `nonce`, `aud`, `iat` (not in the
/// future, not older than allowed; a fraction rounded the strict way for
/// each) and `sd_hash`, in that order.
pub(crate) fn check_key_binding_claims(
    payload: &Map<String, Value>,
    expected: &ExpectedBinding<'_>,
    options: &VerifierOptions,
) -> Result<(), Error> {
    if payload.get("nonce").and_then(Value::as_str) != Some(expected.nonce) {
        return Err(HolderBindingError::Nonce.into());
    }
    if payload.get("aud").and_then(Value::as_str) != Some(expected.audience) {
        return Err(HolderBindingError::Audience.into());
    }
    let iat = |round| get_numeric_date(payload, "iat", round);
    if iat(Round::Up)? > expected.now.saturating_add(options.clock_skew_secs()) {
        return Err(HolderBindingError::IssuedInFuture.into());
    }
    if expected.now.saturating_sub(iat(Round::Down)?) > options.kb_max_age_secs() {
        return Err(HolderBindingError::Stale.into());
    }
    if !payload.get("sd_hash").and_then(Value::as_str).is_some_and(|h| sha256_matches(h, expected.sd_jwt)) {
        return Err(HolderBindingError::SdHash.into());
    }
    Ok(())
}
