//! Status badges: the coloured pills for a device's health statuses
//! (`ok` / `warning` / `error` / `unknown`) and for its manufacturer
//! connection ("Connected" / "Connection lost").

use leptos::prelude::*;
use shared::HealthStatus;

use crate::i18n::{t, tx};

/// The badge's CSS class and the key of its text for one health status.
fn look(status: HealthStatus) -> (&'static str, fn() -> String) {
    match status {
        HealthStatus::Ok => ("badge good", || t("status.ok")),
        HealthStatus::Warning => ("badge warn", || t("status.warning")),
        HealthStatus::Error => ("badge bad", || t("status.error")),
        HealthStatus::Unknown => ("badge", || t("status.unknown")),
    }
}

/// One health status (connection, monitoring or steering) as a pill.
#[component]
pub fn StatusBadge(status: HealthStatus) -> impl IntoView {
    let (class, text) = look(status);
    view! { <span class=class data-status=status.as_str()>{text}</span> }
}

/// Whether the manufacturer connection works (`is_authenticated`).
#[component]
pub fn ConnectionBadge(authenticated: bool) -> impl IntoView {
    if authenticated {
        view! { <span class="badge good">{tx!("status.connected")}</span> }.into_any()
    } else {
        view! {
            <span class="badge bad">
                <span aria-hidden="true">"⚠ "</span>
                {tx!("status.connection_lost")}
            </span>
        }
        .into_any()
    }
}
