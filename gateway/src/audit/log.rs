//! The audit table: append a record, read pages of it, export it as CSV
//! (streamed), and one end-user's change history. Nothing here updates or
//! deletes.

use axum::body::Bytes;
use futures::StreamExt;
use shared::staff::{AuditEntry, AuditPage, AuditQuery, FieldChange};
use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, Row, SqlitePool};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::database::{failed, to_time};
use crate::error::GatewayError;

/// One record to append.
#[derive(Debug, Clone)]
pub struct Record {
    pub at: i64,
    pub actor_id: Option<Uuid>,
    pub actor_email: Option<String>,
    pub client_addr: Option<String>,
    pub method: String,
    pub route: String,
    pub action: String,
    pub target_user_id: Option<Uuid>,
    pub status: u16,
    pub is_change: bool,
    pub changes: Vec<FieldChange>,
    pub detail: Option<String>,
}

/// One entry as a CSV line.
fn csv_line(out: &mut String, e: AuditEntry) {
    let fields = [
        e.id.to_string(),
        e.at.to_rfc3339(),
        e.actor_email.unwrap_or_default(),
        e.client_addr.unwrap_or_default(),
        e.method,
        e.route,
        e.action,
        e.target_user_id.map(|u| u.to_string()).unwrap_or_default(),
        e.status.to_string(),
        if e.changes.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&e.changes).unwrap_or_default()
        },
        e.detail.unwrap_or_default(),
    ];
    crate::csv::line(out, &fields);
}

/// Most entries in one user's history.
pub const HISTORY_LIMIT: i64 = 200;

const COLUMNS: &str = "id, at, actor_id, actor_email, client_addr, method, route, action, target_user_id, status, changes, detail";

fn entry(row: &sqlx::sqlite::SqliteRow) -> AuditEntry {
    let uuid = |s: Option<String>| s.and_then(|s| Uuid::parse_str(&s).ok());
    AuditEntry {
        id: row.get("id"),
        at: to_time(row.get("at")),
        actor_id: uuid(row.get("actor_id")),
        actor_email: row.get("actor_email"),
        client_addr: row.get("client_addr"),
        method: row.get("method"),
        route: row.get("route"),
        action: row.get("action"),
        target_user_id: uuid(row.get("target_user_id")),
        status: row.get::<i64, _>("status").try_into().unwrap_or(0),
        changes: serde_json::from_str(row.get::<&str, _>("changes")).unwrap_or_default(),
        detail: row.get("detail"),
    }
}

/// `WHERE …` of a query and its arguments.
fn filter(q: &AuditQuery) -> (String, SqliteArguments<'static>) {
    let mut clauses = Vec::new();
    let mut args = SqliteArguments::default();
    if let Some(actor) = &q.actor {
        clauses.push("actor_email = ?");
        let _ = args.add(actor.clone());
    }
    if let Some(user) = q.user {
        clauses.push("target_user_id = ?");
        let _ = args.add(user.to_string());
    }
    if let Some(action) = &q.action {
        if action.contains('.') {
            clauses.push("action = ?");
            let _ = args.add(action.clone());
        } else {
            clauses.push("(action = ? OR action LIKE ?)");
            let _ = args.add(action.clone());
            let _ = args.add(format!("{action}.%"));
        }
    }
    if q.changes_only {
        clauses.push("is_change = 1");
    }
    if let Some(from) = q.from {
        clauses.push("at >= ?");
        let _ = args.add(from.timestamp_millis());
    }
    if let Some(to) = q.to {
        clauses.push("at < ?");
        let _ = args.add(to.timestamp_millis());
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    (sql, args)
}

#[derive(Debug, Clone)]
pub struct AuditLog {
    pool: SqlitePool,
}

impl AuditLog {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// Append `record`; on `Ok` it is on disk.
    pub async fn append(&self, r: Record) -> Result<(), GatewayError> {
        let changes = serde_json::to_string(&r.changes).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO audit (at, actor_id, actor_email, client_addr, method, route, action, target_user_id, status, is_change, changes, detail) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(r.at)
        .bind(r.actor_id.map(|u| u.to_string()))
        .bind(r.actor_email)
        .bind(r.client_addr)
        .bind(r.method)
        .bind(r.route)
        .bind(r.action)
        .bind(r.target_user_id.map(|u| u.to_string()))
        .bind(i64::from(r.status))
        .bind(i64::from(r.is_change))
        .bind(changes)
        .bind(r.detail)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(failed)
    }

    /// One page, newest first, and the total matching.
    pub async fn page(&self, q: &AuditQuery) -> Result<AuditPage, GatewayError> {
        let (sql, args) = filter(q);
        let total: i64 = sqlx::query_scalar_with(&format!("SELECT COUNT(*) FROM audit{sql}"), args)
            .fetch_one(&self.pool)
            .await
            .map_err(failed)?;
        let (sql, mut args) = filter(q);
        let _ = args.add(i64::from(q.per_page));
        let _ = args.add(i64::from(q.page.saturating_sub(1)) * i64::from(q.per_page));
        let rows = sqlx::query_with(
            &format!("SELECT {COLUMNS} FROM audit{sql} ORDER BY id DESC LIMIT ? OFFSET ?"),
            args,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(failed)?;
        Ok(AuditPage {
            entries: rows.iter().map(entry).collect(),
            total: total.try_into().unwrap_or(0),
            page: q.page,
            per_page: q.per_page,
        })
    }

    /// Every entry matching (all pages), oldest first, as CSV chunks of
    /// about 64 KiB. The rows are read and written while the download
    /// runs, so an export of the whole trail never sits in memory; a
    /// database error ends the download early (and is logged).
    pub fn csv(&self, q: &AuditQuery) -> mpsc::Receiver<Result<Bytes, std::io::Error>> {
        const CHUNK: usize = 64 * 1024;
        let (tx, rx) = mpsc::channel(4);
        let pool = self.pool.clone();
        let q = q.clone();
        tokio::spawn(async move {
            let (sql, args) = filter(&q);
            let sql = format!("SELECT {COLUMNS} FROM audit{sql} ORDER BY id");
            let mut rows = sqlx::query_with(&sql, args).fetch(&pool);
            let mut out = String::with_capacity(CHUNK + 4096);
            out.push(crate::csv::BOM);
            out.push_str("id,at,actor_email,client_addr,method,route,action,target_user_id,status,changes,detail\r\n");
            while let Some(row) = rows.next().await {
                match row {
                    Ok(row) => csv_line(&mut out, entry(&row)),
                    Err(e) => {
                        tracing::error!("the audit export stopped: {e}");
                        let _ = tx
                            .send(Err(std::io::Error::other("audit export failed")))
                            .await;
                        return;
                    }
                }
                if out.len() >= CHUNK
                    && tx
                        .send(Ok(Bytes::from(std::mem::take(&mut out))))
                        .await
                        .is_err()
                {
                    return; // the download was abandoned
                }
            }
            if !out.is_empty() {
                let _ = tx.send(Ok(Bytes::from(out))).await;
            }
        });
        rx
    }

    /// The changes made to one end-user (and their devices and buildings),
    /// newest first, at most [`HISTORY_LIMIT`].
    pub async fn user_history(&self, user: Uuid) -> Result<Vec<AuditEntry>, GatewayError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit WHERE target_user_id = ? AND is_change = 1 ORDER BY id DESC LIMIT ?"
        ))
        .bind(user.to_string())
        .bind(HISTORY_LIMIT)
        .fetch_all(&self.pool)
        .await
        .map_err(failed)?;
        Ok(rows.iter().map(entry).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn append_only() {
        let dir = tempfile::tempdir().unwrap();
        let pool = crate::database::open(dir.path()).await.unwrap();
        let log = AuditLog::new(pool.clone());
        log.append(Record {
            at: 1,
            actor_id: None,
            actor_email: Some("a@b.de".into()),
            client_addr: None,
            method: "PUT".into(),
            route: "/api/x".into(),
            action: "user.update".into(),
            target_user_id: Some(Uuid::nil()),
            status: 200,
            is_change: true,
            changes: vec![],
            detail: None,
        })
        .await
        .unwrap();
        let update = sqlx::query("UPDATE audit SET status = 500")
            .execute(&pool)
            .await;
        assert!(update.unwrap_err().to_string().contains("append-only"));
        let delete = sqlx::query("DELETE FROM audit").execute(&pool).await;
        assert!(delete.unwrap_err().to_string().contains("append-only"));
        let page = log.page(&AuditQuery::default()).await.unwrap();
        assert_eq!(page.total, 1);
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

    #[tokio::test]
    async fn csv_export_streams_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let pool = crate::database::open(dir.path()).await.unwrap();
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
             INSERT INTO audit (at, actor_email, method, route, action, status, is_change, changes) \
             SELECT i, 'a@b.de', 'GET', '/api/directory/users', 'users.search', 200, 0, '[]' FROM n",
        )
        .execute(&pool)
        .await
        .unwrap();
        let mut rx = AuditLog::new(pool).csv(&AuditQuery::default());
        let mut chunks = 0;
        let mut text = String::new();
        while let Some(chunk) = rx.recv().await {
            chunks += 1;
            text.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
        }
        assert!(chunks >= 2, "{chunks} chunk(s)");
        assert_eq!(text.lines().count(), 2001, "header and every record");
        assert!(text.lines().last().unwrap().starts_with("2000,"));
    }
}
