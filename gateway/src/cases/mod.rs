//! Support cases linked to Podero end-users: the store behind
//! `/api/cases` and the rules the fleet watch follows.
//!
//! A case belongs to one end-user and optionally one device; its timeline
//! is a list of events (comments and what happened). People open, assign,
//! comment and change cases through [`crate::routes::cases`]; the fleet
//! watch ([`crate::watch`]) opens a device-connection case when a device
//! is lost — one per device while it is not resolved, which a unique
//! partial index guarantees whoever races — and resolves it when the
//! device comes back. Every change is an audit record: people's through
//! the request's [`crate::audit::Note`], the system's appended here with
//! the actor "fleet watch". Opened and resolved cases are queued for the
//! outgoing webhook ([`webhook`]) in the same transaction as the change.

pub mod csv;
pub mod webhook;

use chrono::{DateTime, Utc};
use serde_json::json;
use shared::audit_action::AuditAction;
use shared::cases::{
    Assignee, AssigneeFilter, Case, CaseCounts, CaseDetail, CaseEvent, CaseEventKind, CaseKind,
    CaseList, CaseQuery, CaseSort, CaseState, CaseUpdate, Priority,
};
use shared::staff::FieldChange;
use shared::DeviceKind;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use crate::audit::{AuditLog, Record};
use crate::database::{begin_write, failed, like_containing, now_ms, to_time, Db, Sql};
use crate::error::{GatewayError, Msg};

/// Who changes a case.
#[derive(Debug, Clone)]
pub enum By {
    /// A signed-in back-office account.
    Staff { id: Uuid, email: String },
    /// The fleet watch (or another part of the gateway acting by itself).
    System,
    /// The customer, on their self-service page.
    Customer,
}

impl By {
    fn actor(&self) -> Option<String> {
        match self {
            By::Staff { email, .. } => Some(email.clone()),
            By::System => None,
            By::Customer => Some(crate::self_service::CUSTOMER_ACTOR.into()),
        }
    }
}

/// The name system changes carry in the audit trail.
pub const SYSTEM_ACTOR: &str = "fleet watch";

/// A case to open.
#[derive(Debug, Clone)]
pub struct Opening {
    pub user_id: Uuid,
    pub user_name: String,
    pub device: Option<(Uuid, DeviceKind, String)>,
    pub kind: CaseKind,
    pub subject: String,
    pub priority: Priority,
    pub lost_since: Option<i64>,
    pub comment: Option<String>,
}

/// The case store (cheap to clone).
#[derive(Debug, Clone)]
pub struct Cases {
    db: Db,
    audit: AuditLog,
    /// Whether opened/resolved cases are queued for the webhook.
    webhook: bool,
}

const SELECT: &str =
    "SELECT c.id, c.user_id, c.user_name, c.device_id, c.device_kind, c.device_label, \
     c.kind, c.subject, c.priority, c.state, c.assignee_id, a.email AS assignee_email, \
     a.first_name AS assignee_first, a.last_name AS assignee_last, c.opened_at, c.opened_by, \
     c.updated_at, c.resolved_at, c.lost_since \
     FROM cases c LEFT JOIN accounts a ON a.id = c.assignee_id";

fn uuid(s: Option<String>) -> Option<Uuid> {
    s.and_then(|s| Uuid::parse_str(&s).ok())
}

fn case_from(row: &AnyRow) -> Result<Case, sqlx::Error> {
    let assignee = match (
        uuid(row.try_get("assignee_id")?),
        row.try_get::<Option<String>, _>("assignee_email")?,
    ) {
        (Some(id), Some(email)) => {
            let first: Option<String> = row.try_get("assignee_first")?;
            let last: Option<String> = row.try_get("assignee_last")?;
            let name = format!("{} {}", first.unwrap_or_default(), last.unwrap_or_default())
                .trim()
                .to_string();
            Some(Assignee {
                id,
                name: if name.is_empty() { email.clone() } else { name },
                email,
            })
        }
        _ => None,
    };
    let text: String = row.try_get("kind")?;
    let state: String = row.try_get("state")?;
    let priority: String = row.try_get("priority")?;
    Ok(Case {
        id: row.try_get("id")?,
        user_id: uuid(row.try_get("user_id")?).unwrap_or_default(),
        user_name: row.try_get("user_name")?,
        device_id: uuid(row.try_get("device_id")?),
        device_kind: row
            .try_get::<Option<String>, _>("device_kind")?
            .and_then(|k| DeviceKind::from_path_segment(&k)),
        device_label: row.try_get("device_label")?,
        kind: CaseKind::parse(&text).unwrap_or(CaseKind::Other),
        subject: row.try_get("subject")?,
        priority: Priority::parse(&priority).unwrap_or(Priority::Normal),
        state: CaseState::parse(&state).unwrap_or(CaseState::Open),
        assignee,
        opened_at: to_time(row.try_get("opened_at")?),
        opened_by: row.try_get("opened_by")?,
        updated_at: to_time(row.try_get("updated_at")?),
        resolved_at: row.try_get::<Option<i64>, _>("resolved_at")?.map(to_time),
        lost_since: row.try_get::<Option<i64>, _>("lost_since")?.map(to_time),
    })
}

fn event_from(row: &AnyRow) -> Result<CaseEvent, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    Ok(CaseEvent {
        id: row.try_get("id")?,
        at: to_time(row.try_get("at")?),
        actor: row.try_get("actor")?,
        kind: CaseEventKind::parse(&kind).unwrap_or(CaseEventKind::Comment),
        text: row.try_get("text")?,
        from: row.try_get("from_value")?,
        to: row.try_get("to_value")?,
        duration_secs: row.try_get("duration_secs")?,
    })
}

/// One timeline entry to write.
#[derive(Debug, Default)]
struct NewEvent {
    kind: Option<CaseEventKind>,
    text: Option<String>,
    from: Option<String>,
    to: Option<String>,
    duration_secs: Option<i64>,
}

impl NewEvent {
    fn of(kind: CaseEventKind) -> Self {
        Self {
            kind: Some(kind),
            ..Default::default()
        }
    }
}

async fn add_event(
    tx: &mut Transaction<'_, Any>,
    case_id: i64,
    at: i64,
    actor: Option<&str>,
    e: NewEvent,
) -> Result<(), sqlx::Error> {
    let kind = e.kind.unwrap_or(CaseEventKind::Comment);
    sqlx::query(
        "INSERT INTO case_events (case_id, at, actor, kind, text, from_value, to_value, duration_secs) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(case_id)
    .bind(at)
    .bind(actor.map(str::to_string))
    .bind(kind.as_str())
    .bind(e.text)
    .bind(e.from)
    .bind(e.to)
    .bind(e.duration_secs)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE cases SET updated_at = $1 WHERE id = $2")
        .bind(at)
        .bind(case_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Human text of a duration: "2 h 14 min", "3 d 4 h", "45 s".
pub fn duration_text(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min")
    } else {
        format!("{secs} s")
    }
}

impl Cases {
    pub fn new(db: Db, audit: AuditLog, webhook: bool) -> Self {
        Self { db, audit, webhook }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Open a case; `None` when it is a device-connection case and the
    /// device has an unresolved one already (nothing written).
    pub async fn open(&self, o: Opening, by: &By) -> Result<Option<i64>, GatewayError> {
        let now = now_ms();
        let mut tx = begin_write(&self.db).await?;
        let (device_id, device_kind, device_label) = match &o.device {
            Some((id, kind, label)) => (
                Some(id.to_string()),
                Some(kind.path_segment().to_string()),
                Some(label.clone()),
            ),
            None => (None, None, None),
        };
        // The unique partial index refuses a second unresolved
        // device-connection case of a device: nothing is inserted then.
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO cases (user_id, user_name, device_id, device_kind, device_label, kind, subject, \
             priority, state, assignee_id, opened_at, opened_by, updated_at, resolved_at, lost_since) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', NULL, $9, $10, $9, NULL, $11) \
             ON CONFLICT (device_id) WHERE kind = 'device_connection' AND state <> 'resolved' DO NOTHING \
             RETURNING id",
        )
        .bind(o.user_id.to_string())
        .bind(cap(&o.user_name, 200))
        .bind(device_id)
        .bind(device_kind)
        .bind(device_label.map(|l| cap(&l, 200)))
        .bind(o.kind.as_str())
        .bind(o.subject.trim().to_string())
        .bind(o.priority.as_str())
        .bind(now)
        .bind(by.actor())
        .bind(o.lost_since)
        .fetch_optional(&mut *tx)
        .await
        .map_err(failed)?;
        let Some(id) = id else {
            return Ok(None);
        };
        let first = match by {
            By::System => CaseEventKind::OpenedByWatch,
            By::Staff { .. } | By::Customer => CaseEventKind::Opened,
        };
        add_event(&mut tx, id, now, by.actor().as_deref(), NewEvent::of(first))
            .await
            .map_err(failed)?;
        if let Some(text) = o
            .comment
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            add_event(
                &mut tx,
                id,
                now,
                by.actor().as_deref(),
                NewEvent {
                    text: Some(text.to_string()),
                    ..NewEvent::of(CaseEventKind::Comment)
                },
            )
            .await
            .map_err(failed)?;
        }
        if self.webhook {
            webhook::enqueue(&mut tx, "case.opened", id, now).await?;
        }
        tx.commit().await.map_err(failed)?;
        if matches!(by, By::System) {
            self.system_record(
                AuditAction::CaseOpen,
                o.user_id,
                vec![change("state", json!(null), json!("open"))],
                format!("case {id}: {}", o.subject.trim()),
            )
            .await;
        }
        Ok(Some(id))
    }

    /// An audit record of a change the system made by itself (failures
    /// are logged: the change is made already).
    async fn system_record(
        &self,
        action: AuditAction,
        user: Uuid,
        changes: Vec<FieldChange>,
        detail: String,
    ) {
        let record = Record {
            at: now_ms(),
            actor_email: Some(SYSTEM_ACTOR.into()),
            method: "SYSTEM".into(),
            route: "fleet-watch".into(),
            action: action.code().into(),
            target_user_id: Some(user),
            status: 200,
            is_change: true,
            changes,
            detail: Some(detail),
            count: 1,
            ..Default::default()
        };
        if let Err(e) = self.audit.append(record).await {
            tracing::error!("could not write the audit record of {}: {e}", action.code());
        }
    }

    /// One case with its timeline.
    pub async fn get(&self, id: i64) -> Result<Option<CaseDetail>, GatewayError> {
        let row = sqlx::query(&format!("{SELECT} WHERE c.id = $1"))
            .bind(id)
            .fetch_optional(&self.db)
            .await
            .map_err(failed)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let case = case_from(&row).map_err(failed)?;
        let events = sqlx::query(
            "SELECT id, at, actor, kind, text, from_value, to_value, duration_secs \
             FROM case_events WHERE case_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.db)
        .await
        .map_err(failed)?
        .iter()
        .map(event_from)
        .collect::<Result<Vec<_>, _>>()
        .map_err(failed)?;
        Ok(Some(CaseDetail { case, events }))
    }

    /// The filters of `q` (all but the state when `with_state` is false)
    /// as a `WHERE` clause; `me` is the account asking.
    fn filters(sql: &mut Sql, q: &CaseQuery, me: Uuid, with_state: bool) {
        sql.push(" WHERE 1 = 1");
        if let Some(u) = q.user_id {
            sql.push(" AND c.user_id = ").bind(u.to_string());
        }
        if let Some(d) = q.device_id {
            sql.push(" AND c.device_id = ").bind(d.to_string());
        }
        if let (true, Some(s)) = (with_state, q.state) {
            sql.push(" AND c.state = ").bind(s.as_str());
        }
        if let Some(k) = q.kind {
            sql.push(" AND c.kind = ").bind(k.as_str());
        }
        match q.assignee {
            AssigneeFilter::Anyone => {}
            AssigneeFilter::Mine => {
                sql.push(" AND c.assignee_id = ").bind(me.to_string());
            }
            AssigneeFilter::Unassigned => {
                sql.push(" AND c.assignee_id IS NULL");
            }
        }
        if let Some(h) = q.older_than_hours {
            let cutoff = now_ms() - i64::from(h) * 3_600_000;
            sql.push(" AND c.opened_at <= ").bind(cutoff);
        }
        for word in q.q.split_whitespace() {
            Self::search_word(sql, word);
        }
    }

    /// One word of the search: it must appear in the subject, the
    /// end-user's name (or e-mail), the device or a comment, or be the
    /// case's number (`42`, `#42`); `%`, `_` and `\` typed match only
    /// themselves. Case-insensitive: the stored text is compared
    /// `LOWER`ed, which folds only A-Z on SQLite (whose `LIKE` ignores the
    /// case of A-Z only) and on a PostgreSQL database with the C locale
    /// (the tests' throw-away cluster), so on every store the word is
    /// also tried in A-Z only lower-cased ("ÖZIL" finds "Özil") and with
    /// its other letters upper-cased ("özil" finds "Özil" and "ÖZIL").
    fn search_word(sql: &mut Sql, word: &str) {
        let others_upper: String = word
            .chars()
            .map(|c| match (c.is_ascii(), c.to_uppercase()) {
                (false, mut up) if up.len() == 1 => up.next().unwrap_or(c),
                _ => c,
            })
            .collect();
        let mut patterns: Vec<String> = Vec::with_capacity(3);
        for form in [word.to_lowercase(), word.to_ascii_lowercase(), others_upper] {
            let pattern = like_containing(&form);
            if !patterns.contains(&pattern) {
                patterns.push(pattern);
            }
        }
        let like = |sql: &mut Sql, column: &str| {
            for p in &patterns {
                sql.push(" OR LOWER(")
                    .push(column)
                    .push(") LIKE ")
                    .bind(p.clone())
                    .push(" ESCAPE '\\'");
            }
        };
        sql.push(" AND (1 = 0");
        like(sql, "c.subject");
        like(sql, "c.user_name");
        like(sql, "COALESCE(c.device_label, '')");
        sql.push(
            " OR EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id \
             AND e.kind = 'comment' AND (1 = 0",
        );
        like(sql, "e.text");
        sql.push("))");
        if let Ok(id) = word.trim_start_matches('#').parse::<i64>() {
            sql.push(" OR c.id = ").bind(id);
        }
        sql.push(")");
    }

    fn order(q: &CaseQuery) -> &'static str {
        match q.sort {
            CaseSort::Newest => " ORDER BY c.opened_at DESC, c.id DESC",
            CaseSort::Oldest => " ORDER BY c.opened_at, c.id",
            CaseSort::Updated => " ORDER BY c.updated_at DESC, c.id DESC",
            CaseSort::Priority => {
                " ORDER BY CASE c.priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 \
                 WHEN 'normal' THEN 2 ELSE 3 END, c.opened_at, c.id"
            }
        }
    }

    /// A page of the queue.
    pub async fn list(&self, q: &CaseQuery, me: Uuid) -> Result<CaseList, GatewayError> {
        let mut sql = Sql::new(SELECT);
        Self::filters(&mut sql, q, me, true);
        sql.push(Self::order(q));
        let offset = i64::from(q.page.saturating_sub(1)) * i64::from(q.per_page);
        sql.push(" LIMIT ")
            .bind(i64::from(q.per_page))
            .push(" OFFSET ")
            .bind(offset);
        let (text, args) = sql.build();
        let cases = sqlx::query_with(&text, args)
            .fetch_all(&self.db)
            .await
            .map_err(failed)?
            .iter()
            .map(case_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)?;
        let counts = self.counts(q, me).await?;
        let total = match q.state {
            None => counts.open + counts.waiting_on_customer + counts.resolved,
            Some(CaseState::Open) => counts.open,
            Some(CaseState::WaitingOnCustomer) => counts.waiting_on_customer,
            Some(CaseState::Resolved) => counts.resolved,
        };
        Ok(CaseList {
            cases,
            total,
            page: q.page,
            per_page: q.per_page,
            counts,
        })
    }

    /// Cases per state under the filters of `q` other than the state, and
    /// the open unassigned ones under the same filters.
    pub async fn counts(&self, q: &CaseQuery, me: Uuid) -> Result<CaseCounts, GatewayError> {
        let mut sql = Sql::new(
            "SELECT c.state, CAST(COUNT(*) AS BIGINT) AS n, \
             CAST(SUM(CASE WHEN c.assignee_id IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS unassigned \
             FROM cases c",
        );
        Self::filters(&mut sql, q, me, false);
        sql.push(" GROUP BY c.state");
        let (text, args) = sql.build();
        let rows = sqlx::query_with(&text, args)
            .fetch_all(&self.db)
            .await
            .map_err(failed)?;
        let mut counts = CaseCounts::default();
        for row in rows {
            let state: String = row.try_get("state").map_err(failed)?;
            let n: i64 = row.try_get("n").map_err(failed)?;
            let unassigned: i64 = row.try_get("unassigned").map_err(failed)?;
            let n = n.max(0) as u64;
            match CaseState::parse(&state) {
                Some(CaseState::Open) => {
                    counts.open = n;
                    counts.open_unassigned = unassigned.max(0) as u64;
                }
                Some(CaseState::WaitingOnCustomer) => counts.waiting_on_customer = n,
                Some(CaseState::Resolved) => counts.resolved = n,
                None => {}
            }
        }
        Ok(counts)
    }

    /// Every match of `q` (no paging), for the CSV export: at most
    /// [`csv::MAX_ROWS`].
    pub async fn all(&self, q: &CaseQuery, me: Uuid) -> Result<Vec<Case>, GatewayError> {
        let mut sql = Sql::new(SELECT);
        Self::filters(&mut sql, q, me, true);
        sql.push(Self::order(q));
        sql.push(" LIMIT ").bind(csv::MAX_ROWS);
        let (text, args) = sql.build();
        sqlx::query_with(&text, args)
            .fetch_all(&self.db)
            .await
            .map_err(failed)?
            .iter()
            .map(case_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)
    }

    /// Apply a person's change; the answer is the changes made (empty:
    /// nothing to do). `assignee` must be an account (checked by the
    /// caller).
    pub async fn update(
        &self,
        id: i64,
        before: &Case,
        u: &CaseUpdate,
        by: &By,
        assignee_email: Option<&str>,
    ) -> Result<Vec<FieldChange>, GatewayError> {
        let now = now_ms();
        let actor = by.actor();
        let mut tx = begin_write(&self.db).await?;
        let mut changes = Vec::new();
        if let Some(state) = u.state.filter(|s| *s != before.state) {
            // Reopening a device-connection case may meet another open one
            // of the same device: the index refuses, and so does this.
            let resolved_at = (state == CaseState::Resolved).then_some(now);
            let done = sqlx::query("UPDATE cases SET state = $1, resolved_at = $2 WHERE id = $3")
                .bind(state.as_str())
                .bind(resolved_at)
                .bind(id)
                .execute(&mut *tx)
                .await;
            if let Err(e) = done {
                let unique = e
                    .as_database_error()
                    .is_some_and(|d| d.is_unique_violation());
                return Err(if unique {
                    GatewayError::Conflict(vec![shared::FieldError::keyed(
                        "state",
                        "error.field.case_device_has_open_case",
                        &[],
                    )])
                } else {
                    failed(e)
                });
            }
            add_event(
                &mut tx,
                id,
                now,
                actor.as_deref(),
                NewEvent {
                    from: Some(before.state.as_str().into()),
                    to: Some(state.as_str().into()),
                    ..NewEvent::of(CaseEventKind::StateChanged)
                },
            )
            .await
            .map_err(failed)?;
            if self.webhook && state == CaseState::Resolved {
                webhook::enqueue(&mut tx, "case.resolved", id, now).await?;
            }
            changes.push(change(
                "state",
                json!(before.state.as_str()),
                json!(state.as_str()),
            ));
        }
        if let Some(assignee) = u.assignee {
            let was = before.assignee.as_ref().map(|a| a.id);
            if assignee != was {
                sqlx::query("UPDATE cases SET assignee_id = $1 WHERE id = $2")
                    .bind(assignee.map(|a| a.to_string()))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed)?;
                add_event(
                    &mut tx,
                    id,
                    now,
                    actor.as_deref(),
                    NewEvent {
                        from: before.assignee.as_ref().map(|a| a.email.clone()),
                        to: assignee_email.map(str::to_string),
                        ..NewEvent::of(CaseEventKind::Assigned)
                    },
                )
                .await
                .map_err(failed)?;
                changes.push(change(
                    "assignee",
                    json!(before.assignee.as_ref().map(|a| a.email.clone())),
                    json!(assignee_email),
                ));
            }
        }
        if let Some(p) = u.priority.filter(|p| *p != before.priority) {
            sqlx::query("UPDATE cases SET priority = $1 WHERE id = $2")
                .bind(p.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
            add_event(
                &mut tx,
                id,
                now,
                actor.as_deref(),
                NewEvent {
                    from: Some(before.priority.as_str().into()),
                    to: Some(p.as_str().into()),
                    ..NewEvent::of(CaseEventKind::PriorityChanged)
                },
            )
            .await
            .map_err(failed)?;
            changes.push(change(
                "priority",
                json!(before.priority.as_str()),
                json!(p.as_str()),
            ));
        }
        if let Some(s) = u
            .subject
            .as_deref()
            .map(str::trim)
            .filter(|s| *s != before.subject)
        {
            sqlx::query("UPDATE cases SET subject = $1, updated_at = $2 WHERE id = $3")
                .bind(s.to_string())
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
            changes.push(change("subject", json!(before.subject), json!(s)));
        }
        tx.commit().await.map_err(failed)?;
        Ok(changes)
    }

    /// Add a comment.
    pub async fn comment(&self, id: i64, text: &str, by: &By) -> Result<(), GatewayError> {
        self.note(
            id,
            CaseEventKind::Comment,
            by,
            None,
            Some(text.trim().to_string()),
        )
        .await
    }

    /// Note on case `id`'s timeline that something happened (a message to
    /// the customer went out, failed or waits in the outbox).
    pub async fn note(
        &self,
        id: i64,
        kind: CaseEventKind,
        by: &By,
        to: Option<String>,
        text: Option<String>,
    ) -> Result<(), GatewayError> {
        let mut tx = begin_write(&self.db).await?;
        add_event(
            &mut tx,
            id,
            now_ms(),
            by.actor().as_deref(),
            NewEvent {
                to,
                text,
                ..NewEvent::of(kind)
            },
        )
        .await
        .map_err(failed)?;
        tx.commit().await.map_err(failed)
    }

    /// The unresolved device-connection case of a device, if any.
    pub async fn open_case_of_device(&self, device: Uuid) -> Result<Option<i64>, GatewayError> {
        sqlx::query_scalar(
            "SELECT id FROM cases WHERE device_id = $1 AND kind = 'device_connection' \
             AND state <> 'resolved'",
        )
        .bind(device.to_string())
        .fetch_optional(&self.db)
        .await
        .map_err(failed)
    }

    /// Note on the device's unresolved case (if it has one) that something
    /// happened (a reconnection link, an e-mail, the customer's page);
    /// the answer is the case's id.
    pub async fn device_event(
        &self,
        device: Uuid,
        kind: CaseEventKind,
        by: &By,
        to: Option<String>,
    ) -> Result<Option<i64>, GatewayError> {
        let Some(id) = self.open_case_of_device(device).await? else {
            return Ok(None);
        };
        let mut tx = begin_write(&self.db).await?;
        add_event(
            &mut tx,
            id,
            now_ms(),
            by.actor().as_deref(),
            NewEvent {
                to,
                ..NewEvent::of(kind)
            },
        )
        .await
        .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        Ok(Some(id))
    }

    /// The watch saw the device connected again: resolve its open case
    /// (if any) with "reconnected after …".
    pub async fn device_reconnected(
        &self,
        device: Uuid,
        user: Uuid,
        at: i64,
    ) -> Result<Option<i64>, GatewayError> {
        let row: Option<(i64, Option<i64>, i64)> = sqlx::query_as(
            "SELECT id, lost_since, opened_at FROM cases WHERE device_id = $1 \
             AND kind = 'device_connection' AND state <> 'resolved'",
        )
        .bind(device.to_string())
        .fetch_optional(&self.db)
        .await
        .map_err(failed)?;
        let Some((id, lost_since, opened_at)) = row else {
            return Ok(None);
        };
        let lost_for = (at - lost_since.unwrap_or(opened_at)) / 1000;
        let mut tx = begin_write(&self.db).await?;
        let done = sqlx::query(
            "UPDATE cases SET state = 'resolved', resolved_at = $1 WHERE id = $2 AND state <> 'resolved'",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        add_event(
            &mut tx,
            id,
            at,
            None,
            NewEvent {
                duration_secs: Some(lost_for),
                ..NewEvent::of(CaseEventKind::DeviceReconnected)
            },
        )
        .await
        .map_err(failed)?;
        if self.webhook {
            webhook::enqueue(&mut tx, "case.resolved", id, at).await?;
        }
        tx.commit().await.map_err(failed)?;
        self.system_record(
            AuditAction::CaseResolve,
            user,
            vec![change("state", json!("open"), json!("resolved"))],
            format!("case {id}: reconnected after {}", duration_text(lost_for)),
        )
        .await;
        Ok(Some(id))
    }

    /// The case as the webhook's JSON.
    pub async fn payload(&self, id: i64, event: &str) -> Result<serde_json::Value, GatewayError> {
        let detail = self
            .get(id)
            .await?
            .ok_or_else(|| GatewayError::NotFound(Msg::new("error.not_found.case")))?;
        Ok(json!({ "event": event, "case": detail.case, "sent_at": Utc::now() }))
    }
}

fn change(field: &str, from: serde_json::Value, to: serde_json::Value) -> FieldChange {
    FieldChange {
        field: field.into(),
        from,
        to,
    }
}

fn cap(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// A case's age for lists: "3 h", "2 d".
pub fn age(opened_at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    duration_text((now - opened_at).num_seconds())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opening(user_name: &str, subject: &str, comment: Option<&str>) -> Opening {
        Opening {
            user_id: Uuid::from_u128(1),
            user_name: user_name.into(),
            device: None,
            kind: CaseKind::Question,
            subject: subject.into(),
            priority: Priority::Normal,
            lost_since: None,
            comment: comment.map(str::to_string),
        }
    }

    /// On SQLite and PostgreSQL: every word must match the subject, the
    /// end-user, the device or a comment, case-insensitively; `%` and `_`
    /// match only themselves; the other filters and paging still apply.
    #[tokio::test]
    async fn search_on_every_store() {
        for store in crate::database::testing::stores().await {
            let cases = Cases::new(store.db.clone(), AuditLog::new(store.db.clone()), false);
            let by = By::System;
            let wallbox = opening(
                "Anna Berger",
                "Wallbox offline since Monday",
                Some("Promised 50% off the next bill."),
            );
            let tariff = opening("Özlem Müller", "Tariff_question", None);
            let mut heat_pump = opening("bob@example.com", "Heat pump noisy", None);
            heat_pump.device = Some((
                Uuid::from_u128(9),
                DeviceKind::HeatPump,
                "Vaillant aroTHERM".into(),
            ));
            let mut ids = Vec::new();
            for o in [wallbox, tariff, heat_pump] {
                ids.push(cases.open(o, &by).await.unwrap().unwrap());
            }
            let me = Uuid::nil();
            let found = |q: CaseQuery| {
                let cases = cases.clone();
                async move {
                    let list = cases.list(&q, me).await.unwrap();
                    let mut found: Vec<i64> = list.cases.iter().map(|c| c.id).collect();
                    found.sort();
                    (found, list.total)
                }
            };
            let search = |text: &str| CaseQuery {
                q: text.into(),
                ..Default::default()
            };
            let name = store.name;
            for (text, want) in [
                ("wallbox", vec![ids[0]]),
                ("WALLBOX  monday", vec![ids[0]]),
                ("wallbox heat", vec![]),
                ("anna", vec![ids[0]]),
                ("MÜLLER", vec![ids[1]]),
                ("Özlem", vec![ids[1]]),
                ("ÖZLEM", vec![ids[1]]),
                // Lower-case non-ASCII letters typed find upper-case ones
                // (SQLite's LOWER and LIKE fold A-Z only).
                ("özlem", vec![ids[1]]),
                ("müller", vec![ids[1]]),
                ("BOB@Example", vec![ids[2]]),
                ("arotherm", vec![ids[2]]),
                // A comment's text.
                ("bill", vec![ids[0]]),
                // Wildcards typed are plain characters.
                ("%", vec![ids[0]]),
                ("50%", vec![ids[0]]),
                ("_", vec![ids[1]]),
                ("tariff_q", vec![ids[1]]),
                ("tariff%q", vec![]),
                ("\\", vec![]),
                // The case's number.
                (&format!("#{}", ids[2]), vec![ids[2]]),
            ] {
                let (got, total) = found(search(text)).await;
                assert_eq!(got, want, "{name}: {text:?}");
                assert_eq!(total, want.len() as u64, "{name}: {text:?}");
            }
            // With the other filters, and paged.
            let resolved = CaseQuery {
                state: Some(CaseState::Resolved),
                ..search("wallbox")
            };
            assert_eq!(found(resolved).await, (vec![], 0), "{name}");
            let kind = CaseQuery {
                kind: Some(CaseKind::Question),
                ..search("o")
            };
            assert_eq!(found(kind).await.1, 3, "{name}");
            let second = CaseQuery {
                per_page: 2,
                page: 2,
                sort: CaseSort::Oldest,
                ..search("o")
            };
            assert_eq!(found(second).await, (vec![ids[2]], 3), "{name}");
            let counts = cases.counts(&search("noisy"), me).await.unwrap();
            assert_eq!((counts.open, counts.resolved), (1, 0), "{name}");
        }
    }
}
