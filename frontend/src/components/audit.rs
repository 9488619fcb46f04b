//! Pieces of the audit trail shared by the audit page and a user's change
//! history: the field changes of an operation, one line each
//! (`first_name: "Anna" → "Anne"`), and who made it.

use leptos::prelude::*;
use shared::staff::{AuditEntry, FieldChange};

/// A JSON value as compact text: strings quoted, `null` as a dash.
pub fn show_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".to_string(),
        other => serde_json::to_string(other).unwrap_or_else(|_| other.to_string()),
    }
}

/// One change as a line: `field: from → to`.
pub fn change_line(c: &FieldChange) -> String {
    format!(
        "{}: {} → {}",
        c.field,
        show_value(&c.from),
        show_value(&c.to)
    )
}

/// Who made an operation: their e-mail, or a dash (before sign-in).
pub fn actor(entry: &AuditEntry) -> String {
    crate::format::or_dash(entry.actor_email.as_deref())
}

/// The field changes of one operation, one line each (a dash for none).
#[component]
pub fn Changes(changes: Vec<FieldChange>) -> impl IntoView {
    if changes.is_empty() {
        return view! { <span class="changes muted" data-testid="audit-changes">"—"</span> }
            .into_any();
    }
    view! {
        <span class="changes" data-testid="audit-changes">
            {changes
                .iter()
                .map(|c| {
                    let line = change_line(c);
                    view! { <span class="change">{line}</span> }
                })
                .collect_view()}
        </span>
    }
    .into_any()
}
