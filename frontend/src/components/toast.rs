//! Toasts: short messages about the result of an action ("User created",
//! "Could not archive: …"), shown in one live region at the corner of the
//! screen. Successes disappear after a few seconds; errors stay until
//! dismissed, so nobody misses them.
//!
//! [`provide_toasts`] is called once by the app shell; any component gets
//! the handle with [`use_toasts`] and calls [`Toasts::success`] or
//! [`Toasts::error`].

use std::time::Duration;

use leptos::prelude::*;

use crate::i18n::tx;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
struct Toast {
    id: u64,
    kind: ToastKind,
    message: String,
}

/// Handle to the app's toasts (cheap to copy).
#[derive(Clone, Copy)]
pub struct Toasts {
    list: RwSignal<Vec<Toast>>,
    next: StoredValue<u64>,
}

/// How long a success toast stays.
const SUCCESS_FOR: Duration = Duration::from_secs(6);

impl Toasts {
    fn push(&self, kind: ToastKind, message: String) {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.list.update(|l| l.push(Toast { id, kind, message }));
        if kind == ToastKind::Success {
            let list = self.list;
            set_timeout(
                move || list.update(|l| l.retain(|t| t.id != id)),
                SUCCESS_FOR,
            );
        }
    }

    /// Something worked.
    pub fn success(&self, message: impl Into<String>) {
        self.push(ToastKind::Success, message.into());
    }

    /// Something failed; stays until dismissed.
    pub fn error(&self, message: impl Into<String>) {
        self.push(ToastKind::Error, message.into());
    }

    fn dismiss(&self, id: u64) {
        self.list.update(|l| l.retain(|t| t.id != id));
    }
}

/// Create the toasts and make them available to every component below.
pub fn provide_toasts() -> Toasts {
    let toasts = Toasts {
        list: RwSignal::new(Vec::new()),
        next: StoredValue::new(0),
    };
    provide_context(toasts);
    toasts
}

/// The app's toasts (panics outside the app shell, which provides them).
pub fn use_toasts() -> Toasts {
    expect_context::<Toasts>()
}

/// Where toasts appear; rendered once by the app shell.
#[component]
pub fn ToastHost() -> impl IntoView {
    let toasts = use_toasts();
    view! {
        <div class="toasts" role="status" aria-live="polite" data-testid="toasts">
            <For each=move || toasts.list.get() key=|t| t.id let:toast>
                {
                    let id = toast.id;
                    let (class, testid) = match toast.kind {
                        ToastKind::Success => ("toast good", "toast-success"),
                        ToastKind::Error => ("toast bad", "toast-error"),
                    };
                    view! {
                        <div class=class data-testid=testid>
                            <span>{toast.message}</span>
                            <button type="button" class="link" aria-label=tx!("common.dismiss") on:click=move |_| toasts.dismiss(id)>"×"</button>
                        </div>
                    }
                }
            </For>
        </div>
    }
}
