//! Progress of long runs (`issuer offer --bulk`, `issuer status-list`) on
//! stderr: an `indicatif` bar on a terminal, otherwise a plain line at
//! most once a second and at the end (logs and CI keep a readable record,
//! without a bar's control characters).

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

/// A count of `total` steps, some already done before this run.
pub(crate) struct Progress {
    what: &'static str,
    total: u64,
    done: u64,
    skipped: u64,
    started: Instant,
    last: Option<Instant>,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    /// Starts counting `total` steps of `what` (e.g. "offers"), `skipped`
    /// of them already done.
    pub(crate) fn new(what: &'static str, total: u64, skipped: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            let style = indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} ({percent}%), {per_sec}, eta {eta}",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(what);
            bar.set_position(skipped);
            bar.reset_eta();
            bar
        });
        Self { what, total, done: skipped, skipped, started: Instant::now(), last: None, bar }
    }

    /// One more step done.
    pub(crate) fn inc(&mut self) {
        self.done += 1;
        match &self.bar {
            Some(bar) => bar.inc(1),
            None => {
                let now = Instant::now();
                if self.last.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1)) {
                    self.last = Some(now);
                    self.line();
                }
            }
        }
    }

    fn line(&self) {
        let secs = self.started.elapsed().as_secs_f64();
        let this_run = self.done - self.skipped;
        let rate = if secs > 0.0 { this_run as f64 / secs } else { 0.0 };
        let pct = (self.done * 100).checked_div(self.total).unwrap_or(100);
        eprintln!("{}: {}/{} ({pct}%), {rate:.0}/s", self.what, self.done, self.total);
    }

    /// The end: the bar cleared and one closing line.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.line();
    }
}
