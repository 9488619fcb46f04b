//! A user's page (`/users/:id`): profile, device counters, and every device
//! of the four kinds (fetched in parallel, lost connections first) with its
//! statuses and, when the connection is lost, the reconnection link.
//!
//! The user and the devices load independently: each shows its own
//! skeleton, error panel (with Retry) or empty state.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use shared::{Device, User};
use uuid::Uuid;

use crate::api::{self, ApiFailure};
use crate::components::device_card::DeviceCard;
use crate::components::feedback::{EmptyState, ErrorPanel, Loading};
use crate::format::{ago, or_dash, stamp};

#[component]
pub fn UserDetail() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| Uuid::parse_str(&s).ok())
    };

    let user = LocalResource::new(move || {
        let id = id();
        async move {
            match id {
                Some(id) => api::get_user(id).await,
                None => Err(ApiFailure::Api {
                    status: 404,
                    error: shared::ApiError::message("This is not a valid user address."),
                }),
            }
        }
    });
    let devices = LocalResource::new(move || {
        let id = id();
        async move {
            match id {
                Some(id) => api::user_devices(id).await,
                None => Ok(Vec::new()),
            }
        }
    });

    view! {
        <p class="crumbs"><a href="/">"← All users"</a></p>
        {move || match user.get() {
            None => view! { <Loading what="user"/> }.into_any(),
            Some(Err(e)) if e.is_not_found() => view! {
                <ErrorPanel title="User not found." message="No user with this id exists in your organisation. It may have been removed.".to_string()/>
            }.into_any(),
            Some(Err(e)) => view! {
                <ErrorPanel message=e.message() retry=Callback::new(move |_| {
                    user.refetch();
                    devices.refetch();
                })/>
            }.into_any(),
            Some(Ok(u)) => view! { <Profile user=u/> }.into_any(),
        }}
        <Show when=move || !matches!(user.get(), Some(Err(_)))>
        <section class="devices" aria-labelledby="devices-h">
            <h2 id="devices-h">"Devices"</h2>
            {move || match devices.get() {
                None => view! { <Loading what="devices"/> }.into_any(),
                Some(Err(e)) => view! { <ErrorPanel message=e.message() retry=Callback::new(move |_| devices.refetch())/> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <EmptyState message="This user has no devices yet. Devices appear here once the customer connects them."/>
                }.into_any(),
                Some(Ok(list)) => {
                    let user_id = id();
                    let mut list: Vec<Device> = list;
                    // Lost connections first: that is what support looks for.
                    list.sort_by_key(|d| d.common().is_authenticated);
                    view! {
                        <div class="cards">
                            {list.into_iter().map(|d| view! { <DeviceCard device=d user_id=user_id/> }).collect_view()}
                        </div>
                    }.into_any()
                }
            }}
        </section>
        </Show>
    }
}

#[component]
fn Profile(user: User) -> impl IntoView {
    let address = [
        user.street_and_number.clone(),
        user.street_add_info.clone(),
        match (&user.zip_code, &user.town) {
            (Some(z), Some(t)) => Some(format!("{z} {t}")),
            (None, Some(t)) => Some(t.clone()),
            (Some(z), None) => Some(z.clone()),
            _ => None,
        },
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let country = match user.country.as_deref() {
        Some(c) => shared::CountryCode::parse(c)
            .map(|cc| format!("{} ({c})", cc.name()))
            .unwrap_or_else(|_| c.to_string()),
        None => "—".to_string(),
    };
    let archived = user.deleted_at.is_some();
    let coords = match (user.latitude, user.longitude) {
        (Some(a), Some(b)) => format!("{a:.4}, {b:.4}"),
        _ => "—".into(),
    };
    view! {
        <section class="profile">
            <div class="page-head">
                <h1 data-testid="user-name">{user.display_name()}</h1>
                <span class="badge">{user.role.label()}</span>
                <Show when=move || archived>
                    <span class="badge bad" data-testid="archived-badge">"Archived"</span>
                </Show>
            </div>
            <dl class="facts">
                <div><dt>"E-mail"</dt><dd><a href=format!("mailto:{}", user.email)>{user.email.clone()}</a></dd></div>
                <div><dt>"Customer number"</dt><dd data-testid="external-id">{or_dash(user.external_user_id.as_deref())}</dd></div>
                <div><dt>"Address"</dt><dd>{if address.is_empty() { "—".to_string() } else { address }}</dd></div>
                <div><dt>"Country"</dt><dd>{country}</dd></div>
                <div><dt>"Coordinates"</dt><dd>{coords}</dd></div>
                <div><dt>"Onboarded"</dt><dd>{match user.is_onboarded { Some(true) => "Yes", Some(false) => "No", None => "—" }}</dd></div>
                <div><dt>"Joined"</dt><dd title=stamp(user.joined_at)>{ago(user.joined_at)}</dd></div>
                <div><dt>"Last sign-in"</dt><dd title=stamp(user.last_login)>{ago(user.last_login)}</dd></div>
                <div><dt>"User id"</dt><dd><code>{user.id.to_string()}</code></dd></div>
            </dl>
            <ul class="counters" aria-label="Device counters">
                <li><strong>{user.num_heat_pumps}</strong>" heat pumps"</li>
                <li><strong>{user.num_electric_vehicles}</strong>" electric vehicles"</li>
                <li><strong>{user.num_wallboxes}</strong>" wallboxes"</li>
                <li><strong>{user.num_inverters}</strong>" solar inverters"</li>
            </ul>
        </section>
    }
}
