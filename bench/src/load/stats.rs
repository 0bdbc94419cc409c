//! Latencies per step, error counts, and the printed summary.

use std::collections::BTreeMap;
use std::time::Duration;

use super::cpu::Measured;

/// What one worker saw; merged at the end.
#[derive(Default)]
pub(crate) struct Stats {
    /// Latencies per step, in the order steps were first seen.
    steps: Vec<(&'static str, Vec<Duration>)>,
    /// Failures by key (`400 invalid_nonce`, `transport: timeout`, a check).
    pub errors: BTreeMap<String, u64>,
    /// Completed flows.
    pub flows: u64,
    /// Items delivered (credentials, verdicts).
    pub items: u64,
}

impl Stats {
    /// Records one latency of `step`.
    pub(crate) fn time(&mut self, step: &'static str, d: Duration) {
        match self.steps.iter_mut().find(|(s, _)| *s == step) {
            Some((_, v)) => v.push(d),
            None => self.steps.push((step, vec![d])),
        }
    }

    /// Counts one failure.
    pub(crate) fn error(&mut self, key: String) {
        *self.errors.entry(key).or_default() += 1;
    }

    /// Adds another worker's figures.
    pub(crate) fn merge(&mut self, other: Stats) {
        for (step, v) in other.steps {
            match self.steps.iter_mut().find(|(s, _)| *s == step) {
                Some((_, mine)) => mine.extend(v),
                None => self.steps.push((step, v)),
            }
        }
        for (k, n) in other.errors {
            *self.errors.entry(k).or_default() += n;
        }
        self.flows += other.flows;
        self.items += other.items;
    }
}

/// The nearest-rank percentile, `permille` / 1000.
fn percentile(sorted: &[Duration], permille: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * permille).div_ceil(1000);
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The report of one run.
pub(crate) struct Summary<'a> {
    /// `issuer` or `verifier`.
    pub kind: &'static str,
    /// What one item is (`credentials`, `verdicts`).
    pub unit: &'static str,
    /// Wallets.
    pub wallets: usize,
    /// Wall time of the measured run.
    pub wall: Duration,
    /// Merged figures.
    pub stats: &'a mut Stats,
    /// CPU.
    pub cpu: &'a Measured,
    /// The charged server processes.
    pub pids: &'a [u32],
    /// Print JSON lines instead of text.
    pub json: bool,
}

impl Summary<'_> {
    /// Prints the summary; returns items per server CPU-second.
    pub(crate) fn print(&mut self) -> f64 {
        let wall = self.wall.as_secs_f64();
        let per_cpu = if self.cpu.servers > 0.0 { self.stats.items as f64 / self.cpu.servers } else { f64::NAN };
        let throughput = self.stats.items as f64 / wall;
        let errors: u64 = self.stats.errors.values().sum();
        let k = self.kind;
        let mut lines: Vec<(String, String, f64, &str)> = vec![
            (
                format!("load.{k}.{}_per_server_cpu_s", self.unit),
                format!("{} per server CPU-second", self.unit),
                per_cpu,
                "",
            ),
            (format!("load.{k}.{}_per_s", self.unit), format!("{} per second (wall)", self.unit), throughput, "/s"),
            (format!("load.{k}.{}", self.unit), format!("{} delivered", self.unit), self.stats.items as f64, ""),
            (format!("load.{k}.flows"), "flows completed".into(), self.stats.flows as f64, ""),
            (format!("load.{k}.errors"), "failed flows".into(), errors as f64, ""),
            (format!("load.{k}.wall_s"), "wall time".into(), wall, "s"),
            (format!("load.{k}.server_cpu_s"), format!("server CPU (pids {:?})", self.pids), self.cpu.servers, "s"),
            (format!("load.{k}.server_cores"), "server CPU / wall".into(), self.cpu.servers / wall, "cores"),
            (format!("load.{k}.loadgen_cpu_s"), "load generator CPU".into(), self.cpu.own, "s"),
        ];
        for (name, secs, count) in &self.cpu.named {
            lines.push((format!("load.{k}.cpu_of.{name}_s"), format!("CPU of {count} `{name}` processes"), *secs, "s"));
            if self.cpu.servers + secs > 0.0 {
                lines.push((
                    format!("load.{k}.cpu_of.{name}_share"),
                    format!("`{name}` share of (server + {name}) CPU"),
                    secs / (self.cpu.servers + secs),
                    "",
                ));
            }
        }
        for (step, v) in &mut self.stats.steps {
            v.sort_unstable();
            for (label, p) in [("p50", 500), ("p95", 950), ("p99", 990)] {
                lines.push((
                    format!("load.{k}.latency.{step}.{label}_ms"),
                    format!("{step} {label}"),
                    ms(percentile(v, p)),
                    "ms",
                ));
            }
        }
        if self.json {
            for (name, _, value, unit) in &lines {
                let v = serde_json::json!({"name": name, "value": value, "unit": unit});
                println!("{v}");
            }
            for (key, n) in &self.stats.errors {
                println!("{}", serde_json::json!({"name": format!("load.{k}.error"), "key": key, "value": n}));
            }
        } else {
            println!("load {k}: {} wallets, {:.1} s", self.wallets, wall);
            for (_, label, value, unit) in &lines {
                println!("  {label:<44} {value:>12.2} {unit}");
            }
            if self.stats.errors.is_empty() {
                println!("  errors by code: none");
            } else {
                println!("  errors by code:");
                for (key, n) in &self.stats.errors {
                    println!("    {key:<42} {n:>12}");
                }
            }
        }
        per_cpu
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 500), Duration::from_millis(50));
        assert_eq!(percentile(&v, 990), Duration::from_millis(99));
        assert_eq!(percentile(&v[..1], 990), Duration::from_millis(1));
        assert_eq!(percentile(&[], 500), Duration::ZERO);
    }
}
