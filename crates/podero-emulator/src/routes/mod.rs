//! HTTP routes of the emulator: the token endpoint, the Partner API under
//! `/api/partners/v2.0`, the simulated manufacturer sign-in pages, and the
//! test hooks under `/_emulator`.
//!
//! This module builds the router and holds what every API route shares: the
//! [`Scope`] extractor (valid bearer token, the token's organisation, ids
//! from the path; an id that is not a UUID is a 404, as a path converter
//! would make it) and the `include_deleted` flag. Handlers live in one
//! module per resource and hand over to [`Emulator`]; they hold no logic.

mod buildings;
mod connect;
mod devices;
mod hooks;
mod token;
mod users;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use shared::DeviceKind;
use tower_http::catch_panic::CatchPanicLayer;
use uuid::Uuid;

use crate::error::EmuError;
use crate::state::Emulator;

type Emu = State<Arc<Emulator>>;

/// The emulator's router over its state.
pub fn app(emulator: Arc<Emulator>) -> Router {
    let api = Router::new()
        .route(
            "/org/{org_id}/users",
            get(users::list_users).post(users::create_user),
        )
        .route(
            "/org/{org_id}/users/by-ext-id/{external_id}",
            get(users::user_by_ext_id),
        )
        .route(
            "/org/{org_id}/users/{user_id}",
            get(users::get_user)
                .put(users::update_user)
                .delete(users::delete_user),
        )
        .route(
            "/org/{org_id}/users/{user_id}/buildings",
            get(buildings::list_buildings).post(buildings::create_building),
        )
        .route(
            "/org/{org_id}/users/{user_id}/buildings/{building_id}",
            get(buildings::get_building)
                .put(buildings::update_building)
                .delete(buildings::delete_building),
        )
        .route(
            "/org/{org_id}/users/{user_id}/{kind}",
            get(devices::list_devices).post(devices::register_device),
        )
        .route(
            "/org/{org_id}/users/{user_id}/{kind}/{device_id}",
            get(devices::get_device)
                .put(devices::update_device)
                .delete(devices::delete_device),
        )
        .route(
            "/org/{org_id}/users/{user_id}/{kind}/{device_id}/auth_session",
            post(devices::auth_session),
        )
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .route(
            "/oauth2/token/",
            post(token::token).layer(axum::middleware::map_response(token::no_store)),
        )
        .route(
            "/oauth2/token",
            post(token::token).layer(axum::middleware::map_response(token::no_store)),
        )
        .nest("/api/partners/v2.0", api)
        .route(
            "/connect/{session_id}",
            get(connect::page)
                .post(connect::complete)
                .layer(axum::middleware::map_response(connect::page_headers)),
        )
        .route(
            "/_emulator/devices/{device_id}/connection",
            post(hooks::set_connection),
        )
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(|| async { EmuError::NoSuchPath })
        .layer(CatchPanicLayer::custom(panicked))
        .with_state(emulator)
}

/// A handler panicked (a bug): a JSON 500 rather than a dropped connection.
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    EmuError::Internal("a request handler panicked".into()).into_response()
}

/// A known path asked with a method it does not take: 405 with a JSON
/// message (axum adds the `Allow` header listing the methods it takes).
async fn method_not_allowed() -> EmuError {
    EmuError::MethodNotAllowed
}

// ---- shared extractors ------------------------------------------------------

/// An id of a path: a UUID in its hyphenated form (either case), as a
/// Django `uuid` path converter takes it; `urn:uuid:…`, braces or the
/// 32-digit form name nothing (404).
pub(crate) fn path_uuid(s: &str) -> Option<Uuid> {
    if s.len() == 36 {
        Uuid::try_parse(s).ok()
    } else {
        None
    }
}

/// The ids of a path, checked: a valid token, this organisation, UUIDs.
pub(crate) struct Scope {
    pub(crate) ids: HashMap<String, String>,
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
            .and_then(|s| path_uuid(s))
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
    pub(crate) fn uuid(&self, name: &str) -> Result<Uuid, EmuError> {
        self.ids
            .get(name)
            .and_then(|s| path_uuid(s))
            .ok_or(EmuError::NotFound)
    }
    pub(crate) fn user(&self) -> Result<Uuid, EmuError> {
        self.uuid("user_id")
    }
    pub(crate) fn kind(&self) -> Result<DeviceKind, EmuError> {
        self.ids
            .get("kind")
            .and_then(|k| DeviceKind::from_path_segment(k))
            .ok_or(EmuError::NotFound)
    }
}

/// The query's `include_deleted` flag (other parameters are ignored, as
/// Django-Ninja does); a query that cannot be read or names the flag twice
/// is a 422 naming it.
pub(crate) struct Flags {
    include_deleted: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Flags {
    type Rejection = EmuError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, EmuError> {
        let query = parts.uri.query().unwrap_or_default();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|_| {
            EmuError::query(
                "include_deleted",
                "The query string could not be read; send include_deleted=true or false.",
            )
        })?;
        let mut given = pairs.into_iter().filter(|(k, _)| k == "include_deleted");
        let include_deleted = given.next().map(|(_, v)| v);
        if given.next().is_some() {
            return Err(EmuError::query(
                "include_deleted",
                "include_deleted is given more than once; give it once, true or false.",
            ));
        }
        Ok(Flags { include_deleted })
    }
}

impl Flags {
    pub(crate) fn include_deleted(&self) -> Result<bool, EmuError> {
        match self.include_deleted.as_deref() {
            None | Some("false") | Some("False") | Some("0") => Ok(false),
            Some("true") | Some("True") | Some("1") => Ok(true),
            Some(_) => Err(EmuError::query("include_deleted", "Use true or false.")),
        }
    }
}
