//! Loading skeletons, error panels and empty states: what a person sees
//! instead of a blank page.

use leptos::prelude::*;

/// A skeleton while something loads.
#[component]
pub fn Loading(#[prop(into)] what: String) -> impl IntoView {
    view! {
        <div class="skeleton" data-testid="loading" role="status" aria-live="polite">
            <span class="visually-hidden">{format!("Loading {what}…")}</span>
            <div class="bar"></div>
            <div class="bar short"></div>
            <div class="bar"></div>
        </div>
    }
}

/// An error with the server's message and, if given, a Retry button.
/// `title` defaults to "Something went wrong."
#[component]
pub fn ErrorPanel(
    #[prop(into)] message: String,
    #[prop(optional, into)] title: Option<String>,
    #[prop(optional)] retry: Option<Callback<()>>,
) -> impl IntoView {
    let title = title.unwrap_or_else(|| "Something went wrong.".into());
    view! {
        <div class="error-panel" data-testid="error-panel" role="alert">
            <strong>{title}" "</strong>
            <span>{message}</span>
            {retry.map(|r| view! { <button type="button" on:click=move |_| r.run(())>"Retry"</button> })}
        </div>
    }
}

/// Nothing to show, and what to do about it.
#[component]
pub fn EmptyState(#[prop(into)] message: String) -> impl IntoView {
    view! { <p class="empty" data-testid="empty-state">{message}</p> }
}
