//! The organisation's state in memory, and every operation on it.
//!
//! Reads are served from memory; each write is first committed to SQLite
//! (see `store`) and then applied to memory, while one async lock is held,
//! so the order on disk is the order of acknowledgement. Device counters (`num_*`) are
//! recomputed for the touched user on every device change, so they stay true.
//!
//! A connected device's "last data" (`current_state_last_updated_at`,
//! `last_monitoring_executed_at`) is not stored but derived when it is read:
//! the device's manufacturer data refreshes every 5 to 15 minutes (a period
//! and phase fixed per device id), so a connected device always shows data
//! minutes old. A device that lost its connection keeps the stored moment it
//! was lost. Connections change through the customer's `/connect` page, the
//! test hook ([`Emulator::set_connection`]) and churn ([`Emulator::churn`]).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::{
    AuthSessionRequest, AuthSessionResponse, Building, BuildingWrite, CountryCode, CreateUser,
    Device, DeviceAction, DeviceKind, DeviceOwner, ElectricVehicleWrite, Email, ExternalUserId,
    FieldError, HealthStatus, HeatPumpWrite, InverterWrite, ResolutionLink, UpdateUser, User,
    WallboxWrite,
};
use uuid::Uuid;

use crate::auth::Tokens;
use crate::error::EmuError;
use crate::store::{Record, Store};
use crate::{seed, EmulatorConfig, StartError};

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

#[derive(Default)]
pub(crate) struct Org {
    pub org_id: Uuid,
    pub seed: u64,
    pub users: Vec<User>,
    pub user_index: HashMap<Uuid, usize>,
    /// Lower-cased e-mail of not-deleted users.
    pub emails: HashMap<String, Uuid>,
    /// External ids of not-deleted users.
    pub external_ids: HashMap<String, Uuid>,
    pub devices: HashMap<Uuid, (Uuid, Device)>,
    pub devices_by_user: HashMap<Uuid, Vec<Uuid>>,
    /// Every device id in the order devices were added (churn picks from it).
    pub device_order: Vec<Uuid>,
    pub buildings: HashMap<Uuid, (Uuid, Building)>,
    pub buildings_by_user: HashMap<Uuid, Vec<Uuid>>,
    pub sessions: HashMap<Uuid, AuthSession>,
}

impl Org {
    fn apply(&mut self, record: Record) {
        match record {
            Record::Meta { org_id, seed, .. } => {
                self.org_id = org_id;
                self.seed = seed;
            }
            Record::User { user } => {
                let id = user.id;
                self.put_user(user);
                self.index_user(id);
                self.refresh_counts(id);
            }
            Record::Device { user_id, device } => {
                let id = device.common().id;
                if self.devices.insert(id, (user_id, device)).is_none() {
                    self.devices_by_user.entry(user_id).or_default().push(id);
                    self.device_order.push(id);
                }
                self.refresh_counts(user_id);
            }
            Record::Building { user_id, building } => {
                let id = building.id;
                if self.buildings.insert(id, (user_id, building)).is_none() {
                    self.buildings_by_user.entry(user_id).or_default().push(id);
                }
            }
            Record::RemoveBuilding { id } => {
                if let Some((user_id, _)) = self.buildings.remove(&id) {
                    if let Some(list) = self.buildings_by_user.get_mut(&user_id) {
                        list.retain(|b| *b != id);
                    }
                }
            }
            Record::Session { session } => {
                self.sessions.insert(session.id, session);
            }
        }
    }

    /// Insert or replace a user, dropping its old uniqueness entries.
    fn put_user(&mut self, user: User) {
        if let Some(&i) = self.user_index.get(&user.id) {
            let old = &self.users[i];
            self.emails.remove(&old.email.to_lowercase());
            if let Some(ext) = &old.external_user_id {
                self.external_ids.remove(ext);
            }
            self.users[i] = user;
        } else {
            self.user_index.insert(user.id, self.users.len());
            self.users.push(user);
        }
    }

    /// Add the uniqueness entries of a user that is not deleted.
    fn index_user(&mut self, id: Uuid) {
        let user = &self.users[self.user_index[&id]];
        if user.deleted_at.is_none() {
            self.emails.insert(user.email.to_lowercase(), id);
            if let Some(ext) = &user.external_user_id {
                self.external_ids.insert(ext.clone(), id);
            }
        }
    }

    fn user(&self, id: Uuid, include_deleted: bool) -> Result<&User, EmuError> {
        let user = self
            .user_index
            .get(&id)
            .map(|&i| &self.users[i])
            .ok_or(EmuError::NotFound)?;
        if user.deleted_at.is_some() && !include_deleted {
            return Err(EmuError::NotFound);
        }
        Ok(user)
    }

    /// Recount the user's not-deleted devices per kind.
    fn refresh_counts(&mut self, user_id: Uuid) {
        let mut counts = [0u32; 4];
        for id in self.devices_by_user.get(&user_id).into_iter().flatten() {
            if let Some((_, d)) = self.devices.get(id) {
                if d.common().deleted_at.is_none() {
                    counts[d.kind() as usize] += 1;
                }
            }
        }
        if let Some(&i) = self.user_index.get(&user_id) {
            let u = &mut self.users[i];
            u.num_heat_pumps = counts[DeviceKind::HeatPump as usize];
            u.num_electric_vehicles = counts[DeviceKind::ElectricVehicle as usize];
            u.num_wallboxes = counts[DeviceKind::Wallbox as usize];
            u.num_inverters = counts[DeviceKind::Inverter as usize];
        }
    }

    fn device(
        &self,
        user_id: Uuid,
        kind: DeviceKind,
        id: Uuid,
        include_deleted: bool,
    ) -> Result<&Device, EmuError> {
        match self.devices.get(&id) {
            Some((owner, d))
                if *owner == user_id
                    && d.kind() == kind
                    && (include_deleted || d.common().deleted_at.is_none()) =>
            {
                Ok(d)
            }
            _ => Err(EmuError::NotFound),
        }
    }

    /// The records that reconnect `device` at `t`, as the customer's
    /// completed `/connect` page does: the device connected with fresh data,
    /// its owner onboarded.
    fn reconnected(&self, user_id: Uuid, mut device: Device, t: DateTime<Utc>) -> Vec<Record> {
        reconnect(&mut device, t);
        let mut records = vec![Record::Device { user_id, device }];
        if let Ok(u) = self.user(user_id, true) {
            if u.is_onboarded != Some(true) {
                let mut u = u.clone();
                u.is_onboarded = Some(true);
                records.push(Record::User { user: u });
            }
        }
        records
    }

    /// The records that make `device` lose its manufacturer connection at
    /// `t`: a fresh reconnection session and the device pointing at it.
    fn disconnected(&self, user_id: Uuid, mut device: Device, t: DateTime<Utc>) -> Vec<Record> {
        let c = device.common();
        let mut session = new_session(user_id, c.id, device.kind(), None, None);
        session.created_at = t;
        lose(&mut device, &connect_path(session.id), t);
        vec![
            Record::Session { session },
            Record::Device { user_id, device },
        ]
    }

    fn owner_block(&self, user_id: Uuid) -> Option<DeviceOwner> {
        let u = self.user_index.get(&user_id).map(|&i| &self.users[i])?;
        Some(DeviceOwner {
            id: u.id,
            email: Some(u.email.clone()),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            external_id: u.external_user_id.clone(),
        })
    }

    /// The device as Podero shows it at `now`: the type's own object, owner
    /// filled in, a connected device's last data minutes old (see
    /// [`last_refresh`]), and its stored reconnection paths made absolute
    /// with the URL the emulator serves on now (the embedded one gets a new
    /// port each start).
    fn device_json(
        &self,
        user_id: Uuid,
        device: &Device,
        public_url: &str,
        now: DateTime<Utc>,
    ) -> Value {
        let mut value = match device {
            Device::HeatPump(d) => serde_json::to_value(d),
            Device::ElectricVehicle(d) => serde_json::to_value(d),
            Device::Wallbox(d) => serde_json::to_value(d),
            Device::Inverter(d) => serde_json::to_value(d),
        }
        .unwrap_or(Value::Null);
        if let (Some(obj), Some(owner)) = (value.as_object_mut(), self.owner_block(user_id)) {
            obj.insert(
                "owner".into(),
                serde_json::to_value(owner).unwrap_or(Value::Null),
            );
        }
        let c = device.common();
        if let (true, None, Some(obj)) = (c.is_authenticated, c.deleted_at, value.as_object_mut()) {
            // Data arrives while connected: the latest refresh, or the
            // (re)connection itself if that was later.
            let fresh =
                last_refresh(c.id, now).max(c.current_state_last_updated_at.unwrap_or_default());
            let fresh = serde_json::to_value(fresh).unwrap_or(Value::Null);
            obj.insert("current_state_last_updated_at".into(), fresh.clone());
            obj.insert("last_monitoring_executed_at".into(), fresh);
        }
        let absolute = |v: &mut Value| {
            if let Some(path) = v.as_str().filter(|p| p.starts_with('/')) {
                *v = Value::String(format!("{public_url}{path}"));
            }
        };
        if let Some(link) = value.get_mut("authorization_url") {
            absolute(link);
        }
        if let Some(actions) = value.get_mut("actions").and_then(Value::as_array_mut) {
            for action in actions {
                if let Some(url) = action.pointer_mut("/resolution_link/url") {
                    absolute(url);
                }
            }
        }
        value
    }
}

/// The emulator: one organisation, its client and its storage.
pub struct Emulator {
    inner: tokio::sync::Mutex<Inner>,
    pub(crate) tokens: Tokens,
    public_url: String,
    org_id: Uuid,
}

struct Inner {
    org: Org,
    store: Store,
}

impl Inner {
    /// Make `records` durable, then apply them: the one way state changes.
    async fn commit(&mut self, records: Vec<Record>) -> Result<(), EmuError> {
        self.store
            .write(&records)
            .await
            .map_err(|e| EmuError::Internal(format!("storage: {e}")))?;
        for r in records {
            self.org.apply(r);
        }
        Ok(())
    }
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

impl Emulator {
    /// Load the state under the data directory, or seed a fresh one.
    pub async fn open(config: &EmulatorConfig, public_url: String) -> Result<Emulator, StartError> {
        let dir = &config.data_dir;
        let db = |e: crate::store::StoreError| {
            StartError::Database(format!(
                "{}: {e}",
                dir.join(crate::store::DB_FILE).display()
            ))
        };
        let (mut store, records) = Store::open(dir).await.map_err(db)?;
        let mut org = Org::default();
        if records.is_empty() {
            if dir.join("snapshot.jsonl").exists() {
                tracing::warn!(dir = %dir.display(), "snapshot.jsonl/journal.jsonl of an earlier emulator version are ignored; seeding emulator.sqlite afresh (delete the old files to silence this)");
            }
            tracing::info!(users = config.seed_users, seed = config.seed, dir = %dir.display(), "seeding a fresh emulator organisation");
            let started = std::time::Instant::now();
            let (seed, n) = (config.seed, config.seed_users);
            let mut records = tokio::task::spawn_blocking(move || {
                seed::generate(seed, n, seed::reference_time())
            })
            .await
            .map_err(|e| StartError::Database(format!("seeding: {e}")))?;
            // The demo's reconnection links are issued now, so they work for
            // their 48 hours from the first start (the rest of the demo data
            // stays relative to the fixed reference instant).
            // Likewise the moments the demo's lost devices lost their
            // connection (hours to days before the reference instant) move
            // to as long before now, so "lost since" reads plausibly.
            let issued = now();
            let shift = issued - seed::reference_time();
            for r in &mut records {
                match r {
                    Record::Session { session } => session.created_at = issued,
                    Record::Device { device, .. } if is_lost(device) => {
                        let c = device_common_mut(device);
                        for t in [
                            &mut c.current_state_last_updated_at,
                            &mut c.last_monitoring_executed_at,
                            &mut c.updated_at,
                        ] {
                            *t = t.map(|t| t + shift);
                        }
                    }
                    _ => {}
                }
            }
            // One transaction: a crash while seeding leaves an empty database.
            store.write(&records).await.map_err(db)?;
            for r in records {
                org.apply(r);
            }
            tracing::info!(
                users = org.users.len(),
                devices = org.devices.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "seeded"
            );
        } else {
            for r in records {
                org.apply(r);
            }
            tracing::info!(users = org.users.len(), devices = org.devices.len(), dir = %dir.display(), "loaded emulator state (--users and --seed apply only to a fresh data directory)");
        }
        let org_id = org.org_id;
        Ok(Emulator {
            inner: tokio::sync::Mutex::new(Inner { org, store }),
            tokens: Tokens::new(
                config.client_id.clone(),
                config.client_secret.clone(),
                config.token_ttl,
            ),
            public_url,
            org_id,
        })
    }

    pub fn org_id(&self) -> Uuid {
        self.org_id
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// Access tokens issued so far (see [`Tokens::issued`]).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.tokens.issued()
    }

    async fn lock(&self) -> tokio::sync::MutexGuard<'_, Inner> {
        self.inner.lock().await
    }

    /// Close the database (used by `RunningEmulator::shutdown`).
    pub async fn close(&self) {
        self.lock().await.store.close().await;
    }

    /// Number of devices (including deleted ones).
    pub async fn device_count(&self) -> usize {
        self.lock().await.org.devices.len()
    }

    /// Number of users (including archived ones).
    pub async fn user_count(&self) -> usize {
        self.lock().await.org.users.len()
    }

    // ---- users -------------------------------------------------------------

    /// The whole list as JSON bytes (serialised under the lock, no copies).
    pub async fn list_users_json(&self, include_deleted: bool) -> Result<Vec<u8>, EmuError> {
        let inner = self.lock().await;
        let users: Vec<&User> = inner
            .org
            .users
            .iter()
            .filter(|u| include_deleted || u.deleted_at.is_none())
            .collect();
        serde_json::to_vec(&users).map_err(|e| EmuError::Internal(e.to_string()))
    }

    pub async fn get_user(&self, id: Uuid, include_deleted: bool) -> Result<User, EmuError> {
        self.lock().await.org.user(id, include_deleted).cloned()
    }

    pub async fn user_by_external_id(
        &self,
        ext: &str,
        include_deleted: bool,
    ) -> Result<User, EmuError> {
        let inner = self.lock().await;
        if let Some(id) = inner.org.external_ids.get(ext) {
            return inner.org.user(*id, false).cloned();
        }
        if include_deleted {
            // Most recently archived first.
            if let Some(u) = inner
                .org
                .users
                .iter()
                .filter(|u| u.deleted_at.is_some() && u.external_user_id.as_deref() == Some(ext))
                .max_by_key(|u| u.deleted_at)
            {
                return Ok(u.clone());
            }
        }
        Err(EmuError::NotFound)
    }

    pub async fn create_user(&self, body: CreateUser) -> Result<User, EmuError> {
        body.validate().map_err(EmuError::fields)?;
        let mut inner = self.lock().await;
        let email = Email::parse(&body.email).map_err(|e| EmuError::fields(vec![e]))?;
        let ext = body
            .external_user_id
            .as_deref()
            .map(ExternalUserId::parse)
            .transpose()
            .map_err(|e| EmuError::fields(vec![e]))?;
        check_unique(&inner.org, None, Some(&email), ext.as_ref())?;
        let user = User {
            id: Uuid::new_v4(),
            organization_id: Some(inner.org.org_id),
            role: body.role,
            email: email.as_str().to_string(),
            num_inverters: 0,
            num_heat_pumps: 0,
            num_electric_vehicles: 0,
            num_wallboxes: 0,
            external_user_id: ext.map(|e| e.as_str().to_string()),
            first_name: clean(body.first_name),
            last_name: clean(body.last_name),
            is_onboarded: Some(false),
            street_and_number: clean(body.street_and_number),
            street_add_info: clean(body.street_add_info),
            zip_code: clean(body.zip_code),
            town: clean(body.town),
            country: country(body.country_iso2.as_deref()),
            latitude: body.latitude,
            longitude: body.longitude,
            last_login: None,
            joined_at: Some(now()),
            location_last_updated: body.latitude.map(|_| now()),
            deleted_at: None,
        };
        inner
            .commit(vec![Record::User { user: user.clone() }])
            .await?;
        Ok(user)
    }

    pub async fn update_user(&self, id: Uuid, body: UpdateUser) -> Result<User, EmuError> {
        body.validate().map_err(EmuError::fields)?;
        let mut inner = self.lock().await;
        let mut user = inner.org.user(id, false)?.clone();
        let email = body
            .email
            .as_deref()
            .map(Email::parse)
            .transpose()
            .map_err(|e| EmuError::fields(vec![e]))?;
        let ext = match &body.external_user_id {
            Some(Some(e)) => Some(ExternalUserId::parse(e).map_err(|e| EmuError::fields(vec![e]))?),
            _ => None,
        };
        check_unique(&inner.org, Some(id), email.as_ref(), ext.as_ref())?;
        if let Some(role) = body.role {
            user.role = role;
        }
        if let Some(email) = email {
            user.email = email.as_str().to_string();
        }
        if let Some(v) = body.external_user_id {
            user.external_user_id = v
                .and_then(|e| ExternalUserId::parse(&e).ok())
                .map(|e| e.as_str().to_string());
        }
        set(&mut user.first_name, body.first_name);
        set(&mut user.last_name, body.last_name);
        set(&mut user.street_and_number, body.street_and_number);
        set(&mut user.street_add_info, body.street_add_info);
        set(&mut user.zip_code, body.zip_code);
        set(&mut user.town, body.town);
        if let Some(c) = body.country_iso2 {
            user.country = country(c.as_deref());
        }
        let moved = body.latitude.is_some() || body.longitude.is_some();
        if let Some(v) = body.latitude {
            user.latitude = v;
        }
        if let Some(v) = body.longitude {
            user.longitude = v;
        }
        if moved {
            user.location_last_updated = Some(now());
        }
        inner
            .commit(vec![Record::User { user: user.clone() }])
            .await?;
        Ok(user)
    }

    /// Soft delete: the user is hidden unless `include_deleted` is asked for.
    pub async fn delete_user(&self, id: Uuid) -> Result<(), EmuError> {
        let mut inner = self.lock().await;
        let mut user = inner.org.user(id, false)?.clone();
        user.deleted_at = Some(now());
        inner.commit(vec![Record::User { user }]).await?;
        Ok(())
    }

    // ---- devices -----------------------------------------------------------

    pub async fn list_devices(
        &self,
        user_id: Uuid,
        kind: DeviceKind,
        include_deleted: bool,
    ) -> Result<Vec<Value>, EmuError> {
        let inner = self.lock().await;
        inner.org.user(user_id, include_deleted)?;
        let t = now();
        let mut out = Vec::new();
        for id in inner
            .org
            .devices_by_user
            .get(&user_id)
            .into_iter()
            .flatten()
        {
            if let Some((_, d)) = inner.org.devices.get(id) {
                if d.kind() == kind && (include_deleted || d.common().deleted_at.is_none()) {
                    out.push(inner.org.device_json(user_id, d, &self.public_url, t));
                }
            }
        }
        Ok(out)
    }

    pub async fn get_device(
        &self,
        user_id: Uuid,
        kind: DeviceKind,
        id: Uuid,
        include_deleted: bool,
    ) -> Result<Value, EmuError> {
        let inner = self.lock().await;
        inner.org.user(user_id, include_deleted)?;
        let d = inner.org.device(user_id, kind, id, include_deleted)?;
        Ok(inner.org.device_json(user_id, d, &self.public_url, now()))
    }

    /// Register a device: it starts unauthenticated, with its reconnection link.
    pub async fn register_device(
        &self,
        user_id: Uuid,
        kind: DeviceKind,
        body: &[u8],
    ) -> Result<Value, EmuError> {
        let write = parse_write(kind, body)?;
        let mut inner = self.lock().await;
        inner.org.user(user_id, false)?;
        let id = Uuid::new_v4();
        let session = new_session(user_id, id, kind, None, None);
        let link = connect_path(session.id);
        let t = now();
        let mut base = seed::blank_device(kind, id, t);
        disconnect(&mut base, &link, "created", None);
        let device = merge_write(&inner.org, user_id, base, write, t)?;
        inner
            .commit(vec![
                Record::Session { session },
                Record::Device {
                    user_id,
                    device: device.clone(),
                },
            ])
            .await?;
        Ok(inner
            .org
            .device_json(user_id, &device, &self.public_url, now()))
    }

    pub async fn update_device(
        &self,
        user_id: Uuid,
        kind: DeviceKind,
        id: Uuid,
        body: &[u8],
    ) -> Result<Value, EmuError> {
        let write = parse_write(kind, body)?;
        let mut inner = self.lock().await;
        inner.org.user(user_id, false)?;
        let current = inner.org.device(user_id, kind, id, false)?.clone();
        let device = merge_write(&inner.org, user_id, current, write, now())?;
        inner
            .commit(vec![Record::Device {
                user_id,
                device: device.clone(),
            }])
            .await?;
        Ok(inner
            .org
            .device_json(user_id, &device, &self.public_url, now()))
    }

    pub async fn delete_device(
        &self,
        user_id: Uuid,
        kind: DeviceKind,
        id: Uuid,
    ) -> Result<(), EmuError> {
        let mut inner = self.lock().await;
        inner.org.user(user_id, false)?;
        let mut device = inner.org.device(user_id, kind, id, false)?.clone();
        device_common_mut(&mut device).deleted_at = Some(now());
        inner.commit(vec![Record::Device { user_id, device }]).await
    }

    /// `POST .../{device_id}/auth_session`: a fresh reconnection link.
    pub async fn auth_session(
        &self,
        user_id: Uuid,
        kind: DeviceKind,
        id: Uuid,
        req: AuthSessionRequest,
    ) -> Result<AuthSessionResponse, EmuError> {
        for (field, url) in [
            ("success_url", &req.success_url),
            ("cancel_url", &req.cancel_url),
        ] {
            if let Some(u) = url {
                if !(u.starts_with("http://") || u.starts_with("https://")) || u.len() > 8000 {
                    return Err(EmuError::field(
                        field,
                        "Give an absolute http(s) URL of at most 8000 characters, or null.",
                    ));
                }
            }
        }
        let mut inner = self.lock().await;
        inner.org.user(user_id, false)?;
        let mut device = inner.org.device(user_id, kind, id, false)?.clone();
        let session = new_session(user_id, id, kind, req.success_url, req.cancel_url);
        if !device.common().is_authenticated {
            let path = connect_path(session.id);
            let c = device_common_mut(&mut device);
            c.authorization_url = Some(path.clone());
            set_actions(c, &path);
        }
        let link = self.connect_url(session.id);
        let session_id = session.id;
        inner
            .commit(vec![
                Record::Session { session },
                Record::Device { user_id, device },
            ])
            .await?;
        Ok(AuthSessionResponse {
            authentication_url: Some(link),
            device_id: Some(id),
            session_id: Some(session_id),
        })
    }

    /// Absolute link of a reconnection session.
    pub fn connect_url(&self, session_id: Uuid) -> String {
        format!("{}{}", self.public_url, connect_path(session_id))
    }

    /// What the simulated manufacturer sign-in page shows.
    pub async fn session_view(&self, session_id: Uuid) -> Option<SessionView> {
        let inner = self.lock().await;
        let s = inner.org.sessions.get(&session_id)?;
        let (_, device) = inner.org.devices.get(&s.device_id)?;
        let user = inner.org.user(s.user_id, true).ok()?;
        Some(SessionView {
            kind: device.kind(),
            model: device.common().model_name(),
            owner: user.display_name(),
            expired: s.created_at + ChronoDuration::hours(SESSION_VALIDITY_HOURS) < now(),
            outcome: s.outcome,
        })
    }

    /// The customer finished (or cancelled) the manufacturer sign-in.
    /// Returns where to send the browser next, if the partner gave a URL.
    pub async fn complete_session(
        &self,
        session_id: Uuid,
        connect: bool,
    ) -> Result<Option<String>, EmuError> {
        let mut inner = self.lock().await;
        let mut session = inner
            .org
            .sessions
            .get(&session_id)
            .cloned()
            .ok_or(EmuError::NotFound)?;
        if session.created_at + ChronoDuration::hours(SESSION_VALIDITY_HOURS) < now()
            || session.outcome.is_some()
        {
            return Err(EmuError::NotFound);
        }
        session.outcome = Some(connect);
        let mut records = vec![Record::Session {
            session: session.clone(),
        }];
        let user_id = session.user_id;
        if connect {
            if let Some((_, d)) = inner.org.devices.get(&session.device_id) {
                records.extend(inner.org.reconnected(user_id, d.clone(), now()));
            }
        }
        inner.commit(records).await?;
        Ok(if connect {
            session.success_url
        } else {
            session.cancel_url
        })
    }

    // ---- connections that change by themselves ----------------------------

    /// The test hook: set one device's manufacturer connection at once.
    /// `false` loses it (as churn does: a reconnection link in `actions`),
    /// `true` reconnects it (as the customer's completed `/connect` page
    /// does). Setting the state it already has changes nothing. Answers the
    /// device as the Partner API shows it; 404 for an unknown or deleted
    /// device.
    pub async fn set_connection(
        &self,
        device_id: Uuid,
        authenticated: bool,
    ) -> Result<Value, EmuError> {
        let mut inner = self.lock().await;
        let (user_id, device) = match inner.org.devices.get(&device_id) {
            Some((u, d)) if d.common().deleted_at.is_none() => (*u, d.clone()),
            _ => return Err(EmuError::NotFound),
        };
        let t = now();
        if device.common().is_authenticated != authenticated {
            let records = if authenticated {
                inner.org.reconnected(user_id, device, t)
            } else {
                inner.org.disconnected(user_id, device, t)
            };
            inner.commit(records).await?;
        }
        let (_, device) = inner
            .org
            .devices
            .get(&device_id)
            .ok_or(EmuError::NotFound)?;
        Ok(inner.org.device_json(user_id, device, &self.public_url, t))
    }

    /// One round of churn: up to `events` connection changes, each a loss
    /// (a connected device) or a regain (a device that lost its connection;
    /// never one still waiting for its first connection) with equal odds,
    /// on devices of active users drawn with `rng`. Committed as one write;
    /// returns how many devices changed. A draw that finds no fitting device
    /// within a few tries is skipped, so a round is bounded.
    pub(crate) async fn churn(
        &self,
        rng: &mut seed::Rng,
        events: usize,
    ) -> Result<usize, EmuError> {
        const TRIES: usize = 32;
        let mut inner = self.lock().await;
        let org = &inner.org;
        if org.device_order.is_empty() {
            return Ok(0);
        }
        let t = now();
        let mut picked = HashSet::new();
        let mut records = Vec::new();
        for _ in 0..events {
            let lose_one = rng.chance(0.5);
            for _ in 0..TRIES {
                let id = org.device_order[rng.below(org.device_order.len() as u64) as usize];
                let Some((user_id, d)) = org.devices.get(&id) else {
                    continue;
                };
                let c = d.common();
                let fits = if lose_one {
                    c.is_authenticated
                } else {
                    is_lost(d)
                };
                if !fits
                    || c.deleted_at.is_some()
                    || org.user(*user_id, false).is_err()
                    || !picked.insert(id)
                {
                    continue;
                }
                tracing::debug!(device = %id, lost = lose_one, "churn: device connection changed");
                records.extend(if lose_one {
                    org.disconnected(*user_id, d.clone(), t)
                } else {
                    org.reconnected(*user_id, d.clone(), t)
                });
                break;
            }
        }
        if !records.is_empty() {
            inner.commit(records).await?;
        }
        Ok(picked.len())
    }

    // ---- buildings ---------------------------------------------------------

    pub async fn list_buildings(&self, user_id: Uuid) -> Result<Vec<Building>, EmuError> {
        let inner = self.lock().await;
        inner.org.user(user_id, false)?;
        Ok(inner
            .org
            .buildings_by_user
            .get(&user_id)
            .into_iter()
            .flatten()
            .filter_map(|id| inner.org.buildings.get(id).map(|(_, b)| b.clone()))
            .collect())
    }

    pub async fn get_building(&self, user_id: Uuid, id: Uuid) -> Result<Building, EmuError> {
        let inner = self.lock().await;
        inner.org.user(user_id, false)?;
        match inner.org.buildings.get(&id) {
            Some((owner, b)) if *owner == user_id => Ok(b.clone()),
            _ => Err(EmuError::NotFound),
        }
    }

    pub async fn create_building(
        &self,
        user_id: Uuid,
        body: BuildingWrite,
    ) -> Result<Building, EmuError> {
        let Some(name) = body.name.clone() else {
            return Err(EmuError::field(
                "name",
                "A building needs a name (at most 100 characters), e.g. \"Main House\".",
            ));
        };
        let building = Building {
            id: Uuid::new_v4(),
            name,
            property_type: None,
            property_size_m2: None,
            property_age: None,
            num_occupants: None,
            occupant_type: None,
            space_heating: None,
            water_heating: None,
            photovoltaic: Some(false),
            street_and_number: None,
            street_add_info: None,
            zip_code: None,
            town: None,
            country: None,
        };
        self.write_building(user_id, building, body, true).await
    }

    pub async fn update_building(
        &self,
        user_id: Uuid,
        id: Uuid,
        body: BuildingWrite,
    ) -> Result<Building, EmuError> {
        let current = self.get_building(user_id, id).await?;
        self.write_building(user_id, current, body, false).await
    }

    async fn write_building(
        &self,
        user_id: Uuid,
        mut b: Building,
        w: BuildingWrite,
        create: bool,
    ) -> Result<Building, EmuError> {
        let mut errors = Vec::new();
        if let Some(name) = &w.name {
            if name.trim().is_empty() || name.chars().count() > 100 {
                errors.push(FieldError::new(
                    "name",
                    "A building name has 1 to 100 characters.",
                ));
            }
            b.name = name.trim().to_string();
        }
        for (field, value, max) in [
            ("street_and_number", &w.street_and_number, 100),
            ("street_add_info", &w.street_add_info, 100),
            ("zip_code", &w.zip_code, 20),
            ("town", &w.town, 100),
            ("property_type", &w.property_type, 50),
            ("occupant_type", &w.occupant_type, 50),
            ("space_heating", &w.space_heating, 50),
            ("water_heating", &w.water_heating, 50),
        ] {
            if let Some(Some(v)) = value {
                if v.chars().count() > max {
                    errors.push(FieldError::new(
                        field,
                        format!("At most {max} characters are allowed here."),
                    ));
                }
            }
        }
        if let Some(Some(c)) = &w.country {
            if let Err(e) = CountryCode::parse(c) {
                errors.push(FieldError::new("country", e.message));
            }
        }
        if !errors.is_empty() {
            return Err(EmuError::fields(errors));
        }
        set(&mut b.property_type, w.property_type);
        if let Some(v) = w.property_size_m2 {
            b.property_size_m2 = v;
        }
        if let Some(v) = w.property_age {
            // Integer per the API reference; the older guide's "1990-2000" keeps its first year.
            b.property_age = v.and_then(|v| {
                v.as_i64().or_else(|| {
                    v.as_str()
                        .and_then(|s| s.split('-').next()?.trim().parse().ok())
                })
            });
        }
        if let Some(v) = w.num_occupants {
            b.num_occupants = v;
        }
        set(&mut b.occupant_type, w.occupant_type);
        set(&mut b.space_heating, w.space_heating);
        set(&mut b.water_heating, w.water_heating);
        if let Some(v) = w.photovoltaic {
            b.photovoltaic = v;
        }
        set(&mut b.street_and_number, w.street_and_number);
        set(&mut b.street_add_info, w.street_add_info);
        set(&mut b.zip_code, w.zip_code);
        set(&mut b.town, w.town);
        if let Some(c) = w.country {
            b.country = country(c.as_deref());
        }
        let mut inner = self.lock().await;
        inner.org.user(user_id, false)?;
        if !create && !matches!(inner.org.buildings.get(&b.id), Some((o, _)) if *o == user_id) {
            return Err(EmuError::NotFound);
        }
        inner
            .commit(vec![Record::Building {
                user_id,
                building: b.clone(),
            }])
            .await?;
        Ok(b)
    }

    /// Hard delete (Podero: INFERRED); devices linked to it lose the link.
    pub async fn delete_building(&self, user_id: Uuid, id: Uuid) -> Result<(), EmuError> {
        let mut inner = self.lock().await;
        inner.org.user(user_id, false)?;
        if !matches!(inner.org.buildings.get(&id), Some((o, _)) if *o == user_id) {
            return Err(EmuError::NotFound);
        }
        let mut records = vec![Record::RemoveBuilding { id }];
        for did in inner
            .org
            .devices_by_user
            .get(&user_id)
            .into_iter()
            .flatten()
        {
            if let Some((_, d)) = inner.org.devices.get(did) {
                if d.common().building == Some(id) {
                    let mut d = d.clone();
                    device_common_mut(&mut d).building = None;
                    records.push(Record::Device { user_id, device: d });
                }
            }
        }
        inner.commit(records).await
    }
}

/// What `/connect/{session}` shows.
pub struct SessionView {
    pub kind: shared::DeviceKind,
    /// Make and model, if known.
    pub model: Option<String>,
    pub owner: String,
    pub expired: bool,
    pub outcome: Option<bool>,
}

impl SessionView {
    /// The device as the page names it in `lang`, e.g. "Wallbox Acme One".
    pub fn device_label(&self, lang: shared::Lang) -> String {
        format!(
            "{} {}",
            self.kind.label_in(lang),
            self.model.as_deref().unwrap_or_default()
        )
        .trim()
        .to_string()
    }
}

fn check_unique(
    org: &Org,
    me: Option<Uuid>,
    email: Option<&Email>,
    ext: Option<&ExternalUserId>,
) -> Result<(), EmuError> {
    if let Some(email) = email {
        if let Some(other) = org.emails.get(&email.normalized()) {
            if Some(*other) != me {
                return Err(EmuError::Conflict(FieldError::new(
                    "email",
                    format!(
                        "A user with the e-mail {} already exists in this organisation.",
                        email.as_str()
                    ),
                )));
            }
        }
    }
    if let Some(ext) = ext {
        if let Some(other) = org.external_ids.get(ext.as_str()) {
            if Some(*other) != me {
                return Err(EmuError::Conflict(FieldError::new(
                    "external_user_id",
                    format!("The external user id {} is already used by another user of this organisation.", ext.as_str()),
                )));
            }
        }
    }
    Ok(())
}

fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn set(field: &mut Option<String>, patch: Option<Option<String>>) {
    if let Some(v) = patch {
        *field = clean(v);
    }
}

fn country(v: Option<&str>) -> Option<String> {
    v.and_then(|c| CountryCode::parse(c).ok())
        .map(|c| c.as_str().to_string())
}

fn new_session(
    user_id: Uuid,
    device_id: Uuid,
    kind: DeviceKind,
    success_url: Option<String>,
    cancel_url: Option<String>,
) -> AuthSession {
    AuthSession {
        id: Uuid::new_v4(),
        user_id,
        device_id,
        kind,
        success_url,
        cancel_url,
        created_at: now(),
        outcome: None,
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

/// Parse a register/update body with the kind's write type (422 on bad
/// fields) and return only the fields that were set.
fn parse_write(kind: DeviceKind, body: &[u8]) -> Result<serde_json::Map<String, Value>, EmuError> {
    let value = match kind {
        DeviceKind::HeatPump => {
            serde_json::to_value(crate::error::parse_json::<HeatPumpWrite>(body)?)
        }
        DeviceKind::ElectricVehicle => {
            serde_json::to_value(crate::error::parse_json::<ElectricVehicleWrite>(body)?)
        }
        DeviceKind::Wallbox => {
            serde_json::to_value(crate::error::parse_json::<WallboxWrite>(body)?)
        }
        DeviceKind::Inverter => {
            serde_json::to_value(crate::error::parse_json::<InverterWrite>(body)?)
        }
    }
    .map_err(|e| EmuError::Internal(e.to_string()))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(EmuError::field("body", "Send a JSON object.")),
    }
}

/// Apply a write body to a device: `building_id` → `building`,
/// `device_model.cloud_service_id` → `cloud_service`, other fields as named.
fn merge_write(
    org: &Org,
    user_id: Uuid,
    device: Device,
    write: serde_json::Map<String, Value>,
    t: DateTime<Utc>,
) -> Result<Device, EmuError> {
    let kind = device.kind();
    let mut value = serde_json::to_value(&device).map_err(|e| EmuError::Internal(e.to_string()))?;
    let obj = value
        .as_object_mut()
        .ok_or_else(|| EmuError::Internal("device is not an object".into()))?;
    for (k, v) in write {
        match k.as_str() {
            "building_id" => {
                if let Some(b) = v.as_str() {
                    let id = Uuid::parse_str(b)
                        .map_err(|_| EmuError::field("building_id", "Not a building id."))?;
                    if !matches!(org.buildings.get(&id), Some((o, _)) if *o == user_id) {
                        return Err(EmuError::field(
                            "building_id",
                            "This user has no building with that id; create it first.",
                        ));
                    }
                }
                obj.insert("building".into(), v);
            }
            "device_model" => {
                let mut model = obj
                    .get("device_model")
                    .cloned()
                    .filter(Value::is_object)
                    .unwrap_or_else(|| serde_json::json!({}));
                if let (Some(m), Value::Object(w)) = (model.as_object_mut(), v) {
                    for (mk, mv) in w {
                        let key = if mk == "cloud_service_id" {
                            "cloud_service".to_string()
                        } else {
                            mk
                        };
                        m.insert(key, mv);
                    }
                }
                obj.insert("device_model".into(), model);
            }
            _ => {
                obj.insert(k, v);
            }
        }
    }
    obj.insert(
        "updated_at".into(),
        serde_json::to_value(t).unwrap_or(Value::Null),
    );
    let merged: Device =
        serde_json::from_value(value).map_err(|e| EmuError::field("body", e.to_string()))?;
    debug_assert_eq!(merged.kind(), kind);
    Ok(merged)
}
