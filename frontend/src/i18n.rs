//! German and English in the browser: the language the app speaks, the
//! texts, and the switch in the top bar.
//!
//! The texts live in `frontend/locales/en.yml` and `de.yml` (files a
//! translator edits, compiled in by `rust-i18n`; `main.rs` calls
//! `rust_i18n::i18n!`); the texts the gateway also uses (validation
//! messages, roles, device kinds, countries) are `shared`'s.
//!
//! The language is one `RwSignal<Lang>` created at the root
//! ([`provide_lang`]) and provided as context ([`use_lang`]). [`t`] and
//! [`t_with`] read it, so a view closure such as `move || t("users.title")`
//! re-renders when it changes: switching needs no reload.
//!
//! Which language: the one chosen with the switch and kept in this
//! browser's `localStorage` ([`STORAGE_KEY`]), else the browser's
//! (`navigator.languages`: German for `de` and `de-*`, English otherwise).
//! Once signed in, the account's stored language wins if it has one
//! (`app.rs` applies it), and a switch while signed in is stored for the
//! account too (`PUT /api/session/language`). `<html lang>` always
//! follows, and `api.rs` sends the language as `Accept-Language`, so the
//! gateway's messages match.

use std::cell::Cell;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::{FieldError, Lang};

use crate::api;
use crate::components::toast::use_toasts;
use crate::session::use_session;

/// Where this browser keeps the language chosen with the switch.
pub const STORAGE_KEY: &str = "podero-lang";

/// The app's language, as context.
#[derive(Clone, Copy)]
pub struct UiLang(pub RwSignal<Lang>);

thread_local! {
    /// The same signal, for code that runs outside the component tree
    /// (event handlers, async tasks, `api.rs`).
    static LANG: Cell<Option<RwSignal<Lang>>> = const { Cell::new(None) };
}

/// Create the language signal (stored choice, else the browser's), make it
/// context, and keep `<html lang>` in step. Called once by the root.
pub fn provide_lang() -> RwSignal<Lang> {
    let lang = RwSignal::new(initial());
    LANG.with(|l| l.set(Some(lang)));
    provide_context(UiLang(lang));
    set_html_lang(lang.get_untracked());
    Effect::new(move |_| set_html_lang(lang.get()));
    lang
}

/// The app's language signal.
pub fn use_lang() -> RwSignal<Lang> {
    use_context::<UiLang>()
        .map(|l| l.0)
        .or_else(|| LANG.with(Cell::get))
        .expect("the language is provided by the app root")
}

/// The current language, tracked (a view closure reading it re-renders on
/// a switch).
pub fn lang() -> Lang {
    LANG.with(Cell::get).map(|l| l.get()).unwrap_or_default()
}

/// The current language, untracked (for requests and callbacks).
pub fn current() -> Lang {
    LANG.with(Cell::get)
        .map(|l| l.get_untracked())
        .unwrap_or_default()
}

/// The text of a catalog key as a view child or an attribute's value,
/// following the language: `{tx!("users.title")}`, `title=tx!("…")`. Every
/// such text has the one type `fn() -> String` (a closure that captures
/// nothing), so the rendering code exists once for all of them instead of
/// once per text (which a `move || t("…")` closure would cost in the
/// WebAssembly bundle).
macro_rules! tx {
    ($key:literal) => {
        (|| $crate::i18n::t($key)) as fn() -> String
    };
}
pub(crate) use tx;

/// The text of `key` in the current language (tracked).
pub fn t(key: &str) -> String {
    tr(lang(), key, &[])
}

/// The text of `key` with its `%{name}` placeholders filled (tracked).
pub fn t_with(key: &str, args: &[(&str, &str)]) -> String {
    tr(lang(), key, args)
}

/// The text of `key` in `lang`, placeholders filled from `args`.
pub fn tr(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let text = rust_i18n::t!(key, locale = lang.code());
    if args.is_empty() {
        return text.into_owned();
    }
    let mut out = text.into_owned();
    for (name, value) in args {
        out = out.replace(&format!("%{{{name}}}"), value);
    }
    out
}

/// A field error whose message is one of the app's own texts (not the
/// shared validation's): shown in the language of the moment by
/// [`field_message`].
pub fn field_error(field: &str, key: &str) -> FieldError {
    FieldError {
        field: field.to_string(),
        message: tr(Lang::En, key, &[]),
        key: Some(key.to_string()),
        args: Vec::new(),
    }
}

/// A field error's message in the current language (tracked): the app's
/// own texts from its catalog, the shared validation's from `shared`'s
/// (the same words as the gateway's), a server's as it was sent.
pub fn field_message(e: &FieldError) -> String {
    let lang = lang();
    match e.key.as_deref() {
        Some(key) if crate::_rust_i18n_try_translate(Lang::En.code(), key).is_some() => {
            let args: Vec<(&str, &str)> = e
                .args
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            tr(lang, key, &args)
        }
        _ => e.message_in(lang),
    }
}

/// A text computed when shown (tracked), for tables of choices.
pub type Label = fn() -> String;

/// A message kept for showing later (a note, an inline error): one of the
/// app's texts, shown in the language of the moment, or words from
/// elsewhere (a server's), shown as they are.
#[derive(Clone, Debug, PartialEq)]
pub enum Text {
    Key(&'static str),
    Plain(String),
}

impl Text {
    /// The text to show now (tracked).
    pub fn get(&self) -> String {
        match self {
            Text::Key(key) => t(key),
            Text::Plain(text) => text.clone(),
        }
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The language chosen earlier in this browser, if any.
fn stored() -> Option<Lang> {
    local_storage()?
        .get_item(STORAGE_KEY)
        .ok()?
        .as_deref()
        .and_then(Lang::parse)
}

/// The browser's preferred languages: German for `de` and `de-*` (the
/// first of them the app has), English otherwise.
fn from_browser() -> Lang {
    let Some(nav) = web_sys::window().map(|w| w.navigator()) else {
        return Lang::En;
    };
    let list: Vec<String> = nav
        .languages()
        .iter()
        .filter_map(|v| v.as_string())
        .collect();
    let joined = if list.is_empty() {
        nav.language().unwrap_or_default()
    } else {
        list.join(",")
    };
    Lang::from_accept_language(&joined)
}

/// The language at start: chosen earlier in this browser, else the
/// browser's.
fn initial() -> Lang {
    stored().unwrap_or_else(from_browser)
}

fn set_html_lang(lang: Lang) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", lang.code());
    }
}

/// Speak `lang` from now on, and remember it in this browser.
pub fn choose(lang: Lang) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(STORAGE_KEY, lang.code());
    }
    if let Some(signal) = LANG.with(Cell::get) {
        if signal.get_untracked() != lang {
            signal.set(lang);
        }
    }
}

/// The language switch of the top bar (also on the sign-in page): a
/// labelled select. While signed in, the choice is stored for the account.
#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let lang = use_lang();
    let session = use_session();
    let toasts = use_toasts();
    let on_change = move |ev| {
        let Some(new) = Lang::parse(&event_target_value(&ev)) else {
            return;
        };
        if new == lang.get_untracked() {
            return;
        }
        choose(new);
        if session.info.with_untracked(Option::is_some) {
            spawn_local(async move {
                match api::set_language(Some(new)).await {
                    Ok(info) => session.info.update(|s| {
                        if let Some(s) = s {
                            s.account.language = info.account.language;
                        }
                    }),
                    Err(e) => {
                        toasts.error(t_with("app.language_not_saved", &[("error", &e.message())]))
                    }
                }
            });
        }
    };
    let start = lang.get_untracked();
    view! {
        <label class="lang-switch">
            <span class="visually-hidden">{move || t("app.language")}</span>
            <select data-testid="language-switch" title=move || t("app.language")
                    prop:value=move || lang.get().code() on:change=on_change>
                {Lang::ALL
                    .into_iter()
                    .map(|l| view! {
                        <option value=l.code() lang=l.code() selected=l == start>{l.native_name()}</option>
                    })
                    .collect_view()}
            </select>
        </label>
    }
}
