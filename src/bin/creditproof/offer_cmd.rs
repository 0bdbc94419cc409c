//! `creditproof issuer offer`: records a credential offer in the issuer
//! directory's OpenID4VCI state, where the issuer service (running now or
//! later) serves it by reference, and prints the wallet link. With
//! `--bulk`, one offer per line of a subjects file (`bulk_offer`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use creditproof::oid4vci::{NewOffer, Oid4vciConfig, Oid4vciIssuer};
use creditproof::server::make_offer;
use creditproof::{Claims, Limits, SystemRng, UnixTime};

use crate::files::{read_bounded, write_file, Access, CliError, MAX_FILE};
use crate::issuer_cmd::{refuse_other_role, ScoreArgs};
use crate::{id_value, lib_err, state, Insecure, RECORDS_HELP, RECORDS_LONG_HELP};

/// Arguments of `issuer offer`.
#[derive(Args)]
pub(crate) struct OfferArgs {
    /// Issuer directory.
    #[arg(long)]
    dir: PathBuf,
    /// Claims as a JSON object, e.g. {"tier":"A","perks":{"no_deposit_rental":true}}.
    #[arg(long, required_unless_present_any = ["policy", "bulk"], conflicts_with_all = ["policy", "records", "bulk"])]
    claims: Option<PathBuf>,
    /// Scoring policy: a JSON file, or the id of a shipped policy
    /// (civic-1300, sesame-style, suining-2013); with --records (or the
    /// records of each --bulk line), instead of --claims.
    #[arg(long, required_unless_present_any = ["claims", "bulk"])]
    policy: Option<PathBuf>,
    #[arg(long, requires = "policy", conflicts_with = "bulk", help = RECORDS_HELP, long_help = RECORDS_LONG_HELP)]
    records: Option<PathBuf>,
    /// A JSON Lines file of subjects: one offer per line, each
    /// `{"subject": ID, "records": [...]}` (scored with --policy) or
    /// `{"subject": ID, "claims": {...}}`; the offers are appended to
    /// --out (required) as JSON Lines. Re-running skips the subjects
    /// already there (resume after a crash).
    #[arg(long, value_name = "SUBJECTS.jsonl", requires = "out", conflicts_with = "subject")]
    bulk: Option<PathBuf>,
    /// Scoring date YYYY-MM-DD (default: today, UTC).
    #[arg(long)]
    as_of: Option<String>,
    /// Require a transaction code (printed on its own line, for a second
    /// channel: SMS, letter, counter).
    #[arg(long)]
    tx_code: bool,
    /// Also write the offer link to this file (owner-only); with --bulk,
    /// the offers, one JSON object per line (OFFERS.jsonl, owner-only: it
    /// holds the transaction codes).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The issuer's own id for this person (never sent); corrections and
    /// `revoke --holder` act on every batch of a subject. Default: a fresh
    /// subject per offer.
    #[arg(long, allow_hyphen_values = true, value_parser = id_value)]
    subject: Option<String>,
    /// The service's public URL; it must be the issuer's identifier (the
    /// default), which the offer's URI is built on.
    #[arg(long)]
    public_url: Option<String>,
    /// Seconds the offer may be redeemed (1 to 86400).
    #[arg(long, default_value_t = 600)]
    lifetime_secs: u64,
    /// The time dispute deadlines are judged at, in Unix seconds (default:
    /// now). With --subject, entries whose dispute went unanswered past its
    /// deadline are not counted.
    #[arg(long)]
    now: Option<u64>,
    #[command(flatten)]
    insecure: Insecure,
}

pub(crate) fn run(a: &OfferArgs) -> Result<ExitCode, CliError> {
    let insecure = a.insecure.allow_insecure_permissions;
    let limits = Limits::default();
    let issuer = state::load_issuer(&a.dir, insecure)?;
    if let Some(url) = a.public_url.as_deref().filter(|u| *u != issuer.id()) {
        return Err(CliError(format!(
            "--public-url {url} is not the issuer's identifier {} (the service publishes exactly that)",
            issuer.id()
        )));
    }
    if let (Some(subjects), Some(out)) = (&a.bulk, &a.out) {
        let policy = a.policy.as_deref().map(|p| crate::read_policy(p, &limits)).transpose()?;
        let config = Oid4vciConfig::default().with_offer_lifetime_secs(a.lifetime_secs);
        let vci = Oid4vciIssuer::new(issuer, config).map_err(|e| CliError(format!("{}: {e}", a.dir.display())))?;
        let bulk = crate::bulk_offer::Bulk {
            dir: &a.dir,
            subjects,
            out,
            policy,
            as_of: a.as_of.as_deref(),
            tx_code: a.tx_code,
            vci,
            insecure,
        };
        let made = crate::bulk_offer::run(bulk)?;
        println!("{made} offer(s) made, appended to {}", out.display());
        return Ok(ExitCode::SUCCESS);
    }
    let claims = match (&a.claims, &a.policy, &a.records) {
        (Some(path), _, _) => {
            let bytes = read_bounded(path, MAX_FILE)?;
            refuse_other_role(path, &bytes, "a claims file")?;
            Claims::from_json(&bytes, &limits).map_err(lib_err(path))?
        }
        (None, Some(policy), Some(records)) => {
            let args = ScoreArgs { policy: policy.clone(), records: records.clone(), as_of: a.as_of.clone() };
            let (p, report) = crate::dispute_cmd::score_for(&a.dir, a.subject.as_deref(), &args, crate::time(a.now))?;
            state::keep_policy(&a.dir, &p)?;
            Claims::from_score(&p, &report).map_err(lib_err(policy))?
        }
        _ => return Err(CliError("give --claims, or --policy with --records".into())),
    };
    let config = Oid4vciConfig::default().with_offer_lifetime_secs(a.lifetime_secs);
    let vci = Oid4vciIssuer::new(issuer, config).map_err(|e| CliError(format!("{}: {e}", a.dir.display())))?;
    let mut rng = SystemRng::new();
    let subject = a.subject.clone().unwrap_or_else(|| {
        let mut b = [0u8; 12];
        creditproof::SecureRng::fill(&mut rng, &mut b);
        format!("offer:{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>())
    });
    let mut offer = NewOffer::new(subject, claims);
    if a.tx_code {
        offer = offer.with_tx_code();
    }
    let mut store = state::open_store(&a.dir, insecure)?;
    let made = make_offer(&vci, &mut store, offer, UnixTime::now(), &mut rng)
        .map_err(|e| CliError(format!("{}: {e}", a.dir.display())))?;
    if let Some(out) = &a.out {
        write_file(out, format!("{}\n", made.link).as_bytes(), Access::Secret, true)?;
    }
    println!("{}", made.link);
    if let Some(tx) = &made.tx_code {
        println!("{}", tx.expose_secret());
    }
    Ok(ExitCode::SUCCESS)
}
