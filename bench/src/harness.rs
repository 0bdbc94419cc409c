//! The timing harness: warm up, then take many samples of a batch of
//! iterations each, and report the median time of one iteration.
//!
//! A figure is never extrapolated: every sample runs the operation `iters`
//! times back to back and divides its elapsed time by `iters`. Figures that
//! are compared with each other can be measured as a *group*: their samples
//! are interleaved round-robin, so a change in machine load (other builds
//! on a shared machine) hits every member of the group alike and their
//! ratios stay meaningful.

use std::time::{Duration, Instant};

/// How long to warm up, how long one sample should last and how much time
/// one figure may take in all.
#[derive(Debug, Clone, Copy)]
pub struct Harness {
    /// Warm-up: the operation runs until this much time has passed (at least once).
    pub warmup: Duration,
    /// Each sample batches enough iterations to last about this long.
    pub sample: Duration,
    /// Samples are taken until about this much time is spent …
    pub budget: Duration,
    /// … but never fewer than this many …
    pub min_samples: usize,
    /// … nor more than this many.
    pub max_samples: usize,
}

impl Default for Harness {
    fn default() -> Self {
        Self {
            warmup: Duration::from_millis(150),
            sample: Duration::from_millis(2),
            budget: Duration::from_millis(2000),
            min_samples: 9,
            max_samples: 301,
        }
    }
}

/// The result of measuring one operation.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Median time of one iteration, in nanoseconds.
    pub median_ns: f64,
    /// Half the interquartile range of the samples, relative to the median
    /// (0.02 = ±2 %): how noisy the figure was.
    pub spread: f64,
    /// Number of samples taken.
    pub samples: usize,
    /// Iterations per sample.
    pub iters: u64,
    /// The median, over the rounds in which both were sampled, of this
    /// operation's time divided by the group's first member's time in the
    /// same round (1 for the first member). Samples of one round are taken
    /// milliseconds apart, so a slow drift of the machine's speed cancels
    /// in this ratio, not in a ratio of two medians.
    pub paired: f64,
}

/// Runs an operation `n` times and returns the time those runs took
/// (setup that must not be timed happens outside the returned duration).
pub type Sampler<'a> = Box<dyn FnMut(u64) -> Duration + 'a>;

/// A sampler for `f`, timed as a whole.
pub fn plain<'a, F: FnMut() + 'a>(mut f: F) -> Sampler<'a> {
    Box::new(move |n| {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed()
    })
}

/// A sampler that builds `n` inputs with `setup` (not timed), then times
/// `routine` over them; inputs and outputs are dropped after the clock stops.
pub fn with_setup<'a, S, O, F, G>(mut setup: F, mut routine: G) -> Sampler<'a>
where
    S: 'a,
    O: 'a,
    F: FnMut() -> S + 'a,
    G: FnMut(&mut S) -> O + 'a,
{
    Box::new(move |n| {
        let mut inputs: Vec<S> = (0..n).map(|_| setup()).collect();
        let mut outputs: Vec<O> = Vec::with_capacity(inputs.len());
        let t = Instant::now();
        for s in &mut inputs {
            outputs.push(routine(s));
        }
        let elapsed = t.elapsed();
        drop(outputs);
        drop(inputs);
        elapsed
    })
}

impl Harness {
    /// Measures `f` alone.
    pub fn measure<F: FnMut()>(&self, f: F) -> Timing {
        self.measure_group(vec![plain(f)]).remove(0)
    }

    /// Measures several operations with interleaved samples: each is warmed
    /// up and gets its own batch size and sample count, then samples are
    /// taken round-robin until every member has its count.
    pub fn measure_group(&self, mut group: Vec<Sampler<'_>>) -> Vec<Timing> {
        let plan: Vec<(u64, usize)> = group.iter_mut().map(|s| self.calibrate(s)).collect();
        let mut per_iter: Vec<Vec<f64>> = plan.iter().map(|&(_, n)| Vec::with_capacity(n)).collect();
        let rounds = plan.iter().map(|&(_, n)| n).max().unwrap_or(0);
        for round in 0..rounds {
            for ((sampler, &(iters, samples)), out) in group.iter_mut().zip(&plan).zip(&mut per_iter) {
                if round < samples {
                    out.push(sampler(iters).as_secs_f64() * 1e9 / count_to_float(iters));
                }
            }
        }
        let first = per_iter.first().cloned().unwrap_or_default();
        per_iter
            .into_iter()
            .zip(plan)
            .map(|(mut v, (iters, samples))| {
                let mut ratios: Vec<f64> = v.iter().zip(&first).map(|(x, f)| x / f).collect();
                ratios.sort_by(f64::total_cmp);
                let paired = if ratios.is_empty() { f64::NAN } else { quantile(&ratios, 0.5) };
                v.sort_by(f64::total_cmp);
                let median_ns = quantile(&v, 0.5);
                let spread = (quantile(&v, 0.75) - quantile(&v, 0.25)) / 2.0 / median_ns;
                Timing { median_ns, spread, samples, iters, paired }
            })
            .collect()
    }

    /// Warms `s` up and returns (iterations per sample, samples).
    fn calibrate(&self, s: &mut Sampler<'_>) -> (u64, usize) {
        let wall = Instant::now();
        let mut timed = Duration::ZERO;
        let mut calls: u32 = 0;
        loop {
            timed += s(1);
            calls = calls.saturating_add(1);
            if wall.elapsed() >= self.warmup {
                break;
            }
        }
        let per_call = (timed.as_secs_f64() / f64::from(calls)).max(1e-9);
        let iters = (self.sample.as_secs_f64() / per_call).floor().max(1.0);
        let samples = (self.budget.as_secs_f64() / (iters * per_call)).floor();
        let samples = usize::try_from(float_to_count(samples)).unwrap_or(usize::MAX);
        (float_to_count(iters), samples.clamp(self.min_samples, self.max_samples))
    }
}

/// The `q`-quantile of sorted `v` (nearest rank; the median of an odd
/// count is its middle element).
fn quantile(v: &[f64], q: f64) -> f64 {
    let last = v.len().saturating_sub(1);
    let pos = (count_to_float(u64::try_from(last).unwrap_or(u64::MAX)) * q).round();
    v[usize::try_from(float_to_count(pos)).unwrap_or(last).min(last)]
}

/// A non-negative, finite, integral `f64` as `u64` (saturating).
fn float_to_count(x: f64) -> u64 {
    if x.is_finite() && x >= 0.0 {
        // The value is integral and non-negative; `as` saturates above u64::MAX.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let n = x as u64;
        n
    } else {
        0
    }
}

/// A count as `f64` (exact below 2^53, which every count here is).
pub fn count_to_float(n: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let x = n as f64;
    x
}
