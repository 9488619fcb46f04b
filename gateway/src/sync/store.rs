//! Sync runs in the database: the run, every row with the write it needs
//! and its outcome, so a run survives a restart of the gateway and any
//! replica can continue it. A run is stored whole in one transaction when
//! it starts (its rows already planned by the dry run); the job then
//! records its progress in [`SyncStore::step`]s: one transaction holding
//! the outcome of the row written last and the next row marked sent, with
//! their audit records, so a row's write and its audit trail cannot part.

use serde_json::Value;
use shared::staff::FieldChange;
use shared::sync::{RowOutcome, RunState, SyncRun};
use shared::FieldError;
use uuid::Uuid;

use crate::audit::Record;
use crate::database::{begin_write, failed, now_ms, to_time, Db, Sql};
use crate::error::GatewayError;

/// Rows inserted per statement when a run is stored.
const INSERT_BATCH: usize = 200;

/// Who started a run (the author of its writes' audit records).
#[derive(Debug, Clone, Default)]
pub struct Starter {
    pub actor_id: Option<Uuid>,
    pub actor_email: String,
    pub client_addr: Option<String>,
}

/// The kind of write a row needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    Update,
    Archive,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Archive => "archive",
        }
    }

    fn parse(s: &str) -> Option<Op> {
        [Op::Create, Op::Update, Op::Archive]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// A row to store.
#[derive(Debug, Clone)]
pub struct NewRow {
    pub line: u64,
    pub op: Option<Op>,
    pub user_id: Option<Uuid>,
    pub external_user_id: Option<String>,
    pub email: Option<String>,
    /// The JSON body of the write.
    pub body: Option<Value>,
    pub changes: Vec<FieldChange>,
    pub outcome: RowOutcome,
    pub reason: Option<String>,
}

/// A row's outcome to record, with the audit record of its write (none
/// for a row that needed no write). [`RowOutcome::Pending`] leaves the
/// row as it is (Podero was not reached; only the record is written).
#[derive(Debug, Clone)]
pub struct Finished {
    pub seq: i64,
    pub outcome: RowOutcome,
    pub reason: Option<String>,
    /// The user the write created.
    pub user_id: Option<Uuid>,
    pub audit: Option<Record>,
}

/// A row whose write is sent next, with its audit intent.
#[derive(Debug, Clone)]
pub struct Sending {
    pub seq: i64,
    pub intent: Record,
}

/// A stored row.
#[derive(Debug, Clone)]
pub struct StoredRow {
    pub seq: i64,
    pub line: i64,
    pub op: Option<Op>,
    pub user_id: Option<Uuid>,
    pub external_user_id: Option<String>,
    pub email: Option<String>,
    pub body: Option<Value>,
    pub changes: Vec<FieldChange>,
    pub outcome: RowOutcome,
    pub reason: Option<String>,
    pub sent: bool,
}

#[derive(sqlx::FromRow)]
struct RowRecord {
    seq: i64,
    line: i64,
    op: Option<String>,
    user_id: Option<String>,
    external_user_id: Option<String>,
    email: Option<String>,
    body: Option<String>,
    changes: String,
    outcome: String,
    reason: Option<String>,
    sent: i64,
}

impl From<RowRecord> for StoredRow {
    fn from(r: RowRecord) -> Self {
        StoredRow {
            seq: r.seq,
            line: r.line,
            op: r.op.as_deref().and_then(Op::parse),
            user_id: r.user_id.and_then(|u| Uuid::parse_str(&u).ok()),
            external_user_id: r.external_user_id,
            email: r.email,
            body: r.body.and_then(|b| serde_json::from_str(&b).ok()),
            changes: serde_json::from_str(&r.changes).unwrap_or_default(),
            outcome: RowOutcome::parse(&r.outcome).unwrap_or(RowOutcome::Failed),
            reason: r.reason,
            sent: r.sent != 0,
        }
    }
}

const ROW_COLUMNS: &str =
    "seq, line, op, user_id, external_user_id, email, body, changes, outcome, reason, sent";

#[derive(sqlx::FromRow)]
struct RunRecord {
    id: String,
    state: String,
    started_at: i64,
    finished_at: Option<i64>,
    actor_id: Option<String>,
    actor_email: String,
    client_addr: Option<String>,
    writes: i64,
}

const RUN_COLUMNS: &str =
    "id, state, started_at, finished_at, actor_id, actor_email, client_addr, writes";

/// A run as stored, with who started it.
#[derive(Debug, Clone)]
pub struct StoredRun {
    pub id: Uuid,
    pub state: RunState,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub starter: Starter,
    pub writes: i64,
}

impl From<RunRecord> for StoredRun {
    fn from(r: RunRecord) -> Self {
        StoredRun {
            id: Uuid::parse_str(&r.id).unwrap_or_default(),
            state: RunState::parse(&r.state).unwrap_or(RunState::Done),
            started_at: r.started_at,
            finished_at: r.finished_at,
            starter: Starter {
                actor_id: r.actor_id.and_then(|a| Uuid::parse_str(&a).ok()),
                actor_email: r.actor_email,
                client_addr: r.client_addr,
            },
            writes: r.writes,
        }
    }
}

/// The sync tables.
#[derive(Debug, Clone)]
pub struct SyncStore {
    db: Db,
}

fn in_progress() -> GatewayError {
    GatewayError::Conflict(vec![FieldError::keyed("run", "sync.run.in_progress", &[])])
}

impl SyncStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Store a new run and its rows (one transaction). Another run that is
    /// running or paused is a `409 conflict`.
    pub async fn create(
        &self,
        id: Uuid,
        starter: &Starter,
        rows: &[NewRow],
    ) -> Result<(), GatewayError> {
        if self.active().await?.is_some() {
            return Err(in_progress());
        }
        let writes = rows.iter().filter(|r| r.op.is_some()).count() as i64;
        let (state, active, finished) = if writes == 0 {
            (RunState::Done, None, Some(now_ms()))
        } else {
            (RunState::Running, Some(1i64), None)
        };
        let mut tx = self.db.begin().await.map_err(failed)?;
        let inserted = sqlx::query(
            "INSERT INTO sync_runs (id, state, active, started_at, finished_at, actor_id, actor_email, client_addr, writes) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.to_string())
        .bind(state.as_str())
        .bind(active)
        .bind(now_ms())
        .bind(finished)
        .bind(starter.actor_id.map(|a| a.to_string()))
        .bind(starter.actor_email.clone())
        .bind(starter.client_addr.clone())
        .bind(writes)
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            // The unique `active` column: another replica started one.
            return Err(match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => in_progress(),
                _ => failed(e),
            });
        }
        for (n, chunk) in rows.chunks(INSERT_BATCH).enumerate() {
            let mut sql = Sql::new(
                "INSERT INTO sync_rows (run_id, seq, line, op, user_id, external_user_id, email, body, changes, outcome, reason, sent) VALUES ",
            );
            for (i, r) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.push("(")
                    .bind(id.to_string())
                    .push(", ")
                    .bind((n * INSERT_BATCH + i) as i64)
                    .push(", ")
                    .bind(r.line as i64)
                    .push(", ")
                    .bind(r.op.map(|o| o.as_str().to_string()))
                    .push(", ")
                    .bind(r.user_id.map(|u| u.to_string()))
                    .push(", ")
                    .bind(r.external_user_id.clone())
                    .push(", ")
                    .bind(r.email.clone())
                    .push(", ")
                    .bind(r.body.as_ref().map(Value::to_string))
                    .push(", ")
                    .bind(serde_json::to_string(&r.changes).unwrap_or_else(|_| "[]".into()))
                    .push(", ")
                    .bind(r.outcome.as_str())
                    .push(", ")
                    .bind(r.reason.clone())
                    .push(", 0)");
            }
            let (text, args) = sql.build();
            sqlx::query_with(&text, args)
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
        }
        tx.commit().await.map_err(failed)
    }

    /// The run that is running or paused, if any.
    pub async fn active(&self) -> Result<Option<StoredRun>, GatewayError> {
        let r: Option<RunRecord> = sqlx::query_as(&format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs WHERE active = 1"
        ))
        .fetch_optional(&self.db)
        .await
        .map_err(failed)?;
        Ok(r.map(StoredRun::from))
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<StoredRun>, GatewayError> {
        let r: Option<RunRecord> = sqlx::query_as(&format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.db)
        .await
        .map_err(failed)?;
        Ok(r.map(StoredRun::from))
    }

    /// The latest runs, newest first.
    pub async fn latest(&self, limit: i64) -> Result<Vec<StoredRun>, GatewayError> {
        let r: Vec<RunRecord> = sqlx::query_as(&format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs ORDER BY started_at DESC, id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.db)
        .await
        .map_err(failed)?;
        Ok(r.into_iter().map(StoredRun::from).collect())
    }

    /// Pause a running run or resume a paused one; `false` if the run is
    /// not in the state `from`.
    pub async fn set_state(
        &self,
        id: Uuid,
        from: RunState,
        to: RunState,
    ) -> Result<bool, GatewayError> {
        let done = sqlx::query("UPDATE sync_runs SET state = $1 WHERE id = $2 AND state = $3")
            .bind(to.as_str())
            .bind(id.to_string())
            .bind(from.as_str())
            .execute(&self.db)
            .await
            .map_err(failed)?;
        Ok(done.rows_affected() == 1)
    }

    /// Mark a run done.
    pub async fn finish(&self, id: Uuid) -> Result<(), GatewayError> {
        sqlx::query(
            "UPDATE sync_runs SET state = $1, active = NULL, finished_at = $2 WHERE id = $3",
        )
        .bind(RunState::Done.as_str())
        .bind(now_ms())
        .bind(id.to_string())
        .execute(&self.db)
        .await
        .map_err(failed)?;
        Ok(())
    }

    /// The next rows still to write, in file order.
    pub async fn pending(&self, id: Uuid, limit: i64) -> Result<Vec<StoredRow>, GatewayError> {
        let rows: Vec<RowRecord> = sqlx::query_as(&format!(
            "SELECT {ROW_COLUMNS} FROM sync_rows WHERE run_id = $1 AND outcome = $2 ORDER BY seq LIMIT $3"
        ))
        .bind(id.to_string())
        .bind(RowOutcome::Pending.as_str())
        .bind(limit)
        .fetch_all(&self.db)
        .await
        .map_err(failed)?;
        Ok(rows.into_iter().map(StoredRow::from).collect())
    }

    /// Rows of a run from `after_seq` on (the report, in batches).
    pub async fn rows(
        &self,
        id: Uuid,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<StoredRow>, GatewayError> {
        let rows: Vec<RowRecord> = sqlx::query_as(&format!(
            "SELECT {ROW_COLUMNS} FROM sync_rows WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        ))
        .bind(id.to_string())
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.db)
        .await
        .map_err(failed)?;
        Ok(rows.into_iter().map(StoredRow::from).collect())
    }

    /// One step of a run, in one transaction (so on SQLite one `fsync`):
    /// the outcomes of rows written, each with the audit record of its
    /// write, and the next row marked *sent* with its audit intent, whose
    /// id is the answer. All of it is durable, or none.
    pub async fn step(
        &self,
        id: Uuid,
        finished: &[Finished],
        sending: Option<&Sending>,
    ) -> Result<Option<i64>, GatewayError> {
        let records: Vec<Record> = finished
            .iter()
            .filter_map(|f| f.audit.clone())
            .chain(sending.map(|s| s.intent.clone()))
            .collect();
        let mut tx = begin_write(&self.db).await?;
        let ids = crate::audit::log::insert_in(&mut tx, &records)
            .await
            .map_err(failed)?;
        for f in finished.iter().filter(|f| f.outcome != RowOutcome::Pending) {
            sqlx::query(
                "UPDATE sync_rows SET outcome = $1, reason = $2, user_id = COALESCE($3, user_id) \
                 WHERE run_id = $4 AND seq = $5",
            )
            .bind(f.outcome.as_str())
            .bind(f.reason.clone())
            .bind(f.user_id.map(|u| u.to_string()))
            .bind(id.to_string())
            .bind(f.seq)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        }
        if let Some(s) = sending {
            sqlx::query("UPDATE sync_rows SET sent = 1 WHERE run_id = $1 AND seq = $2")
                .bind(id.to_string())
                .bind(s.seq)
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
        }
        tx.commit().await.map_err(failed)?;
        Ok(sending.and_then(|_| ids.last().copied()))
    }

    /// The run with its counts per outcome.
    pub async fn summary(&self, run: &StoredRun, rate: u32) -> Result<SyncRun, GatewayError> {
        let counts: Vec<(String, i64)> = sqlx::query_as(
            "SELECT outcome, COUNT(*) FROM sync_rows WHERE run_id = $1 GROUP BY outcome",
        )
        .bind(run.id.to_string())
        .fetch_all(&self.db)
        .await
        .map_err(failed)?;
        let n = |o: RowOutcome| {
            counts
                .iter()
                .find(|(k, _)| k == o.as_str())
                .map_or(0, |(_, v)| u32::try_from(*v).unwrap_or(u32::MAX))
        };
        let pending = n(RowOutcome::Pending);
        let writes = u32::try_from(run.writes).unwrap_or(u32::MAX);
        Ok(SyncRun {
            id: run.id,
            state: run.state,
            started_at: to_time(run.started_at),
            finished_at: run.finished_at.map(to_time),
            started_by: run.starter.actor_email.clone(),
            writes,
            written: writes.saturating_sub(pending),
            created: n(RowOutcome::Created),
            updated: n(RowOutcome::Updated),
            archived: n(RowOutcome::Archived),
            skipped: n(RowOutcome::Skipped),
            failed: n(RowOutcome::Failed),
            rate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::testing::stores;
    use serde_json::json;

    fn starter() -> Starter {
        Starter {
            actor_id: Some(Uuid::new_v4()),
            actor_email: "admin@example.de".into(),
            client_addr: Some("127.0.0.1".into()),
        }
    }

    fn row(line: u64, op: Option<Op>, user_id: Option<Uuid>) -> NewRow {
        NewRow {
            line,
            op,
            user_id,
            external_user_id: Some(format!("K-{line}")),
            email: Some(format!("k{line}@example.de")),
            body: op
                .map(|_| json!({"email": format!("k{line}@example.de"), "last_name": "Müller"})),
            changes: vec![FieldChange {
                field: "last_name".into(),
                from: json!("Muller"),
                to: json!("Müller"),
            }],
            outcome: if op.is_some() {
                RowOutcome::Pending
            } else {
                RowOutcome::Skipped
            },
            reason: op.is_none().then(|| "sync.run.unchanged".to_string()),
        }
    }

    /// Line 2 a create, line 3 unchanged, line 4 an update.
    fn three(updated: Uuid) -> Vec<NewRow> {
        vec![
            row(2, Some(Op::Create), None),
            row(3, None, Some(Uuid::new_v4())),
            row(4, Some(Op::Update), Some(updated)),
        ]
    }

    fn audit_record(id: Uuid, status: u16, outcome_of: Option<i64>) -> Record {
        Record {
            at: now_ms(),
            actor_email: Some("admin@example.de".into()),
            method: "POST".into(),
            route: crate::sync::apply::run_route(id),
            action: "user.create".into(),
            status,
            is_change: true,
            count: 1,
            outcome_of,
            ..Default::default()
        }
    }

    /// `(id, status, outcome_of)` of a run's audit records, in order.
    async fn run_audit(db: &Db, id: Uuid) -> Vec<(i64, i64, Option<i64>)> {
        sqlx::query_as("SELECT id, status, outcome_of FROM audit WHERE route = $1 ORDER BY id")
            .bind(crate::sync::apply::run_route(id))
            .fetch_all(db)
            .await
            .unwrap()
    }

    /// A run is stored whole; a run without writes is done at once; one
    /// run is active at a time, running or paused.
    #[tokio::test]
    async fn a_run_is_stored_whole_and_one_is_active_at_a_time() {
        for store in stores().await {
            let s = SyncStore::new(store.db.clone());
            let name = store.name;
            let nothing = Uuid::new_v4();
            s.create(nothing, &starter(), &[row(2, None, None)])
                .await
                .unwrap();
            let done = s.get(nothing).await.unwrap().expect("stored");
            assert_eq!((done.state, done.writes), (RunState::Done, 0), "{name}");
            assert!(done.finished_at.is_some(), "{name}");
            assert!(s.active().await.unwrap().is_none(), "{name}");

            let id = Uuid::new_v4();
            let updated = Uuid::new_v4();
            let who = starter();
            s.create(id, &who, &three(updated)).await.unwrap();
            let run = s.active().await.unwrap().expect("active");
            assert_eq!((run.id, run.state, run.writes), (id, RunState::Running, 2));
            assert_eq!(run.starter.actor_id, who.actor_id, "{name}");
            assert_eq!(run.starter.actor_email, who.actor_email);
            assert_eq!(run.starter.client_addr, who.client_addr);
            let second = s.create(Uuid::new_v4(), &who, &three(updated)).await;
            assert!(
                matches!(second, Err(GatewayError::Conflict(_))),
                "{name}: {second:?}"
            );
            let latest = s.latest(10).await.unwrap();
            assert_eq!(latest.len(), 2, "{name}");

            // The rows as planned, in file order; only the writes pending.
            let pending = s.pending(id, 10).await.unwrap();
            let lines: Vec<(i64, Option<Op>, bool)> =
                pending.iter().map(|r| (r.line, r.op, r.sent)).collect();
            assert_eq!(
                lines,
                vec![(2, Some(Op::Create), false), (4, Some(Op::Update), false)],
                "{name}"
            );
            assert_eq!(pending[1].user_id, Some(updated));
            assert_eq!(pending[1].body.as_ref().unwrap()["last_name"], "Müller");
            assert_eq!(pending[1].changes[0].to, json!("Müller"), "{name}");
            let all = s.rows(id, -1, 10).await.unwrap();
            assert_eq!(all.len(), 3, "{name}");
            assert_eq!(all[1].outcome, RowOutcome::Skipped);
            assert_eq!(all[1].reason.as_deref(), Some("sync.run.unchanged"));
            assert_eq!(s.rows(id, all[1].seq, 10).await.unwrap().len(), 1);

            // Paused is still active (no other run may start); a state
            // change from the wrong state does nothing.
            assert!(s
                .set_state(id, RunState::Running, RunState::Paused)
                .await
                .unwrap());
            assert!(!s
                .set_state(id, RunState::Running, RunState::Paused)
                .await
                .unwrap());
            let paused = s.active().await.unwrap().expect("still active");
            assert_eq!(paused.state, RunState::Paused, "{name}");
            assert!(s
                .create(Uuid::new_v4(), &who, &three(updated))
                .await
                .is_err());
            assert!(s
                .set_state(id, RunState::Paused, RunState::Running)
                .await
                .unwrap());
            let summary = s.summary(&paused, 50).await.unwrap();
            assert_eq!(
                (
                    summary.writes,
                    summary.written,
                    summary.skipped,
                    summary.rate
                ),
                (2, 0, 1, 50),
                "{name}"
            );
        }
    }

    /// Each step is one transaction: the outcome of the row written with
    /// its audit record (tied to its intent), the next row marked sent
    /// with its intent. Another replica (a restart) sees exactly what was
    /// committed: sent rows without an outcome still pending.
    #[tokio::test]
    async fn steps_record_outcomes_and_intents_together() {
        for store in stores().await {
            let s = SyncStore::new(store.db.clone());
            let name = store.name;
            let id = Uuid::new_v4();
            let updated = Uuid::new_v4();
            s.create(id, &starter(), &three(updated)).await.unwrap();
            let rows = s.pending(id, 10).await.unwrap();
            let (create, update) = (&rows[0], &rows[1]);

            let first = s
                .step(
                    id,
                    &[],
                    Some(&Sending {
                        seq: create.seq,
                        intent: audit_record(id, 0, None),
                    }),
                )
                .await
                .unwrap()
                .expect("the intent's id");
            // A restart here: the row is pending and marked sent.
            let other = SyncStore::new(store.db.clone());
            let after = other.pending(id, 10).await.unwrap();
            assert_eq!(
                after.iter().map(|r| r.sent).collect::<Vec<_>>(),
                vec![true, false],
                "{name}"
            );

            let made = Uuid::new_v4();
            let second = s
                .step(
                    id,
                    &[Finished {
                        seq: create.seq,
                        outcome: RowOutcome::Created,
                        reason: None,
                        user_id: Some(made),
                        audit: Some(audit_record(id, 200, Some(first))),
                    }],
                    Some(&Sending {
                        seq: update.seq,
                        intent: audit_record(id, 0, None),
                    }),
                )
                .await
                .unwrap()
                .expect("the intent's id");
            assert!(second > first, "{name}");
            let after = other.pending(id, 10).await.unwrap();
            assert_eq!(
                after.iter().map(|r| (r.seq, r.sent)).collect::<Vec<_>>(),
                vec![(update.seq, true)],
                "{name}"
            );
            let report = s.rows(id, -1, 10).await.unwrap();
            assert_eq!(
                (report[0].outcome, report[0].user_id),
                (RowOutcome::Created, Some(made)),
                "{name}"
            );

            // Podero not reached: only the record; the row stays pending.
            let none = s
                .step(
                    id,
                    &[Finished {
                        seq: update.seq,
                        outcome: RowOutcome::Pending,
                        reason: None,
                        user_id: None,
                        audit: Some(audit_record(id, 502, Some(second))),
                    }],
                    None,
                )
                .await
                .unwrap();
            assert_eq!(none, None, "{name}");
            assert_eq!(other.pending(id, 10).await.unwrap().len(), 1, "{name}");
            s.step(
                id,
                &[Finished {
                    seq: update.seq,
                    outcome: RowOutcome::Updated,
                    reason: None,
                    user_id: None,
                    audit: Some(audit_record(id, 200, Some(second))),
                }],
                None,
            )
            .await
            .unwrap();
            assert!(other.pending(id, 10).await.unwrap().is_empty(), "{name}");
            let report = s.rows(id, -1, 10).await.unwrap();
            assert_eq!(
                (report[2].outcome, report[2].user_id),
                (RowOutcome::Updated, Some(updated)),
                "{name}: an update keeps its user"
            );

            // Every write's records, each outcome tied to its intent.
            let audit = run_audit(&store.db, id).await;
            let statuses: Vec<(i64, Option<i64>)> =
                audit.iter().map(|(_, st, of)| (*st, *of)).collect();
            assert_eq!(
                statuses,
                vec![
                    (0, None),
                    (200, Some(first)),
                    (0, None),
                    (502, Some(second)),
                    (200, Some(second)),
                ],
                "{name}"
            );
            assert_eq!((audit[0].0, audit[2].0), (first, second), "{name}");

            let run = s.get(id).await.unwrap().unwrap();
            let summary = s.summary(&run, 5).await.unwrap();
            assert_eq!(
                (
                    summary.written,
                    summary.created,
                    summary.updated,
                    summary.skipped
                ),
                (2, 1, 1, 1),
                "{name}"
            );
            s.finish(id).await.unwrap();
            let run = s.get(id).await.unwrap().unwrap();
            assert_eq!(run.state, RunState::Done, "{name}");
            assert!(run.finished_at.is_some());
            assert!(s.active().await.unwrap().is_none(), "{name}");
            s.create(Uuid::new_v4(), &starter(), &three(updated))
                .await
                .expect("the next run may start");
        }
    }

    /// Replicas starting runs at once: exactly one is stored.
    #[tokio::test]
    async fn a_race_to_start_has_one_winner() {
        for store in stores().await {
            let tries: Vec<_> = (0..8)
                .map(|_| {
                    let s = SyncStore::new(store.db.clone());
                    tokio::spawn(async move {
                        s.create(Uuid::new_v4(), &starter(), &three(Uuid::new_v4()))
                            .await
                    })
                })
                .collect();
            let mut won = 0;
            for t in tries {
                match t.await.unwrap() {
                    Ok(()) => won += 1,
                    Err(GatewayError::Conflict(_)) => {}
                    Err(e) => panic!("{}: {e:?}", store.name),
                }
            }
            assert_eq!(won, 1, "{}", store.name);
            let runs = SyncStore::new(store.db.clone()).latest(10).await.unwrap();
            assert_eq!(runs.len(), 1, "{}: the losers left nothing", store.name);
        }
    }
}
