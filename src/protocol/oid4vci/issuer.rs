//! The issuer's side: offers, the token, nonce and credential endpoints as
//! functions of (request bytes, state, `now`, randomness) → response or
//! [`Oid4vciError`].
//!
//! # How replay is stopped
//!
//! * A pre-authorized code is exchanged once: the offer is marked redeemed
//!   in the same store transaction that checks it. A wrong transaction
//!   code costs an attempt; the last one kills the offer.
//! * An access token obtains [`Oid4vciConfig::with_batches_per_token`]
//!   batches (one by default), counted down in one store transaction.
//! * Every proof key is claimed in the store, all keys of a request or
//!   none, before anything is signed; a key claimed once is refused
//!   forever (`invalid_proof`). A replayed credential request — same
//!   token or another, same proofs or the same keys re-proven over a new
//!   nonce — therefore never yields a second batch bound to those keys.
//!   `c_nonce`s prove freshness (an hour), not uniqueness: one serves
//!   every proof of a request.

use crate::error::Error;
use crate::format::keys::HolderPublicKey;
use crate::format::rng::SecureRng;
use crate::format::time::UnixTime;
use crate::issuer::{Claims, Issuer};
use crate::profile::credential::IssuedCredential;
use crate::profile::key_request::KeyRequest;
use crate::profile::status::StatusRef;
use crate::protocol::oid4vci::config::Oid4vciConfig;
use crate::protocol::oid4vci::credential::{CredentialRequest, CredentialResponse, CredentialTarget};
use crate::protocol::oid4vci::error::{GrantProblem, Oid4vciError, TokenProblem};
use crate::protocol::oid4vci::metadata::{
    AuthorizationServerMetadata, CredentialConfiguration, CredentialIssuerMetadata,
};
use crate::protocol::oid4vci::nonce::NonceResponse;
use crate::protocol::oid4vci::offer::{CredentialOffer, TxCodeSpec, TxInputMode};
use crate::protocol::oid4vci::proof::{ProofCheck, MAX_PROOF_BYTES};
use crate::protocol::oid4vci::secret::{AccessToken, CNonce, PreAuthorizedCode, SecretDigest, TxCode};
use crate::protocol::oid4vci::store::{Grant, KeyClaim, Offer, OfferStatus, Oid4vciStore, StoreError};
use crate::protocol::oid4vci::token::{parse_bearer, TokenRequest, TokenResponse};
use crate::protocol::url::{self, UrlUse};

/// An issuer speaking OpenID4VCI: the [`Issuer`] that signs, and its
/// [`Oid4vciConfig`]. It holds no mutable state; every handler takes the
/// state ([`Oid4vciStore`]) as an argument, so one value serves every
/// thread of a service.
#[derive(Debug)]
pub struct Oid4vciIssuer {
    issuer: Issuer,
    config: Oid4vciConfig,
}

/// An offer to make: for whom, with which claims, and whether the holder
/// must also enter a transaction code.
#[derive(Debug, Clone)]
pub struct NewOffer {
    subject: String,
    claims: Claims,
    tx_code: bool,
}

impl NewOffer {
    /// An offer to `subject` (issuer-internal; never sent) of credentials
    /// carrying `claims`.
    pub fn new(subject: impl Into<String>, claims: Claims) -> Self {
        Self { subject: subject.into(), claims, tx_code: false }
    }

    /// Requires a numeric transaction code, which the issuer sends to the
    /// holder over a second channel.
    #[must_use]
    pub fn with_tx_code(mut self) -> Self {
        self.tx_code = true;
        self
    }
}

/// A recorded offer: the offer for the wallet (it holds the pre-authorized
/// code) and the transaction code for the second channel.
#[derive(Debug, Clone)]
pub struct CreatedOffer {
    offer: CredentialOffer,
    tx_code: Option<TxCode>,
    expires_at: UnixTime,
}

impl CreatedOffer {
    /// The offer object (serve it at a `credential_offer_uri`, or put it in
    /// a link with [`CredentialOffer::to_link`]).
    pub fn offer(&self) -> &CredentialOffer {
        &self.offer
    }

    /// The transaction code to send to the holder over another channel
    /// than the offer, if the offer requires one.
    pub fn tx_code(&self) -> Option<&TxCode> {
        self.tx_code.as_ref()
    }

    /// When the pre-authorized code stops being accepted.
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }
}

/// One batch about to be signed, as a [`StatusSource`] sees it.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// The issuer-internal subject the offer was made to.
    pub subject: &'a str,
    /// The credential configuration.
    pub configuration_id: &'a str,
    /// One holder key per credential, in order.
    pub holders: &'a [HolderPublicKey],
}

/// The signing step a [`StatusSource`] runs: the status entries (one per
/// holder key, or `None`) in, the signed credentials out.
pub type SignBatch<'a> = dyn FnMut(Option<&[StatusRef]>) -> Result<Vec<IssuedCredential>, Error> + 'a;

/// Where credentials' status entries come from: runs `sign` with one
/// [`StatusRef`] per holder key (or `None` for credentials without a
/// status), so that allocating the entries and signing can share one
/// transaction — the issuer registry's `issue_batch` with a deliver step
/// is such a source. [`NoStatus`] issues credentials without one.
pub trait StatusSource {
    /// Allocates the entries for `batch`, runs `sign` with them, and
    /// returns what it signed; an error rolls the allocation back.
    fn issue(
        &mut self,
        batch: &Batch<'_>,
        now: UnixTime,
        sign: &mut SignBatch<'_>,
    ) -> Result<Vec<IssuedCredential>, Oid4vciError>;
}

/// Credentials without a status entry (not revocable).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStatus;

impl StatusSource for NoStatus {
    fn issue(
        &mut self,
        _batch: &Batch<'_>,
        _now: UnixTime,
        sign: &mut SignBatch<'_>,
    ) -> Result<Vec<IssuedCredential>, Oid4vciError> {
        sign(None).map_err(|e| Oid4vciError::ServerError { reason: format!("signing failed: {e}") })
    }
}

fn store_failed(e: StoreError) -> Oid4vciError {
    Oid4vciError::ServerError { reason: e.to_string() }
}

impl Oid4vciIssuer {
    /// An OpenID4VCI issuer. Its credential issuer identifier is the
    /// issuer's `iss` ([`Issuer::id`]), which must be an `https` URL (`http`
    /// only to a loopback host) without query or fragment; the configuration
    /// is checked ([`Oid4vciConfig`]), its batch size against
    /// [`Issuer::max_batch`].
    pub fn new(issuer: Issuer, config: Oid4vciConfig) -> Result<Self, Error> {
        if url::check(issuer.id(), UrlUse::Identifier).is_err() {
            return Err(crate::error::IssuanceError::Config {
                reason: "the credential issuer identifier must be an https url (http only to a loopback host) \
                         without query or fragment",
            }
            .into());
        }
        config.check(issuer.max_batch())?;
        Ok(Self { issuer, config })
    }

    /// The issuer that signs.
    pub fn issuer(&self) -> &Issuer {
        &self.issuer
    }

    /// The configuration.
    pub fn config(&self) -> &Oid4vciConfig {
        &self.config
    }

    /// The credential issuer identifier (the issuer's `iss`).
    pub fn credential_issuer(&self) -> &str {
        self.issuer.id()
    }

    /// The token endpoint: `<identifier>/token`.
    pub fn token_endpoint(&self) -> String {
        url::join(self.credential_issuer(), "/token")
    }

    /// The nonce endpoint: `<identifier>/nonce`.
    pub fn nonce_endpoint(&self) -> String {
        url::join(self.credential_issuer(), "/nonce")
    }

    /// The credential endpoint: `<identifier>/credential`.
    pub fn credential_endpoint(&self) -> String {
        url::join(self.credential_issuer(), "/credential")
    }

    /// The credential issuer metadata, for
    /// `/.well-known/openid-credential-issuer`.
    pub fn credential_issuer_metadata(&self) -> CredentialIssuerMetadata {
        let id = &self.config.configuration_id;
        let configuration = CredentialConfiguration::sd_jwt(self.issuer.vct(), id, self.config.credential_metadata());
        let display = self.config.issuer_name.as_ref().map(|n| serde_json::json!([{"name": n, "locale": "en"}]));
        CredentialIssuerMetadata::new(
            self.credential_issuer(),
            self.credential_endpoint(),
            self.nonce_endpoint(),
            self.config.batch_size,
            display,
            [(id.clone(), configuration)].into_iter().collect(),
        )
    }

    /// The authorization server metadata, for
    /// `/.well-known/oauth-authorization-server`: this issuer is its own
    /// authorization server, granting pre-authorized codes to anonymous
    /// wallets.
    pub fn authorization_server_metadata(&self) -> AuthorizationServerMetadata {
        AuthorizationServerMetadata::new(self.credential_issuer(), self.token_endpoint())
    }

    /// The SD-JWT VC issuer metadata (`{issuer, jwks}`), for
    /// `/.well-known/jwt-vc-issuer`: the keys wallets and verifiers check
    /// credentials with.
    pub fn jwt_vc_issuer_metadata(&self) -> serde_json::Value {
        self.issuer.metadata()
    }

    /// Records an offer valid until `now` plus the offer lifetime, with a
    /// fresh pre-authorized code and, if asked, a fresh transaction code.
    pub fn create_offer(
        &self,
        store: &mut dyn Oid4vciStore,
        offer: NewOffer,
        now: UnixTime,
        rng: &mut dyn SecureRng,
    ) -> Result<CreatedOffer, Oid4vciError> {
        let code = PreAuthorizedCode::generate(rng);
        let tx_code = offer.tx_code.then(|| TxCode::generate_numeric(self.config.tx_code_length, rng));
        let expires_at = UnixTime(now.as_secs().saturating_add(self.config.offer_lifetime_secs));
        let record = Offer {
            subject: offer.subject,
            claims: offer.claims,
            configuration_id: self.config.configuration_id.clone(),
            expires_at,
            tx_code: tx_code.as_ref().map(|t| t.digest_for(&code)),
            tx_attempts_left: self.config.tx_code_attempts,
            status: OfferStatus::Open,
        };
        store.insert_offer(code.digest(), record).map_err(store_failed)?;
        let spec = tx_code.as_ref().map(|_| TxCodeSpec {
            input_mode: Some(TxInputMode::Numeric),
            length: u32::try_from(self.config.tx_code_length).ok(),
            description: self.config.tx_code_description.clone(),
        });
        let ids = vec![self.config.configuration_id.clone()];
        Ok(CreatedOffer { offer: CredentialOffer::new(self.credential_issuer(), ids, code, spec), tx_code, expires_at })
    }

    /// The token endpoint: a form-encoded token request → a bearer token
    /// bound to the offer's subject, claims and configuration. The pre-
    /// authorized code is spent in the same store transaction that checks
    /// it. Answer with `Cache-Control: no-store`, errors included.
    pub fn token(
        &self,
        store: &mut dyn Oid4vciStore,
        body: &[u8],
        now: UnixTime,
        rng: &mut dyn SecureRng,
    ) -> Result<TokenResponse, Oid4vciError> {
        let request = TokenRequest::from_form(body)?;
        let tx = request.tx_code().map(|t| t.digest_for(request.code()));
        let mut outcome = Err(Oid4vciError::InvalidGrant(GrantProblem::Unknown));
        store
            .update_offer(&request.code().digest(), &mut |slot| outcome = redeem(slot, tx.as_ref(), now))
            .map_err(store_failed)?;
        let offer = outcome?;
        let token = AccessToken::generate(rng);
        let lifetime = self.config.token_lifetime_secs;
        let grant = Grant {
            subject: offer.subject,
            claims: offer.claims,
            configuration_id: offer.configuration_id,
            expires_at: UnixTime(now.as_secs().saturating_add(lifetime)),
            batches_left: self.config.batches_per_token,
        };
        store.insert_grant(token.digest(), grant).map_err(store_failed)?;
        Ok(TokenResponse::new(token, lifetime))
    }

    /// The nonce endpoint: a fresh `c_nonce` (stateless; see
    /// [`super::nonce`]). Answer with `Cache-Control: no-store`.
    pub fn nonce(&self, now: UnixTime, rng: &mut dyn SecureRng) -> NonceResponse {
        NonceResponse::new(CNonce::new(self.issuer.nonce(now, rng)))
    }

    /// The credential endpoint: the `Authorization` header's value (if
    /// any) and the JSON body → one credential per proven key, signed by
    /// [`Issuer::issue_batch`] with status entries from `statuses`.
    ///
    /// Checks, in order: the bearer token (`invalid_token`); the body
    /// (`invalid_credential_request`, `invalid_proof` for `proofs`); the
    /// configuration (`unknown_credential_configuration`,
    /// `unknown_credential_identifier`); no encryption asked for; at most
    /// the batch size of proofs; each proof ([`super::proof`]), no key
    /// twice; then, in the store, the keys claimed (a key used before:
    /// `invalid_proof`) and one batch taken from the token. If signing
    /// fails the batch is given back to the token, the keys stay used.
    /// Answer with `Cache-Control: no-store`.
    #[allow(clippy::too_many_arguments)]
    pub fn credential(
        &self,
        store: &mut dyn Oid4vciStore,
        statuses: &mut dyn StatusSource,
        authorization: Option<&str>,
        body: &[u8],
        now: UnixTime,
        rng: &mut dyn SecureRng,
    ) -> Result<CredentialResponse, Oid4vciError> {
        let token = parse_bearer(authorization)?.digest();
        let mut live = Err(Oid4vciError::InvalidToken(TokenProblem::Unknown));
        store
            .update_grant(&token, &mut |slot| live = check_grant(slot, now).map(|g| g.configuration_id.clone()))
            .map_err(store_failed)?;
        let granted_configuration = live?;
        let max_bytes = MAX_PROOF_BYTES.saturating_add(64).saturating_mul(self.config.batch_size).saturating_add(4096);
        let request = CredentialRequest::from_json(body, max_bytes)?;
        match request.target() {
            CredentialTarget::Identifier(_) => return Err(Oid4vciError::UnknownCredentialIdentifier),
            CredentialTarget::ConfigurationId(id) if *id != self.config.configuration_id => {
                return Err(Oid4vciError::UnknownCredentialConfiguration)
            }
            CredentialTarget::ConfigurationId(_) => {}
        }
        if granted_configuration != self.config.configuration_id {
            return Err(Oid4vciError::CredentialRequestDenied {
                reason: "the access token is for another credential configuration",
            });
        }
        if request.wants_encryption() {
            return Err(Oid4vciError::InvalidEncryptionParameters);
        }
        if request.proofs().len() > self.config.batch_size {
            return Err(Oid4vciError::InvalidCredentialRequest {
                reason: format!("more proofs than the batch size of {}", self.config.batch_size),
            });
        }
        let check = ProofCheck {
            issuer: &self.issuer,
            audience: self.credential_issuer(),
            now,
            max_age_secs: self.config.proof_max_age_secs,
            clock_skew_secs: self.config.clock_skew_secs,
        };
        let mut keys: Vec<HolderPublicKey> = Vec::with_capacity(request.proofs().len());
        for (i, jwt) in request.proofs().iter().enumerate() {
            let key = check.check(i, jwt)?;
            if keys.contains(&key) {
                return Err(Oid4vciError::InvalidProof {
                    proof: Some(i),
                    reason: "the same key as an earlier proof of this request".into(),
                });
            }
            keys.push(key);
        }
        let thumbprints: Vec<String> = keys.iter().map(HolderPublicKey::thumbprint).collect();
        if let KeyClaim::AlreadyUsed { index } = store.use_holder_keys(&thumbprints, now).map_err(store_failed)? {
            return Err(Oid4vciError::InvalidProof {
                proof: Some(index),
                reason: "the key is already bound to a credential; make a fresh key".into(),
            });
        }
        let mut taken = Err(Oid4vciError::InvalidToken(TokenProblem::Unknown));
        store.update_grant(&token, &mut |slot| taken = take_batch(slot, now)).map_err(store_failed)?;
        let grant = taken?;
        let key_request = KeyRequest { entries: keys.iter().copied().zip(request.proofs().iter().cloned()).collect() };
        let batch = Batch { subject: &grant.subject, configuration_id: &grant.configuration_id, holders: &keys };
        let issued = statuses
            .issue(&batch, now, &mut |refs| self.issuer.issue_batch(&key_request, &grant.claims, refs, now, rng))
            .and_then(|credentials| {
                if credentials.len() == keys.len() {
                    Ok(credentials)
                } else {
                    Err(Oid4vciError::ServerError {
                        reason: "the status source returned another number of credentials".into(),
                    })
                }
            });
        match issued {
            Ok(credentials) => Ok(CredentialResponse::new(credentials)),
            Err(e) => {
                // Give the batch back; the keys stay used (fail closed).
                let _ = store.update_grant(&token, &mut |slot| {
                    if let Some(g) = slot.as_mut() {
                        g.batches_left = g.batches_left.saturating_add(1);
                    }
                });
                Err(e)
            }
        }
    }
}

/// The token-endpoint decision on one offer, inside the store's
/// transaction.
fn redeem(slot: &mut Option<Offer>, tx: Option<&SecretDigest>, now: UnixTime) -> Result<Offer, Oid4vciError> {
    let grant = Oid4vciError::InvalidGrant;
    let Some(offer) = slot.as_mut() else {
        return Err(grant(GrantProblem::Unknown));
    };
    if now >= offer.expires_at {
        return Err(grant(GrantProblem::Expired));
    }
    match offer.status {
        OfferStatus::Open => {}
        OfferStatus::Redeemed => return Err(grant(GrantProblem::Used)),
        OfferStatus::Locked => return Err(grant(GrantProblem::Locked)),
    }
    match (&offer.tx_code, tx) {
        (None, None) => {}
        (None, Some(_)) => return Err(Oid4vciError::InvalidRequest { reason: "this offer expects no tx_code" }),
        (Some(_), None) => return Err(Oid4vciError::InvalidRequest { reason: "this offer requires a tx_code" }),
        (Some(expected), Some(got)) => {
            // Constant time (SecretDigest's PartialEq).
            if expected != got {
                offer.tx_attempts_left = offer.tx_attempts_left.saturating_sub(1);
                if offer.tx_attempts_left == 0 {
                    offer.status = OfferStatus::Locked;
                    return Err(grant(GrantProblem::Locked));
                }
                return Err(grant(GrantProblem::WrongTxCode { attempts_left: offer.tx_attempts_left }));
            }
        }
    }
    offer.status = OfferStatus::Redeemed;
    Ok(offer.clone())
}

/// Whether a grant may still obtain a batch; an expired one is dropped.
fn check_grant(slot: &mut Option<Grant>, now: UnixTime) -> Result<&Grant, Oid4vciError> {
    let token = Oid4vciError::InvalidToken;
    match slot {
        None => Err(token(TokenProblem::Unknown)),
        Some(g) if now >= g.expires_at => {
            *slot = None;
            Err(token(TokenProblem::Expired))
        }
        Some(g) if g.batches_left == 0 => Err(token(TokenProblem::Spent)),
        Some(g) => Ok(g),
    }
}

/// Takes one batch from a live grant.
fn take_batch(slot: &mut Option<Grant>, now: UnixTime) -> Result<Grant, Oid4vciError> {
    check_grant(slot, now)?;
    let g = slot.as_mut().ok_or(Oid4vciError::InvalidToken(TokenProblem::Unknown))?;
    g.batches_left -= 1;
    Ok(g.clone())
}
