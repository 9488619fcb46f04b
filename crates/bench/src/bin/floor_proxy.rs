//! The forwarding benchmark's floor (`cargo xtask bench forwarding`): the
//! least a proxy built on the gateway's own HTTP stack can do, to show
//! what that stack costs against nginx on the same machine at the same
//! moment.
//!
//! It is hyper (the server axum runs on) and hyper-util's client (the one
//! reqwest runs on), nothing else: no routing, no session, no limits, no
//! logging. Every request is sent on to `UPSTREAM` (host:port) with the
//! bearer token `TOKEN` put in, and the upstream's answer is sent back.
//! With `JOURNAL=<file>` each request also appends a line to that file,
//! which is on disk (`fdatasync`) before the answer goes out: one writer
//! thread takes every line queued while its last sync ran (group commit),
//! the cheapest way there is to keep a durable record per request.
//!
//! Not part of the product: the gateway never runs this; only the
//! benchmark starts it, listening on `LISTEN` (127.0.0.1:port).

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::oneshot;

type Upstream = Client<HttpConnector, Full<Bytes>>;

/// Lines waiting for the writer, each with the request waiting for it.
#[derive(Default)]
struct Journal {
    queue: Mutex<Vec<(String, oneshot::Sender<()>)>>,
    queued: Condvar,
}

impl Journal {
    /// Start the writer thread on `path` (appended to).
    fn open(path: &str) -> std::io::Result<Arc<Journal>> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let journal = Arc::new(Journal::default());
        let writer = journal.clone();
        std::thread::spawn(move || loop {
            let batch = {
                let mut queue = writer.queue.lock().unwrap_or_else(|p| p.into_inner());
                while queue.is_empty() {
                    queue = writer.queued.wait(queue).unwrap_or_else(|p| p.into_inner());
                }
                std::mem::take(&mut *queue)
            };
            let text: String = batch.iter().map(|(line, _)| line.as_str()).collect();
            if let Err(e) = file
                .write_all(text.as_bytes())
                .and_then(|()| file.sync_data())
            {
                // Waiters see their sender dropped and answer 500.
                eprintln!("journal: {e}");
                continue;
            }
            for (_, done) in batch {
                let _ = done.send(());
            }
        });
        Ok(journal)
    }

    /// Queue `line`; the receiver resolves once it is on disk.
    fn append(&self, line: String) -> oneshot::Receiver<()> {
        let (done, on_disk) = oneshot::channel();
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((line, done));
        self.queued.notify_one();
        on_disk
    }
}

fn answer(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// Forward one request (its body is not read: the benchmark sends GETs).
async fn forward(
    req: Request<Incoming>,
    upstream: Upstream,
    host: Arc<str>,
    bearer: Arc<str>,
    journal: Option<Arc<Journal>>,
) -> Response<Full<Bytes>> {
    let (parts, _body) = req.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let on_disk = journal
        .as_ref()
        .map(|j| j.append(format!("{} {}\n", parts.method, path)));
    let Ok(uri) = format!("http://{host}{path}").parse::<hyper::Uri>() else {
        return answer(StatusCode::BAD_REQUEST);
    };
    let Ok(request) = Request::builder()
        .method(parts.method)
        .uri(uri)
        .header(hyper::header::HOST, &*host)
        .header(hyper::header::AUTHORIZATION, &*bearer)
        .body(Full::new(Bytes::new()))
    else {
        return answer(StatusCode::BAD_REQUEST);
    };
    let Ok(response) = upstream.request(request).await else {
        return answer(StatusCode::BAD_GATEWAY);
    };
    let (parts, body) = response.into_parts();
    let Ok(body) = body.collect().await else {
        return answer(StatusCode::BAD_GATEWAY);
    };
    if let Some(on_disk) = on_disk {
        if on_disk.await.is_err() {
            return answer(StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
    Response::from_parts(parts, Full::new(body.to_bytes()))
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!("floor-proxy: set {name} (see the module documentation)");
        std::process::exit(2)
    })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listen = env("LISTEN");
    let host: Arc<str> = env("UPSTREAM").into();
    let bearer: Arc<str> = format!("Bearer {}", env("TOKEN")).into();
    let journal = match std::env::var("JOURNAL") {
        Ok(path) => Some(Journal::open(&path)?),
        Err(_) => None,
    };
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let upstream: Upstream = Client::builder(TokioExecutor::new()).build(connector);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (upstream, host, bearer, journal) = (
            upstream.clone(),
            host.clone(),
            bearer.clone(),
            journal.clone(),
        );
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let answer = forward(
                    req,
                    upstream.clone(),
                    host.clone(),
                    bearer.clone(),
                    journal.clone(),
                );
                async move { Ok::<_, std::convert::Infallible>(answer.await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
