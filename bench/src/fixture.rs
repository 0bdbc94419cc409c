//! The creditproof side of every figure, built once before anything is
//! timed: an issuer, a verifier that trusts it (with a decoded status list
//! loaded), credentials and one presentation of each kind.

use zeroize::Zeroizing;

use creditproof::policy::Policy;
use creditproof::status_list::{StatusList, STATUS_INVALID};
use creditproof::{
    Claims, Error, HolderPublicKey, HolderSigningKey, IssuedCredential, Issuer, IssuerSigningKey, PresentOptions,
    PresentationRequest, StatusRef, SystemRng, TrustStore, UnixTime, Verifier, VerifierOptions, Wallet, DAY,
};

/// The verifier's clock and the issuer's, fixed so runs are comparable.
pub const NOW: UnixTime = UnixTime(1_795_262_400);
/// The issuer's identifier.
pub const ISS: &str = "https://bureau.example";
/// The list the revocable credential points into.
pub const STATUS_URI: &str = "https://bureau.example/status/1";
/// Entries in that list: 2^20, one list of a national issuer (README).
pub const STATUS_LEN: usize = 1 << 20;
/// The revocable credential's index in it.
pub const STATUS_IDX: u64 = 712_345;
/// The perk the (c) request asks for.
pub const PERK: &str = "no_deposit_rental";

/// One presentation and the request it answers.
#[derive(Debug, Clone)]
pub struct Case {
    /// The verifier's request (audience, nonce, predicates).
    pub request: PresentationRequest,
    /// The holder's answer.
    pub presentation: String,
}

/// A committed score: its maximum fixes the bit width of the range claim.
#[derive(Debug, Clone, Copy)]
pub struct Score {
    /// The committed value.
    pub value: u64,
    /// The scale's maximum; the range claim has `bits_for(max)` bits.
    pub max: u64,
    /// The verifier's threshold for `score>=t`.
    pub threshold: u64,
}

impl Score {
    /// The 1300-point scale of the shipped policies: 11 bits, score 712,
    /// the verifier asks for 650.
    pub const DEFAULT: Score = Score { value: 712, max: 1300, threshold: 650 };

    /// The costliest `score>=t` on the same scale: 1287 is the threshold up
    /// to 1300 with the largest digit sum in base 46 (27·46 + 45: 72 chain
    /// steps for the verifier, against 20 for 650); the score is 1300.
    pub const WORST: Score = Score { value: 1300, max: 1300, threshold: 1287 };

    /// A score on a full `bits`-bit scale (`max = 2^bits - 1`), at about
    /// 0.73 of it, asked for at least 0.6 of it (as `examples/range_bench.rs`).
    pub fn full_scale(bits: u32) -> Score {
        let max = if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 };
        Score { value: max / 11 * 8, max, threshold: max / 5 * 3 }
    }

    /// `score>=t` as a request predicate.
    pub fn predicate(&self) -> String {
        format!("score>={}", self.threshold)
    }
}

/// The shipped policy whose 0..=1300 scale gives the 11-bit score.
const CIVIC: &str = include_str!("../../policies/civic-1300.json");

/// The claims of a score credential, shaped as `Claims::from_score` shapes
/// them under `policies/civic-1300.json`: the score committed; tier,
/// policy and scale selectively disclosable; and inside `perks` one flag
/// per perk of the policy (five; [`PERK`] true, the others false).
pub fn claims(score: Score) -> Result<Claims, Error> {
    let policy = Policy::from_json_slice(CIVIC.as_bytes(), CIVIC.len())?;
    let mut c = Claims::new();
    c.commit("score", score.value, score.max)?;
    c.insert("tier", "A")?;
    c.insert("policy", format!("{}/{}", policy.id(), policy.version()))?;
    c.insert("score_scale", serde_json::json!({"min": 0, "max": score.max}))?;
    for name in policy.perks().keys() {
        c.insert_perk(name, name == PERK)?;
    }
    Ok(c)
}

/// The three presentation kinds the figures compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// (a) disclose `tier`; no predicate, no status.
    Disclose,
    /// (b) one `score>=t` range proof; no disclosure, no status.
    Range,
    /// (c) `perk:no_deposit_rental` and `score>=t`, on a credential with a
    /// status entry, against a verifier with the decoded list loaded.
    PerkRangeStatus,
}

impl Kind {
    /// All three, in table order.
    pub const ALL: [Kind; 3] = [Kind::Disclose, Kind::Range, Kind::PerkRangeStatus];

    /// Short JSON key.
    pub fn key(self) -> &'static str {
        match self {
            Kind::Disclose => "a_disclose",
            Kind::Range => "b_range",
            Kind::PerkRangeStatus => "c_perk_range_status",
        }
    }

    /// Table label.
    pub fn label(self, score: Score) -> String {
        match self {
            Kind::Disclose => "(a) disclose tier".into(),
            Kind::Range => format!("(b) {}", score.predicate()),
            Kind::PerkRangeStatus => format!("(c) perk:{PERK} + {} + status", score.predicate()),
        }
    }

    /// The request a verifier makes for this kind.
    pub fn request(self, score: Score, rng: &mut SystemRng) -> Result<PresentationRequest, Error> {
        let b = PresentationRequest::builder("https://lender.example");
        let b = match self {
            Kind::Disclose => b.disclose("tier"),
            Kind::Range => b.predicate(score.predicate().parse()?),
            Kind::PerkRangeStatus => b.predicate(format!("perk:{PERK}").parse()?).predicate(score.predicate().parse()?),
        };
        b.build(rng)
    }
}

/// The issuer, a verifier that trusts it, and the 2^20-entry status list.
pub struct Fixture {
    /// The issuer (Ed25519 key, default config).
    pub issuer: Issuer,
    /// The trust store with the issuer's key.
    pub trust: TrustStore,
    /// A verifier with the issuer's status list already loaded.
    pub verifier: Verifier<TrustStore>,
    /// System randomness, as production code uses.
    pub rng: SystemRng,
    /// An index that is revoked in the loaded list.
    pub revoked_idx: u64,
}

impl Fixture {
    /// Builds everything; the status list has 1 % of its entries revoked,
    /// none of them the benchmark credential's.
    pub fn new() -> Result<Self, crate::BoxError> {
        let mut rng = SystemRng::new();
        let issuer = Issuer::new(ISS, IssuerSigningKey::generate(&mut rng))?;
        let mut trust = TrustStore::new();
        trust.add(issuer.id(), issuer.public_key());
        let mut list = StatusList::new(2, STATUS_LEN)?;
        let mut pick = crate::splitmix::SplitMix(0x5eed);
        let mut revoked_idx = None;
        for _ in 0..STATUS_LEN / 100 {
            let i = u64::try_from(pick.below(STATUS_LEN))?;
            if i != STATUS_IDX {
                list.set(usize::try_from(i)?, STATUS_INVALID)?;
                revoked_idx.get_or_insert(i);
            }
        }
        let revoked_idx = revoked_idx.ok_or("no entry revoked")?;
        let token = issuer.sign_status_list(STATUS_URI, &list, NOW, DAY, 3600);
        let mut verifier = Verifier::with_options(trust.clone(), VerifierOptions::default().allow_missing_status());
        verifier.add_status_list(&token, NOW)?;
        let mut fx = Self { issuer, trust, verifier, rng, revoked_idx };
        fx.check_status_is_looked_up()?;
        Ok(fx)
    }

    /// The (c) figures include the status lookup: a credential at a revoked
    /// index of the loaded list is refused with `status.revoked`.
    fn check_status_is_looked_up(&mut self) -> Result<(), crate::BoxError> {
        let holder = HolderSigningKey::generate(&mut self.rng);
        let status = StatusRef { uri: STATUS_URI.into(), idx: self.revoked_idx };
        let claims = claims(Score::DEFAULT)?;
        let credential = self.issuer.issue_with_status(&holder.public_key(), &claims, &status, NOW, &mut self.rng)?;
        let mut wallet = Wallet::new();
        wallet.insert_key(holder);
        wallet.store(credential)?;
        let request = Kind::PerkRangeStatus.request(Score::DEFAULT, &mut self.rng)?;
        // Benchmarks measure cost, not privacy: their thresholds (e.g. 1287 on
        // the 0..=1300 scale) need not be on the wallet's threshold grid.
        let p = wallet.present(&request, PresentOptions::default().allow_off_grid(true), NOW, &mut self.rng)?;
        match self.verifier.verify(&request, p.as_str(), NOW) {
            Err(e) if e.check() == "status.revoked" => Ok(()),
            other => Err(format!("a revoked credential gave {:?}, not status.revoked", other.map(|_| ())).into()),
        }
    }

    /// Issues one credential for `score` to a fresh key in `wallet`, with
    /// the status entry when `kind` needs one.
    pub fn issue_to(&mut self, key: &HolderPublicKey, score: Score, kind: Kind) -> Result<IssuedCredential, Error> {
        let claims = claims(score)?;
        if kind == Kind::PerkRangeStatus {
            let status = StatusRef { uri: STATUS_URI.into(), idx: STATUS_IDX };
            self.issuer.issue_with_status(key, &claims, &status, NOW, &mut self.rng)
        } else {
            self.issuer.issue(key, &claims, NOW, &mut self.rng)
        }
    }

    /// A fresh request of `kind` answered with a fresh credential and
    /// holder key; the key's secret and the credential are returned so
    /// presenting can be timed.
    pub fn case(&mut self, score: Score, kind: Kind) -> Result<(Case, Zeroizing<[u8; 32]>, IssuedCredential), Error> {
        let holder = HolderSigningKey::generate(&mut self.rng);
        let secret = holder.to_secret_bytes();
        let credential = self.issue_to(&holder.public_key(), score, kind)?;
        let mut wallet = Wallet::new();
        wallet.insert_key(holder);
        wallet.store(credential.clone())?;
        let request = kind.request(score, &mut self.rng)?;
        let p = wallet.present(&request, PresentOptions::default().allow_off_grid(true), NOW, &mut self.rng)?;
        let case = Case { request, presentation: p.as_str().to_owned() };
        // Every figure is of a presentation that verifies.
        self.verifier.verify(&case.request, &case.presentation, NOW)?;
        Ok((case, secret, credential))
    }
}
