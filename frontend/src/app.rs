//! The application shell: top bar, routes, and the error boundary around pages.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
use shared::Upstream;

use crate::api;
use crate::components::feedback::ErrorPanel;
use crate::pages::{not_found::NotFound, user_detail::UserDetail, users::UsersPage};

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <TopBar/>
            <main class="page" id="main">
                <ErrorBoundary fallback=|errors| {
                    let msg = errors
                        .get()
                        .into_iter()
                        .map(|(_, e)| e.to_string())
                        .collect::<Vec<_>>()
                        .join("; ");
                    view! { <ErrorPanel message=msg/> }
                }>
                    <Routes fallback=|| view! { <NotFound/> }>
                        <Route path=path!("/") view=UsersPage/>
                        <Route path=path!("/users") view=UsersPage/>
                        <Route path=path!("/users/:id") view=UserDetail/>
                    </Routes>
                </ErrorBoundary>
            </main>
        </Router>
    }
}

/// Product name, the organisation served, and whether it is the emulator.
#[component]
fn TopBar() -> impl IntoView {
    let info = LocalResource::new(api::app_info);
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Podero Back-Office"</a>
            <nav aria-label="Main">
                <a href="/">"Users"</a>
            </nav>
            <div class="org">
                {move || match info.get() {
                    Some(Ok(i)) => {
                        let emulator = i.upstream == Upstream::Emulator;
                        view! {
                            <span class="muted">"Organisation "</span>
                            <code data-testid="org-id" title="Organisation id">{i.org_id.to_string()}</code>
                            <Show when=move || emulator>
                                <span class="badge warn" title="No PODERO_BASE_URL configured: data comes from the local emulator">"Emulator"</span>
                            </Show>
                        }
                            .into_any()
                    }
                    Some(Err(e)) => view! { <span class="badge bad" title=e.message()>"Gateway unreachable"</span> }.into_any(),
                    None => view! { <span class="muted">"…"</span> }.into_any(),
                }}
            </div>
        </header>
    }
}
