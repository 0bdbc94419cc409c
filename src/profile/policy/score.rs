//! Scoring records under a policy, with an itemized breakdown.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::date::Date;
use super::error::PolicyError;
use super::model::{Period, Policy};
use super::records::{check_all, Record};

/// Whether (and how) the final total was clamped to the scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clamp {
    /// The total was inside the scale.
    None,
    /// The total was below `scale.min` and was raised to it.
    AtMin,
    /// The total was above `scale.max` and was lowered to it.
    AtMax,
}

/// Which limit of a [`super::Cap`] bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapLimit {
    /// `max_records`: the record was not counted at all.
    MaxRecords,
    /// `max_points`: the record counted only partly, or not at all.
    MaxPoints,
}

/// A cap that reduced the points a record applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapHit {
    /// Which limit.
    pub limit: CapLimit,
    /// The cap's period kind.
    pub per: Period,
    /// The period the record fell in: `"2023"`, `"2023-05"` or `"all"`.
    pub period: String,
    /// The limit's value from the policy.
    pub value: u64,
}

/// One line of the breakdown: one record and what it did to the score.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreItem {
    /// The record's reference.
    pub reference: String,
    /// The record's kind, i.e. the rule applied.
    pub kind: String,
    /// The record's date.
    pub date: Date,
    /// The rule's points.
    pub rule_points: i64,
    /// The points actually applied after caps.
    pub applied_points: i64,
    /// The unclamped total after this record.
    pub running_total: i64,
    /// Caps that reduced `applied_points` below `rule_points` (empty if none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<CapHit>,
}

/// The result of [`score`]: the score, its tier, and an itemized breakdown.
///
/// The issuer signs this for the holder. A deserialized report is just data:
/// trust it only with the issuer's signature, or re-score.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreReport {
    /// The policy's id.
    pub policy_id: String,
    /// The policy's version.
    pub policy_version: String,
    /// The scoring date; no record is later than this.
    pub as_of: Date,
    /// `scale.min` of the policy.
    pub scale_min: u64,
    /// `scale.max` of the policy.
    pub scale_max: u64,
    /// `scale.start` of the policy.
    pub start: u64,
    /// One item per record, in scoring order (date, kind, reference).
    pub items: Vec<ScoreItem>,
    /// `start` plus all applied points, before clamping.
    pub unclamped_total: i64,
    /// Whether the total was clamped.
    pub clamped: Clamp,
    /// The score: `unclamped_total` clamped to `[scale_min, scale_max]`.
    pub score: u64,
    /// Name of the tier the score falls in.
    pub tier: String,
    /// Perks whose score/tier predicate the score meets, by name. Perks that
    /// require valid status still need it when presented.
    pub perks: Vec<String>,
    /// Records left out because the holder disputed them and the issuer
    /// did not answer within the policy's dispute period (see
    /// [`super::score_with_disputes`]); empty, and then absent from the
    /// JSON, otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_counted: Vec<NotCounted>,
}

/// A record the score leaves out: disputed, and not answered in time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotCounted {
    /// The record's reference.
    pub reference: String,
    /// The record's kind.
    pub kind: String,
    /// The record's date.
    pub date: Date,
    /// The day the issuer received the dispute.
    pub disputed_on: Date,
    /// The last day the issuer had to answer.
    pub answer_by: Date,
}

/// Scores `records` under `policy` as of `as_of`.
///
/// * **Checks first, nothing half-applied:** every record passes
///   [`Record::check`], references are unique, every kind has a rule, and no
///   record is dated after `as_of`; otherwise an error and no report.
/// * **Order-independent:** records are sorted by (date, kind, reference)
///   before anything is counted, so caps and running totals do not depend on
///   input order.
/// * **Caps** are applied per rule and period as described on [`super::Cap`].
/// * **Clamping** is on the final total only: the running total may leave the
///   scale (it is shown unclamped), and the score is the final total clamped to
///   `[min, max]`. Clamping along the way would make the result depend on order.
/// * **Arithmetic bound:** totals are computed in `i128` with checked
///   additions, and each running total must fit in `i64` (it is reported);
///   otherwise [`PolicyError::ArithmeticOverflow`]. With rule points of
///   magnitude at most `P`, that holds whenever `start + n * P <= i64::MAX`
///   (e.g. `P <= 10^12` and up to 9 million records). Record counts in caps
///   use saturating `u64`, which cannot saturate below `usize::MAX` records.
pub fn score(policy: &Policy, records: &[Record], as_of: Date) -> Result<ScoreReport, PolicyError> {
    check_all(records)?;
    for record in records {
        if policy.rule(&record.kind).is_none() {
            return Err(PolicyError::UnknownRecordKind {
                reference: record.reference.clone(),
                kind: record.kind.clone(),
            });
        }
        if record.date > as_of {
            return Err(PolicyError::RecordAfterAsOf { reference: record.reference.clone(), date: record.date, as_of });
        }
    }
    let mut order: Vec<&Record> = records.iter().collect();
    order.sort_by(|a, b| (a.date, &a.kind, &a.reference).cmp(&(b.date, &b.kind, &b.reference)));

    let scale = policy.scale();
    // (kind, year, month) -> (records counted, points used); unused parts are 0.
    let mut usage: BTreeMap<(&str, u16, u8), (u64, u64)> = BTreeMap::new();
    let mut total = i128::from(scale.start);
    let mut items = Vec::with_capacity(order.len());
    for record in order {
        let overflow = || PolicyError::ArithmeticOverflow { reference: record.reference.clone() };
        let Some(rule) = policy.rule(&record.kind) else {
            // Checked above; kept as an error rather than a panic.
            return Err(PolicyError::UnknownRecordKind {
                reference: record.reference.clone(),
                kind: record.kind.clone(),
            });
        };
        let mut applied = i128::from(rule.points);
        let mut caps = Vec::new();
        if let Some(cap) = rule.cap {
            let (key, label) = match cap.per {
                Period::CalendarMonth => (
                    (record.date.year(), record.date.month()),
                    format!("{:04}-{:02}", record.date.year(), record.date.month()),
                ),
                Period::CalendarYear => ((record.date.year(), 0), format!("{:04}", record.date.year())),
                Period::AllTime => ((0, 0), "all".to_owned()),
            };
            let (count, used) = usage.entry((record.kind.as_str(), key.0, key.1)).or_insert((0, 0));
            let hit = |limit, value| CapHit { limit, per: cap.per, period: label.clone(), value };
            match cap.max_records {
                Some(max) if *count >= max => {
                    applied = 0;
                    caps.push(hit(CapLimit::MaxRecords, max));
                }
                _ => *count = count.saturating_add(1),
            }
            if let (Some(max), true) = (cap.max_points, applied != 0) {
                let want = rule.points.unsigned_abs();
                let take = want.min(max.saturating_sub(*used));
                *used = used.saturating_add(take);
                if take < want {
                    caps.push(hit(CapLimit::MaxPoints, max));
                }
                applied = if rule.points < 0 { -i128::from(take) } else { i128::from(take) };
            }
        }
        total = total.checked_add(applied).ok_or_else(overflow)?;
        items.push(ScoreItem {
            reference: record.reference.clone(),
            kind: record.kind.clone(),
            date: record.date,
            rule_points: rule.points,
            applied_points: i64::try_from(applied).map_err(|_| overflow())?,
            running_total: i64::try_from(total).map_err(|_| overflow())?,
            caps,
        });
    }

    let (value, clamped) = if total < i128::from(scale.min) {
        (scale.min, Clamp::AtMin)
    } else if total > i128::from(scale.max) {
        (scale.max, Clamp::AtMax)
    } else {
        // In [min, max], so it fits in u64.
        (u64::try_from(total).unwrap_or(scale.max), Clamp::None)
    };
    let unclamped_total =
        i64::try_from(total).map_err(|_| PolicyError::ArithmeticOverflow { reference: "(start)".to_owned() })?;
    // Tiers cover the whole scale (validated), so a tier is always found.
    let tier = policy.tier_for(value).map(|t| t.name.clone()).unwrap_or_default();
    let perks = policy
        .perks()
        .iter()
        .filter(|(_, perk)| value >= perk.score_threshold(policy))
        .map(|(name, _)| name.clone())
        .collect();
    Ok(ScoreReport {
        policy_id: policy.id().to_owned(),
        policy_version: policy.version().to_owned(),
        as_of,
        scale_min: scale.min,
        scale_max: scale.max,
        start: scale.start,
        items,
        unclamped_total,
        clamped,
        score: value,
        tier,
        perks,
        not_counted: Vec::new(),
    })
}

/// Replaces control characters so untrusted text cannot garble the table.
fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

impl ScoreReport {
    /// All references in the report.
    pub fn references(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|i| i.reference.as_str())
    }

    /// A plain-text table of the breakdown for the command line.
    pub fn render_table(&self) -> String {
        let header = ["date", "kind", "reference", "rule", "applied", "total", "caps"];
        let mut rows: Vec<[String; 7]> = vec![header.map(str::to_owned)];
        for item in &self.items {
            let caps: Vec<String> = item
                .caps
                .iter()
                .map(|c| {
                    let limit = match c.limit {
                        CapLimit::MaxRecords => "max_records",
                        CapLimit::MaxPoints => "max_points",
                    };
                    format!("{limit} {} per {} ({})", c.value, c.per, printable(&c.period))
                })
                .collect();
            rows.push([
                item.date.to_string(),
                printable(&item.kind),
                printable(&item.reference),
                format!("{:+}", item.rule_points),
                format!("{:+}", item.applied_points),
                item.running_total.to_string(),
                caps.join("; "),
            ]);
        }
        let mut widths = [0usize; 7];
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "policy {} version {}, as of {}, scale {}..={}, start {}",
            printable(&self.policy_id),
            printable(&self.policy_version),
            self.as_of,
            self.scale_min,
            self.scale_max,
            self.start
        );
        for row in &rows {
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                // Text columns left-aligned, number columns right-aligned.
                let _ = if (3..=5).contains(&i) { write!(line, "{cell:>w$}  ") } else { write!(line, "{cell:<w$}  ") };
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        let clamp = match self.clamped {
            Clamp::None => String::new(),
            Clamp::AtMin => format!(" (clamped up to the scale minimum {})", self.scale_min),
            Clamp::AtMax => format!(" (clamped down to the scale maximum {})", self.scale_max),
        };
        let _ = writeln!(
            out,
            "total {}{clamp}\nscore {}, tier {}",
            self.unclamped_total,
            self.score,
            printable(&self.tier)
        );
        if !self.perks.is_empty() {
            let perks: Vec<String> = self.perks.iter().map(|p| printable(p)).collect();
            let _ = writeln!(out, "perks by score: {}", perks.join(", "));
        }
        for n in &self.not_counted {
            let _ = writeln!(
                out,
                "{} {} {}: disputed on {}, not answered by {}: not counted",
                n.date,
                printable(&n.kind),
                printable(&n.reference),
                n.disputed_on,
                n.answer_by
            );
        }
        out
    }
}
