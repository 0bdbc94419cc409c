//! The DCQL query (OpenID4VP 1.0 §6): typed, strictly parsed with bounds,
//! serialized, and checked for consistency.
//!
//! Parsing follows the specification's extension rule — unknown members are
//! ignored — with one exception: members in creditproof's own namespace
//! (`creditproof_…`) must be ones this version knows
//! ([`super::PREDICATE_MEMBER`]). Everything else is exact: types as the
//! specification gives them, non-empty arrays where it says non-empty,
//! identifiers `[A-Za-z0-9_-]+`, claims path elements strings, non-negative
//! integers or null, and duplicate JSON keys refused. Consistency
//! ([`DcqlQuery::new`] and every parse): unique credential query ids,
//! unique claim ids and paths within a credential query, every id named in
//! `credential_sets` and `claim_sets` defined, `claim_sets` only with
//! `claims` whose every entry has an id, `values` only on a leaf claim
//! (no other claim of the query lies below it) and never with a predicate,
//! and `meta.vct_values` on every `dc+sd-jwt` query.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::format::encoding::parse_json_object;
use crate::protocol::dcql::error::{quote, DcqlError};
use crate::protocol::dcql::predicate::{RangePredicate, PREDICATE_MEMBER};
use crate::Limits;

/// The credential format identifier of SD-JWT VCs.
pub const SD_JWT_FORMAT: &str = "dc+sd-jwt";
/// The most bytes of a query as JSON.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;
/// The most credential queries in one query.
pub const MAX_CREDENTIAL_QUERIES: usize = 16;
/// The most claims queries in one credential query.
pub const MAX_CLAIMS: usize = 32;
/// The most elements of one claims path.
pub const MAX_PATH_ELEMENTS: usize = 8;
/// The most entries of any other array of a query (`values`,
/// `vct_values`, `credential_sets`, `options`, `claim_sets`,
/// `trusted_authorities` and their members).
pub const MAX_ENTRIES: usize = 16;
/// The most bytes of an id.
pub const MAX_ID_BYTES: usize = 64;
/// The most bytes of any other string of a query.
pub const MAX_STRING_BYTES: usize = 512;
/// The namespace of creditproof's extension members.
const EXTENSION_PREFIX: &str = "creditproof_";

/// A DCQL query: the credentials a verifier asks for, and which
/// combinations of them answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcqlQuery {
    credentials: Vec<CredentialQuery>,
    credential_sets: Vec<CredentialSetQuery>,
}

/// One credential query (§6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialQuery {
    id: String,
    format: String,
    multiple: bool,
    vct_values: Vec<String>,
    trusted_authorities: Vec<TrustedAuthority>,
    require_holder_binding: bool,
    claims: Vec<ClaimsQuery>,
    claim_sets: Vec<Vec<String>>,
}

/// One claims query (§6.3), with creditproof's optional range predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimsQuery {
    id: Option<String>,
    path: Vec<PathElement>,
    values: Vec<ClaimValue>,
    predicate: Option<RangePredicate>,
}

/// One element of a claims path pointer (§7).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// An object member.
    Key(String),
    /// An array index.
    Index(u64),
    /// Every element of an array (`null`).
    All,
}

/// A value a claim may be required to have (`values`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClaimValue {
    /// A string.
    String(String),
    /// An integer.
    Integer(i64),
    /// A boolean.
    Bool(bool),
}

/// A credential set query (§6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialSetQuery {
    options: Vec<Vec<String>>,
    required: bool,
}

/// A trusted authorities query (§6.1.1): kept and passed on; creditproof's
/// wallet does not evaluate it (the verifier checks issuer trust itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedAuthority {
    kind: String,
    values: Vec<String>,
}

/// Whether `s` is a DCQL identifier: `[A-Za-z0-9_-]+`, at most
/// [`MAX_ID_BYTES`].
pub fn is_dcql_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID_BYTES && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl ClaimValue {
    /// Whether `v` has this type and value exactly (an integer never
    /// matches a float or a string).
    pub fn matches(&self, v: &Value) -> bool {
        match (self, v) {
            (Self::String(a), Value::String(b)) => a == b,
            (Self::Integer(a), Value::Number(n)) => (n.is_i64() || n.is_u64()) && n.as_i64() == Some(*a),
            (Self::Bool(a), Value::Bool(b)) => a == b,
            _ => false,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Self::String(s) => json!(s),
            Self::Integer(i) => json!(i),
            Self::Bool(b) => json!(b),
        }
    }
}

impl From<&str> for ClaimValue {
    fn from(s: &str) -> Self {
        Self::String(s.to_owned())
    }
}
impl From<bool> for ClaimValue {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}
impl From<i64> for ClaimValue {
    fn from(i: i64) -> Self {
        Self::Integer(i)
    }
}

impl PathElement {
    fn to_json(&self) -> Value {
        match self {
            Self::Key(k) => json!(k),
            Self::Index(i) => json!(i),
            Self::All => Value::Null,
        }
    }
}

/// A claims path as compact JSON, for messages.
pub(crate) fn path_text(path: &[PathElement]) -> String {
    quote(&Value::Array(path.iter().map(PathElement::to_json).collect()).to_string(), 120)
}

impl ClaimsQuery {
    /// A claims query for `path` (object keys only, the usual case).
    pub fn new<S: Into<String>>(path: impl IntoIterator<Item = S>) -> Self {
        Self::with_path(path.into_iter().map(|s| PathElement::Key(s.into())).collect())
    }

    /// A claims query for any claims path pointer.
    pub fn with_path(path: Vec<PathElement>) -> Self {
        Self { id: None, path, values: Vec::new(), predicate: None }
    }

    /// Sets the claim's id (needed when the credential query has
    /// `claim_sets`).
    #[must_use]
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Requires the claim to have one of `values`.
    #[must_use]
    pub fn values(mut self, values: Vec<ClaimValue>) -> Self {
        self.values = values;
        self
    }

    /// Asks for a range proof on the committed attribute the path names
    /// (creditproof Tier 2).
    #[must_use]
    pub fn predicate(mut self, predicate: RangePredicate) -> Self {
        self.predicate = Some(predicate);
        self
    }

    /// The claim's id, if any.
    pub fn claim_id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    /// The claims path pointer.
    pub fn path(&self) -> &[PathElement] {
        &self.path
    }
    /// The values the claim must have one of (empty: any).
    pub fn claim_values(&self) -> &[ClaimValue] {
        &self.values
    }
    /// The range predicate, if this is a Tier-2 claims query.
    pub fn range_predicate(&self) -> Option<RangePredicate> {
        self.predicate
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(id) = &self.id {
            m.insert("id".into(), json!(id));
        }
        m.insert("path".into(), Value::Array(self.path.iter().map(PathElement::to_json).collect()));
        if !self.values.is_empty() {
            m.insert("values".into(), Value::Array(self.values.iter().map(ClaimValue::to_json).collect()));
        }
        if let Some(p) = &self.predicate {
            m.insert(PREDICATE_MEMBER.into(), p.to_json());
        }
        Value::Object(m)
    }

    fn from_json(v: &Value) -> Result<Self, DcqlError> {
        let m = object(v, "a claims query")?;
        no_unknown_extension(m, &[PREDICATE_MEMBER])?;
        let id = opt_id(m, "id")?;
        let path = array(m.get("path"), "`path`", MAX_PATH_ELEMENTS)?
            .ok_or_else(|| DcqlError::malformed("a claims query needs `path`"))?
            .iter()
            .map(|e| match e {
                Value::String(s) => Ok(PathElement::Key(bounded(s, "a path element")?.to_owned())),
                Value::Null => Ok(PathElement::All),
                Value::Number(n) => n
                    .as_u64()
                    .map(PathElement::Index)
                    .ok_or_else(|| DcqlError::malformed("a path index must be a non-negative integer")),
                _ => Err(DcqlError::malformed("a path element must be a string, a non-negative integer or null")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let values = array(m.get("values"), "`values`", MAX_ENTRIES)?
            .unwrap_or_default()
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(ClaimValue::String(bounded(s, "a value")?.to_owned())),
                Value::Bool(b) => Ok(ClaimValue::Bool(*b)),
                Value::Number(n) => n
                    .as_i64()
                    .map(ClaimValue::Integer)
                    .ok_or_else(|| DcqlError::malformed("a value must be a string, an integer or a boolean")),
                _ => Err(DcqlError::malformed("a value must be a string, an integer or a boolean")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let predicate = m.get(PREDICATE_MEMBER).map(RangePredicate::from_json).transpose()?;
        Ok(Self { id, path, values, predicate })
    }
}

impl TrustedAuthority {
    /// A trusted authorities query of `kind` (`aki`, `etsi_tl`,
    /// `openid_federation`, ...) with its values.
    pub fn new(kind: impl Into<String>, values: Vec<String>) -> Self {
        Self { kind: kind.into(), values }
    }
    /// The type.
    pub fn kind(&self) -> &str {
        &self.kind
    }
    /// The values.
    pub fn authority_values(&self) -> &[String] {
        &self.values
    }
}

impl CredentialQuery {
    /// A `dc+sd-jwt` credential query `id` for a credential of one of
    /// `vct_values`, one presentation, holder binding required.
    pub fn sd_jwt(id: impl Into<String>, vct_values: Vec<String>) -> Self {
        Self {
            id: id.into(),
            format: SD_JWT_FORMAT.into(),
            multiple: false,
            vct_values,
            trusted_authorities: Vec::new(),
            require_holder_binding: true,
            claims: Vec::new(),
            claim_sets: Vec::new(),
        }
    }

    /// Adds a claims query.
    #[must_use]
    pub fn claim(mut self, claim: ClaimsQuery) -> Self {
        self.claims.push(claim);
        self
    }

    /// Sets `claim_sets`: alternatives of claim ids, most preferred first.
    #[must_use]
    pub fn claim_sets(mut self, sets: Vec<Vec<String>>) -> Self {
        self.claim_sets = sets;
        self
    }

    /// Allows several presentations for this query.
    #[must_use]
    pub fn multiple(mut self, multiple: bool) -> Self {
        self.multiple = multiple;
        self
    }

    /// Adds a trusted authorities query.
    #[must_use]
    pub fn trusted_authority(mut self, authority: TrustedAuthority) -> Self {
        self.trusted_authorities.push(authority);
        self
    }

    /// The id, which keys the answer in `vp_token`.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The credential format (`dc+sd-jwt` for every query creditproof
    /// answers).
    pub fn format(&self) -> &str {
        &self.format
    }
    /// Whether several presentations may answer it.
    pub fn allows_multiple(&self) -> bool {
        self.multiple
    }
    /// `meta.vct_values`: the accepted credential types.
    pub fn vct_values(&self) -> &[String] {
        &self.vct_values
    }
    /// The trusted authorities queries.
    pub fn trusted_authorities(&self) -> &[TrustedAuthority] {
        &self.trusted_authorities
    }
    /// Whether holder binding is required (`true` unless the query says
    /// `require_cryptographic_holder_binding: false`; creditproof always
    /// binds and always checks the binding).
    pub fn requires_holder_binding(&self) -> bool {
        self.require_holder_binding
    }
    /// The claims queries.
    pub fn claims(&self) -> &[ClaimsQuery] {
        &self.claims
    }
    /// The claim sets (empty: all claims are asked for).
    pub fn claim_set_ids(&self) -> &[Vec<String>] {
        &self.claim_sets
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("format".into(), json!(self.format));
        if self.multiple {
            m.insert("multiple".into(), json!(true));
        }
        let meta = if self.format == SD_JWT_FORMAT { json!({"vct_values": self.vct_values}) } else { json!({}) };
        m.insert("meta".into(), meta);
        if !self.trusted_authorities.is_empty() {
            let ta: Vec<Value> =
                self.trusted_authorities.iter().map(|t| json!({"type": t.kind, "values": t.values})).collect();
            m.insert("trusted_authorities".into(), Value::Array(ta));
        }
        if !self.require_holder_binding {
            m.insert("require_cryptographic_holder_binding".into(), json!(false));
        }
        if !self.claims.is_empty() {
            m.insert("claims".into(), Value::Array(self.claims.iter().map(ClaimsQuery::to_json).collect()));
        }
        if !self.claim_sets.is_empty() {
            m.insert("claim_sets".into(), json!(self.claim_sets));
        }
        Value::Object(m)
    }

    fn from_json(v: &Value) -> Result<Self, DcqlError> {
        let m = object(v, "a credential query")?;
        no_unknown_extension(m, &[])?;
        let id = opt_id(m, "id")?.ok_or_else(|| DcqlError::malformed("a credential query needs an `id`"))?;
        let format = match m.get("format") {
            Some(Value::String(f)) if !f.is_empty() && f.len() <= MAX_ID_BYTES => f.clone(),
            _ => return Err(DcqlError::malformed("`format` must be a string of 1 to 64 bytes")),
        };
        let multiple = opt_bool(m, "multiple", false)?;
        let require_holder_binding = opt_bool(m, "require_cryptographic_holder_binding", true)?;
        let meta =
            object(m.get("meta").ok_or_else(|| DcqlError::malformed("a credential query needs `meta`"))?, "`meta`")?;
        no_unknown_extension(meta, &[])?;
        let vct_values = if format == SD_JWT_FORMAT {
            strings(meta.get("vct_values"), "`meta.vct_values`")?
                .ok_or_else(|| DcqlError::malformed("a dc+sd-jwt query needs `meta.vct_values`"))?
        } else {
            Vec::new()
        };
        let trusted_authorities = array(m.get("trusted_authorities"), "`trusted_authorities`", MAX_ENTRIES)?
            .unwrap_or_default()
            .iter()
            .map(|t| {
                let t = object(t, "a trusted authorities query")?;
                no_unknown_extension(t, &[])?;
                let kind = match t.get("type") {
                    Some(Value::String(k)) if !k.is_empty() => bounded(k, "`type`")?.to_owned(),
                    _ => return Err(DcqlError::malformed("a trusted authority's `type` must be a non-empty string")),
                };
                let values = strings(t.get("values"), "a trusted authority's `values`")?
                    .ok_or_else(|| DcqlError::malformed("a trusted authority needs `values`"))?;
                Ok(TrustedAuthority { kind, values })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let claims = array(m.get("claims"), "`claims`", MAX_CLAIMS)?
            .unwrap_or_default()
            .iter()
            .map(ClaimsQuery::from_json)
            .collect::<Result<Vec<_>, _>>()?;
        let claim_sets = id_lists(m.get("claim_sets"), "`claim_sets`")?;
        Ok(Self { id, format, multiple, vct_values, trusted_authorities, require_holder_binding, claims, claim_sets })
    }

    /// The consistency rules of one credential query.
    fn validate(&self) -> Result<(), DcqlError> {
        let bad = |r: String| Err(DcqlError::invalid(format!("credential query `{}`: {r}", self.id)));
        if !is_dcql_id(&self.id) {
            return bad("the id is not [A-Za-z0-9_-]+ of at most 64 bytes".into());
        }
        if self.format == SD_JWT_FORMAT && self.vct_values.is_empty() {
            return bad("a dc+sd-jwt query needs non-empty `meta.vct_values`".into());
        }
        if self.claims.len() > MAX_CLAIMS {
            return Err(DcqlError::Limit { what: "claims queries in a credential query", limit: MAX_CLAIMS });
        }
        let mut ids = BTreeSet::new();
        let mut paths = BTreeSet::new();
        for c in &self.claims {
            if c.path.is_empty() || c.path.len() > MAX_PATH_ELEMENTS {
                return bad(format!("a claims path has 1 to {MAX_PATH_ELEMENTS} elements"));
            }
            if let Some(id) = &c.id {
                if !is_dcql_id(id) || !ids.insert(id.as_str()) {
                    return bad(format!("claim id `{}` is malformed or repeated", quote(id, 64)));
                }
            }
            if !paths.insert(c.path.as_slice()) {
                return bad(format!("the claim {} is asked for twice", path_text(&c.path)));
            }
            if c.predicate.is_some() && !c.values.is_empty() {
                return bad(format!("the claim {} has both `values` and a predicate", path_text(&c.path)));
            }
        }
        for c in self.claims.iter().filter(|c| !c.values.is_empty()) {
            let below = self.claims.iter().any(|o| o.path.len() > c.path.len() && o.path.starts_with(&c.path));
            if below {
                return bad(format!("`values` on {}, which is not a leaf claim", path_text(&c.path)));
            }
        }
        if !self.claim_sets.is_empty() {
            if self.claims.is_empty() {
                return bad("`claim_sets` without `claims`".into());
            }
            if self.claims.iter().any(|c| c.id.is_none()) {
                return bad("with `claim_sets`, every claims query needs an id".into());
            }
            if let Some(unknown) = self.claim_sets.iter().flatten().find(|id| !ids.contains(id.as_str())) {
                return bad(format!("`claim_sets` names the undefined claim `{}`", quote(unknown, 64)));
            }
        }
        Ok(())
    }
}

impl CredentialSetQuery {
    /// A credential set: `options`, each a list of credential query ids,
    /// most preferred first; `required` unless said otherwise.
    pub fn new(options: Vec<Vec<String>>, required: bool) -> Self {
        Self { options, required }
    }
    /// The options.
    pub fn options(&self) -> &[Vec<String>] {
        &self.options
    }
    /// Whether one option must be answered.
    pub fn is_required(&self) -> bool {
        self.required
    }
}

impl DcqlQuery {
    /// A query of `credentials` and (possibly empty) `credential_sets`,
    /// checked for consistency.
    pub fn new(credentials: Vec<CredentialQuery>, credential_sets: Vec<CredentialSetQuery>) -> Result<Self, DcqlError> {
        let q = Self { credentials, credential_sets };
        q.validate()?;
        Ok(q)
    }

    /// The credential queries.
    pub fn credentials(&self) -> &[CredentialQuery] {
        &self.credentials
    }

    /// The credential set queries (empty: every credential query is
    /// required).
    pub fn credential_sets(&self) -> &[CredentialSetQuery] {
        &self.credential_sets
    }

    /// The credential query `id`.
    pub fn credential(&self, id: &str) -> Option<&CredentialQuery> {
        self.credentials.iter().find(|c| c.id == id)
    }

    /// The query as JSON.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("credentials".into(), Value::Array(self.credentials.iter().map(CredentialQuery::to_json).collect()));
        if !self.credential_sets.is_empty() {
            let sets: Vec<Value> = self
                .credential_sets
                .iter()
                .map(|s| {
                    let mut o = json!({"options": s.options});
                    if !s.required {
                        o["required"] = json!(false);
                    }
                    o
                })
                .collect();
            m.insert("credential_sets".into(), Value::Array(sets));
        }
        Value::Object(m)
    }

    /// Parses a query received as JSON bytes (e.g. the `dcql_query`
    /// parameter of a URL): at most [`MAX_QUERY_BYTES`], nesting and
    /// string lengths bounded, duplicate keys refused.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DcqlError> {
        if bytes.len() > MAX_QUERY_BYTES {
            return Err(DcqlError::Limit { what: "bytes", limit: MAX_QUERY_BYTES });
        }
        let limits = Limits::default().with_max_json_depth(8).with_max_string_bytes(MAX_STRING_BYTES + 1);
        let m = parse_json_object(bytes, &limits, "dcql query").map_err(|e| DcqlError::malformed(e.to_string()))?;
        Self::from_value(&Value::Object(m))
    }

    /// Parses a query that arrived inside an already-parsed message (a
    /// request object), with the same rules as [`DcqlQuery::from_json`]
    /// but for the byte bound, which the message's own bound covers.
    pub fn from_value(v: &Value) -> Result<Self, DcqlError> {
        let m = object(v, "the dcql query")?;
        no_unknown_extension(m, &[])?;
        let credentials = array(m.get("credentials"), "`credentials`", MAX_CREDENTIAL_QUERIES)?
            .ok_or_else(|| DcqlError::malformed("a dcql query needs `credentials`"))?
            .iter()
            .map(CredentialQuery::from_json)
            .collect::<Result<Vec<_>, _>>()?;
        let credential_sets = array(m.get("credential_sets"), "`credential_sets`", MAX_ENTRIES)?
            .unwrap_or_default()
            .iter()
            .map(|s| {
                let s = object(s, "a credential set query")?;
                no_unknown_extension(s, &[])?;
                let options = id_lists(s.get("options"), "`options`")?;
                if options.is_empty() {
                    return Err(DcqlError::malformed("a credential set query needs `options`"));
                }
                Ok(CredentialSetQuery { options, required: opt_bool(s, "required", true)? })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(credentials, credential_sets)
    }

    fn validate(&self) -> Result<(), DcqlError> {
        if self.credentials.is_empty() {
            return Err(DcqlError::invalid("a query asks for at least one credential"));
        }
        if self.credentials.len() > MAX_CREDENTIAL_QUERIES {
            return Err(DcqlError::Limit { what: "credential queries", limit: MAX_CREDENTIAL_QUERIES });
        }
        let mut ids = BTreeSet::new();
        for c in &self.credentials {
            c.validate()?;
            if !ids.insert(c.id.as_str()) {
                return Err(DcqlError::invalid(format!("the credential query id `{}` is repeated", c.id)));
            }
        }
        for s in &self.credential_sets {
            if s.options.is_empty() || s.options.iter().any(Vec::is_empty) {
                return Err(DcqlError::invalid("a credential set needs non-empty options"));
            }
            if let Some(unknown) = s.options.iter().flatten().find(|id| !ids.contains(id.as_str())) {
                return Err(DcqlError::invalid(format!(
                    "`credential_sets` names the undefined credential query `{}`",
                    quote(unknown, 64)
                )));
            }
        }
        Ok(())
    }
}

// ----------------------------------------------------------------- readers

fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, DcqlError> {
    v.as_object().ok_or_else(|| DcqlError::malformed(format!("{what} must be an object")))
}

/// Refuses a `creditproof_` member other than `known`.
fn no_unknown_extension(m: &Map<String, Value>, known: &[&str]) -> Result<(), DcqlError> {
    match m.keys().find(|k| k.starts_with(EXTENSION_PREFIX) && !known.contains(&k.as_str())) {
        Some(k) => Err(DcqlError::UnknownExtension { name: quote(k, 64) }),
        None => Ok(()),
    }
}

/// An optional non-empty array of at most `max` entries.
fn array<'a>(v: Option<&'a Value>, what: &'static str, max: usize) -> Result<Option<&'a [Value]>, DcqlError> {
    match v {
        None => Ok(None),
        Some(Value::Array(a)) if a.is_empty() => Err(DcqlError::malformed(format!("{what} must not be empty"))),
        Some(Value::Array(a)) if a.len() > max => Err(DcqlError::Limit { what, limit: max }),
        Some(Value::Array(a)) => Ok(Some(a.as_slice())),
        Some(_) => Err(DcqlError::malformed(format!("{what} must be an array"))),
    }
}

fn bounded<'a>(s: &'a str, what: &str) -> Result<&'a str, DcqlError> {
    if s.len() > MAX_STRING_BYTES {
        return Err(DcqlError::malformed(format!("{what} is longer than {MAX_STRING_BYTES} bytes")));
    }
    Ok(s)
}

/// An optional non-empty array of bounded strings.
fn strings(v: Option<&Value>, what: &'static str) -> Result<Option<Vec<String>>, DcqlError> {
    array(v, what, MAX_ENTRIES)?
        .map(|a| {
            a.iter()
                .map(|s| match s {
                    Value::String(s) => Ok(bounded(s, what)?.to_owned()),
                    _ => Err(DcqlError::malformed(format!("{what} must hold strings"))),
                })
                .collect()
        })
        .transpose()
}

/// An optional non-empty array of non-empty arrays of ids (absent: empty).
fn id_lists(v: Option<&Value>, what: &'static str) -> Result<Vec<Vec<String>>, DcqlError> {
    let Some(lists) = array(v, what, MAX_ENTRIES)? else { return Ok(Vec::new()) };
    lists
        .iter()
        .map(|l| {
            array(Some(l), what, MAX_ENTRIES)?
                .unwrap_or_default()
                .iter()
                .map(|id| match id {
                    Value::String(s) if is_dcql_id(s) => Ok(s.clone()),
                    _ => Err(DcqlError::malformed(format!("{what} must hold ids [A-Za-z0-9_-]+"))),
                })
                .collect()
        })
        .collect()
}

fn opt_id(m: &Map<String, Value>, k: &str) -> Result<Option<String>, DcqlError> {
    match m.get(k) {
        None => Ok(None),
        Some(Value::String(s)) if is_dcql_id(s) => Ok(Some(s.clone())),
        Some(_) => Err(DcqlError::malformed(format!("`{k}` must be an id [A-Za-z0-9_-]+ of at most 64 bytes"))),
    }
}

fn opt_bool(m: &Map<String, Value>, k: &str, default: bool) -> Result<bool, DcqlError> {
    match m.get(k) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(DcqlError::malformed(format!("`{k}` must be a boolean"))),
    }
}

#[cfg(test)]
mod tests;
