//! `/api/team`: the organisation's colleagues, admins only.
//!
//! A colleague is a back-office account and, for roles admin and staff, a
//! Podero team member of the same role; this is the one place that keeps
//! the two together. Inviting creates both (the Podero user first; if the
//! account cannot be stored, the Podero user is archived again) and
//! answers a one-time password, shown once. Inviting a person who already
//! is a Podero admin or staff member links the account to that user. Changing a role changes both
//! (to viewer: the Podero team member is archived, viewers exist only in
//! the back-office; from viewer: one is created). Removing removes both.
//! Admins cannot change, remove or end the sessions of their own account
//! here, so there is always an admin left.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};
use shared::staff::{Invite, Invited, RoleChange, SessionsEnded, TeamMember};
use shared::{ApiError, CreateUser, FieldError, UpdateUser, User};
use uuid::Uuid;

use crate::audit::{self, Note};
use crate::auth::accounts::{NewAccount, StoredAccount};
use crate::auth::{password, Actor};
use crate::database::{now_ms, to_time};
use crate::error::GatewayError;
use crate::routes::proxy::ApiRoute;
use crate::routes::read_json;
use crate::startup::AppState;

/// A member just invited (no session yet).
fn invited(a: &StoredAccount) -> TeamMember {
    TeamMember {
        id: a.id,
        email: a.email.clone(),
        display_name: a.display_name(),
        role: a.role,
        podero_user_id: a.podero_user_id,
        must_change_password: a.must_change_password,
        created_at: to_time(a.created_at),
        last_seen_at: None,
        active_sessions: 0,
    }
}

/// Send a call to Podero and read its JSON answer; a refusal is passed on
/// with Podero's own (field-shaped) body.
async fn podero(
    state: &AppState,
    method: Method,
    route: ApiRoute,
    body: Option<Value>,
) -> Result<Value, GatewayError> {
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    let bytes = match body {
        Some(b) => {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Bytes::from(b.to_string())
        }
        None => Bytes::new(),
    };
    let path = route.upstream_path(state.org_id());
    let response = state.upstream().send(method, &path, headers, bytes).await?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        let error = serde_json::from_str::<ApiError>(&text)
            .unwrap_or_else(|_| ApiError::message(format!("Podero answered HTTP {status}")));
        return Err(GatewayError::Podero { status, error });
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Create the Podero team member of an account.
async fn create_podero_member(
    state: &AppState,
    email: &str,
    first_name: &str,
    last_name: &str,
    role: shared::Role,
) -> Result<Uuid, GatewayError> {
    let mut body = CreateUser::new(role, email);
    body.first_name = Some(first_name.to_string());
    body.last_name = Some(last_name.to_string());
    let created = podero(state, Method::POST, ApiRoute::Users, Some(json!(body))).await?;
    state.directory().request_refresh();
    serde_json::from_value::<User>(created)
        .map(|u| u.id)
        .map_err(|e| GatewayError::UpstreamBadResponse(format!("created user unreadable: {e}")))
}

/// Podero has a user with this e-mail already (it answered 409): if it is
/// an active team member (admin or staff), the new account is linked to it
/// and its role set to `role`, so existing Podero colleagues get access
/// through the same invitation. An end-user's address is refused.
async fn link_existing_member(
    state: &AppState,
    email: &str,
    role: shared::Role,
    podero_error: ApiError,
) -> Result<Uuid, GatewayError> {
    let existing = state.directory().current().and_then(|snapshot| {
        snapshot
            .users()
            .find(|u| u.email().eq_ignore_ascii_case(email))
            .map(|u| (u.id(), u.role(), u.is_archived()))
    });
    match existing {
        Some((id, current, false)) if current.is_team() => {
            if current != role {
                let body = UpdateUser {
                    role: Some(role),
                    ..Default::default()
                };
                podero(state, Method::PUT, ApiRoute::User(id), Some(json!(body))).await?;
                state.directory().request_refresh();
            }
            Ok(id)
        }
        Some((_, current, false)) if !current.is_team() => {
            Err(GatewayError::Conflict(vec![FieldError::new(
                "email",
                "This e-mail address belongs to an end-user (a customer) in Podero; a colleague needs an address of their own.",
            )]))
        }
        _ => Err(GatewayError::Podero {
            status: StatusCode::CONFLICT,
            error: podero_error,
        }),
    }
}

/// Archive a Podero team member (already gone is fine).
async fn archive_podero_member(state: &AppState, id: Uuid) -> Result<(), GatewayError> {
    match podero(state, Method::DELETE, ApiRoute::User(id), None).await {
        Ok(_) => {}
        Err(GatewayError::Podero { status, .. }) if status == StatusCode::NOT_FOUND => {}
        Err(e) => return Err(e),
    }
    state.directory().request_refresh();
    Ok(())
}

fn parse_id(id: &str) -> Result<Uuid, GatewayError> {
    Uuid::parse_str(id).map_err(|_| GatewayError::BadPath("team member id must be a UUID".into()))
}

/// The account `id`, not the actor's own (`what` names the action refused).
async fn other_account(
    state: &AppState,
    actor: &Actor,
    id: &str,
    what: &str,
) -> Result<StoredAccount, GatewayError> {
    let id = parse_id(id)?;
    if id == actor.account.id {
        return Err(GatewayError::OwnAccount(format!(
            "You cannot {what} your own account; ask another admin."
        )));
    }
    state.accounts().get(id).await?.ok_or_else(|| {
        GatewayError::NotFound("There is no team member with this id; reload the team.".into())
    })
}

/// `GET /api/team`.
pub async fn list(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<Vec<TeamMember>>, GatewayError> {
    actor.require_admin("see the team")?;
    Ok(Json(state.accounts().team(now_ms()).await?))
}

/// `POST /api/team`.
pub async fn invite(
    State(state): State<AppState>,
    Extension(note): Extension<Note>,
    actor: Actor,
    body: Body,
) -> Result<Response, GatewayError> {
    actor.require_admin("invite colleagues")?;
    let invite: Invite = read_json(body).await?;
    invite.validate().map_err(GatewayError::InvalidBody)?;
    let email = invite.email.trim().to_lowercase();
    note.changes(audit::created(&json!({
        "email": email,
        "first_name": invite.first_name.trim(),
        "last_name": invite.last_name.trim(),
        "role": invite.role,
    })));
    let taken = || {
        GatewayError::Conflict(vec![FieldError::new(
            "email",
            "A colleague with this e-mail address has a back-office account already.",
        )])
    };
    if state.accounts().find_by_email(&email).await?.is_some() {
        return Err(taken());
    }
    let podero_user_id = match invite.role.podero_role() {
        Some(role) => {
            let created = create_podero_member(
                &state,
                &email,
                invite.first_name.trim(),
                invite.last_name.trim(),
                role,
            )
            .await;
            Some(match created {
                Ok(id) => id,
                Err(GatewayError::Podero { status, error }) if status == StatusCode::CONFLICT => {
                    link_existing_member(&state, &email, role, error).await?
                }
                Err(e) => return Err(e),
            })
        }
        None => None,
    };
    if let Some(id) = podero_user_id {
        note.target(id);
    }
    let one_time_password = password::generate();
    let hash = password::hash(one_time_password.clone()).await?;
    let created = state
        .accounts()
        .create(NewAccount {
            email: &email,
            first_name: &invite.first_name,
            last_name: &invite.last_name,
            role: invite.role,
            password_hash: hash,
            podero_user_id,
        })
        .await;
    let account = match created {
        Ok(Some(a)) => a,
        failed => {
            if let Some(id) = podero_user_id {
                if let Err(e) = archive_podero_member(&state, id).await {
                    tracing::error!(
                        "could not archive Podero user {id} after a failed invite: {e}"
                    );
                }
            }
            return Err(failed.err().unwrap_or_else(taken));
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(Invited {
            member: invited(&account),
            one_time_password,
        }),
    )
        .into_response())
}

/// `PATCH /api/team/{id}`.
pub async fn change_role(
    State(state): State<AppState>,
    Extension(note): Extension<Note>,
    actor: Actor,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<TeamMember>, GatewayError> {
    actor.require_admin("change roles")?;
    let change: RoleChange = read_json(body).await?;
    let account = other_account(&state, &actor, &id, "change the role of").await?;
    note.changes(audit::diff(
        &json!({"role": account.role}),
        &json!({"role": change.role}),
    ));
    note.detail(account.email.clone());
    if let Some(p) = account.podero_user_id {
        note.target(p);
    }
    if change.role == account.role {
        return listed(&state, account.id).await;
    }
    let podero_user_id = match (account.podero_user_id, change.role.podero_role()) {
        (Some(p), Some(role)) => {
            let body = UpdateUser {
                role: Some(role),
                ..Default::default()
            };
            podero(&state, Method::PUT, ApiRoute::User(p), Some(json!(body))).await?;
            state.directory().request_refresh();
            Some(p)
        }
        (Some(p), None) => {
            archive_podero_member(&state, p).await?;
            None
        }
        (None, Some(role)) => {
            let p = create_podero_member(
                &state,
                &account.email,
                &account.first_name,
                &account.last_name,
                role,
            )
            .await?;
            note.target(p);
            Some(p)
        }
        (None, None) => None,
    };
    state
        .accounts()
        .set_role(account.id, change.role, podero_user_id)
        .await?;
    listed(&state, account.id).await
}

/// Team member `id` as `GET /api/team` lists them (with their sessions).
async fn listed(state: &AppState, id: Uuid) -> Result<Json<TeamMember>, GatewayError> {
    state
        .accounts()
        .team(now_ms())
        .await?
        .into_iter()
        .find(|m| m.id == id)
        .map(Json)
        .ok_or_else(|| GatewayError::NotFound("The team member was removed meanwhile.".into()))
}

/// `DELETE /api/team/{id}`.
pub async fn remove(
    State(state): State<AppState>,
    Extension(note): Extension<Note>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<StatusCode, GatewayError> {
    actor.require_admin("remove colleagues")?;
    let account = other_account(&state, &actor, &id, "remove").await?;
    note.detail(format!(
        "removed {} ({})",
        account.email,
        account.role.as_str()
    ));
    if let Some(p) = account.podero_user_id {
        note.target(p);
        archive_podero_member(&state, p).await?;
    }
    state.accounts().delete(account.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/team/{id}/sessions`.
pub async fn end_sessions(
    State(state): State<AppState>,
    Extension(note): Extension<Note>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<SessionsEnded>, GatewayError> {
    actor.require_admin("end colleagues' sessions")?;
    let account = other_account(&state, &actor, &id, "end the sessions of (use Sign out)").await?;
    if let Some(p) = account.podero_user_id {
        note.target(p);
    }
    let ended = state.sessions().end_all(account.id, None, now_ms()).await?;
    note.detail(format!("ended {ended} session(s) of {}", account.email));
    Ok(Json(SessionsEnded { ended }))
}
