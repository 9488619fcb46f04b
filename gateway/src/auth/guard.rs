//! The middleware every `/api` request passes.
//!
//! In order: find the session from the cookie; refuse a state-changing
//! request that comes cross-site (`Sec-Fetch-Site: cross-site`) or lacks
//! the anti-forgery header (or, with a session, carries a wrong value);
//! refuse everything but `GET`/`POST /api/session` without a session
//! (401); keep a person who must replace a one-time password to the
//! password change (403). Then the handler runs (bounded by the upstream
//! timeout plus 5 s: 504 after that), and the request's audit
//! record is appended before the response is returned — if that fails, the
//! answer is a 500 saying so, never a silent gap.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::staff::{CSRF_HEADER, PASSWORD_PATH, SESSION_PATH};

use crate::audit::{self, Note, Record};
use crate::auth::sessions::{csrf_token, Lookup};
use crate::auth::{Actor, ClientAddr};
use crate::database::now_ms;
use crate::error::{ErrorCode, GatewayError};
use crate::startup::AppState;

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Session, anti-forgery and password-change rules; the actor, if any.
async fn admit(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
    now: i64,
) -> Result<Option<Actor>, GatewayError> {
    let (actor, expired) = match cookie(headers, state.cookie_name()) {
        None => (None, false),
        Some(token) => match state.sessions().lookup(token, now).await? {
            Lookup::Valid(s) => (
                Some(Actor {
                    account: s.account,
                    token_hash: s.token_hash,
                    expires_at: s.expires_at,
                }),
                false,
            ),
            Lookup::Expired => (None, true),
            Lookup::Unknown => (None, false),
        },
    };
    if is_write(method) {
        let cross_site = headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"));
        if cross_site {
            return Err(GatewayError::CrossSite);
        }
        let sent = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .ok_or(GatewayError::CsrfMissing)?;
        let signing_in = path == SESSION_PATH && *method == Method::POST;
        if let Some(a) = &actor {
            if !signing_in && sent != csrf_token(&a.token_hash) {
                return Err(GatewayError::CsrfMismatch);
            }
        }
    }
    // Signing in needs no session; asking who is signed in answers 401
    // itself (saying "ended" when the cookie's session has ended).
    let signing_in = path == SESSION_PATH && *method == Method::POST;
    let asking = path == SESSION_PATH && *method == Method::GET && !expired;
    match &actor {
        None if signing_in || asking => Ok(None),
        None if expired => Err(GatewayError::SessionExpired),
        None => Err(GatewayError::NotSignedIn),
        Some(a)
            if a.account.must_change_password && path != SESSION_PATH && path != PASSWORD_PATH =>
        {
            Err(GatewayError::PasswordChangeRequired)
        }
        Some(_) => Ok(actor),
    }
}

/// The client address: the TCP peer, or, when the peer is one of the
/// trusted reverse proxies (`GATEWAY_TRUSTED_PROXIES`), the right-most
/// address in `X-Forwarded-For` that is not itself a trusted proxy (the
/// left part of that header is whatever the client sent, so it is never
/// believed).
pub fn client_addr(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpAddr],
) -> Option<String> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer.to_string());
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    let client = forwarded
        .iter()
        .rev()
        .find(|a| !trusted.contains(a))
        .copied()
        .unwrap_or(peer);
    Some(client.to_string())
}

pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let now = now_ms();
    let method = req.method().clone();
    let path: String = req.uri().path().chars().take(300).collect();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip());
    let client = client_addr(peer, req.headers(), state.trusted_proxies());
    let class = audit::classify(&method, &path, state.org_id());
    let note = Note::default();
    let admitted = admit(&state, req.headers(), &method, &path, now).await;
    let response = match admitted {
        Ok(actor) => {
            if let Some(a) = &actor {
                note.actor(Some(a.account.id), &a.account.email);
                req.extensions_mut().insert(a.clone());
            }
            req.extensions_mut().insert(note.clone());
            req.extensions_mut().insert(ClientAddr(client.clone()));
            let limit = state.upstream_timeout() + Duration::from_secs(5);
            match tokio::time::timeout(limit, next.run(req)).await {
                Ok(response) => response,
                Err(_) => GatewayError::Timeout(limit.as_secs()).into_response(),
            }
        }
        Err(e) => e.into_response(),
    };
    let n = note.take();
    let (actor_id, actor_email) = match n.actor {
        Some((id, email)) => (id, Some(email)),
        None => (None, None),
    };
    let record = Record {
        at: now,
        actor_id,
        actor_email,
        client_addr: client,
        method: method.to_string(),
        route: path,
        action: class.action.to_string(),
        target_user_id: n.target_user_id.or(class.target_user_id),
        status: response.status().as_u16(),
        is_change: class.is_change,
        changes: n.changes,
        detail: n.detail.or_else(|| {
            response
                .extensions()
                .get::<ErrorCode>()
                .map(|c| c.0.to_string())
        }),
    };
    match state.audit().append(record).await {
        Ok(()) => response,
        Err(e) => {
            tracing::error!("could not write the audit record: {e}");
            GatewayError::AuditUnavailable.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut headers = HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            "198.51.100.9, 203.0.113.7".parse().unwrap(),
        );
        headers.append("x-forwarded-for", "10.0.0.2".parse().unwrap());
        let proxy = Some(ip("10.0.0.1"));
        // Not trusted: the header is ignored.
        assert_eq!(
            client_addr(proxy, &headers, &[]).as_deref(),
            Some("10.0.0.1")
        );
        // Trusted chain 10.0.0.1 <- 10.0.0.2: the first untrusted from the right.
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        assert_eq!(
            client_addr(proxy, &headers, &trusted).as_deref(),
            Some("203.0.113.7")
        );
        // Nothing usable in the header: the proxy itself.
        assert_eq!(
            client_addr(proxy, &HeaderMap::new(), &trusted).as_deref(),
            Some("10.0.0.1")
        );
    }
}
