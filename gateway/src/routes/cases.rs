//! Support cases for the app: the queue (`GET /api/cases`, its CSV and
//! its counts), a case with its timeline, opening one, changing it
//! (state, assignee, priority, subject) and commenting.
//!
//! Every role reads. Changes: admins on any case; staff on cases of
//! end-users only (Podero role `user` or `guest`, read from Podero just
//! before, failing closed like the proxy's checks); viewers none. An
//! assignee must be a back-office account that may work cases (admin or
//! staff). Each change is noted for the audit trail and its intent written
//! before it is made ([`crate::audit::Note::begin`]).

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;
use shared::cases::{
    Assignee, Case, CaseCounts, CaseDetail, CaseKind, CaseList, CaseQuery, CaseUpdate, NewCase,
    NewComment, Priority, CASES_ASSIGNEES_PATH, CASES_CSV_PATH, CASES_PATH, CASES_SUMMARY_PATH,
};
use shared::staff::StaffRole;
use shared::{ApiError, FieldError};
use uuid::Uuid;

use crate::audit::{self, Note};
use crate::auth::{Actor, Auth};
use crate::cases::{By, Cases, Opening};
use crate::error::{GatewayError, Msg};
use crate::openapi::{CaseQueryParams, BAD_ID};
use crate::podero::{ApiRoute, Podero};
use crate::routes::{read_json, PlainBody};

fn parse(query: Option<String>) -> Result<CaseQuery, GatewayError> {
    CaseQuery::parse(query.as_deref().unwrap_or("")).map_err(GatewayError::InvalidQuery)
}

fn by(actor: &Actor) -> By {
    By::Staff {
        id: actor.account.id,
        email: actor.account.email.clone(),
    }
}

fn case_id(id: &str) -> Result<i64, GatewayError> {
    id.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| GatewayError::BadPath(Msg::new("error.path.case_id")))
}

/// Viewers read only: refused before anything else is looked at.
pub fn refuse_viewer(actor: &Actor) -> Result<(), GatewayError> {
    if actor.role() == StaffRole::Viewer {
        return Err(GatewayError::Forbidden(Msg::new(
            "error.forbidden.viewer_reads_only",
        )));
    }
    Ok(())
}

/// May `actor` work cases of `user`? Viewers never; staff only end-users'
/// (the role read from Podero, failing closed); admins always.
async fn may_work(podero: &Podero, actor: &Actor, user: Uuid) -> Result<(), GatewayError> {
    refuse_viewer(actor)?;
    match actor.role() {
        StaffRole::Admin | StaffRole::Viewer => Ok(()),
        StaffRole::Staff => match podero.role_of(user).await? {
            Some(role) if role.is_team() => Err(GatewayError::Forbidden(
                Msg::new("error.forbidden.staff_cases_of_team").with("role", role.as_str()),
            )),
            Some(_) => Ok(()),
            None => Err(GatewayError::NotFound(Msg::new(
                "error.not_found.podero_user",
            ))),
        },
    }
}

async fn load(cases: &Cases, id: i64) -> Result<CaseDetail, GatewayError> {
    cases
        .get(id)
        .await?
        .ok_or_else(|| GatewayError::NotFound(Msg::new("error.not_found.case")))
}

/// `GET /api/cases?…`.
#[utoipa::path(
    get,
    path = CASES_PATH,
    tag = "cases",
    operation_id = "cases_list",
    summary = "The cases queue",
    description = "A page of the cases the filters match (`user_id=…` for one end-user's), with \
        the counts per state under the other filters. Unknown parameters are ignored.",
    params(CaseQueryParams),
    security(("session" = ["admin", "staff", "viewer"])),
    responses(
        (status = 200, description = "The page.", body = CaseList),
        (status = 400, description = "`invalid_query`: a parameter has a bad value.",
            body = ApiError),
    )
)]
pub async fn list(
    State(cases): State<Cases>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> Result<Json<CaseList>, GatewayError> {
    Ok(Json(cases.list(&parse(query)?, actor.account.id).await?))
}

/// `GET /api/cases/summary?…`.
#[utoipa::path(
    get,
    path = CASES_SUMMARY_PATH,
    tag = "cases",
    operation_id = "cases_summary",
    summary = "Counts of cases",
    description = "Cases per state and the open unassigned ones (the top bar's badge), under \
        the filters given (the state filter is ignored).",
    params(CaseQueryParams),
    security(("session" = ["admin", "staff", "viewer"])),
    responses(
        (status = 200, description = "The counts.", body = CaseCounts),
        (status = 400, description = "`invalid_query`: a parameter has a bad value.",
            body = ApiError),
    )
)]
pub async fn summary(
    State(cases): State<Cases>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> Result<Json<CaseCounts>, GatewayError> {
    Ok(Json(cases.counts(&parse(query)?, actor.account.id).await?))
}

/// `GET /api/cases/assignees`.
#[utoipa::path(
    get,
    path = CASES_ASSIGNEES_PATH,
    tag = "cases",
    operation_id = "cases_assignees",
    summary = "Who can be assigned a case",
    description = "The back-office accounts that work cases (admins and staff), for the \
        assignee choice; viewers are not among them.",
    security(("session" = ["admin", "staff", "viewer"])),
    responses((status = 200, description = "The accounts.", body = Vec<Assignee>))
)]
pub async fn assignees(
    State(auth): State<Auth>,
    _actor: Actor,
) -> Result<Json<Vec<Assignee>>, GatewayError> {
    let team = auth.accounts().team(crate::database::now_ms()).await?;
    Ok(Json(
        team.into_iter()
            .filter(|m| m.role.can_change_users())
            .map(|m| Assignee {
                id: m.id,
                name: m.display_name,
                email: m.email,
            })
            .collect(),
    ))
}

/// `GET /api/cases.csv?…`.
#[utoipa::path(
    get,
    path = CASES_CSV_PATH,
    tag = "cases",
    operation_id = "cases_csv",
    summary = "The cases queue as CSV",
    description = "Every case the filters match (all pages, at most 200,000), in the queue's \
        order; the header in the request's language.",
    params(CaseQueryParams),
    security(("session" = ["admin", "staff", "viewer"])),
    responses(
        (status = 200, description = "The CSV file.", content_type = crate::csv::CONTENT_TYPE,
            body = String),
        (status = 400, description = "`invalid_query`: a parameter has a bad value.",
            body = ApiError),
    )
)]
pub async fn csv(
    State(cases): State<Cases>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> Result<Response, GatewayError> {
    let all = cases.all(&parse(query)?, actor.account.id).await?;
    let body = crate::cases::csv::render(&all, crate::lang::current());
    Ok(crate::csv::download("cases", Body::from(body)))
}

/// `POST /api/cases`.
#[utoipa::path(
    post,
    path = CASES_PATH,
    tag = "cases",
    operation_id = "cases_open",
    summary = "Open a case",
    description = "Opens a case for an end-user (optionally about one of their devices), with \
        an optional first comment. A device has one unresolved device-connection case at most: \
        opening another answers 409 naming it.",
    request_body = NewCase,
    security(("session" = ["admin", "staff"], "csrf" = [])),
    responses(
        (status = 201, description = "Opened.", body = CaseDetail),
        (status = 403, description = "`forbidden`: viewers read only; staff work cases of \
            end-users only.", body = ApiError),
        (status = 404, description = "`not_found`: Podero has no such user.", body = ApiError),
        (status = 409, description = "`conflict`: the device has an open device-connection \
            case already.", body = ApiError),
        (status = 422, description = "`invalid_body`: a field breaks a rule; `loc` names it.",
            body = ApiError),
    )
)]
pub async fn open(
    State(cases): State<Cases>,
    State(podero): State<Podero>,
    Extension(note): Extension<Note>,
    actor: Actor,
    PlainBody(body): PlainBody,
) -> Result<Response, GatewayError> {
    refuse_viewer(&actor)?;
    let new: NewCase = read_json(body).await?;
    new.validate().map_err(GatewayError::InvalidBody)?;
    note.target(new.user_id);
    note.changes(audit::created(&json!({
        "kind": new.kind.map(|k| k.as_str()),
        "subject": new.subject.trim(),
        "priority": new.priority.unwrap_or(Priority::Normal).as_str(),
        "device_id": new.device_id,
    })));
    may_work(&podero, &actor, new.user_id).await?;
    let user: shared::User = podero.get(&ApiRoute::User(new.user_id), true).await?;
    let device = match (new.device_id, new.device_kind) {
        (Some(id), Some(kind)) => {
            let d: shared::DeviceCommon = podero
                .get(&ApiRoute::Device(new.user_id, kind, id), false)
                .await
                .map_err(|e| match e {
                    GatewayError::Podero { status, .. } if status == StatusCode::NOT_FOUND => {
                        GatewayError::InvalidBody(vec![FieldError::keyed(
                            "device_id",
                            "error.field.case_device_unknown",
                            &[],
                        )])
                    }
                    e => e,
                })?;
            Some((id, kind, crate::watch::store::label(kind, &d)))
        }
        _ => None,
    };
    let kind = new.kind.unwrap_or(CaseKind::Other);
    note.begin().await?;
    let opened = cases
        .open(
            Opening {
                user_id: new.user_id,
                user_name: user.display_name(),
                device,
                kind,
                subject: new.subject.trim().to_string(),
                priority: new.priority.unwrap_or(Priority::Normal),
                lost_since: None,
                comment: new.comment.clone(),
            },
            &by(&actor),
        )
        .await?;
    let Some(id) = opened else {
        return Err(GatewayError::Conflict(vec![FieldError::keyed(
            "device_id",
            "error.field.case_device_has_open_case",
            &[],
        )]));
    };
    note.detail(format!("case {id}"));
    let detail = load(&cases, id).await?;
    Ok((StatusCode::CREATED, Json(detail)).into_response())
}

/// `GET /api/cases/{id}`.
#[utoipa::path(
    get,
    path = "/api/cases/{id}",
    tag = "cases",
    operation_id = "cases_get",
    summary = "A case with its timeline",
    params(("id" = i64, Path, description = "The case number.")),
    security(("session" = ["admin", "staff", "viewer"])),
    responses(
        (status = 200, description = "The case; its events oldest first.", body = CaseDetail),
        (status = 400, description = BAD_ID, body = ApiError),
        (status = 404, description = "`not_found`: no such case.", body = ApiError),
    )
)]
pub async fn get(
    State(cases): State<Cases>,
    Extension(note): Extension<Note>,
    _actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<CaseDetail>, GatewayError> {
    let detail = load(&cases, case_id(&id)?).await?;
    note.target(detail.case.user_id);
    Ok(Json(detail))
}

/// `PATCH /api/cases/{id}`.
#[utoipa::path(
    patch,
    path = "/api/cases/{id}",
    tag = "cases",
    operation_id = "cases_update",
    summary = "Change a case",
    description = "State, assignee (an admin or staff account's id, or null), priority, \
        subject: only the fields sent change, each one an event on the timeline.",
    params(("id" = i64, Path, description = "The case number.")),
    request_body = CaseUpdate,
    security(("session" = ["admin", "staff"], "csrf" = [])),
    responses(
        (status = 200, description = "The case as it is now.", body = CaseDetail),
        (status = 400, description = BAD_ID, body = ApiError),
        (status = 403, description = "`forbidden`: viewers read only; staff work cases of \
            end-users only.", body = ApiError),
        (status = 404, description = "`not_found`: no such case.", body = ApiError),
        (status = 409, description = "`conflict`: reopening would give the device a second \
            open device-connection case.", body = ApiError),
        (status = 422, description = "`invalid_body`: a field breaks a rule, or the assignee \
            is not an account that works cases; `loc` names it.", body = ApiError),
    )
)]
pub async fn update(
    State(cases): State<Cases>,
    State(auth): State<Auth>,
    State(podero): State<Podero>,
    Extension(note): Extension<Note>,
    actor: Actor,
    Path(id): Path<String>,
    PlainBody(body): PlainBody,
) -> Result<Json<CaseDetail>, GatewayError> {
    refuse_viewer(&actor)?;
    let id = case_id(&id)?;
    let change: CaseUpdate = read_json(body).await?;
    change.validate().map_err(GatewayError::InvalidBody)?;
    let before: Case = load(&cases, id).await?.case;
    note.target(before.user_id);
    note.detail(format!("case {id}"));
    may_work(&podero, &actor, before.user_id).await?;
    let assignee_email = match change.assignee {
        Some(Some(account)) => {
            let bad = || {
                GatewayError::InvalidBody(vec![FieldError::keyed(
                    "assignee",
                    "error.field.case_assignee",
                    &[],
                )])
            };
            let found = auth.accounts().get(account).await?.ok_or_else(bad)?;
            if !found.role.can_change_users() {
                return Err(bad());
            }
            Some(found.email)
        }
        _ => None,
    };
    note.begin().await?;
    let changes = cases
        .update(id, &before, &change, &by(&actor), assignee_email.as_deref())
        .await?;
    note.changes(changes);
    Ok(Json(load(&cases, id).await?))
}

/// `POST /api/cases/{id}/comments`.
#[utoipa::path(
    post,
    path = "/api/cases/{id}/comments",
    tag = "cases",
    operation_id = "cases_comment",
    summary = "Comment on a case",
    params(("id" = i64, Path, description = "The case number.")),
    request_body = NewComment,
    security(("session" = ["admin", "staff"], "csrf" = [])),
    responses(
        (status = 201, description = "The case with the comment.", body = CaseDetail),
        (status = 400, description = BAD_ID, body = ApiError),
        (status = 403, description = "`forbidden`: viewers read only; staff work cases of \
            end-users only.", body = ApiError),
        (status = 404, description = "`not_found`: no such case.", body = ApiError),
        (status = 422, description = "`invalid_body`: the comment is empty or too long.",
            body = ApiError),
    )
)]
pub async fn comment(
    State(cases): State<Cases>,
    State(podero): State<Podero>,
    Extension(note): Extension<Note>,
    actor: Actor,
    Path(id): Path<String>,
    PlainBody(body): PlainBody,
) -> Result<Response, GatewayError> {
    refuse_viewer(&actor)?;
    let id = case_id(&id)?;
    let new: NewComment = read_json(body).await?;
    new.validate().map_err(GatewayError::InvalidBody)?;
    let before = load(&cases, id).await?.case;
    note.target(before.user_id);
    note.detail(format!("case {id}"));
    note.changes(audit::created(&json!({ "comment": new.text.trim() })));
    may_work(&podero, &actor, before.user_id).await?;
    note.begin().await?;
    cases.comment(id, &new.text, &by(&actor)).await?;
    Ok((StatusCode::CREATED, Json(load(&cases, id).await?)).into_response())
}
