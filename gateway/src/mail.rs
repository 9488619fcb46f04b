//! Messages to customers: the outbox in the database and the job that
//! sends it over SMTP.
//!
//! Every message is written to `mail_outbox` first ([`Mail::enqueue`]).
//! With `GATEWAY_SMTP_URL` set (`smtp://host:25` plain, `smtp://…?tls=required`
//! STARTTLS, `smtps://…` TLS; user and password in the URL, environment
//! only) it is `queued`, and the send job ([`Mail::run_once`], once per
//! cluster under the [`JOB`] lease) hands it to the server with lettre,
//! retrying after 30 s, 1, 2, 4 … min (at most an hour apart),
//! [`MAX_ATTEMPTS`] in all, then marks it `failed`. Without a mail server
//! it is `held`: kept for admins to read (`GET /api/outbox`), so the
//! embedded default works without one. The outcome goes on the case
//! timeline of the message's case, if it has one.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use shared::cases::CaseEventKind;
use shared::self_service::{Message, MessageState};
use sqlx::Row;
use uuid::Uuid;

use crate::cases::{By, Cases};
use crate::configuration::Secret;
use crate::database::{failed, now_ms, to_time, Db};
use crate::error::GatewayError;

/// The send job's lease name.
pub const JOB: &str = "mail";
/// How often the job looks for due messages.
pub const EVERY: Duration = Duration::from_secs(1);
/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long the server may take for one message.
const TIMEOUT: Duration = Duration::from_secs(20);
/// Messages sent per run at most.
const BATCH: i64 = 20;

/// A message to write to the outbox.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub language: String,
    pub user_id: Uuid,
    pub case_id: Option<i64>,
    pub link_id: Option<i64>,
    pub created_by: Option<String>,
}

/// Why `GATEWAY_SMTP_URL` or `GATEWAY_MAIL_FROM` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    #[error("GATEWAY_SMTP_URL is not a mail server address lettre understands ({0}); use smtp://host:port (plain, only on a trusted network), smtp://user:password@host:587?tls=required (STARTTLS) or smtps://user:password@host:465 (TLS)")]
    Url(String),
    #[error("GATEWAY_MAIL_FROM '{0}' is not a sender address; use e.g. \"Customer service <service@utility.example>\"")]
    From(String),
}

/// The outbox and, when configured, the mail server (cheap to clone).
#[derive(Clone)]
pub struct Mail {
    db: Db,
    from: Mailbox,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("from", &self.from.to_string())
            .field("smtp", &self.smtp.is_some())
            .finish()
    }
}

/// Wait before attempt `attempts + 1`: 30 s, then 1, 2, 4 … min, at most an hour.
fn backoff(attempts: i64) -> Duration {
    if attempts <= 0 {
        return Duration::from_secs(30);
    }
    Duration::from_secs(60u64 << (attempts - 1).clamp(0, 6) as u32).min(Duration::from_secs(3600))
}

/// Parse the sender address.
pub fn parse_from(from: &str) -> Result<Mailbox, MailConfigError> {
    from.parse()
        .map_err(|_| MailConfigError::From(from.chars().take(200).collect()))
}

/// The mail server of `GATEWAY_SMTP_URL`.
pub fn transport(url: &Secret) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailConfigError> {
    Ok(AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
        // Never the URL itself: it may hold a password.
        .map_err(|e| MailConfigError::Url(e.to_string().replace(url.expose(), "***")))?
        .timeout(Some(TIMEOUT))
        .build())
}

/// Whether `to` is an address a message can go to.
pub fn valid_recipient(to: &str) -> bool {
    to.parse::<Mailbox>().is_ok()
}

impl Mail {
    /// The outbox in `db`, sending through `smtp` (a URL) when set.
    pub fn new(db: Db, smtp: Option<&Secret>, from: &str) -> Result<Self, MailConfigError> {
        Ok(Self {
            db,
            from: parse_from(from)?,
            smtp: smtp.map(transport).transpose()?,
        })
    }

    /// The outbox without a mail server: every message is held.
    pub fn held(db: Db) -> Self {
        Self {
            db,
            from: parse_from(crate::configuration::DEFAULT_MAIL_FROM)
                .expect("the default sender is an address"),
            smtp: None,
        }
    }

    /// Whether a mail server is configured (else messages are held).
    pub fn configured(&self) -> bool {
        self.smtp.is_some()
    }

    /// Write `m` to the outbox: queued for the server, or held without one.
    pub async fn enqueue(&self, m: NewMessage) -> Result<i64, GatewayError> {
        let now = now_ms();
        let state = if self.configured() {
            MessageState::Queued
        } else {
            MessageState::Held
        };
        sqlx::query_scalar(
            "INSERT INTO mail_outbox (created_at, created_by, to_addr, subject, body, language, \
             user_id, case_id, link_id, state, attempts, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $1) RETURNING id",
        )
        .bind(now)
        .bind(m.created_by)
        .bind(m.to)
        .bind(m.subject)
        .bind(m.body)
        .bind(m.language)
        .bind(m.user_id.to_string())
        .bind(m.case_id)
        .bind(m.link_id)
        .bind(state.as_str())
        .fetch_one(&self.db)
        .await
        .map_err(failed)
    }

    /// The latest `limit` messages, newest first.
    pub async fn latest(&self, limit: i64) -> Result<Vec<Message>, GatewayError> {
        let rows = sqlx::query(
            "SELECT id, created_at, created_by, to_addr, subject, body, language, user_id, case_id, \
             state, attempts, last_error, sent_at FROM mail_outbox ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.db)
        .await
        .map_err(failed)?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get("state")?;
                let user: String = r.try_get("user_id")?;
                Ok(Message {
                    id: r.try_get("id")?,
                    created_at: to_time(r.try_get("created_at")?),
                    created_by: r.try_get("created_by")?,
                    to: r.try_get("to_addr")?,
                    subject: r.try_get("subject")?,
                    body: r.try_get("body")?,
                    language: r.try_get("language")?,
                    user_id: Uuid::parse_str(&user).unwrap_or_default(),
                    case_id: r.try_get("case_id")?,
                    state: MessageState::parse(&state).unwrap_or(MessageState::Queued),
                    attempts: r.try_get("attempts")?,
                    last_error: r.try_get("last_error")?,
                    sent_at: r.try_get::<Option<i64>, _>("sent_at")?.map(to_time),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(failed)
    }

    /// Send every due message once; the outcome goes on its case.
    pub async fn run_once(&self, cases: &Cases) -> Result<(), GatewayError> {
        let Some(smtp) = &self.smtp else {
            return Ok(());
        };
        let due = sqlx::query(
            "SELECT id, to_addr, subject, body, case_id, attempts FROM mail_outbox \
             WHERE state = 'queued' AND next_attempt_at <= $1 ORDER BY id LIMIT $2",
        )
        .bind(now_ms())
        .bind(BATCH)
        .fetch_all(&self.db)
        .await
        .map_err(failed)?;
        for row in due {
            let get = || -> Result<_, sqlx::Error> {
                Ok((
                    row.try_get::<i64, _>("id")?,
                    row.try_get::<String, _>("to_addr")?,
                    row.try_get::<String, _>("subject")?,
                    row.try_get::<String, _>("body")?,
                    row.try_get::<Option<i64>, _>("case_id")?,
                    row.try_get::<i64, _>("attempts")?,
                ))
            };
            let (id, to, subject, body, case_id, attempts) = get().map_err(failed)?;
            let outcome = self.send(smtp, &to, &subject, body).await;
            let attempts = attempts + 1;
            let now = now_ms();
            let (state, next, error) = match &outcome {
                Ok(()) => (MessageState::Sent, None, None),
                Err(e) if attempts >= MAX_ATTEMPTS => (MessageState::Failed, None, Some(e.clone())),
                Err(e) => (
                    MessageState::Queued,
                    Some(now + backoff(attempts - 1).as_millis() as i64),
                    Some(e.clone()),
                ),
            };
            if let Some(e) = &error {
                tracing::warn!(message = id, attempts, "sending a message failed: {e}");
            }
            sqlx::query(
                "UPDATE mail_outbox SET state = $1, attempts = $2, next_attempt_at = $3, \
                 last_error = $4, sent_at = $5 WHERE id = $6",
            )
            .bind(state.as_str())
            .bind(attempts)
            .bind(next)
            .bind(error.clone())
            .bind((state == MessageState::Sent).then_some(now))
            .bind(id)
            .execute(&self.db)
            .await
            .map_err(failed)?;
            let Some(case) = case_id else { continue };
            let event = match state {
                MessageState::Sent => Some((CaseEventKind::EmailSent, None)),
                MessageState::Failed => Some((CaseEventKind::EmailFailed, error)),
                _ => None,
            };
            if let Some((kind, text)) = event {
                if let Err(e) = cases.note(case, kind, &By::System, Some(to), text).await {
                    tracing::warn!(
                        message = id,
                        case,
                        "could not note the message on its case: {e}"
                    );
                }
            }
        }
        Ok(())
    }

    /// One attempt; the error as text (never with a password: lettre's
    /// errors name the server's answer, not the URL).
    async fn send(
        &self,
        smtp: &AsyncSmtpTransport<Tokio1Executor>,
        to: &str,
        subject: &str,
        body: String,
    ) -> Result<(), String> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| format!("not an address a message can go to: {e}"))?;
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| format!("the message could not be built: {e}"))?;
        smtp.send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string().chars().take(300).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_an_hour() {
        assert_eq!(backoff(0), Duration::from_secs(30));
        assert_eq!(backoff(1), Duration::from_secs(60));
        assert_eq!(backoff(3), Duration::from_secs(240));
        assert_eq!(backoff(30), Duration::from_secs(3600));
    }

    #[test]
    fn addresses_are_checked() {
        assert!(parse_from("Customer service <service@utility.example>").is_ok());
        assert!(parse_from("not an address").is_err());
        assert!(valid_recipient("anna.huber@example.at"));
        assert!(!valid_recipient("anna.huber"));
    }

    #[tokio::test]
    async fn a_bad_url_is_refused_without_showing_it() {
        let db = crate::database::testing::stores().await.remove(0);
        let err = Mail::new(
            db.db.clone(),
            Some(&Secret::new("ftp://user:hunter2@mail.example")),
            "a@b.example",
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("GATEWAY_SMTP_URL"), "{err}");
    }
}
