//! One device: make and model, connection, health statuses, last data, and
//! for a device that lost its manufacturer connection, the link to send to
//! the customer (copy it, or create a fresh one).

use leptos::prelude::*;
use shared::{Device, HealthStatus};
use uuid::Uuid;

use crate::api;
use crate::format::{ago, or_dash, stamp};

fn status_class(s: HealthStatus) -> &'static str {
    match s {
        HealthStatus::Ok => "badge good",
        HealthStatus::Warning => "badge warn",
        HealthStatus::Error => "badge bad",
        HealthStatus::Unknown => "badge",
    }
}

fn copy_to_clipboard(text: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().clipboard().write_text(text);
    }
}

#[component]
pub fn DeviceCard(device: Device, user_id: Option<Uuid>) -> impl IntoView {
    let kind = device.kind();
    let c = device.common().clone();
    let authenticated = c.is_authenticated;
    let title = c.model_name().unwrap_or_else(|| kind.label().to_string());
    let (link, set_link) = signal(c.reconnection_link().map(str::to_string));
    let (note, set_note) = signal(None::<String>);
    let device_id = c.id;

    let new_link = move |_| {
        let Some(user) = user_id else { return };
        set_note.set(Some("Creating a new link…".into()));
        leptos::task::spawn_local(async move {
            match api::create_reconnection_link(user, kind, device_id).await {
                Ok(r) => {
                    set_link.set(r.authentication_url);
                    set_note.set(Some("New link created. Send it to the customer.".into()));
                }
                Err(e) => set_note.set(Some(e.message())),
            }
        });
    };

    view! {
        <article
            class=if authenticated { "card" } else { "card lost" }
            data-testid="device-card"
            data-device-kind=serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
            data-authenticated=authenticated.to_string()
            data-device-id=device_id.to_string()
        >
            <header>
                <span class="kind">{kind.label()}</span>
                <h3>{title}</h3>
                {if authenticated {
                    view! { <span class="badge good">"Connected"</span> }.into_any()
                } else {
                    view! { <span class="badge bad" aria-label="Connection lost">"⚠ Connection lost"</span> }.into_any()
                }}
            </header>
            <dl class="facts small">
                <div><dt>"Connection"</dt><dd><span class=status_class(c.connection_status)>{c.connection_status.as_str()}</span></dd></div>
                <div><dt>"Monitoring"</dt><dd><span class=status_class(c.monitoring_status)>{c.monitoring_status.as_str()}</span></dd></div>
                <div><dt>"Steering"</dt><dd><span class=status_class(c.steering_status)>{c.steering_status.as_str()}</span></dd></div>
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
                            view! {
                                <a data-testid="reconnection-link" href=href target="_blank" rel="noopener noreferrer">{url}</a>
                                <button type="button" on:click=move |_| {
                                    copy_to_clipboard(&copy);
                                    set_note.set(Some("Link copied.".into()));
                                }>"Copy link"</button>
                            }.into_any()
                        }
                        None => view! { <span class="muted">"No link yet."</span> }.into_any(),
                    }}
                    <button type="button" data-testid="new-link" on:click=new_link disabled=user_id.is_none()>"Create new link"</button>
                    <p class="muted" aria-live="polite">{move || note.get()}</p>
                </div>
            </Show>
        </article>
    }
}
