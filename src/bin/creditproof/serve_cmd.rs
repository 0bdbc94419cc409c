//! `creditproof serve issuer`: the issuer service over an issuer
//! directory. Arguments, files, the runtime and the signals only; the
//! service itself is `creditproof::server`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Subcommand;
use creditproof::oid4vci::Oid4vciConfig;
use creditproof::server::{serve, shutdown_signal, AdminToken, IssuerService, IssuerSource, ServiceConfig};
use creditproof::{Issuer, UnixTime};

use crate::files::{check_private, read_text, CliError};
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
        /// Open secret files even if others can read them.
        #[arg(long)]
        allow_insecure_permissions: bool,
    },
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

pub(crate) fn run(cmd: ServeCmd) -> Result<ExitCode, CliError> {
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
        allow_insecure_permissions: insecure,
    } = cmd;
    tracing_subscriber::fmt()
        .with_max_level(log_level)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    // Fail before binding if the directory is not an issuer's.
    state::load_issuer(&dir, insecure)?;
    drop(state::open_registry(&dir, insecure)?);
    let mut config = ServiceConfig::new(&public_url, &state::registry_path(&dir), &state::store_path(&dir))
        .with_oid4vci(Oid4vciConfig::default().with_batch_size(usize::from(batch_size)))
        .with_status_timing(status_ttl_secs, status_validity_secs)
        .with_timeouts(Duration::from_secs(request_timeout_secs), Duration::from_secs(header_timeout_secs))
        .with_limits(max_concurrent_requests, 1024)
        .with_shutdown_grace(Duration::from_secs(shutdown_grace_secs));
    if let Some(path) = &admin_token_file {
        config = config.with_admin_token(read_admin_token(path, insecure)?);
    }
    let source = Box::new(DirSource { dir: dir.clone(), insecure });
    let service = IssuerService::new(config, source).map_err(|e| CliError(format!("{}: {e}", dir.display())))?;
    for uri in service.unserved_lists().map_err(CliError)? {
        tracing::warn!(%uri, "status list outside the public URL: not served here (publish it with `issuer status-list`)");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
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
