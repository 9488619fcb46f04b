//! What the support-case pages share: the badges of a case's state and
//! priority, the readable text of each timeline event, the table of cases
//! (the queue and a user's page, with "Take" for open cases nobody has),
//! and the count of open unassigned cases behind the top bar's "Cases"
//! link ([`CaseSummary`], provided as context by the app shell, polled
//! every [`SUMMARY_EVERY`] and refreshed right after a change the app made).

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_location;
use shared::cases::{
    Case, CaseCounts, CaseEvent, CaseEventKind, CaseKind, CaseState, CaseUpdate, Priority,
};
use uuid::Uuid;

use crate::api;
use crate::components::toast::{use_toasts, Toasts};
use crate::format::{age, ago, duration, stamp};
use crate::i18n::{lang, t, t_with, tx};
use crate::session::use_session;

/// How often the top bar asks for the count of open unassigned cases.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(15);

/// The counts of the top bar's badge, as context.
#[derive(Clone, Copy)]
pub struct CaseSummary {
    pub counts: RwSignal<Option<CaseCounts>>,
}

impl CaseSummary {
    /// Ask again now (after a case change the app made).
    pub fn refresh(&self) {
        let counts = self.counts;
        spawn_local(async move {
            // A failure keeps the last count: the badge is a hint.
            if let Ok(c) = api::case_summary().await {
                counts.set(Some(c));
            }
        });
    }
}

impl CaseSummary {
    /// Run `f` whenever the counts change from one answer to the next
    /// (a case opened, taken or resolved somewhere), not on the first.
    pub fn on_change(&self, f: impl Fn() + 'static) {
        let counts = self.counts;
        Effect::new(move |before: Option<Option<CaseCounts>>| {
            let now = counts.get();
            if let (Some(Some(old)), Some(new)) = (&before, &now) {
                if old != new {
                    f();
                }
            }
            now
        });
    }
}

/// Create the summary, load it and keep it fresh while signed in (the
/// app shell's signed-in part calls this once).
pub fn provide_case_summary() -> CaseSummary {
    let summary = CaseSummary {
        counts: RwSignal::new(None),
    };
    provide_context(summary);
    summary.refresh();
    if let Ok(handle) = set_interval_with_handle(move || summary.refresh(), SUMMARY_EVERY) {
        on_cleanup(move || handle.clear());
    }
    summary
}

pub fn use_case_summary() -> CaseSummary {
    expect_context::<CaseSummary>()
}

/// The top bar's "Cases" link, with a badge of the open cases nobody has
/// taken; the link's name says the count ("Cases, 3 open unassigned
/// cases").
#[component]
pub fn CasesNavLink() -> impl IntoView {
    let summary = use_case_summary();
    let location = use_location();
    let open = move || summary.counts.get().map_or(0, |c| c.open_unassigned);
    let current = move || {
        let path = location.pathname.get();
        (path == "/cases" || path.starts_with("/cases/")).then_some("page")
    };
    // Read out as "Cases, 3 open unassigned cases"; the pill shows "3".
    let spoken = move || t_with("cases.nav_unassigned", &[("count", &open().to_string())]);
    view! {
        <a href="/cases" data-testid="nav-cases" aria-current=current>
            {tx!("cases.nav")}
            <Show when=move || { open() > 0 }>
                <span class="nav-badge" data-testid="cases-badge" aria-hidden="true" title=spoken>{move || open().to_string()}</span>
                <span class="visually-hidden" data-testid="cases-badge-label">{spoken}</span>
            </Show>
        </a>
    }
}

/// A case's state as a pill (`data-state` is the wire name).
#[component]
pub fn StateBadge(state: CaseState) -> impl IntoView {
    let class = match state {
        CaseState::Open => "badge warn",
        CaseState::WaitingOnCustomer => "badge",
        CaseState::Resolved => "badge good",
    };
    view! { <span class=class data-testid="case-state" data-state=state.as_str()>{move || state.label(lang())}</span> }
}

/// A case's priority as a pill; high and urgent stand out.
#[component]
pub fn PriorityBadge(priority: Priority) -> impl IntoView {
    let class = match priority {
        Priority::Urgent | Priority::High => "badge bad",
        Priority::Normal => "badge",
        Priority::Low => "badge quiet",
    };
    view! { <span class=class data-testid="case-priority" data-priority=priority.as_str()>{move || priority.label(lang())}</span> }
}

/// Who did it: their e-mail, or the fleet watch / the system.
pub fn event_actor(e: &CaseEvent) -> String {
    match (&e.actor, e.kind) {
        (Some(a), _) => a.clone(),
        (None, CaseEventKind::OpenedByWatch)
        | (None, CaseEventKind::DeviceReconnected)
        | (None, CaseEventKind::DeviceLost)
        | (None, CaseEventKind::DeviceRemoved) => t("cases.actor_watch"),
        (None, CaseEventKind::CustomerOpenedPage)
        | (None, CaseEventKind::CustomerReconnectPressed) => t("cases.actor_customer"),
        (None, _) => t("cases.actor_system"),
    }
}

/// A state's or priority's wire name in words (as sent if unknown).
fn named(value: Option<&str>, label: impl Fn(&str) -> Option<String>) -> String {
    let v = value.unwrap_or_default();
    label(v).unwrap_or_else(|| v.to_string())
}

/// What happened, in the language of the moment (tracked); a comment's
/// own text is shown under it.
pub fn event_text(e: &CaseEvent) -> String {
    let l = lang();
    let state = |v: Option<&str>| named(v, |s| CaseState::parse(s).map(|s| s.label(l)));
    let priority = |v: Option<&str>| named(v, |s| Priority::parse(s).map(|p| p.label(l)));
    let from = e.from.as_deref();
    let to = e.to.as_deref();
    match e.kind {
        CaseEventKind::Opened => t("cases.event.opened"),
        CaseEventKind::OpenedByWatch => t("cases.event.opened_by_watch"),
        CaseEventKind::Comment => t("cases.event.comment"),
        CaseEventKind::StateChanged => t_with(
            "cases.event.state_changed",
            &[("from", &state(from)), ("to", &state(to))],
        ),
        CaseEventKind::Assigned => match to {
            Some(who) => t_with("cases.event.assigned", &[("to", who)]),
            None => t("cases.event.unassigned"),
        },
        CaseEventKind::PriorityChanged => t_with(
            "cases.event.priority_changed",
            &[("from", &priority(from)), ("to", &priority(to))],
        ),
        CaseEventKind::LinkCreated => t("cases.event.link_created"),
        CaseEventKind::EmailSent => t_with("cases.event.email_sent", &[("to", to.unwrap_or("—"))]),
        CaseEventKind::EmailFailed => t_with(
            "cases.event.email_failed",
            &[("error", e.text.as_deref().unwrap_or("—"))],
        ),
        CaseEventKind::EmailHeld => t_with("cases.event.email_held", &[("to", to.unwrap_or("—"))]),
        CaseEventKind::DeviceReconnected => match e.duration_secs {
            Some(secs) => t_with(
                "cases.event.device_reconnected_after",
                &[("duration", &duration(secs))],
            ),
            None => t("cases.event.device_reconnected"),
        },
        CaseEventKind::DeviceLost => t("cases.event.device_lost"),
        CaseEventKind::DeviceRemoved => t("cases.event.device_removed"),
        CaseEventKind::CustomerOpenedPage => t("cases.event.customer_opened_page"),
        CaseEventKind::CustomerReconnectPressed => t("cases.event.customer_reconnect_pressed"),
    }
}

/// A kind's label (tracked).
pub fn kind_label(kind: CaseKind) -> String {
    kind.label(lang())
}

/// Take a case (assign it to the signed-in account); a toast says how it
/// went, and `done` runs afterwards with whether it worked. Call [`use_taking`] while the
/// component is built, this in its handler.
pub fn take_case(
    (toasts, summary): (Toasts, CaseSummary),
    case_id: i64,
    subject: String,
    me: Uuid,
    done: Callback<bool>,
) {
    spawn_local(async move {
        let update = CaseUpdate {
            assignee: Some(Some(me)),
            ..Default::default()
        };
        match api::update_case(case_id, &update).await {
            Ok(_) => {
                toasts.success(t_with("cases.taken_toast", &[("subject", &subject)]));
                summary.refresh();
                done.run(true);
            }
            Err(e) => {
                toasts.error(t_with(
                    "cases.take_failed",
                    &[("subject", &subject), ("error", &e.message())],
                ));
                done.run(false);
            }
        }
    });
}

/// What [`take_case`] needs from the context.
pub fn use_taking() -> (Toasts, CaseSummary) {
    (use_toasts(), use_case_summary())
}

/// Cases as a table: subject (to the case), the customer (to their page,
/// unless `show_customer` is off: the user's own page), the device and
/// since when it is lost, priority, state, assignee, age, and "Take" for
/// an open case nobody has (to roles that may work cases). `changed` runs
/// after a case was taken.
#[component]
pub fn CaseTable(
    cases: Vec<Case>,
    #[prop(default = true)] show_customer: bool,
    changed: Callback<()>,
) -> impl IntoView {
    let session = use_session();
    let can_work = session.can_change_users();
    let me = session.account_id();
    view! {
        <div class="table-wrap">
            <table data-testid="cases-table" class="cases-table">
                <caption class="visually-hidden">{t("cases.caption")}</caption>
                <thead>
                    <tr>
                        <th scope="col">{t("cases.col_subject")}</th>
                        {show_customer.then(|| view! { <th scope="col">{t("cases.col_customer")}</th> })}
                        <th scope="col">{t("cases.col_device")}</th>
                        <th scope="col">{t("cases.col_priority")}</th>
                        <th scope="col">{t("cases.col_state")}</th>
                        <th scope="col">{t("cases.col_assignee")}</th>
                        <th scope="col">{t("cases.col_age")}</th>
                    </tr>
                </thead>
                <tbody>
                    {cases.into_iter().map(|c| {
                        let takeable = can_work && c.state == CaseState::Open && c.assignee.is_none();
                        view! { <CaseRow case=c show_customer takeable=takeable.then_some(me).flatten() changed/> }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn CaseRow(
    case: Case,
    show_customer: bool,
    /// The signed-in account's id, when it may take this case.
    takeable: Option<Uuid>,
    changed: Callback<()>,
) -> impl IntoView {
    let c = case;
    let busy = RwSignal::new(false);
    let taking = use_taking();
    let subject = crate::format::case_subject(&c);
    let take = move |_| {
        let Some(me) = takeable else { return };
        busy.set(true);
        take_case(
            taking,
            c.id,
            subject.clone(),
            me,
            Callback::new(move |ok| {
                busy.set(false);
                if ok {
                    changed.run(());
                }
            }),
        );
    };
    let lost = c.lost_since.filter(|_| c.state.is_active()).map(|at| {
        view! {
            <span class="lost-since" data-testid="lost-since" title=stamp(Some(at))>
                {t_with("cases.lost_since", &[("ago", &ago(Some(at)))])}
            </span>
        }
    });
    let device = match (&c.device_label, c.device_id) {
        (Some(label), _) => Some(label.clone()),
        (None, Some(_)) => c.device_kind.map(|k| k.label_in(lang())),
        (None, None) => None,
    };
    let assignee = match &c.assignee {
        Some(a) => view! { <span title=a.email.clone()>{a.name.clone()}</span> }.into_any(),
        None => view! { <span class="muted">{t("cases.unassigned")}</span> }.into_any(),
    };
    let take_label = t_with(
        "cases.take_label",
        &[("subject", &crate::format::case_subject(&c))],
    );
    view! {
        <tr data-testid="case-row" data-case-id=c.id.to_string() data-user-id=c.user_id.to_string()
            data-device-id=c.device_id.map(|d| d.to_string()).unwrap_or_default()
            data-state=c.state.as_str() data-kind=c.kind.as_str()>
            <td class="subject">
                <a href=format!("/cases/{}", c.id) data-testid="case-link">{crate::format::case_subject(&c)}</a>
                <span class="case-kind muted">{kind_label(c.kind)}</span>
            </td>
            {show_customer.then(|| view! {
                <td><a href=format!("/users/{}", c.user_id) data-testid="case-customer">{c.user_name.clone()}</a></td>
            })}
            <td class="device">
                {match device {
                    Some(d) => view! { <span>{d}</span> }.into_any(),
                    None => view! { <span class="muted">"—"</span> }.into_any(),
                }}
                {lost}
            </td>
            <td><PriorityBadge priority=c.priority/></td>
            <td><StateBadge state=c.state/></td>
            <td data-testid="case-assignee">
                {assignee}
                {takeable.map(|_| view! {
                    <button type="button" class="take" data-testid="take-case" aria-label=take_label
                            disabled=move || busy.get() on:click=take>{t("cases.take")}</button>
                })}
            </td>
            <td class="nowrap" title=stamp(Some(c.opened_at)) data-testid="case-age">{age(c.opened_at)}</td>
        </tr>
    }
}
