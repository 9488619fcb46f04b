//! A confirmation dialog for actions that cannot be undone (archive a user,
//! remove a team member). It names what will happen, starts with the focus
//! on "Cancel", closes on Escape, and runs the action only on an explicit
//! click of the confirm button.

use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;

/// Shown while `open` is true. `on_confirm` runs when the person confirms;
/// the dialog closes itself either way.
#[component]
pub fn ConfirmDialog(
    open: RwSignal<bool>,
    #[prop(into)] title: Signal<String>,
    #[prop(into)] message: Signal<String>,
    #[prop(into)] confirm_label: String,
    on_confirm: Callback<()>,
) -> impl IntoView {
    let cancel_ref = NodeRef::<html::Button>::new();
    Effect::new(move |_| {
        if open.get() {
            if let Some(b) = cancel_ref.get() {
                let _ = b.focus();
            }
        }
    });
    let on_key = move |ev: KeyboardEvent| {
        if ev.key() == "Escape" {
            open.set(false);
        }
    };
    view! {
        <Show when=move || open.get()>
            <div class="modal-backdrop" on:keydown=on_key>
                <div class="modal" role="alertdialog" aria-modal="true" aria-labelledby="confirm-title"
                     aria-describedby="confirm-message" data-testid="confirm-dialog">
                    <h2 id="confirm-title">{move || title.get()}</h2>
                    <p id="confirm-message" data-testid="confirm-message">{move || message.get()}</p>
                    <div class="actions">
                        <button type="button" node_ref=cancel_ref data-testid="confirm-cancel"
                                on:click=move |_| open.set(false)>"Cancel"</button>
                        <button type="button" class="danger" data-testid="confirm-ok"
                                on:click=move |_| {
                                    open.set(false);
                                    on_confirm.run(());
                                }>{confirm_label.clone()}</button>
                    </div>
                </div>
            </div>
        </Show>
    }
}
