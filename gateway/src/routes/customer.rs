//! The customer's self-service page: `GET /self-service/{token}` and its
//! one action, `POST /self-service/{token}/reconnect`, plus the page's
//! stylesheet.
//!
//! Outside the staff guard: no staff cookie is read or set here, and what
//! a token reaches is fixed by the link — that one user's device lists
//! and an `auth_session` for one of their devices, all rebuilt from the
//! stored user id (never from the address). Every request takes one from
//! the per-client budget of requests without a session; a refused link
//! (unknown, tampered, expired, revoked, archived user) also spends one
//! of [`crate::config::Config::self_service_refusals_per_minute`], taken
//! *before* the lookup and given back when the link turns out valid, so a
//! burst of parallel guesses is bounded too. Every use is an audit record
//! with the actor "customer via self-service link" and the token cut from
//! the route; opening the page and pressing Reconnect go on the device's
//! open case, and a device the customer has reconnected resolves its case
//! when the page is next loaded (the reads go through the fleet watch).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, FromRef, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::json;
use shared::audit_action::AuditAction;
use shared::cases::CaseEventKind;
use shared::{AuthSessionResponse, DeviceCommon, DeviceKind, Lang, User};
use uuid::Uuid;

use crate::audit::{AuditLog, Record};
use crate::auth::throttle::RateLimit;
use crate::auth::Auth;
use crate::cases::{By, Cases};
use crate::database::now_ms;
use crate::error::GatewayError;
use crate::podero::{ApiRoute, Podero};
use crate::request::{client_addr, client_key};
use crate::self_service::page::{self, STYLESHEET};
use crate::self_service::{
    base_url, lost, page_url, read_devices, redacted, Link, Links, LostDevice, Refusal, Token,
    CUSTOMER_ACTOR,
};
use crate::startup::{AppState, Settings};
use crate::watch::Watch;

/// Largest body of the reconnect form (two short fields).
const FORM_LIMIT: usize = 1024;
/// How often opening the page goes on the device's case: at most once per
/// hour and link (a customer reloading is one visit).
const OPENED_EVENT_EVERY_MS: i64 = 3_600_000;

/// What the customer's page needs (cheap to clone).
#[derive(Clone, FromRef)]
pub struct CustomerState {
    links: Links,
    podero: Podero,
    watch: Watch,
    cases: Cases,
    audit: AuditLog,
    auth: Auth,
    settings: Settings,
    refusals: Arc<RateLimit>,
}

impl FromRef<AppState> for CustomerState {
    fn from_ref(s: &AppState) -> Self {
        Self {
            links: s.links.clone(),
            podero: s.podero.clone(),
            watch: s.watch.clone(),
            cases: s.cases.clone(),
            audit: s.audit.clone(),
            auth: s.auth.clone(),
            settings: s.settings.clone(),
            refusals: s.customer_refusals.clone(),
        }
    }
}

/// The routes of the customer's page.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/self-service.css",
            get(stylesheet).fallback(crate::routes::get_only),
        )
        .route(
            "/self-service/{token}",
            get(page_get).fallback(|s: State<CustomerState>, h: HeaderMap| async move {
                not_here(&s, &h, "GET,HEAD")
            }),
        )
        .route(
            "/self-service/{token}/reconnect",
            post(reconnect).fallback(|s: State<CustomerState>, h: HeaderMap| async move {
                not_here(&s, &h, "POST")
            }),
        )
        // A cut or padded link: the page that says so, not the staff app.
        .route("/self-service/", any(no_link))
        .route("/self-service/{token}/", any(no_link))
        .route("/self-service/{token}/{*rest}", any(no_link))
}

/// `GET /self-service.css`.
async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// One request to the page: who asks, in which language, how it ends.
struct Visit {
    lang: Lang,
    client: Option<String>,
    method: Method,
    route: String,
    /// When the request came (ms).
    started: i64,
    /// Whom the customer asks (`GATEWAY_SELF_SERVICE_CONTACT`).
    contact: Option<String>,
}

impl Visit {
    fn new(method: Method, path: &str, req: &Request, s: &CustomerState) -> Self {
        let auth = &s.auth;
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ci| ci.0.ip());
        let headers = req.headers();
        Self {
            lang: crate::lang::from_headers(headers),
            client: client_addr(peer, headers, auth.trusted_proxies()),
            method,
            route: redacted(path),
            started: now_ms(),
            contact: s.settings.support_contact.clone(),
        }
    }

    fn key(&self) -> String {
        client_key(self.client.as_deref())
    }

    /// The audit record of this visit.
    fn record(
        &self,
        action: AuditAction,
        user: Option<Uuid>,
        status: StatusCode,
        is_change: bool,
        detail: String,
    ) -> Record {
        Record {
            at: self.started,
            actor_email: Some(CUSTOMER_ACTOR.into()),
            client_addr: self.client.clone(),
            method: self.method.to_string(),
            route: self.route.clone(),
            action: action.code().into(),
            target_user_id: user,
            status: status.as_u16(),
            is_change,
            detail: Some(detail),
            count: 1,
            ..Default::default()
        }
    }
}

/// An HTML answer that no cache keeps (it is one customer's).
fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    r
}

fn refusal_page(
    lang: Lang,
    who: Option<&str>,
    status: StatusCode,
    title: &str,
    text: &str,
    args: &[(&str, &str)],
) -> Response {
    html(status, page::refusal(lang, who, title, text, args))
}

/// Append `record`; refusals from one client are folded like the
/// guard's. A failed write is logged (the customer's answer stands).
async fn audit(audit: &AuditLog, record: Record, refused: bool) {
    let due = if refused {
        audit.refusals().fold(record, Instant::now())
    } else {
        vec![record]
    };
    for r in due {
        if let Err(e) = audit.append(r).await {
            tracing::error!("could not write the audit record of a self-service request: {e}");
        }
    }
}

/// An address below `/self-service/` that cannot be a link.
async fn no_link(State(s): State<CustomerState>, headers: HeaderMap) -> Response {
    let lang = crate::lang::from_headers(&headers);
    refusal_page(
        lang,
        s.settings.support_contact.as_deref(),
        StatusCode::NOT_FOUND,
        "self_service.invalid_title",
        "self_service.invalid_text",
        &[],
    )
}

/// Any other method on a page address (`allow`: the methods it has): the
/// page that says the link is not valid, as a 405.
fn not_here(s: &CustomerState, headers: &HeaderMap, allow: &'static str) -> Response {
    let mut r = refusal_page(
        crate::lang::from_headers(headers),
        s.settings.support_contact.as_deref(),
        StatusCode::METHOD_NOT_ALLOWED,
        "self_service.invalid_title",
        "self_service.invalid_text",
        &[],
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// The token of a page address; a segment axum cannot decode (an escape
/// that is not UTF-8) is no token, refused by [`admit`] like any other
/// (not axum's plain-text rejection).
fn token_of(path: Result<Path<String>, PathRejection>) -> String {
    path.map(|Path(token)| token).unwrap_or_default()
}

/// The link of `token` and its user, or the page that refuses (already
/// audited).
async fn admit(s: &CustomerState, v: &Visit, token: &str) -> Result<(Token, Link, User), Response> {
    if let Err(wait) = s.auth.unauthenticated().take(&v.key(), Instant::now()) {
        return Err(limited(s, v, wait.as_secs().max(1)).await);
    }
    // Counted as refused until it proves valid (a burst cannot outrun it).
    if let Err(wait) = s.refusals.take(&v.key(), Instant::now()) {
        return Err(limited(s, v, wait.as_secs().max(1)).await);
    }
    let refused = |status: StatusCode, why: &str, user: Option<Uuid>| {
        let record = v.record(
            AuditAction::DeviceSelfServiceRefused,
            user,
            status,
            false,
            why.to_string(),
        );
        let (title, text) = if status == StatusCode::GONE {
            ("self_service.gone_title", "self_service.gone_text")
        } else {
            ("self_service.invalid_title", "self_service.invalid_text")
        };
        (
            record,
            refusal_page(v.lang, v.contact.as_deref(), status, title, text, &[]),
        )
    };
    let (record, page) = match Token::parse(token) {
        None => refused(StatusCode::NOT_FOUND, "not a link", None),
        Some(token) => match s.links.find(&token).await {
            Err(e) => return Err(failed(s, v, None, e).await),
            Ok(Err(Refusal::Unknown)) => refused(StatusCode::NOT_FOUND, "unknown link", None),
            Ok(Err(Refusal::Gone)) => refused(StatusCode::GONE, "expired or revoked link", None),
            Ok(Ok(link)) => match s
                .podero
                .get::<User>(&ApiRoute::User(link.user_id), true)
                .await
            {
                Ok(user) if user.deleted_at.is_none() => {
                    s.refusals.give_back(&v.key());
                    return Ok((token, link, user));
                }
                Ok(_) => refused(StatusCode::GONE, "the user is archived", Some(link.user_id)),
                Err(GatewayError::Podero { status, .. }) if status == StatusCode::NOT_FOUND => {
                    refused(StatusCode::GONE, "the user is gone", Some(link.user_id))
                }
                Err(e) => return Err(failed(s, v, Some(link.user_id), e).await),
            },
        },
    };
    audit(&s.audit, record, true).await;
    Err(page)
}

async fn limited(s: &CustomerState, v: &Visit, secs: u64) -> Response {
    let record = v.record(
        AuditAction::DeviceSelfServiceRefused,
        None,
        StatusCode::TOO_MANY_REQUESTS,
        false,
        "rate limited".into(),
    );
    audit(&s.audit, record, true).await;
    let mut r = refusal_page(
        v.lang,
        v.contact.as_deref(),
        StatusCode::TOO_MANY_REQUESTS,
        "self_service.limited_title",
        "self_service.limited_text",
        &[("seconds", &secs.to_string())],
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// Podero or the database failed: a page saying to try later (502).
async fn failed(s: &CustomerState, v: &Visit, user: Option<Uuid>, e: GatewayError) -> Response {
    tracing::warn!("self-service page: {e}");
    let record = v.record(
        AuditAction::DeviceSelfServiceOpen,
        user,
        StatusCode::BAD_GATEWAY,
        false,
        e.to_string().chars().take(300).collect(),
    );
    audit(&s.audit, record, false).await;
    refusal_page(
        v.lang,
        v.contact.as_deref(),
        StatusCode::BAD_GATEWAY,
        "self_service.failed_title",
        "self_service.failed_text",
        &[],
    )
}

/// The devices of `user` that need reconnecting, read from Podero now
/// (the fleet watch sees the reads too, so a device the customer has
/// reconnected resolves its case); the failure page otherwise.
async fn lost_devices(
    s: &CustomerState,
    v: &Visit,
    user: &User,
) -> Result<Vec<LostDevice>, Response> {
    let reads = match read_devices(&s.podero, user).await {
        Ok(r) => r,
        Err(e) => return Err(failed(s, v, Some(user.id), e).await),
    };
    if let Err(e) = s.watch.observe(user, &reads, false).await {
        tracing::warn!(user = %user.id, "self-service page: the watch could not record the reads: {e}");
    }
    Ok(lost(&reads))
}

/// The devices page of a valid link; `notice`: shown above the devices.
async fn devices_page(
    s: &CustomerState,
    v: &Visit,
    (token, link, user): (&Token, &Link, &User),
    status: StatusCode,
    notice: Option<String>,
) -> Response {
    match lost_devices(s, v, user).await {
        Err(page) => page,
        Ok(lost) => render(v, (token, link, user), &lost, status, notice),
    }
}

/// The devices page of `lost`.
fn render(
    v: &Visit,
    (token, link, user): (&Token, &Link, &User),
    lost: &[LostDevice],
    status: StatusCode,
    notice: Option<String>,
) -> Response {
    html(
        status,
        page::devices(
            v.lang,
            v.contact.as_deref(),
            user.first_name.as_deref(),
            lost,
            crate::database::to_time(link.expires_at),
            token,
            notice.as_deref(),
        ),
    )
}

/// `GET /self-service/{token}`.
async fn page_get(
    State(s): State<CustomerState>,
    token: Result<Path<String>, PathRejection>,
    req: Request,
) -> Response {
    let token = token_of(token);
    let v = Visit::new(Method::GET, &format!("/self-service/{token}"), &req, &s);
    let (token, link, user) = match admit(&s, &v, &token).await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let lost = match lost_devices(&s, &v, &user).await {
        Ok(l) => l,
        Err(page) => return page,
    };
    if let Err(e) = s.links.used(link.id).await {
        tracing::warn!("self-service page: the link's use was not counted: {e}");
    }
    let first_visit = link
        .last_used_at
        .is_none_or(|at| now_ms() - at >= OPENED_EVENT_EVERY_MS);
    if first_visit {
        // On the open case of each device the customer still has to reconnect.
        for d in &lost {
            if let Err(e) = s
                .cases
                .device_event(d.id, CaseEventKind::CustomerOpenedPage, &By::Customer, None)
                .await
            {
                tracing::warn!("self-service page: the case event was not written: {e}");
            }
        }
    }
    let record = v.record(
        AuditAction::DeviceSelfServiceOpen,
        Some(user.id),
        StatusCode::OK,
        false,
        format!("self-service link {}", link.id),
    );
    audit(&s.audit, record, false).await;
    let mut page = render(&v, (&token, &link, &user), &lost, StatusCode::OK, None);
    forget_earlier_pages(&mut page);
    page
}

/// Make the browser drop the pages of this origin it keeps for Back.
///
/// The customer's pages are `no-store`, but Chromium keeps such pages in
/// its back/forward cache all the same: after a reconnection (the
/// manufacturer sends the customer back to this page), Back showed the
/// page from before, the device still lost. `Clear-Site-Data: "cache"`
/// on every devices page drops the earlier one, so Back asks the gateway
/// again and shows the devices as they are now. (The origin's HTTP
/// cache goes too: for a customer, only this page's stylesheet.)
fn forget_earlier_pages(page: &mut Response) {
    page.headers_mut().insert(
        HeaderName::from_static("clear-site-data"),
        HeaderValue::from_static("\"cache\""),
    );
}

/// The reconnect form's fields.
fn form(body: &[u8]) -> Option<(DeviceKind, Uuid)> {
    let mut kind = None;
    let mut device = None;
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "kind" => kind = DeviceKind::from_path_segment(&v),
            "device" => device = Uuid::parse_str(&v).ok(),
            _ => {}
        }
    }
    Some((kind?, device?))
}

/// `POST /self-service/{token}/reconnect` (form: `kind`, `device`).
async fn reconnect(
    State(s): State<CustomerState>,
    token: Result<Path<String>, PathRejection>,
    req: Request,
) -> Response {
    let token = token_of(token);
    let v = Visit::new(
        Method::POST,
        &format!("/self-service/{token}/reconnect"),
        &req,
        &s,
    );
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.eq_ignore_ascii_case("cross-site"));
    if cross_site {
        let record = v.record(
            AuditAction::DeviceSelfServiceRefused,
            None,
            StatusCode::FORBIDDEN,
            false,
            "cross-site form".into(),
        );
        audit(&s.audit, record, true).await;
        return refusal_page(
            v.lang,
            v.contact.as_deref(),
            StatusCode::FORBIDDEN,
            "self_service.invalid_title",
            "self_service.invalid_text",
            &[],
        );
    }
    let (token, link, user) = match admit(&s, &v, &token).await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let bytes = match axum::body::to_bytes(body, FORM_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            let notice = shared::tr(v.lang, "self_service.device_unknown", &[]);
            return devices_page(
                &s,
                &v,
                (&token, &link, &user),
                StatusCode::PAYLOAD_TOO_LARGE,
                Some(notice),
            )
            .await;
        }
    };
    // The device must be one of this user's, of that kind, read now.
    let found = match form(&bytes) {
        None => None,
        Some((kind, device)) => match s
            .podero
            .get::<Vec<DeviceCommon>>(&ApiRoute::Devices(user.id, kind), false)
            .await
        {
            Ok(list) => list.into_iter().find(|d| d.id == device).map(|d| (kind, d)),
            Err(e) => return failed(&s, &v, Some(user.id), e).await,
        },
    };
    let Some((kind, device)) = found else {
        let record = v.record(
            AuditAction::DeviceSelfServiceReconnect,
            Some(user.id),
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
            format!(
                "self-service link {}: not one of the user's devices",
                link.id
            ),
        );
        audit(&s.audit, record, false).await;
        let notice = shared::tr(v.lang, "self_service.device_unknown", &[]);
        return devices_page(
            &s,
            &v,
            (&token, &link, &user),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(notice),
        )
        .await;
    };
    // What Podero sends the customer back to: this page.
    let back = page_url(&base_url(&s.settings, &headers), &token);
    let name = device.model_name().unwrap_or_else(|| kind.label_in(v.lang));
    let body = json!({ "success_url": back, "cancel_url": back });
    let session = s
        .podero
        .send(
            Method::POST,
            &ApiRoute::AuthSession(user.id, kind, device.id),
            Some(&body),
        )
        .await
        .and_then(|answer| {
            serde_json::from_value::<AuthSessionResponse>(answer)
                .map_err(|e| GatewayError::Internal(e.to_string()))
        });
    let url = match session {
        Ok(AuthSessionResponse {
            authentication_url: Some(url),
            ..
        }) if url.starts_with("https://") || url.starts_with("http://") => url,
        other => {
            let why = match other {
                Err(e) => e.to_string(),
                Ok(_) => "Podero answered no sign-in address".into(),
            };
            let record = v.record(
                AuditAction::DeviceSelfServiceReconnect,
                Some(user.id),
                StatusCode::BAD_GATEWAY,
                true,
                format!(
                    "self-service link {}: {}",
                    link.id,
                    why.chars().take(300).collect::<String>()
                ),
            );
            audit(&s.audit, record, false).await;
            let notice = shared::tr(v.lang, "self_service.reconnect_failed", &[]);
            return devices_page(
                &s,
                &v,
                (&token, &link, &user),
                StatusCode::BAD_GATEWAY,
                Some(notice),
            )
            .await;
        }
    };
    if let Err(e) = s
        .cases
        .device_event(
            device.id,
            CaseEventKind::CustomerReconnectPressed,
            &By::Customer,
            None,
        )
        .await
    {
        tracing::warn!("self-service page: the case event was not written: {e}");
    }
    let record = v.record(
        AuditAction::DeviceSelfServiceReconnect,
        Some(user.id),
        StatusCode::OK,
        true,
        format!(
            "self-service link {}: {} {}",
            link.id,
            kind.path_segment(),
            device.id
        ),
    );
    audit(&s.audit, record, false).await;
    html(
        StatusCode::OK,
        page::continue_to(v.lang, v.contact.as_deref(), &name, &url, &token),
    )
}
