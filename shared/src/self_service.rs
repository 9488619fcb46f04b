//! Customer self-service reconnection: the links agents create and send,
//! and the outbox of messages to customers.
//!
//! An agent creates a link for one end-user
//! (`POST /api/users/{id}/self-service-link`); the customer opens it
//! without a back-office account and sees only their own devices that need
//! reconnecting, each with a "Reconnect" button. Links expire, can be
//! revoked, and stop working when the user is archived. "Send to customer"
//! (`POST /api/users/{id}/self-service-email`) creates a link and e-mails
//! it; every message is kept in the outbox (`GET /api/outbox`, admins),
//! which is also where messages wait when no mail server is configured.
//! These are the wire types of those endpoints.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::i18n::Lang;
use crate::validation::FieldError;

/// `POST` creates a link: `/api/users/{user_id}/self-service-link`.
pub fn link_path(user: Uuid) -> String {
    format!("/api/users/{user}/self-service-link")
}

/// `GET` the user's links: `/api/users/{user_id}/self-service-links`.
pub fn links_path(user: Uuid) -> String {
    format!("/api/users/{user}/self-service-links")
}

/// `DELETE` revokes one link: `/api/users/{user_id}/self-service-links/{id}`.
pub fn revoke_path(user: Uuid, link: i64) -> String {
    format!("/api/users/{user}/self-service-links/{link}")
}

/// `POST` creates a link and e-mails it: `/api/users/{user_id}/self-service-email`.
pub fn email_path(user: Uuid) -> String {
    format!("/api/users/{user}/self-service-email")
}

/// The outbox (admins): the latest messages to customers.
pub const OUTBOX_PATH: &str = "/api/outbox";

/// Where the customer's page lives: `/self-service/{token}`.
pub const PAGE_PREFIX: &str = "/self-service/";

/// Days a link works unless configured otherwise.
pub const DEFAULT_LINK_DAYS: u32 = 7;

/// Answer of `POST …/self-service-link`: the link (shown once; the gateway
/// keeps only its hash) and when it stops working.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewLink {
    pub id: i64,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Where a link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    Active,
    Expired,
    Revoked,
}

/// One link, as the user's page lists it (never the token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkInfo {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    /// E-mail of the colleague who created it.
    pub created_by: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
    /// Last time the customer opened the page with it.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Times the customer opened the page with it.
    pub uses: i64,
    /// Set when the link went out by e-mail (the address).
    pub sent_to: Option<String>,
    pub state: LinkState,
}

/// Body of `POST …/self-service-email`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendLink {
    /// The message's language: `de` or `en`; empty or absent: the
    /// customer's ([`language_of_country`]).
    #[serde(default)]
    pub language: String,
    /// The case the message belongs to (its timeline records the outcome).
    #[serde(default)]
    pub case_id: Option<i64>,
}

impl SendLink {
    /// The language asked for (`None`: the customer's), or what is wrong
    /// with it.
    pub fn parse_language(&self) -> Result<Option<Lang>, FieldError> {
        if self.language.trim().is_empty() {
            return Ok(None);
        }
        Lang::parse(self.language.trim()).map(Some).ok_or_else(|| {
            FieldError::keyed(
                "language",
                "validation.self_service.language",
                &[("value", &self.language.chars().take(20).collect::<String>())],
            )
        })
    }
}

/// The language to write to a customer in, from their country (ISO
/// alpha-2): German where it is spoken (Germany, Austria, Switzerland,
/// Liechtenstein, Luxembourg) and when the country is unknown (the
/// utilities' customers are in Germany and Austria), English elsewhere.
pub fn language_of_country(country: Option<&str>) -> Lang {
    match country.map(|c| c.trim().to_ascii_uppercase()) {
        None => Lang::De,
        Some(c) if c.is_empty() => Lang::De,
        Some(c) if ["DE", "AT", "CH", "LI", "LU"].contains(&c.as_str()) => Lang::De,
        Some(_) => Lang::En,
    }
}

/// Answer of `POST …/self-service-email`: the message queued and the link
/// it carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SentLink {
    pub message_id: i64,
    pub to: String,
    pub link: NewLink,
    /// False: no mail server is configured; the message waits in the outbox.
    pub will_be_sent: bool,
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// Waiting for the mail server (or for its next attempt).
    Queued,
    Sent,
    /// Given up after repeated failures.
    Failed,
    /// No mail server is configured: kept here for an admin to read.
    Held,
}

impl MessageState {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Queued => "queued",
            MessageState::Sent => "sent",
            MessageState::Failed => "failed",
            MessageState::Held => "held",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Queued, Self::Sent, Self::Failed, Self::Held]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// A message to a customer, as the outbox shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub to: String,
    pub subject: String,
    /// The plain-text body (it carries the link).
    pub body: String,
    pub language: String,
    pub user_id: Uuid,
    pub case_id: Option<i64>,
    pub state: MessageState,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_is_asked_for_or_the_customers() {
        let send = |l: &str| SendLink {
            language: l.into(),
            case_id: None,
        };
        assert_eq!(send("de").parse_language(), Ok(Some(Lang::De)));
        assert_eq!(send(" en ").parse_language(), Ok(Some(Lang::En)));
        assert_eq!(send("").parse_language(), Ok(None));
        assert_eq!(send("fr").parse_language().unwrap_err().field, "language");
        assert_eq!(language_of_country(Some("at")), Lang::De);
        assert_eq!(language_of_country(None), Lang::De);
        assert_eq!(language_of_country(Some("SE")), Lang::En);
    }
}

/// Answer of `GET /api/outbox`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Outbox {
    /// Whether a mail server is configured (`GATEWAY_SMTP_URL`).
    pub smtp_configured: bool,
    pub messages: Vec<Message>,
}
