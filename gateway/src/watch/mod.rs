//! The fleet watch: a once-per-cluster job that keeps every device's
//! connection state current and turns changes into support cases.
//!
//! Podero has no webhooks, so the watch polls. A **round** walks the users
//! of the read model ([`crate::directory`]) that have devices, in id
//! order, and reads each one's device lists of the kinds their counters
//! name. Requests are paced to the budget (`GATEWAY_WATCH_RPS`): one every
//! `1 / rps` seconds, never faster, whatever the answers. A `429`, a `5xx`
//! or an unreachable Podero stops the round for a while (2, 4, 8 … s, at
//! most a minute) and the same user is tried again. After each user the
//! round's place is stored ([`store::Progress`]), so a restart — or
//! another replica taking the lease over — resumes after the last user
//! done. What was seen goes to the database ([`store::WatchStore`]); a
//! device found lost opens a device-connection case (one per device), one
//! found connected again resolves it ("reconnected after 2 h 14 min").
//! Device reads that pass through the proxy (a user's page, "Verify
//! connection") are observed the same way ([`Watch::observe`]), so a
//! customer who reconnects while the agent watches resolves the case at
//! once.

pub mod store;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use chrono::Utc;
use shared::cases::{CaseKind, Priority, TransitionKind, WatchStatus};
use shared::{DeviceCommon, DeviceKind, User};
use tokio::time::Instant;

use crate::cases::{By, Cases, Opening};
use crate::database::{now_ms, to_time, Db};
use crate::directory::Directory;
use crate::error::GatewayError;
use crate::jobs::lease::Lease;
use crate::podero::{ApiRoute, Podero};
pub use store::WatchStore;

/// The job's lease name.
pub const JOB: &str = "fleet-watch";
/// Pause between two rounds.
pub const BETWEEN_ROUNDS: Duration = Duration::from_secs(5);
/// Longest wait after Podero refused or failed.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What the watch is doing now (per replica; the round's place is in the
/// database).
#[derive(Debug, Default)]
struct Live {
    backing_off_until: Option<chrono::DateTime<Utc>>,
    last_error: Option<String>,
}

/// The fleet watch (cheap to clone).
#[derive(Debug, Clone)]
pub struct Watch {
    store: WatchStore,
    cases: Cases,
    /// Requests per second towards Podero; 0: off.
    rps: f64,
    live: Arc<Mutex<Live>>,
}

/// Paces requests: one every `interval`, never two closer.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Instant,
}

impl Pacer {
    pub fn new(rps: f64) -> Self {
        Self {
            interval: Duration::from_secs_f64(1.0 / rps.max(0.001)),
            next: Instant::now(),
        }
    }

    /// Wait for the next slot.
    pub async fn wait(&mut self) {
        tokio::time::sleep_until(self.next).await;
        self.next = Instant::now().max(self.next) + self.interval;
    }
}

/// The device-list reads a user costs.
fn kinds_of(u: &User) -> Vec<DeviceKind> {
    DeviceKind::ALL
        .into_iter()
        .filter(|k| u.count_of(*k) > 0)
        .collect()
}

/// Podero asks us to slow down, or cannot answer now.
fn must_back_off(e: &GatewayError) -> bool {
    match e {
        GatewayError::Podero { status, .. } => {
            *status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
        }
        GatewayError::UpstreamUnreachable { .. }
        | GatewayError::UpstreamTimeout { .. }
        | GatewayError::UpstreamAuthFailed { .. }
        | GatewayError::UpstreamBadResponse(_) => true,
        _ => false,
    }
}

impl Watch {
    pub fn new(db: Db, cases: Cases, rps: f64) -> Self {
        Self {
            store: WatchStore::new(db),
            cases,
            rps,
            live: Arc::default(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.rps > 0.0
    }

    pub fn store(&self) -> &WatchStore {
        &self.store
    }

    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record devices of one user and `kind` (`whole`: their whole list)
    /// and act on what changed: open a case for a lost device, resolve it
    /// for a reconnected one, note a removed one on its case.
    pub async fn observe(
        &self,
        user: &User,
        kind: DeviceKind,
        devices: &[DeviceCommon],
        whole: bool,
    ) -> Result<(), GatewayError> {
        let now = now_ms();
        let changes = self
            .store
            .observe(user.id, kind, devices, whole, now)
            .await?;
        for c in changes {
            match c.kind {
                TransitionKind::Lost => {
                    let opened = self
                        .cases
                        .open(
                            Opening {
                                user_id: user.id,
                                user_name: user.display_name(),
                                device: Some((c.device_id, kind, c.label.clone())),
                                kind: CaseKind::DeviceConnection,
                                subject: format!("{}: connection lost", c.label),
                                priority: Priority::Normal,
                                lost_since: Some(c.at),
                                comment: None,
                            },
                            &By::System,
                        )
                        .await?;
                    if opened.is_none() {
                        // Its case is still open (lost again before it was
                        // resolved): say so on the timeline.
                        self.cases
                            .device_event(
                                c.device_id,
                                shared::cases::CaseEventKind::DeviceLost,
                                &By::System,
                                None,
                            )
                            .await?;
                    }
                }
                TransitionKind::Reconnected => {
                    self.cases
                        .device_reconnected(c.device_id, user.id, c.at)
                        .await?;
                }
                TransitionKind::Removed => {
                    self.cases
                        .device_event(
                            c.device_id,
                            shared::cases::CaseEventKind::DeviceRemoved,
                            &By::System,
                            None,
                        )
                        .await?;
                }
                TransitionKind::Added => {}
            }
        }
        Ok(())
    }

    /// [`Watch::observe`] in the background (device reads passing through
    /// the proxy must not wait for it); failures are logged.
    pub fn observe_later(
        &self,
        user: User,
        kind: DeviceKind,
        devices: Vec<DeviceCommon>,
        whole: bool,
    ) {
        let watch = self.clone();
        tokio::spawn(async move {
            if let Err(e) = watch.observe(&user, kind, &devices, whole).await {
                tracing::warn!("fleet watch: could not record a device read: {e}");
            }
        });
    }

    /// One round (or the rest of one), while `lease` is held: answers when
    /// the round is complete or the lease is lost.
    pub async fn run_round(
        &self,
        directory: &Directory,
        podero: &Podero,
        lease: &Lease,
        pacer: &mut Pacer,
    ) -> Result<(), GatewayError> {
        let snapshot = directory.snapshot(podero.request_timeout()).await?;
        let mut users: Vec<User> = snapshot
            .users()
            .filter(|u| !u.is_archived() && u.num_devices() > 0)
            .map(|u| u.to_user())
            .collect();
        drop(snapshot);
        users.sort_by_key(|u| u.id);
        let mut progress = self.store.progress().await?;
        if progress.round_started_at.is_none() {
            progress.round_started_at = Some(now_ms());
            progress.cursor = None;
            progress.round_users_checked = 0;
            self.store.save_progress(&progress).await?;
        }
        let start = match progress.cursor {
            Some(c) => users.partition_point(|u| u.id <= c),
            None => 0,
        };
        let mut backoff = Duration::from_secs(2);
        for user in &users[start..] {
            'user: loop {
                if !lease.is_held() {
                    return Ok(());
                }
                for kind in kinds_of(user) {
                    pacer.wait().await;
                    let read = podero
                        .get::<Vec<DeviceCommon>>(&ApiRoute::Devices(user.id, kind), false)
                        .await;
                    match read {
                        Ok(devices) => {
                            self.observe(user, kind, &devices, true).await?;
                        }
                        Err(e) if must_back_off(&e) => {
                            let until = Utc::now()
                                + chrono::Duration::from_std(backoff).unwrap_or_default();
                            tracing::warn!(
                                "fleet watch: Podero refused or failed ({e}); waiting {} s",
                                backoff.as_secs()
                            );
                            {
                                let mut live = self.live();
                                live.backing_off_until = Some(until);
                                live.last_error = Some(e.to_string());
                            }
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(MAX_BACKOFF);
                            continue 'user;
                        }
                        // This user (or list) is gone meanwhile: next.
                        Err(e) => {
                            tracing::debug!(user = %user.id, "fleet watch: skipped: {e}");
                        }
                    }
                }
                break;
            }
            backoff = Duration::from_secs(2);
            self.live().backing_off_until = None;
            let now = now_ms();
            self.store.user_checked(user.id, now).await?;
            progress.cursor = Some(user.id);
            progress.round_users_checked += 1;
            self.store.save_progress(&progress).await?;
        }
        let now = now_ms();
        progress.last_round_ms = progress.round_started_at.map(|s| now - s);
        progress.last_round_finished_at = Some(now);
        progress.rounds_completed += 1;
        progress.round_started_at = None;
        progress.cursor = None;
        progress.round_users_checked = 0;
        self.store.save_progress(&progress).await?;
        tracing::info!(
            users = users.len(),
            secs = progress.last_round_ms.unwrap_or(0) / 1000,
            "fleet watch: round complete"
        );
        Ok(())
    }

    /// The watch's coverage.
    pub async fn status(&self, directory: &Directory) -> Result<WatchStatus, GatewayError> {
        let (users, requests) = match directory.current() {
            Some(s) => s
                .users()
                .filter(|u| !u.is_archived() && u.num_devices() > 0)
                .fold((0u64, 0u64), |(n, r), u| {
                    let kinds = DeviceKind::ALL
                        .into_iter()
                        .filter(|k| u.count_of(*k) > 0)
                        .count() as u64;
                    (n + 1, r + kinds)
                }),
            None => (0, 0),
        };
        let progress = self.store.progress().await?;
        let (devices, devices_lost) = self.store.device_counts().await?;
        let live = self.live();
        Ok(WatchStatus {
            enabled: self.enabled(),
            requests_per_second: self.rps,
            users,
            requests_per_round: requests,
            estimated_round_secs: if self.rps > 0.0 {
                requests as f64 / self.rps
            } else {
                0.0
            },
            round_started_at: progress.round_started_at.map(to_time),
            round_users_checked: progress.round_users_checked.max(0) as u64,
            last_round_finished_at: progress.last_round_finished_at.map(to_time),
            last_round_secs: progress.last_round_ms.map(|m| m as f64 / 1000.0),
            rounds_completed: progress.rounds_completed.max(0) as u64,
            devices,
            devices_lost,
            backing_off_until: live.backing_off_until.filter(|t| *t > Utc::now()),
            last_error: live.last_error.clone(),
        })
    }
}

/// Start the watch on whichever replica holds its lease (nothing when it
/// is off).
pub fn spawn(
    watch: Watch,
    leases: crate::jobs::lease::Leases,
    directory: Arc<Directory>,
    podero: Podero,
) -> Option<tokio::task::JoinHandle<()>> {
    if !watch.enabled() {
        return None;
    }
    let pacer = Arc::new(tokio::sync::Mutex::new(Pacer::new(watch.rps)));
    Some(crate::jobs::spawn_once_per_cluster(
        leases,
        JOB,
        BETWEEN_ROUNDS,
        move |lease| {
            let (watch, directory, podero, pacer) = (
                watch.clone(),
                directory.clone(),
                podero.clone(),
                pacer.clone(),
            );
            async move {
                let mut pacer = pacer.lock().await;
                let done = watch
                    .run_round(&directory, &podero, &lease, &mut pacer)
                    .await;
                if let Err(e) = &done {
                    watch.live().last_error = Some(e.to_string());
                }
                done
            }
        },
    ))
}
