//! The users table: one row per user, linking to the user's page.

use leptos::prelude::*;
use shared::User;

use crate::format::or_dash;

#[component]
pub fn UsersTable(rows: Vec<User>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table data-testid="users-table">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"E-mail"</th>
                        <th scope="col">"Customer number"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Town"</th>
                        <th scope="col" class="num" title="Heat pumps / EVs / wallboxes / solar inverters">"Devices"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|u| {
                            let href = format!("/users/{}", u.id);
                            let devices = format!(
                                "{} · {} · {} · {}",
                                u.num_heat_pumps, u.num_electric_vehicles, u.num_wallboxes, u.num_inverters
                            );
                            view! {
                                <tr data-testid="user-row">
                                    <td><a data-testid="user-link" href=href>{u.display_name()}</a></td>
                                    <td>{u.email.clone()}</td>
                                    <td><code>{or_dash(u.external_user_id.as_deref())}</code></td>
                                    <td>{u.role.label()}</td>
                                    <td>{or_dash(u.town.as_deref())}</td>
                                    <td class="num" title="Heat pumps · EVs · wallboxes · solar inverters">{devices}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
