//! Serving an axum router's connections (HTTP/1.1), in place of
//! `axum::serve`, which runs hyper without a timer: the one way the
//! gateway (its app and its metrics listener) and the Podero emulator
//! listen.
//!
//! A client must send a request's head within [`Limits::head_timeout`]
//! (default [`HEAD_TIMEOUT`], 30 s): a client that trickles its headers
//! ("slowloris") or opens a connection and sends nothing does not hold the
//! connection, its task and its buffers for ever; the same limit closes a
//! kept-alive connection left idle that long. A write to the client that
//! makes no progress for [`Limits::write_timeout`] (default
//! [`WRITE_TIMEOUT`], 30 s) closes the connection: a client that asks for
//! a large answer (an export, the app's files) and never reads it would
//! otherwise hold its connection, and with enough of them every
//! connection there is. A slow client whose writes progress is not cut.
//! At most
//! [`Limits::max_connections`] (default [`MAX_CONNECTIONS`]) connections
//! are served at once; more wait in the kernel's accept queue until one
//! closes. Each request carries the peer's address as axum's
//! `ConnectInfo<SocketAddr>`. On the stop signal no new connection is
//! accepted, idle ones are closed, and each busy one finishes its request
//! in flight first.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_io_timeout::TimeoutStream;
use tower::ServiceExt;

/// Connections served at once at most, by default.
pub const MAX_CONNECTIONS: usize = 10_000;

/// The time a client has to send a request's head, by default (hyper's
/// own default when it has a timer).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// The time one write to a client may make no progress, by default.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// What one listener allows its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The time a client has to send a request's head.
    pub head_timeout: Duration,
    /// The time one write to a client may make no progress.
    pub write_timeout: Duration,
    /// Connections served at once at most (at least one).
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            head_timeout: HEAD_TIMEOUT,
            write_timeout: WRITE_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

/// Serve `router` on `listener` within `limits` until `signal`, then
/// finish the requests in flight.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.head_timeout);
    let mut signal = std::pin::pin!(signal);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break, // never closed
            },
            () = &mut signal => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut signal => break,
        };
        // Answers are written whole; Nagle's delay would only hold back a
        // small one.
        let _ = stream.set_nodelay(true);
        let mut stream = TimeoutStream::new(stream);
        stream.set_write_timeout(Some(limits.write_timeout));
        let service = router
            .clone()
            .map_request(move |req: hyper::Request<Incoming>| {
                let mut req = req.map(Body::new);
                req.extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(remote));
                req
            });
        let connection = graceful.watch(http.serve_connection(
            TokioIo::new(Box::pin(stream)),
            TowerToHyperService::new(service),
        ));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // A client gone or too slow with its head: nothing to do.
                tracing::debug!("connection from {remote}: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// After a failed `accept`: a connection that failed before it was taken
/// is the client's business; anything else (no file descriptors left) is
/// logged, and accepting waits a moment rather than spin.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!("could not accept a connection: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
