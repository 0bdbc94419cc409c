//! OpenID for Verifiable Presentations 1.0 with DCQL, sans-IO: the
//! verifier's and the wallet's side as plain functions over bytes,
//! explicit state, `now` and randomness. No sockets: an HTTP service (the
//! next step) or a lender's own web stack moves the bytes.
//!
//! # The flow (cross-device, by reference, `direct_post`)
//!
//! ```text
//! verifier (frontend)   Oid4vpVerifier::create ─► link openid4vp://?client_id=redirect_uri%3A…&request_uri=…&request_uri_method=post
//! wallet                parse_link ─► fetch_request
//! wallet ─POST─► verifier  request_uri   form: wallet_metadata (+ creditproof_range_predicates), wallet_nonce
//!                          Oid4vpVerifier::request_object ─► unsigned request object (alg none, typ oauth-authz-req+jwt)
//! wallet                PendingRequest::accept ─► plan ─► preview (holder consents) ─► respond
//! wallet ─POST─► verifier  response_uri  form: vp_token={"credit": ["<sd-jwt+kb>"]}, state
//!                          Oid4vpVerifier::direct_post ─► Verdict (recorded) ; 200 {}
//! verifier (frontend)   Oid4vpVerifier::outcome(handle) ─► Pending | Done(Accepted / Rejected(check) / Expired)
//! ```
//!
//! By value, the link carries the request's parameters and there is no
//! `request_uri` step (and so no negotiation).
//!
//! # creditproof's choices
//!
//! * **Client identifiers**: `redirect_uri:` (unauthenticated, unsigned
//!   request objects, `response_uri` = the identifier without its prefix,
//!   for development) and `x509_san_dns:` (feature `x509`, on by default
//!   through `server`/`cli`): request objects signed with the verifier's
//!   key, `x5c` leaf first ([`x509::RequestSigner`]); the wallet checks the
//!   signature, the chain to its verifier trust anchors, the leaf's DNS
//!   name and that the `response_uri` is on that host
//!   ([`x509::VerifierTrust`], [`parse_request_object_with_trust`]). An
//!   unsigned request claiming `x509_san_dns:` is always refused; without
//!   the feature, or without anchors, so is a signed one.
//! * **KB-JWT `aud`** = the full client identifier, prefix included,
//!   checked by [`crate::Verifier`] for every presentation.
//! * **Tiers and negotiation**: a range predicate is a `creditproof_predicate`
//!   member in a DCQL claims query ([`crate::dcql`]); a wallet announces it
//!   can answer one with `creditproof_range_predicates` in its
//!   `wallet_metadata` ([`metadata`]); the verifier serves the Tier-2 query
//!   only to such a wallet, otherwise its Tier-1 fallback, otherwise an
//!   error — never both as alternatives in one query ([`verifier`]).
//! * **Transactions**: 256-bit request id (the `state`), frontend secret
//!   and nonce; the request object served once; one response accepted;
//!   expiry after five minutes by default; state behind [`Oid4vpStore`]
//!   ([`MemoryStore`] in memory).
//!
//! # What the HTTP binding must add
//!
//! `Content-Type: application/oauth-authz-req+jwt` on request objects;
//! `200` and [`DIRECT_POST_ACK`] for a recorded response, the status and
//! JSON of each [`Oid4vpError`] otherwise; `Cache-Control: no-store`;
//! never a redirect from the `request_uri` or the `response_uri`; body
//! limits at least as tight as the ones here; TLS.
//!
//! # A round trip
//!
//! ```
//! use creditproof::dcql::ScoreAsk;
//! use creditproof::hazmat::SeededRng;
//! use creditproof::oid4vp::*;
//! use creditproof::status_list::StatusList;
//! use creditproof::{Claims, Issuer, IssuerSigningKey, PresentOptions, StatusRef, TrustStore, UnixTime, Verifier, Wallet};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut rng = SeededRng::new(b"oid4vp doc");
//! let now = UnixTime(1_795_262_400);
//! // A bureau issues a revocable score credential to a holder.
//! let issuer = Issuer::new("https://bureau.example", IssuerSigningKey::generate(&mut rng))?;
//! let mut wallet = Wallet::new();
//! let key = wallet.generate_key(&mut rng);
//! let mut claims = Claims::new();
//! claims.commit("score", 712, 950)?;
//! let status = StatusRef { uri: "https://bureau.example/status/1".into(), idx: 7 };
//! wallet.store(issuer.issue_with_status(&key, &claims, &status, now, &mut rng)?)?;
//! let mut trust = TrustStore::new();
//! trust.add(issuer.id(), issuer.public_key());
//! let mut checks = Verifier::new(trust);
//! let list = StatusList::new(2, 1024)?;
//! checks.add_status_list(&issuer.sign_status_list(&status.uri, &list, now, 86_400, 3600), now)?;
//!
//! // A lender asks for score>=650.
//! let lender = Oid4vpVerifier::new(ClientId::redirect_uri("https://lender.example/response")?, "https://lender.example/request")?;
//! let mut store = MemoryStore::new();
//! let ask = ScoreAsk::new().predicate("score>=650".parse()?);
//! let created = lender.create(&mut store, NewTransaction::from_ask(&ask)?, now, &mut rng)?;
//!
//! // The wallet, bytes in and bytes out.
//! let RequestLink::ByReference(reference) = parse_link(&created.link)? else { unreachable!() };
//! let (pending, post) = fetch_request(&reference, &WalletMetadata::creditproof(), &mut rng);
//! let request_id = post.url.rsplit('/').next().unwrap();
//! let object = lender.request_object(&mut store, request_id, Some(post.body.as_bytes()), now)?;
//! let request = pending.accept(200, object.as_bytes())?;
//! let plan = plan(request, &wallet, PresentOptions::default(), now)?;
//! println!("{}", plan.preview());
//! let response = plan.respond(&mut wallet, now, &mut rng)?;
//! let verdict = lender.direct_post(&mut store, &checks, response.body.as_bytes(), now)?;
//! assert!(verdict.is_accepted());
//! assert_eq!(lender.outcome(&store, &created.handle, now)?, Outcome::Done(verdict));
//! # Ok(()) }
//! ```

pub mod client_id;
pub mod error;
pub mod metadata;
pub mod request;
pub mod response;
pub mod store;
pub mod verifier;
pub mod wallet;
#[cfg(feature = "x509")]
pub mod x509;

pub use client_id::{ClientId, ClientIdPrefix};
pub use error::{ClientAuthFailure, Oid4vpError};
pub use metadata::{
    ClientMetadata, RangePredicateSupport, RequestUriPost, SdJwtFormat, WalletMetadata, ALGS, RANGE_OPS,
    RANGE_PREDICATES_MEMBER,
};
pub use request::{
    link_by_reference, parse_link, parse_request_object, AuthorizationRequest, RequestLink, RequestReference,
    RequestUriMethod, REQUEST_OBJECT_CONTENT_TYPE, REQUEST_OBJECT_TYP, SCHEME,
};
#[cfg(feature = "x509")]
pub use request::{parse_link_with_trust, parse_request_object_with_trust};
pub use response::{
    response_form, Accepted, ConstraintProblem, DirectPost, Rejection, Verdict, VpTokenProblem,
    MAX_PRESENTATIONS_PER_QUERY, MAX_RESPONSE_BYTES,
};
pub use store::{MemoryStore, Oid4vpStore, Phase, StoreError, Transaction};
pub use verifier::{
    CreatedTransaction, NewTransaction, Oid4vpVerifier, Outcome, TransactionHandle, DEFAULT_TRANSACTION_LIFETIME_SECS,
    DIRECT_POST_ACK,
};
pub use wallet::{
    accept_ack, fetch_request, plan, refusal, ConsentPreview, OutgoingRequest, PendingRequest, PresentationPlan,
};
#[cfg(feature = "x509")]
pub use x509::{RequestSigner, VerifierTrust, X509Error};
