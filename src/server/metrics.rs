//! The services' Prometheus metrics, hand-rolled: a few counters and one
//! latency histogram per route, rendered in the text exposition format at
//! `GET /metrics`. Labels are route patterns, error codes and check names
//! only: never a path with an offer or transaction id, never personal
//! data.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// A latency histogram (cumulative buckets, as Prometheus wants them).
#[derive(Default)]
pub(crate) struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    pub(crate) fn observe(&mut self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
    }

    /// The histogram's lines under `name`, with `labels` (`key="value"`
    /// pairs, comma-separated, or empty) on each.
    pub(crate) fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, n) in BUCKETS.iter().zip(self.counts.iter()) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A counter's `# HELP` and `# TYPE` lines and its value.
pub(crate) fn counter(out: &mut String, name: &str, help: &str, v: u64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
}

/// What every service counts of its HTTP traffic: requests by route
/// pattern and status, their latency, and error responses by code.
#[derive(Default)]
pub(crate) struct HttpMetrics {
    errors: Mutex<BTreeMap<String, u64>>,
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

impl HttpMetrics {
    /// Counts an error answered with error code `code`.
    pub(crate) fn error(&self, code: &str) {
        *lock(&self.errors).entry(code.to_owned()).or_default() += 1;
    }

    /// Records one request to `route` (a pattern) answered with `status`
    /// after `elapsed`.
    pub(crate) fn request(&self, route: &str, status: u16, elapsed: Duration) {
        *lock(&self.requests).entry((route.to_owned(), status)).or_default() += 1;
        lock(&self.latency).entry(route.to_owned()).or_default().observe(elapsed);
    }

    /// The text exposition of these metrics.
    pub(crate) fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP creditproof_oauth_errors_total Error responses by OAuth error code.\n# TYPE creditproof_oauth_errors_total counter"
        );
        for (code, n) in lock(&self.errors).iter() {
            let _ = writeln!(out, "creditproof_oauth_errors_total{{error=\"{code}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP creditproof_http_requests_total HTTP requests by route and status.\n# TYPE creditproof_http_requests_total counter"
        );
        for ((route, status), n) in lock(&self.requests).iter() {
            let _ = writeln!(out, "creditproof_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
        }
        let name = "creditproof_http_request_duration_seconds";
        let _ = writeln!(out, "# HELP {name} Request latency by route.\n# TYPE {name} histogram");
        for (route, h) in lock(&self.latency).iter() {
            h.render(out, name, &format!("route=\"{route}\""));
        }
    }
}

/// The issuer service's counters, and its HTTP metrics.
#[derive(Default)]
pub(crate) struct Metrics {
    issued: AtomicU64,
    offers: AtomicU64,
    status_signed: AtomicU64,
    http: HttpMetrics,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("issued", &self.issued.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

impl Metrics {
    /// Counts `n` issued credentials.
    pub(crate) fn issued(&self, n: usize) {
        self.issued.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Counts one offer made.
    pub(crate) fn offer(&self) {
        self.offers.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one status list token signed.
    pub(crate) fn status_signed(&self) {
        self.status_signed.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an error answered with OAuth error code `code`.
    pub(crate) fn error(&self, code: &str) {
        self.http.error(code);
    }

    /// Records one request to `route` (a pattern) answered with `status`
    /// after `elapsed`.
    pub(crate) fn request(&self, route: &str, status: u16, elapsed: Duration) {
        self.http.request(route, status, elapsed);
    }

    /// How many credentials were issued.
    pub(crate) fn issued_total(&self) -> u64 {
        self.issued.load(Ordering::Relaxed)
    }

    /// The text exposition format.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        counter(&mut out, "creditproof_credentials_issued_total", "Credentials issued.", self.issued_total());
        counter(
            &mut out,
            "creditproof_offers_total",
            "Credential offers made by this service.",
            self.offers.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "creditproof_status_lists_signed_total",
            "Status list tokens signed.",
            self.status_signed.load(Ordering::Relaxed),
        );
        self.http.render(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.issued(16);
        m.error("invalid_grant");
        m.request("/token", 200, Duration::from_millis(3));
        m.request("/token", 400, Duration::from_secs(20));
        let text = m.render();
        assert!(text.contains("creditproof_credentials_issued_total 16"));
        assert!(text.contains("creditproof_oauth_errors_total{error=\"invalid_grant\"} 1"));
        assert!(text.contains("creditproof_http_requests_total{route=\"/token\",status=\"400\"} 1"));
        assert!(text.contains("creditproof_http_request_duration_seconds_bucket{route=\"/token\",le=\"0.005\"} 1"));
        assert!(text.contains("creditproof_http_request_duration_seconds_bucket{route=\"/token\",le=\"+Inf\"} 2"));
    }
}
