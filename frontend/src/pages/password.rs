//! Change of the signed-in account's password: forced (the only page shown
//! while the account still has its one-time password) and voluntary
//! (`/account/password`, from the top bar).
//!
//! The new password is checked as the gateway checks it
//! (`ChangePassword::validate`, shared) when a field is left and on
//! submit, plus "repeat new password", which only the browser checks. The
//! server's field messages (a wrong current password) land under the same
//! fields. Afterwards the app continues to `next`, the address the person
//! was going to.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::NavigateOptions;
use shared::staff::{ChangePassword, MIN_PASSWORD_LEN};
use shared::FieldError;

use crate::api;
use crate::components::feedback::ErrorPanel;
use crate::components::form::{server_field_errors, TextField};
use crate::components::toast::use_toasts;
use crate::i18n::{field_error, t, t_with, tx, Text};
use crate::session::{safe_next, use_session};

/// The fields, in order, with the `id` of their input.
const FIELDS: [(&str, &str); 3] = [
    ("current_password", "current-password"),
    ("new_password", "new-password"),
    ("new_password_again", "new-password-again"),
];

/// Focus the first field with an error.
fn focus_first(errors: &[FieldError]) {
    crate::components::form::focus_first_error(&FIELDS, errors);
}

#[component]
pub fn PasswordPage(
    /// The account still has its one-time password: nothing else is shown.
    forced: bool,
) -> impl IntoView {
    let session = use_session();
    let toasts = use_toasts();
    let navigate = use_navigate();
    let location = use_location();
    let query = use_query_map();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let failure = RwSignal::new(None::<Text>);
    let busy = RwSignal::new(false);

    // The body, or every problem at once (the repeat included).
    let check = move || -> Result<ChangePassword, Vec<FieldError>> {
        let body = ChangePassword {
            current_password: current.get_untracked(),
            new_password: new.get_untracked(),
        };
        let mut problems = body.validate(&session.email()).err().unwrap_or_default();
        let repeat = again.get_untracked();
        if repeat.is_empty() {
            problems.push(field_error("new_password_again", "password.repeat_missing"));
        } else if repeat != body.new_password {
            problems.push(field_error("new_password_again", "password.repeat_differs"));
        }
        if problems.is_empty() {
            Ok(body)
        } else {
            Err(problems)
        }
    };
    // Leaving a field re-checks, showing only problems of fields with
    // something typed (an untouched field is not yet an error).
    let on_blur = Callback::new(move |_| {
        let typed = |field: &str| match field {
            "current_password" => !current.get_untracked().is_empty(),
            "new_password" => !new.get_untracked().is_empty(),
            _ => !again.get_untracked().is_empty(),
        };
        errors.set(
            check()
                .err()
                .unwrap_or_default()
                .into_iter()
                .filter(|e| typed(&e.field))
                .collect(),
        );
    });

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        failure.set(None);
        let body = match check() {
            Ok(b) => b,
            Err(e) => {
                focus_first(&e);
                errors.set(e);
                return;
            }
        };
        errors.set(Vec::new());
        busy.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::change_password(&body).await {
                Ok(info) => {
                    toasts.success(t("password.changed"));
                    // Forced: the app appears at the address the person was
                    // going to (the sign-in page passes on its `next`).
                    // Voluntary: on to `next`, or the start page.
                    let here = location.pathname.get_untracked();
                    if !forced || here == "/account/password" {
                        let next = query
                            .with_untracked(|q| q.get("next"))
                            .and_then(|n| safe_next(&n))
                            .unwrap_or_else(|| "/".to_string());
                        navigate(&next, NavigateOptions::default());
                    }
                    session.info.set(Some(info));
                }
                Err(e) => {
                    match server_field_errors(&e) {
                        Some(fe) => {
                            focus_first(&fe);
                            errors.set(fe);
                        }
                        None => failure.set(Some(Text::Plain(e.message()))),
                    }
                    busy.set(false);
                }
            }
        });
    };

    let hint = move || t_with("password.hint", &[("min", &MIN_PASSWORD_LEN.to_string())]);
    view! {
        {(!forced).then(|| view! { <p class="crumbs"><a href="/">{tx!("common.back_to_users")}</a></p> })}
        <section class="auth" aria-labelledby="password-h">
            <h1 id="password-h">{move || if forced { t("password.choose_title") } else { t("password.change_title") }}</h1>
            {if forced {
                view! {
                    <p class="notice" data-testid="password-required">
                        {tx!("password.required")}
                    </p>
                }.into_any()
            } else {
                view! { <p class="muted">{tx!("password.voluntary")}</p> }.into_any()
            }}
            <form class="auth-form" data-testid="password-form" on:submit=submit novalidate=true>
                // For password managers: whose password this is.
                <input type="email" name="username" autocomplete="username" hidden=true readonly=true
                       prop:value=move || session.email()/>
                <TextField name="current_password" id="current-password"
                    label=move || if forced { t("password.one_time") } else { t("password.current") }
                    value=current errors on_blur input_type="password" autocomplete="current-password" required=true/>
                <TextField name="new_password" id="new-password" label=tx!("password.new") value=new errors on_blur
                    input_type="password" autocomplete="new-password" required=true hint/>
                <TextField name="new_password_again" id="new-password-again" label=tx!("password.repeat") value=again errors on_blur
                    input_type="password" autocomplete="new-password" required=true/>
                {move || failure.get().map(|m| view! { <ErrorPanel message=move || m.get() title=tx!("password.not_changed")/> })}
                <div class="actions">
                    <button type="submit" class="primary" data-testid="password-submit" disabled=move || busy.get()>
                        {move || if busy.get() { t("password.saving") } else { t("password.submit") }}
                    </button>
                    {(!forced).then(|| view! { <a class="button" href="/">{tx!("common.cancel")}</a> })}
                </div>
            </form>
        </section>
    }
}
