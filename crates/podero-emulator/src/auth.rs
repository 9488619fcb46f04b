//! OAuth2 client-credentials tokens: issuing, checking, expiry.
//!
//! Tokens are opaque 30-character strings held in memory only, so a restart
//! invalidates them (callers then get a 401 and fetch a new one, which is
//! what a client of real Podero must handle anyway). Several tokens may be
//! valid at once; requesting a new one does not revoke the old one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;

use crate::error::EmuError;

pub struct Tokens {
    client_id: String,
    client_secret: String,
    ttl: Duration,
    issued: Mutex<HashMap<String, Instant>>,
}

impl Tokens {
    pub fn new(client_id: String, client_secret: String, ttl: Duration) -> Self {
        Self {
            client_id,
            client_secret,
            ttl,
            issued: Mutex::new(HashMap::new()),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Every access token issued since the start (still valid or not), so
    /// a test can check that none of them leaks anywhere.
    pub fn issued(&self) -> Vec<String> {
        self.issued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// Check client credentials from Basic auth or the form body.
    pub fn check_client(
        &self,
        basic: Option<&str>,
        form_id: Option<&str>,
        form_secret: Option<&str>,
    ) -> Result<(), EmuError> {
        let invalid = EmuError::OAuth(
            axum::http::StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed: unknown client id or wrong secret.",
        );
        let (id, secret) = match (basic, form_id, form_secret) {
            (Some(header), _, _) => {
                let encoded = header.strip_prefix("Basic ").ok_or(EmuError::OAuth(
                    axum::http::StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "Use HTTP Basic authentication with the client id and secret.",
                ))?;
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or(invalid)?;
                let (id, secret) = decoded.split_once(':').ok_or(EmuError::OAuth(
                    axum::http::StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "Basic credentials must be client_id:client_secret.",
                ))?;
                (id.to_string(), secret.to_string())
            }
            (None, Some(id), Some(secret)) => (id.to_string(), secret.to_string()),
            _ => {
                return Err(EmuError::OAuth(
                    axum::http::StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "Client credentials are missing: send Authorization: Basic base64(client_id:client_secret).",
                ))
            }
        };
        if constant_time_eq(id.as_bytes(), self.client_id.as_bytes())
            && constant_time_eq(secret.as_bytes(), self.client_secret.as_bytes())
        {
            Ok(())
        } else {
            Err(EmuError::OAuth(
                axum::http::StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed: unknown client id or wrong secret.",
            ))
        }
    }

    pub fn issue(&self) -> String {
        let raw = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let token: String = raw.chars().take(30).collect();
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        // Forget tokens a day after they expired; until then a late caller
        // is told its token expired rather than that it is unknown.
        issued.retain(|_, exp| *exp + Duration::from_secs(86_400) > now);
        issued.insert(token.clone(), now + self.ttl);
        token
    }

    /// Check `Authorization: Bearer <token>`.
    pub fn check_bearer(&self, header: Option<&str>) -> Result<(), EmuError> {
        let header = header.ok_or(EmuError::Unauthenticated(
            "Authentication credentials were not provided.",
        ))?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or(EmuError::Unauthenticated(
                "Use Authorization: Bearer <access token>.",
            ))?
            .trim();
        let issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        match issued.get(token) {
            Some(exp) if *exp > Instant::now() => Ok(()),
            Some(_) => Err(EmuError::Unauthenticated(
                "The access token has expired; request a new one.",
            )),
            None => Err(EmuError::Unauthenticated("Invalid access token.")),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
