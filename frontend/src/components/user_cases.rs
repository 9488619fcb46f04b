//! A user's support cases, on their page: every case (open ones and
//! resolved ones), when the fleet watch last read this user's devices,
//! and the "Open a case" form for roles that may work cases (kind,
//! subject, priority, optionally one of the user's devices, a first
//! comment). The form is checked in the browser with the same rules as
//! the gateway (`NewCase::validate`); a refusal keeps everything typed,
//! shows each message next to its field and moves the focus to the first
//! wrong field.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::cases::{CaseKind, CaseQuery, NewCase, Priority, WatchedUser, CASES_MAX_PER_PAGE};
use shared::{Device, FieldError};
use uuid::Uuid;

use crate::api::{self, ApiFailure};
use crate::components::cases::{use_case_summary, CaseTable};
use crate::components::feedback::{EmptyState, ErrorPanel, Loading};
use crate::components::form::{
    clear_error, error_for, focus_first_error, server_field_errors, TextField,
};
use crate::components::toast::use_toasts;
use crate::format::{ago, stamp};
use crate::i18n::{lang, t, t_with, tx};

/// The user's cases, the watch's last check, and "Open a case".
#[component]
pub fn UserCases(
    user_id: Uuid,
    /// The user's devices, as the page loaded them (for the device choice).
    devices: LocalResource<Result<Vec<Device>, ApiFailure>>,
    watched: LocalResource<Result<WatchedUser, ApiFailure>>,
    /// The signed-in role may work cases for this user.
    can_work: bool,
) -> impl IntoView {
    let summary = use_case_summary();
    let cases = LocalResource::new(move || async move {
        api::cases(&CaseQuery {
            user_id: Some(user_id),
            per_page: CASES_MAX_PER_PAGE,
            ..Default::default()
        })
        .await
    });
    // Read again with the top bar's counts (the watch opens and resolves
    // cases by itself); not on the first counts.
    summary.on_change(move || cases.refetch());
    let reload = Callback::new(move |_| cases.refetch());
    let checked = move || {
        match watched.get() {
        Some(Ok(w)) => Some(match w.checked_at {
            Some(at) => view! {
                <p class="muted watch-checked" data-testid="watch-checked" title=stamp(Some(at))>
                    {t_with("user_cases.watch_checked", &[("ago", &ago(Some(at)))])}
                </p>
            }
            .into_any(),
            None => view! {
                <p class="muted watch-checked" data-testid="watch-checked">{t("user_cases.watch_not_yet")}</p>
            }
            .into_any(),
        }),
        _ => None,
    }
    };
    view! {
        <section class="user-cases" aria-labelledby="user-cases-h" data-testid="user-cases">
            <h2 id="user-cases-h">{tx!("user_cases.title")}</h2>
            {checked}
            {move || match cases.get() {
                None => view! { <Loading text=tx!("user_cases.loading")/> }.into_any(),
                Some(Err(e)) => view! { <ErrorPanel message=e.message() retry=reload/> }.into_any(),
                Some(Ok(list)) if list.cases.is_empty() => view! {
                    <EmptyState message=tx!("user_cases.empty")/>
                }.into_any(),
                Some(Ok(list)) => {
                    // Built anew on a language switch.
                    lang();
                    view! { <CaseTable cases=list.cases show_customer=false changed=reload/> }.into_any()
                }
            }}
            {can_work.then(|| view! { <NewCaseForm user_id devices created=reload/> })}
        </section>
    }
}

/// A device of the user as a choice: its id and kind, and its name.
fn device_choices(devices: &[Device]) -> Vec<(Uuid, shared::DeviceKind, String)> {
    let l = lang();
    devices
        .iter()
        .map(|d| {
            let c = d.common();
            let kind = d.kind();
            let name = match c.model_name() {
                Some(m) => format!("{} — {m}", kind.label_in(l)),
                None => kind.label_in(l),
            };
            let name = if c.is_authenticated {
                name
            } else {
                t_with("user_cases.device_lost", &[("device", &name)])
            };
            (c.id, kind, name)
        })
        .collect()
}

/// The new case form's fields that can be wrong, in the order on screen,
/// with their input's `id`.
const CASE_FIELDS: [(&str, &str); 4] = [
    ("kind", "f-case-kind"),
    ("subject", "f-subject"),
    ("device_id", "f-case-device"),
    ("comment", "f-case-comment"),
];

#[component]
fn NewCaseForm(
    user_id: Uuid,
    devices: LocalResource<Result<Vec<Device>, ApiFailure>>,
    created: Callback<()>,
) -> impl IntoView {
    let toasts = use_toasts();
    let summary = use_case_summary();
    let open = RwSignal::new(false);
    let kind = RwSignal::new(String::new());
    let subject = RwSignal::new(String::new());
    let priority = RwSignal::new(Priority::Normal.as_str().to_string());
    let device = RwSignal::new(String::new());
    let comment = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let general = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    // The focus follows the form: to its first field when it opens, back
    // to "Open a case" when it closes (saved or cancelled), not at load.
    let kind_ref = NodeRef::<leptos::html::Select>::new();
    let open_ref = NodeRef::<leptos::html::Button>::new();
    let closed = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(select) = kind_ref.get() {
            let _ = select.focus();
        }
    });
    Effect::new(move |_| {
        if let Some(button) = open_ref.get() {
            if closed.get_untracked() {
                closed.set(false);
                let _ = button.focus();
            }
        }
    });
    let close = move || {
        closed.set(true);
        open.set(false);
        errors.set(Vec::new());
        general.set(None);
    };
    let choices = Memo::new(move |_| match devices.get() {
        Some(Ok(list)) => device_choices(&list),
        _ => Vec::new(),
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let chosen = Uuid::parse_str(&device.get_untracked()).ok();
        let device_kind = chosen.and_then(|id| {
            choices
                .get_untracked()
                .into_iter()
                .find(|(d, _, _)| *d == id)
                .map(|(_, k, _)| k)
        });
        let text = comment.get_untracked();
        let body = NewCase {
            user_id,
            device_id: chosen,
            device_kind,
            kind: CaseKind::parse(&kind.get_untracked()),
            subject: subject.get_untracked(),
            priority: Priority::parse(&priority.get_untracked()),
            comment: Some(text).filter(|t| !t.trim().is_empty()),
        };
        general.set(None);
        if let Err(list) = body.validate() {
            errors.set(list.clone());
            focus_first_error(&CASE_FIELDS, &list);
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match api::create_case(&body).await {
                Ok(d) => {
                    toasts.success(t_with(
                        "user_cases.created_toast",
                        &[("subject", &d.case.subject), ("id", &d.case.id.to_string())],
                    ));
                    kind.set(String::new());
                    subject.set(String::new());
                    priority.set(Priority::Normal.as_str().to_string());
                    device.set(String::new());
                    comment.set(String::new());
                    errors.set(Vec::new());
                    close();
                    summary.refresh();
                    created.run(());
                }
                Err(e) => match server_field_errors(&e) {
                    Some(list) => {
                        errors.set(list.clone());
                        focus_first_error(&CASE_FIELDS, &list);
                    }
                    None => general.set(Some(e.message())),
                },
            }
            busy.set(false);
        });
    };
    let message = move |field: &'static str| move || errors.with(|e| error_for(e, field));
    view! {
        <Show when=move || !open.get()>
            <button type="button" class="primary" data-testid="open-case" node_ref=open_ref on:click=move |_| open.set(true)>
                {tx!("user_cases.open_case")}
            </button>
        </Show>
        <Show when=move || open.get()>
            <form class="case-form" data-testid="new-case-form" on:submit=submit novalidate=true
                  on:keydown=move |ev| if ev.key() == "Escape" { close() }
                  aria-labelledby="new-case-h">
                <h3 id="new-case-h" class="span">{tx!("user_cases.form_title")}</h3>
                <div class="field" class:invalid=move || message("kind")().is_some()>
                    <label for="f-case-kind">{tx!("user_cases.field_kind")}<span class="req" aria-hidden="true">" *"</span></label>
                    <select id="f-case-kind" data-testid="field-kind" required=true node_ref=kind_ref
                            aria-invalid=move || message("kind")().is_some().to_string()
                            aria-describedby="err-kind"
                            prop:value=move || kind.get()
                            on:change=move |ev| { kind.set(event_target_value(&ev)); clear_error(errors, "kind"); }>
                        <option value="">{tx!("user_cases.choose_kind")}</option>
                        {CaseKind::ALL.iter().map(|k| view! {
                            <option value=k.as_str()>{move || k.label(lang())}</option>
                        }).collect_view()}
                    </select>
                    <p class="field-error" id="err-kind" data-testid="error-kind" role="alert" hidden=move || message("kind")().is_none()>
                        {message("kind")}
                    </p>
                </div>
                <div class="span">
                    <TextField name="subject" label=tx!("user_cases.field_subject") value=subject errors required=true/>
                </div>
                <div class="field">
                    <label for="f-case-priority">{tx!("user_cases.field_priority")}</label>
                    <select id="f-case-priority" data-testid="field-priority"
                            prop:value=move || priority.get()
                            on:change=move |ev| priority.set(event_target_value(&ev))>
                        {Priority::ALL.iter().map(|p| view! {
                            <option value=p.as_str()>{move || p.label(lang())}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field" class:invalid=move || message("device_id")().is_some()>
                    <label for="f-case-device">{tx!("user_cases.field_device")}</label>
                    <select id="f-case-device" data-testid="field-device"
                            aria-invalid=move || message("device_id")().is_some().to_string()
                            aria-describedby="err-device_id"
                            prop:value=move || device.get()
                            on:change=move |ev| { device.set(event_target_value(&ev)); clear_error(errors, "device_id"); }>
                        <option value="">{tx!("user_cases.no_device")}</option>
                        {move || choices.get().into_iter().map(|(id, _, name)| view! {
                            <option value=id.to_string()>{name}</option>
                        }).collect_view()}
                    </select>
                    <p class="field-error" id="err-device_id" data-testid="error-device_id" role="alert" hidden=move || message("device_id")().is_none()>
                        {message("device_id")}
                    </p>
                </div>
                <div class="field span" class:invalid=move || message("comment")().is_some()>
                    <label for="f-case-comment">{tx!("user_cases.field_comment")}</label>
                    <textarea id="f-case-comment" data-testid="field-comment" rows="3"
                              aria-invalid=move || message("comment")().is_some().to_string()
                              aria-describedby="err-comment"
                              prop:value=move || comment.get()
                              on:input=move |ev| { comment.set(event_target_value(&ev)); clear_error(errors, "comment"); }></textarea>
                    <p class="field-error" id="err-comment" data-testid="error-comment" role="alert" hidden=move || message("comment")().is_none()>
                        {message("comment")}
                    </p>
                </div>
                <p class="field-error span" role="alert" data-testid="new-case-error" hidden=move || general.get().is_none()>
                    {move || general.get()}
                </p>
                <div class="actions span">
                    <button type="submit" class="primary" data-testid="new-case-submit" disabled=move || busy.get()>
                        {tx!("user_cases.submit")}
                    </button>
                    <button type="button" data-testid="new-case-cancel" on:click=move |_| close()>
                        {tx!("common.cancel")}
                    </button>
                </div>
            </form>
        </Show>
    }
}
