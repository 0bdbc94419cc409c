//! `creditproof-bench load issuer|verifier`: load generators for the two
//! services over real HTTP (feature `load`).
//!
//! ```sh
//! cargo run --release -p creditproof-bench -- load issuer --url http://127.0.0.1:8443 \
//!     --admin-token-file admin.token --wallets 8 --duration 30
//! cargo run --release -p creditproof-bench -- load verifier --url http://127.0.0.1:8444 \
//!     --api-token-file api.token --issuer-url http://127.0.0.1:8443 \
//!     --admin-token-file admin.token --wallets 8 --duration 30
//! ```
//!
//! Each of `--wallets` threads is one wallet that runs the whole flow
//! again and again until `--duration` seconds have passed, with the
//! library's own sans-IO protocol steps (`creditproof::oid4vci`,
//! `creditproof::oid4vp`) over a keep-alive HTTP/1.1 client (ureq):
//!
//! - **issuer**: the back office makes an offer (`POST /admin/offers`,
//!   policy + records, scored by the service), the wallet resolves it,
//!   redeems the code (`/token`), fetches a nonce and asks for a batch of
//!   `--batch` credentials with one proof of possession each, and checks
//!   and stores every credential it gets (against the issuer's published
//!   keys, as `holder receive` does).
//! - **verifier**: each wallet first receives one batch from the issuer
//!   service (`--issuer-url`); then the relying party creates a
//!   transaction (`POST /transactions`), the wallet fetches the request
//!   object, answers with a presentation (`direct_post`; credentials are
//!   reused, which the verifier cannot tell), and the relying party reads
//!   the verdict. After the run, the same presentations are verified
//!   in-process (`Verifier::verify` and `Verifier::verify_batch`, one
//!   thread, the status list loaded) to compare.
//!
//! Printed: throughput, p50/p95/p99 latency of each step and of the whole
//! flow, errors by HTTP status and OAuth error code (or the library's
//! check), and the CPU seconds the server processes used during the run
//! (`/proc/<pid>/stat` utime + stime; `--server-pid`, repeatable, or the
//! process listening on each `--url`'s port). The headline is credentials
//! (or verdicts) per server CPU-second, which stays comparable when the
//! machine is shared: the load generator's own CPU is reported apart.

pub(crate) mod cpu;
mod http;
mod issuer;
mod stats;
mod verifier;

use std::path::PathBuf;
use std::time::Duration;

use crate::BoxError;

const USAGE: &str =
    "usage:\n  creditproof-bench load issuer --url URL [--url URL2 ...] --admin-token-file FILE\n      \
    [--wallets N] [--duration SECS] [--batch N] [--server-pid PID ...] [--cpu-of NAME ...] [--json]\n  \
    creditproof-bench load verifier --url URL --api-token-file FILE --issuer-url URL --admin-token-file FILE\n      \
    [--wallets N] [--duration SECS] [--predicate P] [--server-pid PID ...] [--cpu-of NAME ...] [--json]\n\
    --url: the service (repeatable for several issuer nodes: wallet i uses url i mod n);\n\
    --server-pid: the server process(es) to charge (default: the process listening on each --url's port);\n\
    --cpu-of: also report the CPU of every process with this name (e.g. postgres)";

/// The options of both generators.
#[derive(Debug)]
pub(crate) struct Options {
    /// The service URLs.
    pub urls: Vec<String>,
    /// Concurrent wallets.
    pub wallets: usize,
    /// How long the measured run lasts.
    pub duration: Duration,
    /// Credentials per credential request.
    pub batch: usize,
    /// The back office's token file (issuer).
    pub admin_token_file: Option<PathBuf>,
    /// The backend API's token file (verifier).
    pub api_token_file: Option<PathBuf>,
    /// The issuer service the verifier's wallets receive from.
    pub issuer_url: Option<String>,
    /// The predicate the relying party asks for.
    pub predicate: String,
    /// Server processes to charge.
    pub server_pids: Vec<u32>,
    /// Other processes (by name) whose CPU is reported.
    pub cpu_of: Vec<String>,
    /// One JSON object per figure instead of text.
    pub json: bool,
}

fn parse(args: &[String]) -> Result<Options, BoxError> {
    let mut o = Options {
        urls: Vec::new(),
        wallets: 8,
        duration: Duration::from_secs(30),
        batch: 16,
        admin_token_file: None,
        api_token_file: None,
        issuer_url: None,
        predicate: "score>=650".into(),
        server_pids: Vec::new(),
        cpu_of: Vec::new(),
        json: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{a} needs a value\n{USAGE}"));
        match a.as_str() {
            "--url" => o.urls.push(value()?.trim_end_matches('/').to_owned()),
            "--wallets" => o.wallets = value()?.parse().map_err(|_| "--wallets: a number")?,
            "--duration" => o.duration = Duration::from_secs(value()?.parse().map_err(|_| "--duration: seconds")?),
            "--batch" => o.batch = value()?.parse().map_err(|_| "--batch: a number")?,
            "--admin-token-file" => o.admin_token_file = Some(value()?.into()),
            "--api-token-file" => o.api_token_file = Some(value()?.into()),
            "--issuer-url" => o.issuer_url = Some(value()?.trim_end_matches('/').to_owned()),
            "--predicate" => o.predicate = value()?,
            "--server-pid" => o.server_pids.push(value()?.parse().map_err(|_| "--server-pid: a process id")?),
            "--cpu-of" => o.cpu_of.push(value()?),
            "--json" => o.json = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    if o.urls.is_empty() {
        return Err(format!("give --url\n{USAGE}").into());
    }
    if !(1..=1024).contains(&o.wallets) {
        return Err("--wallets: 1 to 1024".into());
    }
    if o.duration.is_zero() {
        return Err("--duration: at least one second".into());
    }
    if !(1..=64).contains(&o.batch) {
        return Err("--batch: 1 to 64".into());
    }
    Ok(o)
}

/// Reads a bearer token file (trimmed).
fn token(path: Option<&PathBuf>, flag: &str) -> Result<String, BoxError> {
    let path = path.ok_or_else(|| format!("give {flag}\n{USAGE}"))?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text.trim().to_owned())
}

/// Runs `load <issuer|verifier> ...`.
pub(crate) fn main(args: &[String]) -> Result<(), BoxError> {
    match args.first().map(String::as_str) {
        Some("issuer") => {
            let o = parse(&args[1..])?;
            let admin = token(o.admin_token_file.as_ref(), "--admin-token-file")?;
            issuer::run(&o, &admin)
        }
        Some("verifier") => {
            let o = parse(&args[1..])?;
            let api = token(o.api_token_file.as_ref(), "--api-token-file")?;
            let admin = token(o.admin_token_file.as_ref(), "--admin-token-file")?;
            verifier::run(&o, &api, &admin)
        }
        _ => Err(USAGE.into()),
    }
}
