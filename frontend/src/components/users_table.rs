//! The users table: one row per user, linking to the user's page.
//!
//! It takes the rows to show and nothing else, so it does not care whether
//! they were filtered in the browser (today) or paged by the server (later).

use leptos::prelude::*;
use shared::User;

use crate::format::or_dash;

/// Per-kind device counts as small chips (zero counts left out).
#[component]
fn DeviceChips(user: User) -> impl IntoView {
    let kinds = [
        ("HP", "heat pump", "heat pumps", user.num_heat_pumps),
        (
            "EV",
            "electric vehicle",
            "electric vehicles",
            user.num_electric_vehicles,
        ),
        ("WB", "wallbox", "wallboxes", user.num_wallboxes),
        (
            "PV",
            "solar inverter",
            "solar inverters",
            user.num_inverters,
        ),
    ];
    let total = user.num_devices();
    if total == 0 {
        return view! { <span class="muted" title="No devices">"—"</span> }.into_any();
    }
    view! {
        <span class="chips">
            {kinds
                .into_iter()
                .filter(|k| k.3 > 0)
                .map(|(abbr, one, many, n)| {
                    let title = format!("{n} {}", if n == 1 { one } else { many });
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

#[component]
pub fn UsersTable(rows: Vec<User>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table data-testid="users-table">
                <caption class="visually-hidden">"Users of the organisation"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"E-mail"</th>
                        <th scope="col">"Customer number"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col" class="col-town">"Town"</th>
                        <th scope="col" title="HP heat pumps · EV electric vehicles · WB wallboxes · PV solar inverters">"Devices"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|u| {
                            let href = format!("/users/{}", u.id);
                            let archived = u.deleted_at.is_some();
                            let name = u.display_name();
                            let email = u.email.clone();
                            let external = or_dash(u.external_user_id.as_deref());
                            let role = u.role.label();
                            let town = or_dash(u.town.as_deref());
                            let row_id = u.id.to_string();
                            view! {
                                <tr data-testid="user-row" data-user-id=row_id>
                                    <td>
                                        <a data-testid="user-link" href=href>{name}</a>
                                        {archived.then(|| view! { " " <span class="badge bad">"Archived"</span> })}
                                    </td>
                                    <td>{email}</td>
                                    <td><code>{external}</code></td>
                                    <td>{role}</td>
                                    <td class="col-town">{town}</td>
                                    <td><DeviceChips user=u/></td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
