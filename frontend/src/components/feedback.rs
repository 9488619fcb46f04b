//! Loading skeletons, error panels and empty states: what a person sees
//! instead of a blank page; and the plain panels for a page the signed-in
//! role may not use (admins only, read only), shown instead of a request
//! the gateway would refuse.

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

/// A page for admins only, opened by someone else: says so, asks nothing.
#[component]
pub fn AdminOnly(
    /// What the page shows, e.g. "the team".
    what: &'static str,
) -> impl IntoView {
    view! {
        <div class="empty role-note" data-testid="admin-only" role="note">
            <p><strong>{format!("Only admins can see {what}.")}</strong></p>
            <p>"Ask an admin of your organisation if you need something here."</p>
        </div>
    }
}

/// A form the signed-in role may not use: what the role can do instead.
#[component]
pub fn ReadOnly(
    /// The role's label, e.g. "Viewer".
    role: &'static str,
    /// What else to say, e.g. which users the role can change.
    #[prop(optional, into)]
    note: Option<String>,
) -> impl IntoView {
    view! {
        <div class="empty role-note" data-testid="read-only" role="note">
            <p><strong>{format!("Your role ({role}) can only read.")}</strong></p>
            {note.map(|n| view! { <p>{n}</p> })}
            <p><a href="/">"Back to the users list"</a></p>
        </div>
    }
}
