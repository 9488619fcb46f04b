//! `GET /api/app-info`: what the browser app needs to know about the
//! gateway — the organisation it serves, whether it talks to the embedded
//! emulator or a real Podero, and the "Verify connection" deadline — as
//! [`shared::AppInfo`] JSON.
//!
//! A Leptos server function (`leptos_axum`) was considered for this; a plain
//! JSON endpoint was chosen to keep the gateway free of the Leptos dependency
//! tree (and its build time), since this is the only non-proxy data the app
//! needs.

use axum::extract::State;
use axum::Json;
use shared::AppInfo;

use crate::podero::Podero;
use crate::startup::Settings;

#[utoipa::path(
    get,
    path = "/api/app-info",
    tag = "app",
    operation_id = "app_info",
    summary = "The gateway's facts for the app",
    description = "The organisation served, whether the upstream is the embedded emulator or \
        Podero, the gateway's version and the \"Verify connection\" deadline. Never \
        credentials.",
    security(("session" = ["admin", "staff", "viewer"])),
    responses((status = 200, description = "The facts.", body = AppInfo))
)]
pub async fn app_info(
    State(podero): State<Podero>,
    State(settings): State<Settings>,
) -> Json<AppInfo> {
    Json(AppInfo {
        org_id: podero.org_id(),
        upstream: podero.kind(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        verify_secs: settings.verify_secs,
    })
}
