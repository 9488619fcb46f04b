//! The audit trail: every API operation made through the gateway — who,
//! when, from where, what, on which end-user, with which outcome, and for
//! changes which fields went from what to what.
//!
//! The guard ([`crate::auth::guard`]) gives every `/api` request a
//! [`Note`], classifies the request ([`classify`]), lets the handler add
//! what only it knows (the field changes, the team member concerned, the
//! e-mail tried at a failed sign-in), and appends the record to the
//! database before the response leaves — also when Podero failed or the
//! request was refused. A change is recorded twice: its **intent**
//! ([`Note::begin`], status 0, written before anything is forwarded or
//! stored; if that fails, nothing is changed) and its **outcome** (naming
//! the intent), so a change never stands unrecorded even when the outcome
//! cannot be written. Refusals of clients without a session are folded
//! into one record per client and minute ([`refusals`]). The table refuses
//! `UPDATE` and `DELETE` (triggers), and no code path here writes anything
//! but `INSERT`. Passwords, tokens and cookies are never part of a record:
//! the only values recorded are the user and team fields that changed, and
//! every stored text is capped.

pub mod classify;
pub mod log;
pub mod refusals;

use std::sync::{Arc, Mutex};

use serde_json::Value;
use shared::staff::FieldChange;
use uuid::Uuid;

use crate::error::GatewayError;
pub use classify::{classify, Classified};
pub use log::{AuditLog, Record};

/// What a handler adds to the record of the request it answers.
#[derive(Debug, Clone)]
pub struct Note(Arc<Mutex<NoteInner>>);

#[derive(Debug)]
pub struct NoteInner {
    log: AuditLog,
    /// The record as the guard knows it before the handler runs.
    base: Record,
    pub actor: Option<(Option<Uuid>, String)>,
    pub target_user_id: Option<Uuid>,
    pub changes: Vec<FieldChange>,
    pub detail: Option<String>,
    /// The intent record written by [`Note::begin`].
    pub intent: Option<i64>,
}

impl Note {
    /// A note for a request whose record starts as `base`.
    pub fn new(log: AuditLog, base: Record) -> Self {
        Self(Arc::new(Mutex::new(NoteInner {
            log,
            base,
            actor: None,
            target_user_id: None,
            changes: Vec::new(),
            detail: None,
            intent: None,
        })))
    }

    fn with<R>(&self, f: impl FnOnce(&mut NoteInner) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Who made it (set by the guard; by sign-in, the e-mail tried).
    pub fn actor(&self, id: Option<Uuid>, email: &str) {
        // Bounded here already: refusals are held in memory while folded.
        let email: String = email.chars().take(254).collect();
        self.with(|n| n.actor = Some((id, email)));
    }

    /// The end-user (or team member's Podero user) concerned.
    pub fn target(&self, user: Uuid) {
        self.with(|n| n.target_user_id = Some(user));
    }

    pub fn changes(&self, changes: Vec<FieldChange>) {
        self.with(|n| n.changes = changes);
    }

    pub fn detail(&self, detail: impl Into<String>) {
        self.with(|n| n.detail = Some(detail.into()));
    }

    /// The record as noted so far, with `status`.
    fn record(n: &NoteInner, status: u16) -> Record {
        let (actor_id, actor_email) = match &n.actor {
            Some((id, email)) => (*id, Some(email.clone())),
            None => (None, None),
        };
        Record {
            actor_id,
            actor_email,
            target_user_id: n.target_user_id.or(n.base.target_user_id),
            status,
            changes: n.changes.clone(),
            detail: n.detail.clone(),
            outcome_of: n.intent,
            ..n.base.clone()
        }
    }

    /// Record the intent of a change before it is made (forwarded to
    /// Podero or stored): what is noted so far, with status 0. If it cannot
    /// be written, the change must not be made: the error says so.
    pub async fn begin(&self) -> Result<(), GatewayError> {
        let (log, record) = self.with(|n| {
            if n.intent.is_some() {
                return (None, None);
            }
            (Some(n.log.clone()), Some(Note::record(n, 0)))
        });
        let (Some(log), Some(record)) = (log, record) else {
            return Ok(());
        };
        let id = log.append(record).await.map_err(|e| {
            tracing::error!("could not write the intent record of a change: {e}");
            GatewayError::AuditUnavailable
        })?;
        self.with(|n| n.intent = Some(id));
        Ok(())
    }

    /// Whether [`Note::begin`] wrote an intent.
    pub fn has_intent(&self) -> bool {
        self.with(|n| n.intent.is_some())
    }

    /// The outcome record, with the response's `status` and the error
    /// `code` (as detail when the handler added none).
    pub fn outcome(&self, status: u16, code: Option<&str>) -> Record {
        self.with(|n| {
            let mut r = Note::record(n, status);
            if r.detail.is_none() {
                r.detail = code.map(str::to_string);
            }
            r
        })
    }
}

/// Fields of a JSON object body as changes from nothing (a creation).
pub fn created(body: &Value) -> Vec<FieldChange> {
    diff(&Value::Null, body)
}

/// Fields of `body` (a partial update) whose value differs from `before`
/// (the object as it was), from the old value to the new. Podero's request
/// field `country_iso2` is compared with the answer's `country`.
pub fn diff(before: &Value, body: &Value) -> Vec<FieldChange> {
    let Some(fields) = body.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (field, to) in fields {
        let old_name = if field == "country_iso2" {
            "country"
        } else {
            field
        };
        let from = before.get(old_name).cloned().unwrap_or(Value::Null);
        if &from != to && !same_number(&from, to) {
            out.push(FieldChange {
                field: field.clone(),
                from,
                to: to.clone(),
            });
        }
    }
    out
}

/// `48.2` and `48.20` (or `1` and `1.0`) are the same value.
fn same_number(a: &Value, b: &Value) -> bool {
    matches!((a.as_f64(), b.as_f64()), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_names_only_changed_fields() {
        let before =
            json!({"first_name": "Anna", "last_name": "Huber", "country": "AT", "latitude": 48.2});
        let body = json!({"first_name": "Anne", "last_name": "Huber", "country_iso2": "DE", "latitude": 48.20, "town": "Linz"});
        let changes = diff(&before, &body);
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["country_iso2", "first_name", "town"]);
        assert_eq!(changes[1].from, json!("Anna"));
        assert_eq!(changes[1].to, json!("Anne"));
        assert_eq!(changes[2].from, Value::Null);
        assert_eq!(created(&json!({"email": "a@b.de"}))[0].to, json!("a@b.de"));
    }
}
