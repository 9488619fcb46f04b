//! Who may use the gateway, and for what.
//!
//! Staff sign in with an e-mail and a password ([`password`], argon2id)
//! against accounts in the gateway's database ([`accounts`]), get a
//! server-side session ([`sessions`], remembered per replica while the
//! database's sessions generation stays put: [`session_cache`]) in an
//! HttpOnly cookie ([`cookie`]),
//! and are throttled after failed attempts; clients without a session are
//! rate-limited ([`throttle`]). Every `/api` request passes [`guard`]: it
//! finds the session, enforces the anti-forgery header on state-changing
//! requests, keeps a person with a one-time password to the password
//! change, parses a Partner API route once, and writes the audit record.
//! What a role may do is decided in [`roles`] (Partner API calls) and by
//! the gateway's own handlers through [`Actor`]. [`Auth`] is the sub-state
//! the guard and the session and team handlers take.

pub mod accounts;
pub mod cookie;
pub mod guard;
pub mod password;
pub mod roles;
pub mod session_cache;
pub mod sessions;
pub mod throttle;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use shared::staff::StaffRole;

use crate::configuration::Config;
use crate::error::{GatewayError, Msg};
use accounts::{Accounts, StoredAccount};
use cookie::SessionCookie;
use sessions::Sessions;
use throttle::{RateLimit, Throttle};

/// Accounts, sessions, the session cookie, throttling and the client
/// address rules (cheap to clone).
#[derive(Debug, Clone)]
pub struct Auth(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    accounts: Accounts,
    sessions: Sessions,
    throttle: Throttle,
    unauthenticated: RateLimit,
    cookie: SessionCookie,
    trusted_proxies: Vec<IpAddr>,
    one_time_password_ttl: Duration,
    /// Held by a change of a colleague's role or a removal, from reading
    /// the account to its last write.
    team_changes: tokio::sync::Mutex<()>,
}

impl Auth {
    pub fn new(db: crate::database::Db, config: &Config) -> Self {
        Self(Arc::new(Inner {
            accounts: Accounts::new(db.clone()),
            sessions: Sessions::new(db.clone(), config.session_idle, config.session_max),
            throttle: Throttle::new(db, config.throttle),
            unauthenticated: RateLimit::new(config.unauthenticated_per_minute),
            cookie: SessionCookie::new(config.secure_cookie(), config.session_max),
            trusted_proxies: config.trusted_proxies.clone(),
            one_time_password_ttl: config.one_time_password_ttl,
            team_changes: tokio::sync::Mutex::new(()),
        }))
    }

    pub fn accounts(&self) -> &Accounts {
        &self.0.accounts
    }

    pub fn sessions(&self) -> &Sessions {
        &self.0.sessions
    }

    /// Failed sign-ins and password checks.
    pub fn throttle(&self) -> &Throttle {
        &self.0.throttle
    }

    /// Requests without a session, per client.
    pub fn unauthenticated(&self) -> &RateLimit {
        &self.0.unauthenticated
    }

    pub fn cookie(&self) -> &SessionCookie {
        &self.0.cookie
    }

    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub fn trusted_proxies(&self) -> &[IpAddr] {
        &self.0.trusted_proxies
    }

    /// Wait for the turn to change a colleague (role change, removal): such
    /// a change reads the account, then changes Podero's team member, then
    /// the account, so two at once would both act on the same old state
    /// (an active Podero team member left behind a viewer, or two made for
    /// one account). In this process; replicas on PostgreSQL do not share
    /// it.
    pub async fn team_change(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.0.team_changes.lock().await
    }

    /// When a one-time password issued at `now` (ms) stops working.
    pub fn one_time_password_until(&self, now: i64) -> i64 {
        let ttl: i64 = self
            .0
            .one_time_password_ttl
            .as_millis()
            .try_into()
            .unwrap_or(i64::MAX);
        now.saturating_add(ttl)
    }
}

/// The signed-in person making a request (an extension set by [`guard`]).
#[derive(Debug, Clone)]
pub struct Actor {
    pub account: StoredAccount,
    /// The stored hash of the session's token.
    pub token_hash: String,
    /// End of the session (ms since the epoch).
    pub expires_at: i64,
}

/// The catalog key of a role's label (`staff_role.*`).
fn role_key(role: StaffRole) -> &'static str {
    match role {
        StaffRole::Admin => "staff_role.admin",
        StaffRole::Staff => "staff_role.staff",
        StaffRole::Viewer => "staff_role.viewer",
    }
}

impl Actor {
    pub fn role(&self) -> StaffRole {
        self.account.role
    }

    /// Team administration, staff accounts and the audit trail; `what`
    /// is the catalog key of the action refused (`error.admin_action.*`).
    pub fn require_admin(&self, what: &'static str) -> Result<(), GatewayError> {
        if self.role().is_admin() {
            Ok(())
        } else {
            Err(GatewayError::Forbidden(
                Msg::new("error.forbidden.admins_only")
                    .with_text("action", what)
                    .with_text("role", role_key(self.role())),
            ))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = GatewayError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Actor>()
            .cloned()
            .ok_or(GatewayError::NotSignedIn)
    }
}

/// The actor if signed in (for the endpoints that also answer without).
pub struct MaybeActor(pub Option<Actor>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeActor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeActor(parts.extensions.get::<Actor>().cloned()))
    }
}
