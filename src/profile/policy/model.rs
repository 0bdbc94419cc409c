//! The policy document: its serde form ([`PolicySpec`]) and the validated [`Policy`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::PolicyError;
use super::text::clip;
use crate::profile::grid::{default_step, Grid, MAX_GRID_THRESHOLDS};

/// Longest rule kind, tier name or perk name, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// The policy document exactly as published (JSON). Unknown fields are rejected.
///
/// A `PolicySpec` may be invalid; turn it into a [`Policy`] with
/// [`Policy::new`] (or load with [`Policy::from_json_slice`]) to validate it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// Stable identifier, e.g. `"sesame-style"`. Same character set as names.
    pub id: String,
    /// Version of this policy, e.g. `"1"`. Same character set as names.
    pub version: String,
    /// What the policy is for, in plain words.
    pub description: String,
    /// Where the numbers come from, and which of them are illustrative.
    pub source: String,
    /// The score range and starting value.
    pub scale: Scale,
    /// Point rules keyed by record kind. Duplicate keys are rejected.
    #[serde(deserialize_with = "unique_map")]
    pub rules: BTreeMap<String, Rule>,
    /// Tiers; together they must cover the scale without gaps or overlaps.
    pub tiers: Vec<Tier>,
    /// Perks keyed by name. Duplicate keys are rejected. May be omitted.
    #[serde(default, deserialize_with = "unique_map")]
    pub perks: BTreeMap<String, Perk>,
    /// The score thresholds a holder's wallet answers (see [`Policy::grid`]).
    /// May be omitted: the default step then cuts the scale into at most 20
    /// cells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<GridSpec>,
    /// How many days the issuer has to answer a dispute of an entry scored
    /// under this policy ([`Policy::dispute_period_days`]); an entry whose
    /// dispute is not answered in time stops counting. May be omitted:
    /// [`DEFAULT_DISPUTE_PERIOD_DAYS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute_period_days: Option<u32>,
}

/// The dispute period of a policy that does not name one: 30 days, as the
/// US Fair Credit Reporting Act (§611) gives a bureau to reinvestigate.
pub const DEFAULT_DISPUTE_PERIOD_DAYS: u32 = 30;

/// The longest dispute period a policy may set: a year.
pub const MAX_DISPUTE_PERIOD_DAYS: u32 = 366;

/// The published threshold grid of a policy's score, beyond the tier
/// boundaries and perk thresholds it always holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSpec {
    /// The step between thresholds (default: the smallest 1, 2 or 5 times a
    /// power of ten that is at least 1/20 of the scale).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
    /// Further thresholds, strictly increasing, each with
    /// `scale.min < t <= scale.max` (e.g. a regulator's cut-offs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<u64>,
}

/// The score range `[min, max]` and the score everyone starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    /// Lowest possible score (inclusive).
    pub min: u64,
    /// Highest possible score (inclusive); above `min`, at most `i64::MAX`.
    pub max: u64,
    /// Score before any record is counted; within `[min, max]`.
    pub start: u64,
}

/// Points for one record kind, optionally capped per period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Points added (positive) or deducted (negative) per record of this kind.
    pub points: i64,
    /// Optional limit on how much records of this kind count per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<Cap>,
    /// Optional plain-words explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A limit on one rule, applied separately in each period.
///
/// Records of the rule's kind are grouped by the period their date falls in
/// and taken in scoring order (date, then reference). Within a group:
/// * `max_records`: only the first `max_records` records count; later ones apply 0 points.
/// * `max_points`: the absolute value of the points applied in the group never
///   exceeds `max_points`; the record that reaches the limit applies only the
///   remainder (keeping the rule's sign), later ones apply 0.
///
/// At least one of the two must be set; both may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cap {
    /// The period the limit applies to.
    pub per: Period,
    /// At most this many records count per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_records: Option<u64>,
    /// At most this many points (absolute value) count per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_points: Option<u64>,
}

/// The period a [`Cap`] applies to, by the record's date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Each calendar month (e.g. `2023-05`) separately.
    CalendarMonth,
    /// Each calendar year (e.g. `2023`) separately.
    CalendarYear,
    /// All records of the kind, ever.
    AllTime,
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Period::CalendarMonth => "calendar_month",
            Period::CalendarYear => "calendar_year",
            Period::AllTime => "all_time",
        })
    }
}

/// A named score band `[min, max]` (both inclusive).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Name, e.g. `"AAA"`.
    pub name: String,
    /// Lowest score in the tier.
    pub min: u64,
    /// Highest score in the tier.
    pub max: u64,
}

fn default_true() -> bool {
    true
}

/// A named benefit and the predicate that grants it.
///
/// The predicate is the AND of `min_score` and `min_tier` (each optional) and,
/// when `requires_valid_status` is true (the default), a valid (unrevoked,
/// unexpired) credential. Because tiers are contiguous score bands, the
/// score part always reduces to one threshold: see [`Perk::score_threshold`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Perk {
    /// Optional plain-words explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Score must be at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_score: Option<u64>,
    /// Tier must be this tier or a higher one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_tier: Option<String>,
    /// Whether the credential must have a valid status. Defaults to true.
    ///
    /// Kept at issuance: claims granting such a perk
    /// (`Claims::from_score`) are issued only with a status entry, so a
    /// revocation can reach them (`issuance.status_required` otherwise);
    /// and a default verifier refuses any score credential without a status
    /// (`status.missing`). With `false`, the issuer may issue the perk on a
    /// credential without a status, which a verifier accepts only through
    /// `VerifierOptions::allow_missing_status`.
    #[serde(default = "default_true")]
    pub requires_valid_status: bool,
}

impl Perk {
    /// The single score threshold equivalent to this perk's score
    /// predicate: `max(min_score, lower bound of min_tier)`, or `scale.min`
    /// if neither is set. The issuer grants the perk to a score at least
    /// this ([`Perk::is_granted`]) and signs the answer as the perk's flag;
    /// the holder discloses that flag, never proves the threshold.
    ///
    /// For a perk of `policy` this is exact. If `min_tier` is not a tier of
    /// `policy` (a perk taken from another policy) it fails closed and returns
    /// `u64::MAX`, which no score in a valid scale below `u64::MAX` meets.
    pub fn score_threshold(&self, policy: &Policy) -> u64 {
        let mut threshold = policy.scale().min;
        if let Some(min_score) = self.min_score {
            threshold = threshold.max(min_score);
        }
        if let Some(name) = &self.min_tier {
            match policy.tier(name) {
                Some(tier) => threshold = threshold.max(tier.min),
                None => return u64::MAX,
            }
        }
        threshold
    }

    /// Whether a holder with `score` and credential status `status_valid` gets this perk.
    pub fn is_granted(&self, policy: &Policy, score: u64, status_valid: bool) -> bool {
        score >= self.score_threshold(policy) && (status_valid || !self.requires_valid_status)
    }
}

/// A validated policy. Every `Policy` value satisfies all the checks listed
/// on [`Policy::new`]; fields are read through accessors.
///
/// Serializes as its [`PolicySpec`], with tiers in ascending order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    spec: PolicySpec,
    grid: Grid,
}

impl Policy {
    /// Parses and validates a policy file. `bytes.len()` is checked against
    /// `max_len` before any parsing.
    pub fn from_json_slice(bytes: &[u8], max_len: usize) -> Result<Policy, PolicyError> {
        if bytes.len() > max_len {
            return Err(PolicyError::TooLarge { what: "policy", len: bytes.len(), max: max_len });
        }
        let spec: PolicySpec = serde_json::from_slice(bytes)
            .map_err(|e| PolicyError::InvalidJson { what: "policy", message: e.to_string() })?;
        Policy::new(spec)
    }

    /// Validates a spec. Checks, in order: `id`, `version` and every rule kind,
    /// tier name and perk name are 1..=[`MAX_NAME_LEN`] bytes of ASCII letters,
    /// digits, `_`, `-`, `+`, `.`; `scale.min < scale.max <= i64::MAX`, `start` within
    /// the scale; every cap sets a limit; at least one tier, unique tier names,
    /// each tier `min <= max`, no overlaps, no gaps, and the tiers span exactly
    /// `[scale.min, scale.max]`; every perk's `min_tier` exists and `min_score`
    /// lies within the scale; the grid's `step` is not zero, its
    /// `thresholds` are strictly increasing and inside the scale
    /// (`min < t <= max`), and the whole grid ([`Policy::grid`]) has at most
    /// 64 thresholds. Tiers are stored in ascending order.
    pub fn new(mut spec: PolicySpec) -> Result<Policy, PolicyError> {
        check_name("id", &spec.id)?;
        check_name("version", &spec.version)?;
        let scale = spec.scale;
        if scale.min >= scale.max {
            return Err(PolicyError::EmptyScale { min: scale.min, max: scale.max });
        }
        if i64::try_from(scale.max).is_err() {
            return Err(PolicyError::InvalidField {
                field: "scale.max".to_owned(),
                reason: "it must be at most 9223372036854775807 (i64::MAX)",
            });
        }
        if scale.start < scale.min || scale.start > scale.max {
            return Err(PolicyError::StartOutsideScale { start: scale.start, min: scale.min, max: scale.max });
        }
        for (kind, rule) in &spec.rules {
            check_name(&format!("rules key {:?}", clip(kind)), kind)?;
            if let Some(cap) = rule.cap {
                if cap.max_records.is_none() && cap.max_points.is_none() {
                    return Err(PolicyError::EmptyCap { kind: kind.clone() });
                }
            }
        }
        if let Some(days) = spec.dispute_period_days {
            if days == 0 || days > MAX_DISPUTE_PERIOD_DAYS {
                return Err(PolicyError::InvalidField {
                    field: "dispute_period_days".to_owned(),
                    reason: "it must be between 1 and 366 days",
                });
            }
        }
        check_tiers(&mut spec.tiers, scale)?;
        let placeholder = Grid::new(scale.min, scale.max, Vec::new())
            .map_err(|e| PolicyError::InvalidGrid { reason: e.to_string() })?;
        let mut policy = Policy { spec, grid: placeholder };
        for (name, perk) in &policy.spec.perks {
            check_name(&format!("perks key {:?}", clip(name)), name)?;
            if let Some(tier) = &perk.min_tier {
                if policy.tier(tier).is_none() {
                    return Err(PolicyError::UnknownTier { perk: name.clone(), tier: clip(tier) });
                }
            }
            if let Some(min_score) = perk.min_score {
                if min_score < scale.min || min_score > scale.max {
                    return Err(PolicyError::PerkThresholdOutOfScale {
                        perk: name.clone(),
                        min_score,
                        min: scale.min,
                        max: scale.max,
                    });
                }
            }
        }
        policy.grid = build_grid(&policy)?;
        Ok(policy)
    }

    /// The score's threshold grid: the lower bound of every tier but the
    /// lowest, every perk's threshold, the spec's extra `thresholds`, and
    /// the multiples of the step that lie at least one step from all of
    /// those and from the ends of the scale ([`Grid::with_step`]).
    ///
    /// A holder's wallet answers `score>=t`, `score<=t` and `a<=score<=b`
    /// only on this grid by default, so a verifier that asks again and
    /// again learns at most which cell the score lies in; verifiers build
    /// their requests from it ([`Grid::allows`], [`Grid::nearest`]). Tier
    /// boundaries and perk thresholds are on it because a disclosed tier or
    /// perk flag tells as much.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// The policy identifier.
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// The policy version.
    pub fn version(&self) -> &str {
        &self.spec.version
    }

    /// The plain-words description.
    pub fn description(&self) -> &str {
        &self.spec.description
    }

    /// Where the numbers come from.
    pub fn source(&self) -> &str {
        &self.spec.source
    }

    /// The score scale.
    pub fn scale(&self) -> Scale {
        self.spec.scale
    }

    /// All rules, keyed by record kind.
    pub fn rules(&self) -> &BTreeMap<String, Rule> {
        &self.spec.rules
    }

    /// The rule for a record kind.
    pub fn rule(&self, kind: &str) -> Option<&Rule> {
        self.spec.rules.get(kind)
    }

    /// All tiers, lowest first; contiguous and spanning the scale.
    pub fn tiers(&self) -> &[Tier] {
        &self.spec.tiers
    }

    /// The tier with this name.
    pub fn tier(&self, name: &str) -> Option<&Tier> {
        self.spec.tiers.iter().find(|t| t.name == name)
    }

    /// The tier a score falls in, or `None` if the score is outside the scale.
    pub fn tier_for(&self, score: u64) -> Option<&Tier> {
        self.spec.tiers.iter().find(|t| t.min <= score && score <= t.max)
    }

    /// All perks, keyed by name.
    pub fn perks(&self) -> &BTreeMap<String, Perk> {
        &self.spec.perks
    }

    /// The perk with this name.
    pub fn perk(&self, name: &str) -> Option<&Perk> {
        self.spec.perks.get(name)
    }

    /// The score threshold a holder proves for perk `name` (see [`Perk::score_threshold`]).
    pub fn perk_threshold(&self, name: &str) -> Option<u64> {
        self.perk(name).map(|p| p.score_threshold(self))
    }

    /// How many days the issuer has to answer a dispute (the spec's
    /// `dispute_period_days`, else [`DEFAULT_DISPUTE_PERIOD_DAYS`]).
    pub fn dispute_period_days(&self) -> u32 {
        self.spec.dispute_period_days.unwrap_or(DEFAULT_DISPUTE_PERIOD_DAYS)
    }

    /// The published form of this policy: its JSON with the fields in
    /// declaration order, maps sorted by key, tiers ascending and no
    /// whitespace. The same policy always gives the same bytes, whatever
    /// file it was read from; its SHA-256 is [`Policy::sha256`].
    pub fn canonical_json(&self) -> Vec<u8> {
        // Serializing plain structs, BTreeMaps, strings and integers cannot fail.
        serde_json::to_vec(&self.spec).unwrap_or_default()
    }

    /// The SHA-256 of [`Policy::canonical_json`], lowercase hex: the hash a
    /// credential's `policy` claim names and a verifier can pin.
    pub fn sha256(&self) -> String {
        let d = ring::digest::digest(&ring::digest::SHA256, &self.canonical_json());
        d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The validated spec.
    pub fn spec(&self) -> &PolicySpec {
        &self.spec
    }

    /// Gives back the validated spec.
    pub fn into_spec(self) -> PolicySpec {
        self.spec
    }
}

impl TryFrom<PolicySpec> for Policy {
    type Error = PolicyError;
    fn try_from(spec: PolicySpec) -> Result<Self, Self::Error> {
        Policy::new(spec)
    }
}

impl Serialize for Policy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.spec.serialize(serializer)
    }
}

fn build_grid(policy: &Policy) -> Result<Grid, PolicyError> {
    let scale = policy.scale();
    let invalid = |reason: String| PolicyError::InvalidGrid { reason };
    let spec = policy.spec.grid.clone().unwrap_or(GridSpec { step: None, thresholds: Vec::new() });
    if spec.thresholds.len() > MAX_GRID_THRESHOLDS {
        return Err(invalid(format!("grid.thresholds has more than {MAX_GRID_THRESHOLDS} entries")));
    }
    if let Some(t) = spec.thresholds.iter().find(|&&t| t <= scale.min || t > scale.max) {
        return Err(invalid(format!("grid threshold {t} is not inside the scale (min < t <= max)")));
    }
    if spec.thresholds.windows(2).any(|w| w[0] >= w[1]) {
        return Err(invalid("grid.thresholds are not strictly increasing".to_owned()));
    }
    let mut anchors: Vec<u64> = policy.tiers().iter().map(|t| t.min).filter(|&m| m > scale.min).collect();
    anchors.extend(policy.perks().values().map(|p| p.score_threshold(policy)).filter(|&t| t > scale.min));
    anchors.extend(&spec.thresholds);
    anchors.sort_unstable();
    anchors.dedup();
    let step = spec.step.unwrap_or_else(|| default_step(scale.min, scale.max));
    Grid::with_step(scale.min, scale.max, step, &anchors).map_err(|e| invalid(e.to_string()))
}

/// Checks a name: 1..=MAX_NAME_LEN bytes of `[A-Za-z0-9_+.-]`.
pub(crate) fn check_name(field: &str, name: &str) -> Result<(), PolicyError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.len() > MAX_NAME_LEN {
        "it is longer than 64 bytes"
    } else if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'.')) {
        "only ASCII letters, digits, '_', '-', '+' and '.' are allowed"
    } else {
        return Ok(());
    };
    Err(PolicyError::InvalidField { field: field.to_owned(), reason })
}

fn check_tiers(tiers: &mut [Tier], scale: Scale) -> Result<(), PolicyError> {
    if tiers.is_empty() {
        return Err(PolicyError::NoTiers);
    }
    let mut names = BTreeSet::new();
    for tier in tiers.iter() {
        check_name(&format!("tier name {:?}", clip(&tier.name)), &tier.name)?;
        if !names.insert(tier.name.as_str()) {
            return Err(PolicyError::DuplicateTierName { name: tier.name.clone() });
        }
        if tier.min > tier.max {
            return Err(PolicyError::InvertedTier { name: tier.name.clone(), min: tier.min, max: tier.max });
        }
    }
    tiers.sort_by_key(|t| (t.min, t.max));
    for pair in tiers.windows(2) {
        let (lower, upper) = (&pair[0], &pair[1]);
        match lower.max.checked_add(1) {
            Some(next) if upper.min == next => {}
            Some(next) if upper.min > next => {
                return Err(PolicyError::TierGap {
                    lower: lower.name.clone(),
                    upper: upper.name.clone(),
                    from: next,
                    to: upper.min - 1,
                })
            }
            _ => return Err(PolicyError::TierOverlap { lower: lower.name.clone(), upper: upper.name.clone() }),
        }
    }
    let (first, last) = (&tiers[0], &tiers[tiers.len() - 1]);
    if first.min != scale.min || last.max != scale.max {
        return Err(PolicyError::TiersDoNotCoverScale {
            tiers_min: first.min,
            tiers_max: last.max,
            scale_min: scale.min,
            scale_max: scale.max,
        });
    }
    Ok(())
}

/// Deserializes a JSON object into a map, rejecting duplicate keys
/// (serde_json would otherwise keep the last one silently).
fn unique_map<'de, D, V>(deserializer: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct UniqueMap<V>(PhantomData<V>);
    impl<'de, V: Deserialize<'de>> Visitor<'de> for UniqueMap<V> {
        type Value = BTreeMap<String, V>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object with unique keys")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let mut map = BTreeMap::new();
            while let Some(key) = access.next_key::<String>()? {
                if map.contains_key(&key) {
                    return Err(A::Error::custom(format_args!("duplicate key {:?}", clip(&key))));
                }
                let value = access.next_value()?;
                map.insert(key, value);
            }
            Ok(map)
        }
    }
    deserializer.deserialize_map(UniqueMap(PhantomData))
}
