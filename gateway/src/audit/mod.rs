//! The audit trail: every API operation made through the gateway — who,
//! when, from where, what, on which end-user, with which outcome, and for
//! changes which fields went from what to what.
//!
//! The guard ([`crate::auth::guard`]) gives every `/api` request a
//! [`Note`], classifies the request ([`classify`]), lets the handler add
//! what only it knows (the field changes, the team member concerned, the
//! e-mail tried at a failed sign-in), and appends the record to the
//! database before the response leaves — also when Podero failed or the
//! request was refused. The table refuses `UPDATE` and `DELETE` (triggers),
//! and no code path here writes anything but `INSERT`. Passwords, tokens
//! and cookies are never part of a record: the only values recorded are
//! the user and team fields that changed.

pub mod classify;
pub mod log;

use std::sync::{Arc, Mutex};

use serde_json::Value;
use shared::staff::FieldChange;
use uuid::Uuid;

pub use classify::{classify, Classified};
pub use log::{AuditLog, Record};

/// What a handler adds to the record of the request it answers.
#[derive(Debug, Clone, Default)]
pub struct Note(Arc<Mutex<NoteInner>>);

#[derive(Debug, Default)]
pub struct NoteInner {
    pub actor: Option<(Option<Uuid>, String)>,
    pub target_user_id: Option<Uuid>,
    pub changes: Vec<FieldChange>,
    pub detail: Option<String>,
}

impl Note {
    fn with<R>(&self, f: impl FnOnce(&mut NoteInner) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Who made it (set by the guard; by sign-in, the e-mail tried).
    pub fn actor(&self, id: Option<Uuid>, email: &str) {
        self.with(|n| n.actor = Some((id, email.to_string())));
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

    pub fn take(&self) -> NoteInner {
        self.with(std::mem::take)
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
