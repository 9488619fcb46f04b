//! Liveness: `GET /healthz` answers `200 {"status":"ok"}` without touching
//! Podero, so it says "the gateway process serves", nothing more.

use axum::Json;
use serde_json::{json, Value};

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}
