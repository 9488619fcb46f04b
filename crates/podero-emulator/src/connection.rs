//! A device's manufacturer connection: losing it (a reconnection link in
//! `authorization_url` and `actions`), regaining it, and when its data last
//! arrived; plus the reconnection sessions a link opens.
//!
//! A connected device's "last data" (`current_state_last_updated_at`,
//! `last_monitoring_executed_at`) is not stored but derived when it is read
//! ([`last_refresh`]): its manufacturer data refreshes every 5 to 15 minutes
//! (a period and phase fixed per device id), so it always shows data minutes
//! old. A device that lost its connection keeps the stored moment it was
//! lost ([`lose`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::{Device, DeviceAction, DeviceKind, HealthStatus, ResolutionLink};
use uuid::Uuid;

/// A re-authentication session created by `auth_session`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthSession {
    pub id: Uuid,
    pub user_id: Uuid,
    pub device_id: Uuid,
    pub kind: DeviceKind,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub created_at: DateTime<Utc>,
    /// `Some(true)` connected, `Some(false)` cancelled, `None` open.
    pub outcome: Option<bool>,
}

/// How long a reconnection link stays usable (Podero: UNKNOWN; see README).
pub const SESSION_VALIDITY_HOURS: i64 = 48;

impl AuthSession {
    /// A new open session for a device, created at `t`.
    pub(crate) fn new(
        user_id: Uuid,
        device_id: Uuid,
        kind: DeviceKind,
        success_url: Option<String>,
        cancel_url: Option<String>,
        t: DateTime<Utc>,
    ) -> AuthSession {
        AuthSession {
            id: Uuid::new_v4(),
            user_id,
            device_id,
            kind,
            success_url,
            cancel_url,
            created_at: t,
            outcome: None,
        }
    }

    /// Past its validity at `now`.
    pub(crate) fn expired(&self, now: DateTime<Utc>) -> bool {
        self.created_at + chrono::Duration::hours(SESSION_VALIDITY_HOURS) < now
    }
}

/// Where a reconnection session's page is, relative to the emulator's URL.
/// Devices store this path; answers carry it made absolute.
pub(crate) fn connect_path(session_id: Uuid) -> String {
    format!("/connect/{session_id}")
}

pub(crate) fn device_common_mut(d: &mut Device) -> &mut shared::DeviceCommon {
    match d {
        Device::HeatPump(x) => &mut x.common,
        Device::ElectricVehicle(x) => &mut x.common,
        Device::Wallbox(x) => &mut x.common,
        Device::Inverter(x) => &mut x.common,
    }
}

pub(crate) fn set_actions(c: &mut shared::DeviceCommon, link: &str) {
    c.action_needed = Some(true);
    c.actions = vec![DeviceAction {
        code: "reauthenticate".into(),
        resolution_link: Some(ResolutionLink {
            url: link.to_string(),
            required_parameters: Some(serde_json::json!(["successUrl", "cancelUrl"])),
        }),
    }];
}

/// A device that lost its manufacturer connection (not one waiting for its
/// first connection, which is `created`).
pub(crate) fn is_lost(d: &Device) -> bool {
    let c = d.common();
    !c.is_authenticated && c.lifecycle_state.as_deref() == Some("error")
}

/// When a connected device's manufacturer data last arrived, seen at `now`:
/// its data refreshes every 5 to 15 minutes, period and phase fixed by its
/// id, so the answer is at most 15 minutes old and advances with the clock.
pub(crate) fn last_refresh(id: Uuid, now: DateTime<Utc>) -> DateTime<Utc> {
    let (hi, lo) = id.as_u64_pair();
    let h = hi ^ lo.rotate_left(17);
    let period = 300 + (h % 601) as i64;
    let phase = ((h >> 20) % period as u64) as i64;
    let age = (now.timestamp() - phase).rem_euclid(period);
    DateTime::from_timestamp(now.timestamp() - age, 0).unwrap_or(now)
}

/// Lose the manufacturer connection at `t`: reconnection through `link`,
/// the last data stays at `t`.
pub(crate) fn lose(d: &mut Device, link: &str, t: DateTime<Utc>) {
    disconnect(d, link, "error", Some("auth_expired"));
    if let Device::Wallbox(w) = d {
        w.is_ocpp_connected = Some(false);
        w.mode = Some("UNAVAILABLE".into());
        w.connection = Some("offline".into());
    }
    let c = device_common_mut(d);
    c.current_state_last_updated_at = Some(t);
    c.last_monitoring_executed_at = Some(t);
    c.updated_at = Some(t);
}

/// Connected again at `t` (the customer signed in with the manufacturer).
pub(crate) fn reconnect(d: &mut Device, t: DateTime<Utc>) {
    if let Device::Wallbox(w) = d {
        w.is_ocpp_connected = Some(true);
        w.connection = Some("online".into());
        if w.mode.as_deref() == Some("UNAVAILABLE") {
            w.mode = Some("READY".into());
        }
    }
    let c = device_common_mut(d);
    c.is_authenticated = true;
    c.lifecycle_state = Some("authenticated".into());
    c.lifecycle_error = None;
    c.connection_status = HealthStatus::Ok;
    c.monitoring_status = HealthStatus::Ok;
    c.steering_status = HealthStatus::Ok;
    c.authorization_url = None;
    c.action_needed = Some(false);
    c.actions.clear();
    c.current_state_last_updated_at = Some(t);
    c.last_monitoring_executed_at = Some(t);
    c.updated_at = Some(t);
}

/// Mark a device as needing (re-)authentication through `link`.
pub(crate) fn disconnect(d: &mut Device, link: &str, lifecycle: &str, error: Option<&str>) {
    let c = device_common_mut(d);
    c.is_authenticated = false;
    c.lifecycle_state = Some(lifecycle.into());
    c.lifecycle_error = error.map(str::to_string);
    c.connection_status = HealthStatus::Error;
    c.steering_status = HealthStatus::Unknown;
    c.monitoring_status = HealthStatus::Warning;
    c.authorization_url = Some(link.to_string());
    set_actions(c, link);
}
