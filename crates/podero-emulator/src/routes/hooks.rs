//! Test hooks under `/_emulator`: direct control of the simulated world,
//! for tests and demos. They exist only on the emulator (real Podero has
//! nothing like them) and need no token.
//!
//! `POST /_emulator/devices/{device_id}/connection` with
//! `{"authenticated": false}` makes the device lose its manufacturer
//! connection at once (as churn does), `{"authenticated": true}` reconnects
//! it (as the customer's completed `/connect` page does). It answers the
//! device as the Partner API shows it.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use uuid::Uuid;

use super::Emu;
use crate::error::{parse_json, EmuError};

/// The largest body the hook reads.
pub(crate) const MAX_BODY: usize = 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Connection {
    authenticated: bool,
}

pub(crate) async fn set_connection(
    State(emu): Emu,
    Path(device_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, EmuError> {
    let device_id = Uuid::parse_str(&device_id).map_err(|_| EmuError::NotFound)?;
    let body = body.map_err(|_| EmuError::TooLarge(MAX_BODY))?;
    let Connection { authenticated } = parse_json(&body)?;
    Ok(Json(emu.set_connection(device_id, authenticated).await?))
}
