//! `creditproof serve issuer` (the issuer service over an issuer
//! directory) and `creditproof serve verifier` (the OpenID4VP verifier
//! service). Arguments, files, the runtime and the signals only; the
//! services themselves are `creditproof::server` and
//! `creditproof::server::verifier`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Subcommand;
use creditproof::oid4vci::Oid4vciConfig;
use creditproof::oid4vp::RequestSigner;
use creditproof::server::verifier::{TrustedIssuer, VerifierConfig, VerifierService, Webhook};
use creditproof::server::{serve, shutdown_signal, AdminToken, IssuerService, IssuerSource, ServiceConfig};
use creditproof::{Issuer, IssuerMetadata, Limits, UnixTime};

use crate::files::{check_private, read_bounded, read_text, CliError, MAX_FILE};
use crate::http_client::Http;
use crate::state;

#[derive(Subcommand)]
pub(crate) enum ServeCmd {
    /// The issuer service: OpenID4VCI (pre-authorized code, batch
    /// issuance), status lists, and the back-office API.
    ///
    /// Prints `listening on http://ADDR` once it accepts connections; stops
    /// on SIGTERM or Ctrl-C after finishing the requests in flight.
    Issuer {
        /// Issuer directory (from `issuer init`).
        #[arg(long)]
        dir: PathBuf,
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0: any free port).
        #[arg(long)]
        listen: SocketAddr,
        /// The public URL wallets reach the service at: the issuer's
        /// identifier (`issuer init --iss`), https (http only to a loopback
        /// host). Behind a TLS-terminating proxy this is the proxy's URL.
        #[arg(long)]
        public_url: String,
        /// Credentials per credential request (`batch_credential_issuance.batch_size`), 1 to 64.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=64))]
        batch_size: u16,
        /// A file holding the back-office API's bearer token (owner-only,
        /// 32+ characters). Without it the back-office API is off.
        #[arg(long)]
        admin_token_file: Option<PathBuf>,
        /// Status list tokens' `ttl`, in seconds (Cache-Control max-age too).
        #[arg(long, default_value_t = 3600)]
        status_ttl_secs: u64,
        /// Status list tokens' validity (`exp` - `iat`), in seconds.
        #[arg(long, default_value_t = 86_400)]
        status_validity_secs: u64,
        /// Seconds one request may take (then 408).
        #[arg(long, default_value_t = 30)]
        request_timeout_secs: u64,
        /// Seconds a client may take to send its request headers.
        #[arg(long, default_value_t = 10)]
        header_timeout_secs: u64,
        /// Requests handled at once (more wait, within their timeout).
        #[arg(long, default_value_t = 64)]
        max_concurrent_requests: usize,
        /// Seconds a shutdown waits for requests in flight.
        #[arg(long, default_value_t = 30)]
        shutdown_grace_secs: u64,
        /// Log level: error, warn, info or debug.
        #[arg(long, default_value = "info")]
        log_level: tracing::Level,
        #[command(flatten)]
        registry: crate::RegistryArg,
        /// Open secret files even if others can read them.
        #[arg(long)]
        allow_insecure_permissions: bool,
    },
    /// The verifier service: OpenID4VP with DCQL for a relying party.
    ///
    /// A backend API (bearer token) creates transactions and reads their
    /// verdicts; wallets fetch the request object and post their response.
    /// Status lists are fetched from the issuers, cached per `ttl`. Prints
    /// `listening on http://ADDR` once it accepts connections; stops on
    /// SIGTERM or Ctrl-C after finishing the requests in flight.
    /// Transactions live in memory: one node, lost on restart.
    Verifier(VerifierArgs),
    /// The web wallet (issue 19): its pages, embedded in this binary, and
    /// the WebAssembly holder from `--module-dir` (built by `bash
    /// web/run.sh`, which also runs the browser demo). Prints `listening
    /// on http://ADDR`; open /wallet/.
    Wallet {
        /// Address to listen on, e.g. 127.0.0.1:8090 (port 0: any free port).
        #[arg(long)]
        listen: SocketAddr,
        /// The `wasm-bindgen --target web` output: creditproof_wasm.js and
        /// creditproof_wasm_bg.wasm.
        #[arg(long)]
        module_dir: PathBuf,
    },
}

/// The client identifier prefix of `serve verifier`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ClientIdScheme {
    /// `redirect_uri:<public url>/response`: unsigned requests (wallets
    /// cannot authenticate the verifier; for development and pilots).
    #[value(name = "redirect_uri")]
    RedirectUri,
    /// `x509_san_dns:<DNS name>`: request objects signed with
    /// `--signing-key`, `x5c` from `--cert-chain`; the DNS name is the
    /// leaf's (first) DNS SAN and must be the `--public-url` host.
    #[value(name = "x509_san_dns")]
    X509SanDns,
}

/// Arguments of `serve verifier`.
#[derive(clap::Args)]
pub(crate) struct VerifierArgs {
    /// Address to listen on, e.g. 127.0.0.1:8081 (port 0: any free port).
    #[arg(long)]
    listen: SocketAddr,
    /// The public URL wallets reach the service at, https (http only to a
    /// loopback host); wallets post to `<URL>/response`, which is also the
    /// client identifier with `redirect_uri:`.
    #[arg(long)]
    public_url: String,
    /// An issuer to trust (repeatable): a metadata file (from `issuer
    /// public`), or an issuer identifier (https://…, or http to a loopback
    /// host) whose /.well-known/jwt-vc-issuer is fetched and refreshed.
    #[arg(long, required = true)]
    trust: Vec<String>,
    /// A file holding the backend API's bearer token (owner-only, 32+
    /// characters).
    #[arg(long)]
    api_token_file: PathBuf,
    /// The client identifier prefix.
    #[arg(long, value_enum, default_value = "redirect_uri")]
    client_id_scheme: ClientIdScheme,
    /// The request-signing key (x509_san_dns only): PKCS#8 PEM, P-256
    /// (ES256) or Ed25519 (EdDSA), owner-only; the leaf certificate's key.
    #[arg(long)]
    signing_key: Option<PathBuf>,
    /// The certificate chain (x509_san_dns only): PEM, leaf first, then
    /// intermediates (the root may be left out).
    #[arg(long)]
    cert_chain: Option<PathBuf>,
    /// Seconds a transaction waits for the wallet (30 to 3600).
    #[arg(long, default_value_t = 300)]
    transaction_lifetime_secs: u64,
    /// Seconds a verdict stays readable after its transaction expired.
    #[arg(long, default_value_t = 600)]
    transaction_retention_secs: u64,
    /// Transactions held at once (live and retained; more are refused
    /// with 503 `temporarily_unavailable`), 1 to 1000000. A node answers
    /// at most this many per (lifetime + retention) seconds.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_transactions: u64,
    /// The floor under a status list's `ttl`, in seconds (1 to 60; below
    /// 60 only for tests).
    #[arg(long, default_value_t = 60)]
    status_min_ttl_secs: u64,
    /// The most a status list counts after its `iat`, in seconds.
    #[arg(long, default_value_t = 3600)]
    status_max_age_secs: u64,
    /// Seconds between fetches of the metadata of issuers trusted by
    /// identifier.
    #[arg(long, default_value_t = 3600)]
    metadata_refresh_secs: u64,
    /// Accept credentials that carry no status (so cannot be revoked).
    #[arg(long)]
    allow_missing_status: bool,
    /// Where to POST every verdict, and every transaction that expires
    /// unanswered (https, or http to a loopback host).
    #[arg(long, requires = "webhook_secret_file")]
    webhook_url: Option<String>,
    /// A file holding the webhook's HMAC secret (owner-only, 32+ bytes).
    #[arg(long, requires = "webhook_url")]
    webhook_secret_file: Option<PathBuf>,
    /// Seconds each outgoing fetch (status list, metadata, webhook) may take.
    #[arg(long, default_value_t = 10)]
    fetch_timeout_secs: u64,
    /// Seconds one request may take (then 408); long polls wait 5 s less.
    #[arg(long, default_value_t = 30)]
    request_timeout_secs: u64,
    /// Seconds a client may take to send its request headers.
    #[arg(long, default_value_t = 10)]
    header_timeout_secs: u64,
    /// Requests handled at once (more wait, within their timeout).
    #[arg(long, default_value_t = 64)]
    max_concurrent_requests: usize,
    /// Seconds a shutdown waits for requests in flight.
    #[arg(long, default_value_t = 30)]
    shutdown_grace_secs: u64,
    /// Log level: error, warn, info or debug.
    #[arg(long, default_value = "info")]
    log_level: tracing::Level,
    /// Serve the rental-desk page at /desk/: a button that creates a
    /// transaction, its link as a QR code and a same-device link, and the
    /// verdict in plain words. Not behind the API token: guard /desk/.
    #[arg(long)]
    desk: bool,
    /// What the desk asks (repeatable; default: score>=650).
    #[arg(long, value_name = "PREDICATE", requires = "desk")]
    desk_predicate: Vec<String>,
    /// Open secret files even if others can read them.
    #[arg(long)]
    allow_insecure_permissions: bool,
}

/// The issuer of an issuer directory, re-read when `issuer.json` changes
/// (a key rotation by `issuer rotate-key` reaches the running service).
pub(crate) struct DirSource {
    pub(crate) dir: PathBuf,
    pub(crate) insecure: bool,
}

impl IssuerSource for DirSource {
    fn load(&self, now: UnixTime) -> Result<Issuer, String> {
        state::load_issuer_at(&self.dir, self.insecure, now).map_err(|e| e.0)
    }

    fn version(&self) -> u64 {
        state::issuer_file_version(&self.dir)
    }
}

fn init_logs(level: tracing::Level) {
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError(format!("cannot start the runtime: {e}")))
}

pub(crate) fn run(cmd: ServeCmd) -> Result<ExitCode, CliError> {
    let cmd = match cmd {
        ServeCmd::Verifier(args) => return run_verifier(args),
        ServeCmd::Wallet { listen, module_dir } => return run_wallet(listen, &module_dir),
        issuer => issuer,
    };
    let ServeCmd::Issuer {
        dir,
        listen,
        public_url,
        batch_size,
        admin_token_file,
        status_ttl_secs,
        status_validity_secs,
        request_timeout_secs,
        header_timeout_secs,
        max_concurrent_requests,
        shutdown_grace_secs,
        log_level,
        registry,
        allow_insecure_permissions: insecure,
    } = cmd
    else {
        return Err(CliError("not the issuer service".into()));
    };
    init_logs(log_level);
    // Fail before binding if the directory is not an issuer's.
    state::load_issuer(&dir, insecure)?;
    drop(state::open_registry(&dir, registry.registry.as_deref(), insecure)?);
    let location = state::registry_location(&dir, registry.registry.as_deref(), insecure)?;
    let mut config = ServiceConfig::new(&public_url, &state::registry_path(&dir), &state::store_path(&dir))
        .with_registry(location)
        .with_oid4vci(Oid4vciConfig::default().with_batch_size(usize::from(batch_size)))
        .with_status_timing(status_ttl_secs, status_validity_secs)
        .with_timeouts(Duration::from_secs(request_timeout_secs), Duration::from_secs(header_timeout_secs))
        .with_limits(max_concurrent_requests, 1024)
        .with_shutdown_grace(Duration::from_secs(shutdown_grace_secs))
        .with_policy_book(state::policy_book(&dir))
        .with_dispute_store(&crate::dispute_cmd::store_path(&dir));
    if let Some(path) = &admin_token_file {
        config = config.with_admin_token(read_admin_token(path, insecure)?);
    }
    let source = Box::new(DirSource { dir: dir.clone(), insecure });
    let service = IssuerService::new(config, source).map_err(|e| CliError(format!("{}: {e}", dir.display())))?;
    for uri in service.unserved_lists().map_err(CliError)? {
        tracing::warn!(%uri, "status list outside the public URL: not served here (publish it with `issuer status-list`)");
    }
    runtime()?.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(listen).await.map_err(|e| CliError(format!("--listen {listen}: {e}")))?;
        let bound = listener.local_addr().map_err(|e| CliError(format!("--listen {listen}: {e}")))?;
        let service = Arc::new(service);
        tracing::info!(%bound, public_url = service.public_url(), admin = admin_token_file.is_some(), "issuer service started");
        println!("listening on http://{bound}");
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        serve(listener, service, shutdown_signal()).await.map_err(|e| CliError(format!("serving: {e}")))
    })?;
    Ok(ExitCode::SUCCESS)
}

fn read_admin_token(path: &Path, insecure: bool) -> Result<AdminToken, CliError> {
    check_private(path, insecure)?;
    let text = zeroize::Zeroizing::new(read_text(path, 4096)?);
    AdminToken::new(&text).map_err(|e| CliError::from((path, e)))
}

/// An issuer to trust, from a `--trust` value: an identifier when it is a
/// URL, else a metadata file.
fn trusted_issuer(value: &str) -> Result<TrustedIssuer, CliError> {
    if value.starts_with("https://") || value.starts_with("http://") {
        return Ok(TrustedIssuer::Identifier(value.to_owned()));
    }
    let path = Path::new(value);
    let bytes = read_bounded(path, MAX_FILE)?;
    let metadata = IssuerMetadata::from_json(&bytes, &Limits::default()).map_err(|e| CliError::from((path, e)))?;
    Ok(TrustedIssuer::Metadata(metadata))
}

/// The request signer of `--signing-key` (a private file) and
/// `--cert-chain`: the key must be the leaf's, the leaf must name a DNS
/// host.
fn request_signer(key: &Path, chain: &Path, insecure: bool) -> Result<RequestSigner, CliError> {
    check_private(key, insecure)?;
    let key_pem = zeroize::Zeroizing::new(read_bounded(key, 64 * 1024)?);
    let chain_pem = read_bounded(chain, MAX_FILE)?;
    RequestSigner::from_pem(&key_pem, &chain_pem)
        .map_err(|e| CliError(format!("--signing-key {} with --cert-chain {}: {e}", key.display(), chain.display())))
}

fn run_verifier(a: VerifierArgs) -> Result<ExitCode, CliError> {
    let insecure = a.allow_insecure_permissions;
    let signer = match (a.client_id_scheme, &a.signing_key, &a.cert_chain) {
        (ClientIdScheme::X509SanDns, Some(key), Some(chain)) => Some(request_signer(key, chain, insecure)?),
        (ClientIdScheme::X509SanDns, _, _) => {
            return Err(CliError("--client-id-scheme x509_san_dns needs --signing-key and --cert-chain".into()))
        }
        (ClientIdScheme::RedirectUri, None, None) => None,
        (ClientIdScheme::RedirectUri, _, _) => {
            return Err(CliError(
                "--signing-key and --cert-chain are for --client-id-scheme x509_san_dns: redirect_uri requests \
                 are unsigned"
                    .into(),
            ))
        }
    };
    init_logs(a.log_level);
    let token = read_admin_token(&a.api_token_file, insecure)?;
    let trust = a.trust.iter().map(|t| trusted_issuer(t)).collect::<Result<Vec<_>, _>>()?;
    let mut config = VerifierConfig::new(&a.public_url, token, trust)
        .with_transaction_lifetime(a.transaction_lifetime_secs, a.transaction_retention_secs)
        .with_status_ttl_bounds(a.status_min_ttl_secs, a.status_max_age_secs)
        .with_metadata_refresh_secs(a.metadata_refresh_secs)
        .with_timeouts(Duration::from_secs(a.request_timeout_secs), Duration::from_secs(a.header_timeout_secs))
        .with_limits(a.max_concurrent_requests, 1024)
        .with_max_transactions(usize::try_from(a.max_transactions).unwrap_or(usize::MAX))
        .with_shutdown_grace(Duration::from_secs(a.shutdown_grace_secs));
    if a.allow_missing_status {
        config = config.allow_missing_status();
    }
    if a.desk {
        let predicates = if a.desk_predicate.is_empty() {
            creditproof::server::verifier::DEFAULT_DESK_PREDICATES.iter().map(|p| (*p).to_owned()).collect()
        } else {
            a.desk_predicate.clone()
        };
        config = config.with_desk(predicates);
    }
    if let Some(signer) = signer {
        config = config.with_request_signer(signer);
    }
    if let (Some(url), Some(path)) = (&a.webhook_url, &a.webhook_secret_file) {
        check_private(path, insecure)?;
        let secret = zeroize::Zeroizing::new(read_bounded(path, 4096)?);
        config = config.with_webhook(Webhook::new(url, &secret).map_err(|e| CliError::from((path.as_path(), e)))?);
    }
    let fetch = Arc::new(Http::new(Duration::from_secs(a.fetch_timeout_secs.clamp(1, 120))));
    let service = VerifierService::new(config, fetch).map_err(|e| CliError(format!("serve verifier: {e}")))?;
    for (issuer, e) in service.refresh_trust() {
        eprintln!("creditproof: warning: no keys yet for {issuer} ({e}); retrying every refresh period");
    }
    let listen = a.listen;
    runtime()?.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(listen).await.map_err(|e| CliError(format!("--listen {listen}: {e}")))?;
        let bound = listener.local_addr().map_err(|e| CliError(format!("--listen {listen}: {e}")))?;
        let service = Arc::new(service);
        tracing::info!(%bound, client_id = service.client_id(), "verifier service started");
        println!("listening on http://{bound}");
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        creditproof::server::verifier::serve(listener, service, shutdown_signal())
            .await
            .map_err(|e| CliError(format!("serving: {e}")))
    })?;
    Ok(ExitCode::SUCCESS)
}

fn run_wallet(listen: SocketAddr, module_dir: &Path) -> Result<ExitCode, CliError> {
    use creditproof::server::wallet_site::{serve_wallet, WalletModule};
    let module = WalletModule::from_dir(module_dir).map_err(CliError)?;
    runtime()?.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(listen).await.map_err(|e| CliError(format!("--listen {listen}: {e}")))?;
        let bound = listener.local_addr().map_err(|e| CliError(format!("--listen {listen}: {e}")))?;
        println!("listening on http://{bound}");
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        serve_wallet(listener, module, shutdown_signal()).await.map_err(|e| CliError(format!("serving: {e}")))
    })?;
    Ok(ExitCode::SUCCESS)
}
