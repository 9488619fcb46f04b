//! The fleet watch: a once-per-cluster job that keeps every device's
//! connection state current and turns changes into support cases.
//!
//! Podero has no webhooks, so the watch polls. A **round** walks the users
//! of the read model ([`crate::directory`]) that have devices, in id
//! order, and reads each one's device lists of the kinds their counters
//! name. Requests are paced to the budget (`GATEWAY_WATCH_RPS`): one every
//! `1 / rps` seconds, never faster, whatever the answers. A `429`, a `5xx`
//! or an unreachable Podero stops the round for a while (2, 4, 8 … s, at
//! most a minute) and the same user is tried again. Each user's devices
//! are written in one transaction, and the round's place
//! ([`store::Progress`]) at least every second and when the lease is
//! lost, so a restart — or another replica taking the lease over —
//! resumes where it was (redoing at most a second's users changes
//! nothing). What was seen goes to the database ([`store::WatchStore`]); a
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
use shared::cases::{CaseEventKind, CaseKind, Priority, TransitionKind, WatchStatus};
use shared::{DeviceCommon, DeviceKind, User};
use tokio::time::Instant;
use uuid::Uuid;

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
/// How often the round's place is stored.
const SAVE_EVERY: Duration = Duration::from_secs(1);
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
pub fn kinds_of(u: &User) -> Vec<DeviceKind> {
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

    /// The cases it opens and resolves.
    pub fn cases(&self) -> &Cases {
        &self.cases
    }

    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record what was read of one user (each [`store::Read`] one kind;
    /// `checked`: a full check by the watch) and act on what changed: open
    /// a case for a lost device, resolve it for a reconnected one, note a
    /// removed one on its case.
    pub async fn observe(
        &self,
        user: &User,
        reads: &[store::Read],
        checked: bool,
    ) -> Result<(), GatewayError> {
        let now = now_ms();
        let changes = self.store.observe(user.id, reads, checked, now).await?;
        for (kind, c) in changes {
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
                            .device_event(c.device_id, CaseEventKind::DeviceLost, &By::System, None)
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
                        .device_event(c.device_id, CaseEventKind::DeviceRemoved, &By::System, None)
                        .await?;
                }
                TransitionKind::Added => {}
            }
        }
        Ok(())
    }

    /// [`Watch::observe`] in the background for a device read passing
    /// through the proxy (which must not wait for it); failures are
    /// logged.
    pub fn observe_later(&self, user: User, read: store::Read) {
        let watch = self.clone();
        tokio::spawn(async move {
            if let Err(e) = watch.observe(&user, &[read], false).await {
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
        // The round's users as ids only (16 bytes each; whole users would be
        // hundreds of MB at a million, held for the whole round): each is
        // read from the newest snapshot when its turn comes.
        let snapshot = directory.snapshot(podero.request_timeout()).await?;
        let mut ids: Vec<Uuid> = snapshot
            .users()
            .filter(|u| !u.is_archived() && u.num_devices() > 0)
            .map(|u| u.id())
            .collect();
        drop(snapshot);
        ids.sort_unstable();
        let mut progress = self.store.progress().await?;
        if progress.round_started_at.is_none() {
            progress.round_started_at = Some(now_ms());
            progress.cursor = None;
            progress.round_users_checked = 0;
            self.store.save_progress(&progress).await?;
        }
        let start = match progress.cursor {
            Some(c) => ids.partition_point(|id| *id <= c),
            None => 0,
        };
        let mut backoff = Duration::from_secs(2);
        let mut saved = Instant::now();
        for id in &ids[start..] {
            // Archived, left without devices or gone since the round began:
            // nothing to read.
            let Some(user) = directory
                .current()
                .and_then(|s| s.get(*id))
                .filter(|u| u.deleted_at.is_none() && !kinds_of(u).is_empty())
            else {
                continue;
            };
            let user = &user;
            let reads = 'user: loop {
                if !lease.is_held() {
                    self.store.save_progress(&progress).await?;
                    return Ok(());
                }
                let mut reads = Vec::new();
                for kind in kinds_of(user) {
                    pacer.wait().await;
                    let read = podero
                        .get::<Vec<DeviceCommon>>(&ApiRoute::Devices(user.id, kind), false)
                        .await;
                    match read {
                        Ok(devices) => reads.push((kind, devices, true)),
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
                break reads;
            };
            backoff = Duration::from_secs(2);
            self.live().backing_off_until = None;
            self.observe(user, &reads, true).await?;
            progress.cursor = Some(user.id);
            progress.round_users_checked += 1;
            // The round's place, at least every second (a restart redoes
            // at most a second's users, which changes nothing).
            if saved.elapsed() >= SAVE_EVERY {
                self.store.save_progress(&progress).await?;
                saved = Instant::now();
            }
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
            users = ids.len(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditLog;
    use shared::cases::{CaseQuery, CaseState};

    fn device(id: u128, authenticated: bool, last_data_ms: i64) -> DeviceCommon {
        serde_json::from_value(serde_json::json!({
            "id": Uuid::from_u128(id),
            "is_authenticated": authenticated,
            "current_state_last_updated_at": to_time(last_data_ms),
        }))
        .unwrap()
    }

    fn user(id: u128) -> User {
        serde_json::from_value(serde_json::json!({
            "id": Uuid::from_u128(id), "email": "anna@example.com", "role": "user",
            "first_name": "Anna", "last_name": "Berger",
        }))
        .unwrap()
    }

    use uuid::Uuid;

    /// On SQLite and PostgreSQL: a lost device opens one case however many
    /// observers race, its return resolves it, the transitions are kept.
    #[tokio::test]
    async fn transitions_and_cases_on_every_store() {
        for store in crate::database::testing::stores().await {
            let cases = Cases::new(store.db.clone(), AuditLog::new(store.db.clone()), false);
            let watch = Watch::new(store.db.clone(), cases.clone(), 10.0);
            let anna = user(1);
            let kind = DeviceKind::Wallbox;
            let then = now_ms() - 3_600_000;
            // First sight: connected, nothing to do.
            watch
                .observe(&anna, &[(kind, vec![device(7, true, then)], true)], true)
                .await
                .unwrap();
            // Lost, seen by ten observers at once: one case.
            let racers: Vec<_> = (0..10)
                .map(|_| {
                    let (w, u) = (watch.clone(), anna.clone());
                    tokio::spawn(async move {
                        w.observe(&u, &[(kind, vec![device(7, false, then)], true)], true)
                            .await
                    })
                })
                .collect();
            for r in racers {
                r.await.unwrap().unwrap();
            }
            let me = Uuid::nil();
            let q = CaseQuery {
                device_id: Some(Uuid::from_u128(7)),
                ..Default::default()
            };
            let list = cases.list(&q, me).await.unwrap();
            assert_eq!(list.total, 1, "{}", store.name);
            let case = &list.cases[0];
            assert_eq!(case.state, CaseState::Open);
            assert_eq!(case.opened_by, None);
            assert!(case.lost_since.is_some());
            // Back: resolved by itself, with how long it was lost.
            watch
                .observe(
                    &anna,
                    &[(kind, vec![device(7, true, now_ms())], true)],
                    true,
                )
                .await
                .unwrap();
            let detail = cases.get(case.id).await.unwrap().unwrap();
            assert_eq!(detail.case.state, CaseState::Resolved, "{}", store.name);
            let last = detail.events.last().unwrap();
            assert_eq!(last.kind, CaseEventKind::DeviceReconnected);
            assert!(last.duration_secs.unwrap() >= 0);
            // Removed from the user's list: a transition, no new case.
            watch
                .observe(&anna, &[(kind, vec![], true)], true)
                .await
                .unwrap();
            let seen = watch.store().user(anna.id).await.unwrap();
            let kinds: Vec<TransitionKind> = seen.transitions.iter().map(|t| t.kind).collect();
            assert_eq!(
                kinds,
                [
                    TransitionKind::Removed,
                    TransitionKind::Reconnected,
                    TransitionKind::Lost
                ],
                "{}",
                store.name
            );
            assert!(seen.checked_at.is_some());
            assert!(seen.devices[0].removed_at.is_some());
            assert_eq!(cases.list(&q, me).await.unwrap().total, 1);
        }
    }
}
