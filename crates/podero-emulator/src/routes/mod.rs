//! HTTP routes of the emulator: the token endpoint, the Partner API under
//! `/api/partners/v2.0`, and the simulated manufacturer sign-in pages.
//!
//! Handlers check the bearer token and the organisation, parse ids (an id
//! that is not a UUID is a 404, as a path converter would make it), and hand
//! over to [`Emulator`]; they hold no logic of their own.

mod connect;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use shared::{
    AuthSessionRequest, BuildingWrite, CreateUser, DeviceKind, TokenResponse, UpdateUser,
};
use uuid::Uuid;

use crate::error::{parse_json, ApiJson, EmuError};
use crate::state::Emulator;

type Emu = State<Arc<Emulator>>;

/// The emulator's router over its state.
pub fn app(emulator: Arc<Emulator>) -> Router {
    let api = Router::new()
        .route("/org/{org_id}/users", get(list_users).post(create_user))
        .route(
            "/org/{org_id}/users/by-ext-id/{external_id}",
            get(user_by_ext_id),
        )
        .route(
            "/org/{org_id}/users/{user_id}",
            get(get_user).put(update_user).delete(delete_user),
        )
        .route(
            "/org/{org_id}/users/{user_id}/buildings",
            get(list_buildings).post(create_building),
        )
        .route(
            "/org/{org_id}/users/{user_id}/buildings/{building_id}",
            get(get_building)
                .put(update_building)
                .delete(delete_building),
        )
        .route(
            "/org/{org_id}/users/{user_id}/{kind}",
            get(list_devices).post(register_device),
        )
        .route(
            "/org/{org_id}/users/{user_id}/{kind}/{device_id}",
            get(get_device).put(update_device).delete(delete_device),
        )
        .route(
            "/org/{org_id}/users/{user_id}/{kind}/{device_id}/auth_session",
            post(auth_session),
        );
    Router::new()
        .route("/oauth2/token/", post(token))
        .route("/oauth2/token", post(token))
        .nest("/api/partners/v2.0", api)
        .route(
            "/connect/{session_id}",
            get(connect::page).post(connect::complete),
        )
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .fallback(|| async { EmuError::NotFound })
        .with_state(emulator)
}

// ---- token -------------------------------------------------------------------

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn token(
    State(emu): Emu,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<TokenResponse>, EmuError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let bad_request =
        |d: &'static str| EmuError::OAuth(StatusCode::BAD_REQUEST, "invalid_request", d);
    let form: TokenForm = if is_form {
        serde_urlencoded::from_bytes(&body)
            .map_err(|_| bad_request("The form body could not be parsed."))?
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            bad_request("Send a JSON body {\"grant_type\": \"client_credentials\"} with Content-Type: application/json.")
        })?
    };
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    emu.tokens.check_client(
        basic,
        form.client_id.as_deref(),
        form.client_secret.as_deref(),
    )?;
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        None => {
            return Err(bad_request(
                "grant_type is missing; use \"client_credentials\".",
            ))
        }
        Some(_) => {
            return Err(EmuError::OAuth(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Only the client_credentials grant is supported.",
            ))
        }
    }
    Ok(Json(TokenResponse {
        access_token: emu.tokens.issue(),
        expires_in: emu.tokens.ttl().as_secs(),
        token_type: "Bearer".into(),
        scope: Some("read write".into()),
    }))
}

// ---- extractors --------------------------------------------------------------

/// The ids of a path, checked: a valid token, this organisation, UUIDs.
struct Scope {
    ids: HashMap<String, String>,
}

impl FromRequestParts<Arc<Emulator>> for Scope {
    type Rejection = EmuError;

    async fn from_request_parts(parts: &mut Parts, emu: &Arc<Emulator>) -> Result<Self, EmuError> {
        let auth = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        emu.tokens.check_bearer(auth)?;
        let Path(ids) = Path::<HashMap<String, String>>::from_request_parts(parts, emu)
            .await
            .map_err(|_| EmuError::NotFound)?;
        let org = ids
            .get("org_id")
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or(EmuError::NotFound)?;
        if org != emu.org_id() {
            return Err(EmuError::Forbidden(
                "You do not have permission to access this organization.",
            ));
        }
        Ok(Scope { ids })
    }
}

impl Scope {
    fn uuid(&self, name: &str) -> Result<Uuid, EmuError> {
        self.ids
            .get(name)
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or(EmuError::NotFound)
    }
    fn user(&self) -> Result<Uuid, EmuError> {
        self.uuid("user_id")
    }
    fn kind(&self) -> Result<DeviceKind, EmuError> {
        self.ids
            .get("kind")
            .and_then(|k| DeviceKind::from_path_segment(k))
            .ok_or(EmuError::NotFound)
    }
}

#[derive(Deserialize)]
struct Flags {
    include_deleted: Option<String>,
}

impl Flags {
    fn include_deleted(&self) -> Result<bool, EmuError> {
        match self.include_deleted.as_deref() {
            None | Some("false") | Some("False") | Some("0") => Ok(false),
            Some("true") | Some("True") | Some("1") => Ok(true),
            Some(_) => Err(EmuError::query("include_deleted", "Use true or false.")),
        }
    }
}

// ---- users -------------------------------------------------------------------

async fn list_users(
    State(emu): Emu,
    _s: Scope,
    Query(f): Query<Flags>,
) -> Result<Response, EmuError> {
    let bytes = emu.list_users_json(f.include_deleted()?)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

async fn create_user(
    State(emu): Emu,
    _s: Scope,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(emu.create_user(body)?))
}

async fn get_user(
    State(emu): Emu,
    s: Scope,
    Query(f): Query<Flags>,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(emu.get_user(s.user()?, f.include_deleted()?)?))
}

async fn user_by_ext_id(
    State(emu): Emu,
    s: Scope,
    Query(f): Query<Flags>,
) -> Result<impl IntoResponse, EmuError> {
    let ext = s.ids.get("external_id").ok_or(EmuError::NotFound)?;
    Ok(Json(emu.user_by_external_id(ext, f.include_deleted()?)?))
}

async fn update_user(
    State(emu): Emu,
    s: Scope,
    ApiJson(body): ApiJson<UpdateUser>,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(emu.update_user(s.user()?, body)?))
}

async fn delete_user(State(emu): Emu, s: Scope) -> Result<StatusCode, EmuError> {
    emu.delete_user(s.user()?)?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- devices -----------------------------------------------------------------

async fn list_devices(
    State(emu): Emu,
    s: Scope,
    Query(f): Query<Flags>,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(emu.list_devices(
        s.user()?,
        s.kind()?,
        f.include_deleted()?,
    )?))
}

async fn register_device(
    State(emu): Emu,
    s: Scope,
    body: Bytes,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(emu.register_device(s.user()?, s.kind()?, &body)?))
}

async fn get_device(
    State(emu): Emu,
    s: Scope,
    Query(f): Query<Flags>,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(emu.get_device(
        s.user()?,
        s.kind()?,
        s.uuid("device_id")?,
        f.include_deleted()?,
    )?))
}

async fn update_device(
    State(emu): Emu,
    s: Scope,
    body: Bytes,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(emu.update_device(
        s.user()?,
        s.kind()?,
        s.uuid("device_id")?,
        &body,
    )?))
}

async fn delete_device(State(emu): Emu, s: Scope) -> Result<StatusCode, EmuError> {
    emu.delete_device(s.user()?, s.kind()?, s.uuid("device_id")?)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn auth_session(
    State(emu): Emu,
    s: Scope,
    body: Bytes,
) -> Result<impl IntoResponse, EmuError> {
    // An empty body means "no redirect URLs".
    let req: AuthSessionRequest = if body.iter().all(u8::is_ascii_whitespace) {
        AuthSessionRequest::default()
    } else {
        parse_json(&body)?
    };
    Ok(Json(emu.auth_session(
        s.user()?,
        s.kind()?,
        s.uuid("device_id")?,
        req,
    )?))
}

// ---- buildings ---------------------------------------------------------------

async fn list_buildings(State(emu): Emu, s: Scope) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(emu.list_buildings(s.user()?)?))
}

async fn create_building(
    State(emu): Emu,
    s: Scope,
    ApiJson(body): ApiJson<BuildingWrite>,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(emu.create_building(s.user()?, body)?))
}

async fn get_building(State(emu): Emu, s: Scope) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(emu.get_building(s.user()?, s.uuid("building_id")?)?))
}

async fn update_building(
    State(emu): Emu,
    s: Scope,
    ApiJson(body): ApiJson<BuildingWrite>,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(emu.update_building(
        s.user()?,
        s.uuid("building_id")?,
        body,
    )?))
}

async fn delete_building(State(emu): Emu, s: Scope) -> Result<StatusCode, EmuError> {
    emu.delete_building(s.user()?, s.uuid("building_id")?)?;
    Ok(StatusCode::NO_CONTENT)
}
