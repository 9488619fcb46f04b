//! Self-service links for the app: create one for an end-user, list and
//! revoke them, send one to the customer by e-mail, and read the outbox.
//!
//! Every role reads a user's links (never their tokens: a link's address
//! is shown once, to whoever creates it). Creating, revoking and sending:
//! admins for any user, staff for end-users only (the user's role read
//! from Podero just before, failing closed), viewers never. Nobody creates
//! a link for an archived user. The outbox (it holds every customer's
//! link) is for admins. Each change is noted for the audit trail and its
//! intent written before it is made.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;
use shared::cases::CaseEventKind;
use shared::self_service::{LinkInfo, NewLink, Outbox, SendLink, SentLink, OUTBOX_PATH};
use shared::{ApiError, FieldError, User};
use uuid::Uuid;

use crate::audit::{self, Note};
use crate::auth::Actor;
use crate::cases::{By, Cases};
use crate::error::{GatewayError, Msg};
use crate::mail::{Mail, NewMessage};
use crate::openapi::BAD_ID;
use crate::podero::{ApiRoute, Podero};
use crate::routes::{read_json, PlainBody};
use crate::self_service::{self as links, message, Links};
use crate::startup::Settings;

/// Messages the outbox answers at most (newest first).
const OUTBOX_LIMIT: i64 = 200;

fn user_id(id: &str) -> Result<Uuid, GatewayError> {
    Uuid::parse_str(id).map_err(|_| GatewayError::BadPath(Msg::new("error.path.user_id")))
}

/// The end-user `id` as Podero has it, if `actor` may act for them:
/// viewers never; staff for end-users only; nobody for an archived user.
async fn actionable(podero: &Podero, actor: &Actor, id: Uuid) -> Result<User, GatewayError> {
    crate::routes::cases::refuse_viewer(actor)?;
    let user: User = match podero.get(&ApiRoute::User(id), true).await {
        Ok(u) => u,
        Err(GatewayError::Podero { status, .. }) if status == StatusCode::NOT_FOUND => {
            return Err(GatewayError::NotFound(Msg::new(
                "error.not_found.podero_user",
            )))
        }
        Err(e) => return Err(GatewayError::RoleCheckFailed(Box::new(e))),
    };
    if user.role.is_team() && !actor.role().is_admin() {
        return Err(GatewayError::Forbidden(
            Msg::new("error.forbidden.staff_changes_team").with("role", user.role.as_str()),
        ));
    }
    if user.deleted_at.is_some() {
        return Err(GatewayError::Conflict(vec![FieldError::keyed(
            "user_id",
            "validation.self_service.archived",
            &[],
        )]));
    }
    Ok(user)
}

/// `POST /api/users/{id}/self-service-link`.
#[utoipa::path(
    post,
    path = "/api/users/{id}/self-service-link",
    tag = "self_service",
    operation_id = "self_service_link_create",
    summary = "Create a self-service link",
    description = "A new link to the customer's self-service page, where they see their own \
        devices that need reconnecting and reconnect them without an account. The address holds \
        a 256-bit token and is answered only here (the gateway keeps its SHA-256); it works \
        until `expires_at` (GATEWAY_SELF_SERVICE_DAYS, 7 by default), until revoked, or until \
        the user is archived. It starts with GATEWAY_PUBLIC_URL, else the app's own address. \
        The body is ignored (send `{}`).",
    params(("id" = Uuid, Path, description = "The Podero user's id.")),
    security(("session" = ["admin", "staff"], "csrf" = [])),
    responses(
        (status = 200, description = "The link.", body = NewLink),
        (status = 400, description = BAD_ID, body = ApiError),
        (status = 403, description = "`forbidden`: viewers read only; staff act for end-users \
            only.", body = ApiError),
        (status = 404, description = "`not_found`: Podero has no such user.", body = ApiError),
        (status = 409, description = "`conflict`: the user is archived, or already has 20 open links (`MAX_OPEN_LINKS`; revoke one first).", body = ApiError),
    )
)]
#[allow(clippy::too_many_arguments)]
pub async fn create(
    State(podero): State<Podero>,
    State(links): State<Links>,
    State(settings): State<Settings>,
    Extension(note): Extension<Note>,
    actor: Actor,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<NewLink>, GatewayError> {
    let id = user_id(&id)?;
    note.target(id);
    actionable(&podero, &actor, id).await?;
    note.changes(audit::created(&json!({ "self_service_link": "created" })));
    note.begin().await?;
    let (link, _) = links
        .create(
            id,
            &actor.account.email,
            &links::base_url(&settings, &headers),
            None,
            None,
        )
        .await?;
    note.detail(format!("self-service link {}", link.id));
    Ok(Json(link))
}

/// `GET /api/users/{id}/self-service-links`.
#[utoipa::path(
    get,
    path = "/api/users/{id}/self-service-links",
    tag = "self_service",
    operation_id = "self_service_links",
    summary = "A user's self-service links",
    description = "Every link created for the user, newest first: who created it, when it \
        expires, whether it was revoked, how often the customer opened it and where it was \
        sent. Never the link's address.",
    params(("id" = Uuid, Path, description = "The Podero user's id.")),
    security(("session" = ["admin", "staff", "viewer"])),
    responses(
        (status = 200, description = "The links.", body = Vec<LinkInfo>),
        (status = 400, description = BAD_ID, body = ApiError),
    )
)]
pub async fn list(
    State(links): State<Links>,
    Path(id): Path<String>,
) -> Result<Json<Vec<LinkInfo>>, GatewayError> {
    Ok(Json(links.of_user(user_id(&id)?).await?))
}

/// `DELETE /api/users/{id}/self-service-links/{link_id}`.
#[utoipa::path(
    delete,
    path = "/api/users/{id}/self-service-links/{link_id}",
    tag = "self_service",
    operation_id = "self_service_link_revoke",
    summary = "Revoke a self-service link",
    description = "The link stops working at once (the customer's page then says it is no \
        longer valid). Revoking a revoked link changes nothing.",
    params(
        ("id" = Uuid, Path, description = "The Podero user's id."),
        ("link_id" = i64, Path, description = "The link's number."),
    ),
    security(("session" = ["admin", "staff"], "csrf" = [])),
    responses(
        (status = 204, description = "Revoked."),
        (status = 400, description = "`bad_path`: an id is malformed.", body = ApiError),
        (status = 403, description = "`forbidden`: viewers read only; staff act for end-users \
            only.", body = ApiError),
        (status = 404, description = "`not_found`: the user has no such link.", body = ApiError),
    )
)]
pub async fn revoke(
    State(podero): State<Podero>,
    State(links): State<Links>,
    Extension(note): Extension<Note>,
    actor: Actor,
    Path((id, link)): Path<(String, String)>,
) -> Result<StatusCode, GatewayError> {
    crate::routes::cases::refuse_viewer(&actor)?;
    let id = user_id(&id)?;
    let link = link
        .parse::<i64>()
        .ok()
        .filter(|l| *l > 0)
        .ok_or_else(|| GatewayError::BadPath(Msg::new("error.path.link_id")))?;
    note.target(id);
    note.detail(format!("self-service link {link}"));
    if !actor.role().is_admin() {
        // Archived users' links can still be revoked; only the role counts.
        if let Some(role) = podero.role_of(id).await?.filter(|r| r.is_team()) {
            return Err(GatewayError::Forbidden(
                Msg::new("error.forbidden.staff_changes_team").with("role", role.as_str()),
            ));
        }
    }
    note.changes(vec![shared::staff::FieldChange {
        field: "self_service_link".into(),
        from: json!("active"),
        to: json!("revoked"),
    }]);
    note.begin().await?;
    if links.revoke(id, link, &actor.account.email).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(GatewayError::NotFound(Msg::new(
            "error.not_found.self_service_link",
        )))
    }
}

/// `POST /api/users/{id}/self-service-email`.
#[utoipa::path(
    post,
    path = "/api/users/{id}/self-service-email",
    tag = "self_service",
    operation_id = "self_service_email",
    summary = "Send a self-service link to the customer",
    description = "Creates a link and writes an e-mail with it to the customer's address in \
        Podero, in the language chosen: subject, greeting, the devices that need reconnecting, \
        the link and its expiry. Without `language`, the customer's: German for Germany, \
        Austria, Switzerland, Liechtenstein, Luxembourg or no country, English otherwise. With GATEWAY_SMTP_URL the mail job sends it (retrying); \
        without, it waits in the outbox (`will_be_sent: false`). With `case_id`, the case's \
        timeline records the message and its outcome.",
    params(("id" = Uuid, Path, description = "The Podero user's id.")),
    request_body = SendLink,
    security(("session" = ["admin", "staff"], "csrf" = [])),
    responses(
        (status = 200, description = "Queued (or held).", body = SentLink),
        (status = 400, description = BAD_ID, body = ApiError),
        (status = 403, description = "`forbidden`: viewers read only; staff act for end-users \
            only.", body = ApiError),
        (status = 404, description = "`not_found`: Podero has no such user.", body = ApiError),
        (status = 409, description = "`conflict`: the user is archived, or already has 20 open links (`MAX_OPEN_LINKS`; revoke one first).", body = ApiError),
        (status = 422, description = "`invalid_body`: the language is not de or en, the case \
            is another user's, or the customer has no usable e-mail address; `loc` names the \
            field.", body = ApiError),
    )
)]
#[allow(clippy::too_many_arguments)]
pub async fn email(
    State(podero): State<Podero>,
    State(links): State<Links>,
    State(mail): State<Mail>,
    State(cases): State<Cases>,
    State(settings): State<Settings>,
    Extension(note): Extension<Note>,
    actor: Actor,
    headers: HeaderMap,
    Path(id): Path<String>,
    PlainBody(body): PlainBody,
) -> Result<Json<SentLink>, GatewayError> {
    crate::routes::cases::refuse_viewer(&actor)?;
    let id = user_id(&id)?;
    note.target(id);
    let send: SendLink = read_json(body).await?;
    let mut errors = Vec::new();
    let lang = send.parse_language().map_err(|e| errors.push(e)).ok();
    if let Some(case) = send.case_id {
        match cases.get(case).await? {
            Some(c) if c.case.user_id == id => {}
            _ => errors.push(FieldError::keyed(
                "case_id",
                "validation.self_service.case_of_other_user",
                &[("case", &case.to_string())],
            )),
        }
    }
    let user = actionable(&podero, &actor, id).await?;
    if !crate::mail::valid_recipient(user.email.trim()) {
        errors.push(FieldError::keyed(
            "email",
            "validation.self_service.no_email",
            &[],
        ));
    }
    let (Some(lang), true) = (lang, errors.is_empty()) else {
        return Err(GatewayError::InvalidBody(errors));
    };
    let lang =
        lang.unwrap_or_else(|| shared::self_service::language_of_country(user.country.as_deref()));
    // The devices to name in the message (a failed read names none: the
    // page shows them anyway).
    let lost = match links::read_devices(&podero, &user).await {
        Ok(reads) => links::lost(&reads),
        Err(e) => {
            tracing::warn!(user = %id, "self-service e-mail: devices not read: {e}");
            Vec::new()
        }
    };
    let to = user.email.trim().to_string();
    note.changes(audit::created(&json!({
        "self_service_email": to,
        "language": lang.code(),
        "case_id": send.case_id,
    })));
    note.begin().await?;
    let (link, _) = links
        .create(
            id,
            &actor.account.email,
            &links::base_url(&settings, &headers),
            Some(&to),
            send.case_id,
        )
        .await?;
    let rendered = message::render(
        lang,
        user.first_name.as_deref(),
        &lost,
        &link.url,
        link.expires_at,
    );
    let message_id = mail
        .enqueue(NewMessage {
            to: to.clone(),
            subject: rendered.subject,
            body: rendered.body,
            language: lang.code().to_string(),
            user_id: id,
            case_id: send.case_id,
            link_id: Some(link.id),
            created_by: Some(actor.account.email.clone()),
        })
        .await?;
    note.detail(format!(
        "self-service link {} by e-mail, message {message_id}",
        link.id
    ));
    let will_be_sent = mail.configured();
    if let (Some(case), false) = (send.case_id, will_be_sent) {
        cases
            .note(
                case,
                CaseEventKind::EmailHeld,
                &By::Staff {
                    id: actor.account.id,
                    email: actor.account.email.clone(),
                },
                Some(to.clone()),
                None,
            )
            .await?;
    }
    Ok(Json(SentLink {
        message_id,
        to,
        link,
        will_be_sent,
    }))
}

/// `GET /api/outbox`.
#[utoipa::path(
    get,
    path = OUTBOX_PATH,
    tag = "self_service",
    operation_id = "outbox",
    summary = "The outbox of messages to customers",
    description = "The latest 200 messages, newest first, with their full text and where each \
        stands: queued, sent, failed (with the last error) or held (no mail server is \
        configured: GATEWAY_SMTP_URL is unset, so messages are kept here instead).",
    security(("session" = ["admin"])),
    responses(
        (status = 200, description = "The outbox.", body = Outbox),
        (status = 403, description = "`forbidden`: admins only.", body = ApiError),
    )
)]
pub async fn outbox(State(mail): State<Mail>, actor: Actor) -> Result<Response, GatewayError> {
    actor.require_admin("error.admin_action.read_outbox")?;
    Ok(Json(Outbox {
        smtp_configured: mail.configured(),
        messages: mail.latest(OUTBOX_LIMIT).await?,
    })
    .into_response())
}
