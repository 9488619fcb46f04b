//! Server-side sign-in sessions.
//!
//! A session is 32 random bytes, sent to the browser once in an HttpOnly,
//! SameSite=Strict cookie; the database keeps only its SHA-256, so a copy
//! of the database does not let anyone in. A session ends when its person
//! signs out, when an admin ends it, after `idle` without a request, and at
//! `expires_at` (absolute) whatever happens. The anti-forgery value the app
//! sends in [`shared::staff::CSRF_HEADER`] is derived from the session, so
//! it cannot be guessed from another session and needs no storage.
//!
//! Valid sessions are remembered per replica and checked against the
//! database's sessions generation at every lookup
//! ([`super::session_cache`]), so a sign-out, an ended session or a role
//! change on any replica applies at the next request everywhere.

use crate::database::Db;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use std::sync::Arc;

use crate::auth::accounts::{AccountRow, StoredAccount, COLUMNS};
use crate::auth::password::random_bytes;
use crate::auth::session_cache::SessionCache;
use crate::database::failed;
use crate::error::GatewayError;

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The stored form of a session token.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// The anti-forgery value of the session with this token hash.
pub fn csrf_token(token_hash: &str) -> String {
    sha256_hex(format!("csrf:{token_hash}").as_bytes())
}

/// Whether `sent` is the anti-forgery value of the session with this token
/// hash, compared in constant time.
pub fn csrf_matches(token_hash: &str, sent: &str) -> bool {
    use subtle::ConstantTimeEq;
    csrf_token(token_hash)
        .as_bytes()
        .ct_eq(sent.as_bytes())
        .into()
}

/// A valid session and its account.
#[derive(Debug, Clone)]
pub struct Signed {
    pub token_hash: String,
    pub account: StoredAccount,
    pub expires_at: i64,
}

/// What a cookie's token stands for now.
#[derive(Debug)]
pub enum Lookup {
    Valid(Signed),
    /// Existed, but ended or expired.
    Expired,
    /// Not a session of this gateway.
    Unknown,
}

/// A session row joined with its account.
#[derive(Debug, sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    account: AccountRow,
    s_last_seen: i64,
    s_expires: i64,
    s_ended: Option<i64>,
}

/// The sessions table, its time limits and the replica's memory of it.
#[derive(Debug, Clone)]
pub struct Sessions {
    pool: Db,
    idle_ms: i64,
    max_ms: i64,
    cache: Arc<SessionCache>,
}

impl Sessions {
    pub fn new(pool: Db, idle: std::time::Duration, max: std::time::Duration) -> Self {
        Self {
            cache: Arc::new(SessionCache::new(pool.clone())),
            pool,
            idle_ms: idle.as_millis().try_into().unwrap_or(i64::MAX),
            max_ms: max.as_millis().try_into().unwrap_or(i64::MAX),
        }
    }

    pub fn idle_secs(&self) -> u32 {
        (self.idle_ms / 1000).try_into().unwrap_or(u32::MAX)
    }

    pub fn max_secs(&self) -> i64 {
        self.max_ms / 1000
    }

    /// `last_seen_at` is written at most this often (and often enough
    /// for the idle limit to be exact to a quarter of it).
    fn touch_every_ms(&self) -> i64 {
        (self.idle_ms / 4).clamp(1, 60_000)
    }

    /// Start a session; returns the token for the cookie.
    pub async fn create(
        &self,
        account: Uuid,
        client_addr: Option<&str>,
        user_agent: Option<&str>,
        now: i64,
    ) -> Result<(String, i64), GatewayError> {
        use base64::Engine;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>());
        let expires_at = now.saturating_add(self.max_ms);
        sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, created_at, last_seen_at, expires_at, client_addr, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token_hash(&token))
        .bind(account.to_string())
        .bind(now)
        .bind(now)
        .bind(expires_at)
        .bind(client_addr)
        .bind(user_agent.map(|s| s.chars().take(200).collect::<String>()))
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        Ok((token, expires_at))
    }

    /// The session of a cookie's token at `now`, noting the activity:
    /// from this replica's memory when the sessions generation has not
    /// moved since it was read (and the activity is recorded recently
    /// enough), else from the database.
    pub async fn lookup(&self, token: &str, now: i64) -> Result<Lookup, GatewayError> {
        let hash = token_hash(token);
        // Read before the session is, so a change committed in between
        // raises it past what the session is remembered under.
        let generation = self.cache.generation().await?;
        if let Some(signed) = self
            .cache
            .valid(&hash, generation, now, self.touch_every_ms())
        {
            return Ok(Lookup::Valid(signed));
        }
        let row = sqlx::query_as::<_, SessionRow>(&format!(
            "SELECT {COLUMNS}, s.last_seen_at AS s_last_seen, s.expires_at AS s_expires, s.ended_at AS s_ended \
             FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = $1"
        ))
        .bind(&hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(failed)?;
        let Some(row) = row else {
            self.cache.forget(&hash);
            return Ok(Lookup::Unknown);
        };
        let (mut last_seen, expires_at, ended) = (row.s_last_seen, row.s_expires, row.s_ended);
        if ended.is_some() || now >= expires_at || now >= last_seen.saturating_add(self.idle_ms) {
            self.cache.forget(&hash);
            return Ok(Lookup::Expired);
        }
        if now - last_seen >= self.touch_every_ms() {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
                .bind(now)
                .bind(&hash)
                .execute(&self.pool)
                .await
                .map_err(failed)?;
            last_seen = now;
        }
        let signed = Signed {
            token_hash: hash,
            account: StoredAccount::from(row.account),
            expires_at,
        };
        self.cache.remember(&signed, last_seen, generation);
        Ok(Lookup::Valid(signed))
    }

    /// End one session (sign-out).
    pub async fn end(&self, token_hash: &str, now: i64) -> Result<(), GatewayError> {
        sqlx::query("UPDATE sessions SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL")
            .bind(now)
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(failed)
    }

    /// End every open session of an account except `keep`; how many ended.
    pub async fn end_all(
        &self,
        account: Uuid,
        keep: Option<&str>,
        now: i64,
    ) -> Result<u32, GatewayError> {
        let done = sqlx::query(
            "UPDATE sessions SET ended_at = $1 WHERE account_id = $2 AND ended_at IS NULL AND expires_at > $3 AND token_hash <> $4",
        )
        .bind(now)
        .bind(account.to_string())
        .bind(now)
        .bind(keep.unwrap_or(""))
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        Ok(done.rows_affected().try_into().unwrap_or(u32::MAX))
    }

    /// Delete sessions that expired before `cutoff`, except each
    /// account's last seen (the team page shows it); how many.
    pub async fn prune(&self, cutoff: i64) -> Result<u64, GatewayError> {
        sqlx::query(
            "DELETE FROM sessions WHERE expires_at < $1 AND last_seen_at < \
             (SELECT MAX(s.last_seen_at) FROM sessions s WHERE s.account_id = sessions.account_id)",
        )
        .bind(cutoff)
        .execute(&self.pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::accounts::{Accounts, NewAccount};
    use shared::staff::StaffRole;
    use std::time::Duration;

    async fn setup(pool: &Db, idle: u64, max: u64) -> (Sessions, Uuid) {
        let pool = pool.clone();
        let account = Accounts::new(pool.clone())
            .create(NewAccount {
                email: "a@example.com",
                first_name: "A",
                last_name: "B",
                role: StaffRole::Staff,
                password_hash: "x".into(),
                podero_user_id: None,
                password_expires_at: None,
            })
            .await
            .unwrap()
            .unwrap();
        (
            Sessions::new(pool, Duration::from_secs(idle), Duration::from_secs(max)),
            account.id,
        )
    }

    #[tokio::test]
    async fn idle_and_absolute_expiry() {
        for store in crate::database::testing::stores().await {
            let (sessions, account) = setup(&store.db, 60, 300).await;
            let t0 = 1_000_000;
            let (token, expires) = sessions.create(account, None, None, t0).await.unwrap();
            assert_eq!(expires, t0 + 300_000);
            // Active every 50 s: stays valid past the idle limit...
            for step in 1..=5 {
                let at = t0 + step * 50_000;
                assert!(
                    matches!(sessions.lookup(&token, at).await.unwrap(), Lookup::Valid(_)),
                    "at +{}s",
                    step * 50
                );
            }
            // ...but never past the absolute end.
            assert!(matches!(
                sessions.lookup(&token, t0 + 300_000).await.unwrap(),
                Lookup::Expired
            ));
            // A quiet session ends after the idle time.
            let (quiet, _) = sessions.create(account, None, None, t0).await.unwrap();
            assert!(matches!(
                sessions.lookup(&quiet, t0 + 59_000).await.unwrap(),
                Lookup::Valid(_)
            ));
            assert!(matches!(
                sessions.lookup(&quiet, t0 + 59_000 + 60_000).await.unwrap(),
                Lookup::Expired
            ));
            assert!(matches!(
                sessions.lookup("not-a-token", t0).await.unwrap(),
                Lookup::Unknown
            ));
        }
    }

    /// Two replicas (two `Sessions`, each with its own memory) on one
    /// database: what one changes applies on the other at its next
    /// lookup, though the other remembered the session.
    #[tokio::test]
    async fn a_change_elsewhere_applies_at_the_next_lookup() {
        for store in crate::database::testing::stores().await {
            let (a, account) = setup(&store.db, 600, 3600).await;
            let b = Sessions::new(
                store.db.clone(),
                Duration::from_secs(600),
                Duration::from_secs(3600),
            );
            let accounts = Accounts::new(store.db.clone());
            let now = 7_000_000;
            let (token, _) = a.create(account, None, None, now).await.unwrap();
            let role = |l: Lookup| match l {
                Lookup::Valid(s) => Some(s.account.role),
                _ => None,
            };
            for at in [now, now + 1] {
                assert_eq!(
                    role(b.lookup(&token, at).await.unwrap()),
                    Some(StaffRole::Staff)
                );
                assert_eq!(
                    role(a.lookup(&token, at).await.unwrap()),
                    Some(StaffRole::Staff)
                );
            }
            accounts
                .set_role(account, StaffRole::Viewer, None)
                .await
                .unwrap();
            assert_eq!(
                role(b.lookup(&token, now + 2).await.unwrap()),
                Some(StaffRole::Viewer),
                "{}: the role change on A is seen on B",
                store.name
            );
            a.end(&token_hash(&token), now + 3).await.unwrap();
            assert!(
                matches!(b.lookup(&token, now + 4).await.unwrap(), Lookup::Expired),
                "{}: the sign-out on A ends the session on B",
                store.name
            );
        }
    }

    #[tokio::test]
    async fn ending_sessions() {
        for store in crate::database::testing::stores().await {
            let (sessions, account) = setup(&store.db, 600, 3600).await;
            let now = 5_000_000;
            let (a, _) = sessions.create(account, None, None, now).await.unwrap();
            let (b, _) = sessions.create(account, None, None, now).await.unwrap();
            let (c, _) = sessions.create(account, None, None, now).await.unwrap();
            sessions.end(&token_hash(&a), now).await.unwrap();
            assert!(matches!(
                sessions.lookup(&a, now).await.unwrap(),
                Lookup::Expired
            ));
            assert_eq!(
                sessions
                    .end_all(account, Some(&token_hash(&c)), now)
                    .await
                    .unwrap(),
                1
            );
            assert!(matches!(
                sessions.lookup(&b, now).await.unwrap(),
                Lookup::Expired
            ));
            assert!(matches!(
                sessions.lookup(&c, now).await.unwrap(),
                Lookup::Valid(_)
            ));
            assert_ne!(csrf_token(&token_hash(&b)), csrf_token(&token_hash(&c)));
            let hb = token_hash(&b);
            assert!(csrf_matches(&hb, &csrf_token(&hb)));
            assert!(!csrf_matches(&hb, &csrf_token(&token_hash(&c))));
            assert!(!csrf_matches(&hb, ""));
        }
    }
}
