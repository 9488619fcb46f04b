//! The sync job: works through the active run's pending rows, once per
//! cluster (the lease [`JOB`]), at most [`Pace`] writes per second
//! (`GATEWAY_SYNC_RPS`), through the organisation-bound Podero client.
//!
//! Per row: the audit intent (the run's starter as actor, the route
//! `/api/sync/runs/{id}`, the row's line in the detail) and the row marked
//! *sent*, the write, its outcome in the audit trail and in the row. The
//! outcomes of rows answered and the intent of the next row are one
//! transaction, made while the job waits for that row's slot in the
//! budget, and the write of the row before runs meanwhile: a row costs one
//! durable write, and neither it nor Podero's answer slows the pace while
//! each takes less than a slot. A row whose outcome is stored is never
//! written again; a row marked sent without an outcome (the gateway
//! stopped in between: at most the last two rows) is sent again, which is
//! harmless: an update sets the same values, an archive of an archived
//! user is a 404 taken as done, and a create that Podero refuses as a
//! duplicate (409) was made before the restart (or, rarely, by someone
//! else meanwhile: the next dry run shows it). The run's state is read
//! every 200 ms, so a pause takes effect within that; when the lease is
//! lost the job stops and the next holder continues. At the end the users
//! read model is refreshed (so the next dry run sees the writes) and the
//! run is marked done.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::Value;
use shared::sync::{RowOutcome, RunState};
use tokio::time::Instant;
use uuid::Uuid;

use super::store::{Finished, Op, Sending, StoredRow, StoredRun, SyncStore};
use crate::audit::Record;
use crate::database::now_ms;
use crate::directory::Directory;
use crate::error::GatewayError;
use crate::jobs::lease::Lease;
use crate::podero::{ApiRoute, Podero};

/// The job's lease name.
pub const JOB: &str = "sync";
/// How often the job looks for a run to work on (a run just started, or
/// resumed, waits at most this long for its first write; the look is one
/// read of an indexed column).
pub const EVERY: Duration = Duration::from_millis(250);
/// Rows read from the database at a time.
const BATCH: i64 = 100;
/// How often the run's state (paused?) is read while rows are written.
const CHECK_EVERY: Duration = Duration::from_millis(200);

/// What the job needs.
#[derive(Debug, Clone)]
pub struct SyncJob {
    pub store: SyncStore,
    pub podero: Podero,
    pub directory: Arc<Directory>,
    /// Writes per second.
    pub rps: u32,
}

/// The request budget: one write per `1 / rps` seconds.
struct Pace(tokio::time::Interval);

impl Pace {
    fn new(rps: u32) -> Self {
        let mut i = tokio::time::interval(Duration::from_secs(1) / rps.max(1));
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Pace(i)
    }

    async fn next(&mut self) {
        self.0.tick().await;
    }
}

/// The run's audit route.
pub fn run_route(id: Uuid) -> String {
    format!("/api/sync/runs/{id}")
}

/// How a row is written: its method, Podero route and kind; `None` for a
/// row that cannot be (an update or archive without a user).
fn request(row: &StoredRow) -> Option<(Method, ApiRoute, Op)> {
    match (row.op?, row.user_id) {
        (Op::Create, _) => Some((Method::POST, ApiRoute::Users, Op::Create)),
        (Op::Update, Some(u)) => Some((Method::PUT, ApiRoute::User(u), Op::Update)),
        (Op::Archive, Some(u)) => Some((Method::DELETE, ApiRoute::User(u), Op::Archive)),
        (_, None) => None,
    }
}

/// A row whose intent is recorded (the row marked sent), to be written.
struct Ready {
    row: StoredRow,
    op: Op,
    method: Method,
    route: ApiRoute,
    base: Record,
    /// The intent's audit id.
    intent: i64,
}

/// Why a turn over a batch of rows ended early.
enum Stop {
    /// Paused, done elsewhere, or the lease lost: end the turn.
    Quiet,
    Failed(GatewayError),
}

impl From<GatewayError> for Stop {
    fn from(e: GatewayError) -> Self {
        Stop::Failed(e)
    }
}

/// Keep a write's outcome in `done`; a failure to reach Podero (its
/// record kept too) ends the turn.
fn keep(
    done: &mut Vec<Finished>,
    answered: Result<Finished, (Finished, GatewayError)>,
) -> Result<(), Stop> {
    match answered {
        Ok(f) => {
            done.push(f);
            Ok(())
        }
        Err((f, e)) => {
            done.push(f);
            Err(Stop::Failed(e))
        }
    }
}

impl SyncJob {
    /// One turn of the job: work on the active run while it runs and the
    /// lease is held.
    pub async fn work(&self, lease: Lease) -> Result<(), GatewayError> {
        let mut pace = Pace::new(self.rps);
        // The run's state was read just now (below); again every
        // CHECK_EVERY.
        let mut checked = Instant::now();
        loop {
            let Some(run) = self.store.active().await? else {
                return Ok(());
            };
            if run.state != RunState::Running {
                return Ok(());
            }
            let rows = self.store.pending(run.id, BATCH).await?;
            if rows.is_empty() {
                if !self
                    .directory
                    .refreshed(self.podero.request_timeout())
                    .await
                {
                    tracing::warn!("the users snapshot did not refresh in time after a sync run");
                }
                self.store.finish(run.id).await?;
                tracing::info!(run = %run.id, "sync run done");
                continue;
            }
            // Outcomes not recorded yet: recorded with the next row's
            // intent, and whatever ends the batch, here.
            let mut done = Vec::new();
            let result = self
                .write_rows(&lease, &mut pace, &mut checked, &run, rows, &mut done)
                .await;
            let recorded = if done.is_empty() {
                Ok(None)
            } else {
                self.store.step(run.id, &done, None).await
            };
            match result {
                Ok(()) => {
                    recorded?;
                }
                Err(Stop::Quiet) => return recorded.map(drop),
                Err(Stop::Failed(e)) => {
                    if let Err(r) = recorded {
                        tracing::error!(run = %run.id, "sync row outcomes not recorded: {r}");
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Write `rows` in order, one per slot of the budget. While the job
    /// waits for a row's slot, two things run: the write of the row
    /// before (its slot has come) and one transaction recording the
    /// outcomes of the rows answered so far and marking this row sent with
    /// its audit intent. Neither the database nor Podero adds its time to
    /// the pace as long as each takes less than a slot; one write is in
    /// flight at a time. Outcomes not recorded yet are left in `done` for
    /// the caller to record when the batch ends. A failure to reach Podero
    /// leaves the row pending (sent) and ends the turn.
    async fn write_rows(
        &self,
        lease: &Lease,
        pace: &mut Pace,
        checked: &mut Instant,
        run: &StoredRun,
        rows: Vec<StoredRow>,
        done: &mut Vec<Finished>,
    ) -> Result<(), Stop> {
        // The row whose intent is recorded and whose slot has come.
        let mut ready: Option<Ready> = None;
        for row in rows {
            if !lease.is_held() {
                return Err(Stop::Quiet);
            }
            let Some((method, route, op)) = request(&row) else {
                let outcome = if row.op.is_none() {
                    RowOutcome::Skipped
                } else {
                    RowOutcome::Failed
                };
                done.push(Finished {
                    seq: row.seq,
                    outcome,
                    reason: None,
                    user_id: None,
                    audit: None,
                });
                continue;
            };
            let base = self.record(run, &row, &method, &route);
            let sending = Sending {
                seq: row.seq,
                intent: base.clone(),
            };
            let check = checked.elapsed() >= CHECK_EVERY;
            if check {
                *checked = Instant::now();
            }
            let previous = ready.take();
            let recorded = done.len();
            let (_, stepped, answered) = tokio::join!(
                pace.next(),
                async {
                    if check {
                        let still = self.store.get(run.id).await?;
                        if still.map(|r| r.state) != Some(RunState::Running) {
                            return Ok(None);
                        }
                    }
                    self.store.step(run.id, done, Some(&sending)).await
                },
                async {
                    match previous {
                        Some(r) => Some(self.send(run, r).await),
                        None => None,
                    }
                }
            );
            if matches!(stepped, Ok(Some(_))) {
                done.drain(..recorded);
            }
            if let Some(answered) = answered {
                keep(done, answered)?;
            }
            let Some(intent) = stepped? else {
                return Err(Stop::Quiet);
            };
            ready = Some(Ready {
                row,
                op,
                method,
                route,
                base,
                intent,
            });
        }
        // The last row's slot has come too.
        match ready {
            Some(r) => keep(done, self.send(run, r).await),
            None => Ok(()),
        }
    }

    /// Send a row's write; its outcome to record, or (with the record to
    /// keep) the error when Podero was not reached.
    async fn send(&self, run: &StoredRun, r: Ready) -> Result<Finished, (Finished, GatewayError)> {
        let (row, op, intent) = (&r.row, r.op, r.intent);
        let sent = self
            .podero
            .send(r.method.clone(), &r.route, row.body.as_ref())
            .await;
        let (outcome, reason, status, user_id) = match sent {
            Ok(answer) => {
                let created = answer
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|s| Uuid::parse_str(s).ok());
                let outcome = match op {
                    Op::Create => RowOutcome::Created,
                    Op::Update => RowOutcome::Updated,
                    Op::Archive => RowOutcome::Archived,
                };
                (outcome, None, 200, created.filter(|_| op == Op::Create))
            }
            Err(GatewayError::Podero { status, .. })
                if row.sent && op == Op::Create && status == StatusCode::CONFLICT =>
            {
                (
                    RowOutcome::Created,
                    Some("sync.run.created_before_restart".to_string()),
                    status.as_u16(),
                    None,
                )
            }
            Err(GatewayError::Podero { status, .. })
                if op == Op::Archive && status == StatusCode::NOT_FOUND =>
            {
                (
                    RowOutcome::Archived,
                    Some("sync.run.archived_before".to_string()),
                    status.as_u16(),
                    None,
                )
            }
            Err(e @ GatewayError::Podero { .. }) => {
                let status = e.status().as_u16();
                (RowOutcome::Failed, Some(e.to_string()), status, None)
            }
            Err(e) => {
                // Podero not reached (or its answer unreadable): the row
                // stays pending and is sent again at the next turn.
                let mut record = r.base;
                record.at = now_ms();
                record.status = e.status().as_u16();
                record.detail = Some(format!("sync {} line {}: {e}", run.id, row.line));
                record.outcome_of = Some(intent);
                let kept = Finished {
                    seq: row.seq,
                    outcome: RowOutcome::Pending,
                    reason: None,
                    user_id: None,
                    audit: Some(record),
                };
                return Err((kept, e));
            }
        };
        let mut record = r.base;
        record.at = now_ms();
        record.status = status;
        record.outcome_of = Some(intent);
        record.target_user_id = record.target_user_id.or(user_id);
        if let Some(r) = &reason {
            record.detail = Some(format!("sync {} line {}: {r}", run.id, row.line));
        }
        Ok(Finished {
            seq: row.seq,
            outcome,
            reason,
            user_id,
            audit: Some(record),
        })
    }

    /// The audit intent of a row's write: the run's starter as actor, the
    /// run's route, the row's line in the detail.
    fn record(
        &self,
        run: &StoredRun,
        row: &StoredRow,
        method: &Method,
        route: &ApiRoute,
    ) -> Record {
        let starter = &run.starter;
        Record {
            at: now_ms(),
            actor_id: starter.actor_id,
            actor_email: Some(starter.actor_email.clone()),
            client_addr: starter.client_addr.clone(),
            method: method.to_string(),
            route: run_route(run.id),
            action: route.action(method).code().to_string(),
            target_user_id: row.user_id,
            status: 0,
            is_change: true,
            changes: row.changes.clone(),
            detail: Some(format!("sync {} line {}", run.id, row.line)),
            count: 1,
            outcome_of: None,
        }
    }
}
