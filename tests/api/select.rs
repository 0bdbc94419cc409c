//! Which credential the wallet spends (issue 20): never one it could know
//! the verifier will reject — a superseded one, one of an issuer the request
//! does not accept, one a status list shows revoked or suspended — the
//! newest first, and a refusal that names the real reason.

use crate::fixture::*;
use creditproof::error::HolderError;
use creditproof::hazmat::SeededRng;
use creditproof::status_list::StatusList;
use creditproof::{
    Batch, Claims, CredentialState, Error, HolderPublicKey, IssuedCredential, Issuer, IssuerSigningKey, KnownStatus,
    PresentOptions, Presentation, PresentationRequest, Removal, StatusLists, StatusRef, Stored, TrustStore, UnixTime,
    Verifier, VerifierOptions, Wallet, DAY,
};
use serde_json::Value;

const OTHER: &str = "https://other-bureau.example";
const URI: &str = "https://bureau.example/status/1";

/// The bureau (revocable credentials on one list) and another issuer, a
/// wallet, and the bureau's list.
struct World {
    rng: SeededRng,
    bureau: Issuer,
    other: Issuer,
    wallet: Wallet,
    list: StatusList,
    next_idx: u64,
}

impl World {
    fn new() -> Self {
        let mut rng = SeededRng::new(b"wallet selection");
        let bureau = Issuer::new(ISS, IssuerSigningKey::generate(&mut rng)).unwrap();
        let other = Issuer::new(OTHER, IssuerSigningKey::generate(&mut rng)).unwrap();
        Self { rng, bureau, other, wallet: Wallet::new(), list: StatusList::new(2, 64).unwrap(), next_idx: 0 }
    }

    fn key(&mut self) -> HolderPublicKey {
        self.wallet.generate_key(&mut self.rng)
    }

    /// `n` bureau credentials with `claims`, issued at `at`, each with the
    /// next index of the list.
    fn bureau_creds(&mut self, claims: &Claims, n: usize, at: UnixTime) -> Vec<IssuedCredential> {
        (0..n)
            .map(|_| {
                let pk = self.key();
                let status = StatusRef { uri: URI.into(), idx: self.next_idx };
                self.next_idx += 1;
                self.bureau.issue_with_status(&pk, claims, &status, at, &mut self.rng).unwrap()
            })
            .collect()
    }

    fn batch(&mut self, id: &str, supersedes: &[&str], n: usize) -> Batch {
        let creds = self.bureau_creds(&claims(), n, NOW);
        Batch::new(ISS, creds)
            .with_id(id)
            .unwrap()
            .superseding(supersedes.iter().map(|s| s.to_string()).collect())
            .unwrap()
    }

    fn other_cred(&mut self, claims: &Claims) -> IssuedCredential {
        let pk = self.key();
        self.other.issue(&pk, claims, NOW, &mut self.rng).unwrap()
    }

    /// The bureau's list as a token issued at `at`.
    fn token(&self, at: UnixTime) -> String {
        self.bureau.sign_status_list(URI, &self.list, at, DAY, 3600)
    }

    fn trust(&self) -> TrustStore {
        let mut t = TrustStore::new();
        t.add(ISS, self.bureau.public_key());
        t
    }

    /// The bureau's current list, signature-checked as a holder loads it.
    fn lists(&self, at: UnixTime) -> StatusLists {
        let mut l = StatusLists::new();
        l.add(&self.token(at), &self.trust(), &VerifierOptions::default(), at).unwrap();
        l
    }

    fn request(&mut self, disclose: &[&str], predicates: &[&str]) -> PresentationRequest {
        let mut b = PresentationRequest::builder(AUD);
        for d in disclose {
            b = b.disclose(*d);
        }
        for p in predicates {
            b = b.predicate(p.parse().unwrap());
        }
        b.build(&mut self.rng).unwrap()
    }

    fn present(&mut self, r: &PresentationRequest) -> Result<Presentation, Error> {
        self.wallet.present(r, PresentOptions::default(), NOW, &mut self.rng)
    }

    /// What a verifier that trusts the bureau and has its current list says.
    fn verify(&self, r: &PresentationRequest, p: &Presentation) -> Result<(), Error> {
        let mut v = Verifier::new(self.trust());
        v.add_status_list(&self.token(NOW), NOW)?;
        v.verify(r, p.as_str(), NOW).map(|_| ())
    }
}

fn none_usable(spent: usize, expired: usize, revoked: usize, suspended: usize, superseded: usize) -> Error {
    HolderError::NoneUsable { spent, expired, revoked, suspended, superseded }.into()
}

fn idx_of(p: &Presentation) -> u64 {
    split(p.as_str()).payload["status"]["status_list"]["idx"].as_u64().unwrap()
}

/// The issue's first case: after a correction the wallet spent a
/// credential of the old batch, and the verifier answered `status.revoked`.
#[test]
fn a_superseded_batch_is_never_presented() {
    let mut w = World::new();
    let old = w.batch("b1", &[], 2);
    let fix = w.batch("b2", &["b1"], 1);
    // The correction revoked the old batch (indexes 0 and 1).
    w.list.set(0, 1).unwrap();
    w.list.set(1, 1).unwrap();
    assert_eq!(w.wallet.store_batch(old.clone()).unwrap(), Stored { stored: 2, superseded: 0 });
    assert_eq!(w.wallet.store_batch(fix.clone()).unwrap(), Stored { stored: 1, superseded: 2 });
    let inv = &w.wallet.inventory(NOW)[0];
    assert_eq!((inv.unspent, inv.superseded), (1, 2));

    let r = w.request(&["tier"], &[]);
    let p = w.present(&r).unwrap();
    assert_eq!(idx_of(&p), 2, "the corrected credential");
    assert!(w.verify(&r, &p).is_ok());
    // The corrected batch is used up: the wallet refuses rather than spend
    // a revoked one (which the verifier would reject: status.revoked).
    let r = w.request(&["tier"], &[]);
    let e = w.present(&r).unwrap_err();
    assert_eq!(e, none_usable(1, 0, 0, 0, 2));
    assert!(e.to_string().contains("spent (1), superseded by a correction (2)"), "{e}");
    // Even reuse never reaches for a superseded credential.
    let reused = w.wallet.present(&r, PresentOptions::default().allow_reuse(true), NOW, &mut w.rng).unwrap();
    assert_eq!(idx_of(&reused), 2);

    // Superseded stays superseded in the wallet file.
    let reloaded = Wallet::from_secret_json(w.wallet.to_secret_json().as_bytes()).unwrap();
    assert_eq!(reloaded.inventory(NOW), w.wallet.inventory(NOW));
    assert_eq!(reloaded.inventory(NOW)[0].superseded, 2);
}

/// Storing the superseded batch after its correction, or again after a
/// reload: it is superseded at once.
#[test]
fn a_batch_stored_after_its_correction_is_superseded_on_arrival() {
    let mut w = World::new();
    let old = w.batch("b1", &[], 2);
    let fix = w.batch("b2", &["b1"], 1);
    assert_eq!(w.wallet.store_batch(fix).unwrap(), Stored { stored: 1, superseded: 0 });
    let reloaded = Wallet::from_secret_json(w.wallet.to_secret_json().as_bytes()).unwrap();
    w.wallet = reloaded;
    assert_eq!(w.wallet.store_batch(old).unwrap(), Stored { stored: 2, superseded: 0 });
    let states: Vec<(Option<String>, CredentialState)> =
        w.wallet.list(NOW).into_iter().map(|c| (c.batch, c.state)).collect();
    assert_eq!(states.iter().filter(|s| s.1 == CredentialState::Superseded).count(), 2, "{states:?}");
    assert!(states.iter().all(|(b, s)| (b.as_deref() == Some("b1")) == (*s == CredentialState::Superseded)));
    let r = w.request(&["tier"], &[]);
    assert_eq!(idx_of(&w.present(&r).unwrap()), 2);
    assert_eq!(w.present(&r).unwrap_err().check(), "holder.none_usable");
}

/// Credentials stored before batch files had ids: a correction of the same
/// issuer supersedes those of its policy, and no others.
#[test]
fn a_correction_supersedes_credentials_stored_without_a_batch_id() {
    let mut w = World::new();
    let legacy = w.bureau_creds(&claims(), 1, NOW).remove(0);
    let mut tier_only = Claims::new();
    tier_only.insert("tier", "B").unwrap();
    let unrelated = w.bureau_creds(&tier_only, 1, NOW).remove(0);
    let elsewhere = w.other_cred(&claims());
    for c in [legacy, unrelated, elsewhere] {
        w.wallet.store(c).unwrap();
    }
    let fix = w.batch("b9", &["b0"], 1);
    assert_eq!(w.wallet.store_batch(fix).unwrap(), Stored { stored: 1, superseded: 1 });
    let superseded: Vec<(String, Option<String>)> = w
        .wallet
        .list(NOW)
        .into_iter()
        .filter(|c| c.state == CredentialState::Superseded)
        .map(|c| (c.issuer, c.policy))
        .collect();
    assert_eq!(superseded, [(ISS.to_owned(), Some("sesame-style/1".to_owned()))]);
}

/// The issue's second case: with credentials of two issuers the wallet
/// presented the one the verifier does not trust (`trust.issuer`).
#[test]
fn only_the_issuers_and_types_the_request_accepts_are_considered() {
    let mut w = World::new();
    let bureau = w.bureau_creds(&claims(), 1, NOW).remove(0);
    let other = w.other_cred(&claims());
    // The other issuer's credential first and last: neither the order of
    // storing nor the preference for the newest may pick it.
    w.wallet.store(other).unwrap();
    w.wallet.store(bureau).unwrap();
    let other2 = w.other_cred(&claims());
    w.wallet.store(other2).unwrap();
    let r = PresentationRequest::builder(AUD).disclose("tier").issuer(ISS).build(&mut w.rng).unwrap();
    let p = w.present(&r).unwrap();
    assert!(w.verify(&r, &p).is_ok(), "the bureau's credential, which the verifier trusts");
    // The bureau's only credential is spent: refused, the others are not taken.
    let r = PresentationRequest::builder(AUD).disclose("tier").issuer(ISS).build(&mut w.rng).unwrap();
    assert_eq!(w.present(&r).unwrap_err(), none_usable(1, 0, 0, 0, 0));
    // An issuer the wallet has nothing of.
    let r = PresentationRequest::builder(AUD).issuer("https://third.example").build(&mut w.rng).unwrap();
    let e = w.present(&r).unwrap_err();
    assert_eq!(e.check(), "holder.not_accepted");
    assert!(e.to_string().contains("accepted issuers: https://third.example"), "{e}");
    // A type the wallet has nothing of, from an issuer it has.
    let r = PresentationRequest::builder(AUD).issuer(OTHER).vct("urn:example:other:1").build(&mut w.rng).unwrap();
    let e = w.present(&r).unwrap_err();
    assert_eq!(e.check(), "holder.not_accepted");
    assert!(e.to_string().contains("accepted types: urn:example:other:1"), "{e}");
    let r = PresentationRequest::builder(AUD).issuer(OTHER).vct("urn:creditproof:score:2").build(&mut w.rng).unwrap();
    let p = w.present(&r).unwrap();
    assert_eq!(split(p.as_str()).payload["iss"], OTHER);
}

/// The issue's third case: given a status list, the wallet skips the
/// credentials it shows revoked or suspended.
#[test]
fn revoked_and_suspended_credentials_are_skipped_when_a_list_is_given() {
    let mut w = World::new();
    let creds = w.bureau_creds(&claims(), 3, NOW);
    for c in creds {
        w.wallet.store(c).unwrap();
    }
    // The first stored (what a naive wallet takes) and the newest stored
    // (what the preference takes) are revoked; only index 1 is good.
    w.list.set(0, 1).unwrap();
    w.list.set(2, 1).unwrap();
    // What a wallet fetches to learn their status: the one list, once.
    assert_eq!(w.wallet.status_sources(), vec![(ISS.to_owned(), URI.to_owned())]);
    assert_eq!(w.wallet.set_status_lists(&w.lists(NOW)), 3);
    let inv = &w.wallet.inventory(NOW)[0];
    assert_eq!((inv.unspent, inv.revoked), (1, 2));
    let r = w.request(&["tier"], &[]);
    let p = w.present(&r).unwrap();
    assert_eq!(idx_of(&p), 1);
    assert!(w.verify(&r, &p).is_ok());
    let r = w.request(&["tier"], &[]);
    assert_eq!(w.present(&r).unwrap_err(), none_usable(1, 0, 2, 0, 0));
}

#[test]
fn a_suspension_lasts_until_a_newer_list_but_a_revocation_is_final() {
    let mut w = World::new();
    for c in w.bureau_creds(&claims(), 2, NOW) {
        w.wallet.store(c).unwrap();
    }
    w.list.set(0, 2).unwrap();
    w.list.set(1, 1).unwrap();
    let earlier = UnixTime(NOW.0 - 600);
    assert_eq!(w.wallet.set_status_lists(&w.lists(earlier)), 2);
    let r = w.request(&["tier"], &[]);
    assert_eq!(w.present(&r).unwrap_err(), none_usable(0, 0, 1, 1, 0));
    // An older list changes nothing.
    w.list.set(0, 0).unwrap();
    w.list.set(1, 0).unwrap();
    assert_eq!(w.wallet.set_status_lists(&w.lists(UnixTime(earlier.0 - 600))), 0);
    // A newer one reinstates the suspended credential, never the revoked one.
    assert_eq!(w.wallet.set_status_lists(&w.lists(NOW)), 1);
    let known: Vec<Option<(KnownStatus, UnixTime)>> = {
        let mut l = w.wallet.list(NOW);
        l.sort_by_key(|c| c.state);
        l.into_iter().map(|c| c.known_status).collect()
    };
    assert_eq!(known, [Some((KnownStatus::Revoked, earlier)), Some((KnownStatus::Valid, NOW))]);
    // What the wallet learned is kept in its file.
    let reloaded = Wallet::from_secret_json(w.wallet.to_secret_json().as_bytes()).unwrap();
    assert_eq!(reloaded.list(NOW), w.wallet.list(NOW));
    let p = w.present(&r).unwrap();
    assert_eq!(idx_of(&p), 0);
    // A list of another issuer says nothing about the bureau's credentials.
    let other_list = w.other.sign_status_list(URI, &StatusList::new(2, 64).unwrap(), NOW, DAY, 3600);
    let mut trust = TrustStore::new();
    trust.add(OTHER, w.other.public_key());
    let mut lists = StatusLists::new();
    lists.add(&other_list, &trust, &VerifierOptions::default(), NOW).unwrap();
    assert_eq!(w.wallet.set_status_lists(&lists), 0);
}

/// The issue's fourth case: a wallet with tier-only and score credentials
/// refused `score>=650` as if it had no score, although the score
/// credential was there and simply below the threshold.
#[test]
fn a_mixed_wallet_names_the_real_reason() {
    for score_first in [false, true] {
        let mut w = World::new();
        let mut tier_only = Claims::new();
        tier_only.insert("tier", "A").unwrap();
        let mut scored = Claims::new();
        scored.commit("score", 612, 950).unwrap();
        let tier = w.bureau_creds(&tier_only, 1, NOW).remove(0);
        let score = w.bureau_creds(&scored, 1, NOW).remove(0);
        let (a, b) = if score_first { (score, tier) } else { (tier, score) };
        w.wallet.store(a).unwrap();
        w.wallet.store(b).unwrap();
        let r = w.request(&[], &["score>=650"]);
        let e = w.present(&r).unwrap_err();
        assert_eq!(e, HolderError::PredicateNotSatisfied { predicate: "score>=650".into() }.into());
        assert!(e.to_string().contains("has the claim, but its value does not satisfy `score>=650`"), "{e}");
        // The claim nobody has is still named as missing.
        let r = w.request(&["income"], &[]);
        assert_eq!(w.present(&r).unwrap_err(), HolderError::ClaimNotAvailable { name: "income".into() }.into());
        // The score credential, once spent, is the reason: not the tier one.
        let r = w.request(&[], &["score>=600"]);
        w.present(&r).unwrap();
        let r = w.request(&[], &["score>=600"]);
        assert_eq!(w.present(&r).unwrap_err(), none_usable(1, 0, 0, 0, 0));
        // Another, unspent, is counted as expired once it is.
        let again = w.bureau_creds(&scored, 1, NOW).remove(0);
        w.wallet.store(again).unwrap();
        let later = UnixTime(NOW.0 + 40 * DAY);
        let e = w.wallet.present(&r, PresentOptions::default(), later, &mut w.rng).unwrap_err();
        assert_eq!(e, none_usable(1, 1, 0, 0, 0), "spent counts before expired, each once");
    }
}

#[test]
fn the_newest_issuance_is_presented_first() {
    let mut w = World::new();
    for days_ago in [2, 0, 1] {
        let c = w.bureau_creds(&claims(), 1, UnixTime(NOW.0 - days_ago * DAY)).remove(0);
        w.wallet.store(c).unwrap();
    }
    let mut iats = Vec::new();
    for _ in 0..3 {
        let r = w.request(&["tier"], &[]);
        let p = w.present(&r).unwrap();
        iats.push(split(p.as_str()).payload["iat"].as_u64().unwrap());
    }
    let day = |n: u64| (NOW.0 - n * DAY) / DAY * DAY;
    assert_eq!(iats, [day(0), day(1), day(2)]);
}

#[test]
fn credentials_can_be_removed_by_issuer_batch_or_expiry() {
    let mut w = World::new();
    let b1 = w.batch("b1", &[], 2);
    w.wallet.store_batch(b1).unwrap();
    let old = w.bureau_creds(&claims(), 1, UnixTime(NOW.0 - 60 * DAY)).remove(0);
    w.wallet.store(old).unwrap();
    let other = w.other_cred(&claims());
    w.wallet.store(other).unwrap();
    let count = |w: &Wallet| w.list(NOW).len();
    assert_eq!(count(&w.wallet), 4);
    assert_eq!(w.wallet.remove(Removal::Expired, NOW), 1);
    assert_eq!(w.wallet.remove(Removal::Batch("nope"), NOW), 0);
    assert_eq!(w.wallet.remove(Removal::Issuer(OTHER), NOW), 1);
    assert_eq!(w.wallet.remove(Removal::Batch("b1"), NOW), 2);
    assert_eq!(count(&w.wallet), 0);
    // The keys went with them: the wallet file holds no key for nothing.
    let file: Value = serde_json::from_str(&w.wallet.to_secret_json()).unwrap();
    assert_eq!(file["keys"].as_array().unwrap().len(), 0);
    // A key made for a batch not yet received stays.
    w.key();
    assert_eq!(w.wallet.remove(Removal::Expired, NOW), 0);
    let file: Value = serde_json::from_str(&w.wallet.to_secret_json()).unwrap();
    assert_eq!(file["keys"].as_array().unwrap().len(), 1);
}

#[test]
fn the_wallet_lists_what_it_holds() {
    let mut w = World::new();
    let b1 = w.batch("b1", &[], 1);
    w.wallet.store_batch(b1).unwrap();
    let other = w.other_cred(&claims());
    w.wallet.store(other).unwrap();
    w.list.set(0, 2).unwrap();
    w.wallet.set_status_lists(&w.lists(NOW));
    let l = w.wallet.list(NOW);
    assert_eq!(l.len(), 2);
    let (b, o) = (&l[0], &l[1]);
    assert_eq!((b.issuer.as_str(), o.issuer.as_str()), (ISS, OTHER), "per issuer");
    assert_eq!(b.vct.as_deref(), Some("urn:creditproof:score:2"));
    assert_eq!(b.policy.as_deref(), Some("sesame-style/1"));
    assert_eq!(b.batch.as_deref(), Some("b1"));
    assert_eq!(b.issued, NOW.start_of_day());
    assert_eq!((b.has_status, b.known_status), (true, Some((KnownStatus::Suspended, NOW))));
    assert_eq!(b.state, CredentialState::Suspended);
    assert_eq!((o.has_status, o.known_status, o.state), (false, None, CredentialState::Unused));
    assert!(!b.spent && b.superseded_by.is_none());
}

/// A wallet file from before batch ids, supersession and statuses
/// (`creditproof-wallet/1`) still loads, spent flags and all.
#[test]
fn an_old_wallet_file_still_loads() {
    let mut fx = Fixture::new();
    let r = fx.request(&["tier"], &[]);
    fx.present(&r);
    let mut v: Value = serde_json::from_str(&fx.wallet.to_secret_json()).unwrap();
    v["type"] = "creditproof-wallet/1".into();
    v.as_object_mut().unwrap().remove("superseded");
    let old = Wallet::from_secret_json(v.to_string().as_bytes()).unwrap();
    assert_eq!(old.inventory(NOW), fx.wallet.inventory(NOW));
    assert_eq!(old.inventory(NOW)[0].spent, 1);
    // Written back in the current format.
    assert!(old.to_secret_json().contains("creditproof-wallet/2"));
    for bad in [r#"{"value":"gone","list_iat":1}"#, r#"{"value":"revoked"}"#] {
        let mut v: Value = serde_json::from_str(&fx.wallet.to_secret_json()).unwrap();
        v["credentials"][0]["status"] = serde_json::from_str(bad).unwrap();
        assert!(Wallet::from_secret_json(v.to_string().as_bytes()).is_err(), "{bad}");
    }
}

/// A batch file forged in the bureau's name (bound to the holder's public
/// keys, which the holder hands out) could supersede the genuine batch;
/// with the bureau's keys the wallet refuses it.
#[test]
fn a_forged_correction_is_refused_when_the_issuer_keys_are_given() {
    let mut w = World::new();
    let trust = w.trust();
    let genuine = w.batch("b1", &[], 1);
    assert_eq!(w.wallet.store_batch_verified(genuine, &trust).unwrap().stored, 1);
    let impostor = Issuer::new(ISS, IssuerSigningKey::generate(&mut w.rng)).unwrap();
    let pk = w.key();
    let forged = impostor.issue(&pk, &claims(), NOW, &mut w.rng).unwrap();
    let forged = Batch::new(ISS, vec![forged]).with_id("evil").unwrap().superseding(vec!["b1".into()]).unwrap();
    let e = w.wallet.store_batch_verified(forged.clone(), &trust).unwrap_err();
    assert_eq!(e.check(), "trust.kid");
    let inv = &w.wallet.inventory(NOW)[0];
    assert_eq!((inv.unspent, inv.superseded), (1, 0), "nothing stored, nothing superseded");
    // Unchecked, the forgery gets in: the limit SECURITY.md states.
    assert_eq!(w.wallet.store_batch(forged).unwrap().superseded, 1);
}
