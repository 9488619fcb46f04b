//! Serving the router's connections (HTTP/1.1), in place of `axum::serve`,
//! which runs hyper without a timer.
//!
//! A client must send a request's head within the head time limit
//! ([`crate::configuration::Config::head_timeout`], 30 s): a client that
//! trickles its headers ("slowloris") or opens a connection and sends
//! nothing no longer holds the connection, its task and its buffers for
//! ever. At most [`MAX_CONNECTIONS`] connections are served at once; more
//! wait in the kernel's accept queue until one closes. On the stop signal
//! no new connection is accepted, idle ones are closed, and each busy one
//! finishes its request in flight first.

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
use tower::ServiceExt;

/// Connections served at once at most.
pub const MAX_CONNECTIONS: usize = 10_000;

/// Serve `router` on `listener` until `signal`, then finish the requests
/// in flight.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    head_timeout: Duration,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
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
        // Answers are written whole; Nagle's delay would only hold back a
        // small one.
        let _ = stream.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |req: hyper::Request<Incoming>| {
                let mut req = req.map(Body::new);
                req.extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(remote));
                req
            });
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
