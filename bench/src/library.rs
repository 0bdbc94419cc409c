//! creditproof's own figures: verify, batch verify, present, issue, range
//! proofs and sizes, each against the floor measured in the same run.

use std::hint::black_box;

use creditproof::hazmat::range::{self, mdp, Commitment, RangeParams, RangeProof, RangeSeed};
use creditproof::{
    HolderSigningKey, KeyRequest, Limits, NoncePolicy, PresentOptions, TrustStore, UnixTime, Verifier, Wallet,
};

use crate::fixture::{claims, Case, Fixture, Kind, Score, NOW};
use crate::harness::{plain, with_setup, Harness, Sampler, Timing};
use crate::report::{Base, Report};
use crate::BoxError;

/// Presentations in the batch-verify figure.
pub const BATCH: usize = 64;
/// Credentials in one issuance batch.
pub const ISSUE_BATCH: usize = 16;
/// The bit widths of the size and range-proof figures.
pub const WIDTHS: [u32; 4] = [11, 16, 32, 64];

/// Verifies `batch` (64 presentations of kind (b)) with
/// `Verifier::verify_batch` and returns how many were accepted. Building the
/// item list is part of the timed work, as it is for a caller.
pub fn batch_verify_64(verifier: &Verifier<TrustStore>, batch: &[Case], now: UnixTime) -> usize {
    let items: Vec<(&creditproof::PresentationRequest, &str)> =
        batch.iter().map(|c| (&c.request, c.presentation.as_str())).collect();
    verifier.verify_batch(&items, now).iter().filter(|o| o.is_ok()).count()
}

/// One presentation of each kind, checked to verify, then (b) at the
/// costliest threshold of the scale.
pub fn verify_cases(fx: &mut Fixture) -> Result<Vec<(Kind, Score, Case)>, BoxError> {
    let mut cases: Vec<(Kind, Score, Case)> = Kind::ALL
        .iter()
        .map(|&k| Ok((k, Score::DEFAULT, fx.case(Score::DEFAULT, k)?.0)))
        .collect::<Result<_, BoxError>>()?;
    cases.push((Kind::Range, Score::WORST, fx.case(Score::WORST, Kind::Range)?.0));
    Ok(cases)
}

/// A sampler that verifies `case` with `verifier`.
pub fn verify_sampler<'a>(verifier: &'a Verifier<TrustStore>, case: &'a Case) -> Sampler<'a> {
    plain(move || {
        black_box(verifier.verify(&case.request, black_box(&case.presentation), NOW).is_ok());
    })
}

/// Prints the verify rows.
pub fn report_verify(report: &Report, timings: &[(Kind, Score, Timing)]) {
    report.section("verify one presentation: creditproof::Verifier::verify (11-bit score, 1300-point scale)");
    report.note("every check; ratio to two Ed25519 verify_strict (issuer + key-binding signature)");
    for (kind, score, t) in timings {
        let (key, label) = if score.threshold == Score::DEFAULT.threshold {
            (format!("verify.{}", kind.key()), kind.label(*score))
        } else {
            (format!("verify.{}_worst_threshold", kind.key()), format!("{}, costliest threshold", kind.label(*score)))
        };
        report.time(&key, &label, t, &[Base::paired(t, 2.0, "x_2verify", "2 Ed25519 verify")]);
    }
}

/// Makes a fresh sampler of a floor operation (one Ed25519 verification or
/// signing), to be interleaved with the figure divided by it.
pub type Floor<'a> = &'a dyn Fn() -> Sampler<'a>;

/// Measures `figure` interleaved with a floor sampler and returns the
/// figure's timing and the floor's median (ns).
fn against_floor(h: &Harness, floor: Floor<'_>, figure: Sampler<'_>) -> Timing {
    h.measure_group(vec![floor(), figure])[1]
}

/// 64 presentations of kind (b), each with its own request and credential;
/// the ratio's two Ed25519 verifications are sampled interleaved with it.
pub fn batch_verify(h: &Harness, report: &Report, fx: &mut Fixture, verify: Floor<'_>) -> Result<(), BoxError> {
    report.section(&format!("batch verify: {BATCH} presentations of kind (b), Verifier::verify_batch"));
    let batch: Vec<Case> =
        (0..BATCH).map(|_| fx.case(Score::DEFAULT, Kind::Range).map(|c| c.0)).collect::<Result<_, _>>()?;
    let accepted = batch_verify_64(&fx.verifier, &batch, NOW);
    if accepted != BATCH {
        return Err(format!("batch verify accepted {accepted} of {BATCH}").into());
    }
    let v = &fx.verifier;
    let t = against_floor(
        h,
        verify,
        plain(|| {
            black_box(batch_verify_64(v, black_box(&batch), NOW));
        }),
    );
    let two_verify = Base::paired(&t, 2.0, "x_2verify", "2 Ed25519 verify");
    report.time(&format!("verify.batch{BATCH}_b.total"), &format!("{BATCH} x (b), whole batch"), &t, &[]);
    report.time_scaled(
        &format!("verify.batch{BATCH}_b.per_presentation"),
        &format!("{BATCH} x (b), per presentation"),
        &t,
        64.0,
        &[two_verify],
    );
    Ok(())
}

/// Holder and issuer figures, as ratios to one Ed25519 signing sampled
/// interleaved with each of them.
pub fn present_and_issue(h: &Harness, report: &Report, fx: &mut Fixture, sign: Floor<'_>) -> Result<(), BoxError> {
    let base = |t: &Timing| Base::paired(t, 1.0, "x_sign", "Ed25519 sign");
    report.section("present (holder, Wallet::present, one credential, 11-bit score)");
    let score = Score::DEFAULT;
    for kind in Kind::ALL {
        let (case, holder, credential) = fx.case(score, kind)?;
        // A credential is single use (a spent one may not prove a range
        // again), so each timed call gets a fresh wallet holding one
        // unspent credential; building it is not timed.
        let fresh = || {
            let mut w = Wallet::new();
            w.insert_key(HolderSigningKey::from_secret_bytes(&holder));
            w.store(credential.clone()).map(|()| w)
        };
        // Benchmarks measure cost, not privacy: their thresholds (e.g. 1287 on
        // the 0..=1300 scale) need not be on the wallet's threshold grid.
        fresh()?.present(&case.request, PresentOptions::default().allow_off_grid(true), NOW, &mut fx.rng)?;
        let rng = &mut fx.rng;
        let t = against_floor(
            h,
            sign,
            with_setup(
                || fresh().unwrap_or_else(|e| panic!("wallet: {e}")),
                |w| w.present(&case.request, PresentOptions::default().allow_off_grid(true), NOW, rng).is_ok(),
            ),
        );
        report.time(&format!("present.{}", kind.key()), &kind.label(score), &t, &[base(&t)]);
    }

    report.section("issue (Issuer::issue / issue_batch; score committed; tier, policy, scale and 5 perk flags)");
    let claims = claims(score)?;
    let mut wallet = Wallet::new();
    let key = wallet.generate_key(&mut fx.rng);
    let (issuer, rng) = (&fx.issuer, &mut fx.rng);
    let t = against_floor(
        h,
        sign,
        plain(|| {
            black_box(issuer.issue(&key, &claims, NOW, rng).is_ok());
        }),
    );
    report.time("issue.one", "one credential", &t, &[base(&t)]);

    let nonce = fx.issuer.nonce(NOW, &mut fx.rng);
    let keys = wallet.request_keys(ISSUE_BATCH, Some((fx.issuer.id(), &nonce)), NOW, &mut fx.rng);
    let bytes = keys.to_json().to_string();
    let limits = Limits::default();
    let checked = KeyRequest::from_json(bytes.as_bytes(), &fx.issuer, NoncePolicy::Required, NOW, &limits)?;
    if fx.issuer.issue_batch(&checked, &claims, None, NOW, &mut fx.rng)?.len() != ISSUE_BATCH {
        return Err("issue_batch returned the wrong number of credentials".into());
    }
    let issuer = &fx.issuer;
    let t = against_floor(
        h,
        sign,
        plain(|| {
            black_box(KeyRequest::from_json(bytes.as_bytes(), issuer, NoncePolicy::Required, NOW, &limits).is_ok());
        }),
    );
    report.time(
        &format!("issue.batch{ISSUE_BATCH}.check_keys"),
        &format!("batch of {ISSUE_BATCH}: check the key request (proofs of possession)"),
        &t,
        &[base(&t)],
    );
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let rng = &mut fx.rng;
    let t = against_floor(
        h,
        sign,
        plain(|| {
            black_box(issuer.issue_batch(&checked, &claims, None, NOW, rng).is_ok());
        }),
    );
    report.time(
        &format!("issue.batch{ISSUE_BATCH}.total"),
        &format!("batch of {ISSUE_BATCH} (issue_batch, {threads} threads), whole batch"),
        &t,
        &[base(&t)],
    );
    report.time_scaled(
        &format!("issue.batch{ISSUE_BATCH}.per_credential"),
        &format!("batch of {ISSUE_BATCH}, per credential"),
        &t,
        16.0,
        &[base(&t)],
    );
    Ok(())
}

/// Bytes of credentials, presentations and range proofs per bit width.
pub fn sizes(report: &Report, fx: &mut Fixture) -> Result<(), BoxError> {
    report.section(
        "sizes (bytes) by bit width of the committed score (11-bit: 1300-point scale; others: full 2^n-1 scale)",
    );
    let mut rows: Vec<(String, String, Vec<usize>)> = vec![
        ("size.credential".into(), "credential as held (SD-JWT, every disclosure, no status)".into(), vec![]),
        ("size.credential_with_status".into(), "credential as held, with a status entry".into(), vec![]),
    ];
    for kind in Kind::ALL {
        rows.push((
            format!("size.presentation.{}", kind.key()),
            format!("presentation {}", kind.label(Score::DEFAULT).replace("650", "t")),
            vec![],
        ));
    }
    rows.push(("size.range_proof".into(), "range proof alone (hazmat::range, binary)".into(), vec![]));
    for bits in WIDTHS {
        let score = if bits == 11 { Score::DEFAULT } else { Score::full_scale(bits) };
        let mut cells = Vec::new();
        let (_, _, plain) = fx.case(score, Kind::Disclose)?;
        cells.push(plain.expose_sd_jwt().len());
        let (_, _, with_status) = fx.case(score, Kind::PerkRangeStatus)?;
        cells.push(with_status.expose_sd_jwt().len());
        for kind in Kind::ALL {
            cells.push(fx.case(score, kind)?.0.presentation.len());
        }
        let params = RangeParams::for_bits(u8::try_from(bits)?)?;
        let seed = RangeSeed::from_bytes([0x11; 32]);
        cells.push(range::prove(&params, score.value, &seed, score.threshold)?.to_bytes().len());
        for (row, cell) in rows.iter_mut().zip(cells) {
            row.2.push(cell);
        }
    }
    let headings: Vec<(String, String)> = WIDTHS.iter().map(|b| (format!("bits{b}"), format!("{b}-bit"))).collect();
    let headings: Vec<(&str, &str)> = headings.iter().map(|(k, l)| (k.as_str(), l.as_str())).collect();
    let rows: Vec<(&str, &str, Vec<usize>)> =
        rows.iter().map(|(n, l, c)| (n.as_str(), l.as_str(), c.clone())).collect();
    report.byte_grid(&headings, &rows);
    Ok(())
}

/// A commitment and proof at `bits` for the typical and the worst threshold.
pub struct RangeCase {
    /// The public parameters.
    pub params: RangeParams,
    /// Commitment to the typical value and its proof for the typical threshold.
    pub typical: (Commitment, u64, RangeProof),
    /// Commitment to `max` and its proof for the threshold with the largest
    /// digit sum (the most hash steps for the verifier).
    pub worst: (Commitment, u64, RangeProof),
}

fn digit_sum(mut x: u64, base: u64) -> u64 {
    let mut s = 0;
    while x > 0 {
        s += x % base;
        x /= base;
    }
    s
}

impl RangeCase {
    /// Builds and checks both proofs.
    pub fn new(bits: u32) -> Result<Self, BoxError> {
        let params = RangeParams::for_bits(u8::try_from(bits)?)?;
        let seed = RangeSeed::from_bytes([0x11; 32]);
        let s = Score::full_scale(bits);
        let max = params.max_value();
        let base = u64::from(params.base());
        let worst_t = mdp(&params, max)?.into_iter().max_by_key(|&x| digit_sum(x, base)).unwrap_or(max);
        let typical =
            (range::commit(&params, s.value, &seed)?, s.threshold, range::prove(&params, s.value, &seed, s.threshold)?);
        let worst = (range::commit(&params, max, &seed)?, worst_t, range::prove(&params, max, &seed, worst_t)?);
        range::verify(&params, &typical.0, typical.1, &typical.2)?;
        range::verify(&params, &worst.0, worst.1, &worst.2)?;
        Ok(Self { params, typical, worst })
    }
}

impl RangeCase {
    /// Samplers for the typical and the worst-case verification.
    pub fn samplers(&self) -> [Sampler<'_>; 2] {
        let p = self.params;
        let (com, t, proof) = &self.typical;
        let typical = plain(move || {
            black_box(range::verify(&p, com, black_box(*t), proof).is_ok());
        });
        let (com, t, proof) = &self.worst;
        let worst = plain(move || {
            black_box(range::verify(&p, com, black_box(*t), proof).is_ok());
        });
        [typical, worst]
    }
}

/// Prints the HashWires rows of one width.
pub fn report_range(report: &Report, params: &RangeParams, typical: &Timing, worst: &Timing) {
    let sha = |t: &Timing| Base::paired(t, 1.0, "x_sha256", "SHA-256(64 B)");
    let (bits, base) = (params.bits(), params.base());
    report.time(
        &format!("range.hashwires.bits{bits}.verify"),
        &format!("{bits}-bit (base {base}), value ~0.73 max, t ~0.6 max"),
        typical,
        &[sha(typical)],
    );
    report.time(
        &format!("range.hashwires.bits{bits}.verify_worst"),
        &format!("{bits}-bit (base {base}), worst-case threshold (largest digit sum)"),
        worst,
        &[sha(worst)],
    );
}
