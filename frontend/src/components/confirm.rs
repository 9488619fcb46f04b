//! A confirmation dialog for actions that cannot be undone (archive a user,
//! remove a team member). It names what will happen, starts with the focus
//! on "Cancel", keeps Tab inside the dialog, closes on Escape, and runs the
//! action only on an explicit click of the confirm button.

use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;

use crate::i18n::tx;

/// Shown while `open` is true. `on_confirm` runs when the person confirms;
/// the dialog closes itself either way.
#[component]
pub fn ConfirmDialog(
    open: RwSignal<bool>,
    #[prop(into)] title: Signal<String>,
    #[prop(into)] message: Signal<String>,
    #[prop(into)] confirm_label: Signal<String>,
    on_confirm: Callback<()>,
) -> impl IntoView {
    let cancel_ref = NodeRef::<html::Button>::new();
    let ok_ref = NodeRef::<html::Button>::new();
    Effect::new(move |_| {
        if open.get() {
            if let Some(b) = cancel_ref.get() {
                let _ = b.focus();
            }
        }
    });
    let on_key = move |ev: KeyboardEvent| {
        match ev.key().as_str() {
            "Escape" => open.set(false),
            // Two buttons: Tab and Shift+Tab go from one to the other.
            "Tab" => {
                ev.prevent_default();
                let on_cancel = match (
                    cancel_ref.get(),
                    web_sys::window()
                        .and_then(|w| w.document())
                        .and_then(|d| d.active_element()),
                ) {
                    (Some(c), Some(active)) => {
                        let c: &web_sys::Element = &c;
                        c == &active
                    }
                    _ => false,
                };
                let next = if on_cancel {
                    ok_ref.get()
                } else {
                    cancel_ref.get()
                };
                if let Some(b) = next {
                    let _ = b.focus();
                }
            }
            _ => {}
        }
    };
    view! {
        <Show when=move || open.get()>
            <div class="modal-backdrop" on:keydown=on_key>
                <div class="modal" role="alertdialog" aria-modal="true" aria-labelledby="confirm-title"
                     aria-describedby="confirm-message" data-testid="confirm-dialog">
                    <h2 id="confirm-title">{title}</h2>
                    <p id="confirm-message" data-testid="confirm-message">{message}</p>
                    <div class="actions">
                        <button type="button" node_ref=cancel_ref data-testid="confirm-cancel"
                                on:click=move |_| open.set(false)>{tx!("common.cancel")}</button>
                        <button type="button" class="danger" data-testid="confirm-ok" node_ref=ok_ref
                                on:click=move |_| {
                                    open.set(false);
                                    on_confirm.run(());
                                }>{confirm_label}</button>
                    </div>
                </div>
            </div>
        </Show>
    }
}
