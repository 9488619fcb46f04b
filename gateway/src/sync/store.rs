//! Sync runs in the database: the run, every row with the write it needs
//! and its outcome, so a run survives a restart of the gateway and any
//! replica can continue it. A run is stored whole in one transaction when
//! it starts (its rows already planned by the dry run); the job then only
//! marks rows sent and finished, one at a time.

use serde_json::Value;
use shared::staff::FieldChange;
use shared::sync::{RowOutcome, RunState, SyncRun};
use shared::FieldError;
use uuid::Uuid;

use crate::database::{failed, now_ms, to_time, Db, Sql};
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

    /// The write of a row may reach Podero from now on.
    pub async fn mark_sent(&self, id: Uuid, seq: i64) -> Result<(), GatewayError> {
        sqlx::query("UPDATE sync_rows SET sent = 1 WHERE run_id = $1 AND seq = $2")
            .bind(id.to_string())
            .bind(seq)
            .execute(&self.db)
            .await
            .map_err(failed)?;
        Ok(())
    }

    /// A row's outcome (and the user it created).
    pub async fn finish_row(
        &self,
        id: Uuid,
        seq: i64,
        outcome: RowOutcome,
        reason: Option<String>,
        user_id: Option<Uuid>,
    ) -> Result<(), GatewayError> {
        sqlx::query(
            "UPDATE sync_rows SET outcome = $1, reason = $2, user_id = COALESCE($3, user_id) \
             WHERE run_id = $4 AND seq = $5",
        )
        .bind(outcome.as_str())
        .bind(reason)
        .bind(user_id.map(|u| u.to_string()))
        .bind(id.to_string())
        .bind(seq)
        .execute(&self.db)
        .await
        .map_err(failed)?;
        Ok(())
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
