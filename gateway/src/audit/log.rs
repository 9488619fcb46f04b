//! The audit table: append a record, read pages of it, export it as CSV
//! (streamed), and one end-user's change history. Nothing here updates or
//! deletes.
//!
//! Appends are group-committed: one writer task per process
//! ([`crate::batch::Batcher`]) takes every record queued meanwhile and
//! inserts them in one transaction, so many requests share one commit
//! (one `fsync`) instead of taking turns for one each; each caller is
//! answered after that commit, so a record is on disk before the answer
//! it belongs to, as before. On SQLite the writer commits on a connection
//! of its own ([`crate::database::audit_writer`]), so the pages it
//! appends to stay in that connection's cache between batches. If a batch
//! fails, its records are tried one by one, so one bad record cannot take
//! others down with it. A caller
//! whose records must commit together with its own write inserts them in
//! its transaction instead ([`insert_in`]).
//!
//! Lists show one entry per operation: an intent whose outcome
//! was recorded is shown through its outcome; an intent without one is
//! shown with status 0 ("outcome not recorded").

use std::sync::Arc;

use axum::body::Bytes;
use futures::Stream;
use shared::staff::{AuditEntry, AuditPage, AuditQuery, FieldChange};
use shared::{tr, Lang};
use uuid::Uuid;

use super::refusals::Refusals;
use crate::batch::{Batcher, Gone, Work};
use crate::csv::CsvWriter;
use crate::database::{failed, to_time, Db, Sql};
use crate::error::GatewayError;
use sqlx::any::AnyArguments;
use sqlx::Arguments;

/// One record to append.
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub at: i64,
    pub actor_id: Option<Uuid>,
    pub actor_email: Option<String>,
    pub client_addr: Option<String>,
    pub method: String,
    pub route: String,
    pub action: String,
    pub target_user_id: Option<Uuid>,
    /// HTTP status; 0 for an intent.
    pub status: u16,
    pub is_change: bool,
    pub changes: Vec<FieldChange>,
    pub detail: Option<String>,
    /// Requests this record stands for (folded refusals).
    pub count: u32,
    /// The intent record this is the outcome of.
    pub outcome_of: Option<i64>,
}

/// Longest stored e-mail (RFC 5321's limit), route, detail and changed
/// value; longer ones are cut with `…`.
const MAX_EMAIL: usize = 254;
const MAX_ROUTE: usize = 300;
const MAX_DETAIL: usize = 500;
const MAX_VALUE: usize = 2_000;
const MAX_CHANGES: usize = 64;

fn cap(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// The changes as stored: at most [`MAX_CHANGES`] fields, each value's
/// JSON at most [`MAX_VALUE`] characters (a longer one is stored cut, as a
/// string).
fn capped_changes(changes: &[FieldChange]) -> String {
    let value = |v: &serde_json::Value| {
        let text = v.to_string();
        if text.chars().count() <= MAX_VALUE {
            v.clone()
        } else {
            serde_json::Value::String(cap(&text, MAX_VALUE))
        }
    };
    let capped: Vec<FieldChange> = changes
        .iter()
        .take(MAX_CHANGES)
        .map(|c| FieldChange {
            field: cap(&c.field, 100),
            from: value(&c.from),
            to: value(&c.to),
        })
        .collect();
    serde_json::to_string(&capped).unwrap_or_else(|_| "[]".into())
}

/// Columns of [`EntryRow`].
const COLUMNS: &str = "id, at, actor_id, actor_email, client_addr, method, route, action, target_user_id, status, changes, detail, count";

/// Shown entries: not an intent whose outcome was recorded.
const SHOWN: &str = "NOT EXISTS (SELECT 1 FROM audit o WHERE o.outcome_of = audit.id)";

/// Actions of records about end-users (the per-user history shows only
/// these; team records stay on the admins' audit page).
const END_USER_ACTIONS: [&str; 4] = ["user.%", "device.%", "building.%", "case.%"];

#[derive(Debug, sqlx::FromRow)]
struct EntryRow {
    id: i64,
    at: i64,
    actor_id: Option<String>,
    actor_email: Option<String>,
    client_addr: Option<String>,
    method: String,
    route: String,
    action: String,
    target_user_id: Option<String>,
    status: i64,
    changes: String,
    detail: Option<String>,
    count: i64,
}

impl From<EntryRow> for AuditEntry {
    fn from(r: EntryRow) -> Self {
        let uuid = |s: Option<String>| s.and_then(|s| Uuid::parse_str(&s).ok());
        AuditEntry {
            id: r.id,
            at: to_time(r.at),
            actor_id: uuid(r.actor_id),
            actor_email: r.actor_email,
            client_addr: r.client_addr,
            method: r.method,
            route: r.route,
            action: r.action,
            target_user_id: uuid(r.target_user_id),
            status: r.status.try_into().unwrap_or(0),
            changes: serde_json::from_str(&r.changes).unwrap_or_default(),
            detail: r.detail,
            count: r.count.try_into().unwrap_or(1),
        }
    }
}

/// Columns an append writes, in the order of [`bind_record`].
const INSERT_COLUMNS: &str = "at, actor_id, actor_email, client_addr, method, route, action, target_user_id, status, is_change, changes, detail, count, outcome_of";
const INSERT_VALUES: usize = 14;

/// Rows of one `INSERT` statement: a batch is cut into these sizes
/// (largest first), so only this many statement texts are ever prepared.
const ROWS_PER_INSERT: [usize; 8] = [128, 64, 32, 16, 8, 4, 2, 1];

/// `INSERT INTO audit (…) VALUES (…), (…) RETURNING id` for `rows` rows.
fn insert_sql(rows: usize) -> &'static str {
    static TEXTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let texts = TEXTS.get_or_init(|| {
        ROWS_PER_INSERT
            .iter()
            .map(|&n| {
                let mut sql = format!("INSERT INTO audit ({INSERT_COLUMNS}) VALUES ");
                for row in 0..n {
                    sql.push_str(if row == 0 { "(" } else { ", (" });
                    for v in 0..INSERT_VALUES {
                        if v > 0 {
                            sql.push_str(", ");
                        }
                        sql.push_str(&format!("${}", row * INSERT_VALUES + v + 1));
                    }
                    sql.push(')');
                }
                sql.push_str(" RETURNING id");
                sql
            })
            .collect()
    });
    let i = ROWS_PER_INSERT
        .iter()
        .position(|&n| n == rows)
        .expect("a size of ROWS_PER_INSERT");
    &texts[i]
}

/// Add one record's values (strings capped) to `args`.
fn bind_record(args: &mut AnyArguments<'static>, r: &Record) -> Result<(), sqlx::Error> {
    let add = |result: Result<(), sqlx::error::BoxDynError>| result.map_err(sqlx::Error::Encode);
    add(args.add(r.at))?;
    add(args.add(r.actor_id.map(|u| u.to_string())))?;
    add(args.add(r.actor_email.as_deref().map(|e| cap(e, MAX_EMAIL))))?;
    add(args.add(r.client_addr.as_deref().map(|a| cap(a, 64))))?;
    add(args.add(cap(&r.method, 16)))?;
    add(args.add(cap(&r.route, MAX_ROUTE)))?;
    add(args.add(r.action.clone()))?;
    add(args.add(r.target_user_id.map(|u| u.to_string())))?;
    add(args.add(i64::from(r.status)))?;
    add(args.add(i64::from(r.is_change)))?;
    add(args.add(capped_changes(&r.changes)))?;
    add(args.add(r.detail.as_deref().map(|d| cap(d, MAX_DETAIL))))?;
    add(args.add(i64::from(r.count.max(1))))?;
    add(args.add(r.outcome_of))
}

/// Insert `records` (a size of [`ROWS_PER_INSERT`]) with one statement,
/// in `conn`'s transaction or on its own; their ids, in order. Both
/// databases number the rows of one `INSERT` in the order of its
/// `VALUES`, so the ids sorted are the records' ids in order.
async fn insert<'c, E>(conn: E, records: &[Record]) -> Result<Vec<i64>, sqlx::Error>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let mut args = AnyArguments::default();
    for r in records {
        bind_record(&mut args, r)?;
    }
    let mut ids: Vec<i64> = sqlx::query_scalar_with(insert_sql(records.len()), args)
        .fetch_all(conn)
        .await?;
    if ids.len() != records.len() {
        return Err(sqlx::Error::Protocol(format!(
            "{} audit records inserted, {} ids returned",
            records.len(),
            ids.len()
        )));
    }
    ids.sort_unstable();
    Ok(ids)
}

/// `records` cut into [`ROWS_PER_INSERT`]'s sizes, largest first.
fn chunks(records: &[Record]) -> Vec<&[Record]> {
    let mut chunks = Vec::new();
    let mut rest = records;
    while !rest.is_empty() {
        let n = ROWS_PER_INSERT
            .iter()
            .copied()
            .find(|&n| n <= rest.len())
            .unwrap_or(1);
        let (chunk, tail) = rest.split_at(n);
        chunks.push(chunk);
        rest = tail;
    }
    chunks
}

/// Insert `records` (strings capped) in the transaction `tx`, for records
/// that must be durable together with another write of the caller's (a
/// sync row marked sent with its intent, say); their ids, in order. They
/// are on disk when the caller commits `tx`.
pub async fn insert_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    records: &[Record],
) -> Result<Vec<i64>, sqlx::Error> {
    let mut ids = Vec::with_capacity(records.len());
    for chunk in chunks(records) {
        ids.extend(insert(&mut **tx, chunk).await?);
    }
    Ok(ids)
}

/// The writer's work: every record of a batch committed together (one
/// statement, or a few of [`ROWS_PER_INSERT`]'s sizes in one
/// transaction), their ids once committed. If that fails, each record on
/// its own (a failing one is answered with its error, the others are
/// written).
async fn write_batch(pool: &Db, records: Vec<Record>) -> Vec<Result<i64, String>> {
    async fn together(pool: &Db, records: &[Record]) -> Result<Vec<i64>, sqlx::Error> {
        if let [only] = chunks(records)[..] {
            return insert(pool, only).await;
        }
        let mut tx = pool.begin().await?;
        let ids = insert_in(&mut tx, records).await?;
        tx.commit().await?;
        Ok(ids)
    }
    match together(pool, &records).await {
        Ok(ids) => ids.into_iter().map(Ok).collect(),
        Err(e) if records.len() == 1 => vec![Err(e.to_string())],
        Err(e) => {
            tracing::warn!(
                "an audit batch of {} records failed ({e}); writing them one by one",
                records.len()
            );
            let mut out = Vec::with_capacity(records.len());
            for r in &records {
                let one = insert(pool, std::slice::from_ref(r)).await;
                out.push(one.map(|ids| ids[0]).map_err(|e| e.to_string()));
            }
            out
        }
    }
}

/// One entry as a CSV row (`lang`: of the "outcome not recorded" note).
fn csv_row(w: &mut CsvWriter, e: AuditEntry, lang: Lang) {
    w.row([
        e.id.to_string(),
        e.at.to_rfc3339(),
        e.actor_email.unwrap_or_default(),
        e.client_addr.unwrap_or_default(),
        e.method,
        e.route,
        e.action,
        e.target_user_id.map(|u| u.to_string()).unwrap_or_default(),
        if e.status == 0 {
            tr(lang, "csv.audit.outcome_not_recorded", &[])
        } else {
            e.status.to_string()
        },
        e.count.to_string(),
        if e.changes.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&e.changes).unwrap_or_default()
        },
        e.detail.unwrap_or_default(),
    ]);
}

/// Columns of the CSV export, in order: the English header and the names
/// of the catalog keys `csv.audit.*`.
const CSV_HEADER: [&str; 12] = [
    "id",
    "at",
    "actor_email",
    "client_addr",
    "method",
    "route",
    "action",
    "target_user_id",
    "status",
    "count",
    "changes",
    "detail",
];

/// Rows one read of the CSV export takes.
const CSV_BATCH: i64 = 1_000;

/// Most entries in one user's history.
pub const HISTORY_LIMIT: i64 = 200;

/// `WHERE …` of a query, pushed onto `b`.
fn push_filter(b: &mut Sql, q: &AuditQuery) {
    b.push(" WHERE ").push(SHOWN);
    if let Some(actor) = &q.actor {
        b.push(" AND actor_email = ").bind(actor.clone());
    }
    if let Some(user) = q.user {
        b.push(" AND target_user_id = ").bind(user.to_string());
    }
    if let Some(action) = &q.action {
        if action.contains('.') {
            b.push(" AND action = ").bind(action.clone());
        } else {
            b.push(" AND (action = ")
                .bind(action.clone())
                .push(" OR action LIKE ")
                .bind(format!("{action}.%"))
                .push(")");
        }
    }
    if q.changes_only {
        b.push(" AND is_change = 1");
    }
    if let Some(from) = q.from {
        b.push(" AND at >= ").bind(from.timestamp_millis());
    }
    if let Some(to) = q.to {
        b.push(" AND at < ").bind(to.timestamp_millis());
    }
}

/// Records queued for the writer at most (more wait to be queued), and
/// written in one transaction at most.
const QUEUE: usize = 4_096;
const BATCH: usize = 512;

#[derive(Debug, Clone)]
pub struct AuditLog {
    pool: Db,
    refusals: Arc<Refusals>,
    writer: Arc<Batcher<Record, Result<i64, String>>>,
}

impl AuditLog {
    pub fn new(pool: Db) -> Self {
        let db = crate::database::audit_writer(&pool);
        let work: Work<Record, Result<i64, String>> = Arc::new(move |records| {
            let db = db.clone();
            Box::pin(async move { write_batch(&db, records).await })
        });
        Self {
            pool,
            refusals: Arc::new(Refusals::default()),
            writer: Arc::new(Batcher::new("audit writer", QUEUE, BATCH, work)),
        }
    }

    /// Folding of unauthenticated refusals.
    pub fn refusals(&self) -> &Refusals {
        &self.refusals
    }

    /// Append `record` (strings capped); on `Ok` it is on disk, and the
    /// answer is its id. Waits for the commit of the batch it joined.
    pub async fn append(&self, r: Record) -> Result<i64, GatewayError> {
        let _timer = crate::metrics::audit_write_timer();
        match self.writer.call(r).await {
            Ok(Ok(id)) => Ok(id),
            Ok(Err(e)) => Err(GatewayError::Database(e)),
            Err(Gone) => Err(GatewayError::Database(
                "the audit writer stopped before the record was written".into(),
            )),
        }
    }

    /// Append records that are due (folded refusals); failures are logged.
    pub async fn append_all(&self, records: Vec<Record>) {
        for r in records {
            if let Err(e) = self.append(r).await {
                tracing::error!("could not write a folded audit record: {e}");
            }
        }
    }

    /// One page, newest first, and the total matching.
    pub async fn page(&self, q: &AuditQuery) -> Result<AuditPage, GatewayError> {
        let mut count = Sql::new("SELECT COUNT(*) FROM audit");
        push_filter(&mut count, q);
        let (sql, args) = count.build();
        let total: i64 = sqlx::query_scalar_with(&sql, args)
            .fetch_one(&self.pool)
            .await
            .map_err(failed)?;
        let mut select = Sql::new(format!("SELECT {COLUMNS} FROM audit"));
        push_filter(&mut select, q);
        select
            .push(" ORDER BY id DESC LIMIT ")
            .bind(i64::from(q.per_page))
            .push(" OFFSET ")
            .bind(i64::from(q.page.saturating_sub(1)) * i64::from(q.per_page));
        let (sql, args) = select.build();
        let rows: Vec<EntryRow> = sqlx::query_as_with(&sql, args)
            .fetch_all(&self.pool)
            .await
            .map_err(failed)?;
        Ok(AuditPage {
            entries: rows.into_iter().map(AuditEntry::from).collect(),
            total: total.try_into().unwrap_or(0),
            page: q.page,
            per_page: q.per_page,
        })
    }

    /// Every entry matching (all pages), oldest first, as CSV chunks of
    /// about 64 KiB. The rows are read in batches of [`CSV_BATCH`] by id
    /// while the download runs, so an export of the whole trail never sits
    /// in memory and a client that stops reading holds no database
    /// connection (the pool stays free for the audit appends); a database
    /// error ends the download early (and is logged). The stream may be
    /// polled again after its end (compression layers do). The header
    /// (and the note on a missing outcome) are in `lang`.
    pub fn csv(
        &self,
        q: &AuditQuery,
        lang: Lang,
    ) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
        let (tx, stream) = crate::csv::channel();
        let pool = self.pool.clone();
        let q = q.clone();
        tokio::spawn(async move {
            let header: Vec<String> = CSV_HEADER
                .iter()
                .map(|column| tr(lang, &format!("csv.audit.{column}"), &[]))
                .collect();
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            let mut out = CsvWriter::new(&header);
            let mut after = 0_i64;
            loop {
                let mut select = Sql::new(format!("SELECT {COLUMNS} FROM audit"));
                push_filter(&mut select, &q);
                select
                    .push(" AND id > ")
                    .bind(after)
                    .push(" ORDER BY id LIMIT ")
                    .bind(CSV_BATCH);
                let (sql, args) = select.build();
                let rows: Vec<EntryRow> =
                    match sqlx::query_as_with(&sql, args).fetch_all(&pool).await {
                        Ok(rows) => rows,
                        Err(e) => {
                            tracing::error!("the audit export stopped: {e}");
                            let _ = tx
                                .send(Err(std::io::Error::other("audit export failed")))
                                .await;
                            return;
                        }
                    };
                let Some(last) = rows.last().map(|r| r.id) else {
                    break;
                };
                after = last;
                for row in rows {
                    csv_row(&mut out, row.into(), lang);
                    if out.len() >= crate::csv::CHUNK
                        && tx.send(Ok(Bytes::from(out.take()))).await.is_err()
                    {
                        return; // the download was abandoned
                    }
                }
            }
            if !out.is_empty() {
                let _ = tx.send(Ok(Bytes::from(out.take()))).await;
            }
        });
        stream
    }

    /// The changes made to one end-user (and their devices and buildings),
    /// newest first, at most [`HISTORY_LIMIT`]. Records about the team are
    /// never part of it.
    pub async fn user_history(&self, user: Uuid) -> Result<Vec<AuditEntry>, GatewayError> {
        let mut b = Sql::new(format!("SELECT {COLUMNS} FROM audit WHERE "));
        b.push(SHOWN)
            .push(" AND target_user_id = ")
            .bind(user.to_string())
            .push(" AND is_change = 1 AND (");
        for (i, pattern) in END_USER_ACTIONS.iter().enumerate() {
            if i > 0 {
                b.push(" OR ");
            }
            b.push("action LIKE ").bind(*pattern);
        }
        b.push(") ORDER BY id DESC LIMIT ").bind(HISTORY_LIMIT);
        let (sql, args) = b.build();
        let rows: Vec<EntryRow> = sqlx::query_as_with(&sql, args)
            .fetch_all(&self.pool)
            .await
            .map_err(failed)?;
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[test]
    fn csv_header_in_both_languages() {
        for column in CSV_HEADER {
            let key = format!("csv.audit.{column}");
            assert_eq!(tr(Lang::En, &key, &[]), column);
            assert_ne!(tr(Lang::De, &key, &[]), key);
        }
    }

    fn record(action: &str, status: u16) -> Record {
        Record {
            at: 1,
            actor_email: Some("a@b.de".into()),
            method: "PUT".into(),
            route: "/api/x".into(),
            action: action.into(),
            target_user_id: Some(Uuid::nil()),
            status,
            is_change: true,
            count: 1,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn append_only() {
        for store in crate::database::testing::stores().await {
            let pool = store.db.clone();
            let log = AuditLog::new(pool.clone());
            log.append(record("user.update", 200)).await.unwrap();
            for refused in ["UPDATE audit SET status = 500", "DELETE FROM audit"] {
                let err = sqlx::query(refused).execute(&pool).await.unwrap_err();
                assert!(
                    err.to_string().contains("append-only"),
                    "{}: {err}",
                    store.name
                );
            }
            if store.name == "postgres" {
                let err = sqlx::query("TRUNCATE audit")
                    .execute(&pool)
                    .await
                    .unwrap_err();
                assert!(err.to_string().contains("append-only"), "{err}");
            }
            let page = log.page(&AuditQuery::default()).await.unwrap();
            assert_eq!(page.total, 1, "{}", store.name);
            let q = AuditQuery {
                action: Some("user".into()),
                ..Default::default()
            };
            assert_eq!(log.page(&q).await.unwrap().total, 1);
            let q = AuditQuery {
                action: Some("users".into()),
                ..Default::default()
            };
            assert_eq!(log.page(&q).await.unwrap().total, 0);
            assert_eq!(log.user_history(Uuid::nil()).await.unwrap().len(), 1);
        }
    }

    /// An intent is shown through its outcome; without one, as status 0.
    #[tokio::test]
    async fn intents_and_outcomes() {
        for store in crate::database::testing::stores().await {
            let log = AuditLog::new(store.db.clone());
            let intent = log.append(record("user.update", 0)).await.unwrap();
            let mut outcome = record("user.update", 200);
            outcome.outcome_of = Some(intent);
            let outcome = log.append(outcome).await.unwrap();
            assert!(outcome > intent, "{}: ids grow", store.name);
            log.append(record("device.update", 0)).await.unwrap();
            let page = log.page(&AuditQuery::default()).await.unwrap();
            let statuses: Vec<u16> = page.entries.iter().map(|e| e.status).collect();
            assert_eq!(statuses, [0, 200], "{}", store.name);
            assert_eq!(page.total, 2);
            // Filters and paging.
            let q = AuditQuery {
                action: Some("device.update".into()),
                per_page: 1,
                ..Default::default()
            };
            let one = log.page(&q).await.unwrap();
            assert_eq!((one.total, one.entries.len()), (1, 1), "{}", store.name);
            // Team records never reach a user's history.
            log.append(record("team.invite", 201)).await.unwrap();
            let history = log.user_history(Uuid::nil()).await.unwrap();
            assert!(history.iter().all(|e| !e.action.starts_with("team.")));
            assert_eq!(history.len(), 2, "{}", store.name);
        }
    }

    /// Appends made together share commits; each gets its own id and its
    /// record is there when it is answered.
    #[tokio::test]
    async fn concurrent_appends_each_get_their_record() {
        for store in crate::database::testing::stores().await {
            let log = AuditLog::new(store.db.clone());
            let ids = futures::future::join_all((0..100u16).map(|i| {
                let log = log.clone();
                async move {
                    let id = log.append(record("user.update", 200 + i)).await.unwrap();
                    let page = log.page(&AuditQuery::default()).await.unwrap();
                    assert!(page.total >= 1, "visible once answered");
                    id
                }
            }))
            .await;
            let mut unique = ids.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), 100, "{}: one id each", store.name);
            let page = log
                .page(&AuditQuery {
                    per_page: 100,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(page.total, 100, "{}", store.name);
            // Each caller got the id of its own record.
            for (i, id) in (0..100u16).zip(&ids) {
                let entry = page.entries.iter().find(|e| e.id == *id).unwrap();
                assert_eq!(entry.status, 200 + i, "{}: record {i}", store.name);
            }
        }
    }

    #[tokio::test]
    async fn stored_strings_are_capped() {
        for store in crate::database::testing::stores().await {
            let log = AuditLog::new(store.db.clone());
            let mut r = record("session.sign_in", 401);
            r.actor_email = Some("x".repeat(16 * 1024));
            r.detail = Some("d".repeat(10_000));
            r.changes = vec![FieldChange {
                field: "first_name".into(),
                from: serde_json::Value::Null,
                to: serde_json::Value::String("y".repeat(100_000)),
            }];
            log.append(r).await.unwrap();
            let e = &log.page(&AuditQuery::default()).await.unwrap().entries[0];
            assert_eq!(
                e.actor_email.as_ref().unwrap().chars().count(),
                MAX_EMAIL + 1
            );
            assert_eq!(e.detail.as_ref().unwrap().chars().count(), MAX_DETAIL + 1);
            assert!(e.changes[0].to.as_str().unwrap().chars().count() <= MAX_VALUE + 1);
        }
    }

    #[tokio::test]
    async fn csv_export_streams_in_chunks() {
        for store in crate::database::testing::stores().await {
            let pool = store.db.clone();
            sqlx::query(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
                 INSERT INTO audit (at, actor_email, method, route, action, status, is_change, changes) \
                 SELECT i, 'a@b.de', 'GET', '/api/directory/users', 'users.search', 200, 0, '[]' FROM n",
            )
            .execute(&pool)
            .await
            .unwrap();
            let mut stream = Box::pin(AuditLog::new(pool).csv(&AuditQuery::default(), Lang::En));
            let mut chunks = 0;
            let mut text = String::new();
            while let Some(chunk) = stream.next().await {
                chunks += 1;
                text.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
            }
            // Polled again after its end: still the end, no panic.
            assert!(stream.next().await.is_none());
            assert!(chunks >= 2, "{chunks} chunk(s)");
            assert_eq!(
                text.lines().count(),
                2001,
                "{}: header and every record",
                store.name
            );
            assert!(text.lines().last().unwrap().starts_with("\"2000\","));
        }
    }
}
