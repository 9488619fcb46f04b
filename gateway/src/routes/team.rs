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
//! An admin can issue a colleague a new one-time password (it expires
//! after `GATEWAY_ONE_TIME_PASSWORD_HOURS`, ends their sessions and lifts
//! the sign-in throttle on their account). Admins cannot change, remove,
//! reset or end the sessions of their own account here, so there is always
//! an admin left. The list also names the organisation's Podero admins and
//! staff that no account is linked to; after a change to Podero the answer
//! waits (bounded) for the read model to show it, so the next list is
//! current without the app polling.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{FromRef, Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;
use shared::staff::{Invite, Invited, RoleChange, SessionsEnded, TeamList, TeamMember, TEAM_PATH};
use shared::{ApiError, CreateUser, FieldError, UpdateUser, User};
use uuid::Uuid;

use crate::audit::{self, Note};
use crate::auth::accounts::{NewAccount, StoredAccount};
use crate::auth::{password, Actor, Auth};
use crate::database::{now_ms, to_time};
use crate::directory::Directory;
use crate::error::{GatewayError, Msg};
use crate::openapi::{BAD_ID, NO_MEMBER, OWN_ACCOUNT, PODERO_FAILED, PODERO_REFUSED, PODERO_SLOW};
use crate::podero::{ApiRoute, Podero};
use crate::routes::{read_json, PlainBody};
use crate::startup::AppState;

/// What the team handlers need: the accounts, Podero, and the users read
/// model (for the Podero colleagues without access).
#[derive(Debug, Clone)]
pub struct Team {
    auth: Auth,
    podero: Podero,
    directory: Arc<Directory>,
}

impl FromRef<AppState> for Team {
    fn from_ref(s: &AppState) -> Self {
        Self {
            auth: s.auth.clone(),
            podero: s.podero.clone(),
            directory: s.directory.clone(),
        }
    }
}

impl Team {
    /// After a change to Podero's team members: wait (bounded) until the
    /// read model shows it, so the next team list is current.
    async fn settle(&self) {
        if !self
            .directory
            .refreshed(self.podero.request_timeout())
            .await
        {
            tracing::warn!("the users snapshot did not refresh in time after a team change");
        }
    }
}

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
        one_time_password_expires_at: a.password_expires_at.map(to_time),
    }
}

/// Create the Podero team member of an account.
async fn create_podero_member(
    team: &Team,
    email: &str,
    first_name: &str,
    last_name: &str,
    role: shared::Role,
) -> Result<Uuid, GatewayError> {
    let mut body = CreateUser::new(role, email);
    body.first_name = Some(first_name.to_string());
    body.last_name = Some(last_name.to_string());
    let created = team
        .podero
        .send(Method::POST, &ApiRoute::Users, Some(&json!(body)))
        .await?;
    serde_json::from_value::<User>(created)
        .map(|u| u.id)
        .map_err(|e| {
            GatewayError::UpstreamBadResponse(
                Msg::new("error.upstream.created_user_unreadable").with("cause", e),
            )
        })
}

/// Podero has a user with this e-mail already (it answered 409): if it is
/// an active team member (admin or staff), the new account is linked to it
/// and its role set to `role`, so existing Podero colleagues get access
/// through the same invitation. An end-user's address is refused.
async fn link_existing_member(
    team: &Team,
    email: &str,
    role: shared::Role,
    podero_error: ApiError,
) -> Result<Uuid, GatewayError> {
    let existing = team.directory.current().and_then(|snapshot| {
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
                team.podero
                    .send(Method::PUT, &ApiRoute::User(id), Some(&json!(body)))
                    .await?;
            }
            Ok(id)
        }
        Some((_, current, false)) if !current.is_team() => {
            Err(GatewayError::Conflict(vec![FieldError::keyed(
                "email",
                "error.field.email_of_end_user",
                &[],
            )]))
        }
        _ => Err(GatewayError::Podero {
            status: StatusCode::CONFLICT,
            error: podero_error,
        }),
    }
}

/// Archive a Podero team member (already gone is fine).
async fn archive_podero_member(team: &Team, id: Uuid) -> Result<(), GatewayError> {
    match team
        .podero
        .send(Method::DELETE, &ApiRoute::User(id), None)
        .await
    {
        Ok(_) => Ok(()),
        Err(GatewayError::Podero { status, .. }) if status == StatusCode::NOT_FOUND => Ok(()),
        Err(e) => Err(e),
    }
}

fn parse_id(id: &str) -> Result<Uuid, GatewayError> {
    Uuid::parse_str(id).map_err(|_| GatewayError::BadPath(Msg::new("error.path.team_member_id")))
}

/// The account `id`, not the actor's own (`refused` is the catalog key of
/// the refusal, `error.own_account.*`).
async fn other_account(
    auth: &Auth,
    actor: &Actor,
    id: &str,
    refused: &'static str,
) -> Result<StoredAccount, GatewayError> {
    let id = parse_id(id)?;
    if id == actor.account.id {
        return Err(GatewayError::OwnAccount(Msg::new(refused)));
    }
    auth.accounts()
        .get(id)
        .await?
        .ok_or_else(|| GatewayError::NotFound(Msg::new("error.not_found.team_member")))
}

/// `GET /api/team`: the members, and the Podero admins and staff without
/// access (from the read model).
#[utoipa::path(
    get,
    path = TEAM_PATH,
    tag = "team",
    operation_id = "team_list",
    summary = "The team",
    description = "The colleagues with a back-office account (role, sessions, one-time \
        password state), and the organisation's active Podero admins and staff that no account \
        is linked to yet (from the users snapshot; left out if there is none).",
    security(("session" = ["admin"])),
    responses((status = 200, description = "The team.", body = TeamList))
)]
pub async fn list(State(team): State<Team>, actor: Actor) -> Result<Json<TeamList>, GatewayError> {
    actor.require_admin("error.admin_action.see_team")?;
    let members = team.auth.accounts().team(now_ms()).await?;
    let linked: HashSet<Uuid> = members.iter().filter_map(|m| m.podero_user_id).collect();
    // The members are the gateway's own; the Podero colleagues without
    // access need the read model, and the team stays manageable without.
    let mut without_access: Vec<User> =
        match team.directory.snapshot(team.podero.request_timeout()).await {
            Ok(snapshot) => snapshot
                .users()
                .filter(|u| u.role().is_team() && !u.is_archived() && !linked.contains(&u.id()))
                .map(|u| u.to_user())
                .collect(),
            Err(e) => {
                tracing::warn!("team list without the Podero colleagues: {e}");
                Vec::new()
            }
        };
    without_access.sort_by_key(|u| (u.display_name().to_lowercase(), u.email.clone()));
    Ok(Json(TeamList {
        members,
        without_access,
    }))
}

/// `POST /api/team`.
#[utoipa::path(
    post,
    path = TEAM_PATH,
    tag = "team",
    operation_id = "team_invite",
    summary = "Invite a colleague",
    description = "Creates the back-office account and, for admin and staff, the Podero team \
        member of the same role (or links the account to an existing Podero admin or staff \
        user with that e-mail). Answers the one-time password, once; it must be replaced at \
        the first sign-in.",
    request_body = Invite,
    security(("session" = ["admin"], "csrf" = [])),
    responses(
        (status = 201, description = "Invited.", body = Invited),
        (status = 409, description = "`conflict`: the e-mail has an account already, or \
            belongs to an end-user (`loc`: `email`).", body = ApiError),
        (status = 422, description = "`invalid_body`: a field breaks a rule; `loc` names it.",
            body = ApiError),
        (status = 502, description = PODERO_FAILED, body = ApiError),
        (status = 504, description = PODERO_SLOW, body = ApiError),
        (status = "default", description = PODERO_REFUSED, body = ApiError),
    )
)]
pub async fn invite(
    State(team): State<Team>,
    Extension(note): Extension<Note>,
    actor: Actor,
    PlainBody(body): PlainBody,
) -> Result<Response, GatewayError> {
    actor.require_admin("error.admin_action.invite")?;
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
        GatewayError::Conflict(vec![FieldError::keyed(
            "email",
            "error.field.email_has_account",
            &[],
        )])
    };
    let accounts = team.auth.accounts();
    if accounts.find_by_email(&email).await?.is_some() {
        return Err(taken());
    }
    note.begin().await?;
    // The Podero member, and whether this invitation created it (only
    // then is it archived again if the account cannot be stored).
    let (podero_user_id, created_here) = match invite.role.podero_role() {
        Some(role) => {
            let created = create_podero_member(
                &team,
                &email,
                invite.first_name.trim(),
                invite.last_name.trim(),
                role,
            )
            .await;
            match created {
                Ok(id) => (Some(id), true),
                Err(GatewayError::Podero { status, error }) if status == StatusCode::CONFLICT => (
                    Some(link_existing_member(&team, &email, role, error).await?),
                    false,
                ),
                Err(e) => return Err(e),
            }
        }
        None => (None, false),
    };
    if let Some(id) = podero_user_id {
        note.target(id);
    }
    let one_time_password = password::generate();
    let hash = password::hash(one_time_password.clone()).await?;
    let created = accounts
        .create(NewAccount {
            email: &email,
            first_name: &invite.first_name,
            last_name: &invite.last_name,
            role: invite.role,
            password_hash: hash,
            podero_user_id,
            password_expires_at: Some(team.auth.one_time_password_until(now_ms())),
        })
        .await;
    let account = match created {
        Ok(Some(a)) => a,
        failed => {
            if let Some(id) = podero_user_id.filter(|_| created_here) {
                if let Err(e) = archive_podero_member(&team, id).await {
                    tracing::error!(
                        "could not archive Podero user {id} after a failed invite: {e}"
                    );
                }
            }
            return Err(failed.err().unwrap_or_else(taken));
        }
    };
    if podero_user_id.is_some() {
        team.settle().await;
    }
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
#[utoipa::path(
    patch,
    path = "/api/team/{id}",
    tag = "team",
    operation_id = "team_change_role",
    summary = "Change a colleague's role",
    description = "Changes the account's role and its Podero team member's: to `viewer` the \
        team member is archived, from `viewer` one is created.",
    params(("id" = Uuid, Path, description = "The account's id.")),
    request_body = RoleChange,
    security(("session" = ["admin"], "csrf" = [])),
    responses(
        (status = 200, description = "Changed; the member as the team lists them.",
            body = TeamMember),
        (status = 400, description = BAD_ID, body = ApiError),
        (status = 404, description = NO_MEMBER, body = ApiError),
        (status = 409, description = OWN_ACCOUNT, body = ApiError),
        (status = 422, description = "`invalid_body`: not a role change.", body = ApiError),
        (status = 502, description = PODERO_FAILED, body = ApiError),
        (status = 504, description = PODERO_SLOW, body = ApiError),
        (status = "default", description = PODERO_REFUSED, body = ApiError),
    )
)]
pub async fn change_role(
    State(team): State<Team>,
    Extension(note): Extension<Note>,
    actor: Actor,
    Path(id): Path<String>,
    PlainBody(body): PlainBody,
) -> Result<Json<TeamMember>, GatewayError> {
    actor.require_admin("error.admin_action.change_roles")?;
    let change: RoleChange = read_json(body).await?;
    let _turn = team.auth.team_change().await;
    let account = other_account(&team.auth, &actor, &id, "error.own_account.role").await?;
    note.changes(audit::diff(
        &json!({"role": account.role}),
        &json!({"role": change.role}),
    ));
    note.detail(account.email.clone());
    if let Some(p) = account.podero_user_id {
        note.target(p);
    }
    note.begin().await?;
    if change.role == account.role {
        return listed(&team.auth, account.id).await;
    }
    let podero_user_id = match (account.podero_user_id, change.role.podero_role()) {
        (Some(p), Some(role)) => {
            let body = UpdateUser {
                role: Some(role),
                ..Default::default()
            };
            team.podero
                .send(Method::PUT, &ApiRoute::User(p), Some(&json!(body)))
                .await?;
            Some(p)
        }
        (Some(p), None) => {
            archive_podero_member(&team, p).await?;
            None
        }
        (None, Some(role)) => {
            let p = create_podero_member(
                &team,
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
    team.auth
        .accounts()
        .set_role(account.id, change.role, podero_user_id)
        .await?;
    if account.podero_user_id.is_some() || podero_user_id.is_some() {
        team.settle().await;
    }
    listed(&team.auth, account.id).await
}

/// Team member `id` as `GET /api/team` lists them (with their sessions).
async fn listed(auth: &Auth, id: Uuid) -> Result<Json<TeamMember>, GatewayError> {
    auth.accounts()
        .team(now_ms())
        .await?
        .into_iter()
        .find(|m| m.id == id)
        .map(Json)
        .ok_or_else(|| GatewayError::NotFound(Msg::new("error.not_found.team_member_removed")))
}

/// `DELETE /api/team/{id}`.
#[utoipa::path(
    delete,
    path = "/api/team/{id}",
    tag = "team",
    operation_id = "team_remove",
    summary = "Remove a colleague",
    description = "Archives the Podero team member and deletes the account and its sessions.",
    params(("id" = Uuid, Path, description = "The account's id.")),
    security(("session" = ["admin"], "csrf" = [])),
    responses(
        (status = 204, description = "Removed."),
        (status = 400, description = BAD_ID, body = ApiError),
        (status = 404, description = NO_MEMBER, body = ApiError),
        (status = 409, description = OWN_ACCOUNT, body = ApiError),
        (status = 502, description = PODERO_FAILED, body = ApiError),
        (status = 504, description = PODERO_SLOW, body = ApiError),
        (status = "default", description = PODERO_REFUSED, body = ApiError),
    )
)]
pub async fn remove(
    State(team): State<Team>,
    Extension(note): Extension<Note>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<StatusCode, GatewayError> {
    actor.require_admin("error.admin_action.remove")?;
    let _turn = team.auth.team_change().await;
    let account = other_account(&team.auth, &actor, &id, "error.own_account.remove").await?;
    note.detail(format!(
        "removed {} ({})",
        account.email,
        account.role.as_str()
    ));
    if let Some(p) = account.podero_user_id {
        note.target(p);
    }
    note.begin().await?;
    if let Some(p) = account.podero_user_id {
        archive_podero_member(&team, p).await?;
    }
    team.auth.accounts().delete(account.id).await?;
    if account.podero_user_id.is_some() {
        team.settle().await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/team/{id}/sessions`.
#[utoipa::path(
    delete,
    path = "/api/team/{id}/sessions",
    tag = "team",
    operation_id = "team_end_sessions",
    summary = "End a colleague's sessions",
    description = "Ends every session of the account; its next request gets \
        `401 session_expired`.",
    params(("id" = Uuid, Path, description = "The account's id.")),
    security(("session" = ["admin"], "csrf" = [])),
    responses(
        (status = 200, description = "How many sessions ended.", body = SessionsEnded),
        (status = 400, description = BAD_ID, body = ApiError),
        (status = 404, description = NO_MEMBER, body = ApiError),
        (status = 409, description = OWN_ACCOUNT, body = ApiError),
    )
)]
pub async fn end_sessions(
    State(auth): State<Auth>,
    Extension(note): Extension<Note>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<SessionsEnded>, GatewayError> {
    actor.require_admin("error.admin_action.end_sessions")?;
    let account = other_account(&auth, &actor, &id, "error.own_account.sessions").await?;
    if let Some(p) = account.podero_user_id {
        note.target(p);
    }
    note.detail(format!("ending the sessions of {}", account.email));
    note.begin().await?;
    let ended = auth.sessions().end_all(account.id, None, now_ms()).await?;
    note.detail(format!("ended {ended} session(s) of {}", account.email));
    Ok(Json(SessionsEnded { ended }))
}

/// `POST /api/team/{id}/password`: a new one-time password for a
/// colleague (forgotten password, expired one-time password, or locked
/// out by the sign-in throttle). Their sessions end; the password is
/// answered once and must be changed at the next sign-in.
#[utoipa::path(
    post,
    path = "/api/team/{id}/password",
    tag = "team",
    operation_id = "team_new_one_time_password",
    summary = "Issue a colleague a new one-time password",
    description = "For a forgotten password, an expired one-time password or an account locked \
        by the sign-in throttle (which it lifts): ends the colleague's sessions and answers \
        the password once; it must be replaced at the next sign-in.",
    params(("id" = Uuid, Path, description = "The account's id.")),
    security(("session" = ["admin"], "csrf" = [])),
    responses(
        (status = 200, description = "The member and their new one-time password.",
            body = Invited),
        (status = 400, description = BAD_ID, body = ApiError),
        (status = 404, description = NO_MEMBER, body = ApiError),
        (status = 409, description = OWN_ACCOUNT, body = ApiError),
    )
)]
pub async fn new_one_time_password(
    State(auth): State<Auth>,
    Extension(note): Extension<Note>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Invited>), GatewayError> {
    actor.require_admin("error.admin_action.issue_passwords")?;
    let account = other_account(&auth, &actor, &id, "error.own_account.password").await?;
    if let Some(p) = account.podero_user_id {
        note.target(p);
    }
    note.detail(format!("new one-time password for {}", account.email));
    let one_time_password = password::generate();
    let hash = password::hash(one_time_password.clone()).await?;
    note.begin().await?;
    let until = auth.one_time_password_until(now_ms());
    auth.accounts()
        .set_password(account.id, &hash, Some(until))
        .await?;
    auth.sessions().end_all(account.id, None, now_ms()).await?;
    if let Err(e) = auth.throttle().reset_account(&account.email).await {
        // The new password stands; the old failures end with their window.
        tracing::warn!("could not clear the sign-in failures after a new password: {e}");
    }
    let member = listed(&auth, account.id).await?.0;
    Ok((
        StatusCode::OK,
        Json(Invited {
            member,
            one_time_password,
        }),
    ))
}
