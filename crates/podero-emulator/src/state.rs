//! The organisation's operations: users, devices, buildings, reconnection
//! sessions, connection changes, each checked as Podero would.
//!
//! The state itself lives in SQLite (see `store`): reads take a connection
//! of the readers' pool; every write holds the one write lock, reads what it
//! depends on through the writer connection and commits its records in one
//! transaction before it answers, so the order on disk is the order of
//! acknowledgement. Device counters (`num_*`) are recounted for the owner
//! whenever a write touches a device, in the same transaction, so they stay
//! true.
//!
//! A connected device's "last data" is derived when it is read (see
//! `connection`). Connections change through the customer's `/connect`
//! page, the test hook ([`Emulator::set_connection`]) and churn
//! ([`Emulator::churn`]).

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::Stream;
use serde_json::Value;
use shared::{
    AuthSessionRequest, AuthSessionResponse, Building, BuildingWrite, CountryCode, CreateUser,
    Device, DeviceKind, DeviceOwner, ElectricVehicleWrite, ExternalUserId, FieldError,
    HeatPumpWrite, InverterWrite, UpdateUser, User, WallboxWrite,
};
use sqlx::sqlite::SqlitePool;
use uuid::Uuid;

use crate::auth::Tokens;
pub use crate::connection::AuthSession;
use crate::connection::{
    connect_path, device_common_mut, disconnect, is_lost, last_refresh, lose, reconnect,
    set_actions,
};
use crate::error::EmuError;
use crate::store::{Reads, Record, Store, StoreError};
use crate::{seed, EmulatorConfig, StartError};

/// Users per piece of the streamed users list.
const LIST_PAGE: i64 = 2000;

impl From<StoreError> for EmuError {
    fn from(e: StoreError) -> Self {
        EmuError::Internal(format!("storage: {e}"))
    }
}

/// The emulator: one organisation, its client and its storage.
pub struct Emulator {
    /// The writer connection; holding the lock is holding the right to write.
    writer: tokio::sync::Mutex<Store>,
    readers: SqlitePool,
    pub(crate) tokens: Tokens,
    public_url: String,
    org_id: Uuid,
    body_timeout: std::time::Duration,
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

/// The user `id` (an archived one only with `include_deleted`), or 404.
async fn user_of(r: &mut Reads<'_>, id: Uuid, include_deleted: bool) -> Result<User, EmuError> {
    match r.user(id).await? {
        Some(u) if include_deleted || u.deleted_at.is_none() => Ok(u),
        _ => Err(EmuError::NotFound),
    }
}

/// The device `id` of `user_id` and of `kind` (a deleted one only with
/// `include_deleted`), or 404.
async fn device_of(
    r: &mut Reads<'_>,
    user_id: Uuid,
    kind: DeviceKind,
    id: Uuid,
    include_deleted: bool,
) -> Result<Device, EmuError> {
    match r.device(id).await? {
        Some((owner, d))
            if owner == user_id
                && d.kind() == kind
                && (include_deleted || d.common().deleted_at.is_none()) =>
        {
            Ok(d)
        }
        _ => Err(EmuError::NotFound),
    }
}

/// 409 if another not-archived user has this e-mail or external id.
/// A user's e-mail as the emulator stores it: any text of 1 to 254
/// characters without control characters (README, "E-mail syntax"). The
/// API reference types the field as a plain string, and the seed
/// document's create-user `curl` sends `"[email protected]"` (the page's
/// e-mail protection hid the address), which must still work. Strict
/// syntax is the gateway's and the browser's (`shared::Email`), before a
/// change is sent here.
#[derive(Debug, Clone)]
struct StoredEmail(String);

impl StoredEmail {
    fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        let key = if s.is_empty() {
            "validation.email.empty"
        } else if s.chars().count() > 254 {
            "validation.email.too_long"
        } else if s.chars().any(char::is_control) {
            "validation.text.control_characters"
        } else {
            return Ok(Self(s.to_string()));
        };
        Err(FieldError::keyed("email", key, &[]))
    }

    fn as_str(&self) -> &str {
        &self.0
    }

    /// The uniqueness key: e-mails are compared case-insensitively.
    fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

/// The `shared` checks of a user body (`checked`), with the e-mail (if
/// sent) checked as [`StoredEmail`] instead of by `shared`'s syntax; every
/// field's error at once, the e-mail's first.
fn checked_user(
    checked: Result<(), Vec<FieldError>>,
    email: Option<&str>,
) -> Result<Option<StoredEmail>, EmuError> {
    let mut errors = checked.err().unwrap_or_default();
    errors.retain(|e| e.field != "email");
    let email = match email.map(StoredEmail::parse).transpose() {
        Ok(email) => email,
        Err(e) => {
            errors.insert(0, e);
            None
        }
    };
    if errors.is_empty() {
        Ok(email)
    } else {
        Err(EmuError::fields(errors))
    }
}

async fn check_unique(
    r: &mut Reads<'_>,
    me: Option<Uuid>,
    email: Option<&StoredEmail>,
    ext: Option<&ExternalUserId>,
) -> Result<(), EmuError> {
    if let Some(email) = email {
        if let Some(other) = r.active_user_by_email(&email.normalized()).await? {
            if Some(other) != me {
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
        if let Some(other) = r.active_user_by_external_id(ext.as_str()).await? {
            if Some(other) != me {
                return Err(EmuError::Conflict(FieldError::new(
                    "external_user_id",
                    format!("The external user id {} is already used by another user of this organisation.", ext.as_str()),
                )));
            }
        }
    }
    Ok(())
}

/// Make `records` durable in one transaction: the one way state changes.
/// The owner of every device written gets its counters recounted (from its
/// stored devices with this write's versions in place), in the same write.
async fn commit(store: &mut Store, mut records: Vec<Record>) -> Result<(), EmuError> {
    let mut owners: Vec<Uuid> = Vec::new();
    for r in &records {
        if let Record::Device { user_id, .. } = r {
            if !owners.contains(user_id) {
                owners.push(*user_id);
            }
        }
    }
    for owner in owners {
        let mut devices = store.writer()?.devices_of(owner).await?;
        for r in &records {
            if let Record::Device { user_id, device } = r {
                if *user_id == owner {
                    let id = device.common().id;
                    match devices.iter_mut().find(|d| d.common().id == id) {
                        Some(d) => *d = device.clone(),
                        None => devices.push(device.clone()),
                    }
                }
            }
        }
        let mut counts = [0u32; 4];
        for d in devices.iter().filter(|d| d.common().deleted_at.is_none()) {
            counts[d.kind() as usize] += 1;
        }
        let pending = records.iter_mut().find_map(|r| match r {
            Record::User { user } if user.id == owner => Some(user),
            _ => None,
        });
        match pending {
            Some(user) => {
                set_counts(user, counts);
            }
            None => {
                if let Some(mut user) = store.writer()?.user(owner).await? {
                    if set_counts(&mut user, counts) {
                        records.push(Record::User { user });
                    }
                }
            }
        }
    }
    store.write(&records).await?;
    Ok(())
}

/// Set the device counters; true if any changed.
fn set_counts(u: &mut User, counts: [u32; 4]) -> bool {
    let new = [
        (&mut u.num_heat_pumps, counts[DeviceKind::HeatPump as usize]),
        (
            &mut u.num_electric_vehicles,
            counts[DeviceKind::ElectricVehicle as usize],
        ),
        (&mut u.num_wallboxes, counts[DeviceKind::Wallbox as usize]),
        (&mut u.num_inverters, counts[DeviceKind::Inverter as usize]),
    ];
    let mut changed = false;
    for (field, n) in new {
        changed |= *field != n;
        *field = n;
    }
    changed
}

/// The records that reconnect `device` at `t`, as the customer's completed
/// `/connect` page does: the device connected with fresh data, its owner
/// onboarded.
fn reconnected(
    owner: Option<User>,
    user_id: Uuid,
    mut device: Device,
    t: DateTime<Utc>,
) -> Vec<Record> {
    reconnect(&mut device, t);
    let mut records = vec![Record::Device { user_id, device }];
    if let Some(mut u) = owner.filter(|u| u.is_onboarded != Some(true)) {
        u.is_onboarded = Some(true);
        records.push(Record::User { user: u });
    }
    records
}

/// The records that make `device` lose its manufacturer connection at `t`:
/// a fresh reconnection session and the device pointing at it.
fn disconnected(user_id: Uuid, mut device: Device, t: DateTime<Utc>) -> Vec<Record> {
    let session = AuthSession::new(user_id, device.common().id, device.kind(), None, None, t);
    lose(&mut device, &connect_path(session.id), t);
    vec![
        Record::Session { session },
        Record::Device { user_id, device },
    ]
}

/// The device as Podero shows it at `now`: the type's own object, `owner`
/// filled in, a connected device's last data minutes old (see
/// [`last_refresh`]), and its stored reconnection paths made absolute with
/// the URL the emulator serves on now (the embedded one gets a new port
/// each start).
fn device_json(owner: &User, device: &Device, public_url: &str, now: DateTime<Utc>) -> Value {
    let mut value = match device {
        Device::HeatPump(d) => serde_json::to_value(d),
        Device::ElectricVehicle(d) => serde_json::to_value(d),
        Device::Wallbox(d) => serde_json::to_value(d),
        Device::Inverter(d) => serde_json::to_value(d),
    }
    .unwrap_or(Value::Null);
    let c = device.common();
    if let Some(obj) = value.as_object_mut() {
        let block = DeviceOwner {
            id: owner.id,
            email: Some(owner.email.clone()),
            first_name: owner.first_name.clone(),
            last_name: owner.last_name.clone(),
            external_id: owner.external_user_id.clone(),
        };
        obj.insert(
            "owner".into(),
            serde_json::to_value(block).unwrap_or(Value::Null),
        );
        if c.is_authenticated && c.deleted_at.is_none() {
            // Data arrives while connected: the latest refresh, or the
            // (re)connection itself if that was later.
            let fresh =
                last_refresh(c.id, now).max(c.current_state_last_updated_at.unwrap_or_default());
            let fresh = serde_json::to_value(fresh).unwrap_or(Value::Null);
            obj.insert("current_state_last_updated_at".into(), fresh.clone());
            obj.insert("last_monitoring_executed_at".into(), fresh);
        }
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

impl Emulator {
    /// Open the state under the data directory, or seed a fresh one.
    pub async fn open(config: &EmulatorConfig, public_url: String) -> Result<Emulator, StartError> {
        let dir = &config.data_dir;
        let db = |e: StoreError| {
            StartError::Database(format!(
                "{}: {e}",
                dir.join(crate::store::DB_FILE).display()
            ))
        };
        let (store, meta) = match Store::open(dir).await.map_err(db)? {
            Some((mut store, meta)) => {
                let users = store.writer().map_err(db)?.user_count().await.map_err(db)?;
                tracing::info!(users, dir = %dir.display(), "opened the emulator's organisation (--users and --seed apply only to a fresh data directory)");
                (store, meta)
            }
            None => {
                if dir.join("snapshot.jsonl").exists() {
                    tracing::warn!(dir = %dir.display(), "snapshot.jsonl/journal.jsonl of an earlier emulator version are ignored; seeding emulator.sqlite afresh (delete the old files to silence this)");
                }
                seed::seed_fresh(dir, config.seed, config.seed_users)
                    .await
                    .map_err(db)?;
                Store::open(dir).await.map_err(db)?.ok_or_else(|| {
                    StartError::Database(format!("{}: seeded, but not found", dir.display()))
                })?
            }
        };
        Ok(Emulator {
            readers: store.readers(),
            writer: tokio::sync::Mutex::new(store),
            tokens: Tokens::new(
                config.client_id.clone(),
                config.client_secret.clone(),
                config.token_ttl,
                config.max_tokens,
            ),
            public_url,
            org_id: meta.org_id,
            body_timeout: config.body_timeout,
        })
    }

    pub fn org_id(&self) -> Uuid {
        self.org_id
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The time a request body has to arrive (`EmulatorConfig::body_timeout`).
    pub(crate) fn body_timeout(&self) -> std::time::Duration {
        self.body_timeout
    }

    /// Access tokens issued so far (see [`Tokens::issued`]).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.tokens.issued()
    }

    async fn lock(&self) -> tokio::sync::MutexGuard<'_, Store> {
        self.writer.lock().await
    }

    /// A reader connection (its [`Reads`] via `Reads::on(&mut conn)`).
    async fn read(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Sqlite>, EmuError> {
        Ok(Store::reader(&self.readers).await?)
    }

    /// Close the database (used by `RunningEmulator::shutdown`).
    pub async fn close(&self) {
        self.lock().await.close().await;
    }

    /// Number of devices ever registered (deleted ones included).
    pub async fn device_count(&self) -> Result<usize, EmuError> {
        let mut conn = self.read().await?;
        Ok(Reads::on(&mut conn).device_rows().await? as usize)
    }

    /// Number of users (including archived ones).
    pub async fn user_count(&self) -> Result<usize, EmuError> {
        let mut conn = self.read().await?;
        Ok(Reads::on(&mut conn).user_count().await?)
    }

    // ---- users -------------------------------------------------------------

    /// The whole list as a JSON array, streamed in pieces of a few thousand
    /// users read from the database as the client takes them: memory stays
    /// small however large the organisation. Users created while it streams
    /// may appear at its end.
    pub fn users_json(
        self: &Arc<Self>,
        include_deleted: bool,
    ) -> impl Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
        // None: the closing bracket is sent.
        let start: Option<(Arc<Emulator>, Option<i64>)> = Some((self.clone(), None));
        futures_util::stream::unfold(start, move |state| async move {
            let (emu, after) = state?;
            let page = async {
                let mut conn = emu.read().await?;
                Ok::<_, EmuError>(
                    Reads::on(&mut conn)
                        .users_json_after(after.unwrap_or(0), LIST_PAGE, include_deleted)
                        .await?,
                )
            };
            match page.await {
                Err(e) => Some((Err(std::io::Error::other(format!("{e:?}"))), None)),
                Ok((json, last, n)) => {
                    let mut out = Vec::with_capacity(json.len() + 2);
                    if after.is_none() {
                        out.push(b'[');
                    } else if n > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(&json);
                    let more = n as i64 == LIST_PAGE;
                    if !more {
                        out.push(b']');
                    }
                    Some((Ok(out), more.then_some((emu, Some(last)))))
                }
            }
        })
    }

    pub async fn get_user(&self, id: Uuid, include_deleted: bool) -> Result<User, EmuError> {
        let mut conn = self.read().await?;
        user_of(&mut Reads::on(&mut conn), id, include_deleted).await
    }

    pub async fn user_by_external_id(
        &self,
        ext: &str,
        include_deleted: bool,
    ) -> Result<User, EmuError> {
        let mut conn = self.read().await?;
        let mut r = Reads::on(&mut conn);
        if let Some(id) = r.active_user_by_external_id(ext).await? {
            return user_of(&mut r, id, false).await;
        }
        if include_deleted {
            // Most recently archived first.
            if let Some(u) = r
                .archived_users_by_external_id(ext)
                .await?
                .into_iter()
                .max_by_key(|u| u.deleted_at)
            {
                return Ok(u);
            }
        }
        Err(EmuError::NotFound)
    }

    pub async fn create_user(&self, body: CreateUser) -> Result<User, EmuError> {
        let email = checked_user(body.validate(), Some(&body.email))?.ok_or_else(|| {
            EmuError::fields(vec![FieldError::keyed(
                "email",
                "validation.email.empty",
                &[],
            )])
        })?;
        let ext = body
            .external_user_id
            .as_deref()
            .map(ExternalUserId::parse)
            .transpose()
            .map_err(|e| EmuError::fields(vec![e]))?;
        let mut store = self.lock().await;
        check_unique(&mut store.writer()?, None, Some(&email), ext.as_ref()).await?;
        let user = User {
            id: Uuid::new_v4(),
            organization_id: Some(self.org_id),
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
        commit(&mut store, vec![Record::User { user: user.clone() }]).await?;
        Ok(user)
    }

    pub async fn update_user(&self, id: Uuid, body: UpdateUser) -> Result<User, EmuError> {
        let email = checked_user(body.validate(), body.email.as_deref())?;
        let ext = match &body.external_user_id {
            Some(Some(e)) => Some(ExternalUserId::parse(e).map_err(|e| EmuError::fields(vec![e]))?),
            _ => None,
        };
        let mut store = self.lock().await;
        let mut r = store.writer()?;
        let mut user = user_of(&mut r, id, false).await?;
        check_unique(&mut r, Some(id), email.as_ref(), ext.as_ref()).await?;
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
        commit(&mut store, vec![Record::User { user: user.clone() }]).await?;
        Ok(user)
    }

    /// Soft delete: the user is hidden unless `include_deleted` is asked for.
    pub async fn delete_user(&self, id: Uuid) -> Result<(), EmuError> {
        let mut store = self.lock().await;
        let mut user = user_of(&mut store.writer()?, id, false).await?;
        user.deleted_at = Some(now());
        commit(&mut store, vec![Record::User { user }]).await
    }

    // ---- devices -----------------------------------------------------------

    pub async fn list_devices(
        &self,
        user_id: Uuid,
        kind: DeviceKind,
        include_deleted: bool,
    ) -> Result<Vec<Value>, EmuError> {
        let mut conn = self.read().await?;
        let mut r = Reads::on(&mut conn);
        let owner = user_of(&mut r, user_id, include_deleted).await?;
        let t = now();
        Ok(r.devices_of(user_id)
            .await?
            .iter()
            .filter(|d| d.kind() == kind && (include_deleted || d.common().deleted_at.is_none()))
            .map(|d| device_json(&owner, d, &self.public_url, t))
            .collect())
    }

    pub async fn get_device(
        &self,
        user_id: Uuid,
        kind: DeviceKind,
        id: Uuid,
        include_deleted: bool,
    ) -> Result<Value, EmuError> {
        let mut conn = self.read().await?;
        let mut r = Reads::on(&mut conn);
        let owner = user_of(&mut r, user_id, include_deleted).await?;
        let d = device_of(&mut r, user_id, kind, id, include_deleted).await?;
        Ok(device_json(&owner, &d, &self.public_url, now()))
    }

    /// Register a device: it starts unauthenticated, with its reconnection link.
    pub async fn register_device(
        &self,
        user_id: Uuid,
        kind: DeviceKind,
        body: &[u8],
    ) -> Result<Value, EmuError> {
        let write = parse_write(kind, body)?;
        let mut store = self.lock().await;
        let mut r = store.writer()?;
        let owner = user_of(&mut r, user_id, false).await?;
        let buildings = building_ids(&mut r, user_id).await?;
        let id = Uuid::new_v4();
        let t = now();
        let session = AuthSession::new(user_id, id, kind, None, None, t);
        let link = connect_path(session.id);
        let mut base = seed::blank_device(kind, id, t);
        disconnect(&mut base, &link, "created", None);
        let device = merge_write(&buildings, base, write, t)?;
        commit(
            &mut store,
            vec![
                Record::Session { session },
                Record::Device {
                    user_id,
                    device: device.clone(),
                },
            ],
        )
        .await?;
        Ok(device_json(&owner, &device, &self.public_url, now()))
    }

    pub async fn update_device(
        &self,
        user_id: Uuid,
        kind: DeviceKind,
        id: Uuid,
        body: &[u8],
    ) -> Result<Value, EmuError> {
        let write = parse_write(kind, body)?;
        let mut store = self.lock().await;
        let mut r = store.writer()?;
        let owner = user_of(&mut r, user_id, false).await?;
        let current = device_of(&mut r, user_id, kind, id, false).await?;
        let buildings = building_ids(&mut r, user_id).await?;
        let device = merge_write(&buildings, current, write, now())?;
        commit(
            &mut store,
            vec![Record::Device {
                user_id,
                device: device.clone(),
            }],
        )
        .await?;
        Ok(device_json(&owner, &device, &self.public_url, now()))
    }

    pub async fn delete_device(
        &self,
        user_id: Uuid,
        kind: DeviceKind,
        id: Uuid,
    ) -> Result<(), EmuError> {
        let mut store = self.lock().await;
        let mut r = store.writer()?;
        user_of(&mut r, user_id, false).await?;
        let mut device = device_of(&mut r, user_id, kind, id, false).await?;
        device_common_mut(&mut device).deleted_at = Some(now());
        commit(&mut store, vec![Record::Device { user_id, device }]).await
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
                if !is_redirect_url(u) {
                    return Err(EmuError::field(
                        field,
                        "Give an absolute http(s) URL with a host, of at most 8000 characters, \
                         without spaces or control characters (percent-encode others, e.g. %C3%A4 for ä), or null.",
                    ));
                }
            }
        }
        let mut store = self.lock().await;
        let mut r = store.writer()?;
        user_of(&mut r, user_id, false).await?;
        let mut device = device_of(&mut r, user_id, kind, id, false).await?;
        let session = AuthSession::new(user_id, id, kind, req.success_url, req.cancel_url, now());
        if !device.common().is_authenticated {
            let path = connect_path(session.id);
            let c = device_common_mut(&mut device);
            c.authorization_url = Some(path.clone());
            set_actions(c, &path);
        }
        let link = self.connect_url(session.id);
        let session_id = session.id;
        commit(
            &mut store,
            vec![
                Record::Session { session },
                Record::Device { user_id, device },
            ],
        )
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
        let mut conn = self.read().await.ok()?;
        let mut r = Reads::on(&mut conn);
        let s = r.session(session_id).await.ok()??;
        let (_, device) = r.device(s.device_id).await.ok()??;
        let user = r.user(s.user_id).await.ok()??;
        Some(SessionView {
            kind: device.kind(),
            model: device.common().model_name(),
            owner: user.display_name(),
            expired: s.expired(now()),
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
        let mut store = self.lock().await;
        let mut r = store.writer()?;
        let mut session = r.session(session_id).await?.ok_or(EmuError::NotFound)?;
        if session.expired(now()) || session.outcome.is_some() {
            return Err(EmuError::NotFound);
        }
        session.outcome = Some(connect);
        let mut records = vec![Record::Session {
            session: session.clone(),
        }];
        if connect {
            if let Some((user_id, d)) = r.device(session.device_id).await? {
                let owner = r.user(user_id).await?;
                records.extend(reconnected(owner, user_id, d, now()));
            }
        }
        commit(&mut store, records).await?;
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
        let mut store = self.lock().await;
        let mut r = store.writer()?;
        let (user_id, device) = match r.device(device_id).await? {
            Some((u, d)) if d.common().deleted_at.is_none() => (u, d),
            _ => return Err(EmuError::NotFound),
        };
        let owner = r.user(user_id).await?.ok_or(EmuError::NotFound)?;
        let t = now();
        if device.common().is_authenticated == authenticated {
            return Ok(device_json(&owner, &device, &self.public_url, t));
        }
        let records = if authenticated {
            reconnected(Some(owner.clone()), user_id, device, t)
        } else {
            disconnected(user_id, device, t)
        };
        let changed = records.iter().find_map(|r| match r {
            Record::Device { device, .. } => Some(device.clone()),
            _ => None,
        });
        commit(&mut store, records).await?;
        let device = changed.ok_or_else(|| EmuError::Internal("no device written".into()))?;
        Ok(device_json(&owner, &device, &self.public_url, t))
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
        let mut store = self.lock().await;
        let mut r = store.writer()?;
        let rows = r.device_rows().await?;
        if rows == 0 {
            return Ok(0);
        }
        let t = now();
        let mut picked = HashSet::new();
        let mut records = Vec::new();
        for _ in 0..events {
            let lose_one = rng.chance(0.5);
            for _ in 0..TRIES {
                let rowid = 1 + rng.below(rows as u64) as i64;
                let Some((user_id, d)) = r.device_at(rowid).await? else {
                    continue;
                };
                let c = d.common();
                let fits = if lose_one {
                    c.is_authenticated
                } else {
                    is_lost(&d)
                };
                if !fits || c.deleted_at.is_some() || picked.contains(&c.id) {
                    continue;
                }
                let Some(owner) = r.user(user_id).await?.filter(|u| u.deleted_at.is_none()) else {
                    continue;
                };
                picked.insert(c.id);
                tracing::debug!(device = %c.id, lost = lose_one, "churn: device connection changed");
                records.extend(if lose_one {
                    disconnected(user_id, d, t)
                } else {
                    reconnected(Some(owner), user_id, d, t)
                });
                break;
            }
        }
        if !records.is_empty() {
            commit(&mut store, records).await?;
        }
        Ok(picked.len())
    }

    // ---- buildings ---------------------------------------------------------

    pub async fn list_buildings(&self, user_id: Uuid) -> Result<Vec<Building>, EmuError> {
        let mut conn = self.read().await?;
        let mut r = Reads::on(&mut conn);
        user_of(&mut r, user_id, false).await?;
        Ok(r.buildings_of(user_id).await?)
    }

    pub async fn get_building(&self, user_id: Uuid, id: Uuid) -> Result<Building, EmuError> {
        let mut conn = self.read().await?;
        let mut r = Reads::on(&mut conn);
        user_of(&mut r, user_id, false).await?;
        match r.building(id).await? {
            Some((owner, b)) if owner == user_id => Ok(b),
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
        let mut building = Building {
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
        patch_building(&mut building, body)?;
        let mut store = self.lock().await;
        user_of(&mut store.writer()?, user_id, false).await?;
        commit(
            &mut store,
            vec![Record::Building {
                user_id,
                building: building.clone(),
            }],
        )
        .await?;
        Ok(building)
    }

    /// Partial update. The building is read under the write lock, so two
    /// updates at once each keep the other's fields.
    pub async fn update_building(
        &self,
        user_id: Uuid,
        id: Uuid,
        body: BuildingWrite,
    ) -> Result<Building, EmuError> {
        let mut store = self.lock().await;
        let mut r = store.writer()?;
        user_of(&mut r, user_id, false).await?;
        let mut building = match r.building(id).await? {
            Some((owner, b)) if owner == user_id => b,
            _ => return Err(EmuError::NotFound),
        };
        patch_building(&mut building, body)?;
        commit(
            &mut store,
            vec![Record::Building {
                user_id,
                building: building.clone(),
            }],
        )
        .await?;
        Ok(building)
    }

    /// Hard delete (Podero: INFERRED); devices linked to it lose the link.
    pub async fn delete_building(&self, user_id: Uuid, id: Uuid) -> Result<(), EmuError> {
        let mut store = self.lock().await;
        let mut r = store.writer()?;
        user_of(&mut r, user_id, false).await?;
        if !matches!(r.building(id).await?, Some((o, _)) if o == user_id) {
            return Err(EmuError::NotFound);
        }
        let mut records = vec![Record::RemoveBuilding { id }];
        for mut d in r.devices_of(user_id).await? {
            if d.common().building == Some(id) {
                device_common_mut(&mut d).building = None;
                records.push(Record::Device { user_id, device: d });
            }
        }
        commit(&mut store, records).await
    }
}

/// Check a building write body and apply the fields it sets to `b`.
fn patch_building(b: &mut Building, w: BuildingWrite) -> Result<(), EmuError> {
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
    Ok(())
}

/// An absolute http(s) URL with a host that can stand in a `Location`
/// header as it is: at most 8000 characters, visible ASCII only (a space,
/// a line break or a non-ASCII letter would make the customer's redirect
/// fail after the link was used).
fn is_redirect_url(u: &str) -> bool {
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
    u.len() <= 8000
        && host.is_some_and(|h| !h.is_empty())
        && u.bytes().all(|b| b.is_ascii_graphic())
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
        Value::Object(map) => {
            check_device_write(&map)?;
            Ok(map)
        }
        _ => Err(EmuError::field("body", "Send a JSON object.")),
    }
}

/// Longest text (characters) of any field of a device write body.
const MAX_DEVICE_TEXT: usize = 1000;

/// Price zones of the API reference (§2.13).
const PRICE_ZONES: &[&str] = &[
    "AT",
    "AT_HOURLY",
    "BE",
    "CH",
    "EE",
    "DE_LU",
    "HU",
    "IT_CNOR",
    "IT_CSUD",
    "IT_NORD",
    "IT_PUN",
    "IT_SARD",
    "IT_SICI",
    "IT_SUD",
    "PT",
    "RO",
    "SE_1",
    "SE_2",
    "SE_3",
    "SE_4",
    "UK",
];

/// 422 for a device write whose enumerated fields hold other values than
/// the API reference lists, or whose texts (`device_model`'s included) are
/// over [`MAX_DEVICE_TEXT`] characters: a device is stored and listed
/// whole, so one field must not make it megabytes.
fn check_device_write(write: &serde_json::Map<String, Value>) -> Result<(), EmuError> {
    let mut errors = Vec::new();
    let mut texts: Vec<(String, &str)> = Vec::new();
    for (k, v) in write {
        match v {
            Value::String(s) => texts.push((k.clone(), s)),
            Value::Object(inner) => {
                for (ik, iv) in inner {
                    match iv {
                        Value::String(s) => texts.push((format!("{k}.{ik}"), s)),
                        Value::Object(deeper) => {
                            for (dk, dv) in deeper {
                                if let Value::String(s) = dv {
                                    texts.push((format!("{k}.{ik}.{dk}"), s));
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    for (field, text) in &texts {
        let n = text.chars().count();
        if n > MAX_DEVICE_TEXT {
            errors.push(FieldError::new(
                field,
                format!("At most {MAX_DEVICE_TEXT} characters are allowed here; this has {n}. Shorten it."),
            ));
        }
    }
    if let Some(level) = write.get("optimization_level").and_then(Value::as_str) {
        if !["Low", "Mid", "Max"].contains(&level) {
            errors.push(FieldError::new(
                "optimization_level",
                "Use Low, Mid or Max (capitalised as here).",
            ));
        }
    }
    if let Some(zone) = write.get("price_zone").and_then(Value::as_str) {
        if !PRICE_ZONES.contains(&zone) {
            let hint = if zone.eq_ignore_ascii_case("DE") {
                " For Germany use DE_LU."
            } else {
                ""
            };
            errors.push(FieldError::new(
                "price_zone",
                format!(
                    "Not a price zone; use one of {}.{hint}",
                    PRICE_ZONES.join(", ")
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(EmuError::fields(errors))
    }
}

/// The ids of the user's buildings (what `building_id` may name).
async fn building_ids(r: &mut Reads<'_>, user_id: Uuid) -> Result<Vec<Uuid>, EmuError> {
    Ok(r.buildings_of(user_id)
        .await?
        .iter()
        .map(|b| b.id)
        .collect())
}

/// Apply a write body to a device: `building_id` → `building` (one of
/// `buildings`), `device_model.cloud_service_id` → `cloud_service`, other
/// fields as named.
fn merge_write(
    buildings: &[Uuid],
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
                    if !buildings.contains(&id) {
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
