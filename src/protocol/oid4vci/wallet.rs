//! The wallet's side, as a sequence of steps that each take the bytes the
//! transport fetched and return the next request to send. Order matters,
//! so each step is its own type: no credential request before a token.
//!
//! ```text
//! parse_offer_link ─► CredentialOffer (GET credential_offer_uri if by reference)
//! CredentialIssuerMetadata::from_json(…, offer issuer)   GET /.well-known/openid-credential-issuer
//! AuthorizationServerMetadata::from_json(…)              GET /.well-known/oauth-authorization-server
//! IssuanceSession::new ─► token_request ─► accept_token_response ─► Authorized
//! Authorized::nonce_request ─► accept_nonce_response ─► c_nonce
//! Authorized::credential_request (N fresh keys, N proofs) ─► PendingCredentials
//! PendingCredentials::accept (verify all, then store all in the Wallet)
//! ```

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;
use zeroize::Zeroizing;

use crate::format::jws::UnverifiedJws;
use crate::format::keys::{Algorithm, HolderPublicKey};
use crate::format::rng::SecureRng;
use crate::format::sd_jwt::{cnf_holder_key, KeyBinding, SdJwtVerifier, CREDENTIAL_TYP};
use crate::format::time::UnixTime;
use crate::format::trust::KeyProvider;
use crate::holder::wallet::Wallet;
use crate::profile::credential::{IssuedCredential, ParsedCredential};
use crate::protocol::oid4vci::credential::{CredentialRequest, CredentialResponse, CredentialTarget};
use crate::protocol::oid4vci::error::{ErrorResponse, WalletError};
use crate::protocol::oid4vci::metadata::{AuthorizationServerMetadata, CredentialIssuerMetadata};
use crate::protocol::oid4vci::nonce::NonceResponse;
use crate::protocol::oid4vci::offer::CredentialOffer;
use crate::protocol::oid4vci::proof::sign_proof;
use crate::protocol::oid4vci::secret::{AccessToken, CNonce, TxCode};
use crate::protocol::oid4vci::token::{bearer_header, TokenRequest, TokenResponse};
use crate::Limits;

/// Checks a URL the wallet's transport is about to fetch (an offer URI, a
/// metadata URL, an endpoint, a redirect's target): `https`, or `http`
/// only to a loopback host, without userinfo or fragment. The messages
/// this module reads are checked already; a transport checks again what
/// it fetches, redirects included.
pub fn check_fetch_url(url: &str) -> Result<(), WalletError> {
    crate::protocol::url::check(url, crate::protocol::url::UrlUse::Endpoint)
        .map(|_| ())
        .map_err(|reason| WalletError::InsecureUrl { what: "a url to fetch", reason })
}

/// The `scheme://authority` of a URL that passes [`check_fetch_url`]: a
/// transport follows a redirect only to the same origin.
pub fn origin_of(url: &str) -> Option<String> {
    let u = crate::protocol::url::check(url, crate::protocol::url::UrlUse::Endpoint).ok()?;
    Some(format!("{}{}", u.scheme, u.authority.to_ascii_lowercase()))
}

/// An HTTP `POST` for the wallet's transport to send.
pub struct PostRequest {
    /// Where.
    pub url: String,
    /// The `Content-Type` of the body, when there is one.
    pub content_type: Option<&'static str>,
    /// The `Authorization` header, when one is needed. A secret.
    pub authorization: Option<Zeroizing<String>>,
    /// The body (may be empty). May hold secrets.
    pub body: Zeroizing<String>,
}

impl fmt::Debug for PostRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostRequest")
            .field("url", &self.url)
            .field("content_type", &self.content_type)
            .field("authorization", &self.authorization.as_ref().map(|_| "[redacted]"))
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// What the wallet will ask for and how it will prove its keys.
#[derive(Debug, Clone)]
struct Plan {
    credential_issuer: String,
    credential_endpoint: String,
    nonce_endpoint: Option<String>,
    configuration_id: String,
    vct: String,
    batch_size: usize,
    proof_alg: &'static str,
    key_alg: Algorithm,
}

/// An offer the wallet follows, with the issuer's and the authorization
/// server's metadata checked against it.
#[derive(Debug, Clone)]
pub struct IssuanceSession {
    offer: CredentialOffer,
    plan: Plan,
    token_endpoint: String,
}

/// The proof algorithms the wallet can sign with, in order of preference,
/// with the key type each needs.
const PROOF_ALGS: [(&str, Algorithm); 3] =
    [("EdDSA", Algorithm::Ed25519), ("Ed25519", Algorithm::Ed25519), ("ES256", Algorithm::Es256)];

fn check_status(status: u16, body: &[u8]) -> Result<(), WalletError> {
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(WalletError::ErrorResponse { status, response: ErrorResponse::from_json(body) })
    }
}

impl IssuanceSession {
    /// Follows `offer` with the issuer's `metadata` (read with
    /// [`CredentialIssuerMetadata::from_json`] for the offer's issuer) and
    /// its authorization server's `authorization_server` metadata (read for
    /// [`CredentialIssuerMetadata::authorization_server`]). Needs a
    /// pre-authorized code grant, and an offered configuration this wallet
    /// can receive: `dc+sd-jwt` with a `vct`, bound to a `jwk`, proven with
    /// `jwt` proofs in `EdDSA`, `Ed25519` or `ES256`.
    pub fn new(
        offer: CredentialOffer,
        metadata: &CredentialIssuerMetadata,
        authorization_server: &AuthorizationServerMetadata,
    ) -> Result<Self, WalletError> {
        if metadata.credential_issuer() != offer.credential_issuer() {
            return Err(WalletError::IssuerMismatch);
        }
        if authorization_server.issuer() != metadata.authorization_server() {
            return Err(WalletError::AuthorizationServerMismatch);
        }
        if offer.pre_authorized().is_none() {
            return Err(WalletError::Unsupported { reason: "the offer has no pre-authorized code grant" });
        }
        let pick = offer.configuration_ids().iter().find_map(|id| {
            let c = metadata.configuration(id)?;
            let vct = c.vct()?;
            if c.format() != CREDENTIAL_TYP || !c.binds_to_jwk() {
                return None;
            }
            let algs = c.proof_signing_algs()?;
            let (alg, key_alg) = PROOF_ALGS.iter().find(|(a, _)| algs.iter().any(|x| x == a))?;
            Some((id.clone(), vct.to_owned(), *alg, *key_alg))
        });
        let (configuration_id, vct, proof_alg, key_alg) = pick.ok_or(WalletError::Unsupported {
            reason: "no offered configuration is a key-bound dc+sd-jwt with jwt proofs this wallet can sign",
        })?;
        let plan = Plan {
            credential_issuer: offer.credential_issuer().to_owned(),
            credential_endpoint: metadata.credential_endpoint().to_owned(),
            nonce_endpoint: metadata.nonce_endpoint().map(str::to_owned),
            configuration_id,
            vct,
            batch_size: metadata.batch_size(),
            proof_alg,
            key_alg,
        };
        Ok(Self { offer, plan, token_endpoint: authorization_server.token_endpoint().to_owned() })
    }

    /// The offer.
    pub fn offer(&self) -> &CredentialOffer {
        &self.offer
    }

    /// The most credentials one request may ask for.
    pub fn batch_size(&self) -> usize {
        self.plan.batch_size
    }

    /// The token request, with the transaction code the holder entered
    /// when the offer asks for one (and only then).
    pub fn token_request(&self, tx_code: Option<TxCode>) -> Result<PostRequest, WalletError> {
        let grant = self
            .offer
            .pre_authorized()
            .ok_or(WalletError::Unsupported { reason: "the offer has no pre-authorized code grant" })?;
        match (grant.tx_code().is_some(), tx_code.is_some()) {
            (true, false) => return Err(WalletError::TxCode { reason: "the offer requires one; ask the holder" }),
            (false, true) => return Err(WalletError::TxCode { reason: "the offer requires none" }),
            _ => {}
        }
        let body = TokenRequest::new(grant.code().clone(), tx_code).to_form();
        Ok(PostRequest {
            url: self.token_endpoint.clone(),
            content_type: Some("application/x-www-form-urlencoded"),
            authorization: None,
            body,
        })
    }

    /// Reads the token endpoint's answer (its HTTP status and body).
    pub fn accept_token_response(self, status: u16, body: &[u8]) -> Result<Authorized, WalletError> {
        check_status(status, body)?;
        let response = TokenResponse::from_json(body)?;
        let target = match response.credential_identifiers().first() {
            Some(id) => CredentialTarget::Identifier(id.clone()),
            None => CredentialTarget::ConfigurationId(self.plan.configuration_id.clone()),
        };
        Ok(Authorized { plan: self.plan, token: response.access_token().clone(), target })
    }
}

/// A wallet holding an access token: it asks for nonces and credentials.
#[derive(Debug, Clone)]
pub struct Authorized {
    plan: Plan,
    token: AccessToken,
    target: CredentialTarget,
}

impl Authorized {
    /// The request for a fresh `c_nonce`, if the issuer has a nonce
    /// endpoint (an empty `POST`, no authentication).
    pub fn nonce_request(&self) -> Option<PostRequest> {
        self.plan.nonce_endpoint.as_ref().map(|url| PostRequest {
            url: url.clone(),
            content_type: None,
            authorization: None,
            body: Zeroizing::new(String::new()),
        })
    }

    /// Reads the nonce endpoint's answer.
    pub fn accept_nonce_response(&self, status: u16, body: &[u8]) -> Result<CNonce, WalletError> {
        check_status(status, body)?;
        Ok(NonceResponse::from_json(body)?.c_nonce().clone())
    }

    /// A credential request for `count` credentials (1 to the batch
    /// size): `count` fresh keys, kept in `wallet`, each proving itself
    /// over `c_nonce` (required when the issuer has a nonce endpoint).
    /// After `invalid_nonce`, fetch a new nonce and call this again: the
    /// keys of a refused request are never used.
    pub fn credential_request(
        &self,
        wallet: &mut Wallet,
        count: usize,
        c_nonce: Option<&CNonce>,
        now: UnixTime,
        rng: &mut dyn SecureRng,
    ) -> Result<(PendingCredentials, PostRequest), WalletError> {
        if count == 0 || count > self.plan.batch_size {
            return Err(WalletError::Unsupported { reason: "a count of 0, or above the issuer's batch size" });
        }
        if self.plan.nonce_endpoint.is_some() && c_nonce.is_none() {
            return Err(WalletError::Unsupported { reason: "the issuer requires a c_nonce; fetch one first" });
        }
        let mut keys = Vec::with_capacity(count);
        let mut proofs = Vec::with_capacity(count);
        for _ in 0..count {
            let key = wallet
                .generate_key_with(self.plan.key_alg, rng)
                .map_err(|_| WalletError::Unsupported { reason: "the wallet could not make a key" })?;
            let proof = sign_proof(wallet, &key, self.plan.proof_alg, &self.plan.credential_issuer, c_nonce, now)
                .ok_or(WalletError::Unsupported { reason: "the wallet could not sign a proof" })?;
            keys.push(key);
            proofs.push(proof);
        }
        let body = CredentialRequest::new(self.target.clone(), proofs).to_json();
        let request = PostRequest {
            url: self.plan.credential_endpoint.clone(),
            content_type: Some("application/json"),
            authorization: Some(bearer_header(&self.token)),
            body: Zeroizing::new(body),
        };
        Ok((PendingCredentials { plan: self.plan.clone(), proven: keys }, request))
    }
}

/// A credential request sent: the keys it proved, waiting for the answer.
#[derive(Debug, Clone)]
pub struct PendingCredentials {
    plan: Plan,
    proven: Vec<HolderPublicKey>,
}

impl PendingCredentials {
    /// The keys the request proved.
    pub fn proven_keys(&self) -> &[HolderPublicKey] {
        &self.proven
    }

    /// Reads the credential endpoint's answer and, if every credential in
    /// it passes, stores them all in `wallet` with their range secrets;
    /// otherwise stores none. Each credential must: be an SD-JWT VC
    /// (`typ: dc+sd-jwt`) issued by the offer's credential issuer, under a
    /// key `trust` has for that issuer (e.g. its `jwt-vc-issuer` metadata
    /// in a [`crate::TrustStore`]), unexpired at `now`, of the offered
    /// `vct`, with well-formed disclosures and range secrets that match its
    /// commitments, and bound (`cnf.jwk`) to one of the keys just proven,
    /// no key twice. Returns how many were stored.
    pub fn accept(
        self,
        status: u16,
        body: &[u8],
        trust: &dyn KeyProvider,
        wallet: &mut Wallet,
        now: UnixTime,
    ) -> Result<usize, WalletError> {
        check_status(status, body)?;
        let response = CredentialResponse::from_json(body)?;
        let credentials = response.credentials();
        if credentials.len() > self.proven.len() {
            return Err(WalletError::Binding { index: self.proven.len(), reason: "more credentials than proven keys" });
        }
        let mut bound = BTreeSet::new();
        for (index, c) in credentials.iter().enumerate() {
            let key = self.check(c, trust, now).map_err(|e| match e {
                Checked::Error(error) => WalletError::Credential { index, error },
                Checked::Binding(reason) => WalletError::Binding { index, reason },
            })?;
            if !self.proven.contains(&key) {
                return Err(WalletError::Binding { index, reason: "bound to a key this request did not prove" });
            }
            if !bound.insert(key.thumbprint()) {
                return Err(WalletError::Binding { index, reason: "bound to the same key as another credential" });
            }
        }
        for (index, c) in credentials.iter().enumerate() {
            wallet.store(c.clone()).map_err(|error| WalletError::Credential { index, error })?;
        }
        Ok(credentials.len())
    }

    /// Verifies one credential; returns the key it is bound to.
    fn check(&self, c: &IssuedCredential, trust: &dyn KeyProvider, now: UnixTime) -> Result<HolderPublicKey, Checked> {
        let limits = Limits::default();
        let sd_jwt = c.expose_sd_jwt();
        let jwt = sd_jwt.split('~').next().unwrap_or_default();
        let unverified = UnverifiedJws::parse(jwt, CREDENTIAL_TYP, &limits, "credential")?;
        let iss = unverified.payload.get("iss").and_then(Value::as_str);
        if iss != Some(self.plan.credential_issuer.as_str()) {
            return Err(Checked::Binding("issued under another `iss` than the credential issuer"));
        }
        let kid = unverified.kid()?;
        let key = trust.issuer_key(&self.plan.credential_issuer, kid).map_err(crate::Error::from)?;
        let verified = SdJwtVerifier::new(key, CREDENTIAL_TYP)
            .with_key(kid, key)
            .with_issuer(&self.plan.credential_issuer)
            .with_key_binding(KeyBinding::None)
            .verify(sd_jwt, now)?;
        if verified.claims().get("vct").and_then(Value::as_str) != Some(self.plan.vct.as_str()) {
            return Err(Checked::Binding("of another credential type (`vct`) than offered"));
        }
        let holder = cnf_holder_key(verified.claims()).ok_or(Checked::Binding("bound to no usable `cnf.jwk` key"))?;
        // The wallet's own structural checks, range secrets included, so
        // that storing cannot fail half-way through a batch.
        ParsedCredential::parse(c, &limits)?;
        Ok(holder)
    }
}

/// Why one credential failed.
enum Checked {
    Error(crate::Error),
    Binding(&'static str),
}

impl From<crate::Error> for Checked {
    fn from(e: crate::Error) -> Self {
        Self::Error(e)
    }
}
