//! `/api/session`: sign in (`POST`), who is signed in (`GET`), sign out
//! (`DELETE`), and `/api/session/password`: change one's own password.
//!
//! Sign-in answers the same 401 for an unknown e-mail and a wrong password
//! (and takes as long), is throttled per e-mail and per client address,
//! and starts a new session every time. Changing the password ends the
//! person's other sessions.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use shared::staff::{ChangePassword, SessionInfo, SignIn};
use shared::FieldError;

use crate::audit::Note;
use crate::auth::accounts::StoredAccount;
use crate::auth::sessions::{csrf_token, token_hash};
use crate::auth::{password, Actor, ClientAddr};
use crate::database::{now_ms, to_time};
use crate::error::GatewayError;
use crate::routes::read_json;
use crate::startup::AppState;

/// The actor if signed in (for the endpoints that also answer without).
pub struct MaybeActor(pub Option<Actor>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeActor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeActor(parts.extensions.get::<Actor>().cloned()))
    }
}

fn info(
    state: &AppState,
    account: &StoredAccount,
    token_hash: &str,
    expires_at: i64,
) -> SessionInfo {
    SessionInfo {
        account: account.account(),
        csrf_token: csrf_token(token_hash),
        expires_at: to_time(expires_at),
        idle_timeout_secs: state.sessions().idle_secs(),
    }
}

/// `Set-Cookie` for a session token (`None`: remove the cookie).
fn cookie(state: &AppState, token: Option<&str>) -> HeaderValue {
    let (value, max_age) = match token {
        Some(t) => (t, state.sessions().max_secs()),
        None => ("", 0),
    };
    let secure = if state.cookie_secure() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
        state.cookie_name()
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `GET /api/session`.
pub async fn current(
    State(state): State<AppState>,
    MaybeActor(actor): MaybeActor,
) -> Result<Json<SessionInfo>, GatewayError> {
    let a = actor.ok_or(GatewayError::NotSignedIn)?;
    Ok(Json(info(&state, &a.account, &a.token_hash, a.expires_at)))
}

/// `POST /api/session`.
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Extension(note): Extension<Note>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let request: SignIn = read_json(body).await?;
    let email = request.email.trim().to_lowercase();
    note.actor(None, &email);
    let client_key = client.clone().unwrap_or_default();
    if let Some(wait) = state.throttle().check(&email, &client_key, Instant::now()) {
        return Err(GatewayError::TooManyAttempts {
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    let account = state.accounts().find_by_email(&email).await?;
    let hash = account.as_ref().map(|a| a.password_hash.clone());
    let matches = password::verify(request.password, hash).await;
    let Some(account) = account.filter(|_| matches) else {
        state.throttle().failed(&email, &client_key, Instant::now());
        return Err(GatewayError::SignInFailed);
    };
    state.throttle().succeeded(&email);
    note.actor(Some(account.id), &account.email);
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let (token, expires_at) = state
        .sessions()
        .create(account.id, client.as_deref(), user_agent, now_ms())
        .await?;
    let mut response =
        Json(info(&state, &account, &token_hash(&token), expires_at)).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(&state, Some(&token)));
    Ok(response)
}

/// `DELETE /api/session`.
pub async fn sign_out(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Response, GatewayError> {
    state.sessions().end(&actor.token_hash, now_ms()).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(&state, None));
    Ok(response)
}

/// `POST /api/session/password`.
pub async fn change_password(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    actor: Actor,
    body: Body,
) -> Result<Json<SessionInfo>, GatewayError> {
    let request: ChangePassword = read_json(body).await?;
    let account = &actor.account;
    request
        .validate(&account.email)
        .map_err(GatewayError::InvalidBody)?;
    let client_key = client.unwrap_or_default();
    if let Some(wait) = state
        .throttle()
        .check(&account.email, &client_key, Instant::now())
    {
        return Err(GatewayError::TooManyAttempts {
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    let current_ok = password::verify(
        request.current_password,
        Some(account.password_hash.clone()),
    )
    .await;
    if !current_ok {
        state
            .throttle()
            .failed(&account.email, &client_key, Instant::now());
        return Err(GatewayError::InvalidBody(vec![FieldError::new(
            "current_password",
            "This is not your current password; type it again.",
        )]));
    }
    let hash = password::hash(request.new_password).await?;
    state
        .accounts()
        .set_password(account.id, &hash, false)
        .await?;
    state
        .sessions()
        .end_all(account.id, Some(&actor.token_hash), now_ms())
        .await?;
    let updated = state
        .accounts()
        .get(account.id)
        .await?
        .ok_or(GatewayError::SessionExpired)?;
    Ok(Json(info(
        &state,
        &updated,
        &actor.token_hash,
        actor.expires_at,
    )))
}
