//! The HTTP client towards Podero and the forwarding of one API call.
//!
//! One pooled `reqwest` client (rustls, connect and request timeouts) is
//! shared by the token manager and the forwarding. [`Upstream::forward`]
//! sends an already-checked call (the allow-list lives in
//! [`crate::routes::proxy`]) with only allow-listed request headers plus
//! `Authorization: Bearer <token>`, retries once with a renewed token after a
//! `401`, and maps transport failures to [`GatewayError`]s that name the
//! cause (connection refused, timeout...) without any credential.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderName, Method, StatusCode};
use axum::response::Response;

use crate::error::GatewayError;
use crate::token::TokenManager;

/// Request headers copied from the browser to Podero; everything else
/// (cookies, the browser's `Authorization`, `Host`, hop-by-hop headers...)
/// stays behind.
pub const FORWARDED_REQUEST_HEADERS: [HeaderName; 3] = [
    header::ACCEPT,
    header::CONTENT_TYPE,
    header::ACCEPT_LANGUAGE,
];

/// Build the shared client.
pub fn http_client(
    connect_timeout: Duration,
    request_timeout: Duration,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .timeout(request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "podero-backoffice-gateway/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
}

/// Map a `reqwest` send error to a gateway error naming the root cause.
pub(crate) fn map_send_error(e: reqwest::Error, base_url: &str, timeout: Duration) -> GatewayError {
    if e.is_timeout() {
        return GatewayError::UpstreamTimeout {
            base_url: base_url.to_string(),
            timeout_secs: timeout.as_secs_f64(),
        };
    }
    // The innermost cause is the useful part ("Connection refused (os error
    // 111)", "dns error: ..."); the outer ones repeat the URL.
    let mut cause: &dyn std::error::Error = &e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    let cause = if e.is_connect() {
        format!("connection failed: {cause}")
    } else {
        cause.to_string()
    };
    GatewayError::UpstreamUnreachable {
        base_url: base_url.to_string(),
        cause,
    }
}

/// Podero as the gateway sees it.
#[derive(Debug)]
pub struct Upstream {
    http: reqwest::Client,
    base_url: String,
    request_timeout: Duration,
    tokens: TokenManager,
}

impl Upstream {
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        request_timeout: Duration,
        tokens: TokenManager,
    ) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            request_timeout,
            tokens,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn tokens(&self) -> &TokenManager {
        &self.tokens
    }

    /// Send `method path_and_query` (starting with `/api/`) with the
    /// organisation's bearer token, renewing it once after a `401`.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<reqwest::Response, GatewayError> {
        let url = format!("{}{}", self.base_url, path_and_query);
        let mut token = self.tokens.token().await?;
        let mut retried = false;
        let response = loop {
            let response = self
                .http
                .request(method.clone(), &url)
                .headers(headers.clone())
                .bearer_auth(token.expose())
                .body(body.clone())
                .send()
                .await
                .map_err(|e| map_send_error(e, &self.base_url, self.request_timeout))?;
            if response.status() == StatusCode::UNAUTHORIZED && !retried {
                retried = true;
                token = self.tokens.renew_after_rejection(&token).await?;
                continue;
            }
            break response;
        };
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(GatewayError::UpstreamBadResponse(
                "Podero rejected a freshly issued access token".into(),
            ));
        }
        Ok(response)
    }

    /// `GET path_and_query` asking for JSON; any status but 2xx is an
    /// error naming it.
    async fn get_ok(&self, path_and_query: &str) -> Result<reqwest::Response, GatewayError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, "application/json".parse().expect("header"));
        let response = self
            .send(Method::GET, path_and_query, headers, Bytes::new())
            .await?;
        let status = response.status();
        if !status.is_success() {
            return Err(GatewayError::UpstreamBadResponse(format!(
                "HTTP {status} for GET {}",
                path_and_query.split('?').next().unwrap_or_default()
            )));
        }
        Ok(response)
    }

    /// `GET path_and_query` and decode the JSON answer (small bodies).
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path_and_query: &str,
    ) -> Result<T, GatewayError> {
        let bytes = self
            .get_ok(path_and_query)
            .await?
            .bytes()
            .await
            .map_err(|e| map_send_error(e, &self.base_url, self.request_timeout))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            GatewayError::UpstreamBadResponse(format!("unreadable JSON from GET: {e}"))
        })
    }

    /// `GET path_and_query`, parsing the JSON answer **while it arrives**
    /// (the body is never held whole: chunks go through a small channel to
    /// a blocking parser task) and then handing the value to `then` on the
    /// same blocking task. For the organisation's user list, which is tens
    /// of megabytes at fleet scale.
    pub async fn get_json_streamed<T, R>(
        &self,
        path_and_query: &str,
        then: impl FnOnce(T) -> R + Send + 'static,
    ) -> Result<R, GatewayError>
    where
        T: serde::de::DeserializeOwned,
        R: Send + 'static,
    {
        use futures::StreamExt;
        let response = self.get_ok(path_and_query).await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(32);
        let parser = tokio::task::spawn_blocking(move || {
            let reader = std::io::BufReader::with_capacity(
                64 * 1024,
                ChannelReader {
                    rx,
                    chunk: Bytes::new(),
                },
            );
            serde_json::from_reader::<_, T>(reader).map(then)
        });
        let mut body = response.bytes_stream();
        let mut transport_error = None;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(chunk) => {
                    if tx.send(chunk).await.is_err() {
                        break; // the parser stopped early (bad JSON)
                    }
                }
                Err(e) => {
                    transport_error = Some(map_send_error(e, &self.base_url, self.request_timeout));
                    break;
                }
            }
        }
        drop(tx);
        let parsed = parser
            .await
            .map_err(|e| GatewayError::UpstreamBadResponse(format!("parser failed: {e}")))?;
        if let Some(e) = transport_error {
            return Err(e);
        }
        parsed.map_err(|e| {
            GatewayError::UpstreamBadResponse(format!("unreadable JSON from GET: {e}"))
        })
    }

    /// Send an already-checked call (see [`crate::routes::proxy`]) and turn
    /// Podero's answer into a response for the browser.
    pub async fn forward(
        &self,
        method: Method,
        path_and_query: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Response, GatewayError> {
        let response = self.send(method, path_and_query, headers, body).await?;
        let mut out = Response::builder().status(response.status());
        if let Some(ct) = response.headers().get(header::CONTENT_TYPE) {
            out = out.header(header::CONTENT_TYPE, ct.clone());
        }
        out.body(Body::from_stream(response.bytes_stream()))
            .map_err(|_| GatewayError::UpstreamBadResponse("unusable response".into()))
    }
}

/// `std::io::Read` over body chunks arriving on a channel (used from a
/// blocking task); the end of the channel is the end of the body.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    chunk: Bytes,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(next) => self.chunk = next,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}
