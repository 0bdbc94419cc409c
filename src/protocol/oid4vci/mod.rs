//! OpenID for Verifiable Credential Issuance 1.0, pre-authorized code flow,
//! sans-IO: the issuer's and the wallet's side as plain functions over
//! bytes, explicit state, `now` and randomness. No sockets: an HTTP service
//! (the next step) or a bureau's own web stack moves the bytes.
//!
//! # The flow
//!
//! ```text
//! issuer (back office)   Oid4vciIssuer::create_offer ─► CredentialOffer (+ tx_code, second channel)
//! wallet                 parse_offer_link / CredentialOffer::from_json
//! wallet ─GET─► issuer   /.well-known/openid-credential-issuer   credential_issuer_metadata
//! wallet ─GET─► issuer   /.well-known/oauth-authorization-server authorization_server_metadata
//! wallet ─GET─► issuer   /.well-known/jwt-vc-issuer              jwt_vc_issuer_metadata → TrustStore
//! wallet ─POST─► issuer  /token       form: grant_type, pre-authorized_code, tx_code   → Oid4vciIssuer::token
//! wallet ─POST─► issuer  /nonce       (empty)                                          → Oid4vciIssuer::nonce
//! wallet ─POST─► issuer  /credential  Bearer; {credential_configuration_id, proofs.jwt[N]} → Oid4vciIssuer::credential
//! wallet                 PendingCredentials::accept: verify all N, store all N with their range secrets
//! ```
//!
//! The issuer is its own authorization server and accepts anonymous
//! wallets (no `client_id`). A credential request carries up to the batch
//! size (16 by default) of `jwt` proofs, all over one `c_nonce`; the
//! response carries one credential per proven key, each with its range
//! secrets in the `creditproof_range_secrets` member ([`credential`]).
//!
//! # State
//!
//! Offers, access tokens and used holder keys live behind
//! [`Oid4vciStore`] ([`MemoryStore`] in memory; a service puts them in
//! SQLite or PostgreSQL), keyed by digests of the secrets, never the
//! secrets. Status-list entries come from a [`StatusSource`] so that the
//! issuer registry can allocate them and sign in one transaction. How
//! replay is stopped: [`issuer`].
//!
//! # What the HTTP binding must add
//!
//! `Cache-Control: no-store` on the token, nonce and credential responses
//! (errors included); the status, body and `WWW-Authenticate` of each
//! [`Oid4vciError`]; body size limits at least as tight as the ones here;
//! TLS.
//!
//! # A round trip
//!
//! ```
//! use creditproof::hazmat::SeededRng;
//! use creditproof::oid4vci::*;
//! use creditproof::{Claims, Issuer, IssuerSigningKey, TrustStore, UnixTime, Wallet};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut rng = SeededRng::new(b"oid4vci doc");
//! let now = UnixTime(1_795_262_400);
//! let issuer = Issuer::new("https://bureau.example", IssuerSigningKey::generate(&mut rng))?;
//! let vci = Oid4vciIssuer::new(issuer, Oid4vciConfig::default())?;
//! let mut store = MemoryStore::new();
//! let mut claims = Claims::new();
//! claims.commit("score", 712, 950)?.insert("tier", "A")?;
//! let created = vci.create_offer(&mut store, NewOffer::new("person-17", claims), now, &mut rng)?;
//!
//! // The wallet, bytes in and bytes out.
//! let OfferLink::ByValue(offer) = parse_offer_link(&created.offer().to_link())? else { unreachable!() };
//! let md = CredentialIssuerMetadata::from_json(vci.credential_issuer_metadata().to_json().to_string().as_bytes(), offer.credential_issuer())?;
//! let asm = AuthorizationServerMetadata::from_json(vci.authorization_server_metadata().to_json().to_string().as_bytes(), md.authorization_server())?;
//! let session = IssuanceSession::new(offer, &md, &asm)?;
//! let token = session.token_request(None)?;
//! let answer = vci.token(&mut store, token.body.as_bytes(), now, &mut rng)?;
//! let authorized = session.accept_token_response(200, answer.to_json().as_bytes())?;
//! let nonce = authorized.accept_nonce_response(200, vci.nonce(now, &mut rng).to_json().as_bytes())?;
//! let mut wallet = Wallet::new();
//! let (pending, request) = authorized.credential_request(&mut wallet, 4, Some(&nonce), now, &mut rng)?;
//! let response = vci.credential(&mut store, &mut NoStatus, request.authorization.as_deref().map(|s| s.as_str()), request.body.as_bytes(), now, &mut rng)?;
//! let mut trust = TrustStore::new();
//! trust.add_metadata(vci.jwt_vc_issuer_metadata().to_string().as_bytes(), &Default::default())?;
//! assert_eq!(pending.accept(200, response.to_json().as_bytes(), &trust, &mut wallet, now)?, 4);
//! # Ok(()) }
//! ```

pub mod config;
pub mod credential;
pub mod error;
pub mod issuer;
pub mod metadata;
pub mod nonce;
pub mod offer;
pub mod proof;
pub mod secret;
pub mod store;
pub mod token;
pub mod wallet;

pub use config::{Oid4vciConfig, DEFAULT_BATCH_SIZE, DEFAULT_CONFIGURATION_ID};
pub use credential::{CredentialRequest, CredentialResponse, CredentialTarget, RANGE_SECRETS_MEMBER};
pub use error::{ErrorResponse, GrantProblem, Oid4vciError, TokenProblem, WalletError};
pub use issuer::{Batch, CreatedOffer, NewOffer, NoStatus, Oid4vciIssuer, SignBatch, StatusSource};
pub use metadata::{
    authorization_server_metadata_url, credential_issuer_metadata_url, jwt_vc_issuer_metadata_url,
    AuthorizationServerMetadata, CredentialConfiguration, CredentialIssuerMetadata, SIGNING_ALGS,
};
pub use nonce::NonceResponse;
pub use offer::{
    offer_link_by_reference, parse_offer_link, CredentialOffer, OfferLink, PreAuthorizedGrant, TxCodeSpec, TxInputMode,
    OFFER_SCHEME, PRE_AUTHORIZED_GRANT,
};
pub use secret::{AccessToken, CNonce, PreAuthorizedCode, SecretDigest, TxCode};
pub use store::{Grant, KeyClaim, MemoryStore, Offer, OfferStatus, Oid4vciStore, StoreError};
pub use token::{bearer_header, TokenRequest, TokenResponse};
pub use wallet::{check_fetch_url, origin_of, Authorized, IssuanceSession, PendingCredentials, PostRequest};
