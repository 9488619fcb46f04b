//! All HTTP the app does, through gloo-net and the `shared` types.
//!
//! The browser talks only to the gateway, never to Podero: the gateway adds
//! the credentials. Each call returns `Result<T, ApiFailure>`; the failure
//! carries the gateway's or Podero's JSON error when there is one, so pages
//! can show its message (and, for forms, the message of each field).

use std::cell::RefCell;

use futures::future::{FutureExt, LocalBoxFuture, Shared};
use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::directory::{
    self, Freshness, ReconnectionReport, UserPage, UserQuery, DIRECTORY_CSV_PATH,
    DIRECTORY_RECONNECTION_PATH, DIRECTORY_REFRESH_PATH, DIRECTORY_USERS_PATH,
};
use shared::{
    ApiError, AppInfo, AuthSessionRequest, AuthSessionResponse, Building, CreateUser, Device,
    DeviceKind, ElectricVehicle, HeatPump, Inverter, UpdateUser, User, Wallbox, API_PREFIX,
};
use uuid::Uuid;

/// Why a call failed, in words a person can act on.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiFailure {
    /// The gateway answered with an error status and (usually) a JSON body.
    Api { status: u16, error: ApiError },
    /// No answer: the gateway is down or the network is gone.
    Network(String),
    /// An answer the app could not read.
    Decode(String),
}

impl ApiFailure {
    pub fn message(&self) -> String {
        match self {
            ApiFailure::Api { status, error } => format!("{} (HTTP {status})", error.summary()),
            ApiFailure::Network(e) => format!("The back-office server could not be reached: {e}. Check your connection and retry."),
            ApiFailure::Decode(e) => format!("The server's answer could not be read: {e}"),
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiFailure::Api { status: 404, .. })
    }

    /// The server's message for one form field (`loc: ["body", field]`), if
    /// the failure is about that field.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            ApiFailure::Api { error, .. } => error.field_message(field).map(str::to_string),
            _ => None,
        }
    }
}

async fn read<T: DeserializeOwned>(resp: Response) -> Result<T, ApiFailure> {
    if resp.ok() {
        return resp
            .json::<T>()
            .await
            .map_err(|e| ApiFailure::Decode(e.to_string()));
    }
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let error = serde_json::from_str::<ApiError>(&text).unwrap_or_else(|_| {
        // Not Podero's JSON (a proxy's HTML page, say): keep it short.
        let text = text.trim();
        ApiError::message(
            if text.is_empty() || text.starts_with('<') || text.len() > 300 {
                match resp.status_text() {
                    s if s.is_empty() => format!("The server answered with status {status}"),
                    s => s,
                }
            } else {
                text.to_string()
            },
        )
    });
    Err(ApiFailure::Api { status, error })
}

async fn get<T: DeserializeOwned>(url: &str) -> Result<T, ApiFailure> {
    let resp = Request::get(url)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| ApiFailure::Network(e.to_string()))?;
    read(resp).await
}

async fn post<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> Result<T, ApiFailure> {
    send_json(Request::post(url), body).await
}

async fn put<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> Result<T, ApiFailure> {
    send_json(Request::put(url), body).await
}

async fn send_json<B: Serialize, T: DeserializeOwned>(
    req: gloo_net::http::RequestBuilder,
    body: &B,
) -> Result<T, ApiFailure> {
    let req = req
        .header("Accept", "application/json")
        .json(body)
        .map_err(|e| ApiFailure::Decode(e.to_string()))?;
    let resp = req
        .send()
        .await
        .map_err(|e| ApiFailure::Network(e.to_string()))?;
    read(resp).await
}

/// `DELETE`, expecting an empty success answer (204).
async fn delete(url: &str) -> Result<(), ApiFailure> {
    let resp = Request::delete(url)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| ApiFailure::Network(e.to_string()))?;
    if resp.ok() {
        return Ok(());
    }
    read::<serde_json::Value>(resp).await.map(drop)
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
