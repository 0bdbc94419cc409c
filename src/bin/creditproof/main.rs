//! `creditproof`: issue, hold, present and verify privacy-preserving credit
//! credentials from the command line. Run `creditproof demo` for the story.
//!
//! Arguments and files only; every decision lives in the library. One file
//! per role's subcommands (`issuer_cmd`, `holder_cmd`, `verifier_cmd`, with
//! the issuer's registry commands in `registry_cmd`), shared file handling
//! in `files`, the on-disk issuer and wallet state in `state`, and in
//! `deliver` how a batch is issued into a file so that no failure leaves a
//! batch recorded that the holder never got. The network: `serve_cmd`
//! (`serve issuer`, `serve verifier`), `offer_cmd` (`issuer offer`),
//! `receive_cmd` (`holder receive`), `respond_cmd` (`holder respond`) and
//! `ask_cmd` (`verifier ask`, `verifier result`) over the bounded client of
//! `http_client`, and `demo_http` (`demo --over-http`: the issuer's side in
//! one process over loopback).

mod ask_cmd;
mod bulk_offer;
mod deliver;
mod demo;
mod demo_http;
mod dispute_cmd;
mod files;
mod holder_cmd;
mod http_client;
mod issuer_cmd;
mod offer_cmd;
mod policy_cmd;
mod progress;
mod receive_cmd;
mod registry_cmd;
mod respond_cmd;
mod serve_cmd;
mod state;
mod verifier_cmd;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use clap::{Args, CommandFactory as _, Parser, Subcommand};
use creditproof::policy::Policy;
use creditproof::{Algorithm, Limits, PresentationRequest, UnixTime};

use files::{read_bounded, CliError, MAX_FILE};
use holder_cmd::HolderCmd;
use issuer_cmd::IssuerCmd;
use verifier_cmd::{SdJwtCmd, VerifierCmd};

#[derive(Parser)]
#[command(
    name = "creditproof",
    version,
    about = "Privacy-preserving credit attestation: prove one fact, reveal nothing else"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole story on built-in defaults (no files needed).
    Demo(DemoArgs),
    /// Scoring authority: keys, credentials.
    #[command(subcommand)]
    Issuer(IssuerCmd),
    /// Holder: a wallet of keys and credentials.
    #[command(subcommand)]
    Holder(HolderCmd),
    /// Verifier: requests and verdicts.
    #[command(subcommand)]
    Verifier(VerifierCmd),
    /// Any issuer's RFC 9901 SD-JWT, outside the score-credential profile.
    #[command(subcommand, name = "sd-jwt")]
    SdJwt(SdJwtCmd),
    /// Run a service: `serve issuer` (OpenID4VCI, status lists, back
    /// office) or `serve verifier` (OpenID4VP, for a relying party).
    #[command(subcommand)]
    Serve(serve_cmd::ServeCmd),
    /// Published scoring policies: `policy show` prints one in plain
    /// words, `policy diff` what changed between two versions.
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCmd),
}

pub(crate) fn parse_alg(s: &str) -> Result<Algorithm, String> {
    s.parse().map_err(|e: creditproof::Error| e.to_string())
}

/// Value parser of every option whose value is an identifier, thumbprint,
/// key id, index, nonce or other base64url value. Such values begin with `-`
/// about once in 64, so these options take `allow_hyphen_values`: `--holder
/// -Xy…` works like `--holder=-Xy…`. The price is that an option whose value
/// was forgotten would take the next option as its value (`--holder --reason
/// x`); a value spelled exactly like one of this program's options is
/// therefore refused as that mistake. No real value looks like one.
pub(crate) fn id_value(s: &str) -> Result<String, String> {
    if let Some(name) = s.strip_prefix("--") {
        let name = name.split_once('=').map_or(name, |(n, _)| n);
        if long_options().contains(name) {
            return Err(format!("`{s}` is an option, not a value: the value is missing"));
        }
    }
    Ok(s.to_owned())
}

/// Every long option name of every subcommand, and `help` and `version`.
fn long_options() -> BTreeSet<String> {
    fn walk(cmd: &clap::Command, out: &mut BTreeSet<String>) {
        out.extend(cmd.get_arguments().filter_map(clap::Arg::get_long).map(str::to_owned));
        cmd.get_subcommands().for_each(|c| walk(c, out));
    }
    let mut out = BTreeSet::from(["help".to_owned(), "version".to_owned()]);
    walk(&Cli::command(), &mut out);
    out
}

#[derive(Args)]
struct DemoArgs {
    /// The same story over loopback HTTP: the issuer service on 127.0.0.1
    /// (a temporary issuer directory), its back office, a wallet receiving
    /// over OpenID4VCI, status lists fetched by the verifiers.
    #[arg(long)]
    over_http: bool,
}

#[derive(Args)]
pub(crate) struct Force {
    /// Overwrite an existing file.
    #[arg(long)]
    pub(crate) force: bool,
}

/// `--registry`: where the issuer registry lives.
#[derive(Args, Clone, Default)]
pub(crate) struct RegistryArg {
    /// The issuer registry in PostgreSQL (postgres://USER@HOST:PORT/DB),
    /// shared by several issuer nodes. Default: the database `issuer init
    /// --registry` recorded in the directory, else its registry.sqlite.
    #[arg(long, value_name = "URL")]
    pub(crate) registry: Option<String>,
}

#[derive(Args)]
pub(crate) struct Insecure {
    /// Open secret files even if others can read them.
    #[arg(long)]
    pub(crate) allow_insecure_permissions: bool,
}

/// The exit status of a process that wrote to a pipe nobody reads (128 +
/// SIGPIPE), as `cat` or `seq` report it.
const EXIT_BROKEN_PIPE: i32 = 141;

/// `creditproof issuer history | head`: when the reader goes away, Rust's
/// `println!` panics on the broken pipe. Exit quietly instead, with the
/// status a shell expects of a command cut off by its reader. Every state
/// change is saved before anything is printed, so nothing is lost, and
/// temporary directories registered with [`remove_on_broken_pipe`] are
/// removed first.
/// Temporary directories (`demo --over-http`'s issuer) that an exit on a
/// broken pipe removes; their owners remove them on every other path.
static REMOVE_ON_EXIT: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Has `dir` removed if the process exits on a broken pipe.
pub(crate) fn remove_on_broken_pipe(dir: &Path) {
    if let Ok(mut dirs) = REMOVE_ON_EXIT.lock() {
        dirs.push(dir.to_owned());
    }
}

fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if msg.starts_with("failed printing to std") && msg.contains("Broken pipe") {
            // Exiting skips every destructor: remove what they would have.
            if let Ok(dirs) = REMOVE_ON_EXIT.lock() {
                for dir in dirs.iter() {
                    let _ = std::fs::remove_dir_all(dir);
                }
            }
            std::process::exit(EXIT_BROKEN_PIPE);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(CliError(msg)) => {
            eprintln!("creditproof: {}", msg.lines().next().unwrap_or_default());
            ExitCode::from(2)
        }
    }
}

pub(crate) fn time(now: Option<u64>) -> UnixTime {
    now.map_or_else(UnixTime::now, UnixTime)
}

pub(crate) fn lib_err(path: &Path) -> impl Fn(creditproof::Error) -> CliError + '_ {
    move |e| CliError::from((path, e))
}

fn run(cmd: Command) -> Result<ExitCode, CliError> {
    match cmd {
        Command::Demo(DemoArgs { over_http: false }) => demo::run().map(|()| ExitCode::SUCCESS),
        Command::Demo(DemoArgs { over_http: true }) => demo_http::run().map(|()| ExitCode::SUCCESS),
        Command::Issuer(c) => issuer_cmd::run(c),
        Command::Holder(c) => holder_cmd::run(c),
        Command::Verifier(c) => verifier_cmd::run(c),
        Command::SdJwt(c) => verifier_cmd::run_sd_jwt(c),
        Command::Serve(c) => serve_cmd::run(c),
        Command::Policy(c) => policy_cmd::run(c),
    }
}

/// Help of every `--policy` option that scores or checks a grid.
pub(crate) const POLICY_HELP: &str =
    "Scoring policy: a JSON file, or the id of a shipped policy (civic-1300, sesame-style, suining-2013)";

/// Help of every `--records` option.
pub(crate) const RECORDS_HELP: &str = "The holder's own records: a JSON array (see --help for the format)";

/// Long help of every `--records` option: the records format, which is
/// otherwise only in the `policy` module's documentation.
pub(crate) const RECORDS_LONG_HELP: &str = "The holder's own records: a JSON array, one object per record:

  [{\"kind\": \"repayment_on_time\", \"date\": \"2024-03-15\", \"reference\": \"card-03\"},
   {\"kind\": \"judgement_settled\", \"date\": \"2024-04-30\", \"reference\": \"court-117\",
    \"evidence\": \"receipt 2024/88\"}]

kind: one of the policy's rules; date: YYYY-MM-DD, not after the scoring date; reference: \
the issuer's own reference, unique in the file (disputes name it); evidence: optional. There \
is no field for another person, and unknown fields are refused. Every shipped policy has \
sample records in the repository, policies/examples/records-ID.json.";

/// Reads `--policy`: a policy file, or, when no file of that name exists
/// and the value is a bare name, the shipped policy with that id
/// (`--policy sesame-style`). Returns the policy and the bytes it was read
/// from (an issuer keeps them for corrections).
pub(crate) fn read_policy(arg: &Path, limits: &Limits) -> Result<(Policy, Vec<u8>), CliError> {
    let missing = matches!(std::fs::symlink_metadata(arg), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
    let bare = missing && arg.components().count() == 1 && arg.file_name().is_some();
    let shipped =
        arg.to_str().filter(|_| bare).and_then(|id| creditproof::policy::SHIPPED.iter().find(|(name, _)| *name == id));
    let bytes = match shipped {
        Some((_, json)) => json.as_bytes().to_vec(),
        None if bare => {
            let ids: Vec<&str> = creditproof::policy::SHIPPED.iter().map(|(id, _)| *id).collect();
            return Err((arg, format!("no such file, nor a shipped policy ({})", ids.join(", "))).into());
        }
        None => read_bounded(arg, MAX_FILE)?,
    };
    let policy = Policy::from_json_slice(&bytes, limits.max_policy_bytes()).map_err(|e| CliError::from((arg, e)))?;
    Ok((policy, bytes))
}

/// Reads a verifier's request file (holder and verifier commands).
pub(crate) fn read_request(path: &Path, limits: &Limits) -> Result<PresentationRequest, CliError> {
    let bytes = read_bounded(path, MAX_FILE)?;
    PresentationRequest::from_json(&bytes, limits).map_err(lib_err(path))
}
