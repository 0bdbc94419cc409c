//! The authorization request (OpenID4VP 1.0 §5), in the forms creditproof
//! speaks: parameters in an `openid4vp://` link (by value), an unsigned
//! request object (`alg: none`, `typ: oauth-authz-req+jwt`, empty
//! signature) served at a `request_uri`, and the by-reference link that
//! points to it:
//!
//! ```text
//! openid4vp://?response_type=vp_token&client_id=redirect_uri%3Ahttps…&response_mode=direct_post&response_uri=…&nonce=…&state=…&dcql_query=%7B…&client_metadata=%7B…
//! openid4vp://?client_id=redirect_uri%3Ahttps%3A%2F%2Flender.example%2Fresponse&request_uri=https%3A%2F%2Flender.example%2Frequest%2F…&request_uri_method=post
//! ```
//!
//! Reading a request checks everything that does not need the wallet's
//! credentials: `response_type=vp_token`, `response_mode=direct_post`, a
//! supported client identifier prefix, an unsigned request only under a
//! prefix that allows one (an unsigned `x509_san_dns:` request is refused),
//! the `response_uri` against the client identifier, a nonce of 16 to 256
//! URL-safe characters, a `dcql_query` (never `scope`), `client_metadata`
//! accepting `dc+sd-jwt` with one of creditproof's algorithms, no
//! `redirect_uri`, no `transaction_data` (no type is supported), and for a
//! request object: `typ`, the `client_id` identical to the link's, and the
//! echoed `wallet_nonce`. A signed `x509_san_dns:` request object also
//! needs `x5c`, and is authenticated against the wallet's verifier trust
//! anchors ([`parse_request_object_with_trust`], feature `x509`): without
//! anchors it is refused ([`ClientAuthFailure::NoTrustAnchors`]).

use serde_json::{json, Map, Value};

use crate::format::encoding::{b64_decode, b64_encode, parse_json, parse_json_object, to_json};
use crate::format::jws::typ_matches;
use crate::protocol::dcql::DcqlQuery;
use crate::protocol::form;
use crate::protocol::oid4vp::client_id::{ClientId, ClientIdPrefix};
use crate::protocol::oid4vp::error::{ClientAuthFailure, Oid4vpError};
use crate::protocol::oid4vp::metadata::{is_url_safe, ClientMetadata};
#[cfg(feature = "x509")]
use crate::protocol::oid4vp::x509::{RequestSigner, VerifierTrust};
use crate::protocol::url::{self, UrlUse};
use crate::Limits;
#[cfg(feature = "x509")]
use crate::UnixTime;

/// Authenticates a signed request object: (client identifier, header,
/// signing input, decoded signature).
type Authenticate<'a> = &'a dyn Fn(&ClientId, &Map<String, Value>, &[u8], &[u8]) -> Result<(), ClientAuthFailure>;

/// The scheme of wallet links (§13.1.2 static configuration).
pub const SCHEME: &str = "openid4vp://";
/// The `typ` of request objects.
pub const REQUEST_OBJECT_TYP: &str = "oauth-authz-req+jwt";
/// The content type a `request_uri` answers with.
pub const REQUEST_OBJECT_CONTENT_TYPE: &str = "application/oauth-authz-req+jwt";
/// The request object's `aud` when the wallet is not known (§5.8).
pub const STATIC_AUDIENCE: &str = "https://self-issued.me/v2";
/// The most bytes of a link.
pub const MAX_LINK_BYTES: usize = 32 * 1024;
/// The most bytes of a request object.
pub const MAX_REQUEST_OBJECT_BYTES: usize = 32 * 1024;
/// The fewest characters of a nonce a creditproof wallet binds to.
pub const MIN_NONCE_CHARS: usize = 16;

fn request_limits() -> Limits {
    Limits::default().with_max_json_depth(10).with_max_string_bytes(4096)
}

/// An authorization request for a `vp_token` by `direct_post`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    client_id: ClientId,
    response_uri: String,
    nonce: String,
    state: Option<String>,
    dcql_query: DcqlQuery,
    client_metadata: ClientMetadata,
    wallet_nonce: Option<String>,
}

/// How the wallet fetches a request object (`request_uri_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestUriMethod {
    /// `GET` (the default of RFC 9101).
    Get,
    /// `POST` with `wallet_metadata` and `wallet_nonce` (§5.10).
    Post,
}

/// A link that points to a request object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestReference {
    /// The link's `client_id`, which the request object must repeat.
    pub client_id: String,
    /// Where to fetch the request object (checked: `https`, or `http` to
    /// a loopback host).
    pub request_uri: String,
    /// How.
    pub method: RequestUriMethod,
}

/// What a wallet link carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestLink {
    /// The request itself (parameters, or a request object in `request`),
    /// already checked.
    ByValue(AuthorizationRequest),
    /// Where to fetch it.
    ByReference(RequestReference),
}

impl AuthorizationRequest {
    pub(crate) fn new(
        client_id: ClientId,
        response_uri: String,
        nonce: String,
        state: Option<String>,
        dcql_query: DcqlQuery,
        wallet_nonce: Option<String>,
    ) -> Self {
        Self {
            client_id,
            response_uri,
            nonce,
            state,
            dcql_query,
            client_metadata: ClientMetadata::creditproof(),
            wallet_nonce,
        }
    }

    /// The client identifier, prefix included.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }
    /// Where the response goes.
    pub fn response_uri(&self) -> &str {
        &self.response_uri
    }
    /// The nonce every presentation's KB-JWT binds to.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }
    /// The `state` to send back, if any.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }
    /// The query.
    pub fn dcql_query(&self) -> &DcqlQuery {
        &self.dcql_query
    }
    /// The verifier's metadata.
    pub fn client_metadata(&self) -> &ClientMetadata {
        &self.client_metadata
    }
    /// The echoed `wallet_nonce`, if any.
    pub fn wallet_nonce(&self) -> Option<&str> {
        self.wallet_nonce.as_deref()
    }

    /// The request's parameters as a JSON object (the request object's
    /// payload without `aud`).
    pub fn to_claims(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("response_type".into(), json!("vp_token"));
        m.insert("client_id".into(), json!(self.client_id.as_str()));
        m.insert("response_mode".into(), json!("direct_post"));
        m.insert("response_uri".into(), json!(self.response_uri));
        m.insert("nonce".into(), json!(self.nonce));
        if let Some(s) = &self.state {
            m.insert("state".into(), json!(s));
        }
        m.insert("dcql_query".into(), self.dcql_query.to_json());
        m.insert("client_metadata".into(), self.client_metadata.to_json());
        if let Some(n) = &self.wallet_nonce {
            m.insert("wallet_nonce".into(), json!(n));
        }
        m
    }

    /// The request by value, as a link: its parameters form-encoded, the
    /// objects as JSON strings. Unsigned, so only for a `redirect_uri:`
    /// client.
    pub fn to_link(&self) -> String {
        let claims = self.to_claims();
        let texts: Vec<(&str, String)> =
            claims.iter().map(|(k, v)| (k.as_str(), v.as_str().map_or_else(|| to_json(v), str::to_owned))).collect();
        let fields: Vec<(&str, &str)> = texts.iter().map(|(k, v)| (*k, v.as_str())).collect();
        format!("{SCHEME}?{}", form::encode_fields(&fields))
    }

    /// The request object: an unsigned JWT (`alg: none`, `typ:
    /// oauth-authz-req+jwt`, an empty signature) with `aud`
    /// `https://self-issued.me/v2`. Only a `redirect_uri:` client may send
    /// one; an `x509_san_dns:` client signs
    /// ([`AuthorizationRequest::to_signed_request_object`]).
    pub fn to_request_object(&self) -> Result<String, Oid4vpError> {
        if self.client_id.prefix().requires_signed_request() {
            return Err(Oid4vpError::Signature {
                reason: "an x509_san_dns: request object must be signed with the verifier's key",
            });
        }
        let mut claims = self.to_claims();
        claims.insert("aud".into(), json!(STATIC_AUDIENCE));
        let header = json!({"alg": "none", "typ": REQUEST_OBJECT_TYP});
        Ok(format!("{}.{}.", b64_encode(to_json(&header)), b64_encode(to_json(&Value::Object(claims)))))
    }

    /// The request object signed by `signer` (`alg` ES256 or EdDSA, `typ:
    /// oauth-authz-req+jwt`, `x5c` leaf first) with `aud`
    /// `https://self-issued.me/v2`; the request's client identifier must be
    /// the signer's.
    #[cfg(feature = "x509")]
    pub fn to_signed_request_object(&self, signer: &RequestSigner) -> Result<String, Oid4vpError> {
        if &self.client_id != signer.client_id() {
            return Err(Oid4vpError::ClientIdMismatch);
        }
        let mut claims = self.to_claims();
        claims.insert("aud".into(), json!(STATIC_AUDIENCE));
        signer.sign(REQUEST_OBJECT_TYP, &Value::Object(claims))
    }

    /// Reads and checks the parameters of a request (from a link, or a
    /// request object's payload); `signed` says whether they came in a
    /// signed request object.
    fn from_members(m: &Map<String, Value>, signed: bool) -> Result<Self, Oid4vpError> {
        let text = |k: &str| match m.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(Oid4vpError::invalid(format!("`{k}` must be a string"))),
        };
        let required = |k: &str| text(k)?.ok_or_else(|| Oid4vpError::invalid(format!("`{k}` is missing")));
        if required("response_type")? != "vp_token" {
            return Err(Oid4vpError::invalid("response_type must be vp_token"));
        }
        if required("response_mode")? != "direct_post" {
            return Err(Oid4vpError::invalid("response_mode must be direct_post"));
        }
        let client_id = ClientId::parse(required("client_id")?)?;
        match (client_id.prefix(), signed) {
            (ClientIdPrefix::X509SanDns, false) => {
                return Err(Oid4vpError::Signature {
                    reason: "an unsigned request claims the x509_san_dns: prefix, which requires a signed request",
                })
            }
            (ClientIdPrefix::RedirectUri, true) => {
                return Err(Oid4vpError::Signature { reason: "a redirect_uri: request cannot be signed" })
            }
            _ => {}
        }
        if m.contains_key("redirect_uri") {
            return Err(Oid4vpError::invalid("redirect_uri must not be present with response_mode direct_post"));
        }
        if m.contains_key("transaction_data") {
            return Err(Oid4vpError::InvalidTransactionData);
        }
        if m.contains_key("scope") {
            return Err(Oid4vpError::invalid("scope is not supported: the request needs a dcql_query"));
        }
        let response_uri = required("response_uri")?;
        client_id.check_response_uri(response_uri)?;
        let nonce = required("nonce")?;
        if nonce.len() < MIN_NONCE_CHARS || !is_url_safe(nonce, 256) {
            return Err(Oid4vpError::invalid("the nonce must be 16 to 256 url-safe characters"));
        }
        let state = text("state")?;
        if state.is_some_and(|s| !is_url_safe(s, 256)) {
            return Err(Oid4vpError::invalid("state must be 1 to 256 url-safe characters"));
        }
        let dcql = m.get("dcql_query").ok_or_else(|| Oid4vpError::invalid("`dcql_query` is missing"))?;
        let dcql_query = DcqlQuery::from_value(dcql).map_err(|e| Oid4vpError::invalid(format!("dcql_query: {e}")))?;
        let metadata = m.get("client_metadata").ok_or_else(|| Oid4vpError::InvalidClient {
            reason: "no client_metadata: a redirect_uri: client must pass its metadata in the request".into(),
        })?;
        let client_metadata = ClientMetadata::from_value(metadata)?;
        client_metadata.check_creditproof()?;
        let wallet_nonce = text("wallet_nonce")?.map(str::to_owned);
        Ok(Self {
            client_id,
            response_uri: response_uri.to_owned(),
            nonce: nonce.to_owned(),
            state: state.map(str::to_owned),
            dcql_query,
            client_metadata,
            wallet_nonce,
        })
    }
}

/// The link to a request object at `request_uri`, to be fetched with
/// `POST` (§5.10): `openid4vp://?client_id=…&request_uri=…&request_uri_method=post`.
pub fn link_by_reference(client_id: &ClientId, request_uri: &str) -> String {
    let fields = [("client_id", client_id.as_str()), ("request_uri", request_uri), ("request_uri_method", "post")];
    format!("{SCHEME}?{}", form::encode_fields(&fields))
}

/// A by-value link carrying a (signed) request object in `request`:
/// `openid4vp://?client_id=…&request=<jwt>`.
pub(crate) fn link_with_request_object(client_id: &ClientId, request_object: &str) -> String {
    let fields = [("client_id", client_id.as_str()), ("request", request_object)];
    format!("{SCHEME}?{}", form::encode_fields(&fields))
}

/// Reads a wallet link (any scheme: `openid4vp://`, or a wallet's own
/// `https` link). Its query is strictly form-encoded (no repeated
/// parameter) and holds a request by value, a request object in
/// `request`, or a `request_uri` (with `client_id`, and
/// `request_uri_method` `get` or `post`).
///
/// A signed request object in `request` (`x509_san_dns:`) is refused
/// here: no trust anchors ([`parse_link_with_trust`] has them).
pub fn parse_link(link: &str) -> Result<RequestLink, Oid4vpError> {
    parse_link_inner(link, None)
}

/// [`parse_link`], authenticating a signed request object in `request`
/// against `trust` at `now`.
#[cfg(feature = "x509")]
pub fn parse_link_with_trust(link: &str, trust: &VerifierTrust, now: UnixTime) -> Result<RequestLink, Oid4vpError> {
    let authenticate =
        |c: &ClientId, h: &Map<String, Value>, input: &[u8], sig: &[u8]| trust.authenticate(c, h, input, sig, now);
    parse_link_inner(link, Some(&authenticate))
}

fn parse_link_inner(link: &str, authenticate: Option<Authenticate<'_>>) -> Result<RequestLink, Oid4vpError> {
    if link.len() > MAX_LINK_BYTES {
        return Err(Oid4vpError::invalid("the link is too large"));
    }
    let (_, query) = link.split_once('?').ok_or_else(|| Oid4vpError::invalid("the link has no query"))?;
    if query.contains('#') {
        return Err(Oid4vpError::invalid("the link has a fragment"));
    }
    let fields = form::parse(query.as_bytes(), MAX_LINK_BYTES, 64)
        .map_err(|e| Oid4vpError::invalid(format!("the link's query: {e}")))?;
    let client_id = fields.get("client_id").map(|c| c.as_str().to_owned());
    let method = fields.get("request_uri_method");
    match (fields.get("request_uri"), fields.get("request")) {
        (Some(uri), None) => {
            let client_id = client_id.ok_or_else(|| Oid4vpError::invalid("a request_uri comes with a client_id"))?;
            url::check(uri, UrlUse::Endpoint).map_err(|r| Oid4vpError::invalid(format!("request_uri: {r}")))?;
            let method = match method.map(|m| m.as_str()) {
                None | Some("get") => RequestUriMethod::Get,
                Some("post") => RequestUriMethod::Post,
                Some(_) => return Err(Oid4vpError::InvalidRequestUriMethod),
            };
            Ok(RequestLink::ByReference(RequestReference { client_id, request_uri: uri.as_str().to_owned(), method }))
        }
        (None, Some(jwt)) if method.is_none() => {
            let client_id = client_id.ok_or_else(|| Oid4vpError::invalid("a request object comes with a client_id"))?;
            Ok(RequestLink::ByValue(parse_request_object_inner(jwt, &client_id, None, authenticate)?))
        }
        (None, None) if method.is_none() => {
            let mut m = Map::new();
            for (k, v) in &fields {
                let value = match k.as_str() {
                    "dcql_query" | "client_metadata" => {
                        parse_json(v.as_bytes(), &request_limits(), "request parameter")
                            .map_err(|e| Oid4vpError::invalid(format!("`{k}`: {e}")))?
                    }
                    _ => Value::String(v.as_str().to_owned()),
                };
                m.insert(k.clone(), value);
            }
            Ok(RequestLink::ByValue(AuthorizationRequest::from_members(&m, false)?))
        }
        (Some(_), Some(_)) => Err(Oid4vpError::invalid("the link has both request and request_uri")),
        _ => Err(Oid4vpError::invalid("request_uri_method without a request_uri")),
    }
}

/// Reads a request object (from a `request_uri`, or a link's `request`):
/// `typ` first, then the link's `client_id` repeated byte for byte, the
/// `wallet_nonce` the wallet sent (if it sent one) echoed, and the
/// request's own checks. Unsigned (`alg: none` with an empty signature)
/// only for `redirect_uri:`; a signed `x509_san_dns:` one is refused here
/// ([`ClientAuthFailure::NoTrustAnchors`]: see
/// [`parse_request_object_with_trust`]).
pub fn parse_request_object(
    jwt: &str,
    link_client_id: &str,
    wallet_nonce: Option<&str>,
) -> Result<AuthorizationRequest, Oid4vpError> {
    parse_request_object_inner(jwt, link_client_id, wallet_nonce, None)
}

/// [`parse_request_object`], authenticating a signed `x509_san_dns:`
/// request object against `trust` at `now` (see [`crate::oid4vp::x509`]):
/// its chain, the leaf's DNS name, its signature. The `response_uri` must
/// be on the named host, as for every `x509_san_dns:` request.
#[cfg(feature = "x509")]
pub fn parse_request_object_with_trust(
    jwt: &str,
    link_client_id: &str,
    wallet_nonce: Option<&str>,
    trust: &VerifierTrust,
    now: UnixTime,
) -> Result<AuthorizationRequest, Oid4vpError> {
    let authenticate =
        |c: &ClientId, h: &Map<String, Value>, input: &[u8], sig: &[u8]| trust.authenticate(c, h, input, sig, now);
    parse_request_object_inner(jwt, link_client_id, wallet_nonce, Some(&authenticate))
}

fn parse_request_object_inner(
    jwt: &str,
    link_client_id: &str,
    wallet_nonce: Option<&str>,
    authenticate: Option<Authenticate<'_>>,
) -> Result<AuthorizationRequest, Oid4vpError> {
    let bad = |r: &str| Oid4vpError::invalid(format!("request object: {r}"));
    if jwt.len() > MAX_REQUEST_OBJECT_BYTES {
        return Err(bad("too large"));
    }
    let parts: Vec<&str> = jwt.split('.').collect();
    let [h, p, s] = parts.as_slice() else { return Err(bad("not a jwt of three parts")) };
    if h.is_empty() || p.is_empty() {
        return Err(bad("not a jwt of three parts"));
    }
    let limits = request_limits();
    let decode = |part: &str, what: &'static str| {
        b64_decode(part, what)
            .and_then(|bytes| parse_json_object(&bytes, &limits, what))
            .map_err(|e| bad(&e.to_string()))
    };
    let header = decode(h, "request object header")?;
    if !header.get("typ").and_then(Value::as_str).is_some_and(|t| typ_matches(t, REQUEST_OBJECT_TYP)) {
        return Err(bad("typ is not oauth-authz-req+jwt"));
    }
    let signed = match header.get("alg").and_then(Value::as_str) {
        Some("none") if s.is_empty() => false,
        Some("none") => return Err(bad("an unsigned request object has an empty signature")),
        Some(_) if s.is_empty() => return Err(bad("a signed request object without a signature")),
        Some(_) => true,
        None => return Err(bad("alg is missing")),
    };
    let payload = decode(p, "request object payload")?;
    if payload.get("client_id").and_then(Value::as_str) != Some(link_client_id) {
        return Err(Oid4vpError::ClientIdMismatch);
    }
    if let Some(sent) = wallet_nonce {
        if payload.get("wallet_nonce").and_then(Value::as_str) != Some(sent) {
            return Err(Oid4vpError::WalletNonce);
        }
    }
    if signed && header.get("x5c").and_then(Value::as_array).is_none_or(|a| a.is_empty()) {
        // Refused below for redirect_uri:; for x509_san_dns: the chain is
        // the only key there is.
        if ClientId::parse(link_client_id)?.prefix() == ClientIdPrefix::X509SanDns {
            return Err(Oid4vpError::Signature { reason: "an x509_san_dns: request object has no x5c chain" });
        }
    }
    // The request's own checks first (no cryptography on a request that
    // fails them), then the verifier's authentication.
    let request = AuthorizationRequest::from_members(&payload, signed)?;
    if signed {
        let client_id = request.client_id();
        if client_id.prefix() == ClientIdPrefix::X509SanDns {
            let signature = b64_decode(s, "request object signature").map_err(|e| bad(&e.to_string()))?;
            let input = &jwt.as_bytes()[..h.len() + 1 + p.len()];
            let failure = match authenticate {
                Some(check) => check(client_id, &header, input, &signature).err(),
                None => Some(ClientAuthFailure::NoTrustAnchors),
            };
            if let Some(failure) = failure {
                return Err(Oid4vpError::ClientAuthentication { failure });
            }
        }
    }
    Ok(request)
}

#[cfg(test)]
mod tests;
