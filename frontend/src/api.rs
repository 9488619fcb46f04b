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
use shared::{
    ApiError, AppInfo, AuthSessionRequest, AuthSessionResponse, Device, DeviceKind,
    ElectricVehicle, HeatPump, Inverter, User, Wallbox, API_PREFIX,
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
    let req = Request::post(url)
        .header("Accept", "application/json")
        .json(body)
        .map_err(|e| ApiFailure::Decode(e.to_string()))?;
    let resp = req
        .send()
        .await
        .map_err(|e| ApiFailure::Network(e.to_string()))?;
    read(resp).await
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

/// Every user of the organisation (Podero has no paging).
pub async fn list_users(include_deleted: bool) -> Result<Vec<User>, ApiFailure> {
    let q = if include_deleted {
        "?include_deleted=true"
    } else {
        ""
    };
    get(&org_url(&format!("/users{q}")).await?).await
}

pub async fn get_user(id: Uuid) -> Result<User, ApiFailure> {
    get(&org_url(&format!("/users/{id}?include_deleted=true")).await?).await
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
