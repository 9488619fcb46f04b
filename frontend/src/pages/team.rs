//! Team administration (`/team`): the organisation's admins and staff.
//!
//! Lists the team members, invites a colleague (creates a Podero user with
//! role staff or admin), changes a member's role, and removes a member
//! after a confirmation that says it cannot be undone (Podero's delete).
//! After each change the list is re-read until the gateway's read model
//! shows it (it refreshes after every write).

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::directory::{SortKey, UserPage, UserQuery, MAX_PER_PAGE};
use shared::{CreateUser, FieldError, Role, UpdateUser, User};
use uuid::Uuid;

use crate::api::{self, ApiFailure};
use crate::components::confirm::ConfirmDialog;
use crate::components::feedback::{EmptyState, ErrorPanel, Loading};
use crate::components::form::TextField;
use crate::components::toast::use_toasts;
use crate::format::{ago, stamp};
use crate::timer::sleep;

fn team_query() -> UserQuery {
    UserQuery {
        roles: vec![Role::Admin, Role::Staff],
        per_page: MAX_PER_PAGE,
        sort: SortKey::Name,
        ..Default::default()
    }
}

/// Re-read the team until `done` holds for it (the read model refreshes
/// right after a write; this waits for that, at most 10 s).
async fn reload_until(
    team: RwSignal<Option<Result<UserPage, ApiFailure>>>,
    done: impl Fn(&[User]) -> bool,
) {
    for _ in 0..40 {
        let page = api::users_page(&team_query()).await;
        let ok = page
            .as_ref()
            .map(|p| done(&p.rows.iter().map(|r| r.user.clone()).collect::<Vec<_>>()))
            .unwrap_or(false);
        team.set(Some(page));
        if ok {
            return;
        }
        sleep(Duration::from_millis(250)).await;
    }
}

#[component]
pub fn TeamPage() -> impl IntoView {
    let team = RwSignal::new(None::<Result<UserPage, ApiFailure>>);
    let load = move || {
        spawn_local(async move {
            team.set(Some(api::users_page(&team_query()).await));
        })
    };
    load();
    view! {
        <section aria-labelledby="team-h">
            <div class="page-head"><h1 id="team-h">"Team"</h1></div>
            <p class="muted">"Admins manage the whole organisation, including the team. Staff manage end-users, their devices and buildings."</p>
            <Invite team/>
            {move || match team.get() {
                None => view! { <Loading what="the team"/> }.into_any(),
                Some(Err(e)) => view! { <ErrorPanel message=e.message() retry=Callback::new(move |_| load())/> }.into_any(),
                Some(Ok(p)) if p.rows.is_empty() => view! {
                    <EmptyState message="Nobody is on the team yet. Invite a colleague above."/>
                }.into_any(),
                Some(Ok(p)) => view! { <Members rows=p.rows.into_iter().map(|r| r.user).collect() team/> }.into_any(),
            }}
        </section>
    }
}

/// Invite a colleague: a Podero user with role staff or admin.
#[component]
fn Invite(team: RwSignal<Option<Result<UserPage, ApiFailure>>>) -> impl IntoView {
    let toasts = use_toasts();
    let email = RwSignal::new(String::new());
    let first = RwSignal::new(String::new());
    let last = RwSignal::new(String::new());
    let role = RwSignal::new("staff".to_string());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let body = move || {
        let opt = |s: RwSignal<String>| {
            Some(s.get_untracked().trim().to_string()).filter(|v| !v.is_empty())
        };
        let mut b = CreateUser::new(
            Role::parse(&role.get_untracked()).unwrap_or(Role::Staff),
            email.get_untracked().trim(),
        );
        b.first_name = opt(first);
        b.last_name = opt(last);
        b
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        failure.set(None);
        let b = body();
        if let Err(e) = b.validate() {
            errors.set(e);
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match api::create_user(&b).await {
                Ok(u) => {
                    toasts.success(format!(
                        "{} joined the team as {}.",
                        u.display_name(),
                        u.role.label()
                    ));
                    for s in [email, first, last] {
                        s.set(String::new());
                    }
                    let id = u.id;
                    reload_until(team, move |users| users.iter().any(|m| m.id == id)).await;
                }
                Err(e) => match e.field_message("email") {
                    Some(m) => errors.set(vec![FieldError::new("email", m)]),
                    None => failure.set(Some(e.message())),
                },
            }
            busy.set(false);
        });
    };
    view! {
        <form class="invite" data-testid="invite-form" on:submit=submit novalidate=true>
            <h2>"Invite a colleague"</h2>
            <div class="invite-fields">
                <TextField name="email" label="E-mail" value=email errors input_type="email" required=true/>
                <TextField name="first_name" label="First name" value=first errors/>
                <TextField name="last_name" label="Last name" value=last errors/>
                <div class="field">
                    <label for="invite-role">"Role"</label>
                    <select id="invite-role" data-testid="field-role" prop:value=move || role.get()
                            on:change=move |ev| role.set(event_target_value(&ev))>
                        <option value="staff">"Staff"</option>
                        <option value="admin">"Admin"</option>
                    </select>
                </div>
            </div>
            {move || failure.get().map(|m| view! { <ErrorPanel message=m title="The colleague was not invited."/> })}
            <button type="submit" class="primary" data-testid="invite-submit" disabled=move || busy.get()>
                {move || if busy.get() { "Inviting…" } else { "Invite" }}
            </button>
        </form>
    }
}

#[component]
fn Members(rows: Vec<User>, team: RwSignal<Option<Result<UserPage, ApiFailure>>>) -> impl IntoView {
    let toasts = use_toasts();
    let open = RwSignal::new(false);
    let removing = RwSignal::new(None::<(Uuid, String, String)>);
    let on_confirm = Callback::new(move |_| {
        let Some((id, name, _)) = removing.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match api::archive_user(id).await {
                Ok(()) => {
                    toasts.success(format!("{name} was removed from the team."));
                    reload_until(team, move |users| !users.iter().any(|m| m.id == id)).await;
                }
                Err(e) => toasts.error(format!("Could not remove {name}: {}", e.message())),
            }
        });
    });
    let message = Signal::derive(move || {
        match removing.get() {
        Some((_, name, email)) => format!("Remove {name} ({email}) from the team? Their Podero account is deleted. This cannot be undone."),
        None => String::new(),
    }
    });
    let title = Signal::derive(move || match removing.get() {
        Some((_, name, _)) => format!("Remove {name}?"),
        None => String::new(),
    });
    view! {
        <div class="table-wrap">
            <table data-testid="team-table">
                <caption class="visually-hidden">"Team members"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"E-mail"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Joined"</th>
                        <th scope="col">"Last login"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|u| {
                        let id = u.id;
                        let name = u.display_name();
                        let email = u.email.clone();
                        let current = u.role;
                        let chosen = RwSignal::new(current.as_str().to_string());
                        let saving = RwSignal::new(false);
                        let save_name = name.clone();
                        let save_role = move |_| {
                            let Some(new_role) = Role::parse(&chosen.get_untracked()) else { return };
                            if new_role == current {
                                return;
                            }
                            saving.set(true);
                            let name = save_name.clone();
                            spawn_local(async move {
                                let body = UpdateUser { role: Some(new_role), ..Default::default() };
                                match api::update_user(id, &body).await {
                                    Ok(_) => {
                                        toasts.success(format!("{name} is now {}.", new_role.label()));
                                        reload_until(team, move |users| users.iter().any(|m| m.id == id && m.role == new_role)).await;
                                    }
                                    Err(e) => toasts.error(format!("Could not change the role of {name}: {}", e.message())),
                                }
                                saving.set(false);
                            });
                        };
                        let remove = {
                            let (name, email) = (name.clone(), email.clone());
                            move |_| {
                                removing.set(Some((id, name.clone(), email.clone())));
                                open.set(true);
                            }
                        };
                        let select_id = format!("role-{id}");
                        view! {
                            <tr data-testid="team-row" data-user-id=id.to_string() data-role=current.as_str()>
                                <td><a href=format!("/users/{id}")>{name.clone()}</a></td>
                                <td>{email.clone()}</td>
                                <td>
                                    <label class="visually-hidden" for=select_id.clone()>{format!("Role of {name}")}</label>
                                    <select id=select_id data-testid="role-select" prop:value=move || chosen.get()
                                            on:change=move |ev| chosen.set(event_target_value(&ev))>
                                        <option value="admin">"Admin"</option>
                                        <option value="staff">"Staff"</option>
                                    </select>
                                    " "
                                    <button type="button" data-testid="save-role" on:click=save_role
                                            disabled=move || saving.get() || chosen.get() == current.as_str()>
                                        "Save role"
                                    </button>
                                </td>
                                <td title=stamp(u.joined_at)>{ago(u.joined_at)}</td>
                                <td title=stamp(u.last_login)>{ago(u.last_login)}</td>
                                <td><button type="button" class="danger" data-testid="remove-member" on:click=remove>"Remove…"</button></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <ConfirmDialog open title message confirm_label="Remove from team" on_confirm/>
    }
}
