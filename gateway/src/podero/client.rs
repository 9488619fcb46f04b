//! The one client towards Podero, bound to the organisation.
//!
//! [`Podero`] holds one pooled `reqwest` client (rustls, connect and
//! request timeouts), the single-flight [`TokenManager`] and the
//! organisation id, and is the only way the gateway talks to Podero: the
//! proxy forwards allow-listed calls with [`Podero::forward`], the team
//! handlers read and write with [`Podero::get`] / [`Podero::send`], the
//! role check asks [`Podero::role_of`], the read model streams the users
//! list with [`Podero::users_streamed`] and the reconnection scan reads
//! device lists with [`Podero::get`]. Every call names an [`ApiRoute`]; the
//! URL is built here from the route, never from request text. Each request
//! carries only allow-listed headers plus `Authorization: Bearer <token>`,
//! is retried once with a renewed token after a `401`, and transport
//! failures become [`GatewayError`]s that name the cause (connection
//! refused, timeout...) without any credential.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde_json::Value;
use shared::{ApiError, Role, Upstream as UpstreamKind, User};
use uuid::Uuid;

use super::json_array::Elements;
use super::route::ApiRoute;
use super::token::TokenManager;
use crate::error::{GatewayError, Msg};

/// Request headers copied from the browser to Podero; everything else
/// (cookies, the browser's `Authorization`, `Host`, hop-by-hop headers,
/// its `Content-Type`...) stays behind. A forwarded body is always sent as
/// `application/json`.
pub const FORWARDED_REQUEST_HEADERS: [HeaderName; 2] = [header::ACCEPT, header::ACCEPT_LANGUAGE];

/// How long a kept-alive connection to Podero may sit unused before the
/// client closes it: under the 30 s after which the emulator (and servers
/// like it) close an idle connection themselves, so a request is never
/// written into a connection the other side is closing at that moment.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(20);
const _: () = assert!(POOL_IDLE_TIMEOUT.as_secs() < serve::HEAD_TIMEOUT.as_secs());

/// Build the shared HTTP client.
pub fn http_client(
    connect_timeout: Duration,
    request_timeout: Duration,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .timeout(request_timeout)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
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

/// Allow-listed request headers, minus any that `Connection` names.
pub fn forwarded_headers(incoming: &HeaderMap) -> HeaderMap {
    let named_by_connection: Vec<String> = incoming
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    let mut out = HeaderMap::new();
    for name in FORWARDED_REQUEST_HEADERS.iter() {
        if named_by_connection.iter().any(|n| n == name.as_str()) {
            continue;
        }
        for value in incoming.get_all(name) {
            out.append(HeaderName::clone(name), value.clone());
        }
    }
    out
}

/// Largest forwarded answer read whole before it is sent on (bytes);
/// larger ones stream.
const WHOLE_BODY_LIMIT: u64 = 256 * 1024;

/// Marks a response that is Podero's own answer, passed on: the guard
/// leaves its status and body as Podero sent them.
#[derive(Debug, Clone, Copy)]
pub struct Forwarded;

/// Podero, for one organisation (cheap to clone).
#[derive(Debug, Clone)]
pub struct Podero(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base_url: String,
    request_timeout: Duration,
    tokens: TokenManager,
    org: Uuid,
    kind: UpstreamKind,
}

impl Podero {
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        request_timeout: Duration,
        tokens: TokenManager,
        org: Uuid,
        kind: UpstreamKind,
    ) -> Self {
        Self(Arc::new(Inner {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            request_timeout,
            tokens,
            org,
            kind,
        }))
    }

    /// The organisation every call is for.
    pub fn org_id(&self) -> Uuid {
        self.0.org
    }

    /// A real Podero or the (embedded) emulator.
    pub fn kind(&self) -> UpstreamKind {
        self.0.kind
    }

    pub fn base_url(&self) -> &str {
        &self.0.base_url
    }

    /// Whole-request timeout towards Podero.
    pub fn request_timeout(&self) -> Duration {
        self.0.request_timeout
    }

    pub fn tokens(&self) -> &TokenManager {
        &self.0.tokens
    }

    fn url(&self, route: &ApiRoute, include_deleted: Option<bool>) -> String {
        let mut url = format!("{}{}", self.0.base_url, route.upstream_path(self.0.org));
        if let Some(d) = include_deleted {
            url.push_str(if d {
                "?include_deleted=true"
            } else {
                "?include_deleted=false"
            });
        }
        url
    }

    fn failed(&self, e: reqwest::Error) -> GatewayError {
        map_send_error(e, &self.0.base_url, self.0.request_timeout)
    }

    /// Send with the organisation's bearer token, renewing it once after a
    /// `401`.
    /// Every attempt is counted under `action` ([`crate::metrics`]).
    async fn send_raw(
        &self,
        action: &'static str,
        method: Method,
        url: &str,
        mut headers: HeaderMap,
        body: Option<Bytes>,
    ) -> Result<reqwest::Response, GatewayError> {
        if body.is_some() {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        let body = body.unwrap_or_default();
        let mut token = self.0.tokens.token().await?;
        let mut retried = false;
        let response = loop {
            let started = Instant::now();
            let sent = self
                .0
                .http
                .request(method.clone(), url)
                .headers(headers.clone())
                .bearer_auth(token.expose())
                .body(body.clone())
                .send()
                .await;
            crate::metrics::upstream_call(
                action,
                started.elapsed(),
                sent.as_ref().map(|r| r.status()),
            );
            let response = sent.map_err(|e| self.failed(e))?;
            if response.status() == StatusCode::UNAUTHORIZED && !retried {
                retried = true;
                token = self.0.tokens.renew_after_rejection(&token).await?;
                continue;
            }
            break response;
        };
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(GatewayError::UpstreamBadResponse(Msg::new(
                "error.upstream.fresh_token_rejected",
            )));
        }
        Ok(response)
    }

    /// Send a JSON call and read its answer: 2xx gives the body, anything
    /// else [`GatewayError::Podero`] with Podero's own (field-shaped) error.
    async fn json_call(
        &self,
        method: Method,
        route: &ApiRoute,
        url: &str,
        body: Option<Bytes>,
    ) -> Result<Bytes, GatewayError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let action = route.action(&method).code();
        let response = self.send_raw(action, method, url, headers, body).await?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| self.failed(e))?;
        if !status.is_success() {
            let error = serde_json::from_slice::<ApiError>(&bytes).unwrap_or_else(|_| {
                // Podero's answer has no message of its own: say the
                // status in the request's language.
                ApiError::message(shared::tr(
                    crate::lang::current(),
                    "error.podero_status",
                    &[("status", &status.to_string())],
                ))
            });
            return Err(GatewayError::Podero { status, error });
        }
        Ok(bytes)
    }

    /// `GET` a route and decode its JSON answer (small bodies).
    pub async fn get<T: DeserializeOwned>(
        &self,
        route: &ApiRoute,
        include_deleted: bool,
    ) -> Result<T, GatewayError> {
        let url = self.url(route, include_deleted.then_some(true));
        let bytes = self.json_call(Method::GET, route, &url, None).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            GatewayError::UpstreamBadResponse(
                Msg::new("error.upstream.unreadable_get").with("cause", e),
            )
        })
    }

    /// Send a change the gateway makes itself (the team) and read the JSON
    /// answer (`Null` for an empty one).
    pub async fn send(
        &self,
        method: Method,
        route: &ApiRoute,
        body: Option<&Value>,
    ) -> Result<Value, GatewayError> {
        let body = body.map(|b| Bytes::from(b.to_string()));
        let bytes = self
            .json_call(method, route, &self.url(route, None), body)
            .await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            GatewayError::UpstreamBadResponse(
                Msg::new("error.upstream.unreadable_answer").with("cause", e),
            )
        })
    }

    /// The current Podero role of `user` (archived users too), for the
    /// checks that depend on it; `None`: Podero has no such user. Any other
    /// failure is [`GatewayError::RoleCheckFailed`], so a caller fails
    /// closed.
    pub async fn role_of(&self, user: Uuid) -> Result<Option<Role>, GatewayError> {
        match self.get::<User>(&ApiRoute::User(user), true).await {
            Ok(u) => Ok(Some(u.role)),
            Err(GatewayError::Podero { status, .. }) if status == StatusCode::NOT_FOUND => Ok(None),
            Err(e) => Err(GatewayError::RoleCheckFailed(Box::new(e))),
        }
    }

    /// Forward an already-checked call of the browser and turn Podero's
    /// answer into a response for it. `body` (a write's) is sent as JSON.
    pub async fn forward(
        &self,
        method: Method,
        route: &ApiRoute,
        include_deleted: Option<bool>,
        headers: HeaderMap,
        body: Option<Bytes>,
    ) -> Result<Response, GatewayError> {
        let url = self.url(route, include_deleted);
        let action = route.action(&method).code();
        let response = self.send_raw(action, method, &url, headers, body).await?;
        let mut out = Response::builder().status(response.status());
        if let Some(ct) = response.headers().get(header::CONTENT_TYPE) {
            out = out.header(header::CONTENT_TYPE, ct.clone());
        }
        // A small answer of known length (a user, a device list) is read
        // whole and sent on with its length, in one write with the head;
        // anything larger or of unknown length (the users list) streams.
        let body = match response.content_length() {
            Some(n) if n <= WHOLE_BODY_LIMIT => {
                Body::from(response.bytes().await.map_err(|e| self.failed(e))?)
            }
            _ => Body::from_stream(response.bytes_stream()),
        };
        let mut out = out.body(body).map_err(|_| {
            GatewayError::UpstreamBadResponse(Msg::new("error.upstream.unusable_response"))
        })?;
        out.extensions_mut().insert(Forwarded);
        Ok(out)
    }

    /// `GET` the organisation's whole users list (archived too), parsing
    /// the JSON answer **while it arrives**: the body is never held whole.
    /// On a blocking task [`Elements`] cuts it into whole users as the
    /// chunks come; batches of them (256 KiB, at most four waiting) go to a
    /// second blocking task that parses each user from the slice and hands
    /// it to `each` with `state`, then `state` to `then`, on the same task.
    /// The list is hundreds of megabytes at a million users.
    pub async fn users_streamed<E, S, R>(
        &self,
        state: S,
        mut each: impl FnMut(&mut S, E) + Send + 'static,
        then: impl FnOnce(S) -> R + Send + 'static,
    ) -> Result<R, GatewayError>
    where
        E: DeserializeOwned,
        S: Send + 'static,
        R: Send + 'static,
    {
        use futures::StreamExt;
        let url = self.url(&ApiRoute::Users, Some(true));
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let action = ApiRoute::Users.action(&Method::GET).code();
        let response = self
            .send_raw(action, Method::GET, &url, headers, None)
            .await?;
        let status = response.status();
        if !status.is_success() {
            return Err(GatewayError::UpstreamBadResponse(
                Msg::new("error.upstream.users_list_status").with("status", status),
            ));
        }
        let unreadable = |cause: String| {
            GatewayError::UpstreamBadResponse(
                Msg::new("error.upstream.unreadable_get").with("cause", cause),
            )
        };
        // Three stages, so that no tokio worker does the heavy part: this
        // task passes the chunks on; a blocking task cuts them into whole
        // users; another parses them.
        let (chunks, mut chunks_rx) = tokio::sync::mpsc::channel::<Bytes>(32);
        let (batches, mut batches_rx) = tokio::sync::mpsc::channel::<Piece>(4);
        let splitter = tokio::task::spawn_blocking(move || {
            let mut elements = Elements::default();
            while let Some(chunk) = chunks_rx.blocking_recv() {
                elements.feed(&chunk).map_err(|e| e.to_string())?;
                if elements.ready() >= BATCH
                    && batches
                        .blocking_send(Piece::Batch(elements.take()))
                        .is_err()
                {
                    return Ok(()); // the parser stopped: its error is the one
                }
            }
            let last = elements.finish().map_err(|e| e.to_string())?;
            let _ = batches.blocking_send(Piece::Last(last));
            Ok::<_, String>(())
        });
        let parser = tokio::task::spawn_blocking(move || {
            let mut state = state;
            let mut n = 0usize;
            while let Some(piece) = batches_rx.blocking_recv() {
                let (batch, last) = match piece {
                    Piece::Batch(b) => (b, false),
                    Piece::Last(b) => (b, true),
                };
                for element in serde_json::Deserializer::from_slice(&batch).into_iter::<E>() {
                    n += 1;
                    let element = element.map_err(|e| format!("user {n}: {e}"))?;
                    each(&mut state, element);
                }
                if last {
                    return Ok(then(state));
                }
            }
            Err("the list ended early".to_string())
        });
        let mut body = response.bytes_stream();
        let mut transport = None;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(chunk) => {
                    if chunks.send(chunk).await.is_err() {
                        break; // the splitter stopped: its error is the one
                    }
                }
                Err(e) => {
                    transport = Some(self.failed(e));
                    break;
                }
            }
        }
        drop(chunks);
        let stage_failed = |e: tokio::task::JoinError| {
            GatewayError::UpstreamBadResponse(
                Msg::new("error.upstream.parser_failed").with("cause", e),
            )
        };
        let split = splitter.await.map_err(stage_failed)?;
        let parsed = parser.await.map_err(stage_failed)?;
        if let Some(e) = transport {
            return Err(e);
        }
        split.map_err(unreadable)?;
        parsed.map_err(unreadable)
    }
}

/// What the splitter hands the parser: whole users, the last of them.
enum Piece {
    Batch(Vec<u8>),
    Last(Vec<u8>),
}

/// Bytes of whole users handed to the parser at a time.
const BATCH: usize = 256 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_filter() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=b".parse().unwrap());
        h.insert(header::AUTHORIZATION, "Bearer x".parse().unwrap());
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        h.insert(header::ACCEPT, "application/json".parse().unwrap());
        h.insert(header::ACCEPT_LANGUAGE, "de".parse().unwrap());
        h.insert(header::CONNECTION, "accept-language".parse().unwrap());
        let out = forwarded_headers(&h);
        assert_eq!(out.len(), 1);
        assert!(out.contains_key(header::ACCEPT));
    }
}
