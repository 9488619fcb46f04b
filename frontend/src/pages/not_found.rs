//! The page for an address the app does not know.

use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="empty" data-testid="not-found">
            <h1>"Page not found"</h1>
            <p>"This address does not exist in the back-office. "<a href="/">"Go to the users list"</a>"."</p>
        </section>
    }
}
