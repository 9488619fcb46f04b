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

    /// `GET path_and_query` and decode a JSON answer; any other status is
    /// an error naming it.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path_and_query: &str,
    ) -> Result<T, GatewayError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, "application/json".parse().expect("header"));
        let response = self
            .send(Method::GET, path_and_query, headers, Bytes::new())
            .await?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| map_send_error(e, &self.base_url, self.request_timeout))?;
        if !status.is_success() {
            return Err(GatewayError::UpstreamBadResponse(format!(
                "HTTP {status} for GET {}",
                path_and_query.split('?').next().unwrap_or_default()
            )));
        }
        serde_json::from_slice(&bytes).map_err(|e| {
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
