//! The page for an address the app does not know.

use leptos::prelude::*;

use crate::i18n::tx;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="empty" data-testid="not-found">
            <h1>{tx!("not_found.title")}</h1>
            <p>{tx!("not_found.text")}" "<a href="/">{tx!("not_found.link")}</a>"."</p>
        </section>
    }
}
