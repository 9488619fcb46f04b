//! The middleware every `/api` request passes.
//!
//! First the session of the cookie, and with it the request's language
//! ([`crate::lang`]: the signed-in account's choice, else the browser's
//! `Accept-Language`); everything below answers in it. Then, in order:
//! work out the client address and, for a Partner API path, the route
//! (parsed once here and handed on in the request's extensions, so the
//! role check, the audit and the proxy never parse it again); refuse a
//! state-changing request that comes cross-site (`Sec-Fetch-Site:
//! cross-site`) or lacks the anti-forgery header (or, with a session,
//! carries a wrong value, compared in constant time); refuse everything
//! but `GET`/`POST /api/session` without a session (401); keep a person
//! who must replace a one-time password to the password change and the
//! language switch (403); limit requests without a session per client
//! (429). Then the handler runs (inside the time limit and the panic
//! catcher that [`crate::startup::app`] puts between guard and handlers),
//! and the request's audit record is appended before the response is
//! returned — if that fails, the answer is a 500 saying so, never a silent
//! gap. Refusals of clients without a session are folded
//! ([`crate::audit::refusals`]).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRef, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::staff::{CSRF_HEADER, LANGUAGE_PATH, PASSWORD_PATH, SESSION_PATH};
use uuid::Uuid;

use crate::audit::{classify, AuditLog, Note, Record};
use crate::auth::sessions::{csrf_matches, Lookup};
use crate::auth::{Actor, Auth};
use crate::database::now_ms;
use crate::error::{for_bare_status, ErrorCode, GatewayError};
use crate::podero::{is_partner_api, parse_path, Forwarded};
use crate::request::{client_addr, is_write, ClientAddr};
use crate::routes::OWN_BODY_LIMIT;
use crate::startup::AppState;

/// What the guard needs.
#[derive(Debug, Clone)]
pub struct GuardState {
    auth: Auth,
    audit: AuditLog,
    org: Uuid,
    forward_body_limit: usize,
    time_limit: Duration,
}

impl FromRef<AppState> for GuardState {
    fn from_ref(s: &AppState) -> Self {
        Self {
            auth: s.auth.clone(),
            audit: s.audit.clone(),
            org: s.podero.org_id(),
            forward_body_limit: s.settings.max_body_bytes,
            time_limit: s.settings.time_limit(),
        }
    }
}

/// The session of the request's cookie: its actor, if it is valid, and
/// whether the cookie names a session that has ended.
async fn session(
    auth: &Auth,
    headers: &HeaderMap,
    now: i64,
) -> Result<(Option<Actor>, bool), GatewayError> {
    Ok(match auth.cookie().read(headers) {
        None => (None, false),
        Some(token) => match auth.sessions().lookup(token, now).await? {
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
    })
}

/// What a person who must still replace a one-time password may call:
/// who is signed in and signing out, the password change, and the
/// language (so the password page is in the person's language).
pub const BEFORE_PASSWORD_CHANGE: [&str; 3] = [SESSION_PATH, PASSWORD_PATH, LANGUAGE_PATH];

/// Session, anti-forgery and password-change rules; the actor, if any.
fn admit(
    session: Result<(Option<Actor>, bool), GatewayError>,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
) -> Result<Option<Actor>, GatewayError> {
    let (actor, expired) = session?;
    let signing_in = path == SESSION_PATH && *method == Method::POST;
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
        if let Some(a) = &actor {
            if !signing_in && !csrf_matches(&a.token_hash, sent) {
                return Err(GatewayError::CsrfMismatch);
            }
        }
    }
    // Signing in needs no session; asking who is signed in answers 401
    // itself (saying "ended" when the cookie's session has ended).
    let asking = path == SESSION_PATH && *method == Method::GET && !expired;
    match &actor {
        None if signing_in || asking => Ok(None),
        None if expired => Err(GatewayError::SessionExpired),
        None => Err(GatewayError::NotSignedIn),
        Some(a) if a.account.must_change_password && !BEFORE_PASSWORD_CHANGE.contains(&path) => {
            Err(GatewayError::PasswordChangeRequired)
        }
        Some(_) => Ok(actor),
    }
}

pub async fn guard(State(g): State<GuardState>, req: Request, next: Next) -> Response {
    let now = now_ms();
    // The answer's language: the account's choice, else the browser's; the
    // rest of the request (handler, error answers, the audit failure) runs
    // in it.
    let session = session(&g.auth, req.headers(), now).await;
    let choice = match &session {
        Ok((Some(actor), _)) => actor.account.language,
        _ => None,
    };
    let lang = crate::lang::for_request(choice, req.headers());
    crate::lang::scope(lang, answer(g, req, next, now, session)).await
}

/// The guard's work for one request, in its language.
async fn answer(
    g: GuardState,
    mut req: Request,
    next: Next,
    now: i64,
    session: Result<(Option<Actor>, bool), GatewayError>,
) -> Response {
    let method = req.method().clone();
    let path: String = req.uri().path().chars().take(300).collect();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip());
    let client = client_addr(peer, req.headers(), g.auth.trusted_proxies());
    let route = is_partner_api(req.uri().path()).then(|| parse_path(req.uri().path(), g.org));
    let class = classify(&method, &path, route.as_ref().and_then(|r| r.as_ref().ok()));
    let note = Note::new(
        g.audit.clone(),
        Record {
            at: now,
            client_addr: client.clone(),
            method: method.to_string(),
            route: path.clone(),
            action: class.action.code().to_string(),
            target_user_id: class.target_user_id,
            is_change: class.is_change,
            count: 1,
            ..Default::default()
        },
    );
    let admitted = admit(session, req.headers(), &method, &path);
    let signed_in = matches!(admitted, Ok(Some(_)));
    let limited = if signed_in {
        Ok(())
    } else {
        g.auth.unauthenticated().take(
            &crate::request::client_key(client.as_deref()),
            Instant::now(),
        )
    };
    let response = match (limited, admitted) {
        (Err(wait), _) => GatewayError::RateLimited {
            retry_after_secs: wait.as_secs().max(1),
        }
        .into_response(),
        (Ok(()), Err(e)) => e.into_response(),
        (Ok(()), Ok(actor)) => {
            if let Some(a) = &actor {
                note.actor(Some(a.account.id), &a.account.email);
                req.extensions_mut().insert(a.clone());
            }
            req.extensions_mut().insert(note.clone());
            req.extensions_mut().insert(ClientAddr(client.clone()));
            match route {
                Some(Err(e)) => e.into_response(),
                Some(Ok(r)) => {
                    req.extensions_mut().insert(r);
                    next.run(req).await
                }
                None => next.run(req).await,
            }
        }
    };
    // Answers made by a layer (body limit, time limit, a caught panic) get
    // the gateway's JSON error like every other.
    let passed_on = response.extensions().get::<Forwarded>().is_some();
    let response = match response.extensions().get::<ErrorCode>() {
        Some(_) => response,
        None if passed_on => response,
        None if response.status().is_client_error() || response.status().is_server_error() => {
            let limit = if is_partner_api(&path) {
                g.forward_body_limit
            } else {
                OWN_BODY_LIMIT
            };
            let allow = response.headers().get(axum::http::header::ALLOW);
            match for_bare_status(response.status(), allow, limit, g.time_limit.as_secs()) {
                Some(e) => e.into_response(),
                None => response,
            }
        }
        None => response,
    };
    let status = response.status();
    let code = response.extensions().get::<ErrorCode>().map(|c| c.0);
    if class.is_change && status.is_success() && !note.has_intent() {
        tracing::error!(
            action = class.action.code(),
            "a change was made without its intent recorded first"
        );
        debug_assert!(
            false,
            "{} made a change without Note::begin",
            class.action.code()
        );
    }
    let record = note.outcome(status.as_u16(), code);
    let written = if !signed_in && status.is_client_error() {
        let due = g.audit.refusals().fold(record, Instant::now());
        let mut result = Ok(0);
        for r in due {
            result = g.audit.append(r).await;
            if result.is_err() {
                break;
            }
        }
        result
    } else {
        g.audit.append(record).await
    };
    match written {
        Ok(_) => response,
        Err(e) => {
            tracing::error!("could not write the audit record: {e}");
            GatewayError::AuditUnavailable.into_response()
        }
    }
}
