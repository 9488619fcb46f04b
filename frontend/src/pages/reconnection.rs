//! "Needs reconnection" (`/reconnection`): every device of the organisation
//! whose manufacturer connection is lost, with its owner.
//!
//! The gateway builds the list by reading every user's devices (a few at a
//! time towards Podero); this page starts that scan when none has run,
//! shows its progress while devices come in, and offers to scan again.
//! From a row the agent opens the customer's page, where the reconnection
//! link is created, sent and verified. The fleet watch's work queue of
//! lost devices (their device-connection cases, with since when each is
//! lost) is one link away.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::device::lifecycle_label;
use shared::directory::{ReconnectionReport, ScanState};

use crate::api;
use crate::components::feedback::{EmptyState, ErrorPanel, Loading};
use crate::format::{ago, count, or_dash, stamp};
use crate::i18n::{lang, t, t_with, tx};
use crate::timer::sleep;

#[component]
pub fn ReconnectionPage() -> impl IntoView {
    let report = RwSignal::new(None::<ReconnectionReport>);
    let error = RwSignal::new(None::<String>);
    // Polls while the page is shown and a scan runs.
    let alive = Arc::new(AtomicBool::new(true));
    {
        let alive = alive.clone();
        on_cleanup(move || alive.store(false, Ordering::Relaxed));
    }
    let poll = move |start: bool| {
        let alive = alive.clone();
        spawn_local(async move {
            let mut first = Some(start);
            while alive.load(Ordering::Relaxed) {
                let result = match first.take() {
                    Some(true) => api::start_reconnection_scan().await,
                    _ => api::reconnection_report().await,
                };
                match result {
                    Ok(r) => {
                        let state = r.scan.state;
                        report.set(Some(r));
                        error.set(None);
                        if state == ScanState::Idle {
                            first = Some(true);
                            continue;
                        }
                        if state != ScanState::Running {
                            return;
                        }
                    }
                    Err(e) => {
                        error.set(Some(e.message()));
                        return;
                    }
                }
                sleep(Duration::from_secs(1)).await;
            }
        });
    };
    let poll = StoredValue::new(poll);
    poll.with_value(|p| p(false));

    view! {
        <section aria-labelledby="reconnection-h">
            <div class="page-head">
                <h1 id="reconnection-h">{tx!("reconnection.title")}</h1>
                <button type="button" data-testid="scan-again"
                        disabled=move || report.get().is_some_and(|r| r.scan.state == ScanState::Running)
                        on:click=move |_| poll.with_value(|p| p(true))>
                    {tx!("reconnection.scan_again")}
                </button>
            </div>
            <p class="muted">{tx!("reconnection.intro")}</p>
            <p class="notice-info" data-testid="reconnection-queue">
                {tx!("reconnection.queue_intro")}" "
                <a href="/cases?state=open&kind=device_connection&sort=oldest" data-testid="reconnection-queue-link">{tx!("reconnection.queue_link")}</a>
            </p>
            {move || error.get().map(|e| view! {
                <ErrorPanel message=e retry=Callback::new(move |_| poll.with_value(|p| p(false)))/>
            })}
            {move || match report.get() {
                None if error.get().is_none() => view! { <Loading text=tx!("reconnection.loading")/> }.into_any(),
                None => ().into_any(),
                Some(r) => {
                    // Nothing here holds state: built anew on a language switch.
                    lang();
                    view! { <Progress report=r.clone()/> <LostTable report=r/> }.into_any()
                }
            }}
        </section>
    }
}

#[component]
fn Progress(report: ReconnectionReport) -> impl IntoView {
    let s = report.scan;
    let state = match s.state {
        ScanState::Idle => "idle",
        ScanState::Running => "running",
        ScanState::Done => "done",
        ScanState::Failed => "failed",
    };
    let text = match s.state {
        ScanState::Idle => t("reconnection.not_run"),
        ScanState::Running => t_with(
            "reconnection.running",
            &[
                ("scanned", &count(s.users_scanned)),
                ("total", &count(s.users_total)),
                ("concurrency", &s.concurrency.to_string()),
            ],
        ),
        ScanState::Done => t_with(
            "reconnection.done",
            &[
                ("total", &count(s.users_total)),
                ("ago", &ago(s.finished_at)),
            ],
        ),
        ScanState::Failed => t_with(
            "reconnection.failed",
            &[("error", &s.last_error.clone().unwrap_or_default())],
        ),
    };
    // Nothing to check counts as complete.
    let (value, max) = if s.users_total == 0 {
        (1, 1)
    } else {
        (s.users_scanned.min(s.users_total), s.users_total)
    };
    view! {
        <div class="scan" data-testid="scan-progress" data-state=state>
            <progress class="bar" value=value.to_string() max=max.to_string() aria-label=t("reconnection.progress_label")></progress>
            <p title=stamp(s.finished_at)>{text}</p>
            {(s.failures > 0).then(|| view! {
                <p class="notice">{t_with(
                    "reconnection.failures",
                    &[("count", &count(s.failures)), ("error", &s.last_error.clone().unwrap_or_default())],
                )}</p>
            })}
        </div>
    }
}

#[component]
fn LostTable(report: ReconnectionReport) -> impl IntoView {
    let done = report.scan.state == ScanState::Done;
    if report.devices.is_empty() {
        return if done {
            view! { <EmptyState message=tx!("reconnection.empty")/> }.into_any()
        } else {
            ().into_any()
        };
    }
    view! {
        <p class="count" role="status">{t_with("reconnection.count", &[("count", &count(report.devices.len()))])}</p>
        <div class="table-wrap">
            <table data-testid="lost-table">
                <caption class="visually-hidden">{t("reconnection.caption")}</caption>
                <thead>
                    <tr>
                        <th scope="col">{t("reconnection.col_customer")}</th>
                        <th scope="col">{t("reconnection.col_customer_number")}</th>
                        <th scope="col">{t("reconnection.col_email")}</th>
                        <th scope="col">{t("reconnection.col_device")}</th>
                        <th scope="col">{t("reconnection.col_lifecycle")}</th>
                        <th scope="col">{t("reconnection.col_last_data")}</th>
                    </tr>
                </thead>
                <tbody>
                    {report.devices.into_iter().map(|d| view! {
                        <tr data-testid="lost-row" data-device-id=d.device_id.to_string() data-user-id=d.user_id.to_string()>
                            <td><a href=format!("/users/{}", d.user_id)>{d.user_name}</a></td>
                            <td><code>{or_dash(d.external_user_id.as_deref())}</code></td>
                            <td>{d.email}</td>
                            <td><span class="muted">{d.kind.label_in(lang())}": "</span>{d.label}</td>
                            <td data-testid="lost-lifecycle" title=d.lifecycle_state.clone()>{or_dash(d.lifecycle_state.as_deref().map(|s| lifecycle_label(s, lang())).as_deref())}</td>
                            <td title=stamp(d.last_data_at)>{ago(d.last_data_at)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
