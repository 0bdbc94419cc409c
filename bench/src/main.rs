//! # creditproof-bench
//!
//! What creditproof costs, measured against its floor and its peers in one
//! run on one machine.
//!
//! ```sh
//! cargo run --release -p creditproof-bench            # the table (~40 s on 2 cores, after the build)
//! cargo run --release -p creditproof-bench -- --json  # one JSON object per line per figure
//! cargo run --release -p creditproof-bench --no-default-features   # without the peers
//! cargo run --release -p creditproof-bench -- load issuer --url URL ...   # HTTP load (see `load`)
//! ```
//!
//! Every time is the **median** over many samples taken after a warm-up;
//! each sample runs the operation in a batch of back-to-back iterations
//! (enough to last ~2 ms) and divides by the batch size (see `harness`).
//! Figures that are divided by each other are sampled *interleaved*
//! (round-robin): the floor with the verifications and sd-jwt-rs; the
//! batch verification with its own Ed25519 verification; each present and
//! issue figure with its own Ed25519 signing; HashWires with SHA-256 and
//! bulletproofs at each width. On a shared machine a burst of someone
//! else's build then slows both sides of a ratio alike.
//! The table shows the median and, after `±`, half the interquartile range
//! of the samples relative to the median (a noise indicator). Every ratio
//! divides two figures of the same run; nothing is carried over from
//! earlier runs or from documentation. The header names the CPU
//! (`/proc/cpuinfo`), the load average when the run started, the compiler
//! that built this binary and the locked versions of the library and peers.
//!
//! ## The figures
//!
//! - **Floor**: one Ed25519 `verify_strict` of a 32-byte message and one
//!   Ed25519 signing of it (ed25519-dalek, the library's own signature
//!   crate), and SHA-256 of 64 bytes (ring, the library's hash).
//! - **Verify** one presentation with `creditproof::Verifier::verify`,
//!   every check included, for an 11-bit score credential (1300-point
//!   scale) of an issuer in the trust store:
//!   (a) disclose `tier`; (b) prove `score>=650` (one HashWires range
//!   proof); (c) prove `perk:no_deposit_rental` and `score>=650` on a
//!   credential with a `status.status_list` entry, against a verifier that
//!   loaded (outside the timed loop) the decoded 2^20-entry list.
//!   Each as time and as a multiple of two Ed25519 verifications (the
//!   issuer signature and the key-binding signature every presentation
//!   needs).
//! - **Batch verify** 64 presentations of kind (b), each with its own
//!   request and credential, with `Verifier::verify_batch` (all Ed25519
//!   signatures in one randomized equation, verdicts identical to `verify`);
//!   per presentation and as the same ratio.
//! - **Present** (`Wallet::present`, for each kind; a credential is single
//!   use, so every call gets a fresh wallet with one unspent credential,
//!   built outside the clock) and **issue**
//!   (`Issuer::issue`; `KeyRequest::from_json` and `Issuer::issue_batch`
//!   for a batch of 16) as multiples of one Ed25519 signing.
//! - **Sizes** in bytes at 11, 16, 32 and 64 bits: the credential as the
//!   holder keeps it, the three presentations, and a range proof alone.
//! - **Range-proof verification alone** (`hazmat::range::verify`) at the
//!   same widths, for a typical threshold and the worst-case threshold.
//! - **Status lists** of 1 M and 10 M 2-bit entries, 1 % revoked: build +
//!   compress + sign (issuer), load = signature check + bounded
//!   decompression (`StatusLists::add`, what `Verifier::add_status_list`
//!   runs) and decompression alone, one lookup at a random index in the
//!   decoded list, and the sizes.
//! - **Peers** (feature `peers`, on by default): sd-jwt-rs verifying its
//!   own SD-JWT+KB with EdDSA keys, as a multiple of creditproof (a); and
//!   bulletproofs verifying 16-, 32- and 64-bit range proofs, as multiples
//!   of HashWires at the same width. See `peers` for what each peer checks.
//!
//! ## Caveat on the peers feature
//!
//! sd-jwt-rs enables serde_json's `preserve_order` feature, and Cargo
//! unifies features within one build: in this binary creditproof's JSON
//! maps are insertion-ordered `IndexMap`s rather than `BTreeMap`s. Build
//! with `--no-default-features` to time creditproof exactly as a user
//! builds it (the peer rows then say they were not measured). On the
//! development machine the two builds gave the same ratios within the
//! run-to-run noise, and perf put JSON parsing at the same share of
//! `Verifier::verify` in both.

#![forbid(unsafe_code)]

mod fixture;
mod harness;
mod library;
#[cfg(feature = "load")]
mod load;
mod oid4vp;
#[cfg(feature = "peers")]
mod peers;
mod report;
mod splitmix;
mod status;

use std::hint::black_box;

use ed25519_dalek::{Signer as _, SigningKey};

use crate::fixture::{Fixture, Kind, Score};
use crate::harness::{plain, Harness, Timing};
#[cfg(feature = "peers")]
use crate::report::Base;
use crate::report::{Mode, Report};

/// Any error that stops the run.
pub type BoxError = Box<dyn std::error::Error>;

const USAGE: &str = "usage: creditproof-bench [--json]\n\
    Prints a table of medians; with --json one {\"name\",\"value\",\"unit\"} object per line per figure.\n\
    creditproof-bench load issuer|verifier --help: load generators for the services (feature `load`).";

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("load") {
        #[cfg(feature = "load")]
        return load::main(&args[1..]);
        #[cfg(not(feature = "load"))]
        return Err(
            "built without the `load` feature (cargo run -p creditproof-bench --features load -- load ...)".into()
        );
    }
    let mut mode = Mode::Table;
    for arg in args {
        match arg.as_str() {
            "--json" => mode = Mode::Json,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    let report = Report::new(mode);
    let h = Harness::default();
    header(&report, &h);

    // The floor, creditproof's three verifications and sd-jwt-rs's, as one
    // interleaved group: the ratios between them are taken under the same load.
    let key = SigningKey::from_bytes(&[7; 32]);
    let public = key.verifying_key();
    let msg = [0x5au8; 32];
    let sig = key.sign(&msg);
    public.verify_strict(&msg, &sig)?;
    let block = [0x5au8; 64];
    let mut fx = Fixture::new()?;
    let cases = library::verify_cases(&mut fx)?;
    #[cfg(feature = "peers")]
    let sd_jwt = peers::SdJwtCase::new();

    let mut group = vec![
        plain(|| {
            black_box(public.verify_strict(black_box(&msg), &sig).is_ok());
        }),
        plain(|| {
            black_box(key.sign(black_box(&msg)));
        }),
        plain(|| {
            black_box(ring::digest::digest(&ring::digest::SHA256, black_box(&block)));
        }),
    ];
    group.extend(cases.iter().map(|(_, _, case)| library::verify_sampler(&fx.verifier, case)));
    #[cfg(feature = "peers")]
    if let Ok(sd) = &sd_jwt {
        group.push(sd.sampler());
    }
    let mut timings = h.measure_group(group).into_iter();
    let mut next = || timings.next().ok_or("a timing is missing");
    let (verify, sign, sha) = (next()?, next()?, next()?);
    let verified: Vec<(Kind, Score, Timing)> =
        cases.iter().map(|(kind, score, _)| Ok((*kind, *score, next()?))).collect::<Result<_, BoxError>>()?;
    #[cfg(feature = "peers")]
    let sd_jwt_timing = if sd_jwt.is_ok() { Some(next()?) } else { None };

    report.section("floor (same run, interleaved with the verify rows below)");
    report.time("floor.ed25519.verify_strict", "Ed25519 verify_strict, 32-byte message (ed25519-dalek)", &verify, &[]);
    report.time("floor.ed25519.sign", "Ed25519 sign, 32-byte message (ed25519-dalek)", &sign, &[]);
    report.time("floor.sha256_64", "SHA-256 of 64 bytes (ring)", &sha, &[]);
    library::report_verify(&report, &verified);

    // Every later ratio to an Ed25519 operation is taken against a fresh
    // floor sampled interleaved with its figure.
    let verify_floor = || {
        plain(|| {
            black_box(public.verify_strict(black_box(&msg), &sig).is_ok());
        })
    };
    let sign_floor = || {
        plain(|| {
            black_box(key.sign(black_box(&msg)));
        })
    };
    library::batch_verify(&h, &report, &mut fx, &verify_floor)?;
    oid4vp::direct_post(&h, &report, &mut fx)?;
    library::present_and_issue(&h, &report, &mut fx, &sign_floor)?;
    library::sizes(&report, &mut fx)?;

    // Range proofs: per width, HashWires (typical, worst) and bulletproofs
    // interleaved.
    report.section(
        "range proof verify alone: creditproof::hazmat::range::verify (HashWires, base per width: RangeParams::for_bits)",
    );
    #[cfg(feature = "peers")]
    let mut bulletproof_rows = Vec::new();
    for bits in library::WIDTHS {
        let hw = library::RangeCase::new(bits)?;
        #[cfg(feature = "peers")]
        let bp = peers::BULLETPROOF_WIDTHS.contains(&bits).then(|| peers::BulletproofCase::new(bits));
        // SHA-256 first: the HashWires ratios are paired with it.
        let mut group = vec![plain(|| {
            black_box(ring::digest::digest(&ring::digest::SHA256, black_box(&block)));
        })];
        group.extend(hw.samplers());
        #[cfg(feature = "peers")]
        if let Some(Ok(bp)) = &bp {
            group.push(bp.sampler());
        }
        let t = h.measure_group(group);
        library::report_range(&report, &hw.params, &t[1], &t[2]);
        #[cfg(feature = "peers")]
        if let Some(bp) = bp {
            bulletproof_rows.push(peers::BulletproofRow { bits, case: bp, timing: t.get(3).copied(), hashwires: t[1] });
        }
    }

    status::run(&h, &report, &fx)?;

    #[cfg(feature = "peers")]
    {
        let a = verified.iter().find(|(k, _, _)| *k == Kind::Disclose).map_or(f64::NAN, |(_, _, t)| t.median_ns);
        let creditproof_a = Base { ns: a, key: "x_creditproof_a", label: "creditproof (a)" };
        let two_verify = sd_jwt_timing
            .as_ref()
            .map_or(Base { ns: 2.0 * verify.median_ns, key: "x_2verify", label: "2 Ed25519 verify" }, |t| {
                Base::paired(t, 2.0, "x_2verify", "2 Ed25519 verify")
            });
        peers::report_sd_jwt(&report, &sd_jwt, sd_jwt_timing.as_ref(), two_verify, creditproof_a);
        peers::report_bulletproofs(&report, &bulletproof_rows);
    }
    #[cfg(not(feature = "peers"))]
    {
        report.section("peers");
        let why = "built without the `peers` feature";
        report.missing("peer.sd_jwt_rs.verify", "sd-jwt-rs: verify SD-JWT+KB", why);
        for bits in [16, 32, 64] {
            report.missing(
                &format!("peer.bulletproofs.bits{bits}.verify"),
                &format!("bulletproofs {bits}-bit verify"),
                why,
            );
        }
    }
    Ok(())
}

/// CPU, load, compiler, versions, method.
fn header(report: &Report, h: &Harness) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_owned()))
        .unwrap_or_else(|| "unknown (no model name in /proc/cpuinfo)".into());
    let flags: Vec<&str> = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("flags").and_then(|r| r.split_once(':')).map(|(_, v)| v.split_whitespace().collect())
        })
        .unwrap_or_default();
    let has = |f: &str| if flags.contains(&f) { "yes" } else { "no" };
    let simd = format!("avx2 {} (curve25519-dalek picks its AVX2 backend at run time)", has("avx2"));
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into());
    if report.mode() == Mode::Table {
        println!("creditproof-bench: medians after warm-up; ± is half the interquartile range of the samples,");
        println!("SxI is samples x iterations per sample; ratios divide two figures of this run");
    }
    report.meta("cpu", "cpu:", &format!("{cpu} ({threads} threads available)"));
    report.meta("simd", "simd:", &simd);
    report.meta("loadavg", "load:", &format!("{load} (1/5/15 min, at start)"));
    report.meta("rustc", "rustc:", env!("BENCH_RUSTC_VERSION"));
    let profile = if cfg!(debug_assertions) { "debug (figures are meaningless: use --release)" } else { "release" };
    report.meta("profile", "profile:", profile);
    report.meta(
        "versions",
        "versions:",
        &format!(
            "creditproof {}, ed25519-dalek {}, ring {}{}",
            env!("BENCH_CREDITPROOF_VERSION"),
            env!("BENCH_ED25519_DALEK_VERSION"),
            env!("BENCH_RING_VERSION"),
            peer_versions()
        ),
    );
    report.meta(
        "method",
        "method:",
        &format!(
            "warm-up {} ms, samples of ~{} ms batches, {}-{} samples, up to ~{} ms per figure",
            h.warmup.as_millis(),
            h.sample.as_millis(),
            h.min_samples,
            h.max_samples,
            h.budget.as_millis()
        ),
    );
    if cfg!(feature = "peers") {
        report.meta(
            "note",
            "note:",
            "sd-jwt-rs turns on serde_json/preserve_order, unified into creditproof in this binary \
             (--no-default-features measures creditproof without it and skips the peers)",
        );
    }
}

#[cfg(feature = "peers")]
fn peer_versions() -> String {
    format!(
        ", sd-jwt-rs {} (jsonwebtoken {}), bulletproofs {}",
        env!("BENCH_SD_JWT_RS_VERSION"),
        env!("BENCH_JSONWEBTOKEN_VERSION"),
        env!("BENCH_BULLETPROOFS_VERSION")
    )
}

#[cfg(not(feature = "peers"))]
fn peer_versions() -> String {
    String::new()
}
