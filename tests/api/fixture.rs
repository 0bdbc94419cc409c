//! A deterministic issuer, holder and verifier, and tools to forge tokens
//! signed by their real keys, so each bad input fails exactly one check.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use creditproof::hazmat::SeededRng;
use creditproof::status_list::StatusList;
use creditproof::{
    Claims, Error, HolderPublicKey, HolderSigningKey, IssuedCredential, Issuer, IssuerSigningKey, PresentOptions,
    PresentationRequest, StatusRef, TrustStore, UnixTime, VerifiedPresentation, Verifier, VerifierOptions, Wallet, DAY,
};
use ed25519_dalek::Signer as _;
use serde_json::{json, Value};

/// 2026-11-21T12:00:00Z.
pub const NOW: UnixTime = UnixTime(1_795_262_400);
pub const ISS: &str = "https://bureau.example";
pub const AUD: &str = "https://rental.example";
/// The list `Fixture::issue_revocable` puts credentials in; every entry valid.
pub const FIXTURE_STATUS_URI: &str = "https://bureau.example/status/fixture";
const FIXTURE_STATUS_LEN: usize = 1 << 12;

pub struct Fixture {
    pub issuer_secret: [u8; 32],
    pub holder_secret: [u8; 32],
    pub issuer: Issuer,
    pub wallet: Wallet,
    pub trust: TrustStore,
    pub rng: SeededRng,
    next_status_idx: u64,
}

pub fn claims() -> Claims {
    let mut c = Claims::new();
    c.insert("tier", "A").unwrap();
    c.insert("policy", "sesame-style/1").unwrap();
    c.insert_perk("no_deposit_rental", true).unwrap();
    c.insert_perk("express_airport_security", false).unwrap();
    c
}

impl Fixture {
    pub fn new() -> Self {
        let mut rng = SeededRng::new(b"creditproof api tests");
        let issuer_key = IssuerSigningKey::generate(&mut rng);
        let issuer_secret = *issuer_key.to_secret_bytes();
        let issuer = Issuer::new(ISS, issuer_key).unwrap();
        let holder = HolderSigningKey::generate(&mut rng);
        let holder_secret = *holder.to_secret_bytes();
        let mut wallet = Wallet::new();
        let holder_pk = wallet.insert_key(holder);
        let cred = issuer.issue(&holder_pk, &claims(), NOW, &mut rng).unwrap();
        wallet.store(cred).unwrap();
        let mut trust = TrustStore::new();
        trust.add(ISS, issuer.public_key());
        Self { issuer_secret, holder_secret, issuer, wallet, trust, rng, next_status_idx: 0 }
    }

    /// Issues `claims` to `holder` with the next entry of the fixture's
    /// status list (for claims whose policy requires a status).
    pub fn issue_revocable(&mut self, holder: &HolderPublicKey, claims: &Claims) -> IssuedCredential {
        let status = StatusRef { uri: FIXTURE_STATUS_URI.into(), idx: self.next_status_idx };
        self.next_status_idx += 1;
        self.issuer.issue_with_status(holder, claims, &status, NOW, &mut self.rng).unwrap()
    }

    pub fn request(&mut self, disclose: &[&str], predicates: &[&str]) -> PresentationRequest {
        let mut b = PresentationRequest::builder(AUD);
        for d in disclose {
            b = b.disclose(*d);
        }
        for p in predicates {
            b = b.predicate(p.parse().unwrap());
        }
        b.build(&mut self.rng).unwrap()
    }

    pub fn present(&mut self, request: &PresentationRequest) -> String {
        let opts = PresentOptions::default().allow_reuse(true);
        self.wallet.present(request, opts, NOW, &mut self.rng).unwrap().as_str().to_owned()
    }

    /// Verifies at `NOW` with the fixture's all-valid status list loaded.
    /// Most tests exercise other checks on credentials without a status, so
    /// this verifier accepts those by name (`allow_missing_status`); the
    /// default refusal has its own tests.
    pub fn verify(&self, request: &PresentationRequest, presentation: &str) -> Result<VerifiedPresentation, Error> {
        let options = VerifierOptions::default().allow_missing_status();
        let mut v = Verifier::with_options(self.trust.clone(), options);
        let list = StatusList::new(2, FIXTURE_STATUS_LEN).unwrap();
        v.add_status_list(&self.issuer.sign_status_list(FIXTURE_STATUS_URI, &list, NOW, DAY, 3600), NOW)?;
        v.verify(request, presentation, NOW)
    }
}

/// The parts of a presentation.
pub struct Parts {
    pub header: Value,
    pub payload: Value,
    pub disclosures: Vec<String>,
    pub kb_header: Value,
    pub kb_payload: Value,
}

pub fn decode_json(part: &str) -> Value {
    serde_json::from_slice(&B64.decode(part).unwrap()).unwrap()
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    B64.encode(bytes)
}

pub fn split(p: &str) -> Parts {
    let comps: Vec<&str> = p.split('~').collect();
    let jwt: Vec<&str> = comps[0].split('.').collect();
    let kb: Vec<&str> = comps[comps.len() - 1].split('.').collect();
    Parts {
        header: decode_json(jwt[0]),
        payload: decode_json(jwt[1]),
        disclosures: comps[1..comps.len() - 1].iter().map(|s| s.to_string()).collect(),
        kb_header: decode_json(kb[0]),
        kb_payload: decode_json(kb[1]),
    }
}

/// Signs `header.payload` (as given, byte for byte) with an Ed25519 secret.
pub fn sign_raw(header: &str, payload: &str, secret: &[u8; 32]) -> String {
    let key = ed25519_dalek::SigningKey::from_bytes(secret);
    let input = format!("{}.{}", b64(header), b64(payload));
    let sig = key.sign(input.as_bytes()).to_bytes();
    format!("{input}.{}", b64(sig))
}

pub fn sign(header: &Value, payload: &Value, secret: &[u8; 32]) -> String {
    sign_raw(&header.to_string(), &payload.to_string(), secret)
}

pub fn sd_hash(sd_jwt: &str) -> String {
    b64(ring::digest::digest(&ring::digest::SHA256, sd_jwt.as_bytes()))
}

impl Parts {
    /// Reassembles the presentation: the issuer JWT signed with
    /// `issuer_secret`, the disclosures, and a KB-JWT over the correct
    /// `sd_hash` (unless the caller set one) signed with `holder_secret`.
    pub fn assemble(&self, issuer_secret: &[u8; 32], holder_secret: &[u8; 32]) -> String {
        let jwt = sign(&self.header, &self.payload, issuer_secret);
        self.assemble_with_jwt(&jwt, holder_secret)
    }

    pub fn assemble_with_jwt(&self, jwt: &str, holder_secret: &[u8; 32]) -> String {
        let mut sd = format!("{jwt}~");
        for d in &self.disclosures {
            sd.push_str(d);
            sd.push('~');
        }
        let mut kb = self.kb_payload.clone();
        if kb.get("sd_hash") != Some(&json!("KEEP")) {
            kb["sd_hash"] = json!(sd_hash(&sd));
        } else {
            kb.as_object_mut().unwrap().remove("sd_hash");
        }
        format!("{sd}{}", sign(&self.kb_header, &kb, holder_secret))
    }
}
