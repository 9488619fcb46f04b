//! The fleet watch's coverage (`GET /api/watch`), what it knows of one
//! user (`GET /api/watch/users/{id}`), and the outgoing webhook's delivery
//! log (`GET /api/webhooks/deliveries`, admins).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::{Extension, Json};
use shared::cases::{
    WatchStatus, WatchedUser, WebhookDelivery, WATCH_PATH, WEBHOOK_DELIVERIES_PATH,
};
use shared::ApiError;
use uuid::Uuid;

use crate::audit::Note;
use crate::auth::Actor;
use crate::cases::{webhook, Cases};
use crate::directory::Directory;
use crate::error::{GatewayError, Msg};
use crate::openapi::BAD_ID;
use crate::watch::Watch;

/// `GET /api/watch`.
#[utoipa::path(
    get,
    path = WATCH_PATH,
    tag = "cases",
    operation_id = "watch_status",
    summary = "The fleet watch's coverage",
    description = "Its budget towards Podero, how long a full round takes at that budget and \
        the organisation's size, the round under way and the last one, and the devices known \
        and lost.",
    security(("session" = ["admin", "staff", "viewer"])),
    responses((status = 200, description = "The coverage.", body = WatchStatus))
)]
pub async fn status(
    State(watch): State<Watch>,
    State(directory): State<Arc<Directory>>,
    _actor: Actor,
) -> Result<Json<WatchStatus>, GatewayError> {
    Ok(Json(watch.status(&directory).await?))
}

/// `GET /api/watch/users/{id}`.
#[utoipa::path(
    get,
    path = "/api/watch/users/{id}",
    tag = "cases",
    operation_id = "watch_user",
    summary = "What the fleet watch knows of one user",
    description = "When it last read the user's devices, each device's last known state \
        (with since when it is lost) and the latest transitions, newest first.",
    params(("id" = Uuid, Path, description = "The Podero user's id.")),
    security(("session" = ["admin", "staff", "viewer"])),
    responses(
        (status = 200, description = "What the watch knows (empty before its first look).",
            body = WatchedUser),
        (status = 400, description = BAD_ID, body = ApiError),
    )
)]
pub async fn user(
    State(watch): State<Watch>,
    Extension(note): Extension<Note>,
    _actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<WatchedUser>, GatewayError> {
    let id =
        Uuid::parse_str(&id).map_err(|_| GatewayError::BadPath(Msg::new("error.path.user_id")))?;
    note.target(id);
    Ok(Json(watch.store().user(id).await?))
}

/// `GET /api/webhooks/deliveries`.
#[utoipa::path(
    get,
    path = WEBHOOK_DELIVERIES_PATH,
    tag = "cases",
    operation_id = "webhook_deliveries",
    summary = "The outgoing webhook's delivery log",
    description = "The latest 200 messages (case opened, case resolved), newest first, with \
        their attempts and outcome. Empty when GATEWAY_WEBHOOK_URL is not set.",
    security(("session" = ["admin"])),
    responses(
        (status = 200, description = "The log.", body = Vec<WebhookDelivery>),
        (status = 403, description = "`forbidden`: admins only.", body = ApiError),
    )
)]
pub async fn deliveries(
    State(cases): State<Cases>,
    actor: Actor,
) -> Result<Json<Vec<WebhookDelivery>>, GatewayError> {
    actor.require_admin("error.admin_action.read_webhooks")?;
    Ok(Json(webhook::deliveries(cases.db(), 200).await?))
}
