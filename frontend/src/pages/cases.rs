//! The team's work queue (`/cases`): every support case, with tabs per
//! state (and their counts under the other filters), a search (words of
//! the subject, the end-user, the device, a comment, or the case's
//! number; the users list's [`SearchBox`]), filters by kind,
//! assignee (anyone, mine, unassigned) and age, a sort, pages, a CSV
//! export of every match, and "Take" on the open cases nobody has.
//!
//! As on the users list and the audit trail, the view is a [`CaseQuery`]
//! kept in the address (the same string the gateway's `/api/cases`
//! reads), so Back, reload and a shared link restore it. The list is read
//! again whenever the top bar's count changes (it is polled), so a case
//! the fleet watch opens shows up without a reload.
//!
//! Above the list, one line says how far the fleet watch reaches: how
//! many users it checks, how long a round takes at its request budget,
//! how far the round under way is, and when the last one finished.

use leptos::prelude::*;
use leptos_router::hooks::use_location;
use shared::cases::{
    AssigneeFilter, CaseKind, CaseList, CaseQuery, CaseSort, CaseState, WatchStatus,
};

use crate::api;
use crate::components::cases::{use_case_summary, CaseTable, SUMMARY_EVERY};
use crate::components::feedback::{ErrorPanel, Loading};
use crate::components::form::{error_for, server_field_errors};
use crate::components::search_box::SearchBox;
use crate::format::{ago, count, decimal, duration, local_time, stamp};
use crate::i18n::{field_message, lang, t, t_with, tx, Label};
use crate::paging::{keep_last, use_go_to_query, PageNav};
use crate::session::use_session;

/// "Older than" choices: hours, and their texts.
const AGES: [(u32, Label); 5] = [
    (0, || t("cases.age_any")),
    (1, || t("cases.age_1h")),
    (24, || t("cases.age_24h")),
    (24 * 7, || t("cases.age_7d")),
    (24 * 30, || t("cases.age_30d")),
];

fn sort_label(s: CaseSort) -> String {
    match s {
        CaseSort::Newest => t("cases.sort_newest"),
        CaseSort::Oldest => t("cases.sort_oldest"),
        CaseSort::Priority => t("cases.sort_priority"),
        CaseSort::Updated => t("cases.sort_updated"),
    }
}

fn assignee_label(a: AssigneeFilter) -> String {
    match a {
        AssigneeFilter::Anyone => t("cases.assignee_anyone"),
        AssigneeFilter::Mine => t("cases.assignee_mine"),
        AssigneeFilter::Unassigned => t("cases.assignee_unassigned"),
    }
}

fn is_filtered(q: &CaseQuery) -> bool {
    !q.q.trim().is_empty()
        || q.kind.is_some()
        || q.assignee != AssigneeFilter::Anyone
        || q.older_than_hours.is_some()
}

/// The address of this page with `q`.
fn href(q: &CaseQuery) -> String {
    match q.to_query_string() {
        s if s.is_empty() => "/cases".to_string(),
        s => format!("/cases?{s}"),
    }
}

#[component]
pub fn CasesPage() -> impl IntoView {
    let session = use_session();
    let summary = use_case_summary();
    let location = use_location();
    let parsed = Memo::new(move |_| CaseQuery::parse(&location.search.get()));
    let query = Memo::new(move |_| parsed.get().unwrap_or_default());
    let go_to = use_go_to_query();
    let go = move |q: CaseQuery| go_to.run((q.to_query_string(), false));
    // A change of filter or sort starts again at page 1.
    let change = move |f: &dyn Fn(&mut CaseQuery)| {
        let mut q = query.get_untracked();
        f(&mut q);
        q.page = 1;
        go(q);
    };

    let page = LocalResource::new(move || {
        let q = query.get();
        async move { api::cases(&q).await }
    });
    let (shown, error) = keep_last(page);
    let loading = move || page.get().is_none();
    // Read again when the top bar's counts change (a case opened or taken
    // elsewhere); not on the first counts.
    summary.on_change(move || page.refetch());
    let reload = Callback::new(move |_| page.refetch());
    // Typing replaces the history entry (keystrokes do not flood Back).
    let send_search = Callback::new(move |value: String| {
        let mut q = query.get_untracked();
        q.q = value;
        q.page = 1;
        go_to.run((q.to_query_string(), true));
    });
    // The gateway's refusal of the search, shown at the box.
    let server_error = move || {
        error.with(|e| {
            let fields = server_field_errors(e.as_ref()?)?;
            error_for(&fields, "q")
        })
    };
    let clear = move |_| {
        go(CaseQuery {
            state: query.get_untracked().state,
            per_page: query.get_untracked().per_page,
            ..Default::default()
        })
    };

    view! {
        <section aria-labelledby="cases-h">
            <div class="page-head">
                <h1 id="cases-h">{tx!("cases.title")}</h1>
                <Show when=move || session.is_admin()>
                    <a href="/webhooks" class="head-link" data-testid="webhooks-link">{tx!("webhooks.title")}</a>
                </Show>
            </div>
            <WatchLine/>
            {move || parsed.get().err().map(|errors| {
                let msg = errors.iter().map(field_message).collect::<Vec<_>>().join(" ");
                view! { <p class="notice warn" role="alert">{t_with("common.address_not_understood", &[("errors", &msg)])}</p> }
            })}
            <StateTabs query shown/>
            <div class="toolbar case-filters" role="search" aria-label=tx!("cases.filters_label")>
                <SearchBox current=Signal::derive(move || query.get().q) send=send_search
                           server_error=Signal::derive(server_error) id="cases-search"
                           label=tx!("cases.search_label") placeholder=tx!("cases.search_placeholder")/>
                <div class="filters">
                    <div class="filter">
                        <label for="cases-kind">{tx!("cases.filter_kind")}</label>
                        <select id="cases-kind" data-testid="filter-kind"
                                prop:value=move || query.get().kind.map(|k| k.as_str()).unwrap_or("")
                                on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    change(&|q: &mut CaseQuery| q.kind = CaseKind::parse(&v));
                                }>
                            <option value="">{tx!("cases.kind_all")}</option>
                            {CaseKind::ALL.iter().map(|k| view! {
                                <option value=k.as_str()>{move || k.label(lang())}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="filter">
                        <label for="cases-assignee">{tx!("cases.filter_assignee")}</label>
                        <select id="cases-assignee" data-testid="filter-assignee"
                                prop:value=move || query.get().assignee.as_str()
                                on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    let a = AssigneeFilter::ALL.into_iter().find(|a| a.as_str() == v).unwrap_or_default();
                                    change(&|q: &mut CaseQuery| q.assignee = a);
                                }>
                            {AssigneeFilter::ALL.into_iter().map(|a| view! {
                                <option value=a.as_str()>{move || assignee_label(a)}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="filter">
                        <label for="cases-age">{tx!("cases.filter_age")}</label>
                        <select id="cases-age" data-testid="filter-age"
                                prop:value=move || query.get().older_than_hours.unwrap_or(0).to_string()
                                on:change=move |ev| {
                                    let h = event_target_value(&ev).parse::<u32>().ok().filter(|h| *h > 0);
                                    change(&|q: &mut CaseQuery| q.older_than_hours = h);
                                }>
                            {AGES.into_iter().map(|(h, label)| view! {
                                <option value=h.to_string()>{label}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="filter">
                        <label for="cases-sort">{tx!("cases.filter_sort")}</label>
                        <select id="cases-sort" data-testid="filter-sort"
                                prop:value=move || query.get().sort.as_str()
                                on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    let s = CaseSort::ALL.into_iter().find(|s| s.as_str() == v).unwrap_or_default();
                                    change(&|q: &mut CaseQuery| q.sort = s);
                                }>
                            {CaseSort::ALL.into_iter().map(|s| view! {
                                <option value=s.as_str()>{move || sort_label(s)}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <Show when=move || is_filtered(&query.get())>
                        <button type="button" class="link-button" data-testid="clear-filters" on:click=clear>
                            {tx!("common.clear_filters")}
                        </button>
                    </Show>
                </div>
            </div>
            <div class="list-meta">
                <p class="count" role="status" aria-live="polite" data-testid="cases-count">
                    {move || shown.get().map(|p| cases_count(p.total))}
                    {move || loading().then(|| view! { <span class="muted">{t("common.loading_suffix")}</span> })}
                </p>
                <a class="button" data-testid="cases-csv" download=""
                   href=move || api::cases_csv_url(&query.get())
                   title=tx!("cases.csv_title")>
                    {tx!("cases.csv_export")}
                </a>
            </div>
            // A refused search is explained at the search box instead.
            {move || error.get().filter(|_| server_error().is_none()).map(|e| view! {
                <ErrorPanel message=e.message() retry=reload/>
            })}
            {move || match shown.get() {
                None if error.get().is_none() => view! { <Loading text=tx!("cases.loading")/> }.into_any(),
                None => ().into_any(),
                Some(p) if p.cases.is_empty() => view! {
                    <div class="empty" data-testid="empty-state">
                        <p>{tx!("cases.no_match")}</p>
                        <Show when=move || is_filtered(&query.get())>
                            <button type="button" on:click=clear>{tx!("common.clear_filters")}</button>
                        </Show>
                    </div>
                }.into_any(),
                Some(p) => {
                    // The rows hold no state: built anew on a language switch.
                    lang();
                    let per_page = u64::from(p.per_page.max(1));
                    let pages = u32::try_from(p.total.div_ceil(per_page)).unwrap_or(u32::MAX);
                    let to = Callback::new(move |n: u32| {
                        let mut q = query.get_untracked();
                        q.page = n;
                        go(q);
                    });
                    view! {
                        <CaseTable cases=p.cases changed=reload/>
                        <PageNav page=p.page pages to/>
                    }.into_any()
                }
            }}
        </section>
    }
}

/// "1 case", "1,234 cases".
fn cases_count(n: u64) -> String {
    match n {
        1 => t("cases.count_one"),
        n => t_with("cases.count", &[("count", &count(n))]),
    }
}

/// All / Open / Waiting on customer / Resolved, each with its count under
/// the other filters, as links (the state is part of the address).
#[component]
fn StateTabs(query: Memo<CaseQuery>, shown: RwSignal<Option<CaseList>>) -> impl IntoView {
    let tab = move |state: Option<CaseState>| {
        let counts = move || shown.get().map(|p| p.counts);
        let n = move || {
            counts().map(|c| match state {
                None => c.open + c.waiting_on_customer + c.resolved,
                Some(CaseState::Open) => c.open,
                Some(CaseState::WaitingOnCustomer) => c.waiting_on_customer,
                Some(CaseState::Resolved) => c.resolved,
            })
        };
        let label = move || match state {
            None => t("cases.state_all"),
            Some(s) => s.label(lang()),
        };
        let to = move || {
            href(&CaseQuery {
                state,
                page: 1,
                ..query.get()
            })
        };
        let current = move || (query.get().state == state).then_some("page");
        view! {
            <a href=to aria-current=current data-testid="state-tab"
               data-state=state.map(|s| s.as_str()).unwrap_or("all")>
                {label}
                {move || n().map(|n| view! { <span class="tab-count">{count(n)}</span> })}
            </a>
        }
    };
    view! {
        <nav class="tabs" aria-label=tx!("cases.states_label")>
            {tab(None)}
            {CaseState::ALL.iter().map(|s| tab(Some(*s))).collect_view()}
        </nav>
    }
}

/// "Fleet watch: checks 1,234 users every ~2 h 10 min at 10 requests/s;
/// round 40 % done; last round finished 12 min ago."
#[component]
fn WatchLine() -> impl IntoView {
    let status = LocalResource::new(api::watch_status);
    // Read again as often as the top bar's counts.
    if let Ok(handle) = set_interval_with_handle(move || status.refetch(), SUMMARY_EVERY) {
        on_cleanup(move || handle.clear());
    }
    move || {
        match status.get() {
        None => ().into_any(),
        Some(Err(e)) => view! {
            <p class="watch-line muted" data-testid="watch-line">{t_with("cases.watch_unavailable", &[("error", &e.message())])}</p>
        }
        .into_any(),
        Some(Ok(w)) => view! { <WatchText status=w/> }.into_any(),
    }
    }
}

/// `10`, `1,000`, `2.5` requests per second.
fn rate(rps: f64) -> String {
    if rps.fract() == 0.0 && rps >= 0.0 {
        count(rps as u64)
    } else {
        decimal(rps, 1)
    }
}

#[component]
fn WatchText(status: WatchStatus) -> impl IntoView {
    let w = status;
    let text = move || {
        if !w.enabled {
            return t("cases.watch_off");
        }
        let mut parts = vec![t_with(
            "cases.watch_coverage",
            &[
                ("users", &count(w.users)),
                ("round", &duration(w.estimated_round_secs.round() as i64)),
                ("rps", &rate(w.requests_per_second)),
            ],
        )];
        if w.round_started_at.is_some() && w.users > 0 {
            let percent = (w.round_users_checked.min(w.users) * 100) / w.users;
            parts.push(t_with(
                "cases.watch_round",
                &[("percent", &percent.to_string())],
            ));
        }
        parts.push(match w.last_round_finished_at {
            Some(at) => t_with("cases.watch_last_round", &[("ago", &ago(Some(at)))]),
            None => t("cases.watch_no_round"),
        });
        if w.devices_lost > 0 {
            parts.push(t_with(
                "cases.watch_lost",
                &[
                    ("count", &count(w.devices_lost)),
                    ("devices", &count(w.devices)),
                ],
            ));
        }
        parts.join("; ")
    };
    let backing_off = w.backing_off_until.map(|until| {
        let error = w.last_error.clone().unwrap_or_default();
        view! {
            <p class="notice" data-testid="watch-backoff" title=stamp(Some(until))>
                {move || t_with("cases.watch_backing_off", &[("until", &local_time(until)), ("error", &error)])}
            </p>
        }
    });
    view! {
        <p class="watch-line" data-testid="watch-line" title=move || stamp(w.last_round_finished_at)>
            <strong>{tx!("cases.watch_title")}</strong>" "{text}
        </p>
        {backing_off}
    }
}
