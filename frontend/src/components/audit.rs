//! Pieces of the audit trail shared by the audit page and a user's change
//! history: what an operation was, by its label in the language of the
//! moment ("User changed"; the code, `user.update`, in its tooltip and as
//! the text of a code this app does not know), the field changes of an
//! operation, one line each by the field's label in the user form
//! (`First name: "Anna" → "Anne"`; a field the form does not have by its
//! name), who made it, an operation whose outcome could not be recorded
//! (status `0`: "Outcome not recorded"), and how many refused requests one
//! entry folds together ("× 37 requests").

use leptos::prelude::*;
use shared::audit_action::action_label;
use shared::staff::{AuditEntry, FieldChange};

use crate::format::count as number;
use crate::i18n::{lang, t_with, tx};
use crate::pages::user_form::fields::Field;

/// A JSON value as compact text: strings quoted, `null` as a dash.
pub fn show_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".to_string(),
        other => serde_json::to_string(other).unwrap_or_else(|_| other.to_string()),
    }
}

/// A changed field's label: the user form's (tracked), else its name.
pub fn field_label(name: &str) -> String {
    Field::from_name(name).map_or_else(|| name.to_string(), Field::label)
}

/// One change as a line: `Field: from → to`.
pub fn change_line(c: &FieldChange) -> String {
    format!(
        "{}: {} → {}",
        field_label(&c.field),
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

/// What an operation was: its label (tracked), the code in `data-action`
/// and, with `note` (e.g. the request's route), in the tooltip.
#[component]
pub fn Action(code: String, #[prop(optional, into)] note: Option<String>) -> impl IntoView {
    let tooltip = match note {
        Some(note) => format!("{code} · {note}"),
        None => code.clone(),
    };
    let label = code.clone();
    view! {
        <span class="audit-action" data-testid="audit-action" data-action=code title=tooltip>
            {move || action_label(&label, lang())}
        </span>
    }
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
                    let (line, name) = (change_line(c), c.field.clone());
                    view! { <span class="change" data-field=name.clone() title=name>{line}</span> }
                })
                .collect_view()}
        </span>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_name_fields_by_the_forms_labels_and_others_by_name() {
        let line = |field: &str| {
            change_line(&FieldChange {
                field: field.to_string(),
                from: json!("AT"),
                to: json!(null),
            })
        };
        assert_eq!(line("country_iso2"), "Country: \"AT\" → —");
        assert_eq!(line("country"), "Country: \"AT\" → —");
        assert_eq!(field_label("first_name"), "First name");
        assert_eq!(
            line("is_smart_optimization_active"),
            "is_smart_optimization_active: \"AT\" → —"
        );
    }
}
