//! Test hooks under `/_emulator`: direct control of the simulated world,
//! for tests and demos. They exist only on the emulator (real Podero has
//! nothing like them) and need no token.
//!
//! `POST /_emulator/devices/{device_id}/connection` with
//! `{"authenticated": false}` makes the device lose its manufacturer
//! connection at once (as churn does), `{"authenticated": true}` reconnects
//! it (as the customer's completed `/connect` page does). It answers the
//! device as the Partner API shows it.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

use super::Emu;
use crate::error::{parse_json, EmuError, RawBody};

/// The largest body the hook reads.
pub(crate) const MAX_BODY: usize = 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Connection {
    authenticated: bool,
}

pub(crate) async fn set_connection(
    State(emu): Emu,
    device_id: Result<Path<String>, PathRejection>,
    body: Result<RawBody<MAX_BODY>, EmuError>,
) -> Result<impl IntoResponse, EmuError> {
    // Not a UUID, or not even UTF-8 once percent-decoded: no such device.
    let device_id = device_id
        .ok()
        .and_then(|Path(id)| super::path_uuid(&id))
        .ok_or(EmuError::NotFound)?;
    let RawBody(body) = body?;
    let Connection { authenticated } = parse_json(&body)?;
    Ok(Json(emu.set_connection(device_id, authenticated).await?))
}
