//! The sign-in page (`/sign-in`), shown whenever nobody is signed in.
//!
//! Opened at any other address (a bookmark, a session that just ended),
//! it moves to `/sign-in?next=<that address>`, and once signed in the app
//! continues there (see `app.rs`; only addresses inside the app are
//! followed). A refused sign-in shows the gateway's own words (the same
//! for an unknown e-mail and a wrong password; after too many attempts,
//! when to try again); the e-mail typed stays.

use leptos::ev::SubmitEvent;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::NavigateOptions;
use shared::staff::SignIn;

use crate::api::{self, ApiFailure};
use crate::i18n::{t, tx, Text};
use crate::session::{path_and_query, sign_in_href, use_session, SIGN_IN_PATH};

#[component]
pub fn SignInPage() -> impl IntoView {
    let session = use_session();
    let location = use_location();
    let navigate = use_navigate();
    // Another address: show it as the sign-in page's, keeping it as `next`.
    Effect::new(move |_| {
        let path = location.pathname.get();
        if path != SIGN_IN_PATH {
            let here = path_and_query(&path, &location.search.get_untracked());
            navigate(
                &sign_in_href(&here),
                NavigateOptions {
                    replace: true,
                    scroll: false,
                    ..Default::default()
                },
            );
        }
    });

    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Text>);
    let busy = RwSignal::new(false);
    let email_ref = NodeRef::<html::Input>::new();
    let password_ref = NodeRef::<html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = email_ref.get() {
            let _ = input.focus();
        }
    });

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let body = SignIn {
            email: email.get_untracked().trim().to_string(),
            password: password.get_untracked(),
        };
        if body.email.is_empty() || body.password.is_empty() {
            error.set(Some(Text::Key("sign_in.enter_both")));
            let empty = if body.email.is_empty() {
                email_ref
            } else {
                password_ref
            };
            if let Some(input) = empty.get_untracked() {
                let _ = input.focus();
            }
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::sign_in(&body).await {
                // The shell takes over: the password change or `next`.
                Ok(info) => {
                    session.ended.set(false);
                    session.info.set(Some(info));
                }
                Err(e) => {
                    let message = match &e {
                        // Refused (401), too many attempts (429), a bad
                        // e-mail (422): the gateway's words say what to do.
                        ApiFailure::Api { status, .. } if (400..500).contains(status) => e.detail(),
                        _ => e.message(),
                    };
                    error.set(Some(Text::Plain(message)));
                    password.set(String::new());
                    busy.set(false);
                    if let Some(input) = password_ref.get_untracked() {
                        let _ = input.focus();
                    }
                }
            }
        });
    };

    let invalid = move || error.get().is_some().to_string();
    view! {
        <section class="auth" aria-labelledby="sign-in-h">
            <h1 id="sign-in-h">{tx!("sign_in.title")}</h1>
            <p class="muted">{tx!("sign_in.intro")}</p>
            <Show when=move || session.ended.get()>
                <p class="notice" role="status" data-testid="session-ended">
                    {tx!("sign_in.session_ended")}
                </p>
            </Show>
            <form id="sign-in" class="auth-form" on:submit=submit novalidate=true>
                <div class="field">
                    <label for="sign-in-email">{tx!("sign_in.email")}</label>
                    <input id="sign-in-email" type="email" name="email" autocomplete="username"
                           required=true spellcheck="false" node_ref=email_ref
                           aria-invalid=invalid aria-describedby="sign-in-message"
                           prop:value=move || email.get()
                           on:input=move |ev| email.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label for="sign-in-password">{tx!("sign_in.password")}</label>
                    <input id="sign-in-password" type="password" name="password" autocomplete="current-password"
                           required=true node_ref=password_ref
                           aria-invalid=invalid aria-describedby="sign-in-message"
                           prop:value=move || password.get()
                           on:input=move |ev| password.set(event_target_value(&ev))/>
                </div>
                <p id="sign-in-message" class="field-error" data-testid="sign-in-error" role="alert"
                   hidden=move || error.get().is_none()>
                    {move || error.get().map(|e| e.get())}
                </p>
                <button type="submit" class="primary" data-testid="sign-in-submit" disabled=move || busy.get()>
                    {move || if busy.get() { t("sign_in.signing_in") } else { t("sign_in.submit") }}
                </button>
            </form>
        </section>
    }
}
