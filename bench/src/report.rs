//! Output: a readable table, or with `--json` one JSON object per line per
//! figure, `{"name": …, "value": …, "unit": …}`.
//!
//! Times are printed in the table in a convenient unit and in JSON always in
//! `ns`; sizes in `bytes`; ratios are unit `x`. A figure that could not be
//! measured is a row saying why in the table and a line on standard error
//! in JSON mode: it never has a number.

use serde_json::json;

use crate::harness::Timing;

/// Where figures go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Human-readable table on standard output.
    Table,
    /// One JSON object per line per figure on standard output.
    Json,
}

/// Width of the label column of the table.
const LABEL: usize = 62;

/// A ratio base: a time measured in this run and what it is called.
#[derive(Debug, Clone, Copy)]
pub struct Base {
    /// The base time in nanoseconds (measured in this run).
    pub ns: f64,
    /// Suffix of the JSON name of a ratio to this base, e.g. `x_2verify`.
    pub key: &'static str,
    /// How the table calls it, e.g. `2 Ed25519 verify`.
    pub label: &'static str,
}

impl Base {
    /// `scale` times the first member of `t`'s group, as `t` sees it:
    /// dividing `t` (per iteration, or per item after `time_scaled`) by this
    /// base gives the median of the per-round ratios (`Timing::paired`),
    /// in which a drift of the machine's speed cancels.
    pub fn paired(t: &crate::harness::Timing, scale: f64, key: &'static str, label: &'static str) -> Base {
        Base { ns: scale * t.median_ns / t.paired, key, label }
    }
}

/// Prints figures as they are measured.
#[derive(Debug)]
pub struct Report {
    mode: Mode,
}

impl Report {
    /// A report in `mode`.
    pub fn new(mode: Mode) -> Self {
        Self { mode }
    }

    /// The output mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// A line of context (CPU, compiler, …): in JSON a figure with unit `text`.
    pub fn meta(&self, name: &str, label: &str, value: &str) {
        match self.mode {
            Mode::Table => println!("{label:<10} {value}"),
            Mode::Json => emit(name, json!(value), "text"),
        }
    }

    /// A section heading (table only).
    pub fn section(&self, title: &str) {
        if self.mode == Mode::Table {
            println!();
            println!("== {title}");
        }
    }

    /// A free-form note under a section (table only).
    pub fn note(&self, text: &str) {
        if self.mode == Mode::Table {
            println!("   {text}");
        }
    }

    /// A timing, with its ratio to each base given.
    pub fn time(&self, name: &str, label: &str, t: &Timing, bases: &[Base]) {
        self.time_scaled(name, label, t, 1.0, bases);
    }

    /// A timing divided by `per` (e.g. a batch of 64 reported per item).
    pub fn time_scaled(&self, name: &str, label: &str, t: &Timing, per: f64, bases: &[Base]) {
        let ns = t.median_ns / per;
        match self.mode {
            Mode::Table => {
                let ratios: Vec<String> = bases.iter().map(|b| format!("{:>7.2} x {}", ns / b.ns, b.label)).collect();
                let n = format!("{}x{}", t.samples, t.iters);
                println!(
                    "{label:<LABEL$} {:>11} ±{:>5.1}% {n:>9}  {}",
                    human_time(ns),
                    t.spread * 100.0,
                    ratios.join("   ")
                );
            }
            Mode::Json => {
                emit(name, json!(round3(ns)), "ns");
                for b in bases {
                    emit(&format!("{name}.{}", b.key), json!(round3(ns / b.ns)), "x");
                }
            }
        }
    }

    /// A size in bytes.
    pub fn bytes(&self, name: &str, label: &str, n: usize) {
        match self.mode {
            Mode::Table => println!("{label:<LABEL$} {n:>9} B"),
            Mode::Json => emit(name, json!(n), "bytes"),
        }
    }

    /// A grid of sizes in bytes: one row per label, one column per heading.
    /// JSON names are `{name}.{column key}`.
    pub fn byte_grid(&self, headings: &[(&str, &str)], rows: &[(&str, &str, Vec<usize>)]) {
        match self.mode {
            Mode::Table => {
                let head: String = headings.iter().map(|(_, h)| format!("{h:>9}")).collect();
                println!("{:<LABEL$} {head}", "bytes");
                for (_, label, cells) in rows {
                    let line: String = cells.iter().map(|c| format!("{c:>9}")).collect();
                    println!("{label:<LABEL$} {line}");
                }
            }
            Mode::Json => {
                for (name, _, cells) in rows {
                    for ((key, _), c) in headings.iter().zip(cells) {
                        emit(&format!("{name}.{key}"), json!(c), "bytes");
                    }
                }
            }
        }
    }

    /// A figure that could not be measured, and exactly why.
    pub fn missing(&self, name: &str, label: &str, why: &str) {
        match self.mode {
            Mode::Table => println!("{label:<LABEL$} not measured: {why}"),
            Mode::Json => eprintln!("{name}: not measured: {why}"),
        }
    }
}

fn emit(name: &str, value: serde_json::Value, unit: &str) {
    println!("{}", json!({"name": name, "value": value, "unit": unit}));
}

/// Three decimals are plenty for nanoseconds and ratios.
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `ns` nanoseconds in ns, µs, ms or s with four significant digits or so.
pub fn human_time(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.1} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}
