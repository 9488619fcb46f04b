//! The outgoing webhook: case opened / case resolved, posted as JSON to
//! `GATEWAY_WEBHOOK_URL`, signed with HMAC-SHA256, retried with backoff.
//!
//! A message is written to `webhook_deliveries` in the same transaction as
//! the case change it reports ([`enqueue`]), so none is lost when the
//! process dies; the delivery job ([`Deliverer`], once per cluster) posts
//! the due ones in order. The body is the JSON stored at enqueue time
//! (`{"event", "case", "occurred_at"}`); the headers say what it is and
//! sign it: `X-Backoffice-Timestamp: <unix seconds>` and
//! `X-Backoffice-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>"
//! with GATEWAY_WEBHOOK_SECRET>` (so a receiver can refuse old replays).
//! A 2xx answer delivers it; anything else (or no answer within 10 s) is
//! retried after 1, 2, 4 … s (at most an hour apart), [`MAX_ATTEMPTS`] in
//! all, then it is marked failed. Admins read the log at
//! `GET /api/webhooks/deliveries`.

use std::time::Duration;

use chrono::Utc;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use shared::cases::{WebhookDelivery, WebhookDeliveryState};
use sqlx::{Any, Row, Transaction};

use crate::configuration::WebhookConfig;
use crate::database::{failed, now_ms, to_time, Db};
use crate::error::GatewayError;

/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: i64 = 10;
/// The job's lease name.
pub const JOB: &str = "webhook";
/// How often the job looks for due messages.
pub const EVERY: Duration = Duration::from_secs(1);
/// How long a receiver may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Messages posted per run at most.
const BATCH: i64 = 50;

/// Queue `event` about case `case_id` (inside the transaction that made
/// the change): the case as it is now in the transaction is the payload.
pub async fn enqueue(
    tx: &mut Transaction<'_, Any>,
    event: &str,
    case_id: i64,
    now: i64,
) -> Result<(), GatewayError> {
    let row = sqlx::query(&format!("{} WHERE c.id = $1", super::SELECT))
        .bind(case_id)
        .fetch_one(&mut **tx)
        .await
        .map_err(failed)?;
    let case = super::case_from(&row).map_err(failed)?;
    let payload = json!({
        "event": event,
        "case": case,
        "occurred_at": to_time(now),
    });
    sqlx::query(
        "INSERT INTO webhook_deliveries (event, case_id, payload, created_at, state, attempts, \
         last_attempt_at, last_status, last_error, next_attempt_at) \
         VALUES ($1, $2, $3, $4, 'pending', 0, NULL, NULL, NULL, $4)",
    )
    .bind(event.to_string())
    .bind(case_id)
    .bind(payload.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(failed)?;
    Ok(())
}

/// `sha256=<hex>` of `"<timestamp>.<body>"` under `secret`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Wait before attempt `attempts + 1`.
fn backoff(attempts: i64) -> Duration {
    Duration::from_secs(1u64 << attempts.clamp(0, 12) as u32).min(Duration::from_secs(3600))
}

/// Posts due messages (one per cluster, under the [`JOB`] lease).
#[derive(Debug, Clone)]
pub struct Deliverer {
    db: Db,
    http: reqwest::Client,
    config: WebhookConfig,
}

impl Deliverer {
    pub fn new(db: Db, config: WebhookConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "podero-backoffice-gateway/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()?;
        Ok(Self { db, http, config })
    }

    /// Post every due message once.
    pub async fn run_once(&self) -> Result<(), GatewayError> {
        let due = sqlx::query(
            "SELECT id, event, payload, attempts FROM webhook_deliveries \
             WHERE state = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT $2",
        )
        .bind(now_ms())
        .bind(BATCH)
        .fetch_all(&self.db)
        .await
        .map_err(failed)?;
        for row in due {
            let id: i64 = row.try_get("id").map_err(failed)?;
            let event: String = row.try_get("event").map_err(failed)?;
            let payload: String = row.try_get("payload").map_err(failed)?;
            let attempts: i64 = row.try_get("attempts").map_err(failed)?;
            let (status, error) = self.post(id, &event, payload).await;
            let now = now_ms();
            let attempts = attempts + 1;
            let delivered = status.is_some_and(|s| (200..300).contains(&s));
            let (state, next) = if delivered {
                (WebhookDeliveryState::Delivered, None)
            } else if attempts >= MAX_ATTEMPTS {
                (WebhookDeliveryState::Failed, None)
            } else {
                (
                    WebhookDeliveryState::Pending,
                    Some(now + backoff(attempts - 1).as_millis() as i64),
                )
            };
            if !delivered {
                tracing::warn!(
                    delivery = id,
                    attempts,
                    status,
                    "webhook delivery failed: {}",
                    error.as_deref().unwrap_or("receiver refused")
                );
            }
            sqlx::query(
                "UPDATE webhook_deliveries SET state = $1, attempts = $2, last_attempt_at = $3, \
                 last_status = $4, last_error = $5, next_attempt_at = $6 WHERE id = $7",
            )
            .bind(state.as_str())
            .bind(attempts)
            .bind(now)
            .bind(status.map(i64::from))
            .bind(error)
            .bind(next)
            .bind(id)
            .execute(&self.db)
            .await
            .map_err(failed)?;
        }
        Ok(())
    }

    /// One attempt: the receiver's status, or what went wrong.
    async fn post(&self, id: i64, event: &str, payload: String) -> (Option<u16>, Option<String>) {
        let timestamp = Utc::now().timestamp();
        let sig = signature(
            self.config.secret.expose().as_bytes(),
            timestamp,
            payload.as_bytes(),
        );
        let sent = self
            .http
            .post(&self.config.url)
            .header("content-type", "application/json")
            .header("x-backoffice-event", event)
            .header("x-backoffice-delivery", id.to_string())
            .header("x-backoffice-timestamp", timestamp.to_string())
            .header("x-backoffice-signature", sig)
            .body(payload)
            .send()
            .await;
        match sent {
            Ok(r) => {
                let status = r.status();
                let error = (!status.is_success()).then(|| format!("HTTP {status}"));
                (Some(status.as_u16()), error)
            }
            Err(e) => {
                let mut cause: &dyn std::error::Error = &e;
                while let Some(inner) = cause.source() {
                    cause = inner;
                }
                let text = if e.is_timeout() {
                    format!("no answer within {} s", TIMEOUT.as_secs())
                } else {
                    cause.to_string()
                };
                (None, Some(text.chars().take(300).collect()))
            }
        }
    }
}

/// The latest deliveries, newest first.
pub async fn deliveries(db: &Db, limit: i64) -> Result<Vec<WebhookDelivery>, GatewayError> {
    let rows = sqlx::query(
        "SELECT id, event, case_id, created_at, state, attempts, last_attempt_at, last_status, \
         last_error, next_attempt_at FROM webhook_deliveries ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await
    .map_err(failed)?;
    rows.iter()
        .map(|r| {
            let state: String = r.try_get("state")?;
            Ok(WebhookDelivery {
                id: r.try_get("id")?,
                event: r.try_get("event")?,
                case_id: r.try_get("case_id")?,
                created_at: to_time(r.try_get("created_at")?),
                state: WebhookDeliveryState::parse(&state).unwrap_or(WebhookDeliveryState::Pending),
                attempts: r.try_get::<i64, _>("attempts")?.clamp(0, u32::MAX as i64) as u32,
                last_attempt_at: r.try_get::<Option<i64>, _>("last_attempt_at")?.map(to_time),
                last_status: r
                    .try_get::<Option<i64>, _>("last_status")?
                    .and_then(|s| u16::try_from(s).ok()),
                last_error: r.try_get("last_error")?,
                next_attempt_at: r.try_get::<Option<i64>, _>("next_attempt_at")?.map(to_time),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signature a receiver recomputes (RFC 4231 test case 2 key and
    /// data, arranged as "<timestamp>.<body>").
    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"1700000000.{\"a\":1}");
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(signature(b"Jefe", 1_700_000_000, b"{\"a\":1}"), expected);
        assert_ne!(signature(b"other", 1_700_000_000, b"{\"a\":1}"), expected);
        assert_ne!(signature(b"Jefe", 1_700_000_001, b"{\"a\":1}"), expected);
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(40), Duration::from_secs(3600));
    }
}
