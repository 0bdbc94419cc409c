//! The verifier service's metrics: transactions, verdicts by check, status
//! list readiness (cache hits, fetches), fetches by kind and outcome,
//! webhook deliveries, verification latency, and the HTTP metrics every
//! service has. Labels are check names and fixed words only.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::status::Ready;
use crate::server::metrics::{counter, lock, Histogram, HttpMetrics};

#[derive(Default)]
pub(crate) struct VerifierMetrics {
    pub(crate) http: HttpMetrics,
    transactions: AtomicU64,
    verdicts: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    lists: Mutex<BTreeMap<&'static str, u64>>,
    fetches: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    webhooks: Mutex<BTreeMap<&'static str, u64>>,
    verification: Mutex<Histogram>,
}

impl std::fmt::Debug for VerifierMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierMetrics").finish_non_exhaustive()
    }
}

impl VerifierMetrics {
    pub(crate) fn transaction(&self) {
        self.transactions.fetch_add(1, Ordering::Relaxed);
    }

    /// A verdict: `accepted`, or `rejected` with its check.
    pub(crate) fn verdict(&self, check: Option<&'static str>, elapsed: Duration) {
        let key = match check {
            None => ("accepted", "none"),
            Some(c) => ("rejected", c),
        };
        *lock(&self.verdicts).entry(key).or_default() += 1;
        lock(&self.verification).observe(elapsed);
    }

    /// How a status list a verification needed was made ready.
    pub(crate) fn status_list(&self, ready: Ready) {
        let label = match ready {
            Ready::Hit => "hit",
            Ready::Fetched => "fetched",
            Ready::Unavailable => "unavailable",
        };
        *lock(&self.lists).entry(label).or_default() += 1;
    }

    /// One outgoing fetch of `kind` (`status_list`, `issuer_metadata`).
    pub(crate) fn fetch(&self, kind: &'static str, ok: bool) {
        *lock(&self.fetches).entry((kind, if ok { "ok" } else { "error" })).or_default() += 1;
    }

    /// One webhook delivery attempt's outcome.
    pub(crate) fn webhook(&self, ok: bool) {
        *lock(&self.webhooks).entry(if ok { "delivered" } else { "failed" }).or_default() += 1;
    }

    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        counter(
            &mut out,
            "creditproof_verifier_transactions_total",
            "Transactions created.",
            self.transactions.load(Ordering::Relaxed),
        );
        let name = "creditproof_verifier_verdicts_total";
        let _ = writeln!(out, "# HELP {name} Verdicts by outcome and failed check.\n# TYPE {name} counter");
        for ((verdict, check), n) in lock(&self.verdicts).iter() {
            let _ = writeln!(out, "{name}{{verdict=\"{verdict}\",check=\"{check}\"}} {n}");
        }
        let name = "creditproof_verifier_status_lists_total";
        let _ = writeln!(
            out,
            "# HELP {name} Status lists verifications needed, by how they were had (hit: cached and fresh).\n# TYPE {name} counter"
        );
        for (how, n) in lock(&self.lists).iter() {
            let _ = writeln!(out, "{name}{{result=\"{how}\"}} {n}");
        }
        let name = "creditproof_verifier_fetches_total";
        let _ = writeln!(out, "# HELP {name} Outgoing fetches by kind and outcome.\n# TYPE {name} counter");
        for ((kind, outcome), n) in lock(&self.fetches).iter() {
            let _ = writeln!(out, "{name}{{kind=\"{kind}\",outcome=\"{outcome}\"}} {n}");
        }
        let name = "creditproof_verifier_webhooks_total";
        let _ = writeln!(out, "# HELP {name} Webhook delivery attempts by outcome.\n# TYPE {name} counter");
        for (outcome, n) in lock(&self.webhooks).iter() {
            let _ = writeln!(out, "{name}{{outcome=\"{outcome}\"}} {n}");
        }
        let name = "creditproof_verifier_verification_seconds";
        let _ = writeln!(out, "# HELP {name} Time to check a response.\n# TYPE {name} histogram");
        lock(&self.verification).render(&mut out, name, "");
        self.http.render(&mut out);
        out
    }
}
