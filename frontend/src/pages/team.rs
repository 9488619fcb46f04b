//! Team administration (`/team`): the organisation's admins and staff.

use leptos::prelude::*;

#[component]
pub fn TeamPage() -> impl IntoView {
    view! { <h1>"Team"</h1> }
}
