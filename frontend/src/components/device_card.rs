//! One device: make and model, connection, health statuses, lifecycle, last
//! data, and for a device that lost its manufacturer connection the support
//! journey: the link to send to the customer (copy it, e-mail it, or create
//! a fresh one) and "Verify connection", which re-reads the device until it
//! is connected again or a deadline passes. Such a card stands out with a
//! red left border and a warning badge. The support journey is offered
//! only to someone whose role may change this user (`can_change`); others
//! see that the connection is lost and who can help. Since when it is lost
//! is the fleet watch's, when the page has it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use shared::device::lifecycle_text;
use shared::directory::percent_encode;
use shared::{Device, DeviceKind, DEFAULT_VERIFY_SECS};
use uuid::Uuid;

use crate::api;
use crate::app::AppInfoResource;
use crate::components::status::{ConnectionBadge, StatusBadge};
use crate::components::toast::use_toasts;
use crate::format::{ago, or_dash, stamp};
use crate::i18n::{lang, t, t_with, tx, Text};
use crate::timer::sleep;

/// Between two reads of "Verify connection"; how long it keeps reading is
/// the gateway's `verify_secs` (`/api/app-info`).
const VERIFY_EVERY: Duration = Duration::from_secs(2);

/// Where a verification stands.
#[derive(Clone, Debug, PartialEq)]
enum Verify {
    Idle,
    Checking(u64),
    Connected,
    TimedOut,
    Failed(String),
}

/// A `mailto:` link with the reconnection link pre-filled (in the app's
/// language of the moment).
fn email_href(email: &str, name: &str, device: &str, link: &str) -> String {
    let subject = t_with("device.email_subject", &[("device", device)]);
    let body = t_with(
        "device.email_body",
        &[("name", name), ("device", device), ("link", link)],
    );
    format!(
        "mailto:{}?subject={}&body={}",
        percent_encode(email).replace("%40", "@"),
        percent_encode(&subject),
        percent_encode(&body)
    )
}

/// The kind as Podero spells it (`heat_pump`, ...): the `data-device-kind` hook.
pub fn kind_attr(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::HeatPump => "heat_pump",
        DeviceKind::ElectricVehicle => "electric_vehicle",
        DeviceKind::Wallbox => "wallbox",
        DeviceKind::Inverter => "inverter",
    }
}

/// Podero's lifecycle codes (`error · auth_expired`), for support in the
/// lifecycle's tooltip: the card shows them in words.
fn lifecycle_codes((state, error): &(Option<String>, Option<String>)) -> Option<String> {
    let codes: Vec<&str> = [state.as_deref(), error.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    (!codes.is_empty()).then(|| codes.join(" · "))
}

/// Puts `text` on the clipboard; `false` if the browser refused.
pub async fn copy_to_clipboard(text: String) -> bool {
    let Some(w) = web_sys::window() else {
        return false;
    };
    let promise = w.navigator().clipboard().write_text(&text);
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}

#[component]
pub fn DeviceCard(
    device: Device,
    user_id: Option<Uuid>,
    /// The customer's name and e-mail, for the pre-filled e-mail.
    #[prop(optional)]
    customer: Option<(String, String)>,
    /// The signed-in role may change this user (create links, verify).
    can_change: bool,
    /// Since when the fleet watch sees the connection lost (once it has
    /// read this user).
    #[prop(optional, into)]
    lost_since: Option<Signal<Option<DateTime<Utc>>>>,
) -> impl IntoView {
    let kind = device.kind();
    let c = device.common().clone();
    let authenticated = RwSignal::new(c.is_authenticated);
    let last_data = RwSignal::new(c.current_state_last_updated_at);
    let lifecycle = RwSignal::new((c.lifecycle_state.clone(), c.lifecycle_error.clone()));
    let verify = RwSignal::new(Verify::Idle);
    let info = expect_context::<AppInfoResource>();
    // The page shows devices only after the app info loaded (its requests
    // need the organisation id), so the fallback is for a failed load only.
    let verify_for = move || {
        info.get_untracked()
            .and_then(|r| r.ok())
            .map_or(DEFAULT_VERIFY_SECS, |i| i.verify_secs)
    };
    let toasts = use_toasts();
    // The model, else the kind in the language of the moment. `StoredValue`
    // is `Copy`, so the `Show` children (called again on every change) can
    // read it without moving it.
    let model = StoredValue::new(c.model_name());
    let title = move || model.get_value().unwrap_or_else(|| kind.label_in(lang()));
    let (link, set_link) = signal(c.reconnection_link().map(str::to_string));
    let (note, set_note) = signal(None::<Text>);
    let (busy, set_busy) = signal(false);
    let device_id = c.id;
    let copy_label = move || t_with("device.copy_link_label", &[("device", &title())]);
    let new_label = move || t_with("device.new_link_label", &[("device", &title())]);

    let new_link = move |_| {
        let Some(user) = user_id else { return };
        set_busy.set(true);
        set_note.set(Some(Text::Key("device.creating_link")));
        leptos::task::spawn_local(async move {
            match api::create_reconnection_link(user, kind, device_id).await {
                Ok(r) => {
                    set_link.set(r.authentication_url);
                    set_note.set(Some(Text::Key("device.link_created")));
                }
                Err(e) => set_note.set(Some(Text::Plain(e.message()))),
            }
            set_busy.set(false);
        });
    };

    let customer = StoredValue::new(customer);
    let run_verify = move |_| {
        let Some(user) = user_id else { return };
        if matches!(verify.get_untracked(), Verify::Checking(_)) {
            return;
        }
        verify.set(Verify::Checking(0));
        let deadline_ms = f64::from(verify_for()) * 1000.0;
        leptos::task::spawn_local(async move {
            let started = js_sys::Date::now();
            loop {
                let elapsed = ((js_sys::Date::now() - started) / 1000.0) as u64;
                verify.set(Verify::Checking(elapsed));
                match api::get_device(user, kind, device_id).await {
                    Ok(d) => {
                        let c = d.common();
                        last_data.set(c.current_state_last_updated_at);
                        lifecycle.set((c.lifecycle_state.clone(), c.lifecycle_error.clone()));
                        if c.is_authenticated {
                            authenticated.set(true);
                            verify.set(Verify::Connected);
                            toasts.success(t_with(
                                "device.connected_again_toast",
                                &[("device", &title())],
                            ));
                            return;
                        }
                    }
                    Err(e) => {
                        verify.set(Verify::Failed(e.message()));
                        return;
                    }
                }
                if js_sys::Date::now() - started >= deadline_ms {
                    verify.set(Verify::TimedOut);
                    return;
                }
                sleep(VERIFY_EVERY).await;
            }
        });
    };

    view! {
        <article
            class=move || if authenticated.get() { "card" } else { "card lost" }
            data-testid="device-card"
            data-device-kind=kind_attr(kind)
            data-authenticated=move || authenticated.get().to_string()
            data-device-id=device_id.to_string()
        >
            <header>
                <span class="kind">{move || kind.label_in(lang())}</span>
                <h3>{title}</h3>
                {move || view! { <ConnectionBadge authenticated=authenticated.get()/> }}
            </header>
            <dl class="facts small">
                <div><dt>{tx!("device.connection")}</dt><dd><StatusBadge status=c.connection_status/></dd></div>
                <div><dt>{tx!("device.monitoring")}</dt><dd><StatusBadge status=c.monitoring_status/></dd></div>
                <div><dt>{tx!("device.steering")}</dt><dd><StatusBadge status=c.steering_status/></dd></div>
                <div><dt>{tx!("device.authenticated")}</dt><dd data-testid="is-authenticated">{move || if authenticated.get() { t("common.yes") } else { t("common.no") }}</dd></div>
                <div><dt>{tx!("device.lifecycle")}</dt><dd data-testid="lifecycle"
                    title=move || lifecycle_codes(&lifecycle.get())
                    data-lifecycle-state=move || lifecycle.get().0
                    data-lifecycle-error=move || lifecycle.get().1>{move || {
                    let (state, error) = lifecycle.get();
                    or_dash(lifecycle_text(state.as_deref(), error.as_deref(), lang()).as_deref())
                }}</dd></div>
                {move || lost_since.and_then(|s| s.get()).filter(|_| !authenticated.get()).map(|at| view! {
                    <div><dt>{tx!("device.lost_since")}</dt><dd data-testid="device-lost-since" title=stamp(Some(at))>{ago(Some(at))}</dd></div>
                })}
                <div><dt>{tx!("device.last_data")}</dt><dd title=move || stamp(last_data.get())>{move || ago(last_data.get())}</dd></div>
                <div><dt>{tx!("device.optimisation")}</dt><dd>{move || if c.is_smart_optimization_active { t("device.active") } else { t("device.paused") }}</dd></div>
            </dl>
            {move || {
                let v = verify.get();
                (v == Verify::Connected).then(|| view! {
                    <p class="verify good" data-testid="verify-result" data-outcome="connected" role="status">
                        {tx!("device.connected_again")}
                    </p>
                })
            }}
            <Show when=move || !authenticated.get() && !can_change>
                <div class="reconnect">
                    <p data-testid="reconnect-read-only">{tx!("device.read_only")}</p>
                </div>
            </Show>
            <Show when=move || !authenticated.get() && can_change>
                <div class="reconnect">
                    <p>{tx!("device.send_link")}</p>
                    {move || match link.get() {
                        Some(url) => {
                            let copy = url.clone();
                            let href = url.clone();
                            view! {
                                <a data-testid="reconnection-link" href=href target="_blank" rel="noopener noreferrer">{url}</a>
                                <button type="button" data-testid="copy-link" aria-label=copy_label on:click=move |_| {
                                    let copy = copy.clone();
                                    leptos::task::spawn_local(async move {
                                        let key = if copy_to_clipboard(copy).await {
                                            "device.link_copied"
                                        } else {
                                            "device.copy_refused"
                                        };
                                        set_note.set(Some(Text::Key(key)));
                                    });
                                }>{tx!("device.copy_link")}</button>
                            }.into_any()
                        }
                        None => view! { <span class="muted">{tx!("device.no_link")}</span> }.into_any(),
                    }}
                    {move || match (link.get(), customer.get_value()) {
                        (Some(url), Some((name, email))) => Some(view! {
                            <a class="button" data-testid="email-link"
                               href=email_href(&email, &name, &title(), &url)>
                                {t_with("device.email_to", &[("email", &email)])}
                            </a>
                        }),
                        _ => None,
                    }}
                    <button type="button" data-testid="new-link" aria-label=new_label on:click=new_link disabled=move || user_id.is_none() || busy.get()>{tx!("device.new_link")}</button>
                    <button type="button" data-testid="verify-connection" on:click=run_verify
                            disabled=move || user_id.is_none() || matches!(verify.get(), Verify::Checking(_))>
                        {tx!("device.verify")}
                    </button>
                    <p class="note" role="status" aria-live="polite">{move || note.get().map(|n| n.get())}</p>
                    {move || match verify.get() {
                        Verify::Checking(s) => Some(view! {
                            <p class="verify" role="status" data-testid="verify-progress">
                                {t_with("device.verify_progress", &[("elapsed", &s.to_string()), ("limit", &verify_for().to_string())])}
                            </p>
                        }.into_any()),
                        Verify::TimedOut => Some(view! {
                            <p class="verify bad" role="alert" data-testid="verify-result" data-outcome="timeout">
                                {t_with("device.verify_timeout", &[("limit", &verify_for().to_string())])}
                            </p>
                        }.into_any()),
                        Verify::Failed(e) => Some(view! {
                            <p class="verify bad" role="alert" data-testid="verify-result" data-outcome="error">
                                {t_with("device.verify_failed", &[("error", e.as_str())])}
                            </p>
                        }.into_any()),
                        _ => None,
                    }}
                </div>
            </Show>
        </article>
    }
}
