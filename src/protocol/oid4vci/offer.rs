//! The credential offer (OpenID4VCI §4.1): what the issuer hands the
//! wallet, by value or by reference, in a link or a QR code.
//!
//! ```text
//! openid-credential-offer://?credential_offer=%7B%22credential_issuer%22...
//! openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fbureau.example%2Foffer%2F...
//! ```
//!
//! The offer is unauthenticated input for the wallet (§13.4): parsing it
//! only checks its shape and that its URLs are `https` (or `http` to a
//! loopback host); the issuer is trusted, or not, on its own merits later.

use serde_json::{json, Map, Value};

use crate::format::encoding::{parse_json_object, to_json};
use crate::protocol::form;
use crate::protocol::oid4vci::error::WalletError;
use crate::protocol::oid4vci::secret::{PreAuthorizedCode, MAX_SECRET_BYTES};
use crate::protocol::url::{self, UrlUse};
use crate::Limits;

/// The grant type of the pre-authorized code flow.
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
/// The scheme of offer links for wallets (§4.1).
pub const OFFER_SCHEME: &str = "openid-credential-offer://";
/// The most bytes an offer link or offer object may have.
pub const MAX_OFFER_BYTES: usize = 16 * 1024;
/// The most configurations one offer may name.
const MAX_OFFERED_CONFIGURATIONS: usize = 16;
/// The most characters of a transaction code description (§4.1.1).
const MAX_TX_DESCRIPTION_CHARS: usize = 300;

/// A credential offer object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialOffer {
    credential_issuer: String,
    configuration_ids: Vec<String>,
    pre_authorized: Option<PreAuthorizedGrant>,
}

/// The offer's pre-authorized code grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreAuthorizedGrant {
    code: PreAuthorizedCode,
    tx_code: Option<TxCodeSpec>,
}

/// How the wallet should ask the holder for the transaction code; present
/// (even empty) when one is required.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxCodeSpec {
    /// `numeric` (the default) or `text`.
    pub input_mode: Option<TxInputMode>,
    /// How many characters the code has.
    pub length: Option<u32>,
    /// Where the holder finds the code (at most 300 characters).
    pub description: Option<String>,
}

/// The characters a transaction code is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxInputMode {
    /// Digits only.
    Numeric,
    /// Any characters.
    Text,
}

/// What an offer link carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferLink {
    /// The offer itself (`credential_offer`).
    ByValue(CredentialOffer),
    /// Where to `GET` the offer (`credential_offer_uri`), already checked
    /// to be `https` (or `http` to a loopback host). Read the response
    /// with [`CredentialOffer::from_json`].
    ByReference(String),
}

impl CredentialOffer {
    /// An offer of `configuration_ids` from `credential_issuer`, with a
    /// pre-authorized code.
    pub(crate) fn new(
        credential_issuer: &str,
        configuration_ids: Vec<String>,
        code: PreAuthorizedCode,
        tx_code: Option<TxCodeSpec>,
    ) -> Self {
        Self {
            credential_issuer: credential_issuer.to_owned(),
            configuration_ids,
            pre_authorized: Some(PreAuthorizedGrant { code, tx_code }),
        }
    }

    /// The credential issuer identifier.
    pub fn credential_issuer(&self) -> &str {
        &self.credential_issuer
    }

    /// The offered credential configurations.
    pub fn configuration_ids(&self) -> &[String] {
        &self.configuration_ids
    }

    /// The pre-authorized code grant, if the offer has one.
    pub fn pre_authorized(&self) -> Option<&PreAuthorizedGrant> {
        self.pre_authorized.as_ref()
    }

    /// The offer object. It holds the pre-authorized code: handle as a
    /// secret.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "credential_issuer": self.credential_issuer,
            "credential_configuration_ids": self.configuration_ids,
        });
        if let Some(g) = &self.pre_authorized {
            let mut grant = json!({"pre-authorized_code": g.code.expose_secret()});
            if let Some(tx) = &g.tx_code {
                let mut t = Map::new();
                if let Some(m) = tx.input_mode {
                    t.insert("input_mode".into(), json!(if m == TxInputMode::Text { "text" } else { "numeric" }));
                }
                if let Some(n) = tx.length {
                    t.insert("length".into(), json!(n));
                }
                if let Some(d) = &tx.description {
                    t.insert("description".into(), json!(d));
                }
                grant["tx_code"] = Value::Object(t);
            }
            v["grants"] = json!({ PRE_AUTHORIZED_GRANT: grant });
        }
        v
    }

    /// The offer as a wallet link, by value:
    /// `openid-credential-offer://?credential_offer=<the offer, encoded>`.
    pub fn to_link(&self) -> String {
        format!("{OFFER_SCHEME}?credential_offer={}", form::encode(&to_json(&self.to_json())))
    }

    /// Reads an offer object (by value, or fetched from a
    /// `credential_offer_uri`). Unknown members and grants other than the
    /// pre-authorized code are ignored.
    pub fn from_json(bytes: &[u8]) -> Result<Self, WalletError> {
        if bytes.len() > MAX_OFFER_BYTES {
            return Err(WalletError::malformed("the credential offer", "too large"));
        }
        let m = parse_json_object(bytes, &Limits::default().with_max_json_depth(8), "credential offer")
            .map_err(|e| WalletError::malformed("the credential offer", e))?;
        let bad = |reason: &str| WalletError::malformed("the credential offer", reason);
        let credential_issuer = m
            .get("credential_issuer")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("`credential_issuer` must be a string"))?;
        url::check(credential_issuer, UrlUse::Identifier)
            .map_err(|reason| WalletError::InsecureUrl { what: "the offer's credential_issuer", reason })?;
        let ids = m
            .get("credential_configuration_ids")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("`credential_configuration_ids` must be an array"))?;
        if ids.is_empty() || ids.len() > MAX_OFFERED_CONFIGURATIONS {
            return Err(bad("`credential_configuration_ids` must name 1 to 16 configurations"));
        }
        let mut configuration_ids: Vec<String> = Vec::with_capacity(ids.len());
        for id in ids {
            let id = id
                .as_str()
                .filter(|s| !s.is_empty() && s.len() <= 256)
                .ok_or_else(|| bad("`credential_configuration_ids` must hold strings of 1 to 256 bytes"))?;
            if configuration_ids.iter().any(|c| c == id) {
                return Err(bad("`credential_configuration_ids` must be unique"));
            }
            configuration_ids.push(id.to_owned());
        }
        let pre_authorized = match m.get("grants") {
            None => None,
            Some(Value::Object(grants)) => grants.get(PRE_AUTHORIZED_GRANT).map(parse_grant).transpose()?,
            Some(_) => return Err(bad("`grants` must be an object")),
        };
        Ok(Self { credential_issuer: credential_issuer.to_owned(), configuration_ids, pre_authorized })
    }
}

fn parse_grant(v: &Value) -> Result<PreAuthorizedGrant, WalletError> {
    let bad = |reason: &str| WalletError::malformed("the credential offer's pre-authorized code grant", reason);
    let g = v.as_object().ok_or_else(|| bad("must be an object"))?;
    let code = g
        .get("pre-authorized_code")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty() && c.len() <= MAX_SECRET_BYTES)
        .ok_or_else(|| bad("`pre-authorized_code` must be a string of 1 to 512 bytes"))?;
    let tx_code = match g.get("tx_code") {
        None => None,
        Some(Value::Object(t)) => {
            let input_mode = match t.get("input_mode") {
                None => None,
                Some(v) if v == "numeric" => Some(TxInputMode::Numeric),
                Some(v) if v == "text" => Some(TxInputMode::Text),
                Some(_) => return Err(bad("`tx_code.input_mode` must be `numeric` or `text`")),
            };
            let length = match t.get("length") {
                None => None,
                Some(v) => Some(
                    v.as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .filter(|n| (1..=64).contains(n))
                        .ok_or_else(|| bad("`tx_code.length` must be an integer from 1 to 64"))?,
                ),
            };
            let description = match t.get("description") {
                None => None,
                Some(Value::String(d)) if d.chars().count() <= MAX_TX_DESCRIPTION_CHARS => Some(d.clone()),
                Some(_) => return Err(bad("`tx_code.description` must be a string of at most 300 characters")),
            };
            Some(TxCodeSpec { input_mode, length, description })
        }
        Some(_) => return Err(bad("`tx_code` must be an object")),
    };
    Ok(PreAuthorizedGrant { code: PreAuthorizedCode::new(code), tx_code })
}

impl PreAuthorizedGrant {
    /// The pre-authorized code.
    pub fn code(&self) -> &PreAuthorizedCode {
        &self.code
    }

    /// How to ask for the transaction code, when one is required.
    pub fn tx_code(&self) -> Option<&TxCodeSpec> {
        self.tx_code.as_ref()
    }
}

/// A wallet link to an offer published at `offer_url`:
/// `openid-credential-offer://?credential_offer_uri=<offer_url, encoded>`.
/// The URL should be unique per offer and unguessable (it serves the
/// pre-authorized code).
pub fn offer_link_by_reference(offer_url: &str) -> String {
    format!("{OFFER_SCHEME}?credential_offer_uri={}", form::encode(offer_url))
}

/// Reads an offer link (any scheme: `openid-credential-offer://`, or a
/// wallet's own `https` link): its query must hold exactly one of
/// `credential_offer` and `credential_offer_uri`, strictly form-encoded.
pub fn parse_offer_link(link: &str) -> Result<OfferLink, WalletError> {
    let bad = |reason: &str| WalletError::malformed("the offer link", reason);
    if link.len() > MAX_OFFER_BYTES {
        return Err(bad("too large"));
    }
    let (_, query) = link.split_once('?').ok_or_else(|| bad("it has no query"))?;
    if query.contains('#') {
        return Err(bad("it has a fragment"));
    }
    let params = form::parse(query.as_bytes(), MAX_OFFER_BYTES, 8).map_err(|e| bad(&e.to_string()))?;
    match (params.get("credential_offer"), params.get("credential_offer_uri")) {
        (Some(offer), None) => Ok(OfferLink::ByValue(CredentialOffer::from_json(offer.as_bytes())?)),
        (None, Some(uri)) => {
            url::check(uri, UrlUse::Endpoint)
                .map_err(|reason| WalletError::InsecureUrl { what: "the credential_offer_uri", reason })?;
            Ok(OfferLink::ByReference(uri.as_str().to_owned()))
        }
        (Some(_), Some(_)) => Err(bad("it has both credential_offer and credential_offer_uri")),
        (None, None) => Err(bad("it has neither credential_offer nor credential_offer_uri")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer() -> CredentialOffer {
        CredentialOffer::new(
            "https://bureau.example",
            vec!["creditproof_score".into()],
            PreAuthorizedCode::new("c0de"),
            Some(TxCodeSpec { input_mode: Some(TxInputMode::Numeric), length: Some(6), description: None }),
        )
    }

    #[test]
    fn links_round_trip() {
        let o = offer();
        assert_eq!(parse_offer_link(&o.to_link()).unwrap(), OfferLink::ByValue(o.clone()));
        let by_ref = offer_link_by_reference("https://bureau.example/credential-offer/abc?x=1");
        assert_eq!(
            by_ref,
            "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fbureau.example%2Fcredential-offer%2Fabc%3Fx%3D1"
        );
        assert_eq!(
            parse_offer_link(&by_ref).unwrap(),
            OfferLink::ByReference("https://bureau.example/credential-offer/abc?x=1".into())
        );
        // The specification's own example (by value, with a text tx_code).
        let spec = "openid-credential-offer://?credential_offer=%7B%22credential_issuer%22:%22https://credential-issuer.example.com%22,%22credential_configuration_ids%22:%5B%22org.iso.18013.5.1.mDL%22%5D,%22grants%22:%7B%22urn:ietf:params:oauth:grant-type:pre-authorized_code%22:%7B%22pre-authorized_code%22:%22oaKazRN8I0IbtZ0C7JuMn5%22,%22tx_code%22:%7B%22input_mode%22:%22text%22,%22description%22:%22Please%20enter%20the%20serial%20number%20of%20your%20physical%20drivers%20license%22%7D%7D%7D%7D";
        let OfferLink::ByValue(o) = parse_offer_link(spec).unwrap() else { panic!("by value") };
        assert_eq!(o.credential_issuer(), "https://credential-issuer.example.com");
        let g = o.pre_authorized().unwrap();
        assert_eq!(g.code().expose_secret(), "oaKazRN8I0IbtZ0C7JuMn5");
        assert_eq!(g.tx_code().unwrap().input_mode, Some(TxInputMode::Text));
    }

    #[test]
    fn bad_links_and_offers() {
        let check = |link: &str| parse_offer_link(link).unwrap_err().check();
        let by_value = offer().to_link();
        let query = by_value.split_once('?').unwrap().1;
        assert_eq!(check("openid-credential-offer://"), "wallet.malformed");
        assert_eq!(check(&format!("{by_value}&credential_offer_uri=https%3A%2F%2Fx.example")), "wallet.malformed");
        assert_eq!(check(&format!("{by_value}&{query}")), "wallet.malformed", "a repeated parameter");
        assert_eq!(
            check("openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fx.example"),
            "wallet.insecure_url"
        );
        assert!(parse_offer_link("openid-credential-offer://?credential_offer_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fo")
            .is_ok());
        let from = |v: Value| CredentialOffer::from_json(v.to_string().as_bytes()).map_err(|e| e.check());
        let mut v = offer().to_json();
        v["credential_issuer"] = json!("http://bureau.example");
        assert_eq!(from(v), Err("wallet.insecure_url"));
        for (path, bad) in [
            ("credential_configuration_ids", json!([])),
            ("credential_configuration_ids", json!(["a", "a"])),
            ("credential_configuration_ids", json!("a")),
            ("grants", json!([])),
        ] {
            let mut v = offer().to_json();
            v[path] = bad;
            assert_eq!(from(v), Err("wallet.malformed"), "{path}");
        }
        let mut v = offer().to_json();
        v["grants"][PRE_AUTHORIZED_GRANT]["tx_code"]["input_mode"] = json!("emoji");
        assert_eq!(from(v), Err("wallet.malformed"));
        let mut v = offer().to_json();
        v["grants"][PRE_AUTHORIZED_GRANT]["tx_code"]["description"] = json!("x".repeat(301));
        assert_eq!(from(v), Err("wallet.malformed"));
        assert_eq!(
            CredentialOffer::from_json(
                br#"{"credential_issuer":"https://a.example","credential_issuer":"https://b.example"}"#
            )
            .unwrap_err()
            .check(),
            "wallet.malformed",
            "duplicate keys"
        );
        // Unknown members and other grants are ignored.
        let mut v = offer().to_json();
        v["grants"]["authorization_code"] = json!({"issuer_state": "x"});
        v["extra"] = json!(1);
        assert!(from(v).is_ok());
    }
}
