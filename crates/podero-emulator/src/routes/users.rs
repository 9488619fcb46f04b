//! Users of the organisation: list, create, get, partial update, soft
//! delete, and lookup by external id.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::{CreateUser, UpdateUser};

use super::{Emu, Flags, Scope};
use crate::error::{ApiJson, EmuError};

pub(crate) async fn list_users(State(emu): Emu, _s: Scope, f: Flags) -> Result<Response, EmuError> {
    let stream = emu.users_json(f.include_deleted()?);
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response())
}

pub(crate) async fn create_user(
    State(emu): Emu,
    _s: Scope,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(emu.create_user(body).await?))
}

pub(crate) async fn get_user(
    State(emu): Emu,
    s: Scope,
    f: Flags,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(emu.get_user(s.user()?, f.include_deleted()?).await?))
}

pub(crate) async fn user_by_ext_id(
    State(emu): Emu,
    s: Scope,
    f: Flags,
) -> Result<impl IntoResponse, EmuError> {
    let ext = s.ids.get("external_id").ok_or(EmuError::NotFound)?;
    Ok(Json(
        emu.user_by_external_id(ext, f.include_deleted()?).await?,
    ))
}

pub(crate) async fn update_user(
    State(emu): Emu,
    s: Scope,
    ApiJson(body): ApiJson<UpdateUser>,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(emu.update_user(s.user()?, body).await?))
}

pub(crate) async fn delete_user(State(emu): Emu, s: Scope) -> Result<StatusCode, EmuError> {
    emu.delete_user(s.user()?).await?;
    Ok(StatusCode::NO_CONTENT)
}
