//! The token manager: one OAuth2 client-credentials access token, shared.
//!
//! The token is fetched from `POST {base}/oauth2/token/` (HTTP Basic auth
//! with the client id and secret, JSON body `{"grant_type":
//! "client_credentials"}`), cached in memory and renewed shortly before it
//! expires (margin `min(60 s, expires_in / 10)`). A single `tokio` mutex
//! guards the cache *and* the renewal, so however many requests find the
//! token stale at once, exactly one renewal is in flight and the others wait
//! for its result (single-flight). After an upstream `401` the caller hands
//! back the token that failed ([`TokenManager::renew_after_rejection`]); it
//! is replaced only if it is still the cached one, so a burst of 401s causes
//! one renewal, not one per request. Neither the token nor the secret is
//! ever logged: [`AccessToken`] prints as `<redacted>`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::{TokenRequest, TokenResponse};
use tokio::sync::Mutex;

use super::client::map_send_error;
use crate::configuration::Secret;
use crate::error::{GatewayError, Msg};
use crate::metrics::TokenTrigger;

/// The `action` label of calls to the token endpoint.
const TOKEN_ACTION: &str = "oauth2.token";

/// A bearer token. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(Arc<str>);

impl AccessToken {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

struct Cached {
    token: AccessToken,
    renew_at: Instant,
}

/// Fetches, caches and renews the gateway's access token.
pub struct TokenManager {
    http: reqwest::Client,
    base_url: String,
    token_url: String,
    client_id: String,
    client_secret: Secret,
    request_timeout: Duration,
    cache: Mutex<Option<Cached>>,
    fetches: AtomicU64,
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManager")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish_non_exhaustive()
    }
}

/// How long before expiry a token is renewed.
fn renewal_margin(expires_in: Duration) -> Duration {
    std::cmp::min(Duration::from_secs(60), expires_in / 10)
}

impl TokenManager {
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        client_id: String,
        client_secret: Secret,
        request_timeout: Duration,
    ) -> Self {
        let base_url = base_url.trim_end_matches('/').to_string();
        Self {
            http,
            token_url: format!("{base_url}/oauth2/token/"),
            base_url,
            client_id,
            client_secret,
            request_timeout,
            cache: Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times a token was requested from the token endpoint.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// A valid token: the cached one, or a freshly fetched one.
    pub async fn token(&self) -> Result<AccessToken, GatewayError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref() {
            if Instant::now() < c.renew_at {
                return Ok(c.token.clone());
            }
        }
        self.refresh(&mut cache, TokenTrigger::Due).await
    }

    /// Podero answered 401 to `rejected`: forget it (unless another request
    /// already replaced it) and return a token to retry with.
    pub async fn renew_after_rejection(
        &self,
        rejected: &AccessToken,
    ) -> Result<AccessToken, GatewayError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref() {
            if &c.token != rejected && Instant::now() < c.renew_at {
                return Ok(c.token.clone());
            }
        }
        tracing::info!("Podero rejected the access token; requesting a new one");
        self.refresh(&mut cache, TokenTrigger::Rejected).await
    }

    /// Fetch a new token, counting the renewal and its result.
    async fn refresh(
        &self,
        cache: &mut Option<Cached>,
        trigger: TokenTrigger,
    ) -> Result<AccessToken, GatewayError> {
        let result = self.fetch(cache).await;
        crate::metrics::token_renewal(
            trigger,
            match &result {
                Ok(_) => "ok",
                Err(GatewayError::UpstreamAuthFailed { .. }) => "credentials_rejected",
                Err(_) => "failed",
            },
        );
        result
    }

    async fn fetch(&self, cache: &mut Option<Cached>) -> Result<AccessToken, GatewayError> {
        *cache = None;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let sent = self
            .http
            .post(&self.token_url)
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .json(&TokenRequest::client_credentials())
            .send()
            .await;
        crate::metrics::upstream_call(
            TOKEN_ACTION,
            started.elapsed(),
            sent.as_ref().map(|r| r.status()),
        );
        let response = sent.map_err(|e| map_send_error(e, &self.base_url, self.request_timeout))?;
        let status = response.status();
        if matches!(status.as_u16(), 400 | 401 | 403) {
            tracing::error!(
                status = status.as_u16(),
                "Podero rejected the gateway's client credentials; check PODERO_CLIENT_ID and PODERO_CLIENT_SECRET"
            );
            return Err(GatewayError::UpstreamAuthFailed {
                status: status.as_u16(),
            });
        }
        if !status.is_success() {
            return Err(GatewayError::UpstreamBadResponse(
                Msg::new("error.upstream.token_status").with("status", status.as_u16()),
            ));
        }
        let body: TokenResponse = response.json().await.map_err(|e| {
            if e.is_timeout() {
                map_send_error(e, &self.base_url, self.request_timeout)
            } else {
                GatewayError::UpstreamBadResponse(Msg::new("error.upstream.not_a_token"))
            }
        })?;
        let expires_in = Duration::from_secs(body.expires_in);
        let token = AccessToken(Arc::from(body.access_token));
        *cache = Some(Cached {
            token: token.clone(),
            renew_at: started + expires_in.saturating_sub(renewal_margin(expires_in)),
        });
        tracing::debug!(expires_in = body.expires_in, "obtained a new access token");
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin() {
        assert_eq!(
            renewal_margin(Duration::from_secs(36_000)),
            Duration::from_secs(60)
        );
        assert_eq!(
            renewal_margin(Duration::from_secs(2)),
            Duration::from_millis(200)
        );
    }

    #[test]
    fn token_debug_is_redacted() {
        let t = AccessToken(Arc::from("abc123"));
        assert!(!format!("{t:?}").contains("abc123"));
    }
}
