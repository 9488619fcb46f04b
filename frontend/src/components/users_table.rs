//! The users table: one row per user of a page, linking to the user's page,
//! with sortable column headers.
//!
//! It shows the rows it is given and reports header clicks through
//! `on_sort`; the page owns the query (and so the address). The rows hold
//! no state of their own: a language switch builds them anew.

use leptos::prelude::*;
use shared::directory::{SortKey, UserRow};
use shared::User;

use crate::format::{ago, or_dash, stamp};
use crate::i18n::{lang, t, t_with, tx};

/// Per-kind device counts as small chips (zero counts left out), in the
/// language of the moment (built by the rows' closure, which re-runs on a
/// switch).
fn device_chips(user: &User) -> AnyView {
    let kinds = [
        (
            t("table.abbr_heat_pump"),
            "table.heat_pump_one",
            "table.heat_pump_many",
            user.num_heat_pumps,
        ),
        (
            t("table.abbr_electric_vehicle"),
            "table.electric_vehicle_one",
            "table.electric_vehicle_many",
            user.num_electric_vehicles,
        ),
        (
            t("table.abbr_wallbox"),
            "table.wallbox_one",
            "table.wallbox_many",
            user.num_wallboxes,
        ),
        (
            t("table.abbr_inverter"),
            "table.inverter_one",
            "table.inverter_many",
            user.num_inverters,
        ),
    ];
    let total = user.num_devices();
    if total == 0 {
        return view! { <span class="muted" title=t("table.no_devices")>"—"</span> }.into_any();
    }
    view! {
        <span class="chips">
            {kinds
                .into_iter()
                .filter(|k| k.3 > 0)
                .map(|(abbr, one, many, n)| {
                    let title = t_with(if n == 1 { one } else { many }, &[("n", &n.to_string())]);
                    let chip_title = title.clone();
                    view! {
                        <span class="chip" title=chip_title>
                            <abbr title=title>{abbr}</abbr>
                            " "
                            <strong>{n}</strong>
                        </span>
                    }
                })
                .collect_view()}
        </span>
    }
    .into_any()
}

/// A header cell that sorts by `key`: a button, with `aria-sort` on the
/// cell when it is the current sort.
#[component]
fn SortHeader(
    key: SortKey,
    current: SortKey,
    desc: bool,
    on_sort: Callback<SortKey>,
    #[prop(optional)] class: &'static str,
    #[prop(optional, into)] title: Option<Signal<String>>,
) -> impl IntoView {
    let active = key == current;
    let aria = match (active, desc) {
        (false, _) => "none",
        (true, false) => "ascending",
        (true, true) => "descending",
    };
    let arrow = match (active, desc) {
        (false, _) => "↕",
        (true, false) => "▲",
        (true, true) => "▼",
    };
    view! {
        <th scope="col" class=class aria-sort=aria title=move || title.map(|t| t.get())>
            <button type="button" class="sort" data-testid=format!("sort-{}", key.as_str())
                    on:click=move |_| on_sort.run(key)>
                {move || key.label_in(lang())}
                <span class="arrow" aria-hidden="true">{arrow}</span>
            </button>
        </th>
    }
}

/// One page of users. `sort`/`desc` mark the sorted column; `on_sort` gets
/// the column clicked.
#[component]
pub fn UsersTable(
    rows: Vec<UserRow>,
    sort: SortKey,
    desc: bool,
    on_sort: Callback<SortKey>,
) -> impl IntoView {
    let h = move |key: SortKey| view! { <SortHeader key current=sort desc on_sort/> };
    let rows = StoredValue::new(rows);
    view! {
        <div class="table-wrap">
            <table data-testid="users-table">
                <caption class="visually-hidden">{tx!("table.caption")}</caption>
                <thead>
                    <tr>
                        {h(SortKey::Name)}
                        {h(SortKey::Email)}
                        {h(SortKey::ExternalId)}
                        {h(SortKey::Role)}
                        <SortHeader key=SortKey::Town current=sort desc on_sort class="col-town"/>
                        <SortHeader key=SortKey::Devices current=sort desc on_sort
                            title=tx!("table.devices_title")/>
                        <SortHeader key=SortKey::Joined current=sort desc on_sort class="col-wide"/>
                        <SortHeader key=SortKey::LastLogin current=sort desc on_sort class="col-wide"/>
                    </tr>
                </thead>
                <tbody>
                    {move || rows
                        .get_value()
                        .into_iter()
                        .map(|row| {
                            let u = row.user;
                            let href = format!("/users/{}", u.id);
                            let archived = u.deleted_at.is_some();
                            let name = u.display_name();
                            let email = u.email.clone();
                            let external = or_dash(u.external_user_id.as_deref());
                            let role = u.role.label_in(lang());
                            let town = or_dash(u.town.as_deref());
                            let row_id = u.id.to_string();
                            let lost = row.lost_devices.unwrap_or(0);
                            let (joined, joined_at) = (ago(u.joined_at), stamp(u.joined_at));
                            let (login, login_at) = (ago(u.last_login), stamp(u.last_login));
                            view! {
                                <tr data-testid="user-row" data-user-id=row_id>
                                    <td>
                                        <a data-testid="user-link" href=href>{name}</a>
                                        {archived.then(|| view! { " " <span class="badge bad" data-testid="archived-badge">{t("common.archived")}</span> })}
                                        {(lost > 0).then(|| view! {
                                            " " <span class="badge bad" data-testid="lost-badge"
                                                title=t("table.lost_title")>
                                                {t_with("table.lost", &[("count", &lost.to_string())])}
                                            </span>
                                        })}
                                    </td>
                                    <td>{email}</td>
                                    <td><code>{external}</code></td>
                                    <td>{role}</td>
                                    <td class="col-town">{town}</td>
                                    <td>{device_chips(&u)}</td>
                                    <td class="col-wide" title=joined_at>{joined}</td>
                                    <td class="col-wide" title=login_at>{login}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
