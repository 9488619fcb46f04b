//! Waiting in the browser: an async `sleep` on the page's timer, for the
//! few places that poll with a deadline (a refresh finishing, a device
//! coming back online).

use std::time::Duration;

/// Resolve after `d` (via `setTimeout`; never blocks the page).
pub async fn sleep(d: Duration) {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    leptos::prelude::set_timeout(
        move || {
            let _ = tx.send(());
        },
        d,
    );
    let _ = rx.await;
}
