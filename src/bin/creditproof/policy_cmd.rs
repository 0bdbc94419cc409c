//! `policy show` and `policy diff`: a published policy in readable form,
//! and what changed between two versions.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use creditproof::policy::{describe, diff, read_policy_token_unverified, verify_policy_token, Policy};
use creditproof::{Limits, TrustStore};

use crate::files::{read_bounded, CliError, MAX_FILE};
use crate::http_client::Http;
use crate::{lib_err, read_policy};

/// `creditproof policy ...`.
#[derive(Subcommand)]
pub(crate) enum PolicyCmd {
    /// Print a policy in plain words: its id, version and SHA-256, the
    /// scale, every rule, tier and perk, and the dispute period.
    Show {
        /// A policy JSON file, a shipped policy's id, a signed policy token
        /// file, or the URL of an issuer's published version
        /// (`…/policies/ID/VERSION`).
        policy: String,
        /// Issuer metadata to check a signed policy against (repeatable);
        /// without it a signed policy's signature is not checked (its hash
        /// always is).
        #[arg(long)]
        trust: Vec<std::path::PathBuf>,
    },
    /// Print what changed from one policy version to another (`-` only in
    /// OLD, `+` only in NEW, `~` changed), or that they are the same
    /// document.
    Diff {
        /// The older policy (file, shipped id, token file or URL).
        old: String,
        /// The newer policy (file, shipped id, token file or URL).
        new: String,
    },
}

/// Runs `policy show` or `policy diff`.
pub(crate) fn run(cmd: PolicyCmd) -> Result<ExitCode, CliError> {
    let limits = Limits::default();
    match cmd {
        PolicyCmd::Show { policy, trust } => {
            let mut store = None;
            if !trust.is_empty() {
                let mut s = TrustStore::new();
                for t in &trust {
                    s.add_metadata(&read_bounded(t, MAX_FILE)?, &limits).map_err(lib_err(t))?;
                }
                store = Some(s);
            }
            let (p, signed) = load(&policy, store.as_ref(), &limits)?;
            if let Some(note) = signed {
                println!("{note}");
            }
            print!("{}", describe(&p));
            Ok(ExitCode::SUCCESS)
        }
        PolicyCmd::Diff { old, new } => {
            let (a, _) = load(&old, None, &limits)?;
            let (b, _) = load(&new, None, &limits)?;
            let lines = diff(&a, &b);
            if lines.is_empty() {
                println!("the same policy: {}@{} sha256 {}", a.id(), a.version(), a.sha256());
                return Ok(ExitCode::SUCCESS);
            }
            for l in &lines {
                println!("{l}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Reads a policy from a file, a shipped id, a signed token or a URL.
/// Returns it and, for a signed token, a line saying who signed it.
fn load(arg: &str, trust: Option<&TrustStore>, limits: &Limits) -> Result<(Policy, Option<String>), CliError> {
    let bytes = if arg.starts_with("http://") || arg.starts_with("https://") {
        let answer = Http::new(Duration::from_secs(10)).get(arg, "application/jwt, application/json", MAX_FILE)?;
        if answer.status != 200 {
            return Err(CliError(format!("{arg}: HTTP {}", answer.status)));
        }
        answer.body
    } else if Path::new(arg).exists() {
        read_bounded(Path::new(arg), MAX_FILE)?
    } else {
        return read_policy(Path::new(arg), limits).map(|(p, _)| (p, None));
    };
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim();
    if text.starts_with('{') {
        let p = Policy::from_json_slice(text.as_bytes(), limits.max_policy_bytes())
            .map_err(|e| CliError(format!("{arg}: {e}")))?;
        return Ok((p, None));
    }
    let (iss, p) = match trust {
        Some(t) => {
            let (iss, p) = verify_policy_token(text, t, limits).map_err(|e| CliError(format!("{arg}: {e}")))?;
            (format!("signed by {iss} (signature checked)"), p)
        }
        None => {
            let (iss, p) = read_policy_token_unverified(text, limits).map_err(|e| CliError(format!("{arg}: {e}")))?;
            (format!("published by {iss} (hash checked; signature not checked: give --trust)"), p)
        }
    };
    Ok((p, Some(iss)))
}
