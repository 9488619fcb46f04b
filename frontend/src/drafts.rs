//! Drafts of half-typed forms, kept in the browser's `sessionStorage` (this
//! tab only) so that nothing typed is lost when the session ends and the
//! sign-in page takes over: the form saves its values here while they
//! differ from the saved ones, restores them when it is shown again, and
//! clears them once saved or cancelled. Signing out clears every draft, so
//! no customer data stays behind for the next person in the tab.
//!
//! Keys are the form's path (`/users/new`, `/users/{id}/edit`), stored
//! under the prefix [`PREFIX`]. Drafts are a convenience: every failure (no
//! storage, quota full, unreadable JSON) is silently ignored.

use serde::de::DeserializeOwned;
use serde::Serialize;
use web_sys::Storage;

/// What every draft key starts with in `sessionStorage`.
const PREFIX: &str = "podero-draft:";

fn storage() -> Option<Storage> {
    web_sys::window()?.session_storage().ok()?
}

fn full_key(key: &str) -> String {
    format!("{PREFIX}{key}")
}

/// Keep `value` as the draft under `key` (replacing any earlier one).
pub fn save(key: &str, value: &impl Serialize) {
    let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(value)) else {
        return;
    };
    let _ = storage.set_item(&full_key(key), &json);
}

/// The draft under `key`, if there is one and it can still be read.
pub fn load<T: DeserializeOwned>(key: &str) -> Option<T> {
    let json = storage()?.get_item(&full_key(key)).ok()??;
    serde_json::from_str(&json).ok()
}

/// Forget the draft under `key`.
pub fn clear(key: &str) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(&full_key(key));
    }
}

/// Forget every draft of this tab (on sign-out).
pub fn clear_all() {
    let Some(storage) = storage() else { return };
    let len = storage.length().unwrap_or(0);
    // Collected first: removing while walking the indexes would skip keys.
    let keys: Vec<String> = (0..len)
        .filter_map(|i| storage.key(i).ok().flatten())
        .filter(|k| k.starts_with(PREFIX))
        .collect();
    for k in keys {
        let _ = storage.remove_item(&k);
    }
}
