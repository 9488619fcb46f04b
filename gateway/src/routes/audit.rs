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
use shared::staff::{AuditEntry, AuditPage, AuditQuery, AUDIT_CSV_PATH, AUDIT_PATH};
use shared::ApiError;
use uuid::Uuid;

use crate::audit::AuditLog;
use crate::auth::{Actor, Auth};
use crate::error::{GatewayError, Msg};
use crate::openapi::{AuditQueryParams, BAD_ID};
use crate::podero::Podero;

fn parse(query: Option<String>) -> Result<AuditQuery, GatewayError> {
    AuditQuery::parse(query.as_deref().unwrap_or("")).map_err(GatewayError::InvalidQuery)
}

/// `GET /api/audit?…`.
#[utoipa::path(
    get,
    path = AUDIT_PATH,
    tag = "audit",
    operation_id = "audit_page",
    summary = "A page of the audit trail",
    description = "The operations the filter matches, newest first. Unknown parameters are \
        ignored.",
    params(AuditQueryParams),
    security(("session" = ["admin"])),
    responses(
        (status = 200, description = "The page.", body = AuditPage),
        (status = 400, description = "`invalid_query`: a parameter has a bad value.",
            body = ApiError),
    )
)]
pub async fn page(
    State(audit): State<AuditLog>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> Result<Json<AuditPage>, GatewayError> {
    actor.require_admin("error.admin_action.read_audit")?;
    Ok(Json(audit.page(&parse(query)?).await?))
}

/// `GET /api/audit.csv?…`.
#[utoipa::path(
    get,
    path = AUDIT_CSV_PATH,
    tag = "audit",
    operation_id = "audit_csv",
    summary = "The audit trail as CSV",
    description = "Every operation the filter matches (all pages), newest first; the header \
        in the request's language.",
    params(AuditQueryParams),
    security(("session" = ["admin"])),
    responses(
        (status = 200, description = "The CSV file.", content_type = crate::csv::CONTENT_TYPE,
            body = String,
            headers(("Content-Disposition" = String, description = "`attachment; \
                filename=\"audit-<time>.csv\"`"))),
        (status = 400, description = "`invalid_query`: a parameter has a bad value.",
            body = ApiError),
    )
)]
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
#[utoipa::path(
    get,
    path = "/api/audit/users/{id}",
    tag = "audit",
    operation_id = "audit_user_history",
    summary = "One end-user's change history",
    description = "Every record about the user (them, their devices and buildings), newest \
        first. Records about a team member (a Podero admin or staff user, or one linked to an \
        account) are for admins only: for anyone else the user's role is read from the \
        accounts and from Podero, and a failed read refuses.",
    params(("id" = Uuid, Path, description = "The Podero user's id.")),
    security(("session" = ["admin", "staff", "viewer"])),
    responses(
        (status = 200, description = "The history.", body = Vec<AuditEntry>),
        (status = 400, description = BAD_ID, body = ApiError),
        (status = 403, description = "`forbidden`: the user is a team member, and only admins \
            read their records.", body = ApiError),
        (status = 404, description = "`not_found`: Podero has no such user (asked for \
            non-admins only).", body = ApiError),
        (status = 503, description = "`role_check_failed`: the user's role could not be read \
            from Podero.", body = ApiError),
    )
)]
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
