//! The audit trail for the app: `GET /api/audit` (a filtered page, newest
//! first) and `GET /api/audit.csv` (everything the filter matches), both
//! admins only; `GET /api/audit/users/{id}` (one end-user's change
//! history, part of the user page). The history only ever holds records
//! about end-users (users, their devices and buildings), and for anyone but
//! an admin only when the id is an end-user's: records about team members
//! stay with admins. Whether the id is a team member is read from the
//! accounts and from Podero (archived users too); if Podero cannot say,
//! the answer is a refusal, never the records.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::Json;
use shared::staff::{AuditEntry, AuditPage, AuditQuery};
use uuid::Uuid;

use crate::audit::AuditLog;
use crate::auth::{Actor, Auth};
use crate::error::{GatewayError, Msg};
use crate::podero::Podero;

fn parse(query: Option<String>) -> Result<AuditQuery, GatewayError> {
    AuditQuery::parse(query.as_deref().unwrap_or("")).map_err(GatewayError::InvalidQuery)
}

/// `GET /api/audit?…`.
pub async fn page(
    State(audit): State<AuditLog>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> Result<Json<AuditPage>, GatewayError> {
    actor.require_admin("error.admin_action.read_audit")?;
    Ok(Json(audit.page(&parse(query)?).await?))
}

/// `GET /api/audit.csv?…`.
pub async fn csv(
    State(audit): State<AuditLog>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> Result<Response, GatewayError> {
    actor.require_admin("error.admin_action.export_audit")?;
    let chunks = audit.csv(&parse(query)?, crate::lang::current());
    Ok(crate::csv::download("audit", Body::from_stream(chunks)))
}

/// `GET /api/audit/users/{id}`.
pub async fn user_history(
    State(audit): State<AuditLog>,
    State(auth): State<Auth>,
    State(podero): State<Podero>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Vec<AuditEntry>>, GatewayError> {
    let id =
        Uuid::parse_str(&id).map_err(|_| GatewayError::BadPath(Msg::new("error.path.user_id")))?;
    if !actor.role().is_admin() {
        let team_only = || GatewayError::Forbidden(Msg::new("error.forbidden.team_records"));
        if auth.accounts().is_linked(id).await? {
            return Err(team_only());
        }
        match podero.role_of(id).await? {
            Some(role) if role.is_team() => return Err(team_only()),
            Some(_) => {}
            None => {
                return Err(GatewayError::NotFound(Msg::new(
                    "error.not_found.podero_user",
                )))
            }
        }
    }
    Ok(Json(audit.user_history(id).await?))
}
