//! Threshold grids: which thresholds a wallet answers for one committed
//! attribute, so that a verifier who asks again and again learns at most
//! which cell of a published grid the value lies in.
//!
//! # Why
//!
//! A range proof hides the value, but the answer (a proof, or a refusal)
//! tells which side of the threshold it lies on. A verifier that recognises
//! a returning holder (an account, a loyalty card) and picks its thresholds
//! freely can binary-search the value: 712 on a 350–950 scale in 9 requests.
//!
//! # The rule
//!
//! A [`Grid`] is a scale `[min, max]` cut into cells by increasing
//! thresholds `t1 < t2 < ...` (each `min < t <= max`); the cells are
//! `[min, t1-1]`, `[t1, t2-1]`, ..., `[tn, max]`. A predicate is *on the
//! grid* when its truth is the same for every value of each cell:
//!
//! * `a>=t` when `t` is a threshold, or `t <= min` or `t > max` (always
//!   true, or always false, for every value of the scale);
//! * `a<=t` when `t+1` is a threshold, or `t < min` or `t >= max` (so
//!   `score<=699` is on a grid with threshold 700, `score<=700` is not:
//!   with `score>=700` it would pin the value to 700);
//! * `l<=a<=h` when both `a>=l` and `a<=h` are.
//!
//! Whatever sequence of on-grid predicates a verifier has answered, the
//! values consistent with the answers are a union of whole cells, so it
//! never narrows the value below one cell. The wallet answers only on-grid
//! predicates unless the holder explicitly allows more, and it refuses an
//! off-grid one before it looks at the value, so the refusal says nothing
//! about the value either.
//!
//! # Where the grid comes from
//!
//! A published policy has one ([`crate::policy::Policy::grid`]): its tier
//! boundaries and perk thresholds, plus a step. Without a policy,
//! [`Grid::default_for`] cuts the scale into at most 20 cells of a round
//! step, each at least 1/20 of the scale.

use std::fmt;

use serde_json::{json, Value};

use crate::error::GridError;
use crate::profile::predicate::Predicate;

/// The most thresholds a grid may have.
pub const MAX_GRID_THRESHOLDS: usize = 64;

/// The most cells of [`Grid::default_for`]; each is at least this fraction
/// of the scale.
pub const DEFAULT_GRID_CELLS: u64 = 20;

/// A scale `[min, max]` and the thresholds that cut it into cells. A
/// predicate is on the grid ([`Grid::allows`]) when its truth is the same for
/// every value of each cell, so a verifier whose requests a wallet answers
/// only on the grid learns at most which cell the value lies in, however
/// often it asks.
///
/// ```
/// use creditproof::{Grid, Predicate};
/// let grid = Grid::default_for(350, 950).unwrap();
/// assert_eq!(grid.thresholds(), [400, 450, 500, 550, 600, 650, 700, 750, 800, 850, 900]);
/// assert_eq!(grid.cell_of(712), Some((700, 749)));
/// let on: Predicate = "score>=650".parse().unwrap();
/// let off: Predicate = "score>=713".parse().unwrap();
/// assert!(grid.allows(&on) && !grid.allows(&off));
/// let nearest: Vec<String> = grid.nearest(&off).iter().map(ToString::to_string).collect();
/// assert_eq!(nearest, ["score>=700", "score>=750"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    min: u64,
    max: u64,
    thresholds: Vec<u64>,
}

/// The number of values in `[min, max]`.
fn width(min: u64, max: u64) -> u128 {
    u128::from(max) - u128::from(min) + 1
}

/// The default step of a scale: the smallest 1, 2 or 5 times a power of
/// ten that is at least 1/20 of it.
pub(crate) fn default_step(min: u64, max: u64) -> u64 {
    round_step(min, max, DEFAULT_GRID_CELLS)
}

/// The smallest 1, 2 or 5 times a power of ten that is at least
/// `ceil(width / cells)`.
fn round_step(min: u64, max: u64, cells: u64) -> u64 {
    let target = width(min, max).div_ceil(u128::from(cells.max(1)));
    let mut power: u128 = 1;
    loop {
        for m in [1u128, 2, 5] {
            if m * power >= target {
                return u64::try_from(m * power).unwrap_or(u64::MAX);
            }
        }
        power *= 10;
    }
}

impl Grid {
    /// A grid with exactly these thresholds. Checks: `min < max`, at most
    /// [`MAX_GRID_THRESHOLDS`] thresholds, strictly increasing, each with
    /// `min < t <= max`.
    pub fn new(min: u64, max: u64, thresholds: Vec<u64>) -> Result<Self, GridError> {
        if min >= max {
            return Err(GridError::EmptyScale);
        }
        if thresholds.len() > MAX_GRID_THRESHOLDS {
            return Err(GridError::TooManyThresholds { limit: MAX_GRID_THRESHOLDS });
        }
        if let Some(&t) = thresholds.iter().find(|&&t| t <= min || t > max) {
            return Err(GridError::OutsideScale { threshold: t });
        }
        if thresholds.windows(2).any(|w| w[0] >= w[1]) {
            return Err(GridError::NotIncreasing);
        }
        Ok(Self { min, max, thresholds })
    }

    /// The default grid of a scale: at most [`DEFAULT_GRID_CELLS`] cells,
    /// each at least `1/20` of the scale wide. The step is the smallest
    /// 1, 2 or 5 times a power of ten that is at least `1/20` of the scale
    /// (50 for 350–950 or 0–950, 100 for 0–1300), and the thresholds are
    /// its multiples at least one step inside both ends.
    pub fn default_for(min: u64, max: u64) -> Result<Self, GridError> {
        if min >= max {
            return Err(GridError::EmptyScale);
        }
        Self::with_step(min, max, default_step(min, max), &[])
    }

    /// A grid of published `anchors` (e.g. a policy's tier boundaries and
    /// perk thresholds, each with `min < a <= max`) plus every multiple of
    /// `step` that lies at least one step from both ends of the scale and
    /// from every anchor. Cells between two step thresholds, or between a
    /// step threshold and an anchor or an end, are at least `step` wide;
    /// only the anchors themselves can make narrower ones.
    pub fn with_step(min: u64, max: u64, step: u64, anchors: &[u64]) -> Result<Self, GridError> {
        if min >= max {
            return Err(GridError::EmptyScale);
        }
        if step == 0 {
            return Err(GridError::ZeroStep);
        }
        if let Some(&a) = anchors.iter().find(|&&a| a <= min || a > max) {
            return Err(GridError::OutsideScale { threshold: a });
        }
        let mut thresholds: Vec<u64> = anchors.to_vec();
        let (step, lo, hi) = (u128::from(step), u128::from(min) + u128::from(step), u128::from(max) + 1);
        // Multiples m of step with lo <= m <= hi - step. At most two
        // multiples lie within a step of each anchor, so the loop stops
        // after at most MAX + 1 + 2 * anchors iterations.
        let mut m = lo.div_ceil(step) * step;
        let mut added = 0;
        while m + step <= hi {
            let near_anchor = anchors.iter().any(|&a| u128::from(a).abs_diff(m) < step);
            if !near_anchor {
                added += 1;
                if added > MAX_GRID_THRESHOLDS {
                    return Err(GridError::TooManyThresholds { limit: MAX_GRID_THRESHOLDS });
                }
                // m <= max here, so it fits in u64.
                thresholds.push(u64::try_from(m).map_err(|_| GridError::OutsideScale { threshold: max })?);
            }
            m += step;
        }
        thresholds.sort_unstable();
        thresholds.dedup();
        Self::new(min, max, thresholds)
    }

    /// The lowest value of the scale.
    pub fn min(&self) -> u64 {
        self.min
    }

    /// The highest value of the scale.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The thresholds, increasing: each starts a cell.
    pub fn thresholds(&self) -> &[u64] {
        &self.thresholds
    }

    /// The cells `[lo, hi]` (both inclusive), lowest first.
    pub fn cells(&self) -> Vec<(u64, u64)> {
        let starts: Vec<u64> = std::iter::once(self.min).chain(self.thresholds.iter().copied()).collect();
        let ends = self.thresholds.iter().map(|t| t - 1).chain(std::iter::once(self.max));
        starts.into_iter().zip(ends).collect()
    }

    /// The cell holding `value`, or `None` outside the scale.
    pub fn cell_of(&self, value: u64) -> Option<(u64, u64)> {
        self.cells().into_iter().find(|&(lo, hi)| lo <= value && value <= hi)
    }

    /// The width (number of values) of the narrowest cell: the most a
    /// verifier can narrow a value down to with on-grid predicates.
    pub fn narrowest_cell(&self) -> u64 {
        self.cells().iter().map(|&(lo, hi)| u64::try_from(width(lo, hi)).unwrap_or(u64::MAX)).min().unwrap_or(0)
    }

    /// Whether `attribute >= t` is on the grid.
    pub fn allows_at_least(&self, t: u64) -> bool {
        t <= self.min || t > self.max || self.thresholds.binary_search(&t).is_ok()
    }

    /// Whether `attribute <= t` is on the grid.
    pub fn allows_at_most(&self, t: u64) -> bool {
        t < self.min || t >= self.max || self.thresholds.binary_search(&(t + 1)).is_ok()
    }

    /// Whether a predicate is on the grid (perk predicates always are). The
    /// attribute is not checked: the caller picks the grid of the
    /// predicate's attribute.
    pub fn allows(&self, p: &Predicate) -> bool {
        match p {
            Predicate::AtLeast { threshold, .. } => self.allows_at_least(*threshold),
            Predicate::AtMost { threshold, .. } => self.allows_at_most(*threshold),
            Predicate::Between { low, high, .. } => self.allows_at_least(*low) && self.allows_at_most(*high),
            _ => true,
        }
    }

    /// The nearest thresholds at or below and at or above `t`.
    fn around(&self, t: u64) -> (Option<u64>, Option<u64>) {
        let i = self.thresholds.partition_point(|&g| g < t);
        let above = self.thresholds.get(i).copied();
        let below = if above == Some(t) { Some(t) } else { i.checked_sub(1).map(|j| self.thresholds[j]) };
        (below, above)
    }

    /// On-grid predicates nearest to `p`, for an error message or a
    /// verifier fixing its request: for `a>=t` the thresholds just below
    /// and above `t`; for `a<=t` likewise; for `l<=a<=h` the nearest wider
    /// and narrower intervals (the scale's ends count as bounds). Empty if
    /// `p` is on the grid or not a range predicate.
    pub fn nearest(&self, p: &Predicate) -> Vec<Predicate> {
        if self.allows(p) {
            return Vec::new();
        }
        let mut out = Vec::new();
        match p {
            Predicate::AtLeast { attribute, threshold } => {
                let (below, above) = self.around(*threshold);
                for t in [below, above].into_iter().flatten() {
                    out.push(Predicate::AtLeast { attribute: attribute.clone(), threshold: t });
                }
            }
            Predicate::AtMost { attribute, threshold } => {
                let (below, above) = self.around(threshold.saturating_add(1));
                for t in [below, above].into_iter().flatten() {
                    out.push(Predicate::AtMost { attribute: attribute.clone(), threshold: t - 1 });
                }
            }
            Predicate::Between { attribute, low, high } => {
                // Lower bounds: min and the thresholds; upper bounds: each
                // threshold - 1, and max.
                let lows = |t: u64| -> [Option<u64>; 2] {
                    if self.allows_at_least(t) {
                        return [Some(t), Some(t)];
                    }
                    let (below, above) = self.around(t);
                    [below.or(Some(self.min)), above]
                };
                let highs = |t: u64| -> [Option<u64>; 2] {
                    if self.allows_at_most(t) {
                        return [Some(t), Some(t)];
                    }
                    let (below, above) = self.around(t + 1);
                    [below.map(|b| b - 1), above.map(|b| b - 1).or(Some(self.max))]
                };
                let ([l_down, l_up], [h_down, h_up]) = (lows(*low), highs(*high));
                for pair in [(l_down, h_up), (l_up, h_down)] {
                    if let (Some(l), Some(h)) = pair {
                        let q = Predicate::Between { attribute: attribute.clone(), low: l, high: h };
                        if l <= h && !out.contains(&q) {
                            out.push(q);
                        }
                    }
                }
            }
            _ => {}
        }
        out.dedup();
        out
    }

    /// The grid as JSON: `{"min": .., "max": .., "thresholds": [..]}`.
    pub fn to_json(&self) -> Value {
        json!({"min": self.min, "max": self.max, "thresholds": self.thresholds})
    }

    /// Reads a grid written by [`Grid::to_json`]: exactly those three
    /// fields, integers, and everything [`Grid::new`] checks.
    pub fn from_json(v: &Value) -> Result<Self, GridError> {
        let m = v.as_object().filter(|m| m.len() == 3).ok_or(GridError::Malformed)?;
        let int = |k: &str| m.get(k).and_then(Value::as_u64).ok_or(GridError::Malformed);
        let list = m.get("thresholds").and_then(Value::as_array).ok_or(GridError::Malformed)?;
        if list.len() > MAX_GRID_THRESHOLDS {
            return Err(GridError::TooManyThresholds { limit: MAX_GRID_THRESHOLDS });
        }
        let thresholds = list.iter().map(|t| t.as_u64().ok_or(GridError::Malformed)).collect::<Result<_, _>>()?;
        Self::new(int("min")?, int("max")?, thresholds)
    }
}

impl fmt::Display for Grid {
    /// `350..=950 cut at 400, 450, ... into 12 cells (narrowest 50 wide)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..={}", self.min, self.max)?;
        if !self.thresholds.is_empty() {
            let t: Vec<String> = self.thresholds.iter().map(ToString::to_string).collect();
            write!(f, " cut at {}", t.join(", "))?;
        }
        write!(f, " into {} cells (narrowest {} wide)", self.thresholds.len() + 1, self.narrowest_cell())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Predicate {
        s.parse().unwrap()
    }

    #[test]
    fn default_grids_of_the_shipped_scales() {
        let g = Grid::default_for(0, 950).unwrap();
        assert_eq!(g.thresholds(), (1..=18).map(|k| k * 50).collect::<Vec<_>>());
        assert_eq!(g.cells().last(), Some(&(900, 950)));
        let g = Grid::default_for(0, 1300).unwrap();
        assert_eq!(g.thresholds(), (1..=12).map(|k| k * 100).collect::<Vec<_>>());
        let g = Grid::default_for(0, 1000).unwrap();
        assert_eq!(g.thresholds(), (1..=9).map(|k| k * 100).collect::<Vec<_>>());
        // Fewer than 20 values: every value its own cell.
        let g = Grid::default_for(0, 10).unwrap();
        assert_eq!(g.thresholds(), (1..=10).collect::<Vec<_>>());
        assert_eq!(g.narrowest_cell(), 1);
    }

    /// The default grid keeps its promise on many scales: at most 20 cells,
    /// each at least 1/20 of the scale, and they tile the scale.
    #[test]
    fn default_grid_bound_holds_on_many_scales() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut scales = vec![(0, 1), (0, 19), (0, 20), (0, 21), (350, 950), (1, 100), (0, u64::MAX), (5, u64::MAX)];
        for _ in 0..2000 {
            let a = next() >> (next() % 64);
            let b = a.saturating_add(1 + (next() >> (next() % 64)));
            scales.push((a, b));
        }
        for (min, max) in scales {
            let g = Grid::default_for(min, max).unwrap_or_else(|e| panic!("{min}..{max}: {e}"));
            let cells = g.cells();
            assert!(cells.len() as u64 <= DEFAULT_GRID_CELLS, "{min}..{max}: {} cells", cells.len());
            assert_eq!(cells[0].0, min);
            assert_eq!(cells[cells.len() - 1].1, max);
            for w in cells.windows(2) {
                assert_eq!(w[0].1 + 1, w[1].0);
            }
            let narrowest = u128::from(g.narrowest_cell());
            assert!(narrowest * u128::from(DEFAULT_GRID_CELLS) >= width(min, max), "{min}..{max}: {narrowest}");
        }
    }

    #[test]
    fn anchors_and_steps() {
        // Sesame-style: tier starts and perk thresholds, step 50.
        let g = Grid::with_step(350, 950, 50, &[550, 600, 650, 700, 650, 700, 750]).unwrap();
        assert_eq!(g.thresholds(), [400, 450, 500, 550, 600, 650, 700, 750, 800, 850, 900]);
        // A step multiple within a step of an anchor gives way to it.
        let g = Grid::with_step(0, 1000, 100, &[850, 970]).unwrap();
        assert_eq!(g.thresholds(), [100, 200, 300, 400, 500, 600, 700, 850, 970]);
        assert_eq!(g.narrowest_cell(), 31);
        assert_eq!(Grid::with_step(0, 1000, 0, &[]), Err(GridError::ZeroStep));
        assert_eq!(Grid::with_step(0, 1000, 10, &[]), Err(GridError::TooManyThresholds { limit: 64 }));
        assert_eq!(Grid::with_step(0, 1000, 100, &[0]), Err(GridError::OutsideScale { threshold: 0 }));
        assert_eq!(Grid::with_step(0, 1000, 100, &[1001]), Err(GridError::OutsideScale { threshold: 1001 }));
        assert_eq!(Grid::with_step(0, u64::MAX, 1, &[]), Err(GridError::TooManyThresholds { limit: 64 }));
    }

    #[test]
    fn new_is_strict() {
        assert_eq!(Grid::new(5, 5, vec![]), Err(GridError::EmptyScale));
        assert_eq!(Grid::new(0, 10, vec![3, 3]), Err(GridError::NotIncreasing));
        assert_eq!(Grid::new(0, 10, vec![4, 3]), Err(GridError::NotIncreasing));
        assert_eq!(Grid::new(0, 10, vec![0]), Err(GridError::OutsideScale { threshold: 0 }));
        assert_eq!(Grid::new(0, 10, vec![11]), Err(GridError::OutsideScale { threshold: 11 }));
        assert!(Grid::new(0, 10, vec![10]).is_ok());
        assert!(Grid::new(0, 10, vec![]).is_ok());
        assert_eq!(
            Grid::new(0, 1000, (1..=65).collect()),
            Err(GridError::TooManyThresholds { limit: MAX_GRID_THRESHOLDS })
        );
    }

    #[test]
    fn json_round_trip_and_rejections() {
        let g = Grid::default_for(350, 950).unwrap();
        assert_eq!(Grid::from_json(&g.to_json()), Ok(g));
        for bad in [
            json!([]),
            json!({"min": 0, "max": 10}),
            json!({"min": 0, "max": 10, "thresholds": [5], "x": 1}),
            json!({"min": -1, "max": 10, "thresholds": []}),
            json!({"min": 0, "max": 10, "thresholds": ["5"]}),
            json!({"min": 0, "max": 10, "thresholds": [5, 4]}),
            json!({"min": 0, "max": 10, "thresholds": (1..=100).collect::<Vec<u64>>()}),
        ] {
            assert!(Grid::from_json(&bad).is_err(), "{bad}");
        }
    }

    /// The heart of the defence: every on-grid predicate has the same truth
    /// for every value of a cell, so no sequence of answers can split a
    /// cell. Checked exhaustively on small grids, for every predicate.
    #[test]
    fn on_grid_predicates_never_split_a_cell() {
        let grids = [
            Grid::default_for(0, 95).unwrap(),
            Grid::default_for(3, 61).unwrap(),
            Grid::with_step(10, 90, 20, &[45, 47]).unwrap(),
            Grid::new(0, 9, vec![]).unwrap(),
        ];
        for g in grids {
            let mut on = 0;
            for t in 0..=g.max() + 2 {
                for pred in [
                    Predicate::AtLeast { attribute: "s".into(), threshold: t },
                    Predicate::AtMost { attribute: "s".into(), threshold: t },
                ]
                .into_iter()
                .chain((t..=g.max() + 2).map(|h| Predicate::Between {
                    attribute: "s".into(),
                    low: t,
                    high: h,
                })) {
                    let holds = |v: u64| match &pred {
                        Predicate::AtLeast { threshold, .. } => v >= *threshold,
                        Predicate::AtMost { threshold, .. } => v <= *threshold,
                        Predicate::Between { low, high, .. } => *low <= v && v <= *high,
                        _ => unreachable!(),
                    };
                    let splits = g.cells().iter().any(|&(lo, hi)| (lo..=hi).any(|v| holds(v) != holds(lo)));
                    assert_eq!(g.allows(&pred), !splits, "{g}: {pred}");
                    if g.allows(&pred) {
                        on += 1;
                    } else {
                        let nearest = g.nearest(&pred);
                        assert!(!nearest.is_empty() || g.thresholds().is_empty(), "{g}: {pred}");
                        assert!(nearest.iter().all(|q| g.allows(q)), "{g}: {pred} -> {nearest:?}");
                    }
                }
            }
            assert!(on > 0);
        }
    }

    #[test]
    fn nearest_names_the_thresholds_around() {
        let g = Grid::default_for(350, 950).unwrap();
        let names = |s: &str| g.nearest(&p(s)).iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(names("score>=713"), ["score>=700", "score>=750"]);
        assert_eq!(names("score>=650"), Vec::<String>::new());
        assert_eq!(names("score>=380"), ["score>=400"]);
        assert_eq!(names("score<=800"), ["score<=799", "score<=849"]);
        assert_eq!(names("600<=score<=800"), ["600<=score<=849", "600<=score<=799"]);
        assert_eq!(names("610<=score<=640"), ["600<=score<=649"]);
        assert_eq!(names("360<=score<=940"), ["350<=score<=950", "400<=score<=899"]);
        assert!(g.allows(&p("score>=0")) && g.allows(&p("score>=951")) && g.allows(&p("score>=350")));
        assert!(g.allows(&p("score<=950")) && g.allows(&p("score<=349")) && g.allows(&p("score<=100000")));
        assert!(!g.allows(&p("score<=350")) && !g.allows(&p("score>=950")));
        assert!(g.allows(&p("perk:x")));
    }
}
