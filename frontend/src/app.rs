//! The application shell: top bar (product, organisation, "Emulator" badge),
//! the routes, and the error boundary around the pages.
//!
//! The gateway's `/api/app-info` answer is loaded once here and shared with
//! every component through context ([`AppInfoResource`]); `api.rs` reuses the
//! same single request for the organisation id in its URLs.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::path;
use shared::{AppInfo, Upstream};

use crate::api::{self, ApiFailure};
use crate::components::feedback::ErrorPanel;
use crate::components::toast::{provide_toasts, ToastHost};
use crate::pages::reconnection::ReconnectionPage;
use crate::pages::team::TeamPage;
use crate::pages::user_form::{CreateUserPage, EditUserPage};
use crate::pages::{not_found::NotFound, user_detail::UserDetail, users::UsersPage};

/// The gateway's self-description, provided as context by [`App`].
pub type AppInfoResource = LocalResource<Result<AppInfo, ApiFailure>>;

#[component]
pub fn App() -> impl IntoView {
    let info: AppInfoResource = LocalResource::new(api::app_info);
    provide_context(info);
    provide_toasts();
    view! {
        <Router>
            <a class="skip" href="#main">"Skip to content"</a>
            <TopBar/>
            <main class="page" id="main" tabindex="-1">
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
                        <Route path=path!("/users/new") view=CreateUserPage/>
                        <Route path=path!("/users/:id/edit") view=EditUserPage/>
                        <Route path=path!("/users/:id") view=UserDetail/>
                        <Route path=path!("/reconnection") view=ReconnectionPage/>
                        <Route path=path!("/team") view=TeamPage/>
                    </Routes>
                </ErrorBoundary>
            </main>
            <ToastHost/>
        </Router>
    }
}

/// Product name, the organisation served, and whether it is the emulator.
#[component]
fn TopBar() -> impl IntoView {
    let info = expect_context::<AppInfoResource>();
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                <span class="logo" aria-hidden="true">"◆"</span>
                "Podero Back-Office"
            </a>
            <nav aria-label="Main">
                <A href="/" exact=true>"Users"</A>
                <A href="/reconnection">"Needs reconnection"</A>
                <A href="/team">"Team"</A>
            </nav>
            <div class="org" aria-live="polite">
                {move || match info.get() {
                    Some(Ok(i)) => {
                        let emulator = i.upstream == Upstream::Emulator;
                        view! {
                            <span class="muted">"Organisation"</span>
                            <code data-testid="org-id" title="Organisation id">{i.org_id.to_string()}</code>
                            <Show when=move || emulator>
                                <span class="badge warn" data-testid="emulator-badge" title="No PODERO_BASE_URL configured: the data comes from the local Podero emulator">"Emulator"</span>
                            </Show>
                        }
                            .into_any()
                    }
                    Some(Err(e)) => view! {
                        <span class="badge bad" title=e.message()>"Gateway unreachable"</span>
                    }
                        .into_any(),
                    None => view! { <span class="muted">"…"</span> }.into_any(),
                }}
            </div>
        </header>
    }
}
