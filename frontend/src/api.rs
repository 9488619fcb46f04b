//! All HTTP the app does, through gloo-net and the `shared` types.
//!
//! The browser talks only to the gateway, never to Podero: the gateway adds
//! the credentials. Each call returns `Result<T, ApiFailure>`; the failure
//! carries the gateway's or Podero's JSON error when there is one, so pages
//! can show its message (and, for forms, the message of each field).
//!
//! Every request goes through [`exchange`], the one place that sends: it
//! adds the anti-forgery header ([`CSRF_HEADER`], the session's token) to
//! every request that is not a `GET`, and it tells the app shell (through
//! [`watch_session`]) when an answer means the session ended (401) or the
//! one-time password must be replaced first (403 `password_change_required`).

use std::cell::RefCell;
use std::rc::Rc;

use futures::future::{FutureExt, LocalBoxFuture, Shared};
use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::cases::{
    CaseCounts, CaseDetail, CaseList, CaseQuery, CaseUpdate, NewCase, NewComment, WatchStatus,
    WatchedUser, WebhookDelivery, CASES_CSV_PATH, CASES_MAX_PER_PAGE, CASES_PATH,
    CASES_SUMMARY_PATH, WATCH_PATH, WEBHOOK_DELIVERIES_PATH,
};
use shared::directory::{
    self, Freshness, ReconnectionReport, UserPage, UserQuery, DIRECTORY_CSV_PATH,
    DIRECTORY_RECONNECTION_PATH, DIRECTORY_REFRESH_PATH, DIRECTORY_USERS_PATH,
};
use shared::self_service::{
    email_path, link_path, links_path, revoke_path, LinkInfo, NewLink, Outbox, SendLink, SentLink,
    OUTBOX_PATH,
};
use shared::staff::{
    team_member_path, team_password_path, team_sessions_path, user_history_path, AuditEntry,
    AuditPage, AuditQuery, ChangePassword, Invite, Invited, LanguageChoice, RoleChange,
    SessionInfo, SessionsEnded, SignIn, TeamList, TeamMember, AUDIT_CSV_PATH, AUDIT_PATH,
    CSRF_HEADER, LANGUAGE_PATH, PASSWORD_PATH, SESSION_PATH, TEAM_PATH,
};
use shared::sync::{
    DryRun, FileColumns, QualityReport, SyncRun, QUALITY_CSV_PATH, QUALITY_PATH, SYNC_DRY_RUN_PATH,
    SYNC_RUNS_PATH,
};
use shared::{
    ApiError, AppInfo, AuthSessionRequest, AuthSessionResponse, Building, CreateUser, Device,
    DeviceKind, ElectricVehicle, HeatPump, Inverter, UpdateUser, User, Wallbox, API_PREFIX,
};
use uuid::Uuid;

use crate::i18n::{self, t, t_with};

/// Why a call failed, in words a person can act on.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiFailure {
    /// The gateway answered with an error status and (usually) a JSON body.
    Api { status: u16, error: ApiError },
    /// No answer: the gateway is down or the network is gone. (The
    /// browser's own words, "TypeError: Failed to fetch", help nobody.)
    Network,
    /// An answer the app could not read.
    Decode(String),
}

impl ApiFailure {
    /// In the current language (tracked; the server's own words as sent).
    pub fn message(&self) -> String {
        match self {
            ApiFailure::Api { status, error } => t_with(
                "error.api",
                &[
                    ("message", &error.summary()),
                    ("status", &status.to_string()),
                ],
            ),
            ApiFailure::Network => t("error.network"),
            ApiFailure::Decode(e) => t_with("error.decode", &[("error", e)]),
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiFailure::Api { status: 404, .. })
    }

    /// The gateway's machine-readable `code` (`sign_in_failed`,
    /// `forbidden`, `own_account`, ...), if it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiFailure::Api { error, .. } => error.code.as_deref(),
            _ => None,
        }
    }

    /// A customer file's header row and the columns that could be used,
    /// which the gateway's refusal of a column mapping carries (sync).
    pub fn file_columns(&self) -> Option<&FileColumns> {
        match self {
            ApiFailure::Api { error, .. } => error.columns.as_ref(),
            _ => None,
        }
    }

    /// The server's own words, without the status (for answers whose
    /// message is meant for the person, like a refused sign-in).
    pub fn detail(&self) -> String {
        match self {
            ApiFailure::Api { error, .. } => error.summary(),
            other => other.message(),
        }
    }
}

/// What an answer says about the session, for the app shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    /// 401: nobody is signed in any more (signed out, expired, ended by an
    /// admin).
    Ended,
    /// 403 `password_change_required`: the one-time password must be
    /// replaced before anything else.
    PasswordChangeRequired,
}

type Watcher = Rc<dyn Fn(SessionEvent)>;

thread_local! {
    /// The anti-forgery token of the current session (from `SessionInfo`).
    static CSRF_TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Who hears about [`SessionEvent`]s (the app shell).
    static WATCHER: RefCell<Option<Watcher>> = const { RefCell::new(None) };
}

/// Remember the session that just arrived (its anti-forgery token), or
/// forget it (`None`: signed out).
fn remember(session: Option<&SessionInfo>) {
    CSRF_TOKEN.with(|t| *t.borrow_mut() = session.map(|s| s.csrf_token.clone()));
    if session.is_none() {
        APP_INFO.with(|c| *c.borrow_mut() = None);
    }
}

/// Forget the session (after a 401, or signing out).
pub fn forget_session() {
    remember(None);
}

/// Call `f` whenever an answer means the session ended or the password
/// must be changed first. One watcher (the app shell); a new one replaces it.
pub fn watch_session(f: impl Fn(SessionEvent) + 'static) {
    WATCHER.with(|w| *w.borrow_mut() = Some(Rc::new(f)));
}

fn tell(event: SessionEvent) {
    // Cloned out first: the watcher may call back into this module.
    if let Some(f) = WATCHER.with(|w| w.borrow().clone()) {
        f(event);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

/// Value of the anti-forgery header for a state-changing request. Before
/// sign-in there is no token; the gateway only checks that the header is
/// there (a cross-site form cannot add one).
fn csrf_value() -> String {
    CSRF_TOKEN
        .with(|t| t.borrow().clone())
        .unwrap_or_else(|| "sign-in".to_string())
}

/// Send one request and read an error answer into an [`ApiFailure`]: the
/// only place the app sends from. Every request that is not a `GET`
/// carries the anti-forgery header. A 401 outside `/api/session` (whose
/// callers handle it: sign-in, start-up, sign-out) ends the session in the
/// app, and a 403 `password_change_required` sends the person to the
/// password change.
async fn exchange(method: Method, url: &str, body: Option<String>) -> Result<Response, ApiFailure> {
    exchange_body(method, url, body.map(Body::Json)).await
}

/// A request body: JSON, or a file's bytes (a customer file, sent as CSV).
enum Body {
    Json(String),
    Csv(Vec<u8>),
}

/// [`exchange`] with any [`Body`].
async fn exchange_body(
    method: Method,
    url: &str,
    body: Option<Body>,
) -> Result<Response, ApiFailure> {
    let builder: RequestBuilder = match method {
        Method::Get => Request::get(url),
        Method::Post => Request::post(url),
        Method::Put => Request::put(url),
        Method::Patch => Request::patch(url),
        Method::Delete => Request::delete(url),
    }
    .header("Accept", "application/json")
    // The gateway answers its messages in the account's language, else in
    // this one: the app's of the moment.
    .header("Accept-Language", i18n::current().code());
    let builder = if method == Method::Get {
        builder
    } else {
        builder.header(CSRF_HEADER, &csrf_value())
    };
    let request = match body {
        Some(Body::Json(json)) => builder
            .header("Content-Type", "application/json")
            .body(json),
        Some(Body::Csv(bytes)) => builder
            .header("Content-Type", "text/csv")
            .body(js_sys::Uint8Array::from(bytes.as_slice())),
        None => builder.build(),
    }
    .map_err(|e| ApiFailure::Decode(e.to_string()))?;
    let resp = request.send().await.map_err(|_| ApiFailure::Network)?;
    if resp.ok() {
        return Ok(resp);
    }
    let failure = failure(resp).await;
    if let ApiFailure::Api { status, error } = &failure {
        if *status == 401 && url != SESSION_PATH {
            forget_session();
            tell(SessionEvent::Ended);
        } else if *status == 403 && error.code.as_deref() == Some("password_change_required") {
            tell(SessionEvent::PasswordChangeRequired);
        }
    }
    Err(failure)
}

/// The error of an answer that is not a success.
async fn failure(resp: Response) -> ApiFailure {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let error = serde_json::from_str::<ApiError>(&text).unwrap_or_else(|_| {
        // Not Podero's JSON (a proxy's HTML page, say): keep it short.
        let text = text.trim();
        ApiError::message(
            if text.is_empty() || text.starts_with('<') || text.len() > 300 {
                match resp.status_text() {
                    s if s.is_empty() => i18n::tr(
                        i18n::current(),
                        "error.status",
                        &[("status", &status.to_string())],
                    ),
                    s => s,
                }
            } else {
                text.to_string()
            },
        )
    });
    ApiFailure::Api { status, error }
}

async fn json<T: DeserializeOwned>(resp: Response) -> Result<T, ApiFailure> {
    resp.json::<T>()
        .await
        .map_err(|e| ApiFailure::Decode(e.to_string()))
}

fn body<B: Serialize>(body: &B) -> Result<Option<String>, ApiFailure> {
    serde_json::to_string(body)
        .map(Some)
        .map_err(|e| ApiFailure::Decode(e.to_string()))
}

async fn get<T: DeserializeOwned>(url: &str) -> Result<T, ApiFailure> {
    json(exchange(Method::Get, url, None).await?).await
}

async fn post<B: Serialize, T: DeserializeOwned>(url: &str, b: &B) -> Result<T, ApiFailure> {
    json(exchange(Method::Post, url, body(b)?).await?).await
}

async fn put<B: Serialize, T: DeserializeOwned>(url: &str, b: &B) -> Result<T, ApiFailure> {
    json(exchange(Method::Put, url, body(b)?).await?).await
}

async fn patch<B: Serialize, T: DeserializeOwned>(url: &str, b: &B) -> Result<T, ApiFailure> {
    json(exchange(Method::Patch, url, body(b)?).await?).await
}

/// `DELETE`, expecting an empty success answer (204).
async fn delete(url: &str) -> Result<(), ApiFailure> {
    exchange(Method::Delete, url, None).await.map(drop)
}

/// `DELETE`, expecting a JSON answer.
async fn delete_json<T: DeserializeOwned>(url: &str) -> Result<T, ApiFailure> {
    json(exchange(Method::Delete, url, None).await?).await
}

/// Who is signed in; a 401 failure when nobody is.
pub async fn session() -> Result<SessionInfo, ApiFailure> {
    let info: SessionInfo = get(SESSION_PATH).await?;
    remember(Some(&info));
    Ok(info)
}

/// Sign in. A refused sign-in is a 401 (`sign_in_failed`) or, after too
/// many attempts, a 429 (`too_many_attempts`); both say what to do.
pub async fn sign_in(body: &SignIn) -> Result<SessionInfo, ApiFailure> {
    let info: SessionInfo = post(SESSION_PATH, body).await?;
    remember(Some(&info));
    Ok(info)
}

/// Sign out. A 401 means the session had ended already: that is signed
/// out too. Any other failure (the gateway unreachable) keeps the session.
pub async fn sign_out() -> Result<(), ApiFailure> {
    match delete(SESSION_PATH).await {
        Ok(()) | Err(ApiFailure::Api { status: 401, .. }) => {
            forget_session();
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Replace the signed-in account's password (422 with field errors).
pub async fn change_password(body: &ChangePassword) -> Result<SessionInfo, ApiFailure> {
    let info: SessionInfo = post(PASSWORD_PATH, body).await?;
    remember(Some(&info));
    Ok(info)
}

/// Store the signed-in account's language (`None`: follow the browser).
pub async fn set_language(language: Option<shared::Lang>) -> Result<SessionInfo, ApiFailure> {
    let info: SessionInfo = put(LANGUAGE_PATH, &LanguageChoice { language }).await?;
    remember(Some(&info));
    Ok(info)
}

/// The back-office team and the organisation's Podero admins and staff
/// without an account (admins only). After one of the gateway's own team
/// writes, its answer already reflects that write.
pub async fn team() -> Result<TeamList, ApiFailure> {
    get(TEAM_PATH).await
}

/// Invite a colleague; the answer holds their one-time password.
pub async fn invite(body: &Invite) -> Result<Invited, ApiFailure> {
    post(TEAM_PATH, body).await
}

/// Give a team member another role.
pub async fn change_role(id: Uuid, role: RoleChange) -> Result<TeamMember, ApiFailure> {
    patch(&team_member_path(id), &role).await
}

/// Remove a team member (and their Podero team member, if any).
pub async fn remove_member(id: Uuid) -> Result<(), ApiFailure> {
    delete(&team_member_path(id)).await
}

/// Issue a new one-time password for a colleague (not one's own account:
/// 409 `own_account`); their sessions end. The answer holds the password.
pub async fn new_one_time_password(id: Uuid) -> Result<Invited, ApiFailure> {
    post(&team_password_path(id), &serde_json::json!({})).await
}

/// Sign a team member out everywhere.
pub async fn end_sessions(id: Uuid) -> Result<SessionsEnded, ApiFailure> {
    delete_json(&team_sessions_path(id)).await
}

/// One page of the audit trail, newest first (admins only).
pub async fn audit_page(query: &AuditQuery) -> Result<AuditPage, ApiFailure> {
    get(&audit_url(AUDIT_PATH, query)).await
}

/// Address of the CSV export of every entry matching `query` (all pages),
/// for a plain download link.
pub fn audit_csv_url(query: &AuditQuery) -> String {
    let all = AuditQuery {
        page: 1,
        per_page: shared::staff::AUDIT_PER_PAGE,
        ..query.clone()
    };
    audit_url(AUDIT_CSV_PATH, &all)
}

fn audit_url(path: &str, query: &AuditQuery) -> String {
    match query.to_query_string() {
        q if q.is_empty() => path.to_string(),
        q => format!("{path}?{q}"),
    }
}

/// Compare a customer file with the organisation (nothing is written);
/// `query` sets the column mapping.
pub async fn sync_dry_run(file: Vec<u8>, query: &str) -> Result<DryRun, ApiFailure> {
    let url = format!("{SYNC_DRY_RUN_PATH}?{query}");
    json(exchange_body(Method::Post, &url, Some(Body::Csv(file))).await?).await
}

/// The dry run's full diff (every row, unchanged ones too) as a CSV file:
/// its name (from the answer's `Content-Disposition`) and bytes.
pub async fn sync_dry_run_csv(file: Vec<u8>, query: &str) -> Result<(String, Vec<u8>), ApiFailure> {
    let url = format!("{SYNC_DRY_RUN_PATH}?{query}&format=csv");
    let resp = exchange_body(Method::Post, &url, Some(Body::Csv(file))).await?;
    let name = resp
        .headers()
        .get("content-disposition")
        .and_then(|h| crate::download::attachment_name(&h))
        .unwrap_or_else(|| "sync-dry-run.csv".to_string());
    let bytes = resp
        .binary()
        .await
        .map_err(|e| ApiFailure::Decode(e.to_string()))?;
    Ok((name, bytes))
}

/// Apply a customer file: a run the gateway works through in the background.
pub async fn sync_start(file: Vec<u8>, query: &str) -> Result<SyncRun, ApiFailure> {
    let url = format!("{SYNC_RUNS_PATH}?{query}");
    json(exchange_body(Method::Post, &url, Some(Body::Csv(file))).await?).await
}

/// The latest sync runs, newest first.
pub async fn sync_runs() -> Result<Vec<SyncRun>, ApiFailure> {
    get(SYNC_RUNS_PATH).await
}

/// One sync run's progress.
pub async fn sync_run(id: Uuid) -> Result<SyncRun, ApiFailure> {
    get(&format!("{SYNC_RUNS_PATH}/{id}")).await
}

/// Pause (`true`) or resume a sync run.
pub async fn sync_pause(id: Uuid, pause: bool) -> Result<SyncRun, ApiFailure> {
    let action = if pause { "pause" } else { "resume" };
    post(
        &format!("{SYNC_RUNS_PATH}/{id}/{action}"),
        &serde_json::json!({}),
    )
    .await
}

/// Address of a run's report (CSV), for a plain download link.
pub fn sync_report_url(id: Uuid) -> String {
    format!("{SYNC_RUNS_PATH}/{id}/report.csv")
}

/// The data-quality report (`query`: problem, q, page, per_page).
pub async fn quality(query: &str) -> Result<QualityReport, ApiFailure> {
    get(&format!("{QUALITY_PATH}?{query}")).await
}

/// Address of the data-quality CSV for `query`, for a plain download link.
pub fn quality_csv_url(query: &str) -> String {
    format!("{QUALITY_CSV_PATH}?{query}")
}

/// What was changed for an end-user through the back-office, newest first.
pub async fn user_history(user: Uuid) -> Result<Vec<AuditEntry>, ApiFailure> {
    get(&user_history_path(user)).await
}

type AppInfoFuture = Shared<LocalBoxFuture<'static, Result<AppInfo, ApiFailure>>>;

thread_local! {
    /// The one `/api/app-info` request of this page load, shared by every caller.
    static APP_INFO: RefCell<Option<AppInfoFuture>> = const { RefCell::new(None) };
}

/// What the gateway says about itself (organisation id, upstream, version).
/// Asked once per page load, however many callers ask at the same time; a
/// failure is not kept, so a retry asks again.
pub async fn app_info() -> Result<AppInfo, ApiFailure> {
    let shared = APP_INFO.with(|c| {
        c.borrow_mut()
            .get_or_insert_with(|| get::<AppInfo>("/api/app-info").boxed_local().shared())
            .clone()
    });
    let result = shared.await;
    if result.is_err() {
        APP_INFO.with(|c| *c.borrow_mut() = None);
    }
    result
}

async fn org_url(path: &str) -> Result<String, ApiFailure> {
    let org = app_info().await?.org_id;
    Ok(format!("{API_PREFIX}/org/{org}{path}"))
}

/// One page of the users list from the gateway's read model.
pub async fn users_page(query: &UserQuery) -> Result<UserPage, ApiFailure> {
    get(&with_query(DIRECTORY_USERS_PATH, query)).await
}

/// Address of the CSV export of every user matching `query` (all pages),
/// for a plain download link.
pub fn users_csv_url(query: &UserQuery) -> String {
    with_query(DIRECTORY_CSV_PATH, &query.first_page())
}

fn with_query(path: &str, query: &UserQuery) -> String {
    match query.to_query_string() {
        q if q.is_empty() => path.to_string(),
        q => format!("{path}?{q}"),
    }
}

/// Ask the gateway to take a fresh snapshot of the users now.
pub async fn refresh_users() -> Result<Freshness, ApiFailure> {
    post(DIRECTORY_REFRESH_PATH, &serde_json::json!({})).await
}

/// The organisation's devices with a lost connection, as far as scanned.
pub async fn reconnection_report() -> Result<ReconnectionReport, ApiFailure> {
    get(DIRECTORY_RECONNECTION_PATH).await
}

/// Start a new scan of every user's devices (no-op while one runs).
pub async fn start_reconnection_scan() -> Result<ReconnectionReport, ApiFailure> {
    post(DIRECTORY_RECONNECTION_PATH, &serde_json::json!({})).await
}

/// A user, archived or not.
pub async fn get_user(id: Uuid) -> Result<User, ApiFailure> {
    get(&org_url(&format!("/users/{id}?include_deleted=true")).await?).await
}

/// The user with this customer number (`external_user_id`); a 404 failure
/// when there is none.
pub async fn user_by_external_id(
    external_user_id: &str,
    include_deleted: bool,
) -> Result<User, ApiFailure> {
    let ext = directory::percent_encode(external_user_id.trim());
    let q = if include_deleted {
        "?include_deleted=true"
    } else {
        ""
    };
    get(&org_url(&format!("/users/by-ext-id/{ext}{q}")).await?).await
}

/// Create a user (end-user, staff or admin).
pub async fn create_user(body: &CreateUser) -> Result<User, ApiFailure> {
    post(&org_url("/users").await?, body).await
}

/// Change the fields set in `body`, and only those.
pub async fn update_user(id: Uuid, body: &UpdateUser) -> Result<User, ApiFailure> {
    put(&org_url(&format!("/users/{id}")).await?, body).await
}

/// Archive (soft-delete) a user. Podero cannot undo this.
pub async fn archive_user(id: Uuid) -> Result<(), ApiFailure> {
    delete(&org_url(&format!("/users/{id}")).await?).await
}

/// The user's buildings.
pub async fn list_buildings(user: Uuid) -> Result<Vec<Building>, ApiFailure> {
    get(&org_url(&format!("/users/{user}/buildings")).await?).await
}

/// One device, read fresh from Podero (e.g. to verify a reconnection).
pub async fn get_device(user: Uuid, kind: DeviceKind, device: Uuid) -> Result<Device, ApiFailure> {
    let url = org_url(&format!("/users/{user}/{}/{device}", kind.path_segment())).await?;
    Ok(match kind {
        DeviceKind::HeatPump => Device::HeatPump(get(&url).await?),
        DeviceKind::ElectricVehicle => Device::ElectricVehicle(get(&url).await?),
        DeviceKind::Wallbox => Device::Wallbox(get(&url).await?),
        DeviceKind::Inverter => Device::Inverter(get(&url).await?),
    })
}

/// The user's devices of one kind.
pub async fn list_devices(user: Uuid, kind: DeviceKind) -> Result<Vec<Device>, ApiFailure> {
    let url = org_url(&format!("/users/{user}/{}", kind.path_segment())).await?;
    Ok(match kind {
        DeviceKind::HeatPump => wrap(get::<Vec<HeatPump>>(&url).await?, Device::HeatPump),
        DeviceKind::ElectricVehicle => wrap(
            get::<Vec<ElectricVehicle>>(&url).await?,
            Device::ElectricVehicle,
        ),
        DeviceKind::Wallbox => wrap(get::<Vec<Wallbox>>(&url).await?, Device::Wallbox),
        DeviceKind::Inverter => wrap(get::<Vec<Inverter>>(&url).await?, Device::Inverter),
    })
}

fn wrap<T>(items: Vec<T>, into: fn(T) -> Device) -> Vec<Device> {
    items.into_iter().map(into).collect()
}

/// All four kinds of devices of a user, fetched in parallel.
pub async fn user_devices(user: Uuid) -> Result<Vec<Device>, ApiFailure> {
    let (hp, ev, wb, iv) = futures::join!(
        list_devices(user, DeviceKind::HeatPump),
        list_devices(user, DeviceKind::ElectricVehicle),
        list_devices(user, DeviceKind::Wallbox),
        list_devices(user, DeviceKind::Inverter),
    );
    let mut all = hp?;
    all.extend(ev?);
    all.extend(wb?);
    all.extend(iv?);
    Ok(all)
}

/// A fresh reconnection link for a device (`auth_session`).
pub async fn create_reconnection_link(
    user: Uuid,
    kind: DeviceKind,
    device: Uuid,
) -> Result<AuthSessionResponse, ApiFailure> {
    let url = org_url(&format!(
        "/users/{user}/{}/{device}/auth_session",
        kind.path_segment()
    ))
    .await?;
    post(&url, &AuthSessionRequest::default()).await
}

/// One page of the support cases matching `query`, with the counts per
/// state under its other filters.
pub async fn cases(query: &CaseQuery) -> Result<CaseList, ApiFailure> {
    get(&cases_url(CASES_PATH, query)).await
}

/// Address of the CSV export of every case matching `query` (all pages),
/// for a plain download link.
pub fn cases_csv_url(query: &CaseQuery) -> String {
    let all = CaseQuery {
        page: 1,
        per_page: CASES_MAX_PER_PAGE,
        ..query.clone()
    };
    cases_url(CASES_CSV_PATH, &all)
}

fn cases_url(path: &str, query: &CaseQuery) -> String {
    match query.to_query_string() {
        q if q.is_empty() => path.to_string(),
        q => format!("{path}?{q}"),
    }
}

/// The accounts a case can be assigned to (admins and staff).
pub async fn case_assignees() -> Result<Vec<shared::cases::Assignee>, ApiFailure> {
    get(shared::cases::CASES_ASSIGNEES_PATH).await
}

/// The cases per state, and the open ones nobody has taken (the badge).
pub async fn case_summary() -> Result<CaseCounts, ApiFailure> {
    get(CASES_SUMMARY_PATH).await
}

/// Open a case by hand (422 with field errors).
pub async fn create_case(body: &NewCase) -> Result<CaseDetail, ApiFailure> {
    post(CASES_PATH, body).await
}

/// A case with its timeline, oldest first.
pub async fn case(id: i64) -> Result<CaseDetail, ApiFailure> {
    get(&format!("{CASES_PATH}/{id}")).await
}

/// Change a case's state, assignee, priority or subject.
pub async fn update_case(id: i64, body: &CaseUpdate) -> Result<CaseDetail, ApiFailure> {
    patch(&format!("{CASES_PATH}/{id}"), body).await
}

/// Add a comment to a case's timeline (422 with a field error on `text`).
pub async fn comment_case(id: i64, body: &NewComment) -> Result<CaseDetail, ApiFailure> {
    post(&format!("{CASES_PATH}/{id}/comments"), body).await
}

/// The fleet watch's coverage: budget, round time and progress.
pub async fn watch_status() -> Result<WatchStatus, ApiFailure> {
    get(WATCH_PATH).await
}

/// What the fleet watch knows of one end-user's devices.
pub async fn watched_user(user: Uuid) -> Result<WatchedUser, ApiFailure> {
    get(&format!("{WATCH_PATH}/users/{user}")).await
}

/// The outgoing webhook's deliveries (admins only).
pub async fn webhook_deliveries() -> Result<Vec<WebhookDelivery>, ApiFailure> {
    get(WEBHOOK_DELIVERIES_PATH).await
}

/// A new self-service link for an end-user: its address is in this answer
/// only (the gateway keeps a hash).
pub async fn create_self_service_link(user: Uuid) -> Result<NewLink, ApiFailure> {
    post(&link_path(user), &serde_json::json!({})).await
}

/// The end-user's self-service links, newest first.
pub async fn self_service_links(user: Uuid) -> Result<Vec<LinkInfo>, ApiFailure> {
    get(&links_path(user)).await
}

/// Revoke one self-service link (it stops working at once).
pub async fn revoke_self_service_link(user: Uuid, link: i64) -> Result<(), ApiFailure> {
    delete(&revoke_path(user, link)).await
}

/// Create a self-service link and e-mail it to the end-user (422 with
/// field errors: `language`, `email`, `case_id`).
pub async fn send_self_service_link(user: Uuid, body: &SendLink) -> Result<SentLink, ApiFailure> {
    post(&email_path(user), body).await
}

/// The messages to customers, newest first (admins only).
pub async fn outbox() -> Result<Outbox, ApiFailure> {
    get(OUTBOX_PATH).await
}
