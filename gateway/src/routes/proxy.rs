//! Forwarding the allow-listed Partner API calls.
//!
//! The guard has already parsed and checked the route
//! ([`crate::podero::route`]) and hands it over in the request's
//! extensions. Here: the method must be one the route has (405), only
//! `include_deleted` is forwarded from the query, and only allow-listed
//! headers. A change (any method but GET/HEAD) must carry a JSON body (it
//! is sent to Podero as `application/json`; user bodies are checked with
//! the `shared` rules first), is checked against the signed-in person's
//! role ([`crate::auth::roles`]) — for a staff member, with the target
//! user's role read from Podero just before, failing closed if that read
//! fails — and is noted for the audit trail: for a `PUT` the object is read
//! first, so the record says which fields went from what to what; for a
//! `POST`, the fields sent. The audit intent is written before the call
//! leaves ([`crate::audit::Note::begin`]).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::Response;
use axum::Extension;
use serde_json::Value;
use shared::staff::StaffRole;
use shared::{DeviceKind, Role};
use uuid::Uuid;

use crate::audit::{self, Note};
use crate::auth::roles::check_forward;
use crate::auth::Actor;
use crate::cases::By;
use crate::directory::Directory;
use crate::error::{GatewayError, Msg};
use crate::podero::{forwarded_headers, include_deleted, ApiRoute, Podero};
use crate::request::is_write;
use crate::routes::{read_body, refuse_encoded};
use crate::startup::Settings;
use crate::watch::Watch;
use shared::cases::CaseEventKind;

/// Handler for every `/api/...` path other than the gateway's own.
// Each argument is one extractor: the parts of the state it needs.
#[allow(clippy::too_many_arguments)]
pub async fn forward(
    State(podero): State<Podero>,
    State(directory): State<Arc<Directory>>,
    State(watch): State<Watch>,
    State(settings): State<Settings>,
    actor: Actor,
    Extension(note): Extension<Note>,
    route: Option<Extension<ApiRoute>>,
    request: Request,
) -> Result<Response, GatewayError> {
    // The guard puts the parsed route here for every Partner API path.
    let Some(Extension(route)) = route else {
        return Err(GatewayError::RouteNotAllowed);
    };
    let (parts, body) = request.into_parts();
    let method = parts.method;
    if !route.methods().contains(&method) {
        return Err(GatewayError::MethodNotAllowed(route.methods().to_vec()));
    }
    let include_deleted = include_deleted(parts.uri.query())?;
    let headers = forwarded_headers(&parts.headers);
    if !is_write(&method) {
        let response = podero
            .forward(method, &route, include_deleted, headers, None)
            .await?;
        return match route {
            ApiRoute::Devices(user, kind) | ApiRoute::Device(user, kind, _)
                if response.status().is_success() =>
            {
                observe_devices(&directory, &watch, &route, user, kind, response).await
            }
            _ => Ok(response),
        };
    }
    refuse_encoded(&parts.headers)?;
    let body = read_body(body, settings.max_body_bytes).await?;
    let body_json = json_body(&body)?;
    validate_user_body(&route, &method, &body_json)?;
    // What was sent is recorded even when what follows fails.
    note.changes(audit::created(&body_json));
    // The object as it is now: the "from" of the audit record's changes,
    // and (for a user) the role a staff member may or may not change.
    let before = if method == Method::PUT {
        let before = podero.get::<Value>(&route, true).await?;
        note.changes(audit::diff(&before, &body_json));
        before
    } else {
        Value::Null
    };
    let body_role = body_json
        .get("role")
        .and_then(|r| serde_json::from_value::<Role>(r.clone()).ok());
    let target_role = match (&route, route.user_id()) {
        _ if actor.role() != StaffRole::Staff => None,
        (ApiRoute::User(_), _) if method == Method::PUT => {
            Some(role_of(&before).ok_or_else(|| {
                GatewayError::RoleCheckFailed(Box::new(GatewayError::UpstreamBadResponse(
                    Msg::new("error.upstream.no_known_role"),
                )))
            })?)
        }
        (_, Some(user)) => Some(podero.role_of(user).await?.ok_or_else(|| {
            GatewayError::NotFound(Msg::new("error.not_found.podero_user_reload"))
        })?),
        (_, None) => None,
    };
    check_forward(actor.role(), &route, &method, body_role, target_role)?;
    note.begin().await?;
    let body = (!body.is_empty()).then_some(body);
    let response = podero
        .forward(method.clone(), &route, include_deleted, headers, body)
        .await?;
    if response.status().is_success() {
        // Users, their devices (counters) or buildings changed: the users
        // list must not keep showing the old state.
        directory.request_refresh();
    }
    if let (ApiRoute::AuthSession(_, _, device), true) = (&route, response.status().is_success()) {
        // The device's open case learns that a link was made.
        let by = By::Staff {
            id: actor.account.id,
            email: actor.account.email.clone(),
        };
        if let Err(e) = watch
            .cases()
            .device_event(*device, CaseEventKind::LinkCreated, &by, None)
            .await
        {
            tracing::warn!("could not note the reconnection link on the device's case: {e}");
        }
    }
    match route {
        ApiRoute::Users if method == Method::POST && response.status().is_success() => {
            // The new user's id, so their history starts with the creation.
            let (parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, 1024 * 1024).await.map_err(|_| {
                GatewayError::UpstreamBadResponse(Msg::new("error.upstream.created_user_unread"))
            })?;
            if let Some(id) = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| {
                v.get("id")
                    .and_then(|i| i.as_str())
                    .and_then(|i| Uuid::parse_str(i).ok())
            }) {
                note.target(id);
            }
            Ok(Response::from_parts(parts, Body::from(bytes)))
        }
        _ => Ok(response),
    }
}

/// A change's body: empty, or JSON (sent on as `application/json`).
fn json_body(body: &Bytes) -> Result<Value, GatewayError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| {
        GatewayError::InvalidBody(vec![shared::FieldError::keyed(
            "body",
            "error.field.body_not_json",
            &[("cause", &e.to_string())],
        )])
    })
}

fn role_of(user: &Value) -> Option<Role> {
    user.get("role")
        .and_then(|r| serde_json::from_value(r.clone()).ok())
}

/// Let the reconnection report learn from device reads passing through
/// (small bodies: a user's devices of one kind), then answer them unchanged.
async fn observe_devices(
    directory: &Directory,
    watch: &Watch,
    route: &ApiRoute,
    user: Uuid,
    kind: DeviceKind,
    response: Response,
) -> Result<Response, GatewayError> {
    use crate::directory::scan::Observed;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .map_err(|_| {
            GatewayError::UpstreamBadResponse(Msg::new("error.upstream.device_answer_unread"))
        })?;
    let snapshot = directory.current();
    let owner = snapshot.as_ref().and_then(|s| s.get(user));
    let scanner = directory.scanner();
    if matches!(route, ApiRoute::Devices(..)) {
        if let Ok(list) = serde_json::from_slice::<Vec<shared::DeviceCommon>>(&bytes) {
            scanner.observe(owner.as_ref(), user, kind, Observed::List(&list));
            if let (Some(owner), true) = (owner, watch.enabled()) {
                watch.observe_later(owner, (kind, list, true));
            }
        }
    } else if let Ok(one) = serde_json::from_slice::<shared::DeviceCommon>(&bytes) {
        scanner.observe(owner.as_ref(), user, kind, Observed::One(&one));
        if let (Some(owner), true) = (owner, watch.enabled()) {
            watch.observe_later(owner, (kind, vec![one], false));
        }
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

/// Check user create / update bodies with the `shared` validation (the
/// checks the app shows next to each field) before they reach Podero, so a
/// bad e-mail or customer number gets the same message whichever client
/// sent it.
fn validate_user_body(route: &ApiRoute, method: &Method, body: &Value) -> Result<(), GatewayError> {
    let unreadable = |e: serde_json::Error| {
        GatewayError::InvalidBody(vec![shared::FieldError::keyed(
            "body",
            "error.field.body_not_a_user",
            &[("cause", &e.to_string())],
        )])
    };
    match (route, method) {
        (ApiRoute::Users, &Method::POST) => {
            serde_json::from_value::<shared::CreateUser>(body.clone())
                .map_err(unreadable)?
                .validate()
                .map_err(GatewayError::InvalidBody)
        }
        (ApiRoute::User(_), &Method::PUT) => {
            serde_json::from_value::<shared::UpdateUser>(body.clone())
                .map_err(unreadable)?
                .validate()
                .map_err(GatewayError::InvalidBody)
        }
        _ => Ok(()),
    }
}

/// `/api` and `/api/` themselves.
pub async fn not_allowed() -> GatewayError {
    GatewayError::RouteNotAllowed
}
