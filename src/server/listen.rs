//! The socket side, shared by every service: the accept loop (HTTP/1.1,
//! bounded headers, a header read timeout, a connection limit), the layers
//! every router gets, and the graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::Router;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::routes::router;
use super::IssuerService;

/// The most bytes of a request head (request line and headers).
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The most header fields of a request.
const MAX_HEADERS: usize = 64;
/// How often expired offers and grants are dropped from the store.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// What every service shares at the socket and around its router: the
/// request timeout (408) and the header read timeout, how many requests
/// run at once and how many connections stay open, and how long a
/// shutdown waits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HttpSettings {
    pub(crate) request_timeout: Duration,
    pub(crate) header_timeout: Duration,
    pub(crate) max_concurrent_requests: usize,
    pub(crate) max_connections: usize,
    pub(crate) shutdown_grace: Duration,
}

impl Default for HttpSettings {
    /// 30 s per request, 10 s to send the headers, 64 requests at once,
    /// 1024 connections, 30 s to finish in-flight requests at shutdown.
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            max_concurrent_requests: 64,
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

impl HttpSettings {
    pub(crate) fn check(&self) -> Result<(), String> {
        let secs = |d: Duration| d.as_secs();
        if !(1..=600).contains(&secs(self.request_timeout)) || !(1..=120).contains(&secs(self.header_timeout)) {
            return Err("the request timeout must be 1 to 600 s, the header timeout 1 to 120 s".into());
        }
        if !(1..=4096).contains(&self.max_concurrent_requests) || !(1..=65_536).contains(&self.max_connections) {
            return Err("1 to 4096 concurrent requests, 1 to 65536 connections".into());
        }
        Ok(())
    }

    /// The layers every service's router gets, innermost first: gzip, the
    /// concurrency limit, the request timeout (408). Body limits are per
    /// route (in the handlers, 413); logs and metrics wrap these.
    pub(crate) fn layer<S: Clone + Send + Sync + 'static>(&self, router: Router<S>) -> Router<S> {
        router
            .layer(CompressionLayer::new())
            .layer(GlobalConcurrencyLimitLayer::new(self.max_concurrent_requests))
            .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, self.request_timeout))
    }
}

/// Serves `service` on `listener` until `shutdown` completes, then stops
/// accepting, lets the requests in flight finish (within the configured
/// grace period) and returns. Nothing a request committed is lost: every
/// change is an SQLite transaction, committed before its response is sent.
pub async fn serve(
    listener: TcpListener,
    service: Arc<IssuerService>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let settings = service.config.http;
    let app = router(service.clone());
    let pruning = tokio::spawn(async move {
        let mut every = tokio::time::interval(PRUNE_EVERY);
        loop {
            every.tick().await;
            let s = service.clone();
            match tokio::task::spawn_blocking(move || s.prune(crate::format::time::UnixTime::now())).await {
                Ok(Ok(n)) if n > 0 => tracing::info!(records = n, "expired offers and grants dropped"),
                Ok(Err(e)) => tracing::warn!(error = %e, "pruning expired offers failed"),
                _ => {}
            }
        }
    });
    let served = serve_app(listener, app, &settings, shutdown).await;
    pruning.abort();
    served
}

/// The accept loop of every service: HTTP/1.1 connections to `app`, with
/// bounded heads, a header read timeout and a connection limit, until
/// `shutdown` completes; then the requests in flight get the grace period.
pub(crate) async fn serve_app(
    listener: TcpListener,
    app: Router,
    settings: &HttpSettings,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let connections = Arc::new(Semaphore::new(settings.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = connections.clone().try_acquire_owned() else {
                    tracing::warn!("connection limit reached; connection refused");
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
                let watched = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = watched.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    drop(permit);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!(connections = graceful.count(), "shutting down: finishing requests in flight");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(settings.shutdown_grace) => tracing::warn!("grace period over; remaining connections dropped"),
    }
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}
