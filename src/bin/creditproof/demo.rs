//! `creditproof demo`: the whole story on built-in defaults.

use creditproof::dispute::{check_dispute_request, sign_dispute_request, Receipt};
use creditproof::policy::{score, score_with_disputes, Date, DisputeEntry, EntryClock, Policy, Records};
use creditproof::status_list::{IndexAllocator, StatusList, STATUS_INVALID};
use creditproof::{
    verdict_json, Claims, HolderSigningKey, Issuer, IssuerSigningKey, PresentOptions, PresentationRequest,
    SecureRng as _, StatusRef, SystemRng, TrustStore, UnixTime, Verifier, Wallet, DAY,
};
use serde_json::Value;

use crate::files::CliError;

/// The shipped Sesame-style policy (350..950, deposit-free rental from 650).
const SESAME: &str = include_str!("../../../policies/sesame-style.json");

/// A holder's own records: on-time repayments (capped at 40 points a year),
/// one bill (one a month counts), one late payment, a settled judgement.
pub(crate) const DEMO_RECORDS: &str = r#"[
  {"kind": "repayment_on_time", "date": "2025-01-10", "reference": "loan-2025-01"},
  {"kind": "repayment_on_time", "date": "2025-03-10", "reference": "loan-2025-03"},
  {"kind": "repayment_on_time", "date": "2025-05-10", "reference": "loan-2025-05"},
  {"kind": "repayment_on_time", "date": "2025-07-10", "reference": "loan-2025-07"},
  {"kind": "repayment_on_time", "date": "2025-09-10", "reference": "loan-2025-09"},
  {"kind": "repayment_on_time", "date": "2025-10-10", "reference": "loan-2025-10"},
  {"kind": "repayment_on_time", "date": "2025-11-10", "reference": "loan-2025-11"},
  {"kind": "repayment_on_time", "date": "2025-12-10", "reference": "loan-2025-12"},
  {"kind": "repayment_on_time", "date": "2025-12-20", "reference": "loan-2025-12b"},
  {"kind": "repayment_late_30d", "date": "2025-08-15", "reference": "card-2025-08"},
  {"kind": "bill_paid_on_time", "date": "2025-02-01", "reference": "power-2025-02"},
  {"kind": "bill_paid_on_time", "date": "2025-02-15", "reference": "phone-2025-02"},
  {"kind": "judgement_settled", "date": "2025-04-30", "reference": "court-2024-117"}
]"#;

pub(crate) fn step(n: u32, title: &str) {
    println!("\n== {n}. {title}");
}

fn fail(e: creditproof::Error) -> CliError {
    CliError(format!("demo failed: {e}"))
}

/// Where the demo bureau publishes its one status list.
const STATUS_URI: &str = "https://bureau.example/status/1";
/// Entries in that list: every credential gets a random one of them.
const STATUS_ENTRIES: usize = 1 << 16;

/// A verifier that trusts `issuer` and has loaded `list_token`.
fn verifier(issuer: &Issuer, list_token: &str, now: UnixTime) -> Result<Verifier<TrustStore>, CliError> {
    let mut t = TrustStore::new();
    t.add(issuer.id(), issuer.public_key());
    let mut v = Verifier::new(t);
    v.add_status_list(list_token, now).map_err(fail)?;
    Ok(v)
}

pub(crate) fn request(aud: &str, predicate: &str, rng: &mut SystemRng) -> Result<PresentationRequest, CliError> {
    PresentationRequest::builder(aud).predicate(predicate.parse().map_err(fail)?).build(rng).map_err(fail)
}

pub fn run() -> Result<(), CliError> {
    let mut rng = SystemRng::new();
    let now = UnixTime::now();
    let opts = PresentOptions::default();

    step(1, "An issuer (a credit bureau) sets up a signing key");
    let issuer = Issuer::new("https://bureau.example", IssuerSigningKey::generate(&mut rng)).map_err(fail)?;
    println!("issuer {} publishes key id {}", issuer.id(), issuer.kid());

    step(2, "A holder creates a wallet with one fresh key per credential");
    let mut wallet = Wallet::new();
    let keys = [wallet.generate_key(&mut rng), wallet.generate_key(&mut rng), wallet.generate_key(&mut rng)];
    println!("holder keys: {}, {}, {}", keys[0].thumbprint(), keys[1].thumbprint(), keys[2].thumbprint());

    step(3, "The issuer scores the holder's own records under a published policy");
    let policy =
        Policy::from_json_slice(SESAME.as_bytes(), SESAME.len()).map_err(|e| CliError(format!("demo policy: {e}")))?;
    let records = Records::from_json_slice(DEMO_RECORDS.as_bytes(), DEMO_RECORDS.len(), 100)
        .map_err(|e| CliError(format!("demo records: {e}")))?;
    let as_of = Date::from_unix(now).ok_or_else(|| CliError("clock out of range".into()))?;
    let report = score(&policy, records.as_slice(), as_of).map_err(|e| CliError(format!("demo scoring: {e}")))?;
    print!("{}", report.render_table());
    let breakdown = issuer.sign_breakdown(&report, &keys[0], now);
    println!("(signed for the holder, {} bytes; never part of a presentation)", breakdown.len());

    step(4, "The issuer signs three single-use credentials from that score, each revocable");
    let claims = Claims::from_score(&policy, &report).map_err(fail)?;
    for (k, v) in claims.iter() {
        println!("  {k} = {v}   (behind a salted digest)");
    }
    for (k, v) in claims.perks() {
        println!("  perks.{k} = {v}   (behind a salted digest inside `perks`, itself behind one)");
    }
    println!("  score = {}   (inside a HashWires commitment; never disclosed)", report.score);
    let mut indexes = IndexAllocator::new(STATUS_ENTRIES);
    for k in &keys {
        let idx = indexes.allocate(&mut |b: &mut [u8]| rng.fill(b)).map_err(|e| CliError(format!("demo: {e}")))?;
        let status = StatusRef { uri: STATUS_URI.into(), idx: idx as u64 };
        wallet.store(issuer.issue_with_status(k, &claims, &status, now, &mut rng).map_err(fail)?).map_err(fail)?;
    }
    println!(
        "each credential carries 4 digests (tier, policy, scale, perks: the same for every policy), \
         and `perks` 8 (the flags padded with decoys), and a random entry of the status list {STATUS_URI}"
    );
    let mut list = StatusList::new(2, STATUS_ENTRIES).map_err(|e| CliError(format!("demo: {e}")))?;
    let token = issuer.sign_status_list(STATUS_URI, &list, now, DAY, 3600);
    println!(
        "the issuer publishes the list: a signed token of {} bytes, to be fetched again within its ttl (1 h)",
        token.len()
    );

    step(5, "A car-rental desk asks one question: eligible for a no-deposit rental?");
    let desk_request = request("https://rental-desk.example", "perk:no_deposit_rental", &mut rng)?;
    println!(
        "request: aud {}, nonce {}, predicate perk:no_deposit_rental",
        desk_request.audience(),
        desk_request.nonce()
    );

    step(6, "The holder reviews what would be revealed, then answers");
    println!("{}", wallet.preview(&desk_request, opts, now).map_err(fail)?);
    let presentation = wallet.present(&desk_request, opts, now, &mut rng).map_err(fail)?;
    println!("presentation: {} bytes, bound to the desk's nonce and audience", presentation.as_str().len());

    step(7, "The desk verifies");
    let desk = verifier(&issuer, &token, now)?;
    let outcome = desk.verify(&desk_request, presentation.as_str(), now);
    println!("{}", pretty(&verdict_json(&outcome)));
    let verified = outcome.map_err(fail)?;

    step(8, "What the desk learned, and what stayed private");
    println!("learned: the issuer is {}; the holder is eligible for a no-deposit rental", verified.issuer());
    println!("private: the score, the tier, the policy, every other perk, how many claims there are, every record");

    step(9, "A lender asks score >= 650, a threshold on the policy's published grid, proven without the score");
    println!("the policy's grid: {}", policy.grid());
    let lender_request = request("https://lender.example", "score>=650", &mut rng)?;
    let lender_presentation = wallet.present(&lender_request, opts, now, &mut rng).map_err(fail)?;
    let lender = verifier(&issuer, &token, now)?.verify(&lender_request, lender_presentation.as_str(), now);
    println!("{}", pretty(&verdict_json(&lender)));
    lender.map_err(fail)?;
    let too_high = request("https://lender.example", "score>=700", &mut rng)?;
    match wallet.preview(&too_high, opts, now) {
        Err(e) => {
            println!("asked for score >= 700 instead, the wallet refuses and sends nothing: {e}")
        }
        Ok(_) => return Err(CliError("demo failed: a false predicate was provable".into())),
    }
    let probe = request("https://lender.example", "score>=672", &mut rng)?;
    match wallet.preview(&probe, opts, now) {
        Err(e) if e.check() == "holder.off_grid" => println!(
            "a lender probing score >= 672 is refused whatever the score (off the grid), so that asking \
             again and again narrows the score to one cell of the grid at most: {e}"
        ),
        _ => return Err(CliError("demo failed: an off-grid threshold was answered".into())),
    }

    step(10, "The desk's presentation replayed to a hotel is rejected");
    let hotel_request = request("https://hotel.example", "perk:no_deposit_rental", &mut rng)?;
    let replay = verifier(&issuer, &token, now)?.verify(&hotel_request, presentation.as_str(), now);
    println!("{}", pretty(&verdict_json(&replay)));
    if replay.is_ok() {
        return Err(CliError("demo failed: a replayed presentation was accepted".into()));
    }
    println!("\nThe key binding names the rental desk and its one-time nonce, so the hotel refuses it.");

    step(11, "The desk reports fraud with the status entry from its verdict; the bureau revokes it");
    let reported = verified.status().cloned().ok_or_else(|| CliError("demo failed: no status reference".into()))?;
    println!("the desk's verdict named {reported}: the bureau revokes that one credential and re-publishes");
    let idx = usize::try_from(reported.idx).map_err(|_| CliError("demo failed: index out of range".into()))?;
    list.set(idx, STATUS_INVALID).map_err(|e| CliError(format!("demo: {e}")))?;
    let later = UnixTime(now.as_secs() + 60);
    let mut refreshed = desk;
    refreshed.add_status_list(&issuer.sign_status_list(STATUS_URI, &list, later, DAY, 3600), later).map_err(fail)?;
    let again = refreshed.verify(&desk_request, presentation.as_str(), later);
    println!("{}", pretty(&verdict_json(&again)));
    match again {
        Err(e) if e.check() == "status.revoked" => {
            println!("\nOnce the desk fetches the fresh list, the revoked credential is refused; the holder's two others are untouched.")
        }
        _ => return Err(CliError("demo failed: a revoked credential was accepted".into())),
    }
    journalist(&issuer, &policy, now, &mut rng)
}

/// The seeds' journalist, blacklisted by mistake, met silence when he
/// appealed. Here the same story told the other way.
const JOURNALIST_RECORDS: &str = r#"[
  {"kind": "repayment_on_time", "date": "2025-02-10", "reference": "loan-2025-02"},
  {"kind": "repayment_on_time", "date": "2025-06-10", "reference": "loan-2025-06"},
  {"kind": "court_judgement_unpaid", "date": "2025-09-01", "reference": "court-2025-442"}
]"#;

fn journalist(issuer: &Issuer, policy: &Policy, now: UnixTime, rng: &mut SystemRng) -> Result<(), CliError> {
    step(12, "A journalist finds a court judgement on his breakdown that was never his");
    let key = HolderSigningKey::generate(rng);
    let records = Records::from_json_slice(JOURNALIST_RECORDS.as_bytes(), JOURNALIST_RECORDS.len(), 100)
        .map_err(|e| CliError(format!("demo records: {e}")))?;
    let as_of = Date::from_unix(now).ok_or_else(|| CliError("clock out of range".into()))?;
    let report = score(policy, records.as_slice(), as_of).map_err(|e| CliError(format!("demo scoring: {e}")))?;
    print!("{}", report.render_table());
    let breakdown = issuer.sign_breakdown(&report, &key.public_key(), now);

    step(13, "He disputes it, signed with his own key; the bureau answers with a signed receipt");
    let entry = DisputeEntry {
        reference: "court-2025-442".into(),
        reason: "I was never a party to this case; the court has no judgement against me".into(),
    };
    let request = sign_dispute_request(&key, issuer.id(), &breakdown, &[entry], None, now, rng);
    let mut trust = TrustStore::new();
    trust.add(issuer.id(), issuer.public_key());
    let checked = check_dispute_request(&request, None, &trust, issuer.id(), now, &creditproof::Limits::default())
        .map_err(|e| CliError(format!("demo failed: {e}")))?;
    let clock = EntryClock::new("court-2025-442", now, policy);
    let receipt = Receipt {
        dispute_id: "d-442".into(),
        sub: checked.holder,
        entries: vec!["court-2025-442".into()],
        policy_id: policy.id().into(),
        policy_version: policy.version().into(),
        received_at: now.as_secs(),
        answer_by: clock.answer_by.as_secs(),
    };
    let token = issuer.sign_receipt(&receipt);
    let due = Date::from_unix(clock.answer_by).ok_or_else(|| CliError("clock out of range".into()))?;
    println!(
        "receipt {} ({} bytes, signed by the bureau): entry court-2025-442, answer due by {due} \
         ({} days, the policy's published dispute period, as FCRA section 611 gives a US bureau)",
        receipt.dispute_id,
        token.len(),
        policy.dispute_period_days()
    );

    step(14, "Silence: the bureau does not answer. The deadline passes, and the entry stops counting");
    let later = UnixTime(clock.answer_by.as_secs() + DAY);
    let rescored = score_with_disputes(policy, records.as_slice(), as_of, &[clock], later)
        .map_err(|e| CliError(format!("demo scoring: {e}")))?;
    print!("{}", rescored.render_table());
    if rescored.not_counted.len() != 1 || rescored.references().any(|r| r == "court-2025-442") {
        return Err(CliError("demo failed: an unanswered disputed entry still counted".into()));
    }
    println!(
        "score {} -> {}, tier {} -> {}: silence is not a verdict; a late answer alone does not bring the entry back",
        report.score, rescored.score, report.tier, rescored.tier
    );
    Ok(())
}

pub(crate) fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}
