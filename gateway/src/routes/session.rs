//! `/api/session`: sign in (`POST`), who is signed in (`GET`), sign out
//! (`DELETE`), `/api/session/password`: change one's own password, and
//! `/api/session/language`: the language the account chose in the app.
//!
//! Sign-in answers the same 401 for an unknown e-mail and a wrong password
//! (and takes as long), is throttled per e-mail and per client address
//! (counted before the password is checked, so a burst cannot pass the
//! limit), refuses an expired one-time password once the password is
//! right, and starts a new session every time. Changing the password ends
//! the person's other sessions.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use shared::staff::{
    ChangePassword, LanguageChoice, SessionInfo, SignIn, LANGUAGE_PATH, PASSWORD_PATH, SESSION_PATH,
};
use shared::{ApiError, FieldError};

use crate::audit::Note;
use crate::auth::accounts::StoredAccount;
use crate::auth::sessions::{csrf_token, token_hash};
use crate::auth::{password, Actor, Auth, MaybeActor};
use crate::database::{now_ms, to_time};
use crate::error::GatewayError;
use crate::request::ClientAddr;
use crate::routes::{read_json, PlainBody};

fn info(auth: &Auth, account: &StoredAccount, token_hash: &str, expires_at: i64) -> SessionInfo {
    SessionInfo {
        account: account.account(),
        csrf_token: csrf_token(token_hash),
        expires_at: to_time(expires_at),
        idle_timeout_secs: auth.sessions().idle_secs(),
    }
}

/// `GET /api/session`.
#[utoipa::path(
    get,
    path = SESSION_PATH,
    tag = "session",
    operation_id = "session",
    summary = "Who is signed in",
    description = "The signed-in account, the session's anti-forgery token (to send as \
        `X-Podero-CSRF` with every change) and when the session ends.",
    security((), ("session" = ["admin", "staff", "viewer"])),
    responses(
        (status = 200, description = "The session.", body = SessionInfo),
        (status = 401, description = "`not_signed_in`: nobody is signed in; `session_expired`: \
            the cookie's session has ended.", body = ApiError),
    )
)]
pub async fn current(
    State(auth): State<Auth>,
    MaybeActor(actor): MaybeActor,
) -> Result<Json<SessionInfo>, GatewayError> {
    let a = actor.ok_or(GatewayError::NotSignedIn)?;
    Ok(Json(info(&auth, &a.account, &a.token_hash, a.expires_at)))
}

/// `POST /api/session`.
#[utoipa::path(
    post,
    path = SESSION_PATH,
    tag = "session",
    operation_id = "sign_in",
    summary = "Sign in",
    description = "Starts a new session and sets its cookie. Throttled per e-mail and per \
        client address; a new account must then replace its one-time password \
        (`account.must_change_password`).",
    request_body = SignIn,
    security(("csrf" = [])),
    responses(
        (status = 200, description = "Signed in.", body = SessionInfo,
            headers(("Set-Cookie" = String, description = "The session cookie."))),
        (status = 401, description = "`sign_in_failed`: unknown e-mail or wrong password (one \
            answer for both); `one_time_password_expired`: an admin must issue a new one.",
            body = ApiError),
        (status = 422, description = "`invalid_body`: not the expected JSON.", body = ApiError),
        (status = 429, description = "`too_many_attempts`: too many failed sign-ins for the \
            e-mail or from the client (`Retry-After`).", body = ApiError),
    )
)]
pub async fn sign_in(
    State(auth): State<Auth>,
    ClientAddr(client): ClientAddr,
    Extension(note): Extension<Note>,
    headers: HeaderMap,
    PlainBody(body): PlainBody,
) -> Result<Response, GatewayError> {
    let request: SignIn = read_json(body).await?;
    let email = request.email.trim().to_lowercase();
    note.actor(None, &email);
    if email.chars().count() > 254 {
        // No account has such an address (RFC 5321's limit).
        return Err(GatewayError::SignInFailed);
    }
    let client_key = crate::request::client_key(client.as_deref());
    auth.throttle().begin(&email, &client_key, now_ms()).await?;
    let account = auth.accounts().find_by_email(&email).await?;
    let hash = account.as_ref().map(|a| a.password_hash.clone());
    let matches = password::verify(request.password, hash).await;
    let Some(account) = account.filter(|_| matches) else {
        return Err(GatewayError::SignInFailed);
    };
    auth.throttle().succeeded(&email, &client_key).await?;
    note.actor(Some(account.id), &account.email);
    let now = now_ms();
    if account.one_time_password_expired(now) {
        return Err(GatewayError::OneTimePasswordExpired);
    }
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let (token, expires_at) = auth
        .sessions()
        .create(account.id, client.as_deref(), user_agent, now)
        .await?;
    let mut response = Json(info(&auth, &account, &token_hash(&token), expires_at)).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, auth.cookie().set(Some(&token)));
    Ok(response)
}

/// `DELETE /api/session`.
#[utoipa::path(
    delete,
    path = SESSION_PATH,
    tag = "session",
    operation_id = "sign_out",
    summary = "Sign out",
    description = "Ends the session and removes its cookie.",
    security(("session" = ["admin", "staff", "viewer"], "csrf" = [])),
    responses(
        (status = 204, description = "Signed out.",
            headers(("Set-Cookie" = String, description = "Removes the session cookie."))),
    )
)]
pub async fn sign_out(State(auth): State<Auth>, actor: Actor) -> Result<Response, GatewayError> {
    auth.sessions().end(&actor.token_hash, now_ms()).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, auth.cookie().set(None));
    Ok(response)
}

/// `POST /api/session/password`.
#[utoipa::path(
    post,
    path = PASSWORD_PATH,
    tag = "session",
    operation_id = "change_password",
    summary = "Change one's own password",
    description = "Replaces the signed-in account's password (also a one-time password) and \
        ends its other sessions. Throttled like the sign-in.",
    request_body = ChangePassword,
    security(("session" = ["admin", "staff", "viewer"], "csrf" = [])),
    responses(
        (status = 200, description = "Changed; the session as `GET /api/session` answers it.",
            body = SessionInfo),
        (status = 422, description = "`invalid_body`: the current password is wrong or the new \
            one breaks a rule (12 to 256 characters, not the e-mail); `loc` names the field.",
            body = ApiError),
        (status = 429, description = "`too_many_attempts`: too many wrong current passwords \
            (`Retry-After`).", body = ApiError),
    )
)]
pub async fn change_password(
    State(auth): State<Auth>,
    ClientAddr(client): ClientAddr,
    Extension(note): Extension<Note>,
    actor: Actor,
    PlainBody(body): PlainBody,
) -> Result<Json<SessionInfo>, GatewayError> {
    let request: ChangePassword = read_json(body).await?;
    let account = &actor.account;
    request
        .validate(&account.email)
        .map_err(GatewayError::InvalidBody)?;
    let client_key = crate::request::client_key(client.as_deref());
    auth.throttle()
        .begin(&account.email, &client_key, now_ms())
        .await?;
    let current_ok = password::verify(
        request.current_password,
        Some(account.password_hash.clone()),
    )
    .await;
    if !current_ok {
        return Err(GatewayError::InvalidBody(vec![FieldError::keyed(
            "current_password",
            "error.field.current_password_wrong",
            &[],
        )]));
    }
    auth.throttle()
        .succeeded(&account.email, &client_key)
        .await?;
    let hash = password::hash(request.new_password).await?;
    note.begin().await?;
    auth.accounts()
        .set_password(account.id, &hash, None)
        .await?;
    auth.sessions()
        .end_all(account.id, Some(&actor.token_hash), now_ms())
        .await?;
    current_after_change(&auth, &actor).await
}

/// `PUT /api/session/language`: remember the account's language (`de`,
/// `en`, or `null` to follow the browser again); answers the session as
/// `GET /api/session` does, and this and later answers are in it.
#[utoipa::path(
    put,
    path = LANGUAGE_PATH,
    tag = "session",
    operation_id = "set_language",
    summary = "Choose the account's language",
    description = "Remembers the language for the account (`de`, `en`, or `null` to follow \
        the browser again); this answer and later ones are in it.",
    request_body = LanguageChoice,
    security(("session" = ["admin", "staff", "viewer"], "csrf" = [])),
    responses(
        (status = 200, description = "Chosen; the session with `account.language`.",
            body = SessionInfo),
        (status = 422, description = "`invalid_body`: not a language the back-office speaks \
            (`loc`: `language`).", body = ApiError),
    )
)]
pub async fn set_language(
    State(auth): State<Auth>,
    Extension(note): Extension<Note>,
    actor: Actor,
    PlainBody(body): PlainBody,
) -> Result<Json<SessionInfo>, GatewayError> {
    let request: serde_json::Value = read_json(body).await?;
    let choice = serde_json::from_value::<LanguageChoice>(request.clone()).map_err(|_| {
        let value = match request.get("language") {
            Some(serde_json::Value::String(s)) => s.chars().take(40).collect(),
            Some(other) => other.to_string().chars().take(40).collect(),
            None => String::new(),
        };
        GatewayError::InvalidBody(vec![FieldError::keyed(
            "language",
            "error.field.language_unknown",
            &[("value", &value)],
        )])
    })?;
    let account = &actor.account;
    note.changes(crate::audit::diff(
        &serde_json::json!({ "language": account.language }),
        &serde_json::json!({ "language": choice.language }),
    ));
    note.begin().await?;
    auth.accounts()
        .set_language(account.id, choice.language)
        .await?;
    current_after_change(&auth, &actor).await
}

/// The session as `GET /api/session` answers it, with the account read
/// again after a change to it.
async fn current_after_change(
    auth: &Auth,
    actor: &Actor,
) -> Result<Json<SessionInfo>, GatewayError> {
    let updated = auth
        .accounts()
        .get(actor.account.id)
        .await?
        .ok_or(GatewayError::SessionExpired)?;
    Ok(Json(info(
        auth,
        &updated,
        &actor.token_hash,
        actor.expires_at,
    )))
}
