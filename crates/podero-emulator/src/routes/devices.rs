//! The four device types (`heat-pumps`, `electric-vehicles`, `wallboxes`,
//! `inverters`) of a user: list, register, get, partial update, soft delete,
//! and `auth_session` (a fresh reconnection link).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use shared::AuthSessionRequest;

use super::{Emu, Flags, Scope};
use crate::error::{json_hint, parse_json, EmuError, RawBody};

pub(crate) async fn list_devices(
    State(emu): Emu,
    s: Scope,
    f: Flags,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(
        emu.list_devices(s.user()?, s.kind()?, f.include_deleted()?)
            .await?,
    ))
}

pub(crate) async fn register_device(
    State(emu): Emu,
    s: Scope,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(
        emu.register_device(s.user()?, s.kind()?, &body)
            .await
            .map_err(|e| json_hint(e, &headers))?,
    ))
}

pub(crate) async fn get_device(
    State(emu): Emu,
    s: Scope,
    f: Flags,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(
        emu.get_device(
            s.user()?,
            s.kind()?,
            s.uuid("device_id")?,
            f.include_deleted()?,
        )
        .await?,
    ))
}

pub(crate) async fn update_device(
    State(emu): Emu,
    s: Scope,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(
        emu.update_device(s.user()?, s.kind()?, s.uuid("device_id")?, &body)
            .await
            .map_err(|e| json_hint(e, &headers))?,
    ))
}

pub(crate) async fn delete_device(State(emu): Emu, s: Scope) -> Result<StatusCode, EmuError> {
    emu.delete_device(s.user()?, s.kind()?, s.uuid("device_id")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn auth_session(
    State(emu): Emu,
    s: Scope,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, EmuError> {
    // An empty body means "no redirect URLs".
    let req: AuthSessionRequest = if body.iter().all(u8::is_ascii_whitespace) {
        AuthSessionRequest::default()
    } else {
        parse_json(&body)?
    };
    Ok(Json(
        emu.auth_session(s.user()?, s.kind()?, s.uuid("device_id")?, req)
            .await?,
    ))
}
