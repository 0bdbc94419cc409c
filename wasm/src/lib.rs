//! The creditproof holder in the browser: a thin `wasm-bindgen` binding of
//! [`creditproof::Wallet`] and the library's sans-IO OpenID4VCI and
//! OpenID4VP wallet steps (issue 19).
//!
//! Every decision is the library's: which URL to fetch, what a response
//! means, which credential answers a request, whether a threshold is on
//! the grid, what the presentation reveals. JavaScript (`web/wallet/`)
//! only moves bytes: it performs the `fetch` a step returns and hands the
//! status and body to the next step, and it keeps the wallet's secret
//! JSON in IndexedDB.
//!
//! A step answers a JSON string, one of:
//!
//! ```text
//! {"fetch": {"method", "url", "headers": {...}, "body"}}   do this, then call next(status, body)
//! {"need_tx_code": {"description", "length", "input_mode"}} ask the holder, then set_tx_code + next(0, [])
//! {"consent": {...}}                                       show it; then consent() or decline()
//! {"refused": {"reason", "check", "nearest"}, "fetch": …}  show the reason; post the refusal
//! {"done": {...}}
//! ```
//!
//! Time comes from `Date.now()` (std's clock panics on this target);
//! randomness from `crypto.getRandomValues` (ring's `wasm32_unknown_unknown_js`).

#![forbid(unsafe_code)]

use creditproof::oid4vci::{
    authorization_server_metadata_url, credential_issuer_metadata_url, jwt_vc_issuer_metadata_url, parse_offer_link,
    AuthorizationServerMetadata, Authorized, CredentialIssuerMetadata, CredentialOffer, ErrorResponse, IssuanceSession,
    OfferLink, PendingCredentials, PostRequest, TxCode, TxInputMode, WalletError,
};
use creditproof::oid4vp::{
    accept_ack, fetch_request, parse_link, plan, refusal, AuthorizationRequest, Oid4vpError, OutgoingRequest,
    PendingRequest, PresentationPlan, RequestLink, WalletMetadata,
};
use creditproof::{
    read_breakdown_unverified, CredentialState, IssuerMetadata, Limits, PresentOptions, SystemRng, TrustStore,
    UnixTime, Wallet, REFILL_BELOW,
};
use serde_json::{json, Map, Value};
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

/// Now, from the browser's clock.
#[cfg(target_arch = "wasm32")]
fn now() -> UnixTime {
    let ms = js_sys::Date::now();
    // Date.now() is a non-negative integer of milliseconds (< 2^53).
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    UnixTime(if ms.is_finite() && ms > 0.0 { (ms / 1000.0) as u64 } else { 0 })
}

/// Now, from the system clock (native builds: the binding's tests).
#[cfg(not(target_arch = "wasm32"))]
fn now() -> UnixTime {
    UnixTime::now()
}

fn err(message: impl std::fmt::Display) -> JsError {
    JsError::new(&message.to_string())
}

fn vci_error(e: &WalletError) -> JsError {
    err(format!("{e} ({})", e.check()))
}

fn vp_error(e: &Oid4vpError) -> JsError {
    err(format!("{e} ({})", e.check()))
}

fn get(url: &str) -> Value {
    json!({"fetch": {"method": "GET", "url": url, "headers": {"Accept": "application/json"}, "body": ""}})
}

fn post_vci(r: &PostRequest) -> Value {
    let mut headers = Map::new();
    headers.insert("Accept".into(), json!("application/json"));
    if let Some(ct) = r.content_type {
        headers.insert("Content-Type".into(), json!(ct));
    }
    if let Some(a) = &r.authorization {
        headers.insert("Authorization".into(), json!(a.as_str()));
    }
    json!({"fetch": {"method": "POST", "url": r.url, "headers": headers, "body": r.body.as_str()}})
}

fn out_vp(r: &OutgoingRequest) -> Value {
    let mut headers = Map::new();
    headers.insert("Accept".into(), json!(r.accept));
    if let Some(ct) = r.content_type {
        headers.insert("Content-Type".into(), json!(ct));
    }
    json!({"fetch": {"method": r.method, "url": r.url, "headers": headers, "body": r.body.as_str()}})
}

fn ok_body<'a>(what: &str, status: u16, body: &'a [u8]) -> Result<&'a [u8], JsError> {
    if status == 200 {
        Ok(body)
    } else {
        Err(err(format!("{what}: the issuer answered {status}: {}", ErrorResponse::from_json(body))))
    }
}

/// The holder's wallet: keys and credentials, in memory. JavaScript keeps
/// [`WalletCore::to_secret_json`] (private keys included) in IndexedDB.
#[wasm_bindgen]
pub struct WalletCore {
    wallet: Wallet,
}

impl Default for WalletCore {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl WalletCore {
    /// An empty wallet.
    #[wasm_bindgen(constructor)]
    pub fn new() -> WalletCore {
        WalletCore { wallet: Wallet::new() }
    }

    /// The wallet saved by [`WalletCore::to_secret_json`].
    pub fn load(secret_json: &str) -> Result<WalletCore, JsError> {
        Wallet::from_secret_json(secret_json.as_bytes()).map(|wallet| WalletCore { wallet }).map_err(err)
    }

    /// The whole wallet, private keys included: a secret.
    #[wasm_bindgen(js_name = toSecretJson)]
    pub fn to_secret_json(&self) -> String {
        let s: Zeroizing<String> = self.wallet.to_secret_json();
        s.as_str().to_owned()
    }

    /// Stores a batch file (`creditproof holder`'s format): credentials
    /// whose keys this wallet holds. Answers `{"stored", "superseded"}`.
    #[wasm_bindgen(js_name = storeBatch)]
    pub fn store_batch(&mut self, batch_json: &str) -> Result<String, JsError> {
        let batch = creditproof::Batch::parse(batch_json.as_bytes(), &Limits::default()).map_err(err)?;
        let s = self.wallet.store_batch(batch).map_err(err)?;
        Ok(json!({"stored": s.stored, "superseded": s.superseded}).to_string())
    }

    /// The credentials, as the holder manages them: issuer, type, policy,
    /// issued and valid-until (Unix seconds), spent, known status, state.
    pub fn list(&self) -> String {
        let items: Vec<Value> = self
            .wallet
            .list(now())
            .into_iter()
            .map(|c| {
                json!({
                    "issuer": c.issuer,
                    "vct": c.vct,
                    "policy": c.policy,
                    "batch": c.batch,
                    "issued": c.issued.as_secs(),
                    "expires": c.expires.as_secs(),
                    "has_status": c.has_status,
                    "known_status": c.known_status.map(|(s, _)| s.to_string()),
                    "spent": c.spent,
                    "state": c.state.to_string(),
                })
            })
            .collect();
        Value::Array(items).to_string()
    }

    /// Per issuer and policy: unspent, spent, expired, revoked,
    /// superseded, suspended, and whether to ask for a new batch (the
    /// refill hint: fewer than `refill_below` unspent).
    pub fn inventory(&self) -> String {
        let items: Vec<Value> = self
            .wallet
            .inventory(now())
            .into_iter()
            .map(|i| {
                json!({
                    "issuer": i.issuer,
                    "policy": i.policy,
                    "unspent": i.unspent,
                    "spent": i.spent,
                    "expired": i.expired,
                    "revoked": i.revoked,
                    "superseded": i.superseded,
                    "suspended": i.suspended,
                    "needs_refill": i.needs_refill(),
                    "refill_below": REFILL_BELOW,
                })
            })
            .collect();
        Value::Array(items).to_string()
    }

    /// The status lists to fetch to learn the credentials' status: for
    /// each (issuer, list), the list's URL and the issuer's
    /// `jwt-vc-issuer` metadata URL (its keys), both passing the wallet's
    /// fetch rules (https, or http to loopback).
    #[wasm_bindgen(js_name = statusSources)]
    pub fn status_sources(&self) -> String {
        let items: Vec<Value> = self
            .wallet
            .status_sources()
            .into_iter()
            .filter_map(|(issuer, uri)| {
                let keys = jwt_vc_issuer_metadata_url(&issuer).ok()?;
                creditproof::oid4vci::check_fetch_url(&uri).ok()?;
                Some(json!({"issuer": issuer, "uri": uri, "keys": keys}))
            })
            .collect();
        Value::Array(items).to_string()
    }

    /// Applies a status list token fetched from `uri` for `issuer`'s
    /// credentials, checked against the keys of the issuer's
    /// `jwt-vc-issuer` metadata (`metadata_json`, fetched from it) as a
    /// verifier checks one. Answers how many credentials' known status
    /// changed.
    #[wasm_bindgen(js_name = applyStatusList)]
    pub fn apply_status_list(
        &mut self,
        issuer: &str,
        uri: &str,
        token: &str,
        metadata_json: &[u8],
    ) -> Result<usize, JsError> {
        let limits = Limits::default();
        let published = IssuerMetadata::from_json(metadata_json, &limits).map_err(err)?;
        if published.issuer() != issuer {
            return Err(err(format!("the keys are published for {}, not for {issuer}", published.issuer())));
        }
        let mut trust = TrustStore::new();
        trust.add_metadata(metadata_json, &limits).map_err(err)?;
        let mut lists = creditproof::StatusLists::new();
        lists
            .add_fetched(issuer, uri, token.trim(), &trust, &creditproof::VerifierOptions::default(), now())
            .map_err(err)?;
        Ok(self.wallet.set_status_lists(&lists))
    }

    /// How many credentials could still be presented.
    pub fn unspent(&self) -> usize {
        self.wallet.list(now()).iter().filter(|c| c.state == CredentialState::Unused).count()
    }
}

/// Reads a signed score breakdown (`creditproof-breakdown+jwt`) for the
/// holder to review: `{"holder", "report"}` with the policy, the items
/// and the total. The signature is not checked here (the issuer re-checks
/// every disputed reference against its own records).
#[wasm_bindgen(js_name = readBreakdown)]
pub fn read_breakdown(token: &str) -> Result<String, JsError> {
    let (sub, report) = read_breakdown_unverified(token.trim(), &Limits::default()).map_err(err)?;
    // The tier bands, when the policy is one creditproof ships (the
    // report names only the tier reached).
    let tiers = match creditproof::policy::shipped(&report.policy_id) {
        Some(Ok(p)) if p.version() == report.policy_version => serde_json::to_value(p.tiers()).map_err(err)?,
        _ => Value::Null,
    };
    let report = serde_json::to_value(&report).map_err(err)?;
    Ok(json!({"holder": sub, "report": report, "tiers": tiers}).to_string())
}

/// A dispute of one entry of a breakdown, in the library's format
/// (`creditproof::policy::Dispute`), for the holder to send the issuer.
#[wasm_bindgen(js_name = disputeEntry)]
pub fn dispute_entry(token: &str, reference: &str, reason: &str) -> Result<String, JsError> {
    let (_, report) = read_breakdown_unverified(token.trim(), &Limits::default()).map_err(err)?;
    let dispute = creditproof::policy::Dispute::new(&report, &[(reference, reason)]).map_err(err)?;
    serde_json::to_string_pretty(&dispute).map_err(err)
}

enum Vci {
    Start { link: String },
    Offer,
    IssuerMetadata { offer: CredentialOffer },
    AsMetadata { offer: CredentialOffer, metadata: Box<CredentialIssuerMetadata> },
    Keys { offer: CredentialOffer, metadata: Box<CredentialIssuerMetadata>, as_metadata: AuthorizationServerMetadata },
    Ready { session: IssuanceSession },
    Token { session: IssuanceSession },
    Nonce { authorized: Authorized },
    Credential { authorized: Authorized, pending: PendingCredentials },
    Done,
}

/// Receiving a batch: the OpenID4VCI pre-authorized code flow, one step
/// per fetch. Start with [`Receiving::new`] and call [`Receiving::next`]
/// with each answer.
#[wasm_bindgen]
pub struct Receiving {
    state: Vci,
    issuer: String,
    trust: TrustStore,
    tx_code: Option<String>,
    count: usize,
    retries: u8,
}

#[wasm_bindgen]
impl Receiving {
    /// Follows an `openid-credential-offer://` link (or a pasted offer).
    #[wasm_bindgen(constructor)]
    pub fn new(link: &str) -> Receiving {
        Receiving {
            state: Vci::Start { link: link.trim().to_owned() },
            issuer: String::new(),
            trust: TrustStore::new(),
            tx_code: None,
            count: 0,
            retries: 0,
        }
    }

    /// The transaction code the holder entered.
    #[wasm_bindgen(js_name = setTxCode)]
    pub fn set_tx_code(&mut self, code: &str) {
        self.tx_code = Some(code.trim().to_owned());
    }

    /// The next step, given the answer (HTTP status and body) to the last
    /// `fetch` (anything for the first call).
    pub fn next(&mut self, wallet: &mut WalletCore, status: u16, body: &[u8]) -> Result<String, JsError> {
        let state = std::mem::replace(&mut self.state, Vci::Done);
        let r = self.step(state, wallet, status, body);
        r.map(|v| v.to_string())
    }
}

impl Receiving {
    fn after_offer(&mut self, offer: CredentialOffer) -> Result<Value, JsError> {
        self.issuer = offer.credential_issuer().to_owned();
        let url = credential_issuer_metadata_url(&self.issuer).map_err(|e| vci_error(&e))?;
        self.state = Vci::IssuerMetadata { offer };
        Ok(get(&url))
    }

    fn step(&mut self, state: Vci, wallet: &mut WalletCore, status: u16, body: &[u8]) -> Result<Value, JsError> {
        let limits = Limits::default();
        match state {
            Vci::Start { link } => match parse_offer_link(&link).map_err(|e| vci_error(&e))? {
                OfferLink::ByValue(offer) => self.after_offer(offer),
                OfferLink::ByReference(url) => {
                    self.state = Vci::Offer;
                    Ok(get(&url))
                }
            },
            Vci::Offer => {
                let offer =
                    CredentialOffer::from_json(ok_body("the offer", status, body)?).map_err(|e| vci_error(&e))?;
                self.after_offer(offer)
            }
            Vci::IssuerMetadata { offer } => {
                let body = ok_body("the issuer's metadata", status, body)?;
                let metadata = CredentialIssuerMetadata::from_json(body, &self.issuer).map_err(|e| vci_error(&e))?;
                let url =
                    authorization_server_metadata_url(metadata.authorization_server()).map_err(|e| vci_error(&e))?;
                self.state = Vci::AsMetadata { offer, metadata: Box::new(metadata) };
                Ok(get(&url))
            }
            Vci::AsMetadata { offer, metadata } => {
                let body = ok_body("the authorization server's metadata", status, body)?;
                let as_metadata = AuthorizationServerMetadata::from_json(body, metadata.authorization_server())
                    .map_err(|e| vci_error(&e))?;
                let url = jwt_vc_issuer_metadata_url(&self.issuer).map_err(|e| vci_error(&e))?;
                self.state = Vci::Keys { offer, metadata, as_metadata };
                Ok(get(&url))
            }
            Vci::Keys { offer, metadata, as_metadata } => {
                let keys = ok_body("the issuer's keys", status, body)?;
                let published = IssuerMetadata::from_json(keys, &limits).map_err(err)?;
                if published.issuer() != self.issuer {
                    return Err(err(format!(
                        "the keys are published for {}, not for {}",
                        published.issuer(),
                        self.issuer
                    )));
                }
                self.trust.add_metadata(keys, &limits).map_err(err)?;
                let session = IssuanceSession::new(offer, &metadata, &as_metadata).map_err(|e| vci_error(&e))?;
                self.ready(session)
            }
            Vci::Ready { session } => self.ready(session),
            Vci::Token { session } => {
                let authorized = session.accept_token_response(status, body).map_err(|e| vci_error(&e))?;
                self.nonce_or_credential(authorized, wallet)
            }
            Vci::Nonce { authorized } => {
                let nonce = authorized.accept_nonce_response(status, body).map_err(|e| vci_error(&e))?;
                self.credential(authorized, wallet, Some(nonce))
            }
            Vci::Credential { authorized, pending } => {
                if status == 400 && ErrorResponse::from_json(body).error == "invalid_nonce" && self.retries == 0 {
                    self.retries += 1;
                    return self.nonce_or_credential(authorized, wallet);
                }
                let n =
                    pending.accept(status, body, &self.trust, &mut wallet.wallet, now()).map_err(|e| vci_error(&e))?;
                self.state = Vci::Done;
                Ok(json!({"done": {"stored": n, "issuer": self.issuer}}))
            }
            Vci::Done => Err(err("this offer was received already")),
        }
    }

    /// The token request, once the holder gave the code if one is needed.
    fn ready(&mut self, session: IssuanceSession) -> Result<Value, JsError> {
        let spec = session.offer().pre_authorized().and_then(|g| g.tx_code()).cloned();
        if let (Some(spec), None) = (&spec, &self.tx_code) {
            let mode = match spec.input_mode {
                Some(TxInputMode::Text) => "text",
                _ => "numeric",
            };
            self.state = Vci::Ready { session };
            return Ok(json!({"need_tx_code": {
                "description": spec.description, "length": spec.length, "input_mode": mode,
            }}));
        }
        let code = if spec.is_some() { self.tx_code.take().map(TxCode::new) } else { None };
        let request = session.token_request(code).map_err(|e| vci_error(&e))?;
        self.count = session.batch_size();
        self.state = Vci::Token { session };
        Ok(post_vci(&request))
    }

    /// A fresh `c_nonce` first when the issuer has a nonce endpoint.
    fn nonce_or_credential(&mut self, authorized: Authorized, wallet: &mut WalletCore) -> Result<Value, JsError> {
        match authorized.nonce_request() {
            Some(request) => {
                self.state = Vci::Nonce { authorized };
                Ok(post_vci(&request))
            }
            None => self.credential(authorized, wallet, None),
        }
    }

    /// The credential request: the issuer's batch size of fresh keys, each
    /// proving itself.
    fn credential(
        &mut self,
        authorized: Authorized,
        wallet: &mut WalletCore,
        nonce: Option<creditproof::oid4vci::CNonce>,
    ) -> Result<Value, JsError> {
        let (pending, request) = authorized
            .credential_request(&mut wallet.wallet, self.count, nonce.as_ref(), now(), &mut SystemRng::new())
            .map_err(|e| vci_error(&e))?;
        self.state = Vci::Credential { authorized, pending };
        Ok(post_vci(&request))
    }
}

/// A predicate in plain words (the library's parse of it).
fn predicate_words(p: &str) -> String {
    let words = |a: &str| a.replace('_', " ");
    match p.parse::<creditproof::Predicate>() {
        Ok(creditproof::Predicate::AtLeast { attribute, threshold }) => {
            format!("Your {} is at least {threshold}", words(&attribute))
        }
        Ok(creditproof::Predicate::AtMost { attribute, threshold }) => {
            format!("Your {} is at most {threshold}", words(&attribute))
        }
        Ok(creditproof::Predicate::Between { attribute, low, high }) => {
            format!("Your {} is between {low} and {high}", words(&attribute))
        }
        Ok(creditproof::Predicate::Perk { name }) => format!("You qualify for: {}", words(&name)),
        _ => format!("This is true of your credential: {p}"),
    }
}

enum Vp {
    Start { link: String },
    Fetching { pending: PendingRequest },
    Consent { plan: Box<PresentationPlan> },
    Sent,
    Done,
}

/// Answering a verifier: the OpenID4VP wallet steps. Start with
/// [`Answering::new`], call [`Answering::next`] until it answers
/// `consent` (or `refused`), then [`Answering::consent`] or
/// [`Answering::decline`], and [`Answering::next`] with the verifier's
/// answer to the post.
#[wasm_bindgen]
pub struct Answering {
    state: Vp,
    request: Option<AuthorizationRequest>,
}

#[wasm_bindgen]
impl Answering {
    /// Follows an `openid4vp://` link (or a pasted request).
    #[wasm_bindgen(constructor)]
    pub fn new(link: &str) -> Answering {
        Answering { state: Vp::Start { link: link.trim().to_owned() }, request: None }
    }

    /// The next step, given the answer to the last `fetch`.
    pub fn next(&mut self, wallet: &WalletCore, status: u16, body: &[u8]) -> Result<String, JsError> {
        let state = std::mem::replace(&mut self.state, Vp::Done);
        let request = match state {
            Vp::Start { link } => match parse_link(&link).map_err(|e| vp_error(&e))? {
                RequestLink::ByValue(request) => request,
                RequestLink::ByReference(reference) => {
                    let (pending, out) =
                        fetch_request(&reference, &WalletMetadata::creditproof(), &mut SystemRng::new());
                    self.state = Vp::Fetching { pending };
                    return Ok(out_vp(&out).to_string());
                }
            },
            Vp::Fetching { pending } => pending.accept(status, body).map_err(|e| vp_error(&e))?,
            Vp::Consent { plan } => {
                self.state = Vp::Consent { plan };
                return Err(err("waiting for the holder's consent"));
            }
            Vp::Sent => {
                let redirect = accept_ack(status, body).map_err(|e| vp_error(&e))?;
                return Ok(json!({"done": {"redirect_uri": redirect}}).to_string());
            }
            Vp::Done => return Err(err("this request was answered already")),
        };
        self.request = Some(request.clone());
        match plan(request.clone(), &wallet.wallet, PresentOptions::default(), now()) {
            Ok(plan) => {
                let consent = consent_json(&plan);
                self.state = Vp::Consent { plan: Box::new(plan) };
                Ok(json!({ "consent": consent }).to_string())
            }
            Err(e) => {
                // The verifier learns only that the wallet did not answer.
                self.state = Vp::Sent;
                Ok(refused_json(&request, &e).to_string())
            }
        }
    }

    /// The holder agreed: makes the presentations (spending the
    /// credentials: save the wallet before sending) and the `direct_post`.
    pub fn consent(&mut self, wallet: &mut WalletCore) -> Result<String, JsError> {
        let Vp::Consent { plan } = std::mem::replace(&mut self.state, Vp::Done) else {
            return Err(err("nothing to consent to"));
        };
        let out = plan.respond(&mut wallet.wallet, now(), &mut SystemRng::new()).map_err(|e| vp_error(&e))?;
        self.state = Vp::Sent;
        Ok(out_vp(&out).to_string())
    }

    /// The holder declined: the `access_denied` error response.
    pub fn decline(&mut self) -> Result<String, JsError> {
        let (Vp::Consent { .. }, Some(request)) = (std::mem::replace(&mut self.state, Vp::Done), &self.request) else {
            return Err(err("nothing to decline"));
        };
        let e = Oid4vpError::AccessDenied { cause: None, reason: "the holder declined".into() };
        self.state = Vp::Sent;
        Ok(out_vp(&refusal(request, &e)).to_string())
    }
}

fn refused_json(request: &AuthorizationRequest, e: &Oid4vpError) -> Value {
    let (check, reason) = match e {
        Oid4vpError::AccessDenied { cause: Some(c), .. } => (c.check().to_owned(), c.to_string()),
        other => (other.check().to_owned(), other.to_string()),
    };
    let mut v = out_vp(&refusal(request, e));
    v["refused"] = json!({
        "verifier": request.client_id().as_str(),
        "check": check,
        "reason": reason,
    });
    v
}

/// The consent screen's content: the verifier, each fact to be proven and
/// each claim to be disclosed in plain words, and what stays private.
fn consent_json(plan: &PresentationPlan) -> Value {
    let p = plan.preview();
    let credentials: Vec<Value> = p
        .credentials
        .iter()
        .map(|(id, preview)| {
            let facts: Vec<Value> =
                preview.predicates.iter().map(|q| json!({"predicate": q, "words": predicate_words(q)})).collect();
            let disclosed: Vec<Value> = preview
                .claims
                .iter()
                .map(|(k, v)| {
                    let shown = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    json!({"claim": k, "value": v, "words": format!("Your {}: {shown}", k.replace('_', " "))})
                })
                .collect();
            let mut private = Vec::new();
            if !preview.claims.contains_key("score") {
                private.push("Your exact score".to_owned());
            }
            private.push("Every other claim in your credential".to_owned());
            private.push("Your other credentials (each is used once, so answers cannot be linked)".to_owned());
            let grid: Vec<Value> = preview
                .grid
                .iter()
                .map(
                    |g| json!({"predicate": g.predicate, "on_grid": g.on_grid, "cells": g.cells, "nearest": g.nearest}),
                )
                .collect();
            json!({
                "id": id,
                "issuer": preview.issuer,
                "facts": facts,
                "disclosed": disclosed,
                "private": private,
                "grid": grid,
                "linkable": preview.linkable,
            })
        })
        .collect();
    json!({
        "verifier": p.client_id,
        "authenticated": p.authenticated,
        "response_uri": p.response_uri,
        "credentials": credentials,
    })
}

#[cfg(test)]
mod tests {
    //! The binding natively, against the library's own OpenID4VP verifier:
    //! the consent preview in words, the presentation accepted, the
    //! credential spent, and an off-grid threshold refused with its
    //! reason and an `access_denied` post. (Error paths build a `JsError`,
    //! which needs JavaScript: they run in the browser, web/run.sh.)
    use super::*;
    use creditproof::dcql::ScoreAsk;
    use creditproof::oid4vp::{ClientId, MemoryStore, NewTransaction, Oid4vpVerifier};
    use creditproof::{Claims, Issuer, IssuerSigningKey, Verifier, VerifierOptions};

    const RESPONSE_URI: &str = "https://desk.example/response";

    fn holder(score: u64) -> (WalletCore, Verifier<TrustStore>) {
        let mut rng = SystemRng::new();
        let issuer = Issuer::new("https://bureau.example", IssuerSigningKey::generate(&mut rng)).unwrap();
        let mut w = WalletCore::new();
        let key = w.wallet.generate_key(&mut rng);
        let mut claims = Claims::new();
        claims.commit("score", score, 950).unwrap();
        claims.insert("tier", "A").unwrap();
        w.wallet.store(issuer.issue(&key, &claims, UnixTime::now(), &mut rng).unwrap()).unwrap();
        let mut trust = TrustStore::new();
        trust.add(issuer.id(), issuer.public_key());
        (w, Verifier::with_options(trust, VerifierOptions::default().allow_missing_status()))
    }

    fn ask(predicate: &str) -> (Oid4vpVerifier, MemoryStore, String) {
        let v =
            Oid4vpVerifier::new(ClientId::redirect_uri(RESPONSE_URI).unwrap(), "https://desk.example/request").unwrap();
        let mut store = MemoryStore::default();
        let new = NewTransaction::from_ask(&ScoreAsk::new().predicate(predicate.parse().unwrap())).unwrap().by_value();
        let created = v.create(&mut store, new, UnixTime::now(), &mut SystemRng::new()).unwrap();
        (v, store, created.link)
    }

    fn step(s: Result<String, JsError>) -> Value {
        serde_json::from_str(&s.unwrap_or_else(|_| panic!("a step failed"))).unwrap()
    }

    #[test]
    fn consent_names_the_facts_then_the_answer_is_accepted_and_spent() {
        let (mut w, checks) = holder(712);
        let (v, mut store, link) = ask("score>=650");
        let mut a = Answering::new(&link);
        let r = step(a.next(&w, 0, &[]));
        let c = &r["consent"];
        assert_eq!(c["verifier"], format!("redirect_uri:{RESPONSE_URI}"));
        assert_eq!(c["authenticated"], false);
        assert_eq!(c["credentials"][0]["facts"][0]["words"], "Your score is at least 650");
        assert_eq!(c["credentials"][0]["disclosed"], json!([]));
        assert_eq!(c["credentials"][0]["private"][0], "Your exact score");
        assert_eq!(w.unspent(), 1);
        let out = step(a.consent(&mut w));
        assert_eq!(out["fetch"]["url"], RESPONSE_URI);
        assert_eq!(w.unspent(), 0, "spent before it is sent");
        let body = out["fetch"]["body"].as_str().unwrap();
        let verdict = v.direct_post(&mut store, &checks, body.as_bytes(), UnixTime::now()).unwrap();
        assert!(verdict.is_accepted(), "{}", verdict.to_json());
        let done = step(a.next(&w, 200, b"{}"));
        assert_eq!(done["done"]["redirect_uri"], Value::Null);
    }

    #[test]
    fn an_off_grid_threshold_is_refused_with_the_reason() {
        let (w, checks) = holder(712);
        let (v, mut store, link) = ask("score>=651");
        let mut a = Answering::new(&link);
        let r = step(a.next(&w, 0, &[]));
        assert_eq!(r["refused"]["check"], "holder.off_grid", "{r}");
        assert!(r["refused"]["reason"].as_str().unwrap().contains("grid"), "{r}");
        let body = r["fetch"]["body"].as_str().unwrap();
        assert!(body.contains("error=access_denied"), "{body}");
        let verdict = v.direct_post(&mut store, &checks, body.as_bytes(), UnixTime::now()).unwrap();
        assert!(!verdict.is_accepted());
        assert_eq!(w.unspent(), 1, "nothing spent");
    }

    #[test]
    fn a_declined_request_spends_nothing_and_posts_access_denied() {
        let (w, checks) = holder(712);
        let (v, mut store, link) = ask("score>=650");
        let mut a = Answering::new(&link);
        assert!(step(a.next(&w, 0, &[])).get("consent").is_some());
        let out = step(a.decline());
        let body = out["fetch"]["body"].as_str().unwrap();
        assert!(body.contains("error=access_denied"), "{body}");
        assert_eq!(w.unspent(), 1);
        let verdict = v.direct_post(&mut store, &checks, body.as_bytes(), UnixTime::now()).unwrap();
        assert!(!verdict.is_accepted());
    }

    #[test]
    fn predicates_in_plain_words() {
        assert_eq!(predicate_words("score>=650"), "Your score is at least 650");
        assert_eq!(predicate_words("score<=800"), "Your score is at most 800");
        assert_eq!(predicate_words("600<=score<=800"), "Your score is between 600 and 800");
        assert_eq!(predicate_words("perk:no_deposit_rental"), "You qualify for: no deposit rental");
    }
}
