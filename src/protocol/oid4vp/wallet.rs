//! The wallet's side, as steps that each take what the transport fetched
//! and return what to send next. The wallet's credentials are only ever
//! reached through [`Wallet`]'s public API (`preview`, `present`), so the
//! grid, single-use and one-proof-per-commitment rules are the wallet's
//! own.
//!
//! ```text
//! parse_link ─► RequestLink::ByValue(request)              (checked)
//!            └► RequestLink::ByReference ─► fetch_request ─► POST wallet_metadata + wallet_nonce
//!                                            PendingRequest::accept(status, body) ─► request (checked)
//! plan(request, &wallet, options, now) ─► PresentationPlan::preview()  (what would be revealed, to whom)
//!                                      ─► PresentationPlan::respond(&mut wallet, …) ─► POST vp_token + state
//!                                      └► refusal(request, error)                   ─► POST error + state
//! accept_ack(status, body) ─► the verifier's optional redirect_uri
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;
use zeroize::Zeroizing;

use crate::format::encoding::{b64_encode, parse_json_object};
use crate::format::rng::{random_array, SecureRng};
use crate::format::time::UnixTime;
use crate::holder::wallet::{PresentOptions, Preview, Wallet};
use crate::profile::credential::SCORE_VCT;
use crate::profile::request::PresentationRequest;
use crate::protocol::dcql::{obligations, query_tier, CredentialQuery, Tier, SD_JWT_FORMAT};
use crate::protocol::oid4vci::ErrorResponse;
use crate::protocol::oid4vp::client_id::ClientIdPrefix;
use crate::protocol::oid4vp::error::Oid4vpError;
use crate::protocol::oid4vp::metadata::{RequestUriPost, WalletMetadata};
use crate::protocol::oid4vp::request::{
    parse_request_object, AuthorizationRequest, RequestReference, RequestUriMethod, REQUEST_OBJECT_CONTENT_TYPE,
};
use crate::protocol::oid4vp::response::response_form;
#[cfg(feature = "x509")]
use crate::protocol::oid4vp::{request::parse_request_object_with_trust, x509::VerifierTrust};
use crate::Limits;

const FORM: &str = "application/x-www-form-urlencoded";

/// An HTTP request for the wallet's transport to send (and not to follow
/// redirects for: OpenID4VP §14.4).
pub struct OutgoingRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Where.
    pub url: String,
    /// The body's `Content-Type`, when there is a body.
    pub content_type: Option<&'static str>,
    /// The `Accept` header.
    pub accept: &'static str,
    /// The body (empty for a `GET`). Holds presentations: personal data.
    pub body: Zeroizing<String>,
}

impl fmt::Debug for OutgoingRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("content_type", &self.content_type)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// A request object being fetched: what its answer must match.
#[derive(Debug, Clone)]
pub struct PendingRequest {
    client_id: String,
    wallet_nonce: Option<String>,
}

/// The fetch of a request object by reference: with `request_uri_method
/// post`, a POST of `metadata` and a fresh `wallet_nonce` (128 bits) the
/// object must echo; otherwise a GET.
pub fn fetch_request(
    reference: &RequestReference,
    metadata: &WalletMetadata,
    rng: &mut dyn SecureRng,
) -> (PendingRequest, OutgoingRequest) {
    match reference.method {
        RequestUriMethod::Post => {
            let wallet_nonce = b64_encode(random_array::<16>(rng));
            let post =
                RequestUriPost { wallet_metadata: Some(metadata.clone()), wallet_nonce: Some(wallet_nonce.clone()) };
            let request = OutgoingRequest {
                method: "POST",
                url: reference.request_uri.clone(),
                content_type: Some(FORM),
                accept: REQUEST_OBJECT_CONTENT_TYPE,
                body: Zeroizing::new(post.to_form()),
            };
            (PendingRequest { client_id: reference.client_id.clone(), wallet_nonce: Some(wallet_nonce) }, request)
        }
        RequestUriMethod::Get => {
            let request = OutgoingRequest {
                method: "GET",
                url: reference.request_uri.clone(),
                content_type: None,
                accept: REQUEST_OBJECT_CONTENT_TYPE,
                body: Zeroizing::new(String::new()),
            };
            (PendingRequest { client_id: reference.client_id.clone(), wallet_nonce: None }, request)
        }
    }
}

impl PendingRequest {
    /// Reads the `request_uri`'s answer: 200 with a request object (any
    /// other status, a redirect included, is the verifier's error), checked
    /// as [`parse_request_object`] checks one.
    pub fn accept(self, status: u16, body: &[u8]) -> Result<AuthorizationRequest, Oid4vpError> {
        if status != 200 {
            return Err(Oid4vpError::ErrorResponse { status, response: ErrorResponse::from_json(body) });
        }
        let text = std::str::from_utf8(body).map_err(|_| Oid4vpError::invalid("the request object is not utf-8"))?;
        parse_request_object(text, &self.client_id, self.wallet_nonce.as_deref())
    }

    /// [`PendingRequest::accept`], authenticating a signed `x509_san_dns:`
    /// request object against `trust` at `now`
    /// ([`crate::oid4vp::parse_request_object_with_trust`]).
    #[cfg(feature = "x509")]
    pub fn accept_with_trust(
        self,
        status: u16,
        body: &[u8],
        trust: &VerifierTrust,
        now: UnixTime,
    ) -> Result<AuthorizationRequest, Oid4vpError> {
        if status != 200 {
            return Err(Oid4vpError::ErrorResponse { status, response: ErrorResponse::from_json(body) });
        }
        let text = std::str::from_utf8(body).map_err(|_| Oid4vpError::invalid("the request object is not utf-8"))?;
        parse_request_object_with_trust(text, &self.client_id, self.wallet_nonce.as_deref(), trust, now)
    }
}

/// What answering a request would reveal, and to whom: for the holder to
/// review before anything is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentPreview {
    /// The client identifier the presentations are bound to (`aud`).
    pub client_id: String,
    /// Whether the wallet authenticated the verifier (never for
    /// `redirect_uri:`: anyone can claim a URL as its identifier).
    pub authenticated: bool,
    /// Where the answer is sent.
    pub response_uri: String,
    /// Whether the query asks for range proofs.
    pub tier: Tier,
    /// Per credential query answered: what its presentation reveals.
    pub credentials: Vec<(String, Preview)>,
}

impl fmt::Display for ConsentPreview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "verifier: {}", self.client_id)?;
        if !self.authenticated {
            writeln!(f, "  NOT AUTHENTICATED: whoever controls that address can use this identifier")?;
        }
        writeln!(f, "answers go to: {}", self.response_uri)?;
        for (id, preview) in &self.credentials {
            writeln!(f, "[{id}]")?;
            for line in preview.to_string().lines() {
                writeln!(f, "  {line}")?;
            }
        }
        write!(f, "nothing else is sent")
    }
}

/// A checked request with, for each credential query to answer, the
/// presentation request the wallet will answer and its preview.
#[derive(Debug)]
pub struct PresentationPlan {
    request: AuthorizationRequest,
    answers: Vec<(String, PresentationRequest, Preview)>,
    options: PresentOptions,
}

/// Plans the answer to `request` with `wallet`'s credentials under
/// `options`, spending nothing: each credential query's claim sets in the
/// verifier's order, the first the wallet can answer ([`Wallet::preview`],
/// then the `values` of the disclosed claims); the credential queries
/// `credential_sets` require (all, without sets), each set's first option
/// that can be answered in full, and optional sets when they can.
///
/// The wallet answers `dc+sd-jwt` queries for `urn:creditproof:score:2`
/// only, always with holder binding, and does not evaluate
/// `trusted_authorities` (a SHOULD; the verifier checks issuers itself).
/// Refusals: a query creditproof cannot map (`invalid_request`, e.g. a
/// predicate on a claim that is not a committed attribute), and
/// `access_denied` with the wallet's own reason as its cause (no
/// credential, an attribute the credential does not commit to, a
/// threshold off the credential's grid without
/// [`PresentOptions::allow_off_grid`], a value not asked for, ...).
pub fn plan(
    request: AuthorizationRequest,
    wallet: &Wallet,
    options: PresentOptions,
    now: UnixTime,
) -> Result<PresentationPlan, Oid4vpError> {
    let query = request.dcql_query();
    let mut candidates: BTreeMap<&str, Result<(PresentationRequest, Preview), Oid4vpError>> = BTreeMap::new();
    for c in query.credentials() {
        candidates.insert(c.id(), answer_one(c, &request, wallet, options, now));
    }
    let answerable = |id: &str| candidates.get(id).is_some_and(Result::is_ok);
    let first_error = |options: &[Vec<String>]| {
        options
            .iter()
            .flatten()
            .find_map(|id| candidates.get(id.as_str()).and_then(|r| r.as_ref().err().cloned()))
            .unwrap_or_else(|| denied(None, "no credential answers the request"))
    };
    let mut chosen: Vec<&str> = Vec::new();
    if query.credential_sets().is_empty() {
        for c in query.credentials() {
            if let Some(Err(e)) = candidates.get(c.id()) {
                return Err(e.clone());
            }
            chosen.push(c.id());
        }
    } else {
        for set in query.credential_sets() {
            match set.options().iter().find(|o| o.iter().all(|id| answerable(id))) {
                Some(option) => chosen.extend(option.iter().map(String::as_str)),
                None if set.is_required() => return Err(first_error(set.options())),
                None => {}
            }
        }
    }
    let mut answers = Vec::new();
    for id in chosen {
        if answers.iter().any(|(a, _, _): &(String, _, _)| a == id) {
            continue;
        }
        if let Some(Ok((req, preview))) = candidates.remove(id) {
            answers.push((id.to_owned(), req, preview));
        }
    }
    Ok(PresentationPlan { request, answers, options })
}

fn denied(cause: Option<crate::Error>, reason: &str) -> Oid4vpError {
    Oid4vpError::AccessDenied { cause, reason: reason.to_owned() }
}

/// The presentation request and preview answering one credential query.
fn answer_one(
    c: &CredentialQuery,
    request: &AuthorizationRequest,
    wallet: &Wallet,
    options: PresentOptions,
    now: UnixTime,
) -> Result<(PresentationRequest, Preview), Oid4vpError> {
    if c.format() != SD_JWT_FORMAT || !c.vct_values().iter().any(|v| v == SCORE_VCT) {
        return Err(denied(None, &format!("`{}` asks for a credential type this wallet does not hold", c.id())));
    }
    let alternatives = obligations(c).map_err(|e| Oid4vpError::invalid(format!("`{}`: {e}", c.id())))?;
    let mut first = None;
    for o in alternatives {
        let outcome = o
            .request(request.client_id().as_str(), request.nonce())
            .map_err(|e| Oid4vpError::invalid(format!("`{}`: {e}", c.id())))
            .and_then(|r| match wallet.preview(&r, options, now) {
                Ok(p) => match o.value_mismatch(&p.claims) {
                    None => Ok((r, p)),
                    Some(name) => Err(denied(None, &format!("`{name}` does not have a value the verifier asks for"))),
                },
                Err(e) => {
                    let reason = e.to_string();
                    Err(denied(Some(e), &reason))
                }
            });
        match outcome {
            Ok(answer) => return Ok(answer),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    Err(first.unwrap_or_else(|| denied(None, "the query has no claim set")))
}

impl PresentationPlan {
    /// The request being answered.
    pub fn request(&self) -> &AuthorizationRequest {
        &self.request
    }

    /// What answering would reveal, and to whom.
    pub fn preview(&self) -> ConsentPreview {
        ConsentPreview {
            client_id: self.request.client_id().as_str().to_owned(),
            authenticated: self.request.client_id().prefix() != ClientIdPrefix::RedirectUri,
            response_uri: self.request.response_uri().to_owned(),
            tier: query_tier(self.request.dcql_query()),
            credentials: self.answers.iter().map(|(id, _, p)| (id.clone(), p.clone())).collect(),
        }
    }

    /// Makes the presentations (one credential each, spent; the KB-JWT
    /// `aud` is the full client identifier, `nonce` the request's) and the
    /// `direct_post` to the `response_uri`: `vp_token` keyed by credential
    /// query id, each an array of one presentation, and `state`.
    pub fn respond(
        self,
        wallet: &mut Wallet,
        now: UnixTime,
        rng: &mut dyn SecureRng,
    ) -> Result<OutgoingRequest, Oid4vpError> {
        let mut token = BTreeMap::new();
        for (id, request, _) in &self.answers {
            let p = wallet.present(request, self.options, now, rng).map_err(|e| {
                let reason = e.to_string();
                denied(Some(e), &reason)
            })?;
            token.insert(id.clone(), vec![p.as_str().to_owned()]);
        }
        Ok(OutgoingRequest {
            method: "POST",
            url: self.request.response_uri().to_owned(),
            content_type: Some(FORM),
            accept: "application/json",
            body: response_form(&token, self.request.state()),
        })
    }
}

/// The `direct_post` error response telling the verifier the wallet will
/// not answer (`access_denied` when the holder declines). Send it only for
/// a request that passed its checks: its `response_uri` is then the
/// verifier's by the client identifier's rules.
pub fn refusal(request: &AuthorizationRequest, error: &Oid4vpError) -> OutgoingRequest {
    OutgoingRequest {
        method: "POST",
        url: request.response_uri().to_owned(),
        content_type: Some(FORM),
        accept: "application/json",
        body: Zeroizing::new(error.to_form(request.state())),
    }
}

/// Reads the verifier's answer to a `direct_post`: 200 with a JSON object,
/// whose `redirect_uri` (if any) the wallet opens next. A redirect status
/// is an error (§14.4).
pub fn accept_ack(status: u16, body: &[u8]) -> Result<Option<String>, Oid4vpError> {
    if status != 200 {
        return Err(Oid4vpError::ErrorResponse { status, response: ErrorResponse::from_json(body) });
    }
    let limits = Limits::default().with_max_json_depth(4).with_max_string_bytes(4096);
    let m = parse_json_object(body, &limits, "direct_post answer")
        .map_err(|e| Oid4vpError::invalid(format!("the verifier's answer: {e}")))?;
    match m.get("redirect_uri") {
        None => Ok(None),
        Some(Value::String(u)) => crate::protocol::url::check(u, crate::protocol::url::UrlUse::Endpoint)
            .map(|_| Some(u.clone()))
            .map_err(|r| Oid4vpError::invalid(format!("the verifier's redirect_uri: {r}"))),
        Some(_) => Err(Oid4vpError::invalid("the verifier's redirect_uri is not a string")),
    }
}
