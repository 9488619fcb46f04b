//! One support case (`/cases/:id`): what it is about (customer, device
//! and since when it is lost, kind, priority, state, assignee, who opened
//! it and when), the controls to work it (state, assignee with "Take it",
//! priority; roles that may work cases only), "Send to customer" (the
//! customer's self-service link by e-mail, filed on this case), its
//! timeline oldest first with a readable sentence per event, and the
//! comment form.
//!
//! Every change answers with the whole case, which replaces the one shown;
//! the top bar's count is asked again right after. Nothing typed is lost:
//! a refused comment stays in the box with the message next to it, and
//! the text is kept as a draft of this tab until it is saved.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;
use shared::cases::{
    Case, CaseDetail, CaseEvent, CaseEventKind, CaseState, CaseUpdate, NewComment, Priority,
};
use shared::FieldError;
use uuid::Uuid;

use crate::api::{self, ApiFailure};
use crate::components::cases::{
    event_actor, event_text, kind_label, use_case_summary, PriorityBadge, StateBadge,
};
use crate::components::feedback::{ErrorPanel, Loading};
use crate::components::form::{clear_error, error_for, focus_first_present, server_field_errors};
use crate::components::self_service::SendToCustomer;
use crate::components::toast::use_toasts;
use crate::drafts;
use crate::format::{ago, duration, stamp};
use crate::i18n::{field_message, lang, t, t_with, tx};
use crate::session::use_session;

#[component]
pub fn CaseDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|s| s.parse::<i64>().ok()));
    let loaded = LocalResource::new(move || {
        let id = id.get();
        async move {
            match id {
                Some(id) => api::case(id).await,
                None => Err(ApiFailure::Api {
                    status: 404,
                    error: shared::ApiError::message(t("case_page.invalid_address")),
                }),
            }
        }
    });
    // The case shown: the loaded one, then each change's answer.
    let detail = RwSignal::new(None::<CaseDetail>);
    Effect::new(move |_| {
        if let Some(Ok(d)) = loaded.get() {
            detail.set(Some(d));
        }
    });
    // Which case is shown: the view below is built once per case, and
    // each change's answer flows into it (a form's state survives it).
    let shown = Memo::new(move |_| detail.with(|d| d.as_ref().map(|d| d.case.id)));
    view! {
        <p class="crumbs"><a href="/cases">{tx!("case_page.back_to_queue")}</a></p>
        {move || match (loaded.get(), shown.get()) {
            (_, Some(_)) => view! { <CaseView detail/> }.into_any(),
            (None, None) => view! { <Loading text=tx!("case_page.loading")/> }.into_any(),
            (Some(Err(e)), None) if e.is_not_found() => view! {
                <ErrorPanel title=tx!("case_page.not_found_title") message=tx!("case_page.not_found")/>
            }.into_any(),
            (Some(Err(e)), None) => view! {
                <ErrorPanel message=e.message() retry=Callback::new(move |_| loaded.refetch())/>
            }.into_any(),
            (Some(Ok(_)), None) => view! { <Loading text=tx!("case_page.loading")/> }.into_any(),
        }}
    }
}

/// The case shown, its controls, timeline and comment form.
#[component]
fn CaseView(detail: RwSignal<Option<CaseDetail>>) -> impl IntoView {
    let session = use_session();
    let case = Memo::new(move |_| detail.with(|d| d.as_ref().map(|d| d.case.clone())));
    let events = Memo::new(move |_| {
        detail.with(|d| d.as_ref().map(|d| d.events.clone()).unwrap_or_default())
    });
    let can_work = move || session.can_change_users();
    let who = Memo::new(move |_| detail.with(|d| d.as_ref().map(|d| (d.case.id, d.case.user_id))));
    view! {
        {move || case.get().map(|c| {
            // Built anew on a change and on a language switch.
            lang();
            view! { <CaseHead case=c/> }
        })}
        <Show when=can_work>
            // Built once per case: each change's answer flows into them.
            {move || who.get().map(|_| view! { <Controls case detail/> })}
            // Built once per case, so the outcome of a send stays shown
            // while the timeline takes the new events.
            {move || who.get().map(|(id, user_id)| view! { <SendLinkForCase id user_id detail/> })}
        </Show>
        <section class="timeline" aria-labelledby="timeline-h">
            <h2 id="timeline-h">{tx!("case_page.timeline")}</h2>
            {move || {
                lang();
                view! {
                    <ol class="timeline-list" data-testid="timeline">
                        {events.get().into_iter().map(|e| view! { <EventItem event=e/> }).collect_view()}
                    </ol>
                }
            }}
        </section>
        <Show when=can_work>
            {move || case.with(|c| c.as_ref().map(|c| c.id)).map(|id| view! { <CommentForm id detail/> })}
        </Show>
    }
}

/// "Send to customer" for the case's user, filed on this case: the
/// timeline is read again afterwards (the message's outcome is on it).
/// Offered when the signed-in role may change that user.
#[component]
fn SendLinkForCase(id: i64, user_id: Uuid, detail: RwSignal<Option<CaseDetail>>) -> impl IntoView {
    let session = use_session();
    let user = LocalResource::new(move || api::get_user(user_id));
    let sent = Callback::new(move |_| {
        spawn_local(async move {
            // A failure keeps the timeline shown; the next change reads it.
            if let Ok(d) = api::case(id).await {
                detail.set(Some(d));
            }
        });
    });
    move || match user.get() {
        Some(Ok(u)) if session.can_change_user_of_role(u.role) && u.deleted_at.is_none() => {
            Some(view! {
                <section class="case-send" data-testid="case-send">
                    <SendToCustomer user_id email=u.email.clone() country=u.country.clone() case_id=Some(id) sent/>
                </section>
            })
        }
        _ => None,
    }
}

#[component]
fn CaseHead(case: Case) -> impl IntoView {
    let c = case;
    let opened_by = match &c.opened_by {
        Some(who) => who.clone(),
        None => t("cases.actor_watch"),
    };
    let device = c.device_label.clone().map(|label| {
        view! {
            <div><dt>{t("case_page.device")}</dt><dd data-testid="case-device">{label}</dd></div>
        }
    });
    let lost = c.lost_since.map(|at| {
        let text = if c.state.is_active() {
            ago(Some(at))
        } else {
            stamp(Some(at))
        };
        view! {
            <div><dt>{t("case_page.lost_since")}</dt><dd data-testid="case-lost-since" title=stamp(Some(at))>{text}</dd></div>
        }
    });
    let resolved = c.resolved_at.map(|at| {
        view! {
            <div><dt>{t("case_page.resolved_at")}</dt><dd title=stamp(Some(at))>{ago(Some(at))}</dd></div>
        }
    });
    view! {
        <section class="case-head" data-testid="case-head" data-case-id=c.id.to_string() data-state=c.state.as_str()>
            <div class="page-head">
                <h1 data-testid="case-subject">{crate::format::case_subject(&c)}</h1>
                <StateBadge state=c.state/>
                <PriorityBadge priority=c.priority/>
            </div>
            <dl class="facts">
                <div><dt>{t("case_page.customer")}</dt><dd><a href=format!("/users/{}", c.user_id) data-testid="case-customer">{c.user_name.clone()}</a></dd></div>
                <div><dt>{t("case_page.kind")}</dt><dd data-testid="case-kind">{kind_label(c.kind)}</dd></div>
                {device}
                {lost}
                <div><dt>{t("case_page.assignee")}</dt><dd data-testid="case-assignee">{match &c.assignee {
                    Some(a) => format!("{} ({})", a.name, a.email),
                    None => t("cases.unassigned"),
                }}</dd></div>
                <div><dt>{t("case_page.opened")}</dt><dd title=stamp(Some(c.opened_at))>{t_with(
                    "case_page.opened_by_at",
                    &[("who", &opened_by), ("ago", &ago(Some(c.opened_at)))],
                )}</dd></div>
                <div><dt>{t("case_page.updated")}</dt><dd title=stamp(Some(c.updated_at))>{ago(Some(c.updated_at))}</dd></div>
                {resolved}
                <div><dt>{t("case_page.number")}</dt><dd><code>{format!("#{}", c.id)}</code></dd></div>
            </dl>
        </section>
    }
}

/// State, assignee (with "Take it") and priority: each change is sent at
/// once; a refusal shows next to its control and the control shows the
/// case's value again. Built once per case (each answer flows into the
/// controls, which stay enabled), so a keyboard user's focus stays on the
/// control they changed; after "Take it" it moves to the assignee.
#[component]
fn Controls(case: Memo<Option<Case>>, detail: RwSignal<Option<CaseDetail>>) -> impl IntoView {
    let session = use_session();
    let toasts = use_toasts();
    let summary = use_case_summary();
    let busy = RwSignal::new(false);
    let errors = RwSignal::new(Vec::<FieldError>::new());
    // Bumped after a refusal: the controls show the case's values again.
    let again = RwSignal::new(0u32);
    let me = session.account_id();
    let id = case
        .with_untracked(|c| c.as_ref().map(|c| c.id))
        .unwrap_or_default();
    // Colleagues to assign to: every admin and staff account.
    let team =
        LocalResource::new(move || async move { api::case_assignees().await.unwrap_or_default() });
    let send = move |field: &'static str, update: CaseUpdate| {
        if busy.get_untracked() {
            // One change at a time: the control shows the case's value again.
            again.update(|n| *n += 1);
            return;
        }
        busy.set(true);
        errors.set(Vec::new());
        spawn_local(async move {
            match api::update_case(id, &update).await {
                Ok(d) => {
                    detail.set(Some(d));
                    summary.refresh();
                    toasts.success(t("case_page.saved"));
                }
                Err(e) => {
                    let list = server_field_errors(&e)
                        .unwrap_or_else(|| vec![FieldError::new(field, e.message())]);
                    errors.set(list);
                    again.update(|n| *n += 1);
                }
            }
            busy.set(false);
        });
    };
    let state = move || {
        case.with(|c| c.as_ref().map(|c| c.state))
            .unwrap_or(CaseState::Open)
    };
    let priority = move || {
        case.with(|c| c.as_ref().map(|c| c.priority))
            .unwrap_or(Priority::Normal)
    };
    let assignee = move || case.with(|c| c.as_ref().and_then(|c| c.assignee.clone()));
    let assignee_id = move || assignee().map(|a| a.id);
    let mine = move || me.is_some() && assignee_id() == me;
    let options = move || {
        let mut list: Vec<(Uuid, String)> = team
            .get()
            .unwrap_or_default()
            .into_iter()
            .map(|m| (m.id, format!("{} ({})", m.name, m.email)))
            .collect();
        if let Some(a) = assignee() {
            if !list.iter().any(|(id, _)| *id == a.id) {
                list.push((a.id, format!("{} ({})", a.name, a.email)));
            }
        }
        if let Some(me) = me {
            if !list.iter().any(|(id, _)| *id == me) {
                list.push((me, t("case_page.assignee_me")));
            }
        }
        list
    };
    let take = move |_| {
        if let Some(me) = me {
            // The button goes once the case is taken: the focus goes to
            // the assignee, which then names the agent.
            focus_first_present(["case-assignee"]);
            send(
                "assignee",
                CaseUpdate {
                    assignee: Some(Some(me)),
                    ..Default::default()
                },
            );
        }
    };
    view! {
        <section class="case-controls" aria-labelledby="controls-h">
            <h2 id="controls-h" class="visually-hidden">{tx!("case_page.controls")}</h2>
            <div class="field">
                <label for="case-state">{tx!("case_page.state")}</label>
                <select id="case-state" data-testid="case-state-select" aria-busy=move || busy.get().to_string()
                        aria-invalid=move || errors.with(|e| error_for(e, "state").is_some()).to_string()
                        aria-describedby="err-state"
                        prop:value=move || { again.track(); state().as_str() }
                        on:change=move |ev| {
                            if let Some(s) = CaseState::parse(&event_target_value(&ev)) {
                                send("state", CaseUpdate { state: Some(s), ..Default::default() });
                            }
                        }>
                    {CaseState::ALL.iter().map(|s| view! {
                        <option value=s.as_str() selected=move || *s == state()>{s.label(lang())}</option>
                    }).collect_view()}
                </select>
                <FieldMessage errors field="state"/>
            </div>
            <div class="field">
                <label for="case-assignee">{tx!("case_page.assignee")}</label>
                <div class="inline">
                    <select id="case-assignee" data-testid="case-assignee-select" aria-busy=move || busy.get().to_string()
                            aria-invalid=move || errors.with(|e| error_for(e, "assignee").is_some()).to_string()
                            aria-describedby="err-assignee"
                            prop:value=move || { again.track(); assignee_id().map(|a| a.to_string()).unwrap_or_default() }
                            on:change=move |ev| {
                                let v = event_target_value(&ev);
                                let who = Uuid::parse_str(&v).ok();
                                send("assignee", CaseUpdate { assignee: Some(who), ..Default::default() });
                            }>
                        <option value="" selected=move || assignee_id().is_none()>{t("cases.unassigned")}</option>
                        {move || options().into_iter().map(|(id, name)| view! {
                            <option value=id.to_string() selected=move || Some(id) == assignee_id()>{name}</option>
                        }).collect_view()}
                    </select>
                    <Show when=move || me.is_some() && !mine()>
                        <button type="button" data-testid="take-it" disabled=move || busy.get() on:click=take>
                            {tx!("case_page.take_it")}
                        </button>
                    </Show>
                </div>
                <FieldMessage errors field="assignee"/>
            </div>
            <div class="field">
                <label for="case-priority">{tx!("case_page.priority")}</label>
                <select id="case-priority" data-testid="case-priority-select" aria-busy=move || busy.get().to_string()
                        aria-invalid=move || errors.with(|e| error_for(e, "priority").is_some()).to_string()
                        aria-describedby="err-priority"
                        prop:value=move || { again.track(); priority().as_str() }
                        on:change=move |ev| {
                            if let Some(p) = Priority::parse(&event_target_value(&ev)) {
                                send("priority", CaseUpdate { priority: Some(p), ..Default::default() });
                            }
                        }>
                    {Priority::ALL.iter().map(|p| view! {
                        <option value=p.as_str() selected=move || *p == priority()>{p.label(lang())}</option>
                    }).collect_view()}
                </select>
                <FieldMessage errors field="priority"/>
            </div>
        </section>
    }
}

/// The message for `field` under its control (hidden while none).
#[component]
fn FieldMessage(errors: RwSignal<Vec<FieldError>>, field: &'static str) -> impl IntoView {
    let message = move || errors.with(|e| error_for(e, field));
    view! {
        <p class="field-error" id=format!("err-{field}") data-testid=format!("error-{field}") role="alert" hidden=move || message().is_none()>
            {message}
        </p>
    }
}

#[component]
fn EventItem(event: CaseEvent) -> impl IntoView {
    let e = event;
    let comment = (e.kind == CaseEventKind::Comment)
        .then(|| e.text.clone())
        .flatten()
        .map(|text| view! { <blockquote class="comment" data-testid="comment-text">{text}</blockquote> });
    let lasted = e.duration_secs.map(duration);
    view! {
        <li data-testid="case-event" data-kind=e.kind.as_str() class=format!("event {}", e.kind.as_str())>
            <div class="event-head">
                <time datetime=e.at.to_rfc3339() title=stamp(Some(e.at))>{ago(Some(e.at))}</time>
                <span class="actor" data-testid="event-actor">{event_actor(&e)}</span>
            </div>
            <p class="event-text" data-testid="event-text" data-duration=lasted>{event_text(&e)}</p>
            {comment}
        </li>
    }
}

/// The comment box: checked in the browser first (not empty, not too
/// long), then sent; the text stays until the gateway took it.
#[component]
fn CommentForm(id: i64, detail: RwSignal<Option<CaseDetail>>) -> impl IntoView {
    let toasts = use_toasts();
    let summary = use_case_summary();
    let draft_key = format!("/cases/{id}#comment");
    let text = RwSignal::new(drafts::load::<String>(&draft_key).unwrap_or_default());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let busy = RwSignal::new(false);
    let key = StoredValue::new(draft_key);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let body = NewComment {
            text: text.get_untracked(),
        };
        if let Err(list) = body.validate() {
            errors.set(list);
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match api::comment_case(id, &body).await {
                Ok(d) => {
                    detail.set(Some(d));
                    text.set(String::new());
                    key.with_value(|k| drafts::clear(k));
                    errors.set(Vec::new());
                    // The button was disabled while sending, which took
                    // the focus away: back to the box, for the next one.
                    focus_first_present(["case-comment"]);
                    summary.refresh();
                    toasts.success(t("case_page.comment_added"));
                }
                Err(e) => errors.set(
                    server_field_errors(&e)
                        .unwrap_or_else(|| vec![FieldError::new("text", e.message())]),
                ),
            }
            busy.set(false);
        });
    };
    let message =
        move || errors.with(|e| error_for(e, "text").or_else(|| e.first().map(field_message)));
    view! {
        <form class="comment-form" data-testid="comment-form" on:submit=submit novalidate=true>
            <div class="field" class:invalid=move || message().is_some()>
                <label for="case-comment">{tx!("case_page.comment_label")}</label>
                <textarea id="case-comment" data-testid="field-comment" rows="4"
                          aria-invalid=move || message().is_some().to_string()
                          aria-describedby="err-comment"
                          prop:value=move || text.get()
                          on:input=move |ev| {
                              let v = event_target_value(&ev);
                              key.with_value(|k| if v.is_empty() { drafts::clear(k) } else { drafts::save(k, &v) });
                              text.set(v);
                              clear_error(errors, "text");
                          }></textarea>
                <p class="field-error" id="err-comment" data-testid="error-comment" role="alert" hidden=move || message().is_none()>
                    {message}
                </p>
            </div>
            <div class="actions">
                <button type="submit" class="primary" data-testid="comment-submit" disabled=move || busy.get()>
                    {tx!("case_page.comment_submit")}
                </button>
            </div>
        </form>
    }
}
