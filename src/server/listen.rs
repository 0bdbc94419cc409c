//! The socket side: the accept loop (HTTP/1.1, bounded headers, a header
//! read timeout, a connection limit) and the graceful shutdown.

use std::future::Future;
use std::sync::Arc;

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

/// Serves `service` on `listener` until `shutdown` completes, then stops
/// accepting, lets the requests in flight finish (within the configured
/// grace period) and returns. Nothing a request committed is lost: every
/// change is an SQLite transaction, committed before its response is sent.
pub async fn serve(
    listener: TcpListener,
    service: Arc<IssuerService>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let grace = service.config.shutdown_grace;
    let header_timeout = service.config.header_timeout;
    let connections = Arc::new(Semaphore::new(service.config.max_connections));
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
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
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
    pruning.abort();
    tracing::info!(connections = graceful.count(), "shutting down: finishing requests in flight");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(grace) => tracing::warn!("grace period over; remaining connections dropped"),
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
