//! OAuth2 client-credentials token exchange and device re-authentication
//! (`auth_session`) bodies.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Body of `POST /oauth2/token/`: `{"grant_type": "client_credentials"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRequest {
    pub grant_type: String,
}

impl TokenRequest {
    pub fn client_credentials() -> Self {
        Self {
            grant_type: "client_credentials".into(),
        }
    }
}

/// 200 answer of the token endpoint. There is no refresh token: to renew,
/// request a new token the same way.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: u64,
    pub token_type: String,
    #[serde(default)]
    pub scope: Option<String>,
}

// Never print the token itself.
impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("token_type", &self.token_type)
            .field("scope", &self.scope)
            .finish()
    }
}

/// RFC 6749 §5.2 error, e.g. `{"error": "invalid_client"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthError {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// Body of `POST .../{device_id}/auth_session`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthSessionRequest {
    #[serde(default)]
    pub success_url: Option<String>,
    #[serde(default)]
    pub cancel_url: Option<String>,
}

/// 200 answer of `auth_session`: the link to send to the customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthSessionResponse {
    #[serde(default)]
    pub authentication_url: Option<String>,
    #[serde(default)]
    pub device_id: Option<Uuid>,
    #[serde(default)]
    pub session_id: Option<Uuid>,
}
