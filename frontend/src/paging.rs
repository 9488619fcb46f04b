//! What the list pages (users, audit trail) share: their filter lives in
//! the address, and the last page shown stays on screen while the next
//! one loads.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::NavigateOptions;

use crate::api::ApiFailure;

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
