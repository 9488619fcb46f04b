//! Loading skeletons, error panels and empty states: what a person sees
//! instead of a blank page; and the plain panels for a page the signed-in
//! role may not use (admins only, read only), shown instead of a request
//! the gateway would refuse.

use leptos::prelude::*;

use crate::i18n::{t, t_with, tx};

/// A skeleton while something loads; `text` says what ("Loading users…").
#[component]
pub fn Loading(#[prop(into)] text: Signal<String>) -> impl IntoView {
    view! {
        <div class="skeleton" data-testid="loading" role="status" aria-live="polite">
            <span class="visually-hidden">{text}</span>
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
    #[prop(into)] message: Signal<String>,
    #[prop(optional, into)] title: Option<Signal<String>>,
    #[prop(optional)] retry: Option<Callback<()>>,
) -> impl IntoView {
    let title = move || match title {
        Some(title) => title.get(),
        None => t("error.something_went_wrong"),
    };
    view! {
        <div class="error-panel" data-testid="error-panel" role="alert">
            <strong>{title}" "</strong>
            <span>{message}</span>
            {retry.map(|r| view! { <button type="button" on:click=move |_| r.run(())>{tx!("common.retry")}</button> })}
        </div>
    }
}

/// Nothing to show, and what to do about it.
#[component]
pub fn EmptyState(#[prop(into)] message: Signal<String>) -> impl IntoView {
    view! { <p class="empty" data-testid="empty-state">{message}</p> }
}

/// A page for admins only, opened by someone else: says so, asks nothing.
#[component]
pub fn AdminOnly(
    /// What to say, e.g. "Only admins can see the team."
    #[prop(into)]
    message: Signal<String>,
) -> impl IntoView {
    view! {
        <div class="empty role-note" data-testid="admin-only" role="note">
            <p><strong>{message}</strong></p>
            <p>{tx!("feedback.ask_an_admin")}</p>
        </div>
    }
}

/// A form the signed-in role may not use: what the role can do instead.
#[component]
pub fn ReadOnly(
    /// The role's label, e.g. "Viewer".
    #[prop(into)]
    role: Signal<String>,
    /// What else to say, e.g. which users the role can change.
    #[prop(optional, into)]
    note: Option<Signal<String>>,
) -> impl IntoView {
    view! {
        <div class="empty role-note" data-testid="read-only" role="note">
            <p><strong>{move || t_with("feedback.read_only", &[("role", &role.get())])}</strong></p>
            {note.map(|n| view! { <p>{n}</p> })}
            <p><a href="/">{tx!("feedback.back_to_users")}</a></p>
        </div>
    }
}
