//! OAuth2 client-credentials tokens: issuing, checking, expiry.
//!
//! Tokens are opaque 30-character strings held in memory only, so a restart
//! invalidates them (callers then get a 401 and fetch a new one, which is
//! what a client of real Podero must handle anyway). Several tokens may be
//! valid at once; requesting a new one does not revoke the old one.
//!
//! What is remembered is bounded: at most `max_tokens` tokens (valid ones,
//! and expired ones for a day so that their holders hear "expired" rather
//! than "invalid"). Tokens are kept in the order they were issued, and all
//! live as long, so forgetting is always at the old end: a token past its
//! day is dropped when the next one is issued, and when the bound is
//! reached the oldest token is forgotten (its holder gets a 401 and asks
//! for a new one, as after a restart). Issuing costs the same however many
//! tokens were issued before.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;

use crate::error::EmuError;

/// How long an expired token is still recognised as one of ours.
const EXPIRED_REMEMBERED: Duration = Duration::from_secs(86_400);

/// The tokens remembered: expiry by token, and the tokens in issue order.
#[derive(Default)]
struct Issued {
    expiry: HashMap<String, Instant>,
    order: VecDeque<String>,
}

pub struct Tokens {
    client_id: String,
    client_secret: String,
    ttl: Duration,
    max_tokens: usize,
    issued: Mutex<Issued>,
}

impl Tokens {
    pub fn new(client_id: String, client_secret: String, ttl: Duration, max_tokens: usize) -> Self {
        Self {
            client_id,
            client_secret,
            ttl,
            max_tokens: max_tokens.max(1),
            issued: Mutex::new(Issued::default()),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The access tokens remembered (still valid, or expired less than a
    /// day ago; at most `max_tokens`, the newest), so a test can check that
    /// none of them leaks anywhere.
    pub fn issued(&self) -> Vec<String> {
        self.issued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .order
            .iter()
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
                let encoded = strip_scheme(header, "Basic").ok_or(EmuError::OAuth(
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
        let matches = |id: &str, secret: &str| {
            constant_time_eq(id.as_bytes(), self.client_id.as_bytes())
                & constant_time_eq(secret.as_bytes(), self.client_secret.as_bytes())
        };
        // RFC 6749 §2.3.1: Basic credentials are form-urlencoded before
        // base64; clients that skip that send them raw. Either is taken.
        let from_basic = basic.is_some();
        if matches(&id, &secret)
            || (from_basic && matches(&form_decode(&id), &form_decode(&secret)))
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
        // Forget tokens a day after they expired (until then a late caller
        // is told its token expired rather than that it is unknown), and the
        // oldest beyond the bound. All live as long, so the oldest expire
        // first: only the front of the queue is looked at.
        while let Some(oldest) = issued.order.front() {
            let past_its_day = issued
                .expiry
                .get(oldest)
                .is_none_or(|exp| *exp + EXPIRED_REMEMBERED <= now);
            if !past_its_day && issued.order.len() < self.max_tokens {
                break;
            }
            if let Some(oldest) = issued.order.pop_front() {
                issued.expiry.remove(&oldest);
            }
        }
        issued.expiry.insert(token.clone(), now + self.ttl);
        issued.order.push_back(token.clone());
        token
    }

    /// Check `Authorization: Bearer <token>`.
    pub fn check_bearer(&self, header: Option<&str>) -> Result<(), EmuError> {
        let header = header.ok_or(EmuError::Unauthenticated(
            "Authentication credentials were not provided.",
        ))?;
        let token = strip_scheme(header, "Bearer")
            .ok_or(EmuError::Unauthenticated(
                "Use Authorization: Bearer <access token>.",
            ))?
            .trim();
        let issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        match issued.expiry.get(token) {
            Some(exp) if *exp > Instant::now() => Ok(()),
            Some(_) => Err(EmuError::Unauthenticated(
                "The access token has expired; request a new one.",
            )),
            None => Err(EmuError::Unauthenticated("Invalid access token.")),
        }
    }
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a
/// space, `%XX` a byte.
fn form_decode(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// What follows the authentication scheme `scheme` and a space in an
/// `Authorization` value; the scheme is case-insensitive (RFC 9110 §11.1),
/// so `bearer x` is `Bearer x`.
fn strip_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, rest) = header.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then_some(rest)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
