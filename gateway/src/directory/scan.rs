//! The "Needs reconnection" scan: which devices of the organisation have
//! lost their manufacturer connection.
//!
//! Podero's user list carries device counters but not device health, so the
//! scan reads the device lists of every active user that has devices (only
//! the kinds the counters say they have), at most `concurrency` requests to
//! Podero at a time, and records each device with `is_authenticated` false.
//! Progress and the devices found so far are readable while it runs; one
//! scan runs at a time. The per-user counts feed the users list's "lost
//! device connection" filter.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::Utc;
use futures::stream::{self, StreamExt};
use shared::directory::{LostDevice, ReconnectionReport, ScanProgress, ScanState};
use shared::{DeviceCommon, DeviceKind, User};
use uuid::Uuid;

use super::Directory;
use crate::podero::{ApiRoute, Podero};

#[derive(Debug, Default)]
struct Found {
    progress: ScanProgress,
    devices: Vec<LostDevice>,
}

/// Scan state and results (one per gateway).
#[derive(Debug)]
pub struct Scanner {
    found: Mutex<Found>,
    /// Lost devices per user, of the scan under way or the last one.
    lost_by_user: RwLock<HashMap<Uuid, u32>>,
    concurrency: usize,
}

/// What a device read through the gateway says.
pub enum Observed<'a> {
    /// The user's whole list of one kind.
    List(&'a [DeviceCommon]),
    /// One device.
    One(&'a DeviceCommon),
}

fn kinds_of(u: &User) -> Vec<DeviceKind> {
    DeviceKind::ALL
        .into_iter()
        .filter(|k| u.count_of(*k) > 0)
        .collect()
}

impl Scanner {
    pub fn new(concurrency: usize) -> Self {
        Self {
            found: Mutex::new(Found {
                progress: ScanProgress {
                    concurrency: concurrency.max(1),
                    ..Default::default()
                },
                devices: Vec::new(),
            }),
            lost_by_user: RwLock::new(HashMap::new()),
            concurrency: concurrency.max(1),
        }
    }

    fn found(&self) -> std::sync::MutexGuard<'_, Found> {
        self.found.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn progress(&self) -> ScanProgress {
        self.found().progress.clone()
    }

    /// Progress and the devices found so far, by customer name.
    pub fn report(&self) -> ReconnectionReport {
        let found = self.found();
        let mut devices = found.devices.clone();
        devices.sort_by(|a, b| {
            a.user_name
                .to_lowercase()
                .cmp(&b.user_name.to_lowercase())
                .then(a.kind.cmp(&b.kind))
        });
        ReconnectionReport {
            scan: found.progress.clone(),
            devices,
        }
    }

    /// Run `f` with the lost-device counts per user.
    pub fn with_lost<R>(&self, f: impl FnOnce(&HashMap<Uuid, u32>) -> R) -> R {
        let map = self.lost_by_user.read().unwrap_or_else(|e| e.into_inner());
        f(&map)
    }

    /// Correct the results with devices the app just read through the
    /// gateway (a user's page, "Verify connection"): a reconnected device
    /// leaves the report at once, a newly lost one joins it. Ignored before
    /// the first scan.
    pub fn observe(&self, user: Option<&User>, user_id: Uuid, kind: DeviceKind, seen: Observed) {
        let mut found = self.found();
        if found.progress.state == ScanState::Idle {
            return;
        }
        let (devices, whole): (Vec<&DeviceCommon>, bool) = match seen {
            Observed::List(list) => (list.iter().collect(), true),
            Observed::One(d) => (vec![d], false),
        };
        let ids: Vec<Uuid> = devices.iter().map(|d| d.id).collect();
        found.devices.retain(|f| {
            !(f.user_id == user_id && f.kind == kind && (whole || ids.contains(&f.device_id)))
        });
        if let Some(u) = user {
            found.devices.extend(
                devices
                    .into_iter()
                    .filter(|d| !d.is_authenticated && d.deleted_at.is_none())
                    .map(|d| lost_device(u, kind, d)),
            );
        }
        let count = found
            .devices
            .iter()
            .filter(|f| f.user_id == user_id)
            .count() as u32;
        drop(found);
        let mut map = self.lost_by_user.write().unwrap_or_else(|e| e.into_inner());
        if count == 0 {
            map.remove(&user_id);
        } else {
            map.insert(user_id, count);
        }
    }

    /// Start a scan in the background unless one is running.
    pub fn start(&self, directory: Arc<Directory>, podero: Podero) {
        {
            let mut found = self.found();
            if found.progress.state == ScanState::Running {
                return;
            }
            found.progress = ScanProgress {
                state: ScanState::Running,
                started_at: Some(Utc::now()),
                concurrency: self.concurrency,
                ..Default::default()
            };
            found.devices.clear();
        }
        tokio::spawn(async move {
            directory.scanner().run(&directory, &podero).await;
        });
    }

    async fn run(&self, directory: &Directory, podero: &Podero) {
        let snapshot = match directory.snapshot(podero.request_timeout()).await {
            Ok(s) => s,
            Err(e) => {
                let mut found = self.found();
                found.progress.state = ScanState::Failed;
                found.progress.last_error = Some(e.to_string());
                found.progress.finished_at = Some(Utc::now());
                return;
            }
        };
        // Ids only (16 bytes a user): each user is read from the newest
        // snapshot when its turn comes, never all of them at once.
        let ids: Vec<Uuid> = snapshot
            .users()
            .filter(|u| !u.is_archived() && u.num_devices() > 0)
            .map(|u| u.id())
            .collect();
        drop(snapshot);
        self.found().progress.users_total = ids.len();
        let mut lost_by_user = HashMap::new();
        let mut results = stream::iter(ids)
            .map(|id| async move {
                match directory.current().and_then(|s| s.get(id)) {
                    Some(u) => scan_user(podero, u).await,
                    // Gone since the scan began: nothing lost.
                    None => (id, Vec::new(), None),
                }
            })
            .buffer_unordered(self.concurrency);
        while let Some((user_id, lost, error)) = results.next().await {
            if !lost.is_empty() {
                lost_by_user.insert(user_id, lost.len() as u32);
            }
            let mut found = self.found();
            found.progress.users_scanned += 1;
            if let Some(e) = error {
                found.progress.failures += 1;
                found.progress.last_error = Some(e);
            }
            // The app may have shown this user's devices meanwhile.
            found.devices.retain(|f| f.user_id != user_id);
            found.devices.extend(lost);
        }
        *self.lost_by_user.write().unwrap_or_else(|e| e.into_inner()) = lost_by_user;
        let mut found = self.found();
        found.progress.state = ScanState::Done;
        found.progress.finished_at = Some(Utc::now());
        tracing::info!(
            users = found.progress.users_scanned,
            lost = found.devices.len(),
            failures = found.progress.failures,
            "reconnection scan finished"
        );
    }
}

/// Read the device lists of one user (the kinds the counters name):
/// `(user, lost devices, last error)`.
async fn scan_user(podero: &Podero, u: User) -> (Uuid, Vec<LostDevice>, Option<String>) {
    let mut lost = Vec::new();
    let mut error = None;
    for kind in kinds_of(&u) {
        let route = ApiRoute::Devices(u.id, kind);
        match podero.get::<Vec<DeviceCommon>>(&route, false).await {
            Ok(devices) => lost.extend(
                devices
                    .into_iter()
                    .filter(|d| !d.is_authenticated && d.deleted_at.is_none())
                    .map(|d| lost_device(&u, kind, &d)),
            ),
            Err(e) => error = Some(e.to_string()),
        }
    }
    (u.id, lost, error)
}

fn lost_device(u: &User, kind: DeviceKind, d: &DeviceCommon) -> LostDevice {
    LostDevice {
        user_id: u.id,
        user_name: u.display_name(),
        email: u.email.clone(),
        external_user_id: u.external_user_id.clone(),
        kind,
        device_id: d.id,
        label: d.model_name().unwrap_or_else(|| kind.label().to_string()),
        lifecycle_state: d.lifecycle_state.clone(),
        last_data_at: d.current_state_last_updated_at,
        reconnection_link: d.reconnection_link().map(str::to_string),
    }
}
