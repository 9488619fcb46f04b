//! Customer self-service links: the store behind
//! `/api/users/{id}/self-service-link(s)` and the customer's page.
//!
//! A link is 32 random bytes (256 bits) in base64url, shown once; the
//! database keeps only its SHA-256 ([`crate::auth::sessions::token_hash`],
//! the same as session tokens), so neither a copy of the database nor the
//! log can open a customer's page. A link works until it expires
//! (`GATEWAY_SELF_SERVICE_DAYS`, 7 by default), is revoked, or its user is
//! archived (checked with Podero on every use). [`Token::parse`] refuses
//! anything that is not the shape of a token before the database is asked.
//! The customer's page itself is [`page`]; the e-mail carrying a link is
//! [`message`].

pub mod message;
pub mod page;

use std::time::Duration;

use axum::http::{header, HeaderMap};
use base64::Engine;
use chrono::{DateTime, Utc};
use shared::self_service::{LinkInfo, LinkState, NewLink, PAGE_PREFIX};
use shared::{DeviceCommon, DeviceKind, Lang, User};
use sqlx::Row;
use uuid::Uuid;

use crate::auth::password::random_bytes;
use crate::auth::sessions::token_hash;
use crate::database::{begin_write, failed, is_sqlite, now_ms, to_time, Db};
use crate::error::GatewayError;
use crate::podero::{ApiRoute, Podero};
use crate::startup::Settings;
use crate::watch::store::Read;

/// The name customer actions carry in the audit trail and on case
/// timelines.
pub const CUSTOMER_ACTOR: &str = "customer via self-service link";

/// Characters of a token (32 bytes in unpadded base64url).
const TOKEN_CHARS: usize = 43;

/// A link's secret, as the customer's address carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

impl Token {
    fn generate() -> Self {
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
    }

    /// A token from the address, if it has a token's shape (43 base64url
    /// characters); anything else is not looked up at all.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == TOKEN_CHARS
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Self(s.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn hash(&self) -> String {
        token_hash(&self.0)
    }
}

/// A valid link, as a page request finds it.
#[derive(Debug, Clone)]
pub struct Link {
    pub id: i64,
    pub user_id: Uuid,
    pub expires_at: i64,
    pub case_id: Option<i64>,
    /// When the customer last opened the page (before this use).
    pub last_used_at: Option<i64>,
}

/// Why a token does not open a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a token, or no link has it (404).
    Unknown,
    /// Expired or revoked (410).
    Gone,
}

/// Links of one customer open (not revoked, not expired) at once at most:
/// enough for every device and a resend, and a bound on what one staff
/// member's clicks (or a script with their session) can store.
pub const MAX_OPEN_LINKS: i64 = 20;

/// The PostgreSQL advisory lock of `user`'s links (64 bits of the id).
fn lock_key(user: Uuid) -> i64 {
    let b = user.as_bytes();
    i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// The link store (cheap to clone).
#[derive(Debug, Clone)]
pub struct Links {
    db: Db,
    lifetime: Duration,
}

impl Links {
    pub fn new(db: Db, lifetime: Duration) -> Self {
        Self { db, lifetime }
    }

    /// A new link for `user`, created by `by` (an account's e-mail); the
    /// answer has the token, which is not stored.
    pub async fn create(
        &self,
        user: Uuid,
        by: &str,
        base_url: &str,
        sent_to: Option<&str>,
        case_id: Option<i64>,
    ) -> Result<(NewLink, Token), GatewayError> {
        let token = Token::generate();
        let now = now_ms();
        let expires_at =
            now.saturating_add(i64::try_from(self.lifetime.as_millis()).unwrap_or(i64::MAX));
        // Counting and inserting in one writing transaction, with this
        // user's links locked on PostgreSQL (SQLite: one writer at a time),
        // so links made at the same moment cannot all pass the count.
        let mut tx = begin_write(&self.db).await?;
        if !is_sqlite(&self.db) {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(lock_key(user))
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
        }
        let open: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM self_service_links \
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(user.to_string())
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(failed)?;
        if open >= MAX_OPEN_LINKS {
            return Err(GatewayError::Conflict(vec![shared::FieldError::keyed(
                "user_id",
                "validation.self_service.too_many_links",
                &[("max", &MAX_OPEN_LINKS.to_string())],
            )]));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO self_service_links (token_hash, user_id, created_at, created_by, \
             expires_at, uses, sent_to, case_id) VALUES ($1, $2, $3, $4, $5, 0, $6, $7) RETURNING id",
        )
        .bind(token.hash())
        .bind(user.to_string())
        .bind(now)
        .bind(by.to_string())
        .bind(expires_at)
        .bind(sent_to.map(str::to_string))
        .bind(case_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        Ok((
            NewLink {
                id,
                url: page_url(base_url, &token),
                expires_at: to_time(expires_at),
            },
            token,
        ))
    }

    /// The links of `user`, newest first.
    pub async fn of_user(&self, user: Uuid) -> Result<Vec<LinkInfo>, GatewayError> {
        let now = now_ms();
        let rows = sqlx::query(
            "SELECT id, created_at, created_by, expires_at, revoked_at, revoked_by, last_used_at, \
             uses, sent_to FROM self_service_links WHERE user_id = $1 ORDER BY id DESC LIMIT 200",
        )
        .bind(user.to_string())
        .fetch_all(&self.db)
        .await
        .map_err(failed)?;
        rows.iter()
            .map(|r| {
                let expires_at: i64 = r.try_get("expires_at")?;
                let revoked_at: Option<i64> = r.try_get("revoked_at")?;
                Ok(LinkInfo {
                    id: r.try_get("id")?,
                    created_at: to_time(r.try_get("created_at")?),
                    created_by: r.try_get("created_by")?,
                    expires_at: to_time(expires_at),
                    revoked_at: revoked_at.map(to_time),
                    revoked_by: r.try_get("revoked_by")?,
                    last_used_at: r.try_get::<Option<i64>, _>("last_used_at")?.map(to_time),
                    uses: r.try_get("uses")?,
                    sent_to: r.try_get("sent_to")?,
                    state: if revoked_at.is_some() {
                        LinkState::Revoked
                    } else if expires_at <= now {
                        LinkState::Expired
                    } else {
                        LinkState::Active
                    },
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(failed)
    }

    /// Revoke link `id` of `user`; `Ok(false)`: the user has no such link.
    /// Revoking a revoked link changes nothing and is no error.
    pub async fn revoke(&self, user: Uuid, id: i64, by: &str) -> Result<bool, GatewayError> {
        let mut tx = begin_write(&self.db).await?;
        let found: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT revoked_at FROM self_service_links WHERE id = $1 AND user_id = $2",
        )
        .bind(id)
        .bind(user.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(failed)?;
        match found {
            None => return Ok(false),
            Some(Some(_)) => return Ok(true),
            Some(None) => {}
        }
        sqlx::query("UPDATE self_service_links SET revoked_at = $1, revoked_by = $2 WHERE id = $3")
            .bind(now_ms())
            .bind(by.to_string())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        Ok(true)
    }

    /// The valid link `token` names.
    pub async fn find(&self, token: &Token) -> Result<Result<Link, Refusal>, GatewayError> {
        let row = sqlx::query(
            "SELECT id, user_id, expires_at, revoked_at, case_id, last_used_at \
             FROM self_service_links WHERE token_hash = $1",
        )
        .bind(token.hash())
        .fetch_optional(&self.db)
        .await
        .map_err(failed)?;
        let Some(row) = row else {
            return Ok(Err(Refusal::Unknown));
        };
        let get = || -> Result<_, sqlx::Error> {
            Ok((
                row.try_get::<i64, _>("id")?,
                row.try_get::<String, _>("user_id")?,
                row.try_get::<i64, _>("expires_at")?,
                row.try_get::<Option<i64>, _>("revoked_at")?,
                row.try_get::<Option<i64>, _>("case_id")?,
                row.try_get::<Option<i64>, _>("last_used_at")?,
            ))
        };
        let (id, user, expires_at, revoked_at, case_id, last_used_at) = get().map_err(failed)?;
        let Ok(user_id) = Uuid::parse_str(&user) else {
            return Ok(Err(Refusal::Unknown));
        };
        if revoked_at.is_some() || expires_at <= now_ms() {
            return Ok(Err(Refusal::Gone));
        }
        Ok(Ok(Link {
            id,
            user_id,
            expires_at,
            case_id,
            last_used_at,
        }))
    }

    /// Count one opening of the page with link `id`.
    pub async fn used(&self, id: i64) -> Result<(), GatewayError> {
        sqlx::query(
            "UPDATE self_service_links SET uses = uses + 1, last_used_at = $1 WHERE id = $2",
        )
        .bind(now_ms())
        .bind(id)
        .execute(&self.db)
        .await
        .map_err(failed)?;
        Ok(())
    }
}

/// A device of the customer that needs reconnecting.
#[derive(Debug, Clone, PartialEq)]
pub struct LostDevice {
    pub kind: DeviceKind,
    pub id: Uuid,
    /// "Manufacturer Model", if Podero knows them.
    pub model: Option<String>,
    /// When it stopped sending data (its last data), if known.
    pub since: Option<DateTime<Utc>>,
}

impl LostDevice {
    /// "Manufacturer Model", else the kind ("Heat pump").
    pub fn name(&self, lang: Lang) -> String {
        self.model
            .clone()
            .unwrap_or_else(|| self.kind.label_in(lang))
    }
}

/// Read the device lists of `user` from Podero (the kinds its counters
/// name), each list as the fleet watch records it.
pub async fn read_devices(podero: &Podero, user: &User) -> Result<Vec<Read>, GatewayError> {
    let mut reads = Vec::new();
    for kind in crate::watch::kinds_of(user) {
        let devices = podero
            .get::<Vec<DeviceCommon>>(&ApiRoute::Devices(user.id, kind), false)
            .await?;
        reads.push((kind, devices, false));
    }
    Ok(reads)
}

/// The devices of `reads` that need reconnecting (not authenticated, not
/// deleted), in the order read.
pub fn lost(reads: &[Read]) -> Vec<LostDevice> {
    reads
        .iter()
        .flat_map(|(kind, devices, _)| {
            devices
                .iter()
                .filter(|d| !d.is_authenticated && d.deleted_at.is_none())
                .map(|d| LostDevice {
                    kind: *kind,
                    id: d.id,
                    model: d.model_name(),
                    since: d.current_state_last_updated_at,
                })
        })
        .collect()
}

/// A day as customers read it: "5.12.2026" in German, "5 Dec 2026" in
/// English (UTC: a day, not a time, so the zone rarely matters).
pub fn day(lang: Lang, at: DateTime<Utc>) -> String {
    match lang {
        Lang::De => at.format("%-d.%-m.%Y").to_string(),
        Lang::En => at.format("%-d %b %Y").to_string(),
    }
}

/// The address links start with: `GATEWAY_PUBLIC_URL`, else the origin
/// the app called from (`Origin`, which a browser sets on every `POST`),
/// else `Host`.
pub fn base_url(settings: &Settings, headers: &HeaderMap) -> String {
    if let Some(url) = &settings.public_url {
        return url.clone();
    }
    let sane = |s: &&str| {
        !s.is_empty()
            && s.len() <= 255
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    };
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        if let Some((scheme @ ("http" | "https"), host)) = origin.split_once("://") {
            if sane(&host) {
                return format!("{scheme}://{host}");
            }
        }
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(sane)
        .unwrap_or("localhost");
    let scheme = if settings.https { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// The customer's address of `token` under `base_url` (no trailing `/`).
pub fn page_url(base_url: &str, token: &Token) -> String {
    format!(
        "{}{PAGE_PREFIX}{}",
        base_url.trim_end_matches('/'),
        token.expose()
    )
}

/// A request path with any token replaced, for logs and the audit trail.
pub fn redacted(path: &str) -> String {
    match path.strip_prefix(PAGE_PREFIX) {
        Some(rest) => match rest.split_once('/') {
            Some((_, tail)) => format!("{PAGE_PREFIX}…/{tail}"),
            None => format!("{PAGE_PREFIX}…"),
        },
        None => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::testing::stores;

    #[test]
    fn tokens_have_256_bits_and_a_strict_shape() {
        let t = Token::generate();
        assert_eq!(t.expose().len(), TOKEN_CHARS);
        assert_ne!(t, Token::generate());
        assert!(Token::parse(t.expose()).is_some());
        let mut tampered = t.expose().to_string();
        tampered.pop();
        assert!(Token::parse(&tampered).is_none());
        assert!(Token::parse(&format!("{tampered}=")).is_none());
        assert!(Token::parse(&format!("{tampered}/")).is_none());
        assert!(!format!("{t:?}").contains(t.expose()));
    }

    #[test]
    fn paths_are_redacted() {
        assert_eq!(redacted("/self-service/abc"), "/self-service/…");
        assert_eq!(
            redacted("/self-service/abc/reconnect"),
            "/self-service/…/reconnect"
        );
        assert_eq!(redacted("/api/users"), "/api/users");
    }

    /// At most [`MAX_OPEN_LINKS`] open links per customer, also when many
    /// are made at the same moment; a revoked one makes room again, and
    /// other customers are not affected.
    #[tokio::test]
    async fn open_links_per_customer_are_capped_under_concurrency() {
        for store in stores().await {
            let name = store.name;
            let links = Links::new(store.db.clone(), Duration::from_secs(3600));
            let user = Uuid::new_v4();
            let made = futures::future::join_all((0..MAX_OPEN_LINKS + 15).map(|_| {
                let links = links.clone();
                async move {
                    links
                        .create(user, "agent@example.com", "http://gw/", None, None)
                        .await
                }
            }))
            .await;
            let ok: Vec<i64> = made
                .iter()
                .filter_map(|r| r.as_ref().ok())
                .map(|(n, _)| n.id)
                .collect();
            assert_eq!(ok.len() as i64, MAX_OPEN_LINKS, "{name}");
            for refused in made.iter().filter_map(|r| r.as_ref().err()) {
                assert_eq!(refused.code(), "conflict", "{name}: {refused}");
            }
            assert!(links
                .revoke(user, ok[0], "admin@example.com")
                .await
                .unwrap());
            links
                .create(user, "agent@example.com", "http://gw/", None, None)
                .await
                .expect("a revoked link makes room");
            links
                .create(
                    Uuid::new_v4(),
                    "agent@example.com",
                    "http://gw/",
                    None,
                    None,
                )
                .await
                .expect("another customer");
        }
    }

    /// Create, find, use, revoke and expire on every store.
    #[tokio::test]
    async fn links_live_and_end_on_every_store() {
        for store in stores().await {
            let (name, db) = (store.name, &store.db);
            let links = Links::new(db.clone(), Duration::from_secs(3600));
            let user = Uuid::new_v4();
            let (new, token) = links
                .create(user, "agent@example.com", "http://gw/", None, None)
                .await
                .unwrap();
            assert!(new.url.starts_with("http://gw/self-service/"), "{name}");
            assert!(new.url.ends_with(token.expose()), "{name}");
            let link = links.find(&token).await.unwrap().expect(name);
            assert_eq!(link.user_id, user, "{name}");
            links.used(link.id).await.unwrap();
            let listed = links.of_user(user).await.unwrap();
            assert_eq!(listed.len(), 1, "{name}");
            assert_eq!(listed[0].uses, 1, "{name}");
            assert_eq!(listed[0].state, LinkState::Active, "{name}");
            // Another user cannot revoke it; its own user can, twice.
            assert!(!links.revoke(Uuid::new_v4(), new.id, "x").await.unwrap());
            assert!(links
                .revoke(user, new.id, "admin@example.com")
                .await
                .unwrap());
            assert!(links
                .revoke(user, new.id, "admin@example.com")
                .await
                .unwrap());
            assert_eq!(
                links.find(&token).await.unwrap().unwrap_err(),
                Refusal::Gone
            );
            assert_eq!(
                links.of_user(user).await.unwrap()[0].state,
                LinkState::Revoked,
                "{name}"
            );
            // A link whose time is up.
            let expired = Links::new(db.clone(), Duration::ZERO);
            let (_, old) = expired
                .create(user, "a", "http://gw", None, None)
                .await
                .unwrap();
            assert_eq!(links.find(&old).await.unwrap().unwrap_err(), Refusal::Gone);
            // A token nobody issued.
            let unknown = Token::generate();
            assert_eq!(
                links.find(&unknown).await.unwrap().unwrap_err(),
                Refusal::Unknown
            );
        }
    }
}
