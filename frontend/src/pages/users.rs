//! The users list: every user of the organisation, searchable.
//!
//! Podero returns the whole organisation in one array; this page keeps it
//! (with a lower-cased search text per user, built once), filters it in the
//! browser as the person types and renders at most [`MAX_ROWS`] rows. A later
//! version moves paging, sorting and search into the gateway's read model;
//! [`UsersTable`] takes rows and does not care where they come from.

use std::sync::Arc;

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::NavigateOptions;
use shared::User;

use crate::api::{self, ApiFailure};
use crate::components::feedback::{EmptyState, ErrorPanel, Loading};
use crate::components::users_table::UsersTable;

/// Rows rendered at most; the rest is reached by refining the search.
pub const MAX_ROWS: usize = 200;

/// The organisation's users and, per user, the lower-cased text a search
/// looks in (name, e-mail, customer number, town).
struct UserIndex {
    users: Vec<User>,
    haystacks: Vec<String>,
}

impl UserIndex {
    fn new(users: Vec<User>) -> Self {
        let haystacks = users
            .iter()
            .map(|u| {
                [
                    Some(u.display_name()),
                    Some(u.email.clone()),
                    u.external_user_id.clone(),
                    u.town.clone(),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("\u{1f}")
                .to_lowercase()
            })
            .collect();
        UserIndex { users, haystacks }
    }

    /// How many users match, and the first `limit` of them.
    fn search(&self, needle: &str, limit: usize) -> (usize, Vec<User>) {
        let mut found = 0;
        let mut rows = Vec::new();
        for (u, hay) in self.users.iter().zip(&self.haystacks) {
            if needle.is_empty() || hay.contains(needle) {
                found += 1;
                if rows.len() < limit {
                    rows.push(u.clone());
                }
            }
        }
        (found, rows)
    }
}

async fn load() -> Result<Arc<UserIndex>, ApiFailure> {
    let query = shared::directory::UserQuery {
        per_page: shared::directory::MAX_PER_PAGE,
        ..Default::default()
    };
    api::users_page(&query).await.map(|page| {
        Arc::new(UserIndex::new(
            page.rows.into_iter().map(|r| r.user).collect(),
        ))
    })
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let users = LocalResource::new(load);
    // The search lives in the address (`?q=`) too, so Back from a user's
    // page and shared links keep it; the input itself is the source of truth.
    let initial = use_query_map().with_untracked(|q| q.get("q").unwrap_or_default());
    let (query, set_query) = signal(initial);
    let navigate = use_navigate();
    let location = use_location();
    let on_input = move |ev| {
        let value = event_target_value(&ev);
        let path = location.pathname.get_untracked();
        let url = if value.is_empty() {
            path
        } else {
            format!("{path}?q={}", js_sys::encode_uri_component(&value))
        };
        set_query.set(value);
        navigate(
            &url,
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    };

    view! {
        <section aria-labelledby="users-h">
            <div class="page-head">
                <h1 id="users-h">"Users"</h1>
                <label class="search">
                    <span class="visually-hidden">"Search users by name, e-mail, customer number or town"</span>
                    <input
                        type="search"
                        data-testid="user-search"
                        placeholder="Search name, e-mail, customer number, town"
                        autocomplete="off"
                        spellcheck="false"
                        prop:value=query
                        on:input=on_input
                    />
                </label>
            </div>
            {move || match users.get() {
                None => view! { <Loading what="users"/> }.into_any(),
                Some(Err(e)) => view! {
                    <ErrorPanel message=e.message() retry=Callback::new(move |_| users.refetch())/>
                }.into_any(),
                Some(Ok(index)) => {
                    let needle = query.get().trim().to_lowercase();
                    let total = index.users.len();
                    let (found, rows) = index.search(&needle, MAX_ROWS);
                    if total == 0 {
                        view! { <EmptyState message="This organisation has no users yet."/> }.into_any()
                    } else if found == 0 {
                        view! {
                            <p class="count" role="status" aria-live="polite" data-testid="result-count">"No matches"</p>
                            <EmptyState message="No user matches this search. Check the spelling, or search by e-mail or customer number."/>
                        }.into_any()
                    } else {
                        let count = if found > MAX_ROWS {
                            format!("Showing {MAX_ROWS} of {found} matching users — refine the search to narrow it down.")
                        } else if needle.is_empty() {
                            format!("{total} users")
                        } else {
                            format!("{found} of {total} users match")
                        };
                        view! {
                            <p class="count" role="status" aria-live="polite" data-testid="result-count">{count}</p>
                            <UsersTable rows=rows/>
                        }.into_any()
                    }
                }
            }}
        </section>
    }
}
