//! The web wallet's static site (`creditproof serve wallet`, issue 19).
//!
//! The pages, styles and script of `web/wallet/` are embedded in the
//! binary; the WebAssembly module and its `wasm-bindgen` glue are read
//! once at start from a directory (`web/run.sh` builds them: they are a
//! build product of the `wasm/` member, not of this crate). Every answer
//! carries a strict Content-Security-Policy: the site's own script and
//! the module only (`'wasm-unsafe-eval'` to instantiate it), no inline
//! script, fetches only to https and loopback http (the issuer and the
//! verifier), no framing.

use std::path::Path;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use super::listen::{serve_app, HttpSettings};

const INDEX: &str = include_str!("../../web/wallet/index.html");
const SCRIPT: &str = include_str!("../../web/wallet/wallet.js");
const CHART: &str = include_str!("../../web/wallet/chart.js");
const STORE: &str = include_str!("../../web/wallet/store.js");
const STYLE: &str = include_str!("../../web/wallet/wallet.css");

/// The wallet's Content-Security-Policy.
pub const WALLET_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
                              img-src 'self' data:; connect-src 'self' https: http://127.0.0.1:* \
                              http://localhost:*; base-uri 'none'; form-action 'none'; \
                              frame-ancestors 'none'";

/// The most bytes of the WebAssembly module and of its glue.
const MAX_MODULE_BYTES: u64 = 8 * 1024 * 1024;

/// The `wasm-bindgen` output the wallet loads: `creditproof_wasm.js` and
/// `creditproof_wasm_bg.wasm`.
#[derive(Clone)]
pub struct WalletModule {
    glue: Arc<Vec<u8>>,
    wasm: Arc<Vec<u8>>,
}

impl std::fmt::Debug for WalletModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletModule").field("wasm_bytes", &self.wasm.len()).finish_non_exhaustive()
    }
}

impl WalletModule {
    /// Reads the module and its glue from `dir` (`wasm-bindgen --target
    /// web --out-name creditproof_wasm` output).
    pub fn from_dir(dir: &Path) -> Result<Self, String> {
        let read = |name: &str| -> Result<Vec<u8>, String> {
            let path = dir.join(name);
            let meta = std::fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            if meta.len() > MAX_MODULE_BYTES {
                return Err(format!("{}: larger than {MAX_MODULE_BYTES} bytes", path.display()));
            }
            std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
        };
        let glue = read("creditproof_wasm.js")?;
        let wasm = read("creditproof_wasm_bg.wasm")?;
        if !wasm.starts_with(b"\0asm") {
            return Err(format!("{}: not a WebAssembly module", dir.join("creditproof_wasm_bg.wasm").display()));
        }
        Ok(Self { glue: Arc::new(glue), wasm: Arc::new(wasm) })
    }
}

fn answer(content_type: &'static str, body: impl IntoResponse) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(WALLET_CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    r
}

/// The wallet's routes: `/` (redirects to `/wallet/`), `/wallet/` and its
/// files.
pub fn wallet_router(module: WalletModule) -> Router {
    let html = || async { answer("text/html; charset=utf-8", INDEX) };
    Router::new()
        .route("/", get(|| async { axum::response::Redirect::to("/wallet/") }))
        .route("/wallet/", get(html))
        .route("/wallet/wallet.js", get(|| async { answer("text/javascript; charset=utf-8", SCRIPT) }))
        .route("/wallet/chart.js", get(|| async { answer("text/javascript; charset=utf-8", CHART) }))
        .route("/wallet/store.js", get(|| async { answer("text/javascript; charset=utf-8", STORE) }))
        .route("/wallet/wallet.css", get(|| async { answer("text/css; charset=utf-8", STYLE) }))
        .route(
            "/wallet/pkg/creditproof_wasm.js",
            get(|State(m): State<WalletModule>| async move {
                answer("text/javascript; charset=utf-8", m.glue.as_ref().clone())
            }),
        )
        .route(
            "/wallet/pkg/creditproof_wasm_bg.wasm",
            get(|State(m): State<WalletModule>| async move { answer("application/wasm", m.wasm.as_ref().clone()) }),
        )
        .fallback(|| async { super::http::not_found() })
        .with_state(module)
}

/// Serves the wallet on `listener` until `shutdown` completes, with the
/// services' HTTP limits (gzip included).
pub async fn serve_wallet(
    listener: TcpListener,
    module: WalletModule,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let settings = HttpSettings::default();
    let app = settings.layer(wallet_router(module));
    serve_app(listener, app, &settings, shutdown).await
}
