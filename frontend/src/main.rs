//! Entry point of the browser app: install the panic hook, remove the
//! "Loading…" placeholder that `index.html` shows while the WebAssembly
//! downloads, and mount [`app::App`] into the page body.
//!
//! Where things are: `app.rs` (session gate, routes and top bar), `api.rs`
//! (every HTTP call), `session.rs` (who is signed in, as context),
//! `drafts.rs` (half-typed forms kept in `sessionStorage` across a
//! sign-in), `download.rs` (fetched bytes saved as a file),
//! `i18n.rs` (German and English: the language, its texts from
//! `locales/*.yml`, the switch), `pages/` (one module per page), `components/` (shared pieces),
//! `paging.rs` (list pages: filter in the address, last page kept while
//! loading), `format.rs` (dates and dashes), `timer.rs` (async sleep for
//! polling).

mod api;
mod app;
mod components;
mod download;
mod drafts;
mod format;
mod i18n;
mod pages;
mod paging;
mod session;
mod timer;

fn main() {
    console_error_panic_hook::set_once();
    if let Some(boot) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("boot"))
    {
        boot.remove();
    }
    leptos::mount::mount_to_body(app::App);
}
