//! The application shell: the session first, then the top bar (product,
//! organisation, "Emulator" badge, the signed-in person, sign-out), the
//! routes, and the error boundary around the pages.
//!
//! At start the shell asks the gateway who is signed in
//! ([`crate::session::Session`], provided as context). Nobody: only the
//! sign-in page, whatever the address. An account with a one-time
//! password: only the password change. Otherwise the app. `api.rs` tells
//! the shell when a later answer ends the session or requires the password
//! change, and the shell switches back accordingly.
//!
//! Every phase's top bar has the language switch (`i18n.rs`); a new
//! sign-in applies the account's stored language, if it has one.
//!
//! The gateway's `/api/app-info` answer needs a session, so it is loaded
//! once signed in and shared with every component through context
//! ([`AppInfoResource`]); `api.rs` reuses the same single request for the
//! organisation id in its URLs.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::{path, NavigateOptions};
use shared::{AppInfo, Upstream};

use crate::api::{self, ApiFailure, SessionEvent};
use crate::components::cases::{provide_case_summary, CasesNavLink};
use crate::components::feedback::{ErrorPanel, Loading};
use crate::components::toast::{provide_toasts, use_toasts, ToastHost};
use crate::drafts;
use crate::i18n::{self, lang, provide_lang, t, t_with, tx, LanguageSwitch};
use crate::pages::audit::AuditPage;
use crate::pages::case_detail::CaseDetailPage;
use crate::pages::cases::CasesPage;
use crate::pages::outbox::OutboxPage;
use crate::pages::password::PasswordPage;
use crate::pages::reconnection::ReconnectionPage;
use crate::pages::sign_in::SignInPage;
use crate::pages::sync::SyncPage;
use crate::pages::team::TeamPage;
use crate::pages::user_form::{CreateUserPage, EditUserPage};
use crate::pages::webhooks::WebhooksPage;
use crate::pages::{not_found::NotFound, user_detail::UserDetail, users::UsersPage};
use crate::session::{safe_next, use_session, Session, SIGN_IN_PATH};

/// The gateway's self-description, provided as context once signed in.
pub type AppInfoResource = LocalResource<Result<AppInfo, ApiFailure>>;

#[component]
pub fn App() -> impl IntoView {
    provide_lang();
    provide_toasts();
    provide_context(Session::new());
    view! {
        <Router>
            <a class="skip" href="#main">{tx!("app.skip")}</a>
            <Gate/>
            <ToastHost/>
        </Router>
    }
}

/// Where the session stands, and so what the shell shows.
#[derive(Clone, Debug, PartialEq)]
enum Phase {
    /// Asking the gateway who is signed in.
    Checking,
    /// The gateway could not be asked.
    Unreachable(String),
    SignedOut,
    /// Signed in with a one-time password: only the password change.
    MustChangePassword,
    SignedIn,
}

/// Asks for the session at start, listens to what `api.rs` learns about it
/// later, and shows the page the session allows.
#[component]
fn Gate() -> impl IntoView {
    let session = use_session();
    // `None` while asking; `Some(Err)` when the gateway could not be asked.
    let checked = RwSignal::new(None::<Result<(), String>>);
    // Switched a moment later, not while the answer is being handled: the
    // page that made the call still updates its own signals after it (its
    // error, its busy flag), and removing the page first would leave those
    // updates running against disposed signals (a panic that stops the
    // app, sign-in included).
    api::watch_session(move |event| {
        set_timeout(
            move || match event {
                SessionEvent::Ended => {
                    if session.info.get_untracked().is_some() {
                        session.ended.set(true);
                    }
                    session.info.set(None);
                }
                SessionEvent::PasswordChangeRequired => session.info.update(|s| {
                    if let Some(s) = s {
                        s.account.must_change_password = true;
                    }
                }),
            },
            std::time::Duration::ZERO,
        )
    });
    let check = move || {
        checked.set(None);
        spawn_local(async move {
            match api::session().await {
                Ok(info) => {
                    session.info.set(Some(info));
                    checked.set(Some(Ok(())));
                }
                Err(ApiFailure::Api { status: 401, .. }) => {
                    session.info.set(None);
                    checked.set(Some(Ok(())));
                }
                Err(e) => checked.set(Some(Err(e.message()))),
            }
        });
    };
    check();
    // A new sign-in: the account's stored language wins if it has one
    // (afterwards the switch changes it, for the account too).
    Effect::new(move |before: Option<Option<uuid::Uuid>>| {
        let account = session
            .info
            .with(|s| s.as_ref().map(|s| (s.account.id, s.account.language)));
        let id = account.map(|(id, _)| id);
        if id.is_some() && before.flatten() != id {
            if let Some((_, Some(language))) = account {
                i18n::choose(language);
            }
        }
        id
    });
    let phase = Memo::new(move |_| match checked.get() {
        None => Phase::Checking,
        Some(Err(m)) => Phase::Unreachable(m),
        Some(Ok(())) => match session
            .info
            .with(|s| s.as_ref().map(|s| s.account.must_change_password))
        {
            None => Phase::SignedOut,
            Some(true) => Phase::MustChangePassword,
            Some(false) => Phase::SignedIn,
        },
    });
    move || {
        match phase.get() {
        Phase::Checking => view! {
            <header class="topbar"><Brand/><LanguageSwitch/></header>
            <main class="page" id="main" tabindex="-1"><Loading text=tx!("app.loading_session")/></main>
        }
        .into_any(),
        Phase::Unreachable(m) => view! {
            <header class="topbar"><Brand/><LanguageSwitch/></header>
            <main class="page" id="main" tabindex="-1">
                <ErrorPanel message=m title=tx!("app.session_check_failed") retry=Callback::new(move |_| check())/>
            </main>
        }
        .into_any(),
        Phase::SignedOut => view! {
            <header class="topbar"><Brand/><LanguageSwitch/></header>
            <main class="page" id="main" tabindex="-1"><SignInPage/></main>
        }
        .into_any(),
        Phase::MustChangePassword => view! {
            <header class="topbar"><Brand/><Account change_link=false/><LanguageSwitch/></header>
            <main class="page" id="main" tabindex="-1"><PasswordPage forced=true/></main>
        }
        .into_any(),
        Phase::SignedIn => view! { <SignedIn/> }.into_any(),
    }
    }
}

/// The app for a signed-in person: top bar and routes, and the count of
/// open unassigned cases behind the top bar's badge (kept fresh while
/// signed in).
#[component]
fn SignedIn() -> impl IntoView {
    let info: AppInfoResource = LocalResource::new(api::app_info);
    provide_context(info);
    provide_case_summary();
    view! {
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
                    <Route path=path!("/cases") view=CasesPage/>
                    <Route path=path!("/cases/:id") view=CaseDetailPage/>
                    <Route path=path!("/webhooks") view=WebhooksPage/>
                    <Route path=path!("/outbox") view=OutboxPage/>
                    <Route path=path!("/sync") view=SyncPage/>
                    <Route path=path!("/team") view=TeamPage/>
                    <Route path=path!("/audit") view=AuditPage/>
                    <Route path=path!("/account/password") view=|| view! { <PasswordPage forced=false/> }/>
                    <Route path=path!("/sign-in") view=AlreadySignedIn/>
                </Routes>
            </ErrorBoundary>
        </main>
    }
}

/// `/sign-in` once signed in: on to `next` (or the start page).
#[component]
fn AlreadySignedIn() -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    Effect::new(move |_| {
        let next = query
            .with_untracked(|q| q.get("next"))
            .and_then(|n| safe_next(&n))
            .unwrap_or_else(|| "/".to_string());
        navigate(
            &next,
            NavigateOptions {
                replace: true,
                ..Default::default()
            },
        );
    });
    view! { <Loading text=tx!("app.loading_back_office")/> }
}

/// The product name, linking to the start page.
#[component]
fn Brand() -> impl IntoView {
    view! {
        <a class="brand" href="/">
            <span class="logo" aria-hidden="true">"◆"</span>
            {tx!("app.brand")}
        </a>
    }
}

/// Product name, navigation (Team, Audit trail and Outbox for admins
/// only), the organisation served, whether it is the emulator, and the
/// account.
#[component]
fn TopBar() -> impl IntoView {
    let info = expect_context::<AppInfoResource>();
    let session = use_session();
    let admin = move || session.is_admin();
    view! {
        <header class="topbar">
            <Brand/>
            <nav aria-label=tx!("app.nav_label")>
                <A href="/" exact=true>{tx!("app.nav_users")}</A>
                <CasesNavLink/>
                <A href="/reconnection">{tx!("app.nav_reconnection")}</A>
                <A href="/sync">{tx!("app.nav_sync")}</A>
                <Show when=admin>
                    <A href="/team">{tx!("app.nav_team")}</A>
                    <A href="/audit">{tx!("app.nav_audit")}</A>
                    <A href="/outbox">{tx!("app.nav_outbox")}</A>
                </Show>
            </nav>
            <div class="org" aria-live="polite">
                {move || match info.get() {
                    Some(Ok(i)) => {
                        let emulator = i.upstream == Upstream::Emulator;
                        view! {
                            <span class="muted">{tx!("app.organisation")}</span>
                            <code data-testid="org-id" title=tx!("app.organisation_id")>{i.org_id.to_string()}</code>
                            <Show when=move || emulator>
                                <span class="badge warn" data-testid="emulator-badge" title=tx!("app.emulator_title")>{tx!("app.emulator")}</span>
                            </Show>
                        }
                            .into_any()
                    }
                    Some(Err(e)) => view! {
                        <span class="badge bad" title=move || e.message()>{tx!("app.gateway_unreachable")}</span>
                    }
                        .into_any(),
                    None => view! { <span class="muted">"…"</span> }.into_any(),
                }}
            </div>
            <Account change_link=true/>
            <LanguageSwitch/>
        </header>
    }
}

/// The signed-in person: name, role badge, "Change password" (unless they
/// are on the forced change already) and "Sign out".
#[component]
fn Account(change_link: bool) -> impl IntoView {
    let session = use_session();
    let toasts = use_toasts();
    let navigate = use_navigate();
    let busy = RwSignal::new(false);
    let sign_out = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::sign_out().await {
                Ok(()) => {
                    // No customer data left behind for the next person in
                    // this tab (a 401 keeps the drafts: that is what they
                    // are for).
                    drafts::clear_all();
                    // Signed out first, so the sign-in page finds its own
                    // address and does not keep this one as `next`.
                    session.ended.set(false);
                    session.info.set(None);
                    navigate(SIGN_IN_PATH, Default::default());
                    toasts.success(t("app.signed_out"));
                }
                Err(e) => {
                    toasts.error(t_with("app.sign_out_failed", &[("error", &e.message())]));
                    busy.set(false);
                }
            }
        });
    };
    let name = move || {
        session.info.with(|s| {
            s.as_ref()
                .map(|s| s.account.display_name.clone())
                .unwrap_or_default()
        })
    };
    let email = move || {
        session.info.with(|s| {
            s.as_ref()
                .map(|s| s.account.email.clone())
                .unwrap_or_default()
        })
    };
    let role = move || {
        session
            .role()
            .map(|r| r.label_in(lang()))
            .unwrap_or_default()
    };
    let role_class = move || match session.role().map(|r| r.as_str()) {
        Some(r) => format!("badge role-{r}"),
        None => "badge".to_string(),
    };
    view! {
        <div class="account">
            <span class="who">
                <span class="account-name" data-testid="account-name" title=email>{name}</span>
                <span class=role_class data-testid="account-role" title=tx!("app.your_role")>{role}</span>
            </span>
            <span class="account-actions">
                {change_link.then(|| view! {
                    <A href="/account/password">{tx!("app.change_password")}</A>
                })}
                <button type="button" data-testid="sign-out" disabled=move || busy.get() on:click=sign_out>
                    {tx!("app.sign_out")}
                </button>
            </span>
        </div>
    }
}
