//! Customer self-service links, on a user's page and a case: "Create
//! link" (the address shown once, with Copy and until when it works),
//! "Send to customer" (the link by e-mail in German or English; the
//! answer says where it went, or that it waits in the outbox when no mail
//! server is configured), and the user's links with their state, who
//! created them, expiry, uses and to whom they were sent, with "Revoke"
//! (after a confirmation) for the active ones.
//!
//! Creating, sending and revoking are offered only to a role that may
//! change this user (`can_act`: staff for end-users, admins); every role
//! reads the list. The gateway enforces the same and keeps only a hash of
//! each link: its address exists in the answer that created it and is
//! never listed again.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::self_service::{LinkInfo, LinkState, NewLink, SendLink, SentLink};
use shared::{FieldError, Lang};
use uuid::Uuid;

use crate::api;
use crate::components::confirm::ConfirmDialog;
use crate::components::device_card::copy_to_clipboard;
use crate::components::feedback::{EmptyState, ErrorPanel, Loading};
use crate::components::form::{clear_error, error_for, server_field_errors};
use crate::components::toast::use_toasts;
use crate::format::{ago, count, local_time, or_dash, stamp};
use crate::i18n::{lang, t, t_with, tx};

/// The user's self-service section: create, send, and the list of links.
#[component]
pub fn SelfServiceLinks(
    user_id: Uuid,
    /// The customer's e-mail (where "Send to customer" sends).
    email: String,
    /// The customer's country (the message's language by default).
    country: Option<String>,
    /// The signed-in role may create, send and revoke for this user.
    can_act: bool,
) -> impl IntoView {
    let links = LocalResource::new(move || api::self_service_links(user_id));
    let reload = Callback::new(move |_| links.refetch());
    view! {
        <section class="self-service" aria-labelledby="self-service-h" data-testid="self-service">
            <h2 id="self-service-h">{tx!("self_service.title")}</h2>
            <p class="muted">{tx!("self_service.intro")}</p>
            {can_act.then(|| view! {
                <div class="self-service-actions">
                    <CreateLink user_id created=reload/>
                    <SendToCustomer user_id email country=country.clone() case_id=None sent=Callback::new(move |_| links.refetch())/>
                </div>
            })}
            <h3>{tx!("self_service.links")}</h3>
            {move || match links.get() {
                None => view! { <Loading text=tx!("self_service.loading")/> }.into_any(),
                Some(Err(e)) => view! { <ErrorPanel message=e.message() retry=reload/> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <EmptyState message=tx!("self_service.empty")/>
                }.into_any(),
                Some(Ok(list)) => {
                    // Built anew on a language switch.
                    lang();
                    view! { <LinkTable user_id links=list can_act revoked=reload/> }.into_any()
                }
            }}
        </section>
    }
}

/// "Create link", then the new link (shown once).
#[component]
fn CreateLink(user_id: Uuid, created: Callback<()>) -> impl IntoView {
    let toasts = use_toasts();
    let busy = RwSignal::new(false);
    let link = RwSignal::new(None::<NewLink>);
    let create = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match api::create_self_service_link(user_id).await {
                Ok(l) => {
                    link.set(Some(l));
                    created.run(());
                }
                Err(e) => toasts.error(t_with(
                    "self_service.create_failed",
                    &[("error", &e.message())],
                )),
            }
            busy.set(false);
        });
    };
    view! {
        <div class="self-service-create">
            <button type="button" data-testid="ss-create-link" disabled=move || busy.get() on:click=create>
                {tx!("self_service.create")}
            </button>
            {move || link.get().map(|l| view! { <OneTimeLink link=l testid="ss-new-link"/> })}
        </div>
    }
}

/// A link just created: its address (shown only now), Copy, and until
/// when it works.
#[component]
fn OneTimeLink(link: NewLink, testid: &'static str) -> impl IntoView {
    let note = RwSignal::new(None::<&'static str>);
    let url = link.url.clone();
    let copy = move |_| {
        let url = url.clone();
        spawn_local(async move {
            note.set(Some(if copy_to_clipboard(url).await {
                "self_service.copied"
            } else {
                "self_service.copy_refused"
            }));
        });
    };
    let expires = link.expires_at;
    view! {
        <div class="one-time-link" data-testid=testid role="status">
            <p class="otp-line">
                <code data-testid="ss-link-url">{link.url.clone()}</code>
                <button type="button" data-testid="ss-copy-link" on:click=copy>{tx!("self_service.copy")}</button>
            </p>
            <p class="note" aria-live="polite">{move || note.get().map(t)}</p>
            <p data-testid="ss-link-expires" title=move || stamp(Some(expires))>
                {move || t_with("self_service.valid_until", &[("time", &local_time(expires))])}
            </p>
            <p><strong>{tx!("self_service.shown_once")}</strong></p>
        </div>
    }
}

/// "Send to customer": the language of the message (the customer's, from
/// their country, unless chosen otherwise), the address it goes to, and
/// the outcome. `case_id` files
/// the outcome on that case's timeline; `sent` runs after a success.
#[component]
pub fn SendToCustomer(
    user_id: Uuid,
    email: String,
    country: Option<String>,
    case_id: Option<i64>,
    sent: Callback<SentLink>,
) -> impl IntoView {
    let language = RwSignal::new(
        shared::self_service::language_of_country(country.as_deref())
            .code()
            .to_string(),
    );
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let general = RwSignal::new(None::<String>);
    let outcome = RwSignal::new(None::<SentLink>);
    let busy = RwSignal::new(false);
    let has_email = !email.trim().is_empty();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let body = SendLink {
            language: language.get_untracked(),
            case_id,
        };
        if let Err(e) = body.parse_language() {
            errors.set(vec![e]);
            return;
        }
        busy.set(true);
        general.set(None);
        outcome.set(None);
        spawn_local(async move {
            match api::send_self_service_link(user_id, &body).await {
                Ok(s) => {
                    errors.set(Vec::new());
                    outcome.set(Some(s.clone()));
                    sent.run(s);
                }
                Err(e) => match server_field_errors(&e) {
                    Some(list) => errors.set(list),
                    None => general.set(Some(e.message())),
                },
            }
            busy.set(false);
        });
    };
    let message = move |field: &'static str| move || errors.with(|e| error_for(e, field));
    view! {
        <form class="send-link" data-testid="ss-send-form" on:submit=submit novalidate=true
              aria-labelledby="ss-send-h">
            <h3 id="ss-send-h">{tx!("self_service.send_title")}</h3>
            <div class="field" class:invalid=move || message("email")().is_some()>
                <span class="label">{tx!("self_service.send_to")}</span>
                <p class="send-to" data-testid="ss-send-to" aria-describedby="err-ss-email">
                    {if has_email {
                        view! { <strong>{email.clone()}</strong> }.into_any()
                    } else {
                        view! { <span class="muted">{tx!("self_service.no_email")}</span> }.into_any()
                    }}
                </p>
                <p class="field-error" id="err-ss-email" data-testid="error-ss-email" role="alert" hidden=move || message("email")().is_none()>
                    {message("email")}
                </p>
            </div>
            <div class="field" class:invalid=move || message("language")().is_some()>
                <label for="f-ss-language">{tx!("self_service.language")}</label>
                <select id="f-ss-language" data-testid="field-ss-language"
                        aria-invalid=move || message("language")().is_some().to_string()
                        aria-describedby="err-ss-language"
                        prop:value=move || language.get()
                        on:change=move |ev| { language.set(event_target_value(&ev)); clear_error(errors, "language"); }>
                    <option value=Lang::De.code()>{tx!("self_service.language_de")}</option>
                    <option value=Lang::En.code()>{tx!("self_service.language_en")}</option>
                </select>
                <p class="field-error" id="err-ss-language" data-testid="error-ss-language" role="alert" hidden=move || message("language")().is_none()>
                    {message("language")}
                </p>
            </div>
            <p class="field-error" role="alert" data-testid="error-ss-case_id" hidden=move || message("case_id")().is_none()>
                {message("case_id")}
            </p>
            <p class="field-error" role="alert" data-testid="ss-send-error" hidden=move || general.get().is_none()>
                {move || general.get()}
            </p>
            <div class="actions">
                <button type="submit" class="primary" data-testid="ss-send" disabled=move || busy.get() || !has_email>
                    {tx!("self_service.send")}
                </button>
            </div>
            {move || outcome.get().map(|s| view! { <SendOutcome sent=s/> })}
        </form>
    }
}

/// Where the message went (or that it waits in the outbox), and the link
/// it carries (shown once).
#[component]
fn SendOutcome(sent: SentLink) -> impl IntoView {
    let to = sent.to.clone();
    let will_be_sent = sent.will_be_sent;
    let said = move || {
        if will_be_sent {
            t_with("self_service.sent", &[("to", &to)])
        } else {
            t_with("self_service.held", &[("to", &to)])
        }
    };
    view! {
        <div class="send-outcome" data-testid="ss-sent" data-will-be-sent=will_be_sent.to_string()
             data-message-id=sent.message_id.to_string()>
            <p class:good=will_be_sent role="status">{said}</p>
            <OneTimeLink link=sent.link testid="ss-sent-link"/>
        </div>
    }
}

/// The user's links, newest first, with "Revoke" for active ones.
#[component]
fn LinkTable(
    user_id: Uuid,
    links: Vec<LinkInfo>,
    can_act: bool,
    revoked: Callback<()>,
) -> impl IntoView {
    let toasts = use_toasts();
    let open = RwSignal::new(false);
    let chosen = RwSignal::new(None::<LinkInfo>);
    let busy = RwSignal::new(false);
    let ask = Callback::new(move |l: LinkInfo| {
        chosen.set(Some(l));
        open.set(true);
    });
    let on_confirm = Callback::new(move |_| {
        let Some(l) = chosen.get_untracked() else {
            return;
        };
        busy.set(true);
        spawn_local(async move {
            match api::revoke_self_service_link(user_id, l.id).await {
                Ok(()) => {
                    toasts.success(t("self_service.revoked_toast"));
                    revoked.run(());
                }
                Err(e) => toasts.error(t_with(
                    "self_service.revoke_failed",
                    &[("error", &e.message())],
                )),
            }
            busy.set(false);
        });
    });
    let message = move || {
        chosen
            .get()
            .map(|l| {
                t_with(
                    "self_service.revoke_message",
                    &[
                        ("created", &stamp(Some(l.created_at))),
                        ("sent_to", &or_dash(l.sent_to.as_deref())),
                    ],
                )
            })
            .unwrap_or_default()
    };
    view! {
        <div class="table-wrap">
            <table data-testid="ss-links">
                <caption class="visually-hidden">{t("self_service.links")}</caption>
                <thead>
                    <tr>
                        <th scope="col">{t("self_service.col_created")}</th>
                        <th scope="col">{t("self_service.col_state")}</th>
                        <th scope="col">{t("self_service.col_created_by")}</th>
                        <th scope="col">{t("self_service.col_expires")}</th>
                        <th scope="col" class="num">{t("self_service.col_uses")}</th>
                        <th scope="col">{t("self_service.col_last_used")}</th>
                        <th scope="col">{t("self_service.col_sent_to")}</th>
                        {can_act.then(|| view! { <th scope="col"><span class="visually-hidden">{t("self_service.col_actions")}</span></th> })}
                    </tr>
                </thead>
                <tbody>
                    {links.into_iter().map(|l| view! { <LinkRow link=l can_act ask busy/> }).collect_view()}
                </tbody>
            </table>
        </div>
        <ConfirmDialog open title=tx!("self_service.revoke_title") message
            confirm_label=tx!("self_service.revoke_confirm") on_confirm/>
    }
}

#[component]
fn LinkRow(
    link: LinkInfo,
    can_act: bool,
    ask: Callback<LinkInfo>,
    busy: RwSignal<bool>,
) -> impl IntoView {
    let l = link;
    let (class, state) = match l.state {
        LinkState::Active => ("badge good", t("self_service.state_active")),
        LinkState::Expired => ("badge", t("self_service.state_expired")),
        LinkState::Revoked => ("badge bad", t("self_service.state_revoked")),
    };
    let state_title = match (&l.revoked_at, &l.revoked_by) {
        (Some(at), Some(by)) => t_with(
            "self_service.revoked_by",
            &[("who", by), ("time", &stamp(Some(*at)))],
        ),
        (Some(at), None) => stamp(Some(*at)),
        _ => String::new(),
    };
    let active = l.state == LinkState::Active;
    let revoke_label = t_with(
        "self_service.revoke_label",
        &[("created", &stamp(Some(l.created_at)))],
    );
    let row = l.clone();
    view! {
        <tr data-testid="ss-link-row" data-link-id=l.id.to_string() data-state=match l.state {
            LinkState::Active => "active",
            LinkState::Expired => "expired",
            LinkState::Revoked => "revoked",
        }>
            <td class="nowrap" title=ago(Some(l.created_at))>{stamp(Some(l.created_at))}</td>
            <td><span class=class title=state_title>{state}</span></td>
            <td>{or_dash(l.created_by.as_deref())}</td>
            <td class="nowrap" title=stamp(Some(l.expires_at))>{local_time(l.expires_at)}</td>
            <td class="num">{count(l.uses)}</td>
            <td title=stamp(l.last_used_at)>{match l.last_used_at {
                Some(at) => ago(Some(at)),
                None => or_dash(None),
            }}</td>
            <td>{or_dash(l.sent_to.as_deref())}</td>
            {can_act.then(|| view! {
                <td>{active.then(|| view! {
                    <button type="button" class="danger" data-testid="ss-revoke" aria-label=revoke_label
                            disabled=move || busy.get()
                            on:click=move |_| ask.run(row.clone())>{t("self_service.revoke")}</button>
                })}</td>
            })}
        </tr>
    }
}
