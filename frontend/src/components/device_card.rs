//! One device: make and model, connection, health statuses, last data, and
//! for a device that lost its manufacturer connection, the link to send to
//! the customer (copy it, or create a fresh one). Such a card stands out
//! with a red left border and a warning badge.

use leptos::prelude::*;
use shared::{Device, DeviceKind};
use uuid::Uuid;

use crate::api;
use crate::components::status::{ConnectionBadge, StatusBadge};
use crate::format::{ago, or_dash, stamp};

/// The kind as Podero spells it (`heat_pump`, ...): the `data-device-kind` hook.
pub fn kind_attr(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::HeatPump => "heat_pump",
        DeviceKind::ElectricVehicle => "electric_vehicle",
        DeviceKind::Wallbox => "wallbox",
        DeviceKind::Inverter => "inverter",
    }
}

/// Puts `text` on the clipboard; `false` if the browser refused.
async fn copy_to_clipboard(text: String) -> bool {
    let Some(w) = web_sys::window() else {
        return false;
    };
    let promise = w.navigator().clipboard().write_text(&text);
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}

#[component]
pub fn DeviceCard(device: Device, user_id: Option<Uuid>) -> impl IntoView {
    let kind = device.kind();
    let c = device.common().clone();
    let authenticated = c.is_authenticated;
    let title = c.model_name().unwrap_or_else(|| kind.label().to_string());
    let (link, set_link) = signal(c.reconnection_link().map(str::to_string));
    let (note, set_note) = signal(None::<String>);
    let (busy, set_busy) = signal(false);
    let device_id = c.id;
    // `StoredValue` is `Copy`, so the `Show` children (called again on
    // every change) can read the labels without moving them.
    let copy_label = StoredValue::new(format!("Copy the reconnection link of {title}"));
    let new_label = StoredValue::new(format!("Create a new reconnection link for {title}"));

    let new_link = move |_| {
        let Some(user) = user_id else { return };
        set_busy.set(true);
        set_note.set(Some("Creating a new link…".into()));
        leptos::task::spawn_local(async move {
            match api::create_reconnection_link(user, kind, device_id).await {
                Ok(r) => {
                    set_link.set(r.authentication_url);
                    set_note.set(Some("New link created. Send it to the customer.".into()));
                }
                Err(e) => set_note.set(Some(e.message())),
            }
            set_busy.set(false);
        });
    };

    view! {
        <article
            class=if authenticated { "card" } else { "card lost" }
            data-testid="device-card"
            data-device-kind=kind_attr(kind)
            data-authenticated=authenticated.to_string()
            data-device-id=device_id.to_string()
        >
            <header>
                <span class="kind">{kind.label()}</span>
                <h3>{title}</h3>
                <ConnectionBadge authenticated=authenticated/>
            </header>
            <dl class="facts small">
                <div><dt>"Connection"</dt><dd><StatusBadge status=c.connection_status/></dd></div>
                <div><dt>"Monitoring"</dt><dd><StatusBadge status=c.monitoring_status/></dd></div>
                <div><dt>"Steering"</dt><dd><StatusBadge status=c.steering_status/></dd></div>
                <div><dt>"Lifecycle"</dt><dd>{or_dash(c.lifecycle_state.as_deref())}</dd></div>
                <div><dt>"Last data"</dt><dd title=stamp(c.current_state_last_updated_at)>{ago(c.current_state_last_updated_at)}</dd></div>
                <div><dt>"Optimisation"</dt><dd>{if c.is_smart_optimization_active { "Active" } else { "Paused" }}</dd></div>
            </dl>
            <Show when=move || !authenticated>
                <div class="reconnect">
                    <p>"The manufacturer connection is lost. Send the customer this link to reconnect:"</p>
                    {move || match link.get() {
                        Some(url) => {
                            let copy = url.clone();
                            let href = url.clone();
                            let copy_label = copy_label.get_value();
                            view! {
                                <a data-testid="reconnection-link" href=href target="_blank" rel="noopener noreferrer">{url}</a>
                                <button type="button" data-testid="copy-link" aria-label=copy_label on:click=move |_| {
                                    let copy = copy.clone();
                                    leptos::task::spawn_local(async move {
                                        let msg = if copy_to_clipboard(copy).await {
                                            "Link copied to the clipboard."
                                        } else {
                                            "The browser did not allow copying: select the link and copy it by hand."
                                        };
                                        set_note.set(Some(msg.into()));
                                    });
                                }>"Copy link"</button>
                            }.into_any()
                        }
                        None => view! { <span class="muted">"No link yet: create one."</span> }.into_any(),
                    }}
                    <button type="button" data-testid="new-link" aria-label=new_label.get_value() on:click=new_link disabled=move || user_id.is_none() || busy.get()>"Create new link"</button>
                    <p class="note" role="status" aria-live="polite">{move || note.get()}</p>
                </div>
            </Show>
        </article>
    }
}
