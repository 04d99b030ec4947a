//! The HTTP listener of `adk-sessions serve`, with the limits one client must not be able
//! to exhaust: a connection that has not sent a complete request head within
//! `header_timeout` (one that sends nothing, or a header a byte a second) is closed, an
//! idle keep-alive connection too; at most `max_connections` are served at once (more are
//! closed at accept, with a warning); bodies and handlers are bounded by the router's own
//! body limit and request timeout. With TLS, the handshake runs on the connection's own
//! task and must also finish within `header_timeout`. On shutdown, in-flight requests
//! finish (up to `drain`), then connections close.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1::Builder;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// The limits of [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest wait for a complete request head (also how long an idle keep-alive
    /// connection is kept).
    pub header_timeout: Duration,
    /// Most connections served at once.
    pub max_connections: usize,
    /// Longest wait for in-flight requests at shutdown.
    pub drain: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, within `limits`; over TLS when
/// `tls` is given (HTTPS), else plain HTTP.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    // HTTP/1.1 only: hyper's header-read timer runs whenever the connection waits for a
    // request head — from the first byte of a new connection and between keep-alive
    // requests — so silent, trickling and idle connections are all closed by it. (The
    // auto-detecting HTTP/1+2 builder reads the first bytes without any timer.)
    let mut builder = Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, max = limits.max_connections, "connection refused: too many open connections");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let watcher = graceful.watcher();
        let (app, builder, tls) = (app.clone(), builder.clone(), tls.clone());
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, app, &builder, watcher, peer).await,
                Some(acceptor) => {
                    match tokio::time::timeout(limits.header_timeout, acceptor.accept(stream)).await
                    {
                        Ok(Ok(stream)) => {
                            serve_connection(stream, app, &builder, watcher, peer).await
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(drain = ?limits.drain, "in-flight requests still running at shutdown; closing them");
    }
}

/// Serves HTTP/1.1 on one accepted connection (plain or TLS) until it closes or the
/// server shuts down.
async fn serve_connection<S>(
    stream: S,
    app: Router,
    builder: &Builder,
    watcher: Watcher,
    peer: std::net::SocketAddr,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(app);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(%peer, error = %e, "connection closed");
    }
}
