//! Published scoring policies, the holder's own records, scoring with an
//! itemized breakdown, and disputes.
//!
//! # Principles
//!
//! * **The policy is published data.** A [`Policy`] is a JSON document naming
//!   the scale, the points per record kind (with optional caps), the tiers and
//!   the perks. Anyone can read it and re-run [`score`].
//! * **Only the holder's own records count.** A [`Record`] has a kind, a date,
//!   a reference and optional evidence, and nothing else: the format has no
//!   person identifiers and no way to refer to another subject's records
//!   (relatives, contacts, employers, ...), and unknown fields are rejected.
//! * **Every point is explained.** [`score`] returns a [`ScoreReport`] with one
//!   line per record: rule, rule points, points applied after caps, running
//!   total, and the caps that bit. The holder can contest lines with a
//!   [`Dispute`]; the issuer resolves it with [`apply_corrections`] and
//!   re-scores.
//! * **A perk is one flag the issuer signs.** A perk's conditions (a minimum
//!   score, a minimum tier) reduce to one score bound,
//!   [`Perk::score_threshold`]; the issuer decides each perk when it scores
//!   ([`ScoreReport`]'s `perks`) and signs the answer as a boolean flag inside
//!   the credential's `perks` object ([`crate::Claims::from_score`]). A
//!   verifier asks for a perk by name (`perk:NAME`) and the holder discloses
//!   that one flag: no range proof is involved, and neither the score nor the
//!   tier leaves the wallet.
//!
//! # Policy JSON
//!
//! ```json
//! {
//!   "id": "example", "version": "1",
//!   "description": "what it is for", "source": "where the numbers come from",
//!   "scale": { "min": 350, "max": 950, "start": 600 },
//!   "rules": {
//!     "repayment_on_time": { "points": 5, "cap": { "per": "calendar_year", "max_points": 40 } },
//!     "default": { "points": -100 }
//!   },
//!   "tiers": [ { "name": "low", "min": 350, "max": 649 },
//!              { "name": "high", "min": 650, "max": 950 } ],
//!   "perks": { "no_deposit_rental": { "min_score": 650, "requires_valid_status": true } },
//!   "grid": { "step": 50, "thresholds": [620] }
//! }
//! ```
//!
//! `grid` is optional: the score thresholds a holder's wallet answers by
//! default are the tier boundaries, the perk thresholds, the extra
//! `thresholds` and the multiples of `step` (default: at most 20 cells)
//! away from those; see [`Policy::grid`].
//!
//! # Records JSON
//!
//! A JSON array:
//! `[{"kind": "default", "date": "2023-04-01", "reference": "loan-17", "evidence": "court 2023/117"}]`.
//!
//! # Untrusted input
//!
//! Loading never panics: lengths are checked before parsing
//! ([`Policy::from_json_slice`], [`Records::from_json_slice`], or
//! [`Policy::from_json`] and [`Records::from_json`] with the default
//! [`crate::Limits`]), record counts
//! while parsing, and every problem is a [`PolicyError`]. A `Policy` value is
//! always valid; see [`Policy::new`] for the checks and [`score`] for the
//! arithmetic bound.

mod date;
mod deadline;
mod defaults;
mod dispute;
mod error;
mod model;
mod published;
mod records;
mod score;
mod shipped;
mod text;

#[cfg(test)]
mod tests;

pub use date::Date;
pub use deadline::{answer_by, score_with_disputes, EntryClock};
pub use defaults::score_at;
pub use dispute::{apply_corrections, Dispute, DisputeEntry, MAX_REASON_LEN};
pub use error::{PolicyError, MAX_QUOTED_CHARS};
pub use model::{
    Cap, GridSpec, Period, Perk, Policy, PolicySpec, Rule, Scale, Tier, DEFAULT_DISPUTE_PERIOD_DAYS,
    MAX_DISPUTE_PERIOD_DAYS, MAX_NAME_LEN,
};
pub(crate) use published::policy_token_payload;
pub use published::{
    describe, diff, read_policy_token_unverified, verify_policy_token, PolicyPin, PolicyRef, POLICY_TYP,
};
pub use records::{Record, Records, MAX_EVIDENCE_LEN, MAX_REFERENCE_LEN};
pub use score::{score, CapHit, CapLimit, Clamp, NotCounted, ScoreItem, ScoreReport};
pub use shipped::{shipped, SHIPPED};
