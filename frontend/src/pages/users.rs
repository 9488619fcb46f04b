//! The users list (`/`, `/users`): search, filters, sort, paging and CSV
//! export over the gateway's read model of the organisation, plus "find by
//! customer number".
//!
//! The whole view is a [`UserQuery`] kept in the address's query string, the
//! same string the gateway's `/api/directory/users` understands. Controls
//! write a new address (typing replaces the history entry, so keystrokes do
//! not flood Back; every other change adds one), and the page reads the
//! query back from the address, so Back, Forward, reload and a shared link
//! all restore the same view. While the next page loads, the previous rows
//! stay on screen. "New user" is offered to roles that may create users.
//!
//! The search box is [`SearchBox`] (bounded, sent when typing pauses);
//! while a search is refused the list keeps showing the last valid one.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_location, use_navigate};
use shared::directory::{
    Archived, DeviceFilter, Freshness, ScanState, SortKey, UserPage, UserQuery, PAGE_SIZES,
};
use shared::Role;

use crate::api::{self, ApiFailure};
use crate::components::feedback::{EmptyState, ErrorPanel, Loading};
use crate::components::form::{error_for, server_field_errors};
use crate::components::search_box::SearchBox;
use crate::components::toast::use_toasts;
use crate::components::users_table::UsersTable;
use crate::format::{ago, count, stamp};
use crate::i18n::{field_message, lang, t, t_with, tx, Label, Text};
use crate::paging::{keep_last, use_go_to_query};
use crate::session::use_session;
use crate::timer::sleep;

/// `12,345` / `12.345`.
fn thousands(n: usize) -> String {
    count(n)
}

/// Roles filter values: one role, or the team (admins and staff), with
/// their texts.
const ROLE_CHOICES: [(&str, Label); 6] = [
    ("", || t("users.roles_all")),
    ("user", || t("users.roles_user")),
    ("admin,staff", || t("users.roles_team")),
    ("admin", || t("users.roles_admin")),
    ("staff", || t("users.roles_staff")),
    ("guest", || t("users.roles_guest")),
];

fn roles_value(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let session = use_session();
    let location = use_location();
    let parsed = Memo::new(move |_| UserQuery::parse(&location.search.get()));
    let query = Memo::new(move |_| parsed.get().unwrap_or_default());

    // Go to a view: typing replaces the current history entry, any other
    // change adds one.
    let go_to = use_go_to_query();
    let go = Callback::new(move |(q, replace): (UserQuery, bool)| {
        go_to.run((q.to_query_string(), replace))
    });
    // A change of filter or sort starts again at page 1.
    let change = move |f: &dyn Fn(&mut UserQuery)| {
        let mut q = query.get_untracked();
        f(&mut q);
        q.page = 1;
        go.run((q, false));
    };

    let page = LocalResource::new(move || {
        let q = query.get();
        async move { api::users_page(&q).await }
    });
    // The last page shown stays while the next one loads.
    let (shown, error) = keep_last(page);
    let loading = move || page.get().is_none();

    let send_search = Callback::new(move |value: String| {
        let mut q = query.get_untracked();
        q.q = value;
        q.page = 1;
        go.run((q, true));
    });
    // The gateway's refusal of the search itself, shown at the box.
    let server_error = move || {
        error.with(|e| {
            let fields = server_field_errors(e.as_ref()?)?;
            error_for(&fields, "q")
        })
    };
    let on_sort = Callback::new(move |key: SortKey| {
        change(&|q: &mut UserQuery| {
            if q.sort == key {
                q.desc = !q.desc;
            } else {
                q.sort = key;
                q.desc = false;
            }
        })
    });

    view! {
        <section aria-labelledby="users-h">
            <div class="page-head">
                <h1 id="users-h">{tx!("users.title")}</h1>
                <Show when=move || session.can_change_users()>
                    <a class="button primary" href="/users/new" data-testid="new-user">{tx!("users.new_user")}</a>
                </Show>
                <FindByCustomerNumber/>
            </div>
            {move || parsed.get().err().map(|errors| {
                let msg = errors.iter().map(field_message).collect::<Vec<_>>().join(" ");
                view! { <p class="notice warn" role="alert">{t_with("common.address_not_understood", &[("errors", &msg)])}</p> }
            })}
            <div class="toolbar" role="search">
                <SearchBox current=Signal::derive(move || query.get().q) send=send_search
                           server_error=Signal::derive(server_error) id="user-search"
                           label=tx!("users.search_label") placeholder=tx!("users.search_placeholder")
                           label_hidden=true/>
                <Filters query change/>
            </div>
            <div class="list-meta">
                <p class="count" role="status" aria-live="polite" data-testid="result-count">
                    {move || shown.get().map(|p| count_text(&p, &query.get()))}
                    {move || loading().then(|| view! { <span class="muted">{t("common.loading_suffix")}</span> })}
                </p>
                <FreshnessLine shown page/>
                {move || shown.get().filter(|p| p.total > 0).map(|p| {
                    let href = api::users_csv_url(&query.get());
                    view! {
                        <a class="button" href=href download="" data-testid="csv-export"
                           title=t("users.csv_title")>
                            {t_with("users.csv_export", &[("count", &thousands(p.total))])}
                        </a>
                    }
                })}
            </div>
            // A refused search is explained at the search box instead.
            {move || error.get().filter(|_| server_error().is_none()).map(|e| view! {
                <ErrorPanel message=e.message() retry=Callback::new(move |_| page.refetch())/>
            })}
            {move || match shown.get() {
                None if error.get().is_none() => view! { <Loading text=tx!("users.loading")/> }.into_any(),
                None => ().into_any(),
                Some(p) if p.total == 0 => {
                    let q = query.get();
                    if q.is_filtered() {
                        view! {
                            <div class="empty" data-testid="empty-state">
                                <p>{tx!("users.no_match")}</p>
                                <button type="button" on:click=move |_| go.run((UserQuery::default(), false))>{tx!("users.clear_all")}</button>
                            </div>
                        }.into_any()
                    } else {
                        view! { <EmptyState message=tx!("users.empty")/> }.into_any()
                    }
                }
                Some(p) => {
                    let q = query.get();
                    view! {
                        <UsersTable rows=p.rows.clone() sort=q.sort desc=q.desc on_sort/>
                        <Pager page=p query go/>
                    }.into_any()
                }
            }}
        </section>
    }
}

fn count_text(p: &UserPage, q: &UserQuery) -> String {
    let org = match q.archived {
        Archived::Hide => p.active_users,
        Archived::Include => p.active_users + p.archived_users,
        Archived::Only => p.archived_users,
    };
    if q.is_filtered() || q.archived == Archived::Only {
        t_with(
            "users.count_match",
            &[("count", &thousands(p.total)), ("total", &thousands(org))],
        )
    } else {
        t_with("users.count", &[("count", &thousands(p.total))])
    }
}

/// Role, device type, onboarding, lost connection, archived.
#[component]
fn Filters(
    query: Memo<UserQuery>,
    change: impl Fn(&dyn Fn(&mut UserQuery)) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let active = move || {
        let q = query.get();
        !q.roles.is_empty()
            || q.device.is_some()
            || q.onboarded.is_some()
            || q.lost
            || q.archived != Archived::Hide
    };
    view! {
        <div class="filters">
            <div class="filter">
                <label for="users-filter-role">{tx!("users.filter_role")}</label>
                <select id="users-filter-role" data-testid="filter-role" prop:value=move || roles_value(&query.get().roles)
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            change(&|q: &mut UserQuery| q.roles = v.split(',').filter_map(Role::parse).collect());
                        }>
                    {ROLE_CHOICES.into_iter().map(|(v, l)| view! { <option value=v>{l}</option> }).collect_view()}
                </select>
            </div>
            <div class="filter">
                <label for="users-filter-device">{tx!("users.filter_devices")}</label>
                <select id="users-filter-device" data-testid="filter-device"
                        prop:value=move || query.get().device.map(|d| d.as_str()).unwrap_or("")
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            change(&|q: &mut UserQuery| q.device = DeviceFilter::parse(&v));
                        }>
                    <option value="">{tx!("users.devices_any_or_none")}</option>
                    {DeviceFilter::ALL.into_iter().map(|d| view! { <option value=d.as_str()>{move || d.label_in(lang())}</option> }).collect_view()}
                </select>
            </div>
            <div class="filter">
                <label for="users-filter-onboarded">{tx!("users.filter_onboarding")}</label>
                <select id="users-filter-onboarded" data-testid="filter-onboarded"
                        prop:value=move || match query.get().onboarded { None => "", Some(true) => "true", Some(false) => "false" }
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            change(&|q: &mut UserQuery| q.onboarded = match v.as_str() { "true" => Some(true), "false" => Some(false), _ => None });
                        }>
                    <option value="">{tx!("users.onboarding_any")}</option>
                    <option value="true">{tx!("users.onboarded")}</option>
                    <option value="false">{tx!("users.not_onboarded")}</option>
                </select>
            </div>
            <div class="filter">
                <label for="users-filter-archived">{tx!("users.filter_show")}</label>
                <select id="users-filter-archived" data-testid="filter-archived"
                        prop:value=move || query.get().archived.as_str()
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            change(&|q: &mut UserQuery| q.archived = Archived::parse(&v).unwrap_or_default());
                        }>
                    {Archived::ALL.into_iter().map(|a| view! { <option value=a.as_str()>{move || a.label_in(lang())}</option> }).collect_view()}
                </select>
            </div>
            <label class="check" for="users-filter-lost">
                <input id="users-filter-lost" type="checkbox" data-testid="filter-lost"
                       prop:checked=move || query.get().lost
                       on:change=move |ev| {
                           let on = event_target_checked(&ev);
                           change(&|q: &mut UserQuery| q.lost = on);
                       }/>
                <span>{tx!("users.filter_lost")}</span>
            </label>
            <Show when=active>
                <button type="button" class="link-button" data-testid="clear-filters"
                        on:click=move |_| change(&|q: &mut UserQuery| {
                            *q = UserQuery { q: q.q.clone(), sort: q.sort, desc: q.desc, per_page: q.per_page, ..Default::default() };
                        })>
                    {tx!("common.clear_filters")}
                </button>
            </Show>
        </div>
    }
}

/// Page size and page navigation.
#[component]
fn Pager(page: UserPage, query: Memo<UserQuery>, go: Callback<(UserQuery, bool)>) -> impl IntoView {
    let pages = page.pages();
    let current = page.page.min(pages);
    let (at_start, at_end) = (current <= 1, current >= pages);
    let to = move |n: u32| {
        let mut q = query.get_untracked();
        q.page = n;
        go.run((q, false));
    };
    let scan_note = (query.get_untracked().lost && page.scan.state != ScanState::Done).then(|| {
        let s = page.scan.clone();
        let text = move || match s.state {
            ScanState::Running => t_with(
                "users.scan_running",
                &[("scanned", &count(s.users_scanned)), ("total", &count(s.users_total))],
            ),
            _ => t("users.scan_not_run"),
        };
        view! { <p class="notice" data-testid="scan-note">{text}" "<a href="/reconnection">{tx!("users.open_reconnection")}</a></p> }
    });
    view! {
        {scan_note}
        <nav class="pager" aria-label=tx!("common.pages")>
            <button type="button" data-testid="page-first" disabled=at_start on:click=move |_| to(1)>{tx!("common.page_first")}</button>
            <button type="button" data-testid="page-prev" disabled=at_start on:click=move |_| to(current - 1)>{tx!("common.page_prev")}</button>
            <span data-testid="page-status">{move || t_with("common.page_status", &[("page", &count(current)), ("pages", &count(pages))])}</span>
            <button type="button" data-testid="page-next" disabled=at_end on:click=move |_| to(current + 1)>{tx!("common.page_next")}</button>
            <button type="button" data-testid="page-last" disabled=at_end on:click=move |_| to(pages)>{tx!("common.page_last")}</button>
            <div class="page-size">
                <label for="users-page-size">{tx!("users.rows_per_page")}</label>
                <select id="users-page-size" data-testid="page-size" prop:value=page.per_page.to_string()
                        on:change=move |ev| {
                            let mut q = query.get_untracked();
                            q.per_page = event_target_value(&ev).parse().unwrap_or(q.per_page);
                            q.page = 1;
                            go.run((q, false));
                        }>
                    {PAGE_SIZES.into_iter().map(|n| view! { <option value=n.to_string()>{n.to_string()}</option> }).collect_view()}
                </select>
            </div>
        </nav>
    }
}

/// "Updated 12 s ago", "Refreshing…", the last refresh error, and Refresh.
#[component]
fn FreshnessLine(
    shown: RwSignal<Option<UserPage>>,
    page: LocalResource<Result<UserPage, ApiFailure>>,
) -> impl IntoView {
    let toasts = use_toasts();
    // Re-render the relative time every few seconds.
    let tick = RwSignal::new(0u32);
    if let Ok(handle) =
        set_interval_with_handle(move || tick.update(|t| *t += 1), Duration::from_secs(5))
    {
        on_cleanup(move || handle.clear());
    }
    let busy = RwSignal::new(false);
    let refresh = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let before = shown.get_untracked().and_then(|p| p.freshness.loaded_at);
        spawn_local(async move {
            let outcome = match api::refresh_users().await {
                Err(e) => Err(e.message()),
                Ok(_) => {
                    let mut result = Err(t("users.refresh_slow"));
                    for _ in 0..60 {
                        sleep(Duration::from_millis(500)).await;
                        if let Ok(p) = api::users_page(&UserQuery {
                            per_page: 1,
                            ..Default::default()
                        })
                        .await
                        {
                            let f: Freshness = p.freshness;
                            if f.loaded_at > before && !f.refreshing {
                                result = match f.last_error {
                                    Some(e) => Err(e),
                                    None => Ok(()),
                                };
                                break;
                            }
                        }
                    }
                    result
                }
            };
            match outcome {
                Ok(()) => {
                    page.refetch();
                    toasts.success(t("users.refreshed"));
                }
                Err(e) => toasts.error(t_with("users.refresh_failed", &[("error", &e)])),
            }
            busy.set(false);
        });
    };
    view! {
        <p class="freshness" data-testid="freshness">
            {move || {
                tick.get();
                shown.get().map(|p| {
                    let f = p.freshness;
                    let when = t_with("users.updated", &[("ago", &ago(f.loaded_at))]);
                    view! {
                        <span title=stamp(f.loaded_at)>{when}</span>
                        {(f.refreshing || busy.get()).then(|| view! { <span class="muted">{t("users.refreshing")}</span> })}
                        {f.last_error.map(|e| view! { <span class="badge warn" title=e>" "{t("users.refresh_failed_badge")}</span> })}
                    }
                })
            }}
            " "
            <button type="button" data-testid="refresh-users" disabled=move || busy.get() on:click=refresh>{tx!("users.refresh")}</button>
        </p>
    }
}

/// Jump straight to a customer by their customer number.
#[component]
fn FindByCustomerNumber() -> impl IntoView {
    let navigate = use_navigate();
    let number = RwSignal::new(String::new());
    let archived = RwSignal::new(false);
    let message = RwSignal::new(None::<Text>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let n = number.get_untracked().trim().to_string();
        if n.is_empty() {
            message.set(Some(Text::Key("users.find_enter_number")));
            return;
        }
        busy.set(true);
        message.set(None);
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::user_by_external_id(&n, archived.get_untracked()).await {
                Ok(u) => navigate(&format!("/users/{}", u.id), Default::default()),
                Err(e) if e.is_not_found() => {
                    message.set(Some(Text::Plain(if archived.get_untracked() {
                        t_with("users.find_none_archived", &[("number", &n)])
                    } else {
                        t_with("users.find_none", &[("number", &n)])
                    })))
                }
                Err(e) => message.set(Some(Text::Plain(e.message()))),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="find-ext" on:submit=submit data-testid="ext-id-form">
            <div class="filter">
                <label for="users-ext-id-input">{tx!("users.find_label")}</label>
                <input id="users-ext-id-input" type="text" data-testid="ext-id-input" autocomplete="off" spellcheck="false"
                       aria-describedby="ext-id-msg" aria-invalid=move || message.get().is_some().to_string()
                       prop:value=move || number.get()
                       on:input=move |ev| { number.set(event_target_value(&ev)); message.set(None); }/>
            </div>
            <label class="check" for="users-ext-id-include-archived">
                <input id="users-ext-id-include-archived" type="checkbox" data-testid="ext-id-include-archived"
                       prop:checked=move || archived.get()
                       on:change=move |ev| archived.set(event_target_checked(&ev))/>
                <span>{tx!("users.find_include_archived")}</span>
            </label>
            <button type="submit" data-testid="ext-id-open" disabled=move || busy.get()>{tx!("users.find_open")}</button>
            <p id="ext-id-msg" class="field-error" role="alert" data-testid="ext-id-not-found"
               hidden=move || message.get().is_none()>
                {move || message.get().map(|m| m.get())}
            </p>
        </form>
    }
}
