//! OpenID4VCI without sockets: the whole pre-authorized code flow in
//! process, and every named bad input with the error code it must get.

use creditproof::hazmat::SeededRng;
use creditproof::oid4vci::*;
use creditproof::status_list::{IndexAllocator, StatusList};
use creditproof::{
    Claims, IssuedCredential, Issuer, IssuerSigningKey, PresentOptions, PresentationRequest, SecureRng, StatusRef,
    TrustStore, UnixTime, Verifier, Wallet,
};
use serde_json::{json, Value};

use crate::fixture::{b64, sign, ISS, NOW};

const LIST_URI: &str = "https://bureau.example/status/1";
const PROOF_TYP: &str = "openid4vci-proof+jwt";

fn claims() -> Claims {
    let mut c = Claims::new();
    c.commit("score", 712, 950).unwrap();
    c.insert("tier", "A").unwrap();
    c.insert("policy", "sesame-style/1").unwrap();
    c.insert_perk("no_deposit_rental", true).unwrap();
    c
}

/// An issuer with its state, and a deterministic RNG.
struct Bureau {
    vci: Oid4vciIssuer,
    store: MemoryStore,
    rng: SeededRng,
}

impl Bureau {
    fn new() -> Self {
        Self::with_config(Oid4vciConfig::default())
    }

    fn with_config(config: Oid4vciConfig) -> Self {
        let mut rng = SeededRng::new(b"oid4vci bureau");
        let issuer = Issuer::new(ISS, IssuerSigningKey::generate(&mut rng)).unwrap();
        Self { vci: Oid4vciIssuer::new(issuer, config).unwrap(), store: MemoryStore::new(), rng }
    }

    fn offer(&mut self, tx_code: bool) -> CreatedOffer {
        let offer = NewOffer::new("person-17", claims());
        let offer = if tx_code { offer.with_tx_code() } else { offer };
        self.vci.create_offer(&mut self.store, offer, NOW, &mut self.rng).unwrap()
    }

    fn token_at(&mut self, body: &str, now: UnixTime) -> Result<TokenResponse, Oid4vciError> {
        self.vci.token(&mut self.store, body.as_bytes(), now, &mut self.rng)
    }

    fn redeem(&mut self, created: &CreatedOffer, tx_code: Option<&str>) -> Result<TokenResponse, Oid4vciError> {
        let code = created.offer().pre_authorized().unwrap().code().clone();
        let body = TokenRequest::new(code, tx_code.map(TxCode::new)).to_form();
        self.token_at(&body, NOW)
    }

    /// A fresh access token, as its `Authorization` header value.
    fn bearer(&mut self) -> String {
        let created = self.offer(false);
        let token = self.redeem(&created, None).unwrap();
        bearer_header(token.access_token()).to_string()
    }

    fn nonce_at(&mut self, now: UnixTime) -> String {
        self.vci.nonce(now, &mut self.rng).c_nonce().expose_secret().to_owned()
    }

    fn credential_at(
        &mut self,
        authorization: Option<&str>,
        body: &str,
        now: UnixTime,
    ) -> Result<CredentialResponse, Oid4vciError> {
        self.vci.credential(&mut self.store, &mut NoStatus, authorization, body.as_bytes(), now, &mut self.rng)
    }

    fn credential(&mut self, authorization: &str, body: &str) -> Result<CredentialResponse, Oid4vciError> {
        self.credential_at(Some(authorization), body, NOW)
    }

    fn metadata_bytes(&self) -> (Vec<u8>, Vec<u8>) {
        (
            self.vci.credential_issuer_metadata().to_json().to_string().into_bytes(),
            self.vci.authorization_server_metadata().to_json().to_string().into_bytes(),
        )
    }

    fn trust(&self) -> TrustStore {
        let mut trust = TrustStore::new();
        trust.add_metadata(self.vci.jwt_vc_issuer_metadata().to_string().as_bytes(), &Default::default()).unwrap();
        trust
    }

    /// The wallet's steps up to a token, for an offer without tx code.
    fn authorize(&mut self) -> Authorized {
        let created = self.offer(false);
        let session = session_for(self, created.offer().clone());
        let req = session.token_request(None).unwrap();
        let token = self.token_at(&req.body, NOW).unwrap();
        session.accept_token_response(200, token.to_json().as_bytes()).unwrap()
    }
}

fn session_for(b: &Bureau, offer: CredentialOffer) -> IssuanceSession {
    let (md, asm) = b.metadata_bytes();
    let md = CredentialIssuerMetadata::from_json(&md, offer.credential_issuer()).unwrap();
    let asm = AuthorizationServerMetadata::from_json(&asm, md.authorization_server()).unwrap();
    IssuanceSession::new(offer, &md, &asm).unwrap()
}

/// Status entries from an in-memory allocator; can be told to fail.
struct Lists {
    alloc: IndexAllocator,
    rng: SeededRng,
    fail: bool,
}

impl StatusSource for Lists {
    fn issue(
        &mut self,
        batch: &Batch<'_>,
        _now: UnixTime,
        sign: &mut SignBatch<'_>,
    ) -> Result<Vec<IssuedCredential>, Oid4vciError> {
        if self.fail {
            return Err(Oid4vciError::ServerError { reason: "registry unavailable".into() });
        }
        let Lists { alloc, rng, .. } = self;
        let refs: Vec<StatusRef> = batch
            .holders
            .iter()
            .map(|_| StatusRef {
                uri: LIST_URI.into(),
                idx: u64::try_from(alloc.allocate(&mut |b| rng.fill(b)).unwrap()).unwrap(),
            })
            .collect();
        sign(Some(&refs)).map_err(|e| Oid4vciError::ServerError { reason: e.to_string() })
    }
}

// ---------------------------------------------------------------- round trip

#[test]
fn a_batch_of_16_from_offer_to_verified_presentation() {
    let mut b = Bureau::new();
    let created = b.offer(true);
    let tx_code = created.tx_code().unwrap().expose_secret().to_owned();
    assert_eq!(tx_code.len(), 6);

    // The offer travels by reference; the wallet fetches it.
    let link = offer_link_by_reference("https://bureau.example/credential-offer/4f1c");
    let OfferLink::ByReference(url) = parse_offer_link(&link).unwrap() else { panic!("by reference") };
    assert_eq!(url, "https://bureau.example/credential-offer/4f1c");
    let offer = CredentialOffer::from_json(created.offer().to_json().to_string().as_bytes()).unwrap();
    assert_eq!(offer, *created.offer());

    // Metadata, fetched from the well-known URLs.
    assert_eq!(
        credential_issuer_metadata_url(offer.credential_issuer()).unwrap(),
        "https://bureau.example/.well-known/openid-credential-issuer"
    );
    let (md_bytes, as_bytes) = b.metadata_bytes();
    let md = CredentialIssuerMetadata::from_json(&md_bytes, offer.credential_issuer()).unwrap();
    assert_eq!(md.batch_size(), 16);
    assert_eq!(
        authorization_server_metadata_url(md.authorization_server()).unwrap(),
        "https://bureau.example/.well-known/oauth-authorization-server"
    );
    let asm = AuthorizationServerMetadata::from_json(&as_bytes, md.authorization_server()).unwrap();
    let session = IssuanceSession::new(offer, &md, &asm).unwrap();

    // Token, with the transaction code from the second channel.
    let req = session.token_request(Some(TxCode::new(&tx_code))).unwrap();
    assert_eq!(req.url, "https://bureau.example/token");
    assert_eq!(req.content_type, Some("application/x-www-form-urlencoded"));
    let token = b.token_at(&req.body, NOW).unwrap();
    let authorized = session.accept_token_response(200, token.to_json().as_bytes()).unwrap();

    // One nonce for all 16 proofs.
    let nreq = authorized.nonce_request().unwrap();
    assert_eq!((nreq.url.as_str(), nreq.body.as_str()), ("https://bureau.example/nonce", ""));
    let nonce = authorized.accept_nonce_response(200, b.vci.nonce(NOW, &mut b.rng).to_json().as_bytes()).unwrap();
    let mut wallet = Wallet::new();
    let mut rng = SeededRng::new(b"oid4vci wallet");
    let (pending, creq) = authorized.credential_request(&mut wallet, 16, Some(&nonce), NOW, &mut rng).unwrap();
    assert_eq!(creq.url, "https://bureau.example/credential");
    let body: Value = serde_json::from_str(&creq.body).unwrap();
    assert_eq!(body["credential_configuration_id"], DEFAULT_CONFIGURATION_ID);
    assert_eq!(body["proofs"]["jwt"].as_array().unwrap().len(), 16);

    // The issuer signs 16 credentials, each with its own status entry.
    let mut lists = Lists { alloc: IndexAllocator::new(1 << 16), rng: SeededRng::new(b"lists"), fail: false };
    let auth = creq.authorization.as_deref().map(|s| s.as_str());
    let response = b.vci.credential(&mut b.store, &mut lists, auth, creq.body.as_bytes(), NOW, &mut b.rng).unwrap();
    let wire = response.to_json();
    let wire_json: Value = serde_json::from_str(&wire).unwrap();
    let entries = wire_json["credentials"].as_array().unwrap();
    assert_eq!(entries.len(), 16);
    assert!(entries.iter().all(|e| e[RANGE_SECRETS_MEMBER]["seed"].is_string()), "range secrets travel along");

    // The wallet verifies all 16 and stores them with their range secrets.
    let trust = b.trust();
    assert_eq!(pending.accept(200, wire.as_bytes(), &trust, &mut wallet, NOW).unwrap(), 16);
    let inventory = wallet.inventory(NOW);
    assert_eq!((inventory.len(), inventory[0].unspent), (1, 16));

    // One of them proves score>=650 to a lender, status checked.
    let mut list = StatusList::new(2, 1 << 16).unwrap();
    list.set(0, 0).unwrap();
    let list_token = b.vci.issuer().sign_status_list(LIST_URI, &list, NOW, 86_400, 3600);
    let mut verifier = Verifier::new(trust);
    verifier.add_status_list(&list_token, NOW).unwrap();
    let request = PresentationRequest::builder("https://lender.example")
        .predicate("score>=650".parse().unwrap())
        .build(&mut rng)
        .unwrap();
    let p = wallet.present(&request, PresentOptions::default(), NOW, &mut rng).unwrap();
    let verified = verifier.verify(&request, p.as_str(), NOW).unwrap();
    assert_eq!(verified.proven()[0].to_string(), "score>=650");
    assert!(verified.status().is_some_and(|s| s.uri == LIST_URI));
    assert!(!p.as_str().contains("712"));
    assert_eq!(wallet.inventory(NOW)[0].unspent, 15);

    // The token obtained its one batch.
    let again = b.credential(auth.unwrap(), &creq.body).unwrap_err();
    assert_eq!(again, Oid4vciError::InvalidToken(TokenProblem::Spent));
}

#[test]
fn metadata_documents() {
    let b = Bureau::with_config(
        Oid4vciConfig::default().with_issuer_name("Bureau").with_perk("no_deposit_rental", "No-deposit rental"),
    );
    let md = b.vci.credential_issuer_metadata().to_json();
    let c = &md["credential_configurations_supported"][DEFAULT_CONFIGURATION_ID];
    assert_eq!(md["credential_issuer"], ISS);
    assert_eq!(md["nonce_endpoint"], "https://bureau.example/nonce");
    assert_eq!(md["batch_credential_issuance"]["batch_size"], 16);
    assert_eq!(c["format"], "dc+sd-jwt");
    assert_eq!(c["vct"], "urn:creditproof:score:2");
    assert_eq!(c["scope"], DEFAULT_CONFIGURATION_ID);
    assert_eq!(c["cryptographic_binding_methods_supported"], json!(["jwk"]));
    assert_eq!(c["credential_signing_alg_values_supported"], json!(["EdDSA", "Ed25519", "ES256"]));
    assert_eq!(
        c["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"],
        json!(["EdDSA", "Ed25519", "ES256"])
    );
    let paths: Vec<&Value> =
        c["credential_metadata"]["claims"].as_array().unwrap().iter().map(|c| &c["path"]).collect();
    assert!(paths.contains(&&json!(["tier"])) && paths.contains(&&json!(["perks", "no_deposit_rental"])));
    assert!(!md.to_string().contains("\"score\""), "the committed score is not a displayed claim");
    let asm = b.vci.authorization_server_metadata().to_json();
    assert_eq!(asm["grant_types_supported"], json!([PRE_AUTHORIZED_GRANT]));
    assert_eq!(asm["pre-authorized_grant_anonymous_access_supported"], true);
    assert_eq!(asm["token_endpoint"], "https://bureau.example/token");

    // Batch sizes up to the issuer's max batch; one advertises no batch.
    let mut rng = SeededRng::new(b"batch sizes");
    let issuer = || Issuer::new(ISS, IssuerSigningKey::generate(&mut SeededRng::new(b"k"))).unwrap();
    let big = Oid4vciIssuer::new(issuer(), Oid4vciConfig::default().with_batch_size(64)).unwrap();
    assert_eq!(big.credential_issuer_metadata().batch_size(), 64);
    assert!(Oid4vciIssuer::new(issuer(), Oid4vciConfig::default().with_batch_size(65)).is_err());
    let one = Oid4vciIssuer::new(issuer(), Oid4vciConfig::default().with_batch_size(1)).unwrap();
    assert!(one.credential_issuer_metadata().to_json().get("batch_credential_issuance").is_none());
    // The identifier must be https, except on loopback.
    for (id, ok) in [("http://bureau.example", false), ("http://127.0.0.1:8080", true), ("https://b.example?x", false)]
    {
        let issuer = Issuer::new(id, IssuerSigningKey::generate(&mut rng)).unwrap();
        assert_eq!(Oid4vciIssuer::new(issuer, Oid4vciConfig::default()).is_ok(), ok, "{id}");
    }
}

#[test]
fn a_batch_of_64() {
    let mut b = Bureau::with_config(Oid4vciConfig::default().with_batch_size(64));
    let authorized = b.authorize();
    let nonce = CNonce::new(b.nonce_at(NOW));
    let mut wallet = Wallet::new();
    let mut rng = SeededRng::new(b"64");
    let (pending, req) = authorized.credential_request(&mut wallet, 64, Some(&nonce), NOW, &mut rng).unwrap();
    let response = b.credential(req.authorization.as_deref().unwrap(), &req.body).unwrap();
    assert_eq!(pending.accept(200, response.to_json().as_bytes(), &b.trust(), &mut wallet, NOW).unwrap(), 64);
    assert!(authorized.credential_request(&mut wallet, 65, Some(&nonce), NOW, &mut rng).is_err());
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let mut b = Bureau::new();
    let created = b.offer(true);
    let shown = format!("{created:?} {:?}", b.store);
    assert!(!shown.contains(created.offer().pre_authorized().unwrap().code().expose_secret()));
    assert!(!shown.contains(created.tx_code().unwrap().expose_secret()));
    let token = b.redeem(&created, Some(created.tx_code().unwrap().expose_secret())).unwrap();
    assert!(!format!("{token:?}").contains(token.access_token().expose_secret()));
    let authorized = b.authorize();
    let nonce = CNonce::new(b.nonce_at(NOW));
    let (_, req) =
        authorized.credential_request(&mut Wallet::new(), 1, Some(&nonce), NOW, &mut SeededRng::new(b"d")).unwrap();
    assert!(!format!("{req:?}").contains("Bearer "));
}

// ---------------------------------------------------------------- token endpoint

#[test]
fn pre_authorized_codes_unknown_expired_used() {
    let mut b = Bureau::new();
    let grant = |r: Result<TokenResponse, Oid4vciError>| match r {
        Err(Oid4vciError::InvalidGrant(p)) => p,
        other => panic!("{other:?}"),
    };
    let unknown = TokenRequest::new(PreAuthorizedCode::new("no-such-code"), None).to_form();
    assert_eq!(grant(b.token_at(&unknown, NOW)), GrantProblem::Unknown);
    let created = b.offer(false);
    let code = created.offer().pre_authorized().unwrap().code().clone();
    let body = TokenRequest::new(code, None).to_form();
    let expired = UnixTime(created.expires_at().0);
    assert_eq!(grant(b.token_at(&body, expired)), GrantProblem::Expired);
    assert!(b.token_at(&body, NOW).is_ok());
    assert_eq!(grant(b.token_at(&body, NOW)), GrantProblem::Used, "single use");
    let e = b.token_at(&body, NOW).unwrap_err();
    assert_eq!((e.code(), e.status()), ("invalid_grant", 400));
    assert_eq!(e.to_json()["error"], "invalid_grant");
}

#[test]
fn transaction_codes_missing_wrong_and_too_many_attempts() {
    let mut b = Bureau::new();
    let created = b.offer(true);
    let tx = created.tx_code().unwrap().expose_secret().to_owned();
    let wrong = if tx == "000000" { "000001" } else { "000000" };
    let missing = b.redeem(&created, None).unwrap_err();
    assert_eq!(missing.code(), "invalid_request", "a missing tx_code costs no attempt");
    assert_eq!(
        b.redeem(&created, Some(wrong)).unwrap_err(),
        Oid4vciError::InvalidGrant(GrantProblem::WrongTxCode { attempts_left: 2 })
    );
    assert_eq!(
        b.redeem(&created, Some(wrong)).unwrap_err(),
        Oid4vciError::InvalidGrant(GrantProblem::WrongTxCode { attempts_left: 1 })
    );
    assert_eq!(b.redeem(&created, Some(wrong)).unwrap_err(), Oid4vciError::InvalidGrant(GrantProblem::Locked));
    // Dead: even the right code is refused now.
    assert_eq!(b.redeem(&created, Some(&tx)).unwrap_err(), Oid4vciError::InvalidGrant(GrantProblem::Locked));

    // Right code after a wrong one works once; a tx_code where none is expected is refused.
    let created = b.offer(true);
    let tx = created.tx_code().unwrap().expose_secret().to_owned();
    assert!(b.redeem(&created, Some("1")).is_err());
    assert!(b.redeem(&created, Some(&tx)).is_ok());
    assert_eq!(b.redeem(&created, Some(&tx)).unwrap_err(), Oid4vciError::InvalidGrant(GrantProblem::Used));
    let plain = b.offer(false);
    assert_eq!(b.redeem(&plain, Some("123456")).unwrap_err().code(), "invalid_request");
    // The wallet refuses to send the wrong combination in the first place.
    let session = session_for(&b, plain.offer().clone());
    assert_eq!(session.token_request(Some(TxCode::new("1"))).unwrap_err().check(), "wallet.tx_code");
    let session = session_for(&b, created.offer().clone());
    assert_eq!(session.token_request(None).unwrap_err().check(), "wallet.tx_code");
}

#[test]
fn malformed_token_requests() {
    let mut b = Bureau::new();
    let created = b.offer(false);
    let code = created.offer().pre_authorized().unwrap().code().expose_secret().to_owned();
    let grant = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code";
    for (body, want) in [
        (String::new(), "invalid_request"),
        (format!("grant_type=authorization_code&code={code}"), "unsupported_grant_type"),
        (format!("grant_type={grant}"), "invalid_request"),
        (format!("grant_type={grant}&pre-authorized_code={code}&pre-authorized_code={code}"), "invalid_request"),
        (format!("grant_type={grant}&pre-authorized_code={code}&x=%zz"), "invalid_request"),
        (format!("{{\"grant_type\":\"{grant}\"}}"), "invalid_request"),
    ] {
        assert_eq!(b.token_at(&body, NOW).unwrap_err().code(), want, "{body}");
    }
    // None of them spent the code.
    let ok = format!("grant_type={grant}&pre-authorized_code={code}&client_id=w&user_pin=1&resource=x");
    assert!(b.token_at(&ok, NOW).is_ok());
}

// ---------------------------------------------------------------- credential endpoint

/// A test-held Ed25519 key, by a small number.
fn secret(n: u8) -> [u8; 32] {
    let mut s = [0u8; 32];
    SeededRng::new(&[b'k', n]).fill(&mut s);
    s
}

fn jwk(secret: &[u8; 32]) -> Value {
    let x = ed25519_dalek::SigningKey::from_bytes(secret).verifying_key().to_bytes();
    json!({"kty": "OKP", "crv": "Ed25519", "x": b64(x)})
}

fn header(secret: &[u8; 32]) -> Value {
    json!({"typ": PROOF_TYP, "alg": "EdDSA", "jwk": jwk(secret)})
}

fn payload(nonce: &str) -> Value {
    json!({"aud": ISS, "iat": NOW.0, "nonce": nonce})
}

fn proof(n: u8, nonce: &str) -> String {
    sign(&header(&secret(n)), &payload(nonce), &secret(n))
}

fn request(proofs: &[String]) -> String {
    json!({"credential_configuration_id": DEFAULT_CONFIGURATION_ID, "proofs": {"jwt": proofs}}).to_string()
}

#[test]
fn forged_proofs_are_invalid_proofs() {
    let mut b = Bureau::new();
    let bearer = b.bearer();
    let nonce = b.nonce_at(NOW);
    let s = secret(1);
    let mut private = jwk(&s);
    private["d"] = json!(b64(s));
    let mut identity = [0u8; 32];
    identity[0] = 1; // the identity point: small order
    let weak = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(identity)});
    let tamper_sig = {
        let p = proof(1, &nonce);
        let (rest, sig) = p.rsplit_once('.').unwrap();
        let flip = if sig.starts_with('A') { "B" } else { "A" };
        format!("{rest}.{flip}{}", &sig[1..])
    };
    let cases: Vec<(&str, String)> = vec![
        ("wrong typ", sign(&json!({"typ": "JWT", "alg": "EdDSA", "jwk": jwk(&s)}), &payload(&nonce), &s)),
        ("no typ", sign(&json!({"alg": "EdDSA", "jwk": jwk(&s)}), &payload(&nonce), &s)),
        ("alg none", sign(&json!({"typ": PROOF_TYP, "alg": "none", "jwk": jwk(&s)}), &payload(&nonce), &s)),
        ("alg none, no signature", {
            let p = sign(&json!({"typ": PROOF_TYP, "alg": "none", "jwk": jwk(&s)}), &payload(&nonce), &s);
            format!("{}.", p.rsplit_once('.').unwrap().0)
        }),
        ("HMAC", sign(&json!({"typ": PROOF_TYP, "alg": "HS256", "jwk": jwk(&s)}), &payload(&nonce), &s)),
        (
            "private key in header",
            sign(&json!({"typ": PROOF_TYP, "alg": "EdDSA", "jwk": private}), &payload(&nonce), &s),
        ),
        (
            "kid instead of jwk",
            sign(&json!({"typ": PROOF_TYP, "alg": "EdDSA", "kid": "did:example:1#0"}), &payload(&nonce), &s),
        ),
        (
            "jwk and kid",
            sign(&json!({"typ": PROOF_TYP, "alg": "EdDSA", "jwk": jwk(&s), "kid": "0"}), &payload(&nonce), &s),
        ),
        (
            "aud of another issuer",
            sign(&header(&s), &json!({"aud": "https://other.example", "iat": NOW.0, "nonce": nonce}), &s),
        ),
        ("aud as an array", sign(&header(&s), &json!({"aud": [ISS], "iat": NOW.0, "nonce": nonce}), &s)),
        ("bad signature", tamper_sig),
        ("signed by another key", sign(&header(&s), &payload(&nonce), &secret(2))),
        ("small-order key", sign(&json!({"typ": PROOF_TYP, "alg": "EdDSA", "jwk": weak}), &payload(&nonce), &s)),
        ("iat in the future", sign(&header(&s), &json!({"aud": ISS, "iat": NOW.0 + 3600, "nonce": nonce}), &s)),
        ("iat too old", sign(&header(&s), &json!({"aud": ISS, "iat": NOW.0 - 7200, "nonce": nonce}), &s)),
        ("no iat", sign(&header(&s), &json!({"aud": ISS, "nonce": nonce}), &s)),
        ("no nonce", sign(&header(&s), &json!({"aud": ISS, "iat": NOW.0}), &s)),
        ("not a jwt", "a.b".into()),
    ];
    for (what, bad) in cases {
        let e = b.credential(&bearer, &request(&[proof(3, &nonce), bad])).unwrap_err();
        assert_eq!(e.code(), "invalid_proof", "{what}: {e}");
        assert!(matches!(e, Oid4vciError::InvalidProof { proof: Some(1), .. }), "{what}: {e:?}");
    }
    // None of the refused requests spent the token or burned proof 3's key.
    assert!(b.credential(&bearer, &request(&[proof(3, &nonce)])).is_ok());
}

#[test]
fn nonces_missing_stale_unknown() {
    let mut b = Bureau::new();
    let bearer = b.bearer();
    let s = secret(1);
    let stale = b.nonce_at(UnixTime(NOW.0 - 2 * 3600));
    let other_issuer = {
        let mut rng = SeededRng::new(b"another bureau");
        Issuer::new(ISS, IssuerSigningKey::generate(&mut rng)).unwrap().nonce(NOW, &mut rng)
    };
    for (what, nonce) in
        [("stale", stale), ("forged", "A".repeat(64)), ("another issuer's", other_issuer), ("short", "x".into())]
    {
        let e = b.credential(&bearer, &request(&[sign(&header(&s), &payload(&nonce), &s)])).unwrap_err();
        assert_eq!(e, Oid4vciError::InvalidNonce { proof: 0 }, "{what}");
        assert_eq!(e.code(), "invalid_nonce");
    }
    // OpenID4VCI F.1/8.3.1.2: a proof without a nonce is an invalid proof.
    let e = b.credential(&bearer, &request(&[sign(&header(&s), &json!({"aud": ISS, "iat": NOW.0}), &s)])).unwrap_err();
    assert_eq!(e.code(), "invalid_proof");
    // One fresh nonce serves several proofs.
    let nonce = b.nonce_at(NOW);
    assert_eq!(b.credential(&bearer, &request(&[proof(1, &nonce), proof(2, &nonce)])).unwrap().credentials().len(), 2);
}

#[test]
fn access_tokens_missing_expired_foreign_spent() {
    let mut b = Bureau::new();
    let nonce = b.nonce_at(NOW);
    let body = request(&[proof(1, &nonce)]);
    let problem = |r: Result<CredentialResponse, Oid4vciError>| match r {
        Err(e @ Oid4vciError::InvalidToken(_)) => {
            assert_eq!((e.code(), e.status()), ("invalid_token", 401));
            let Oid4vciError::InvalidToken(p) = e else { unreachable!() };
            p
        }
        other => panic!("{other:?}"),
    };
    let missing = b.credential_at(None, &body, NOW).unwrap_err();
    assert_eq!(missing.www_authenticate().unwrap(), "Bearer");
    assert_eq!(problem(Err(missing)), TokenProblem::Missing);
    assert_eq!(problem(b.credential_at(Some("Basic dTpw"), &body, NOW)), TokenProblem::Missing);
    assert_eq!(problem(b.credential("Bearer a b", &body)), TokenProblem::Malformed);
    // Another issuer's token (or any token this one never granted).
    let foreign = {
        let mut other = Bureau::with_config(Oid4vciConfig::default());
        other.rng = SeededRng::new(b"other bureau");
        other.bearer()
    };
    let e = b.credential(&foreign, &body).unwrap_err();
    assert!(e.www_authenticate().unwrap().starts_with("Bearer error=\"invalid_token\""));
    assert_eq!(problem(Err(e)), TokenProblem::Unknown);
    let bearer = b.bearer();
    assert_eq!(problem(b.credential_at(Some(&bearer), &body, UnixTime(NOW.0 + 601))), TokenProblem::Expired);
    assert_eq!(problem(b.credential(&bearer, &body)), TokenProblem::Unknown, "an expired grant is dropped");
    let bearer = b.bearer();
    assert!(b.credential(&bearer, &body).is_ok());
    assert_eq!(problem(b.credential(&bearer, &request(&[proof(2, &nonce)]))), TokenProblem::Spent);
}

#[test]
fn replayed_requests_never_yield_a_second_batch_for_the_same_keys() {
    let mut b = Bureau::with_config(Oid4vciConfig::default().with_batches_per_token(4));
    let bearer = b.bearer();
    let nonce = b.nonce_at(NOW);
    let body = request(&[proof(1, &nonce), proof(2, &nonce)]);
    assert_eq!(b.credential(&bearer, &body).unwrap().credentials().len(), 2);
    // The same request again, with a token that has batches left.
    let e = b.credential(&bearer, &body).unwrap_err();
    assert_eq!(e.code(), "invalid_proof");
    assert!(matches!(e, Oid4vciError::InvalidProof { proof: Some(0), .. }));
    // With another token, and with the keys re-proven over a fresh nonce.
    let other = b.bearer();
    let fresh = b.nonce_at(NOW);
    assert_eq!(
        b.credential(&other, &request(&[proof(3, &fresh), proof(2, &fresh)])).unwrap_err().code(),
        "invalid_proof"
    );
    // Key 3 was not burned by that refusal (all or nothing).
    assert!(b.credential(&other, &request(&[proof(3, &fresh)])).is_ok());
    // The same key twice in one request.
    let e = b.credential(&bearer, &request(&[proof(4, &fresh), proof(4, &fresh)])).unwrap_err();
    assert!(matches!(e, Oid4vciError::InvalidProof { proof: Some(1), .. }), "{e:?}");
    assert_eq!(b.store.used_key_count(), 3);
}

#[test]
fn a_failed_signing_gives_the_batch_back_and_burns_the_keys() {
    let mut b = Bureau::new();
    let bearer = b.bearer();
    let nonce = b.nonce_at(NOW);
    let mut lists = Lists { alloc: IndexAllocator::new(1024), rng: SeededRng::new(b"l"), fail: true };
    let body = request(&[proof(1, &nonce)]);
    let e = b.vci.credential(&mut b.store, &mut lists, Some(&bearer), body.as_bytes(), NOW, &mut b.rng).unwrap_err();
    assert_eq!((e.code(), e.status()), ("server_error", 500));
    assert!(!e.to_json().to_string().contains("registry"), "internals stay in the logs");
    lists.fail = false;
    let e = b.vci.credential(&mut b.store, &mut lists, Some(&bearer), body.as_bytes(), NOW, &mut b.rng).unwrap_err();
    assert_eq!(e.code(), "invalid_proof", "the key stays used");
    let body = request(&[proof(2, &nonce)]);
    let ok = b.vci.credential(&mut b.store, &mut lists, Some(&bearer), body.as_bytes(), NOW, &mut b.rng).unwrap();
    assert_eq!(ok.credentials().len(), 1, "the token's batch was given back");
}

#[test]
fn bad_credential_requests() {
    let mut b = Bureau::new();
    let bearer = b.bearer();
    let nonce = b.nonce_at(NOW);
    let p = proof(1, &nonce);
    let seventeen: Vec<String> = (10..27).map(|n| proof(n, &nonce)).collect();
    for (what, body, want) in [
        ("17 proofs, batch size 16", request(&seventeen), "invalid_credential_request"),
        ("unknown configuration", json!({"credential_configuration_id": "mdl", "proofs": {"jwt": [p]}}).to_string(), "unknown_credential_configuration"),
        ("a credential identifier", json!({"credential_identifier": "x", "proofs": {"jwt": [p]}}).to_string(), "unknown_credential_identifier"),
        ("malformed json", format!("{}}}", request(std::slice::from_ref(&p))), "invalid_credential_request"),
        ("duplicate keys", format!("{{\"credential_configuration_id\":\"x\",{}", &request(std::slice::from_ref(&p))[1..]), "invalid_credential_request"),
        ("singular proof", json!({"credential_configuration_id": DEFAULT_CONFIGURATION_ID, "proof": {"proof_type": "jwt", "jwt": p}}).to_string(), "invalid_credential_request"),
        ("no proofs", json!({"credential_configuration_id": DEFAULT_CONFIGURATION_ID}).to_string(), "invalid_proof"),
        ("encryption asked for", json!({"credential_configuration_id": DEFAULT_CONFIGURATION_ID, "proofs": {"jwt": [p]}, "credential_response_encryption": {"jwk": {}, "enc": "A128GCM"}}).to_string(), "invalid_encryption_parameters"),
        ("way too large", request(&vec![p.clone(); 400]), "invalid_credential_request"),
    ] {
        let e = b.credential(&bearer, &body).unwrap_err();
        assert_eq!(e.code(), want, "{what}: {e}");
        assert_eq!(e.status(), 400);
        let wire = e.to_json();
        assert_eq!(wire["error"], want);
        assert!(wire["error_description"].as_str().unwrap().bytes().all(|c| (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\'));
    }
    // The token and the key survived every refusal.
    assert_eq!(b.credential(&bearer, &request(&[p])).unwrap().credentials().len(), 1);
}

// ---------------------------------------------------------------- wallet

#[test]
fn the_wallet_refuses_metadata_of_another_issuer_and_http() {
    let b = Bureau::new();
    let created = b_offer(&b);
    let (md, asm) = b.metadata_bytes();
    // Metadata fetched for the offer must name the offer's issuer, byte for byte.
    for other in ["https://bureau.example/", "https://Bureau.example", "https://evil.example"] {
        let e = CredentialIssuerMetadata::from_json(&md, other).unwrap_err();
        assert_eq!(e.check(), "wallet.issuer_mismatch", "{other}");
    }
    let mut doc: Value = serde_json::from_slice(&md).unwrap();
    doc["credential_endpoint"] = json!("http://bureau.example/credential");
    let e = CredentialIssuerMetadata::from_json(doc.to_string().as_bytes(), ISS).unwrap_err();
    assert_eq!(e.check(), "wallet.insecure_url");
    let mut doc: Value = serde_json::from_slice(&asm).unwrap();
    assert_eq!(
        AuthorizationServerMetadata::from_json(&asm, "https://evil.example").unwrap_err().check(),
        "wallet.authorization_server_mismatch"
    );
    doc["pre-authorized_grant_anonymous_access_supported"] = json!(false);
    assert_eq!(
        AuthorizationServerMetadata::from_json(doc.to_string().as_bytes(), ISS).unwrap_err().check(),
        "wallet.unsupported"
    );
    // A session only follows metadata of the offer's issuer.
    let mut other_offer = created.offer().to_json();
    other_offer["credential_issuer"] = json!("https://evil.example");
    let other_offer = CredentialOffer::from_json(other_offer.to_string().as_bytes()).unwrap();
    let md = CredentialIssuerMetadata::from_json(&md, ISS).unwrap();
    let asm = AuthorizationServerMetadata::from_json(&asm, ISS).unwrap();
    assert_eq!(IssuanceSession::new(other_offer, &md, &asm).unwrap_err().check(), "wallet.issuer_mismatch");
    // http offers on a non-loopback host are refused; loopback is fine.
    let mut http = created.offer().to_json();
    http["credential_issuer"] = json!("http://bureau.example");
    assert_eq!(CredentialOffer::from_json(http.to_string().as_bytes()).unwrap_err().check(), "wallet.insecure_url");
    http["credential_issuer"] = json!("http://localhost:8080");
    assert!(CredentialOffer::from_json(http.to_string().as_bytes()).is_ok());
    assert_eq!(credential_issuer_metadata_url("http://bureau.example").unwrap_err().check(), "wallet.insecure_url");
    let link = offer_link_by_reference("http://bureau.example/offer/1");
    assert_eq!(parse_offer_link(&link).unwrap_err().check(), "wallet.insecure_url");
}

fn b_offer(b: &Bureau) -> CreatedOffer {
    let mut store = MemoryStore::new();
    b.vci.create_offer(&mut store, NewOffer::new("p", claims()), NOW, &mut SeededRng::new(b"o")).unwrap()
}

#[test]
fn the_wallet_stores_nothing_unless_every_credential_verifies() {
    let mut b = Bureau::new();
    let authorized = b.authorize();
    let nonce = CNonce::new(b.nonce_at(NOW));
    let mut wallet = Wallet::new();
    let mut rng = SeededRng::new(b"w");
    let (pending, req) = authorized.credential_request(&mut wallet, 3, Some(&nonce), NOW, &mut rng).unwrap();
    let wire = b.credential(req.authorization.as_deref().unwrap(), &req.body).unwrap().to_json();
    let trust = b.trust();
    let mut doc: Value = serde_json::from_str(&wire).unwrap();

    // A credential whose signature does not verify.
    let good = doc["credentials"][1]["credential"].as_str().unwrap().to_owned();
    let (jwt, rest) = good.split_once('~').unwrap();
    let (signed, sig) = jwt.rsplit_once('.').unwrap();
    let flip = if sig.starts_with('A') { "B" } else { "A" };
    doc["credentials"][1]["credential"] = json!(format!("{signed}.{flip}{}~{rest}", &sig[1..]));
    let e = pending.clone().accept(200, doc.to_string().as_bytes(), &trust, &mut wallet, NOW).unwrap_err();
    assert_eq!(e.check(), "wallet.credential");
    assert!(matches!(e, WalletError::Credential { index: 1, .. }));
    assert!(wallet.inventory(NOW).is_empty(), "nothing stored");

    // Signed by a key the wallet does not trust for this issuer.
    let e = pending.clone().accept(200, wire.as_bytes(), &TrustStore::new(), &mut wallet, NOW).unwrap_err();
    assert_eq!(e.check(), "wallet.credential");
    // Range secrets that do not match the commitment.
    let mut doc: Value = serde_json::from_str(&wire).unwrap();
    doc["credentials"][0][RANGE_SECRETS_MEMBER] = doc["credentials"][2][RANGE_SECRETS_MEMBER].clone();
    let e = pending.clone().accept(200, doc.to_string().as_bytes(), &trust, &mut wallet, NOW).unwrap_err();
    assert!(matches!(e, WalletError::Credential { index: 0, .. }), "{e:?}");
    // The same credential twice: bound to one key twice.
    let mut doc: Value = serde_json::from_str(&wire).unwrap();
    doc["credentials"][2] = doc["credentials"][0].clone();
    let e = pending.clone().accept(200, doc.to_string().as_bytes(), &trust, &mut wallet, NOW).unwrap_err();
    assert_eq!(e.check(), "wallet.binding");
    // Credentials bound to keys another request proved.
    let other = b.authorize();
    let nonce = CNonce::new(b.nonce_at(NOW));
    let (other_pending, other_req) = other.credential_request(&mut wallet, 3, Some(&nonce), NOW, &mut rng).unwrap();
    let e = other_pending.clone().accept(200, wire.as_bytes(), &trust, &mut wallet, NOW).unwrap_err();
    assert_eq!(e.check(), "wallet.binding");
    // An error answer is passed on with its code.
    let e = other_pending.clone().accept(400, br#"{"error":"invalid_nonce"}"#, &trust, &mut wallet, NOW).unwrap_err();
    assert!(matches!(&e, WalletError::ErrorResponse { status: 400, response } if response.error == "invalid_nonce"));
    assert!(wallet.inventory(NOW).is_empty());
    // Expired at the wallet's clock.
    let later = UnixTime(NOW.0 + 40 * 86_400);
    assert_eq!(
        pending.clone().accept(200, wire.as_bytes(), &trust, &mut wallet, later).unwrap_err().check(),
        "wallet.credential"
    );

    // The genuine answers are stored.
    assert_eq!(pending.accept(200, wire.as_bytes(), &trust, &mut wallet, NOW).unwrap(), 3);
    let other_wire = b.credential(other_req.authorization.as_deref().unwrap(), &other_req.body).unwrap().to_json();
    assert_eq!(other_pending.accept(200, other_wire.as_bytes(), &trust, &mut wallet, NOW).unwrap(), 3);
    assert_eq!(wallet.inventory(NOW)[0].unspent, 6);
}

#[test]
fn the_wallet_passes_on_token_errors_and_needs_a_nonce() {
    let mut b = Bureau::new();
    let created = b.offer(false);
    let session = session_for(&b, created.offer().clone());
    let e = session
        .clone()
        .accept_token_response(400, br#"{"error":"invalid_grant","error_description":"used"}"#)
        .unwrap_err();
    assert!(matches!(&e, WalletError::ErrorResponse { status: 400, response } if response.error == "invalid_grant"));
    let authorized = b.authorize();
    let e = authorized.credential_request(&mut Wallet::new(), 1, None, NOW, &mut SeededRng::new(b"n")).unwrap_err();
    assert_eq!(e.check(), "wallet.unsupported");
    assert_eq!(authorized.accept_nonce_response(200, b"{}").unwrap_err().check(), "wallet.malformed");
}
