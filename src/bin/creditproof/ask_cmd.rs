//! `creditproof verifier ask` and `creditproof verifier result`: the
//! relying party's side of the verifier service's backend API, over the
//! bounded client of `http_client`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{json, Map, Value};

use crate::files::{check_private, read_bounded, read_text, write_file, Access, CliError, MAX_FILE};
use crate::http_client::{Answer, Http};
use crate::{id_value, Insecure};

/// The most bytes of an API answer (a verdict with its disclosures).
const MAX_ANSWER: u64 = 1024 * 1024;
/// The longest one long poll asks for (the service may hold it less).
const POLL_SECS: u64 = 20;
/// `verifier result`'s exit status while the transaction is pending.
const EXIT_PENDING: u8 = 3;

/// Where the verifier service is and how to talk to it.
#[derive(Args)]
pub(crate) struct ServiceArgs {
    /// The verifier service's public URL (`serve verifier --public-url`).
    #[arg(long)]
    service: String,
    /// The file holding the backend API's bearer token.
    #[arg(long)]
    api_token_file: PathBuf,
    /// Seconds each HTTP request may take (a long poll gets this much more).
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
    #[command(flatten)]
    insecure: Insecure,
}

/// Arguments of `verifier ask`.
#[derive(Args)]
pub(crate) struct Ask {
    #[command(flatten)]
    service: ServiceArgs,
    /// A predicate the holder must prove, e.g. `score>=650` (Tier 2, range
    /// proof) or `perk:no_deposit_rental` (Tier 1) (repeatable).
    #[arg(long)]
    predicate: Vec<String>,
    /// A claim the holder must disclose (repeatable).
    #[arg(long)]
    disclose: Vec<String>,
    /// A raw DCQL query (JSON file) instead of --predicate and --disclose;
    /// the service checks it.
    #[arg(long, conflicts_with_all = ["predicate", "disclose"])]
    dcql: Option<PathBuf>,
    /// The issuer's published policy (a JSON file, or a shipped policy's id
    /// such as sesame-style): refuse `score` thresholds off its threshold
    /// grid, which holders' wallets refuse by default.
    #[arg(long, conflicts_with = "dcql")]
    policy: Option<PathBuf>,
    /// Put the whole request in the link (no request_uri, no negotiation).
    #[arg(long)]
    by_value: bool,
    /// Write the service's answer (id, link, request_uri, expiry) as JSON.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Arguments of `verifier result`.
#[derive(Args)]
pub(crate) struct Outcome {
    #[command(flatten)]
    service: ServiceArgs,
    /// The transaction id `verifier ask` printed.
    #[arg(long, allow_hyphen_values = true, value_parser = id_value)]
    transaction: String,
    /// Seconds to wait for the verdict (0: answer at once).
    #[arg(long, default_value_t = 0)]
    wait: u64,
}

impl ServiceArgs {
    fn http(&self, extra: Duration) -> Http {
        Http::new(Duration::from_secs(self.timeout_secs.clamp(1, 600)) + extra)
    }

    fn bearer(&self) -> Result<zeroize::Zeroizing<String>, CliError> {
        check_private(&self.api_token_file, self.insecure.allow_insecure_permissions)?;
        let text = zeroize::Zeroizing::new(read_text(&self.api_token_file, 4096)?);
        Ok(zeroize::Zeroizing::new(format!("Bearer {}", text.trim())))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.service.trim_end_matches('/'))
    }
}

/// The JSON body of a 2xx answer, or the service's error.
fn answer_json(url: &str, a: &Answer) -> Result<Map<String, Value>, CliError> {
    let v: Option<Value> = serde_json::from_slice(&a.body).ok();
    if !(200..300).contains(&a.status) {
        let why = v
            .as_ref()
            .map(|v| {
                format!("{} ({})", v["error_description"].as_str().unwrap_or(""), v["error"].as_str().unwrap_or(""))
            })
            .unwrap_or_default();
        return Err(CliError(format!("{url}: the service answered {}: {why}", a.status)));
    }
    match v {
        Some(Value::Object(m)) => Ok(m),
        _ => Err(CliError(format!("{url}: the answer is not a json object"))),
    }
}

pub(crate) fn ask(a: &Ask) -> Result<ExitCode, CliError> {
    let body = match &a.dcql {
        Some(path) => {
            let bytes = read_bounded(path, MAX_FILE)?;
            let query: Value =
                serde_json::from_slice(&bytes).map_err(|_| CliError::from((path.as_path(), "is not valid json")))?;
            json!({"dcql_query": query, "by_value": a.by_value})
        }
        None if a.predicate.is_empty() && a.disclose.is_empty() => {
            return Err(CliError("give --predicate or --disclose (repeatable), or --dcql".into()))
        }
        None => {
            let grid = crate::verifier_cmd::policy_grid(a.policy.as_deref(), &creditproof::Limits::default())?;
            for p in &a.predicate {
                crate::verifier_cmd::on_grid(p, grid.as_ref())?;
            }
            json!({"predicates": a.predicate, "disclose": a.disclose, "by_value": a.by_value})
        }
    };
    let s = &a.service;
    let bearer = s.bearer()?;
    let url = s.url("/transactions");
    let sent = s.http(Duration::ZERO).send(
        "POST",
        &url,
        &[("Authorization", bearer.as_str()), ("Content-Type", "application/json"), ("Accept", "application/json")],
        Some(body.to_string().as_bytes()),
        MAX_ANSWER,
    )?;
    let m = answer_json(&url, &sent)?;
    let (Some(id), Some(link)) =
        (m.get("id").and_then(Value::as_str), m.get("authorization_request").and_then(Value::as_str))
    else {
        return Err(CliError(format!("{url}: the answer has no id or authorization_request")));
    };
    if let Some(out) = &a.out {
        let text = serde_json::to_string_pretty(&Value::Object(m.clone())).unwrap_or_default();
        write_file(out, text.as_bytes(), Access::Public, true)?;
    }
    println!("{id}");
    println!("{link}");
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn result(r: &Outcome) -> Result<ExitCode, CliError> {
    let s = &r.service;
    let bearer = s.bearer()?;
    let http = s.http(Duration::from_secs(POLL_SECS));
    let url = s.url(&format!("/transactions/{}", r.transaction));
    let until = Instant::now() + Duration::from_secs(r.wait.min(86_400));
    loop {
        let left = until.saturating_duration_since(Instant::now()).as_secs().min(POLL_SECS);
        let sent = http.send(
            "GET",
            &format!("{url}?wait={left}"),
            &[("Authorization", bearer.as_str()), ("Accept", "application/json")],
            None,
            MAX_ANSWER,
        )?;
        let m = answer_json(&url, &sent)?;
        let state = m.get("state").and_then(Value::as_str).unwrap_or_default();
        if state == "pending" && Instant::now() < until {
            continue;
        }
        let (verdict, code) = as_verify_json(&r.transaction, &m);
        println!("{}", serde_json::to_string_pretty(&verdict).unwrap_or_default());
        return Ok(ExitCode::from(code));
    }
}

/// The service's answer in `verifier verify`'s shape, with the
/// transaction id, and the exit status: 0 accepted, 1 rejected or
/// expired, 3 pending.
fn as_verify_json(id: &str, m: &Map<String, Value>) -> (Value, u8) {
    let verdict = m.get("verdict").cloned().unwrap_or(Value::Null);
    let rejected = |check: &str, message: &str| {
        json!({"accepted": false, "issuer": null, "disclosed": {}, "proven": [],
               "error": {"check": check, "message": message}, "transaction": id})
    };
    match m.get("state").and_then(Value::as_str) {
        Some("accepted") => {
            let presentations = verdict["presentations"].as_object().cloned().unwrap_or_default();
            let all: Vec<&Value> = presentations.values().filter_map(Value::as_array).flatten().collect();
            let mut out = match all.as_slice() {
                [one] => (*one).clone(),
                _ => json!({"accepted": true, "presentations": presentations}),
            };
            out["tier"] = verdict["tier"].clone();
            out["transaction"] = json!(id);
            (out, 0)
        }
        Some("rejected") => {
            (rejected(verdict["check"].as_str().unwrap_or("unknown"), verdict["message"].as_str().unwrap_or("")), 1)
        }
        Some("expired") => (rejected("oid4vp.expired", "the transaction expired without a response"), 1),
        _ => (
            json!({"accepted": null, "state": "pending", "fetched": m.get("fetched").cloned().unwrap_or(json!(false)),
                   "transaction": id}),
            EXIT_PENDING,
        ),
    }
}
