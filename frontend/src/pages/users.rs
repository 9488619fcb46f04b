//! The users list: every user of the organisation, searchable.
//!
//! Podero returns the whole organisation in one array; this page filters it
//! in the browser and renders at most [`MAX_ROWS`] rows. (A later version
//! moves paging, sorting and search into the gateway's read model; the table
//! component takes rows and does not care where they come from.)

use leptos::prelude::*;
use shared::User;

use crate::api;
use crate::components::feedback::{EmptyState, ErrorPanel, Loading};
use crate::components::users_table::UsersTable;

pub const MAX_ROWS: usize = 200;

fn matches(u: &User, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let hay = [
        u.first_name.as_deref(),
        u.last_name.as_deref(),
        Some(u.email.as_str()),
        u.external_user_id.as_deref(),
        u.town.as_deref(),
    ];
    let full = u.display_name().to_lowercase();
    full.contains(needle)
        || hay
            .iter()
            .flatten()
            .any(|s| s.to_lowercase().contains(needle))
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let users = LocalResource::new(|| api::list_users(false));
    let (query, set_query) = signal(String::new());

    view! {
        <section>
            <div class="page-head">
                <h1>"Users"</h1>
                <label class="search">
                    <span class="visually-hidden">"Search users"</span>
                    <input
                        type="search"
                        data-testid="user-search"
                        placeholder="Search name, e-mail, customer number, town"
                        prop:value=query
                        on:input=move |ev| set_query.set(event_target_value(&ev))
                        autofocus
                    />
                </label>
            </div>
            {move || match users.get() {
                None => view! { <Loading what="users"/> }.into_any(),
                Some(Err(e)) => view! { <ErrorPanel message=e.message() retry=Callback::new(move |_| users.refetch())/> }.into_any(),
                Some(Ok(all)) => {
                    let needle = query.get().trim().to_lowercase();
                    let total = all.len();
                    let matching: Vec<User> = all.into_iter().filter(|u| matches(u, &needle)).collect();
                    let found = matching.len();
                    let rows: Vec<User> = matching.into_iter().take(MAX_ROWS).collect();
                    if total == 0 {
                        view! { <EmptyState message="This organisation has no users yet."/> }.into_any()
                    } else if found == 0 {
                        view! { <EmptyState message="No user matches this search. Check the spelling, or search by e-mail or customer number."/> }.into_any()
                    } else {
                        view! {
                            <p class="muted" aria-live="polite" data-testid="result-count">
                                {if found > MAX_ROWS {
                                    format!("Showing {MAX_ROWS} of {found} matching users (of {total}). Refine the search to narrow it down.")
                                } else {
                                    format!("{found} of {total} users")
                                }}
                            </p>
                            <UsersTable rows=rows/>
                        }
                            .into_any()
                    }
                }
            }}
        </section>
    }
}
