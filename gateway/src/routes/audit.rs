//! The audit trail for the app: `GET /api/audit` (a filtered page, newest
//! first) and `GET /api/audit.csv` (everything the filter matches), both
//! admins only; `GET /api/audit/users/{id}` (one end-user's change
//! history, every role: it is part of the user page).

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::Json;
use shared::staff::{AuditEntry, AuditPage, AuditQuery};
use uuid::Uuid;

use crate::auth::Actor;
use crate::error::GatewayError;
use crate::startup::AppState;

fn parse(query: Option<String>) -> Result<AuditQuery, GatewayError> {
    AuditQuery::parse(query.as_deref().unwrap_or("")).map_err(GatewayError::InvalidQuery)
}

/// `GET /api/audit?…`.
pub async fn page(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> Result<Json<AuditPage>, GatewayError> {
    actor.require_admin("read the audit trail")?;
    Ok(Json(state.audit().page(&parse(query)?).await?))
}

/// `GET /api/audit.csv?…`.
pub async fn csv(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> Result<Response, GatewayError> {
    actor.require_admin("export the audit trail")?;
    let chunks = state.audit().csv(&parse(query)?);
    let stream = futures::stream::unfold(chunks, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    Ok(crate::csv::download("audit", Body::from_stream(stream)))
}

/// `GET /api/audit/users/{id}`.
pub async fn user_history(
    State(state): State<AppState>,
    _actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Vec<AuditEntry>>, GatewayError> {
    let id =
        Uuid::parse_str(&id).map_err(|_| GatewayError::BadPath("user id must be a UUID".into()))?;
    Ok(Json(state.audit().user_history(id).await?))
}
