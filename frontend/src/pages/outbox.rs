//! The outbox (`/outbox`, admins only): every message to customers (the
//! self-service links sent by e-mail), newest first, with to whom, the
//! subject, where it stands (queued, sent, failed, or held because no
//! mail server is configured), the attempts and the last error, and the
//! whole plain-text message behind "Show message". Without a mail server
//! (`GATEWAY_SMTP_URL`) a notice says that messages are kept here.

use leptos::prelude::*;
use shared::self_service::{Message, MessageState};

use crate::api;
use crate::components::feedback::{AdminOnly, EmptyState, ErrorPanel, Loading};
use crate::format::{ago, count, or_dash, stamp};
use crate::i18n::{lang, t, t_with, tx};
use crate::session::use_session;

#[component]
pub fn OutboxPage() -> impl IntoView {
    let session = use_session();
    let admin = Memo::new(move |_| session.is_admin());
    move || {
        if admin.get() {
            view! { <Messages/> }.into_any()
        } else {
            view! {
                <div class="page-head"><h1>{tx!("outbox.title")}</h1></div>
                <AdminOnly message=tx!("outbox.admin_only")/>
            }
            .into_any()
        }
    }
}

#[component]
fn Messages() -> impl IntoView {
    let outbox = LocalResource::new(api::outbox);
    view! {
        <section aria-labelledby="outbox-h">
            <div class="page-head">
                <h1 id="outbox-h">{tx!("outbox.title")}</h1>
                <button type="button" data-testid="outbox-reload" on:click=move |_| outbox.refetch()>
                    {tx!("outbox.reload")}
                </button>
            </div>
            <p class="muted">{tx!("outbox.intro")}</p>
            {move || match outbox.get() {
                None => view! { <Loading text=tx!("outbox.loading")/> }.into_any(),
                Some(Err(e)) => view! {
                    <ErrorPanel message=e.message() retry=Callback::new(move |_| outbox.refetch())/>
                }.into_any(),
                Some(Ok(o)) => {
                    // Built anew on a language switch.
                    lang();
                    let notice = (!o.smtp_configured).then(|| view! {
                        <p class="notice" data-testid="outbox-no-smtp" role="note">
                            {t("outbox.no_smtp")}
                        </p>
                    });
                    let list = if o.messages.is_empty() {
                        view! { <EmptyState message=tx!("outbox.empty")/> }.into_any()
                    } else {
                        view! {
                            <p class="count" role="status">{t_with("outbox.count", &[("count", &count(o.messages.len()))])}</p>
                            <div class="table-wrap">
                                <table data-testid="outbox-table" class="outbox-table">
                                    <caption class="visually-hidden">{t("outbox.caption")}</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">{t("outbox.col_created")}</th>
                                            <th scope="col">{t("outbox.col_to")}</th>
                                            <th scope="col">{t("outbox.col_subject")}</th>
                                            <th scope="col">{t("outbox.col_state")}</th>
                                            <th scope="col" class="num">{t("outbox.col_attempts")}</th>
                                            <th scope="col">{t("outbox.col_last_error")}</th>
                                            <th scope="col">{t("outbox.col_sent_at")}</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {o.messages.into_iter().map(|m| view! { <MessageRow message=m/> }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any()
                    };
                    view! { {notice} {list} }.into_any()
                }
            }}
        </section>
    }
}

/// One message; its subject opens the whole text.
#[component]
fn MessageRow(message: Message) -> impl IntoView {
    let m = message;
    let (class, state) = match m.state {
        MessageState::Queued => ("badge warn", t("outbox.state_queued")),
        MessageState::Sent => ("badge good", t("outbox.state_sent")),
        MessageState::Failed => ("badge bad", t("outbox.state_failed")),
        MessageState::Held => ("badge", t("outbox.state_held")),
    };
    let case = m.case_id.map(|id| {
        view! { <a class="case-ref" href=format!("/cases/{id}")>{t_with("outbox.case", &[("id", &id.to_string())])}</a> }
    });
    view! {
        <tr data-testid="outbox-row" data-message-id=m.id.to_string() data-state=m.state.as_str()
            data-user-id=m.user_id.to_string()
            data-case-id=m.case_id.map(|c| c.to_string()).unwrap_or_default()>
            <td class="nowrap" title=stamp(Some(m.created_at))>{ago(Some(m.created_at))}</td>
            <td data-testid="outbox-to">{m.to.clone()}</td>
            <td class="subject">
                <details>
                    <summary data-testid="outbox-subject">{m.subject.clone()}</summary>
                    <p class="muted message-meta">{t_with(
                        "outbox.details",
                        &[("language", &m.language), ("who", &or_dash(m.created_by.as_deref()))],
                    )}</p>
                    <pre class="message-body" data-testid="outbox-body">{m.body.clone()}</pre>
                </details>
                {case}
            </td>
            <td><span class=class>{state}</span></td>
            <td class="num">{count(m.attempts)}</td>
            <td class="last-error">{or_dash(m.last_error.as_deref())}</td>
            <td class="nowrap" title=stamp(m.sent_at)>{match m.sent_at {
                Some(at) => ago(Some(at)),
                None => or_dash(None),
            }}</td>
        </tr>
    }
}
