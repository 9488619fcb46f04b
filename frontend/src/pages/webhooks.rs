//! The outgoing webhook's delivery log (`/webhooks`, admins only): each
//! message about a case (`case.opened`, `case.resolved`), whether the
//! receiver took it, how many attempts it took, the last answer or error,
//! and when the next attempt is due.

use leptos::prelude::*;
use shared::cases::{WebhookDelivery, WebhookDeliveryState};

use crate::api;
use crate::components::feedback::{AdminOnly, EmptyState, ErrorPanel, Loading};
use crate::format::{ago, count, or_dash, stamp};
use crate::i18n::{lang, t, t_with, tx};
use crate::session::use_session;

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let session = use_session();
    let admin = Memo::new(move |_| session.is_admin());
    move || {
        if admin.get() {
            view! { <DeliveryLog/> }.into_any()
        } else {
            view! {
                <div class="page-head"><h1>{tx!("webhooks.title")}</h1></div>
                <AdminOnly message=tx!("webhooks.admin_only")/>
            }
            .into_any()
        }
    }
}

#[component]
fn DeliveryLog() -> impl IntoView {
    let deliveries = LocalResource::new(api::webhook_deliveries);
    view! {
        <section aria-labelledby="webhooks-h">
            <div class="page-head">
                <h1 id="webhooks-h">{tx!("webhooks.title")}</h1>
                <button type="button" data-testid="webhooks-reload" on:click=move |_| deliveries.refetch()>
                    {tx!("webhooks.reload")}
                </button>
            </div>
            <p class="muted">{tx!("webhooks.intro")}</p>
            {move || match deliveries.get() {
                None => view! { <Loading text=tx!("webhooks.loading")/> }.into_any(),
                Some(Err(e)) => view! {
                    <ErrorPanel message=e.message() retry=Callback::new(move |_| deliveries.refetch())/>
                }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <EmptyState message=tx!("webhooks.empty")/>
                }.into_any(),
                Some(Ok(list)) => {
                    // Built anew on a language switch.
                    lang();
                    view! {
                        <p class="count" role="status">{t_with("webhooks.count", &[("count", &count(list.len()))])}</p>
                        <div class="table-wrap">
                            <table data-testid="webhooks-table">
                                <caption class="visually-hidden">{t("webhooks.caption")}</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">{t("webhooks.col_created")}</th>
                                        <th scope="col">{t("webhooks.col_event")}</th>
                                        <th scope="col">{t("webhooks.col_case")}</th>
                                        <th scope="col">{t("webhooks.col_state")}</th>
                                        <th scope="col" class="num">{t("webhooks.col_attempts")}</th>
                                        <th scope="col">{t("webhooks.col_last")}</th>
                                        <th scope="col">{t("webhooks.col_next")}</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|d| view! { <DeliveryRow delivery=d/> }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                }
            }}
        </section>
    }
}

#[component]
fn DeliveryRow(delivery: WebhookDelivery) -> impl IntoView {
    let d = delivery;
    let (class, state) = match d.state {
        WebhookDeliveryState::Pending => ("badge warn", t("webhooks.state_pending")),
        WebhookDeliveryState::Delivered => ("badge good", t("webhooks.state_delivered")),
        WebhookDeliveryState::Failed => ("badge bad", t("webhooks.state_failed")),
    };
    let last = match (d.last_status, &d.last_error) {
        (_, Some(e)) => e.clone(),
        (Some(s), None) => t_with("common.http_status", &[("status", &s.to_string())]),
        (None, None) => or_dash(None),
    };
    view! {
        <tr data-testid="delivery-row" data-state=d.state.as_str() data-case-id=d.case_id.to_string()>
            <td class="nowrap" title=stamp(Some(d.created_at))>{ago(Some(d.created_at))}</td>
            <td><code>{d.event.clone()}</code></td>
            <td><a href=format!("/cases/{}", d.case_id)>{format!("#{}", d.case_id)}</a></td>
            <td><span class=class>{state}</span></td>
            <td class="num">{count(d.attempts)}</td>
            <td title=stamp(d.last_attempt_at)>{last}</td>
            <td title=stamp(d.next_attempt_at)>{match d.next_attempt_at {
                Some(at) => stamp(Some(at)),
                None => or_dash(None),
            }}</td>
        </tr>
    }
}
