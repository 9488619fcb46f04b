//! A client that asks for a large answer and never reads it loses its
//! connection once a write has made no progress for the write time limit,
//! so it cannot keep the connection (here the only one allowed) for ever.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use axum::routing::get;
use axum::Router;

/// Far more than the kernel's socket buffers on both ends hold.
const BIG: usize = 64 << 20;

/// Serve `router` on a free port with a 300 ms write limit and at most
/// `max_connections` connections; its address.
async fn start(router: Router, max_connections: usize) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = serve::Limits {
        write_timeout: Duration::from_millis(300),
        max_connections,
        ..serve::Limits::default()
    };
    tokio::spawn(serve::serve(
        listener,
        router,
        limits,
        std::future::pending(),
    ));
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_loses_its_connection() {
    let router = Router::new()
        .route("/big", get(|| async { vec![b'x'; BIG] }))
        .route("/small", get(|| async { "small" }));
    let addr = start(router, 1).await;

    let answer = tokio::task::spawn_blocking(move || {
        // Asks for the big answer and never reads it.
        let mut stalled = TcpStream::connect(addr).unwrap();
        stalled
            .write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        // Served only once the first connection is given up.
        let mut next = TcpStream::connect(addr).unwrap();
        next.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        next.write_all(b"GET /small HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        let read = next.read_to_string(&mut answer);
        drop(stalled);
        read.map(|_| answer)
    })
    .await
    .unwrap()
    .expect("the second client is answered within 20 s (its read timed out)");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("small"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_gets_the_whole_answer() {
    const SIZE: usize = 4 << 20;
    let router = Router::new().route("/big", get(|| async { vec![b'x'; SIZE] }));
    let addr = start(router, serve::MAX_CONNECTIONS).await;

    let received = tokio::task::spawn_blocking(move || {
        let mut client = TcpStream::connect(addr).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        client
            .write_all(b"GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .unwrap();
        // A reader slower than the server: 256 KiB, then a pause a third
        // of the limit long (the client's pace, not a synchronisation), so
        // the server's writes keep waiting for room but each makes
        // progress within the limit.
        let mut total = 0;
        let mut buf = vec![0u8; 256 << 10];
        loop {
            match client.read(&mut buf) {
                Ok(0) => break total,
                Ok(n) => total += n,
                Err(e) => panic!("read after {total} bytes: {e}"),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await
    .unwrap();
    assert!(received > SIZE, "got {received} bytes");
}
