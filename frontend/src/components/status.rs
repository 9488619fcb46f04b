//! Status badges: the coloured pills for a device's health statuses
//! (`ok` / `warning` / `error` / `unknown`) and for its manufacturer
//! connection ("Connected" / "Connection lost").

use leptos::prelude::*;
use shared::HealthStatus;

/// The badge's CSS class and its text for one health status.
fn look(status: HealthStatus) -> (&'static str, &'static str) {
    match status {
        HealthStatus::Ok => ("badge good", "OK"),
        HealthStatus::Warning => ("badge warn", "Warning"),
        HealthStatus::Error => ("badge bad", "Error"),
        HealthStatus::Unknown => ("badge", "Unknown"),
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
        view! { <span class="badge good">"Connected"</span> }.into_any()
    } else {
        view! {
            <span class="badge bad">
                <span aria-hidden="true">"⚠ "</span>
                "Connection lost"
            </span>
        }
        .into_any()
    }
}
