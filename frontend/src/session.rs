//! Who is signed in, for every component: the [`Session`] context (a
//! signal of `Option<SessionInfo>`) with the role questions the pages ask
//! (the rules themselves are `shared::staff::StaffRole`'s, not repeated
//! here), and the safe handling of the `next` address that the sign-in
//! page returns to.

use leptos::prelude::*;
use shared::directory::percent_encode;
use shared::staff::{SessionInfo, StaffRole};
use shared::Role;
use uuid::Uuid;

/// The signed-in session, provided as context by the app shell. `None`
/// while nobody is signed in (the shell then shows only the sign-in page).
#[derive(Clone, Copy)]
pub struct Session {
    pub info: RwSignal<Option<SessionInfo>>,
    /// Set when the session ended on its own (expired, ended by an admin),
    /// so the sign-in page can say why it is shown.
    pub ended: RwSignal<bool>,
}

impl Session {
    pub fn new() -> Self {
        Session {
            info: RwSignal::new(None),
            ended: RwSignal::new(false),
        }
    }

    /// The signed-in account's role (tracked).
    pub fn role(&self) -> Option<StaffRole> {
        self.info.with(|s| s.as_ref().map(|s| s.account.role))
    }

    /// The signed-in account's id (tracked).
    pub fn account_id(&self) -> Option<Uuid> {
        self.info.with(|s| s.as_ref().map(|s| s.account.id))
    }

    /// The signed-in account's e-mail (untracked; for password checks).
    pub fn email(&self) -> String {
        self.info.with_untracked(|s| {
            s.as_ref()
                .map(|s| s.account.email.clone())
                .unwrap_or_default()
        })
    }

    /// Team, staff accounts and the audit trail.
    pub fn is_admin(&self) -> bool {
        self.role().is_some_and(StaffRole::is_admin)
    }

    /// May change end-users at all (no: viewers).
    pub fn can_change_users(&self) -> bool {
        self.role().is_some_and(StaffRole::can_change_users)
    }

    /// May change a Podero user of this role (and its devices).
    pub fn can_change_user_of_role(&self, target: Role) -> bool {
        self.role()
            .is_some_and(|r| r.can_change_user_of_role(target))
    }
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

/// The app's session (panics outside the app shell, which provides it).
pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// Where the sign-in page is.
pub const SIGN_IN_PATH: &str = "/sign-in";

/// `next` if it is an address inside the app: one leading `/`, not `//`
/// or `/\` (another host), no scheme, no control characters. The sign-in
/// page itself is no place to return to.
pub fn safe_next(next: &str) -> Option<String> {
    let next = next.trim();
    let inside = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control());
    let own = next == SIGN_IN_PATH
        || next.starts_with(&format!("{SIGN_IN_PATH}?"))
        || next.starts_with(&format!("{SIGN_IN_PATH}/"));
    (inside && !own).then(|| next.to_string())
}

/// The sign-in page's address that returns to `here` (path and query)
/// afterwards; just the sign-in page when `here` is the start page or not
/// a place to return to.
pub fn sign_in_href(here: &str) -> String {
    match safe_next(here) {
        Some(next) if next != "/" => format!("{SIGN_IN_PATH}?next={}", percent_encode(&next)),
        _ => SIGN_IN_PATH.to_string(),
    }
}

/// Path and query of a location, e.g. `/users?q=anna`.
pub fn path_and_query(path: &str, search: &str) -> String {
    match search.trim_start_matches('?') {
        "" => path.to_string(),
        q => format!("{path}?{q}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_inside() {
        assert_eq!(safe_next("/users?q=a").as_deref(), Some("/users?q=a"));
        assert_eq!(safe_next("//evil.example"), None);
        assert_eq!(safe_next("/\\evil.example"), None);
        assert_eq!(safe_next("https://evil.example"), None);
        assert_eq!(safe_next("javascript:alert(1)"), None);
        assert_eq!(safe_next("/sign-in?next=/x"), None);
        assert_eq!(sign_in_href("/"), "/sign-in");
    }
}
