//! Serving the router's connections (HTTP/1.1), in place of `axum::serve`,
//! which runs hyper without a timer (the gateway's `serve.rs` does the same).
//!
//! A client must send a request's head within
//! [`crate::EmulatorConfig::head_timeout`] ([`HEAD_TIMEOUT`], 30 s): a client that trickles
//! its headers or opens a connection and sends nothing does not hold the
//! connection, its task and its buffers for ever. At most
//! [`MAX_CONNECTIONS`] connections are served at once; more wait in the
//! kernel's accept queue until one closes. On the stop signal no new
//! connection is accepted, idle ones are closed, and each busy one finishes
//! its request in flight first.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// Connections served at once at most, unless configured otherwise
/// ([`crate::EmulatorConfig::max_connections`]).
pub const MAX_CONNECTIONS: usize = 10_000;

/// The time a client has to send a request's head, unless configured
/// otherwise ([`crate::EmulatorConfig::head_timeout`]).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Serve `router` on `listener` until `signal`, then finish the requests
/// in flight. `max_connections` connections are served at once at most.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    head_timeout: Duration,
    max_connections: usize,
    signal: impl Future<Output = ()> + Send + 'static,
) {
    let permits = Arc::new(Semaphore::new(max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(head_timeout);
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
        let _ = stream.set_nodelay(true);
        let service = router
            .clone()
            .map_request(|req: hyper::Request<Incoming>| req.map(Body::new));
        let connection = graceful
            .watch(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
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
