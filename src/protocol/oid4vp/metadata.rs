//! The metadata the two sides exchange: the verifier's `client_metadata`
//! (§5.1, §11) and the wallet's `wallet_metadata` (§10), with creditproof's
//! negotiation member, and the form a wallet POSTs to a `request_uri`
//! (§5.10).
//!
//! # Negotiation: `creditproof_range_predicates`
//!
//! A creditproof-aware wallet announces that it answers Tier-2 queries
//! (range predicates proven in the KB-JWT) with one extra member of its
//! `wallet_metadata`:
//!
//! ```json
//! "creditproof_range_predicates": {"schemes": ["hashwires-v2"], "ops": ["gte", "lte", "between"]}
//! ```
//!
//! `schemes` are the range-proof schemes it can prove on (creditproof's
//! credentials commit with `hashwires-v2`), `ops` the
//! `creditproof_predicate` ops it understands. A verifier serves the Tier-2
//! query only to a wallet that lists the scheme and every op the query
//! uses; OpenID4VP tells verifiers to ignore unknown wallet metadata, so a
//! plain wallet never sees the difference. An ill-formed member is an
//! error, not a silent "no".

use serde_json::{json, Map, Value};

use crate::format::encoding::parse_json_object;
use crate::profile::range_claim::RANGE_SCHEME;
use crate::protocol::dcql::{DcqlQuery, SD_JWT_FORMAT};
use crate::protocol::form;
use crate::protocol::oid4vp::error::Oid4vpError;
use crate::Limits;

/// The `wallet_metadata` member announcing creditproof range predicates.
pub const RANGE_PREDICATES_MEMBER: &str = "creditproof_range_predicates";
/// The algorithms creditproof signs and checks SD-JWTs and KB-JWTs with,
/// as `vp_formats_supported` lists them (`EdDSA` beside the fully
/// specified `Ed25519`: clients look for the name they know).
pub const ALGS: [&str; 3] = ["EdDSA", "Ed25519", "ES256"];
/// The `creditproof_predicate` ops this version understands.
pub const RANGE_OPS: [&str; 3] = ["gte", "lte", "between"];
/// The most bytes of a `wallet_metadata` or `client_metadata` object.
pub const MAX_METADATA_BYTES: usize = 8 * 1024;
/// The most bytes of a `request_uri` POST body.
pub const MAX_REQUEST_URI_POST_BYTES: usize = 16 * 1024;

fn metadata_limits() -> Limits {
    Limits::default().with_max_json_depth(6).with_max_string_bytes(1024)
}

/// The algorithm lists of `vp_formats_supported["dc+sd-jwt"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SdJwtFormat {
    /// `sd-jwt_alg_values`: issuer-signed JWT algorithms (absent: any).
    pub sd_jwt_algs: Option<Vec<String>>,
    /// `kb-jwt_alg_values`: KB-JWT algorithms (absent: any).
    pub kb_jwt_algs: Option<Vec<String>>,
}

impl SdJwtFormat {
    fn creditproof() -> Self {
        let algs = Some(ALGS.iter().map(|a| (*a).to_owned()).collect());
        Self { sd_jwt_algs: algs.clone(), kb_jwt_algs: algs }
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(a) = &self.sd_jwt_algs {
            m.insert("sd-jwt_alg_values".into(), json!(a));
        }
        if let Some(a) = &self.kb_jwt_algs {
            m.insert("kb-jwt_alg_values".into(), json!(a));
        }
        Value::Object(m)
    }

    fn from_json(v: &Value) -> Result<Self, String> {
        let m = v.as_object().ok_or("`dc+sd-jwt` must be an object")?;
        let list = |k: &str| -> Result<Option<Vec<String>>, String> {
            match m.get(k) {
                None => Ok(None),
                Some(Value::Array(a)) if !a.is_empty() && a.len() <= 16 => a
                    .iter()
                    .map(|s| s.as_str().map(str::to_owned).ok_or_else(|| format!("`{k}` must hold strings")))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
                Some(_) => Err(format!("`{k}` must be a non-empty array of at most 16 strings")),
            }
        };
        Ok(Self { sd_jwt_algs: list("sd-jwt_alg_values")?, kb_jwt_algs: list("kb-jwt_alg_values")? })
    }

    /// Whether creditproof can present under these lists: each list, when
    /// present, names one of [`ALGS`].
    pub fn accepts_creditproof(&self) -> bool {
        let ok = |l: &Option<Vec<String>>| l.as_ref().is_none_or(|l| l.iter().any(|a| ALGS.contains(&a.as_str())));
        ok(&self.sd_jwt_algs) && ok(&self.kb_jwt_algs)
    }
}

/// The `dc+sd-jwt` entry of `vp_formats_supported` and every format's name.
type Formats = (Option<SdJwtFormat>, Vec<String>);

/// Reads `vp_formats_supported`: an object of format → object; only
/// `dc+sd-jwt` is read, the others are kept by name.
fn formats_from(v: Option<&Value>) -> Result<Option<Formats>, String> {
    let Some(v) = v else { return Ok(None) };
    let m = v.as_object().ok_or("`vp_formats_supported` must be an object")?;
    if m.values().any(|f| !f.is_object()) {
        return Err("every format of `vp_formats_supported` must be an object".into());
    }
    let sd_jwt = m.get(SD_JWT_FORMAT).map(SdJwtFormat::from_json).transpose()?;
    Ok(Some((sd_jwt, m.keys().cloned().collect())))
}

/// The verifier's metadata, as `client_metadata` carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMetadata {
    sd_jwt: Option<SdJwtFormat>,
    formats: Vec<String>,
}

impl ClientMetadata {
    /// A creditproof verifier's: `dc+sd-jwt` with `EdDSA`, `Ed25519` and
    /// `ES256` for both the SD-JWT and the KB-JWT.
    pub fn creditproof() -> Self {
        Self { sd_jwt: Some(SdJwtFormat::creditproof()), formats: vec![SD_JWT_FORMAT.to_owned()] }
    }

    /// The `dc+sd-jwt` entry of `vp_formats_supported`, if any.
    pub fn sd_jwt(&self) -> Option<&SdJwtFormat> {
        self.sd_jwt.as_ref()
    }

    /// The object.
    pub fn to_json(&self) -> Value {
        let mut formats = Map::new();
        for f in &self.formats {
            let v = if f == SD_JWT_FORMAT { self.sd_jwt.clone().unwrap_or_default().to_json() } else { json!({}) };
            formats.insert(f.clone(), v);
        }
        json!({"vp_formats_supported": formats})
    }

    /// Reads `client_metadata` (unknown members ignored, §5.1); it must
    /// have `vp_formats_supported`, which this profile needs.
    pub fn from_value(v: &Value) -> Result<Self, Oid4vpError> {
        let bad = |r: String| Oid4vpError::InvalidClient { reason: format!("client_metadata: {r}") };
        let m = v.as_object().ok_or_else(|| bad("not an object".into()))?;
        let (sd_jwt, formats) = formats_from(m.get("vp_formats_supported"))
            .map_err(bad)?
            .ok_or_else(|| bad("no vp_formats_supported".into()))?;
        Ok(Self { sd_jwt, formats })
    }

    /// Whether a creditproof wallet can answer this verifier: it accepts
    /// `dc+sd-jwt` with one of [`ALGS`] (`vp_formats_not_supported`
    /// otherwise).
    pub fn check_creditproof(&self) -> Result<(), Oid4vpError> {
        match &self.sd_jwt {
            None => Err(Oid4vpError::VpFormatsNotSupported { reason: "the verifier does not accept dc+sd-jwt" }),
            Some(f) if !f.accepts_creditproof() => Err(Oid4vpError::VpFormatsNotSupported {
                reason: "the verifier accepts none of EdDSA, Ed25519 and ES256 for dc+sd-jwt",
            }),
            Some(_) => Ok(()),
        }
    }
}

/// What a wallet announces about its range predicates
/// ([`RANGE_PREDICATES_MEMBER`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangePredicateSupport {
    /// Range-proof schemes, e.g. `hashwires-v2`.
    pub schemes: Vec<String>,
    /// `creditproof_predicate` ops, e.g. `gte`.
    pub ops: Vec<String>,
}

/// A wallet's metadata (§10), as it POSTs it to a `request_uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletMetadata {
    sd_jwt: Option<SdJwtFormat>,
    formats: Vec<String>,
    client_id_prefixes: Option<Vec<String>>,
    range_predicates: Option<RangePredicateSupport>,
}

impl WalletMetadata {
    /// A creditproof wallet's: `dc+sd-jwt` with [`ALGS`], the
    /// `redirect_uri` client identifier prefix, and Tier 2
    /// ([`RANGE_PREDICATES_MEMBER`] with `hashwires-v2` and every op).
    pub fn creditproof() -> Self {
        Self {
            range_predicates: Some(RangePredicateSupport {
                schemes: vec![RANGE_SCHEME.to_owned()],
                ops: RANGE_OPS.iter().map(|o| (*o).to_owned()).collect(),
            }),
            ..Self::tier1()
        }
    }

    /// The same without the Tier-2 member: what a plain DCQL wallet says.
    pub fn tier1() -> Self {
        Self {
            sd_jwt: Some(SdJwtFormat::creditproof()),
            formats: vec![SD_JWT_FORMAT.to_owned()],
            client_id_prefixes: Some(vec!["redirect_uri".to_owned()]),
            range_predicates: None,
        }
    }

    /// The announced range predicate support, if any.
    pub fn range_predicates(&self) -> Option<&RangePredicateSupport> {
        self.range_predicates.as_ref()
    }

    /// Whether the wallet announced every `creditproof_predicate` op that
    /// `query` uses, on creditproof's range-proof scheme.
    pub fn answers(&self, query: &DcqlQuery) -> bool {
        let Some(r) = &self.range_predicates else { return false };
        let ops = query.credentials().iter().flat_map(|c| c.claims()).filter_map(|c| c.range_predicate());
        r.schemes.iter().any(|s| s == RANGE_SCHEME) && ops.into_iter().all(|op| r.ops.iter().any(|o| o == op.op()))
    }

    /// The object.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let formats: Map<String, Value> = self
            .formats
            .iter()
            .map(|f| {
                let v = if f == SD_JWT_FORMAT { self.sd_jwt.clone().unwrap_or_default().to_json() } else { json!({}) };
                (f.clone(), v)
            })
            .collect();
        m.insert("vp_formats_supported".into(), Value::Object(formats));
        if let Some(p) = &self.client_id_prefixes {
            m.insert("client_id_prefixes_supported".into(), json!(p));
        }
        if let Some(r) = &self.range_predicates {
            m.insert(RANGE_PREDICATES_MEMBER.into(), json!({"schemes": r.schemes, "ops": r.ops}));
        }
        Value::Object(m)
    }

    /// Reads `wallet_metadata` (a JSON object of at most
    /// [`MAX_METADATA_BYTES`], duplicate keys refused; unknown members
    /// ignored, as §10 asks; [`RANGE_PREDICATES_MEMBER`] read exactly).
    pub fn from_json(bytes: &[u8]) -> Result<Self, Oid4vpError> {
        let bad = |r: String| Oid4vpError::invalid(format!("wallet_metadata: {r}"));
        if bytes.len() > MAX_METADATA_BYTES {
            return Err(bad("too large".into()));
        }
        let m = parse_json_object(bytes, &metadata_limits(), "wallet_metadata").map_err(|e| bad(e.to_string()))?;
        let (sd_jwt, formats) = formats_from(m.get("vp_formats_supported")).map_err(bad)?.unwrap_or_default();
        let client_id_prefixes = match m.get("client_id_prefixes_supported") {
            None => None,
            Some(Value::Array(a)) if a.len() <= 16 && a.iter().all(Value::is_string) => {
                Some(a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            }
            Some(_) => return Err(bad("`client_id_prefixes_supported` must be an array of strings".into())),
        };
        let range_predicates = m.get(RANGE_PREDICATES_MEMBER).map(range_support).transpose().map_err(bad)?;
        Ok(Self { sd_jwt, formats, client_id_prefixes, range_predicates })
    }
}

fn range_support(v: &Value) -> Result<RangePredicateSupport, String> {
    let m = v
        .as_object()
        .filter(|m| m.len() == 2)
        .ok_or(format!("`{RANGE_PREDICATES_MEMBER}` must be an object with exactly `schemes` and `ops`"))?;
    let list = |k: &str| -> Result<Vec<String>, String> {
        match m.get(k) {
            Some(Value::Array(a)) if !a.is_empty() && a.len() <= 16 => a
                .iter()
                .map(|s| match s {
                    Value::String(s) if !s.is_empty() && s.len() <= 64 => Ok(s.clone()),
                    _ => Err(format!("`{RANGE_PREDICATES_MEMBER}.{k}` must hold names")),
                })
                .collect(),
            _ => Err(format!("`{RANGE_PREDICATES_MEMBER}.{k}` must be a non-empty array")),
        }
    };
    Ok(RangePredicateSupport { schemes: list("schemes")?, ops: list("ops")? })
}

/// The form a wallet POSTs to a `request_uri` (`request_uri_method=post`):
/// `wallet_metadata` (a JSON object as a string) and `wallet_nonce`, both
/// optional; other parameters are ignored (§5.10: the verifier must; and
/// some wallets send their metadata members as top-level parameters
/// instead of inside `wallet_metadata`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestUriPost {
    /// The wallet's metadata.
    pub wallet_metadata: Option<WalletMetadata>,
    /// The nonce the request object must echo.
    pub wallet_nonce: Option<String>,
}

impl RequestUriPost {
    /// The form body.
    pub fn to_form(&self) -> String {
        let metadata = self.wallet_metadata.as_ref().map(|m| m.to_json().to_string());
        let mut fields = Vec::new();
        if let Some(m) = &metadata {
            fields.push(("wallet_metadata", m.as_str()));
        }
        if let Some(n) = &self.wallet_nonce {
            fields.push(("wallet_nonce", n.as_str()));
        }
        form::encode_fields(&fields)
    }

    /// Reads the form body (strict: see [`crate::oid4vci`]'s form rules;
    /// a parameter given twice is refused).
    pub fn from_form(body: &[u8]) -> Result<Self, Oid4vpError> {
        let fields = form::parse(body, MAX_REQUEST_URI_POST_BYTES, 32)
            .map_err(|e| Oid4vpError::invalid(format!("request_uri post: {e}")))?;
        let wallet_metadata =
            fields.get("wallet_metadata").map(|m| WalletMetadata::from_json(m.as_bytes())).transpose()?;
        let wallet_nonce = match fields.get("wallet_nonce") {
            None => None,
            Some(n) if is_url_safe(n, 256) => Some(n.as_str().to_owned()),
            Some(_) => return Err(Oid4vpError::invalid("wallet_nonce must be 1 to 256 url-safe characters")),
        };
        Ok(Self { wallet_metadata, wallet_nonce })
    }
}

/// Whether `s` is 1 to `max` ASCII URL-safe characters (letters, digits,
/// `-`, `.`, `_`, `~`), the alphabet of `nonce` and `state` (§5.2).
pub(crate) fn is_url_safe(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::dcql::ScoreAsk;

    #[test]
    fn negotiation_member() {
        let tier2 = ScoreAsk::new().predicate("600<=score<=899".parse().unwrap()).to_query("c").unwrap();
        let tier1 = ScoreAsk::new().predicate("perk:no_deposit_rental".parse().unwrap()).to_query("c").unwrap();
        let cp = WalletMetadata::creditproof();
        let wire = cp.to_json();
        assert_eq!(
            wire[RANGE_PREDICATES_MEMBER],
            json!({"schemes": ["hashwires-v2"], "ops": ["gte", "lte", "between"]})
        );
        let back = WalletMetadata::from_json(wire.to_string().as_bytes()).unwrap();
        assert_eq!(back, cp);
        assert!(back.answers(&tier2) && back.answers(&tier1));
        assert!(!WalletMetadata::tier1().answers(&tier2));
        let mut only_gte = wire.clone();
        only_gte[RANGE_PREDICATES_MEMBER]["ops"] = json!(["gte"]);
        assert!(!WalletMetadata::from_json(only_gte.to_string().as_bytes()).unwrap().answers(&tier2));
        let mut other_scheme = wire.clone();
        other_scheme[RANGE_PREDICATES_MEMBER]["schemes"] = json!(["bulletproofs"]);
        assert!(!WalletMetadata::from_json(other_scheme.to_string().as_bytes()).unwrap().answers(&tier2));
        for bad in [
            json!(true),
            json!({"ops": ["gte"]}),
            json!({"schemes": [], "ops": ["gte"]}),
            json!({"schemes": ["hashwires-v2"], "ops": [1]}),
        ] {
            let mut v = wire.clone();
            v[RANGE_PREDICATES_MEMBER] = bad.clone();
            assert_eq!(
                WalletMetadata::from_json(v.to_string().as_bytes()).unwrap_err().check(),
                "oid4vp.invalid_request",
                "{bad}"
            );
        }
        // Unknown members, and other formats, are fine.
        let plain =
            json!({"vp_formats_supported": {"mso_mdoc": {}, "dc+sd-jwt": {"kb-jwt_alg_values": ["ES256"]}}, "x": 1});
        assert!(WalletMetadata::from_json(plain.to_string().as_bytes()).unwrap().range_predicates().is_none());
    }

    #[test]
    fn request_uri_post_form() {
        let post =
            RequestUriPost { wallet_metadata: Some(WalletMetadata::creditproof()), wallet_nonce: Some("wn-1".into()) };
        assert_eq!(RequestUriPost::from_form(post.to_form().as_bytes()).unwrap(), post);
        assert_eq!(RequestUriPost::from_form(b"").unwrap(), RequestUriPost::default());
        // The shape some wallets send: metadata members at the top level.
        let ts = b"vp_formats_supported=%7B%22dc%2Bsd-jwt%22%3A%7B%7D%7D&client_id_prefixes_supported=%5B%22redirect_uri%22%5D";
        assert_eq!(RequestUriPost::from_form(ts).unwrap(), RequestUriPost::default());
        for bad in [
            &b"wallet_nonce=a&wallet_nonce=b"[..],
            b"wallet_nonce=a%20b",
            b"wallet_metadata=%7B",
            b"wallet_metadata=%5B%5D",
        ] {
            assert!(RequestUriPost::from_form(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn client_metadata() {
        let m = ClientMetadata::creditproof();
        assert_eq!(
            m.to_json(),
            json!({"vp_formats_supported": {"dc+sd-jwt": {"sd-jwt_alg_values": ["EdDSA", "Ed25519", "ES256"],
                "kb-jwt_alg_values": ["EdDSA", "Ed25519", "ES256"]}}})
        );
        assert_eq!(ClientMetadata::from_value(&m.to_json()).unwrap(), m);
        let check =
            |v: Value| ClientMetadata::from_value(&v).and_then(|m| m.check_creditproof()).map_err(|e| e.check());
        assert_eq!(check(json!({"vp_formats_supported": {"mso_mdoc": {}}})), Err("oid4vp.vp_formats_not_supported"));
        assert_eq!(
            check(json!({"vp_formats_supported": {"dc+sd-jwt": {"kb-jwt_alg_values": ["ES384"]}}})),
            Err("oid4vp.vp_formats_not_supported")
        );
        assert!(check(json!({"vp_formats_supported": {"dc+sd-jwt": {}}})).is_ok());
        assert_eq!(check(json!({"jwks": {}})), Err("oid4vp.invalid_client"));
        assert_eq!(check(json!({"vp_formats_supported": {"dc+sd-jwt": []}})), Err("oid4vp.invalid_client"));
    }
}
