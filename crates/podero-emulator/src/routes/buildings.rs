//! Buildings of a user: list, create, get, partial update, delete.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use shared::BuildingWrite;

use super::{Emu, Scope};
use crate::error::{ApiJson, EmuError};

pub(crate) async fn list_buildings(
    State(emu): Emu,
    s: Scope,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(emu.list_buildings(s.user()?).await?))
}

pub(crate) async fn create_building(
    State(emu): Emu,
    s: Scope,
    ApiJson(body): ApiJson<BuildingWrite>,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(emu.create_building(s.user()?, body).await?))
}

pub(crate) async fn get_building(State(emu): Emu, s: Scope) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(
        emu.get_building(s.user()?, s.uuid("building_id")?).await?,
    ))
}

pub(crate) async fn update_building(
    State(emu): Emu,
    s: Scope,
    ApiJson(body): ApiJson<BuildingWrite>,
) -> Result<impl IntoResponse, EmuError> {
    Ok(Json(
        emu.update_building(s.user()?, s.uuid("building_id")?, body)
            .await?,
    ))
}

pub(crate) async fn delete_building(State(emu): Emu, s: Scope) -> Result<StatusCode, EmuError> {
    emu.delete_building(s.user()?, s.uuid("building_id")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
