//! What the list pages (users, audit trail, cases) share: their filter
//! lives in the address, the last page shown stays on screen while the
//! next one loads, and the page navigation.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::NavigateOptions;

use crate::api::ApiFailure;
use crate::format::count;
use crate::i18n::{t_with, tx};

/// A callback showing this page with query string `qs` (without `?`):
/// `replace` replaces the current history entry (while typing), otherwise
/// a new entry is added (Back returns to the previous view).
pub fn use_go_to_query() -> Callback<(String, bool)> {
    let location = use_location();
    let navigate = use_navigate();
    Callback::new(move |(qs, replace): (String, bool)| {
        let path = location.pathname.get_untracked();
        let url = if qs.is_empty() {
            path
        } else {
            format!("{path}?{qs}")
        };
        navigate(
            &url,
            NavigateOptions {
                replace,
                scroll: false,
                ..Default::default()
            },
        );
    })
}

/// The last page `page` loaded (kept while the next one loads) and the
/// error of the last load, if it failed.
pub fn keep_last<P>(
    page: LocalResource<Result<P, ApiFailure>>,
) -> (RwSignal<Option<P>>, RwSignal<Option<ApiFailure>>)
where
    P: Clone + Send + Sync + 'static,
{
    let shown = RwSignal::new(None::<P>);
    let error = RwSignal::new(None::<ApiFailure>);
    Effect::new(move |_| match page.get() {
        Some(Ok(p)) => {
            shown.set(Some(p));
            error.set(None);
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    (shown, error)
}

/// First / previous / "Page 2 of 5" / next / last, for a list whose page
/// lives in the address: `to` shows page `n`.
#[component]
pub fn PageNav(
    /// The page shown (1-based) and how many there are.
    page: u32,
    pages: u32,
    to: Callback<u32>,
) -> impl IntoView {
    let pages = pages.max(1);
    let current = page.clamp(1, pages);
    let (at_start, at_end) = (current <= 1, current >= pages);
    view! {
        <nav class="pager" aria-label=tx!("common.pages")>
            <button type="button" data-testid="page-first" disabled=at_start on:click=move |_| to.run(1)>{tx!("common.page_first")}</button>
            <button type="button" data-testid="page-prev" disabled=at_start on:click=move |_| to.run(current - 1)>{tx!("common.page_prev")}</button>
            <span data-testid="page-status">{move || t_with("common.page_status", &[("page", &count(current)), ("pages", &count(pages))])}</span>
            <button type="button" data-testid="page-next" disabled=at_end on:click=move |_| to.run(current + 1)>{tx!("common.page_next")}</button>
            <button type="button" data-testid="page-last" disabled=at_end on:click=move |_| to.run(pages)>{tx!("common.page_last")}</button>
        </nav>
    }
}
