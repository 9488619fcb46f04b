//! The audit trail (`/audit`, admins only): every operation made through
//! the gateway, newest first, with who made it, on which end-user, the
//! answer's status, and the fields it changed; filters, pages and a CSV
//! export of everything that matches.
//!
//! As on the users list, the view is a query kept in the address
//! ([`AuditQuery`], the same string the gateway's `/api/audit` reads):
//! controls write a new address (typing replaces the history entry, every
//! other change adds one) and the page reads it back, so Back, reload and
//! a shared link restore the same view. Dates are whole days in UTC, as
//! the times in the table: "to" includes the chosen day.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use leptos::prelude::*;
use leptos_router::hooks::use_location;
use shared::audit_action::action_label;
use shared::staff::{action_group_label, AuditEntry, AuditPage, AuditQuery, ACTIONS};
use uuid::Uuid;

use crate::api;
use crate::components::audit::{
    actor, is_failure, outcome_unknown, Action, Changes, OutcomeNotRecorded, RequestCount,
};
use crate::components::feedback::{AdminOnly, ErrorPanel, Loading};
use crate::format::{ago, count, or_dash, stamp};
use crate::i18n::{field_message, lang, t, t_with, tx, Text};
use crate::paging::{keep_last, use_go_to_query};
use crate::session::use_session;

#[component]
pub fn AuditPage() -> impl IntoView {
    let session = use_session();
    let admin = Memo::new(move |_| session.is_admin());
    move || {
        if admin.get() {
            view! { <AuditTrail/> }.into_any()
        } else {
            view! {
                <div class="page-head"><h1>{tx!("audit.title")}</h1></div>
                <AdminOnly message=tx!("audit.admin_only")/>
            }
            .into_any()
        }
    }
}

/// `2026-11-23` of a time, for a date input.
fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// The date input's value for the end of the range: the query's end is
/// exclusive, so a range ending at midnight shows the day before.
fn last_day(t: DateTime<Utc>) -> String {
    if t.time() == NaiveTime::MIN {
        day(t - Duration::days(1))
    } else {
        day(t)
    }
}

/// The start of a date input's day (UTC); `None` when empty or not a date.
fn start_of(value: &str) -> Option<DateTime<Utc>> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .ok()
        .map(|d| d.and_time(NaiveTime::MIN).and_utc())
}

fn is_filtered(q: &AuditQuery) -> bool {
    q.actor.is_some()
        || q.user.is_some()
        || q.action.is_some()
        || q.changes_only
        || q.from.is_some()
        || q.to.is_some()
}

#[component]
fn AuditTrail() -> impl IntoView {
    let location = use_location();
    let parsed = Memo::new(move |_| AuditQuery::parse(&location.search.get()));
    let query = Memo::new(move |_| parsed.get().unwrap_or_default());

    // Go to a view: typing replaces the current history entry, any other
    // change adds one.
    let go_to = use_go_to_query();
    let go = Callback::new(move |(q, replace): (AuditQuery, bool)| {
        go_to.run((q.to_query_string(), replace))
    });
    // A change of filter starts again at page 1.
    let change = move |replace: bool, f: &dyn Fn(&mut AuditQuery)| {
        let mut q = query.get_untracked();
        f(&mut q);
        q.page = 1;
        go.run((q, replace));
    };

    let page = LocalResource::new(move || {
        let q = query.get();
        async move { api::audit_page(&q).await }
    });
    // The last page shown stays while the next one loads.
    let (shown, error) = keep_last(page);
    let loading = move || page.get().is_none();
    // Colleagues' e-mails, offered while typing (a failure only loses that).
    let team = LocalResource::new(api::team);

    // The typed texts: kept as typed while valid or not yet complete; they
    // follow the address when Back/Forward change it.
    let actor_text = RwSignal::new(query.get_untracked().actor.unwrap_or_default());
    let user_text = RwSignal::new(
        query
            .get_untracked()
            .user
            .map(|u| u.to_string())
            .unwrap_or_default(),
    );
    let user_error = RwSignal::new(None::<Text>);
    let date_error = RwSignal::new(None::<Text>);
    Effect::new(move |_| {
        let q = query.get();
        let actor = q.actor.unwrap_or_default();
        if actor_text.get_untracked().trim().to_lowercase() != actor {
            actor_text.set(actor);
        }
        let typed = Uuid::parse_str(user_text.get_untracked().trim()).ok();
        if typed != q.user && user_error.get_untracked().is_none() {
            user_text.set(q.user.map(|u| u.to_string()).unwrap_or_default());
        }
    });
    let on_actor = move |ev| {
        let value = event_target_value(&ev);
        actor_text.set(value.clone());
        change(true, &|q: &mut AuditQuery| {
            q.actor = Some(value.trim().to_lowercase()).filter(|s| !s.is_empty());
        });
    };
    let on_user = move |ev| {
        let value = event_target_value(&ev);
        user_text.set(value.clone());
        let value = value.trim().to_string();
        let user = if value.is_empty() {
            None
        } else {
            match Uuid::parse_str(&value) {
                Ok(u) => Some(u),
                Err(_) => {
                    user_error.set(Some(Text::Key("audit.user_id_invalid")));
                    return;
                }
            }
        };
        user_error.set(None);
        change(true, &|q: &mut AuditQuery| q.user = user);
    };
    // A date: `from` is the day's start, `to` the next day's start (the
    // chosen day included).
    let on_date = move |is_to: bool, value: String| {
        let mut q = query.get_untracked();
        let start = start_of(&value);
        if is_to {
            q.to = start.map(|t| t + Duration::days(1));
        } else {
            q.from = start;
        }
        if let (Some(from), Some(to)) = (q.from, q.to) {
            if to <= from {
                date_error.set(Some(Text::Key("audit.dates_reversed")));
                return;
            }
        }
        date_error.set(None);
        q.page = 1;
        go.run((q, false));
    };
    let clear = move |_| {
        user_error.set(None);
        date_error.set(None);
        go.run((
            AuditQuery {
                per_page: query.get_untracked().per_page,
                ..Default::default()
            },
            false,
        ));
    };
    let action_value = move || query.get().action.unwrap_or_default();
    // An exact action from the address (`user.update`) is offered too.
    let extra_action = move || {
        query
            .get()
            .action
            .filter(|a| !ACTIONS.iter().any(|(g, _)| g == a))
    };

    view! {
        <section aria-labelledby="audit-h">
            <div class="page-head">
                <h1 id="audit-h">{tx!("audit.title")}</h1>
                <a href="/webhooks" class="head-link" data-testid="webhooks-link">{tx!("audit.webhooks_link")}</a>
            </div>
            <p class="muted">{tx!("audit.intro")}</p>
            {move || parsed.get().err().map(|errors| {
                let msg = errors.iter().map(field_message).collect::<Vec<_>>().join(" ");
                view! { <p class="notice warn" role="alert">{t_with("common.address_not_understood", &[("errors", &msg)])}</p> }
            })}
            <div class="toolbar audit-filters" role="search">
                <div class="filters">
                    <div class="filter">
                        <label for="audit-actor">{tx!("audit.filter_actor")}</label>
                        <input id="audit-actor" type="text" inputmode="email" autocomplete="off" spellcheck="false"
                               list="audit-actors" placeholder=tx!("audit.actor_placeholder")
                               prop:value=move || actor_text.get() on:input=on_actor/>
                        <datalist id="audit-actors">
                            {move || team.get().and_then(Result::ok).map(|list| {
                                list.members.into_iter().map(|m| view! { <option value=m.email.clone()>{m.display_name}</option> }).collect_view()
                            })}
                        </datalist>
                    </div>
                    <div class="filter">
                        <label for="audit-user">{tx!("audit.filter_user")}</label>
                        <input id="audit-user" type="text" autocomplete="off" spellcheck="false" class="uuid"
                               placeholder="00000000-0000-0000-0000-000000000000"
                               aria-invalid=move || user_error.get().is_some().to_string()
                               aria-describedby="audit-user-error"
                               prop:value=move || user_text.get() on:input=on_user/>
                    </div>
                    <div class="filter">
                        <label for="audit-action">{tx!("audit.filter_action")}</label>
                        <select id="audit-action" prop:value=action_value
                                on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    change(false, &|q: &mut AuditQuery| q.action = Some(v.clone()).filter(|s| !s.is_empty()));
                                }>
                            <option value="">{tx!("audit.action_all")}</option>
                            {ACTIONS.into_iter().map(|(group, _)| view! {
                                <option value=group>{move || action_group_label(group, lang())}</option>
                            }).collect_view()}
                            {move || extra_action().map(|a| {
                                let label = action_label(&a, lang());
                                view! { <option value=a.clone() title=a>{label}</option> }
                            })}
                        </select>
                    </div>
                    <div class="filter">
                        <label for="audit-from">{tx!("audit.filter_from")}</label>
                        <input id="audit-from" type="date"
                               prop:value=move || query.get().from.map(day).unwrap_or_default()
                               on:change=move |ev| on_date(false, event_target_value(&ev))/>
                    </div>
                    <div class="filter">
                        <label for="audit-to">{tx!("audit.filter_to")}</label>
                        <input id="audit-to" type="date"
                               aria-invalid=move || date_error.get().is_some().to_string()
                               aria-describedby="audit-date-error"
                               prop:value=move || query.get().to.map(last_day).unwrap_or_default()
                               on:change=move |ev| on_date(true, event_target_value(&ev))/>
                    </div>
                    <label class="check" for="audit-changes-only">
                        <input id="audit-changes-only" type="checkbox"
                               prop:checked=move || query.get().changes_only
                               on:change=move |ev| {
                                   let on = event_target_checked(&ev);
                                   change(false, &|q: &mut AuditQuery| q.changes_only = on);
                               }/>
                        <span>{tx!("audit.filter_changes_only")}</span>
                    </label>
                    <Show when=move || is_filtered(&query.get())>
                        <button type="button" class="link-button" data-testid="clear-filters" on:click=clear>
                            {tx!("common.clear_filters")}
                        </button>
                    </Show>
                </div>
                <p id="audit-user-error" class="field-error" role="alert" hidden=move || user_error.get().is_none()>
                    {move || user_error.get().map(|e| e.get())}
                </p>
                <p id="audit-date-error" class="field-error" role="alert" hidden=move || date_error.get().is_none()>
                    {move || date_error.get().map(|e| e.get())}
                </p>
            </div>
            <div class="list-meta">
                <p class="count" role="status" aria-live="polite" data-testid="audit-count">
                    {move || shown.get().map(|p| operations(p.total))}
                    {move || loading().then(|| view! { <span class="muted">{t("common.loading_suffix")}</span> })}
                </p>
                <a class="button" data-testid="audit-csv" download=""
                   href=move || api::audit_csv_url(&query.get())
                   title=tx!("audit.csv_title")>
                    {tx!("audit.csv_export")}
                </a>
            </div>
            {move || error.get().map(|e| view! {
                <ErrorPanel message=e.message() retry=Callback::new(move |_| page.refetch())/>
            })}
            {move || match shown.get() {
                None if error.get().is_none() => view! { <Loading text=tx!("audit.loading")/> }.into_any(),
                None => ().into_any(),
                Some(p) if p.entries.is_empty() => view! {
                    <div class="empty" data-testid="empty-state">
                        <p>{tx!("audit.no_match")}</p>
                        <Show when=move || is_filtered(&query.get())>
                            <button type="button" on:click=clear>{tx!("common.clear_filters")}</button>
                        </Show>
                    </div>
                }.into_any(),
                Some(p) => {
                    // The rows hold no state: built anew on a language switch.
                    lang();
                    view! {
                        <AuditTable entries=p.entries.clone()/>
                        <Pager page=p query go/>
                    }.into_any()
                }
            }}
        </section>
    }
}

#[component]
fn AuditTable(entries: Vec<AuditEntry>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table data-testid="audit-table" class="audit-table">
                <caption class="visually-hidden">{t("audit.caption")}</caption>
                <thead>
                    <tr>
                        <th scope="col">{t("audit.col_time")}</th>
                        <th scope="col">{t("audit.col_who")}</th>
                        <th scope="col">{t("audit.col_action")}</th>
                        <th scope="col">{t("audit.col_user")}</th>
                        <th scope="col">{t("audit.col_status")}</th>
                        <th scope="col">{t("audit.col_client")}</th>
                        <th scope="col">{t("audit.col_changes")}</th>
                    </tr>
                </thead>
                <tbody>
                    {entries.into_iter().map(|e| view! { <AuditRow entry=e/> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn AuditRow(entry: AuditEntry) -> impl IntoView {
    let failed = is_failure(&entry);
    let status = if outcome_unknown(&entry) {
        view! { <OutcomeNotRecorded/> }.into_any()
    } else {
        let class = if failed { "badge bad" } else { "badge good" };
        view! { <span class=class data-testid="audit-status">{entry.status.to_string()}</span> }
            .into_any()
    };
    let route = format!("{} {}", entry.method, entry.route);
    let target = entry.target_user_id.map(|u| {
        let id = u.to_string();
        let short = id.chars().take(8).collect::<String>();
        view! { <a href=format!("/users/{id}") title=id.clone()><code>{format!("{short}…")}</code></a> }
    });
    view! {
        <tr data-testid="audit-row" data-entry-id=entry.id.to_string() data-status=entry.status.to_string() class:failed=failed>
            <td class="nowrap" title=ago(Some(entry.at))>
                <time datetime=entry.at.to_rfc3339()>{stamp(Some(entry.at))}</time>
            </td>
            <td data-testid="audit-actor">{actor(&entry)}</td>
            <td>
                <Action code=entry.action.clone() note=route/>
                " " <RequestCount count=entry.count/>
                {entry.detail.clone().map(|d| view! { <span class="audit-detail muted">{d}</span> })}
            </td>
            <td>{match target {
                Some(link) => link.into_any(),
                None => view! { <span class="muted">"—"</span> }.into_any(),
            }}</td>
            <td>{status}</td>
            <td><code>{or_dash(entry.client_addr.as_deref())}</code></td>
            <td class="changes-cell"><Changes changes=entry.changes/></td>
        </tr>
    }
}

/// "1 operation", "1,234 operations".
fn operations(n: u64) -> String {
    match n {
        1 => t("audit.operation_one"),
        n => t_with("audit.operations", &[("count", &count(n))]),
    }
}

/// Page navigation.
#[component]
fn Pager(
    page: AuditPage,
    query: Memo<AuditQuery>,
    go: Callback<(AuditQuery, bool)>,
) -> impl IntoView {
    let per_page = u64::from(page.per_page.max(1));
    let pages = u32::try_from(page.total.div_ceil(per_page).max(1)).unwrap_or(u32::MAX);
    let current = page.page.clamp(1, pages);
    let (at_start, at_end) = (current <= 1, current >= pages);
    let to = move |n: u32| {
        let mut q = query.get_untracked();
        q.page = n;
        go.run((q, false));
    };
    view! {
        <nav class="pager" aria-label=t("common.pages")>
            <button type="button" data-testid="page-first" disabled=at_start on:click=move |_| to(1)>{t("common.page_first")}</button>
            <button type="button" data-testid="page-prev" disabled=at_start on:click=move |_| to(current - 1)>{t("common.page_prev")}</button>
            <span data-testid="page-status">{format!(
                "{} · {}",
                t_with("common.page_status", &[("page", &count(current)), ("pages", &count(pages))]),
                t_with("audit.operations", &[("count", &count(page.total))]),
            )}</span>
            <button type="button" data-testid="page-next" disabled=at_end on:click=move |_| to(current + 1)>{t("common.page_next")}</button>
            <button type="button" data-testid="page-last" disabled=at_end on:click=move |_| to(pages)>{t("common.page_last")}</button>
        </nav>
    }
}
