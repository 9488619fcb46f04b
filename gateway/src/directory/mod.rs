//! The gateway's read model of the organisation's users.
//!
//! Podero's `GET .../users` answers the whole organisation as one bare
//! array, without paging, sorting or search. The [`Directory`] keeps the
//! latest answer as an indexed [`Snapshot`] and serves the app's paged,
//! sorted and filtered views from it (stale-while-revalidate): a background
//! task takes a new snapshot every `interval`, and at once after every write
//! made through the gateway ([`Directory::request_refresh`]); requests keep
//! being answered from the previous snapshot meanwhile, and [`Freshness`]
//! tells the app how old it is. Only the very first request waits, for the
//! first snapshot. The [`scan::Scanner`] adds what the user list lacks:
//! which users have a device whose manufacturer connection is lost.

mod rows;
pub mod scan;
pub mod snapshot;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use shared::directory::Freshness;
use tokio::sync::{watch, Notify};

use crate::error::{GatewayError, Msg};
use crate::podero::Podero;
pub use scan::Scanner;
pub use snapshot::Snapshot;

/// After a failed refresh with no snapshot to serve, try again this soon.
const RETRY_WITHOUT_SNAPSHOT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Default)]
struct View {
    snapshot: Option<Arc<Snapshot>>,
    refreshing: bool,
    last_error: Option<String>,
    build_ms: Option<u64>,
    /// Refreshes asked for so far, and the last one a finished refresh
    /// answered (so a caller can wait for a snapshot taken after its
    /// write).
    requested: u64,
    answered: u64,
}

/// The users read model (one per gateway).
#[derive(Debug)]
pub struct Directory {
    view: watch::Sender<View>,
    wake: Notify,
    interval: Duration,
    scanner: Scanner,
}

impl Directory {
    pub fn new(interval: Duration, scan_concurrency: usize) -> Self {
        Self {
            view: watch::Sender::new(View::default()),
            wake: Notify::new(),
            interval,
            scanner: Scanner::new(scan_concurrency),
        }
    }

    pub fn scanner(&self) -> &Scanner {
        &self.scanner
    }

    /// Take a new snapshot as soon as possible (after a write, or when the
    /// person presses Refresh). Requests made meanwhile coalesce into one.
    pub fn request_refresh(&self) -> u64 {
        let mut ticket = 0;
        self.view.send_modify(|v| {
            v.refreshing = true;
            v.requested += 1;
            ticket = v.requested;
        });
        self.wake.notify_one();
        ticket
    }

    /// Ask for a new snapshot and wait (at most `timeout`) until one taken
    /// after this call is served, so an answer right after a write made
    /// through the gateway shows it. `false` if it did not come in time
    /// (the older snapshot is still served).
    pub async fn refreshed(&self, timeout: Duration) -> bool {
        let ticket = self.request_refresh();
        let mut rx = self.view.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|v| v.answered >= ticket))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// How old the snapshot is and whether a newer one is being taken.
    pub fn freshness(&self) -> Freshness {
        let v = self.view.borrow();
        Freshness {
            loaded_at: v.snapshot.as_ref().map(|s| s.loaded_at),
            build_ms: v.build_ms,
            refreshing: v.refreshing,
            last_error: v.last_error.clone(),
            interval_secs: self.interval.as_secs(),
        }
    }

    /// The snapshot being served, if any (never waits).
    pub fn current(&self) -> Option<Arc<Snapshot>> {
        self.view.borrow().snapshot.clone()
    }

    /// The snapshot to answer from; waits (at most `timeout`) only when
    /// there is none yet, and fails with the refresh error if it cannot be
    /// taken.
    pub async fn snapshot(&self, timeout: Duration) -> Result<Arc<Snapshot>, GatewayError> {
        if let Some(s) = self.view.borrow().snapshot.clone() {
            return Ok(s);
        }
        let mut rx = self.view.subscribe();
        if !rx.borrow().refreshing {
            self.request_refresh();
        }
        let waited = tokio::time::timeout(timeout, async {
            rx.wait_for(|v| v.snapshot.is_some() || (!v.refreshing && v.last_error.is_some()))
                .await
                .map(drop)
        })
        .await;
        let v = self.view.borrow().clone();
        match (v.snapshot, waited) {
            (Some(s), _) => Ok(s),
            (None, Ok(_)) => Err(GatewayError::UsersUnavailable(match v.last_error {
                Some(cause) => Msg::plain(cause),
                None => Msg::new("error.users.no_snapshot"),
            })),
            (None, Err(_)) => Err(GatewayError::UsersUnavailable(
                Msg::new("error.users.still_loading").with("seconds", timeout.as_secs()),
            )),
        }
    }

    /// Take one snapshot now: fetch every user (archived too) and index them.
    async fn refresh_once(&self, podero: &Podero) {
        let mut answers = 0;
        self.view.send_modify(|v| {
            v.refreshing = true;
            answers = v.requested;
        });
        let started = Instant::now();
        let result = podero
            .users_streamed(
                rows::Rows::default(),
                |rows, user: shared::User| rows.push(user),
                |mut rows| {
                    rows.shrink();
                    Snapshot::build(rows, Utc::now())
                },
            )
            .await
            .map_err(|e| e.to_string());
        let build_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(snapshot) => {
                tracing::info!(users = snapshot.len(), build_ms, "users snapshot taken");
                crate::metrics::users_snapshot(
                    snapshot.len(),
                    snapshot.loaded_at,
                    started.elapsed(),
                );
                crate::metrics::job_run(crate::metrics::JOB_USERS_REFRESH, true);
                let mut old = None;
                self.view.send_modify(|v| {
                    v.build_ms = Some(build_ms);
                    v.last_error = None;
                    old = v.snapshot.replace(Arc::new(snapshot));
                });
                // The old snapshot goes when the last request using it ends
                // (milliseconds); then its memory goes back to the system,
                // and only then is the refresh reported finished.
                if let Some(mut old) = old {
                    for _ in 0..500 {
                        match Arc::try_unwrap(old) {
                            Ok(snapshot) => {
                                drop(snapshot);
                                break;
                            }
                            Err(still_used) => old = still_used,
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
                crate::memory::release_free_memory();
                self.view.send_modify(|v| {
                    v.refreshing = v.requested > answers;
                    v.answered = answers;
                });
            }
            Err(e) => {
                tracing::warn!("users snapshot failed: {e}");
                crate::metrics::job_run(crate::metrics::JOB_USERS_REFRESH, false);
                self.view.send_modify(|v| {
                    v.last_error = Some(e);
                    v.refreshing = false;
                    v.answered = answers;
                });
            }
        }
    }

    /// The background task: a snapshot now, then on every interval and
    /// whenever one is requested. Runs until the gateway stops.
    pub async fn run(dir: Arc<Directory>, podero: Podero) {
        let _running = crate::metrics::JobRunning::start(crate::metrics::JOB_USERS_REFRESH);
        loop {
            dir.refresh_once(&podero).await;
            let wait = if dir.view.borrow().snapshot.is_none() {
                RETRY_WITHOUT_SNAPSHOT
            } else {
                dir.interval
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = dir.wake.notified() => {}
            }
        }
    }
}
