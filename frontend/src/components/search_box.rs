//! The search box of a list whose view is kept in the address (the users
//! list, the cases queue).
//!
//! The box keeps its own text, so trailing spaces (and a search too long
//! to send) survive while typing; it follows the address when something
//! else changes the search (Back, Forward, "Clear filters"). A search is
//! sent once typing pauses for [`PAUSE`] (one request and one history
//! entry for a word, not one per key); a pending one is dropped when the
//! address's search changes otherwise or the page goes. The search is
//! bounded (`shared::directory::check_search`: 200 characters, 12 words):
//! a longer text stays in the box with the message next to it and is not
//! sent; the gateway's own refusal (400 with a field error on `q`) is
//! shown in the same place.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::directory::check_search;
use shared::FieldError;

use crate::i18n::{field_message, Label};
use crate::timer::sleep;

/// How long typing must pause before the search is sent.
pub const PAUSE: Duration = Duration::from_millis(250);

#[component]
pub fn SearchBox(
    /// The search in the address now.
    #[prop(into)]
    current: Signal<String>,
    /// Send a search (the page writes it into the address).
    send: Callback<String>,
    /// The gateway's refusal of the search, if any.
    #[prop(into)]
    server_error: Signal<Option<String>>,
    /// The input's `id` and `data-testid`.
    id: &'static str,
    label: Label,
    placeholder: Label,
    /// Whether the label is for screen readers only (the placeholder
    /// says it on screen).
    #[prop(optional)]
    label_hidden: bool,
) -> impl IntoView {
    let text = RwSignal::new(current.get_untracked());
    // The last search this box sent, to tell its own changes of the
    // address from the others.
    let sent = StoredValue::new(current.get_untracked());
    // Why the typed search is not sent (checked before any request).
    let typed_error = RwSignal::new(None::<FieldError>);
    // Which keystroke may send: a later one, a change from elsewhere or
    // the page going away makes a pending send stale.
    let generation = Arc::new(AtomicU64::new(0));
    {
        let generation = generation.clone();
        on_cleanup(move || generation.store(u64::MAX, Ordering::Relaxed));
    }
    {
        let generation = generation.clone();
        Effect::new(move |before: Option<String>| {
            let q = current.get();
            let own = sent.with_value(|s| s.trim() == q.trim());
            if before.is_some_and(|b| b != q) && !own {
                generation.fetch_add(1, Ordering::Relaxed);
                sent.set_value(q.clone());
                typed_error.set(None);
                text.set(q.clone());
            }
            q
        });
    }
    let on_input = move |ev| {
        let value = event_target_value(&ev);
        text.set(value.clone());
        let mine = generation.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        if let Err(e) = check_search(&value) {
            typed_error.set(Some(e));
            return;
        }
        typed_error.set(None);
        let generation = generation.clone();
        spawn_local(async move {
            sleep(PAUSE).await;
            if generation.load(Ordering::Relaxed) == mine {
                sent.set_value(value.clone());
                send.run(value);
            }
        });
    };
    let error = Memo::new(move |_| {
        typed_error
            .with(|e| e.as_ref().map(field_message))
            .or_else(|| server_error.get())
    });
    let error_id = format!("{id}-error");
    view! {
        <div class="search">
            <label for=id>
                <span class:visually-hidden=label_hidden>{label}</span>
            </label>
            <input
                type="search"
                id=id
                data-testid=id
                placeholder=placeholder
                autocomplete="off"
                spellcheck="false"
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=error_id.clone()
                prop:value=move || text.get()
                on:input=on_input
            />
            <p id=error_id class="field-error" role="alert" data-testid=format!("{id}-error")
               hidden=move || error.get().is_none()>
                {move || error.get()}
            </p>
        </div>
    }
}
