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

use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use shared::DeviceKind;
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
        );
    Router::new()
        .route("/oauth2/token/", post(token::token))
        .route("/oauth2/token", post(token::token))
        .nest("/api/partners/v2.0", api)
        .route(
            "/connect/{session_id}",
            get(connect::page).post(connect::complete),
        )
        .route(
            "/_emulator/devices/{device_id}/connection",
            post(hooks::set_connection).layer(DefaultBodyLimit::max(hooks::MAX_BODY)),
        )
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .fallback(|| async { EmuError::NotFound })
        .with_state(emulator)
}

// ---- shared extractors ------------------------------------------------------

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
    pub(crate) fn uuid(&self, name: &str) -> Result<Uuid, EmuError> {
        self.ids
            .get(name)
            .and_then(|s| Uuid::parse_str(s).ok())
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

#[derive(Deserialize)]
pub(crate) struct Flags {
    include_deleted: Option<String>,
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
