//! "Needs reconnection" (`/reconnection`): every device of the organisation
//! whose manufacturer connection is lost.

use leptos::prelude::*;

#[component]
pub fn ReconnectionPage() -> impl IntoView {
    view! { <h1>"Needs reconnection"</h1> }
}
