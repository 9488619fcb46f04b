//! A user's page (`/users/:id`): profile, device counters, actions (edit,
//! archive), every device of the four kinds (fetched in parallel, lost
//! connections first) with its statuses and the reconnection journey, the
//! user's buildings, the user's support cases with "Open a case" (and
//! when the fleet watch last read the devices, and since when each lost
//! device is lost), the customer's self-service links ("Create link",
//! "Send to customer", the links with "Revoke"), and the change history
//! (what the back-office changed for this user, from the audit trail).
//!
//! The user, the devices, the buildings and the history load
//! independently: each shows its own skeleton, error panel (with Retry) or
//! empty state. Actions and the reconnection journey are offered only when
//! the signed-in role may change this user (`StaffRole` in shared).
//!
//! The profile, the buildings and the history hold no state worth keeping
//! across a language switch: their closures read the language and build
//! them anew. The device cards (a link just created, a verification under
//! way) follow the switch text by text instead.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;
use shared::staff::AuditEntry;
use shared::{Building, Device, User};
use uuid::Uuid;

use crate::api::{self, ApiFailure};
use crate::components::audit::{
    actor, is_failure, outcome_unknown, Action, Changes, OutcomeNotRecorded, RequestCount,
};
use crate::components::confirm::ConfirmDialog;
use crate::components::device_card::DeviceCard;
use crate::components::feedback::{EmptyState, ErrorPanel, Loading};
use crate::components::self_service::SelfServiceLinks;
use crate::components::toast::use_toasts;
use crate::components::user_cases::UserCases;
use crate::format::{ago, count, decimal, or_dash, stamp};
use crate::i18n::{lang, t, t_with, tx};
use crate::session::use_session;

#[component]
pub fn UserDetail() -> impl IntoView {
    let session = use_session();
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
                    error: shared::ApiError::message(t("user_detail.invalid_address")),
                }),
            }
        }
    });
    // Read again after an action on this page (archive), with the user.
    let history = LocalResource::new(move || {
        let id = id();
        async move {
            match id {
                Some(id) => api::user_history(id).await,
                None => Ok(Vec::new()),
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
    // What the fleet watch knows of this user (a failure only loses that).
    let watched = LocalResource::new(move || {
        let id = id();
        async move {
            match id {
                Some(id) => api::watched_user(id).await,
                None => Err(ApiFailure::Network),
            }
        }
    });
    let lost_since = move |device: Uuid| {
        Signal::derive(move || {
            watched
                .get()
                .and_then(Result::ok)
                .and_then(|w| w.devices.into_iter().find(|d| d.device_id == device))
                .and_then(|d| d.lost_since)
        })
    };

    view! {
        <p class="crumbs"><a href="/">{tx!("common.back_to_users")}</a></p>
        {move || match user.get() {
            None => view! { <Loading text=tx!("user_detail.loading_user")/> }.into_any(),
            Some(Err(e)) if e.is_not_found() => view! {
                <ErrorPanel title=tx!("user_detail.not_found_title") message=tx!("user_detail.not_found")/>
            }.into_any(),
            Some(Err(e)) => view! {
                <ErrorPanel message=e.message() retry=Callback::new(move |_| {
                    user.refetch();
                    devices.refetch();
                })/>
            }.into_any(),
            Some(Ok(u)) => {
                // Built anew on a language switch.
                lang();
                view! { <Profile user=u reload=Callback::new(move |_| {
                    user.refetch();
                    history.refetch();
                })/> }.into_any()
            }
        }}
        <Show when=move || !matches!(user.get(), Some(Err(_)))>
        <section class="devices" aria-labelledby="devices-h">
            <h2 id="devices-h">{tx!("user_detail.devices")}</h2>
            {move || match devices.get() {
                None => view! { <Loading text=tx!("user_detail.loading_devices")/> }.into_any(),
                Some(Err(e)) => view! { <ErrorPanel message=e.message() retry=Callback::new(move |_| devices.refetch())/> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <EmptyState message=tx!("user_detail.no_devices")/>
                }.into_any(),
                Some(Ok(list)) => {
                    let user_id = id();
                    let mut list: Vec<Device> = list;
                    // Lost connections first: that is what support looks for.
                    list.sort_by_key(|d| d.common().is_authenticated);
                    let (customer, can_change) = match user.get() {
                        Some(Ok(u)) => (
                            Some((u.display_name(), u.email.clone())),
                            session.can_change_user_of_role(u.role),
                        ),
                        _ => (None, false),
                    };
                    view! {
                        <div class="cards">
                            {list.into_iter().map(|d| {
                                let customer = customer.clone();
                                let lost = lost_since(d.common().id);
                                match customer {
                                    Some(c) => view! { <DeviceCard device=d user_id=user_id customer=c can_change lost_since=lost/> }.into_any(),
                                    None => view! { <DeviceCard device=d user_id=user_id can_change lost_since=lost/> }.into_any(),
                                }
                            }).collect_view()}
                        </div>
                    }.into_any()
                }
            }}
        </section>
        {move || match (id(), user.get()) {
            (Some(user_id), Some(Ok(_))) => Some(view! {
                <UserCases user_id devices watched can_work=session.can_change_users()/>
            }),
            _ => None,
        }}
        {move || match (id(), user.get()) {
            (Some(user_id), Some(Ok(u))) => Some(view! {
                <SelfServiceLinks user_id email=u.email.clone() country=u.country.clone()
                    can_act=session.can_change_user_of_role(u.role) && u.deleted_at.is_none()/>
            }),
            _ => None,
        }}
        <Buildings id/>
        <History history/>
        </Show>
    }
}

/// The user's buildings (homes and sites their devices belong to).
#[component]
fn Buildings(id: impl Fn() -> Option<Uuid> + Send + Sync + Copy + 'static) -> impl IntoView {
    let buildings = LocalResource::new(move || {
        let id = id();
        async move {
            match id {
                Some(id) => api::list_buildings(id).await,
                None => Ok(Vec::new()),
            }
        }
    });
    view! {
        <section class="buildings" aria-labelledby="buildings-h">
            <h2 id="buildings-h">{tx!("user_detail.buildings")}</h2>
            {move || match buildings.get() {
                None => view! { <Loading text=tx!("user_detail.loading_buildings")/> }.into_any(),
                Some(Err(e)) => view! { <ErrorPanel message=e.message() retry=Callback::new(move |_| buildings.refetch())/> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <EmptyState message=tx!("user_detail.no_buildings")/>
                }.into_any(),
                Some(Ok(list)) => {
                    // Built anew on a language switch.
                    lang();
                    view! {
                        <div class="cards">
                            {list.into_iter().map(|b| view! { <BuildingCard building=b/> }).collect_view()}
                        </div>
                    }.into_any()
                }
            }}
        </section>
    }
}

#[component]
fn BuildingCard(building: Building) -> impl IntoView {
    let b = building;
    let address = [
        b.street_and_number.clone(),
        match (&b.zip_code, &b.town) {
            (Some(z), Some(t)) => Some(format!("{z} {t}")),
            (None, Some(t)) => Some(t.clone()),
            _ => None,
        },
        b.country.clone(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let yes_no = |v: Option<bool>| match v {
        Some(true) => t("common.yes"),
        Some(false) => t("common.no"),
        None => "—".to_string(),
    };
    view! {
        <article class="card" data-testid="building-card">
            <header><span class="kind">{t("user_detail.building")}</span><h3>{b.name.clone()}</h3></header>
            <dl class="facts small">
                <div><dt>{t("user_detail.building_type")}</dt><dd>{or_dash(b.property_type.as_deref())}</dd></div>
                <div><dt>{t("user_detail.building_size")}</dt><dd>{b.property_size_m2.map(|m| format!("{} m²", count(m))).unwrap_or_else(|| "—".into())}</dd></div>
                <div><dt>{t("user_detail.building_occupants")}</dt><dd>{b.num_occupants.map(|n| n.to_string()).unwrap_or_else(|| "—".into())}</dd></div>
                <div><dt>{t("user_detail.building_space_heating")}</dt><dd>{or_dash(b.space_heating.as_deref())}</dd></div>
                <div><dt>{t("user_detail.building_water_heating")}</dt><dd>{or_dash(b.water_heating.as_deref())}</dd></div>
                <div><dt>{t("user_detail.building_photovoltaic")}</dt><dd>{yes_no(b.photovoltaic)}</dd></div>
                <div><dt>{t("user_detail.address")}</dt><dd>{if address.is_empty() { "—".to_string() } else { address }}</dd></div>
            </dl>
        </article>
    }
}

/// What the back-office changed for this user, newest first (every role
/// may read it).
#[component]
fn History(history: LocalResource<Result<Vec<AuditEntry>, ApiFailure>>) -> impl IntoView {
    view! {
        <section class="history" aria-labelledby="history-h" data-testid="user-history">
            <h2 id="history-h">{tx!("user_detail.history")}</h2>
            {move || match history.get() {
                None => view! { <Loading text=tx!("user_detail.loading_history")/> }.into_any(),
                Some(Err(e)) => view! { <ErrorPanel message=e.message() retry=Callback::new(move |_| history.refetch())/> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <p class="empty" data-testid="history-empty">{tx!("user_detail.history_empty")}</p>
                }.into_any(),
                Some(Ok(list)) => {
                    // Built anew on a language switch.
                    lang();
                    view! {
                        <ol class="history-list">
                            {list.into_iter().map(|e| view! { <HistoryItem entry=e/> }).collect_view()}
                        </ol>
                    }.into_any()
                }
            }}
        </section>
    }
}

/// One operation: when, who, what, and the fields it changed.
#[component]
fn HistoryItem(entry: AuditEntry) -> impl IntoView {
    let failed = is_failure(&entry);
    view! {
        <li data-testid="history-entry" class:failed=failed>
            <div class="history-head">
                <time datetime=entry.at.to_rfc3339() title=ago(Some(entry.at))>{stamp(Some(entry.at))}</time>
                <span data-testid="audit-actor">{actor(&entry)}</span>
                <Action code=entry.action.clone()/>
                <RequestCount count=entry.count/>
                {failed.then(|| view! { <span class="badge bad" data-testid="audit-status">{t_with("common.http_status", &[("status", &entry.status.to_string())])}</span> })}
                {outcome_unknown(&entry).then(|| view! { <OutcomeNotRecorded/> })}
            </div>
            <Changes changes=entry.changes/>
        </li>
    }
}

/// Edit and Archive (neither for an archived user: Podero keeps it as it
/// is); archiving asks first, naming the user.
#[component]
fn Actions(user: User, reload: Callback<()>) -> impl IntoView {
    let toasts = use_toasts();
    let open = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let id = user.id;
    let name = user.display_name();
    let message = {
        let (name, email) = (name.clone(), user.email.clone());
        move || {
            t_with(
                "user_detail.archive_message",
                &[("name", &name), ("email", &email)],
            )
        }
    };
    let title = {
        let name = name.clone();
        move || t_with("user_detail.archive_title", &[("name", &name)])
    };
    let archived = user.deleted_at.is_some();
    let done_name = name.clone();
    let on_confirm = Callback::new(move |_| {
        busy.set(true);
        let done_name = done_name.clone();
        spawn_local(async move {
            match api::archive_user(id).await {
                Ok(()) => {
                    toasts.success(t_with(
                        "user_detail.archived_toast",
                        &[("name", &done_name)],
                    ));
                    reload.run(());
                }
                Err(e) => toasts.error(t_with(
                    "user_detail.archive_failed",
                    &[("name", &done_name), ("error", &e.message())],
                )),
            }
            busy.set(false);
        });
    });
    view! {
        <div class="actions">
            // An archived user cannot be changed in Podero any more.
            {(!archived).then(|| view! {
                <a class="button" href=format!("/users/{id}/edit") data-testid="edit-user">{tx!("user_detail.edit")}</a>
                <button type="button" class="danger" data-testid="archive-user" disabled=move || busy.get()
                        on:click=move |_| open.set(true)>{tx!("user_detail.archive")}</button>
            })}
            <ConfirmDialog open title=title message=message
                confirm_label=tx!("user_detail.archive_confirm") on_confirm/>
        </div>
    }
}

#[component]
fn Profile(user: User, reload: Callback<()>) -> impl IntoView {
    let session = use_session();
    let role = user.role;
    let user_for_actions = user.clone();
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
    // The profile is built anew on a language switch (see `UserDetail`).
    let lang = lang();
    let country = match user.country.as_deref() {
        Some(c) => shared::CountryCode::parse(c)
            .ok()
            .and_then(|cc| shared::country::name_in(cc.as_str(), lang))
            .map(|name| format!("{name} ({c})"))
            .unwrap_or_else(|| c.to_string()),
        None => "—".to_string(),
    };
    let archived = user.deleted_at.is_some();
    let coords = match (user.latitude, user.longitude) {
        (Some(a), Some(b)) => t_with(
            "user_detail.coordinates_value",
            &[("lat", &decimal(a, 4)), ("lon", &decimal(b, 4))],
        ),
        _ => "—".into(),
    };
    let yes_no = |v: Option<bool>| match v {
        Some(true) => t("common.yes"),
        Some(false) => t("common.no"),
        None => "—".to_string(),
    };
    view! {
        <section class="profile">
            <div class="page-head">
                <h1 data-testid="user-name">{user.display_name()}</h1>
                <span class="badge">{user.role.label_in(lang)}</span>
                <Show when=move || archived>
                    <span class="badge bad" data-testid="archived-badge">{tx!("common.archived")}</span>
                </Show>
                <Show when=move || session.can_change_user_of_role(role)>
                    <Actions user=user_for_actions.clone() reload/>
                </Show>
            </div>
            <dl class="facts">
                <div><dt>{t("user_detail.email")}</dt><dd><a href=format!("mailto:{}", user.email)>{user.email.clone()}</a></dd></div>
                <div><dt>{t("user_detail.customer_number")}</dt><dd data-testid="external-id">{or_dash(user.external_user_id.as_deref())}</dd></div>
                <div><dt>{t("user_detail.address")}</dt><dd>{if address.is_empty() { "—".to_string() } else { address }}</dd></div>
                <div><dt>{t("user_detail.country")}</dt><dd>{country}</dd></div>
                <div><dt>{t("user_detail.coordinates")}</dt><dd>{coords}</dd></div>
                <div><dt>{t("user_detail.onboarded")}</dt><dd>{yes_no(user.is_onboarded)}</dd></div>
                <div><dt>{t("user_detail.joined")}</dt><dd title=stamp(user.joined_at)>{ago(user.joined_at)}</dd></div>
                <div><dt>{t("user_detail.last_sign_in")}</dt><dd title=stamp(user.last_login)>{ago(user.last_login)}</dd></div>
                <div><dt>{t("user_detail.user_id")}</dt><dd><code>{user.id.to_string()}</code></dd></div>
            </dl>
            <ul class="counters" aria-label=t("user_detail.counters")>
                <li><strong>{count(user.num_heat_pumps)}</strong>" "{t("user_detail.counter_heat_pumps")}</li>
                <li><strong>{count(user.num_electric_vehicles)}</strong>" "{t("user_detail.counter_electric_vehicles")}</li>
                <li><strong>{count(user.num_wallboxes)}</strong>" "{t("user_detail.counter_wallboxes")}</li>
                <li><strong>{count(user.num_inverters)}</strong>" "{t("user_detail.counter_inverters")}</li>
            </ul>
        </section>
    }
}
