//! Liveness: `GET /healthz` answers `200 {"status":"ok"}` without touching
//! Podero, so it says "the gateway process serves", nothing more.

use axum::Json;
use serde_json::{json, Value};

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    operation_id = "healthz",
    summary = "Liveness",
    description = "The gateway process serves; Podero is not asked.",
    responses((status = 200, description = "Alive.", body = Object,
        example = json!({"status": "ok"})))
)]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}
