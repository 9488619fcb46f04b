//! Who may use the gateway, and for what.
//!
//! Staff sign in with an e-mail and a password ([`password`], argon2id)
//! against accounts in the gateway's database ([`accounts`]), get a
//! server-side session ([`sessions`]) in an HttpOnly cookie, and are
//! throttled after failed attempts ([`throttle`]). Every `/api` request
//! passes [`guard`]: it finds the session, enforces the anti-forgery
//! header on state-changing requests, keeps a person with a one-time
//! password to the password change, and writes the audit record. What a
//! role may do is decided in [`roles`] (Partner API calls) and by the
//! gateway's own handlers through [`Actor`].

pub mod accounts;
pub mod guard;
pub mod password;
pub mod roles;
pub mod sessions;
pub mod throttle;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use shared::staff::StaffRole;

use crate::error::GatewayError;
use accounts::StoredAccount;

/// The signed-in person making a request (an extension set by [`guard`]).
#[derive(Debug, Clone)]
pub struct Actor {
    pub account: StoredAccount,
    /// The stored hash of the session's token.
    pub token_hash: String,
    /// End of the session (ms since the epoch).
    pub expires_at: i64,
}

impl Actor {
    pub fn role(&self) -> StaffRole {
        self.account.role
    }

    /// Team administration, staff accounts and the audit trail.
    pub fn require_admin(&self, what: &str) -> Result<(), GatewayError> {
        if self.role().is_admin() {
            Ok(())
        } else {
            Err(GatewayError::Forbidden(format!(
                "Only admins can {what}; your role is {}.",
                self.role().label()
            )))
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

/// The client's address as the gateway saw it (an extension set by [`guard`]).
#[derive(Debug, Clone, Default)]
pub struct ClientAddr(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .cloned()
            .unwrap_or_default())
    }
}
