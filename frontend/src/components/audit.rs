//! Pieces of the audit trail shared by the audit page and a user's change
//! history: the field changes of an operation, one line each
//! (`first_name: "Anna" → "Anne"`), who made it, an operation whose outcome
//! could not be recorded (status `0`: "Outcome not recorded"), and how many
//! refused requests one entry folds together ("× 37 requests").

use leptos::prelude::*;
use shared::staff::{AuditEntry, FieldChange};

use crate::format::count as number;
use crate::i18n::{t_with, tx};

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

/// The answer's status was not recorded: the operation was started (its
/// intent is in the trail) but whether it succeeded is unknown.
pub fn outcome_unknown(entry: &AuditEntry) -> bool {
    entry.status == 0
}

/// The answer was an error (refused or failed); an unknown outcome
/// (status `0`) is not.
pub fn is_failure(entry: &AuditEntry) -> bool {
    entry.status >= 400
}

/// "Outcome not recorded", for an entry with status `0`.
#[component]
pub fn OutcomeNotRecorded() -> impl IntoView {
    view! {
        <span class="badge warn" data-testid="audit-status" data-outcome="unknown"
              title=tx!("audit.outcome_not_recorded_title")>
            {tx!("audit.outcome_not_recorded")}
        </span>
    }
}

/// "× N requests" when an entry stands for more than one request.
#[component]
pub fn RequestCount(count: u32) -> impl IntoView {
    (count > 1).then(|| {
        view! {
            <span class="badge" data-testid="audit-repeats"
                  title=tx!("audit.repeats_title")>
                {move || t_with("audit.repeats", &[("count", &number(count))])}
            </span>
        }
    })
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
