//! Limits on what a client can make the gateway do before it is known.
//!
//! [`Throttle`]: failed sign-ins per e-mail address and per client address
//! within a window, counted in the database so every replica sees the
//! same counts. An attempt is counted as a failure *when it starts*
//! ([`Throttle::begin`], one atomic upsert per key) and taken back only
//! when it succeeds, so however many attempts arrive at once, on however
//! many replicas, at most the limit reach the password check; the rest are
//! refused (429 with `Retry-After`) at once, without hashing anything. A
//! database failure refuses the attempt (fail closed). The housekeeping
//! job deletes counts whose window has passed ([`Throttle::prune`]).
//!
//! [`RateLimit`]: requests without a session per client address (a token
//! bucket), so unauthenticated traffic can neither burn CPU nor fill the
//! audit trail. It is in memory, per replica, and bounded in size: behind
//! a balancer spreading requests over N replicas a client gets up to N
//! times the rate, which still bounds it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::database::{failed, Db};
use crate::error::GatewayError;

/// Most clients [`RateLimit`] keeps; beyond it, full buckets are dropped
/// first and, if none is full, new clients are refused (fail closed).
const MAX_KEYS: usize = 100_000;

/// Limits of [`Throttle`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_account: usize,
    pub per_client: usize,
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_client: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Failed sign-ins per account and per client (table `sign_in_throttle`).
#[derive(Debug)]
pub struct Throttle {
    db: Db,
    limits: Limits,
}

fn keys(email: &str, client: &str) -> [String; 2] {
    [
        format!("account:{}", email.trim().to_lowercase()),
        format!("client:{client}"),
    ]
}

/// Count one attempt for a key: a new window when the last one has
/// passed. Answers the window's start and the attempts in it, this one
/// included (one statement, so concurrent attempts each see their own
/// count).
const COUNT: &str = "INSERT INTO sign_in_throttle (key, window_start, attempts) VALUES ($1, $2, 1) \
     ON CONFLICT (key) DO UPDATE SET \
       attempts = CASE WHEN sign_in_throttle.window_start <= $3 THEN 1 ELSE sign_in_throttle.attempts + 1 END, \
       window_start = CASE WHEN sign_in_throttle.window_start <= $3 THEN $2 ELSE sign_in_throttle.window_start END \
     RETURNING window_start, attempts";

/// Take one attempt back.
const UNCOUNT: &str = "UPDATE sign_in_throttle \
     SET attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE key = $1";

impl Throttle {
    pub fn new(db: Db, limits: Limits) -> Self {
        Self { db, limits }
    }

    fn window_ms(&self) -> i64 {
        i64::try_from(self.limits.window.as_millis()).unwrap_or(i64::MAX)
    }

    /// Start a sign-in (or password check) for `email` from `client` at
    /// `now` (ms): `429 too_many_attempts` if it must be refused now;
    /// otherwise it is counted as a failure until [`Throttle::succeeded`]
    /// takes it back.
    pub async fn begin(&self, email: &str, client: &str, now: i64) -> Result<(), GatewayError> {
        let window = self.window_ms();
        let [account, client] = keys(email, client);
        let mut counted: Vec<&str> = Vec::with_capacity(2);
        for (key, limit) in [
            (&account, self.limits.per_account),
            (&client, self.limits.per_client),
        ] {
            let (start, attempts): (i64, i64) = sqlx::query_as(COUNT)
                .bind(key.as_str())
                .bind(now)
                .bind(now.saturating_sub(window))
                .fetch_one(&self.db)
                .await
                .map_err(failed)?;
            counted.push(key);
            if attempts > i64::try_from(limit).unwrap_or(i64::MAX) {
                // Refused attempts do not count: only checked ones do.
                for key in counted {
                    self.uncount(key).await?;
                }
                let wait_ms = start.saturating_add(window).saturating_sub(now);
                return Err(GatewayError::TooManyAttempts {
                    retry_after_secs: u64::try_from(wait_ms / 1000).unwrap_or(0).max(1),
                });
            }
        }
        Ok(())
    }

    async fn uncount(&self, key: &str) -> Result<(), GatewayError> {
        sqlx::query(UNCOUNT)
            .bind(key)
            .execute(&self.db)
            .await
            .map(drop)
            .map_err(failed)
    }

    /// The attempt begun for `email` from `client` succeeded: the account's
    /// failures are cleared and the client's count for it taken back.
    pub async fn succeeded(&self, email: &str, client: &str) -> Result<(), GatewayError> {
        let [account, client] = keys(email, client);
        self.forget(&account).await?;
        self.uncount(&client).await
    }

    /// Forget the failures of `email` (an admin issued a new password).
    pub async fn reset_account(&self, email: &str) -> Result<(), GatewayError> {
        let [account, _] = keys(email, "");
        self.forget(&account).await
    }

    async fn forget(&self, key: &str) -> Result<(), GatewayError> {
        sqlx::query("DELETE FROM sign_in_throttle WHERE key = $1")
            .bind(key)
            .execute(&self.db)
            .await
            .map(drop)
            .map_err(failed)
    }

    /// Delete the counts whose window has passed at `now`; how many.
    pub async fn prune(&self, now: i64) -> Result<u64, GatewayError> {
        sqlx::query("DELETE FROM sign_in_throttle WHERE window_start <= $1")
            .bind(now.saturating_sub(self.window_ms()))
            .execute(&self.db)
            .await
            .map(|done| done.rows_affected())
            .map_err(failed)
    }
}

/// A token bucket per client address: `per_minute` requests, refilled
/// evenly.
#[derive(Debug)]
pub struct RateLimit {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimit {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            buckets: Mutex::default(),
        }
    }

    /// Take one request of `client` now; `Err(wait)` when its bucket is
    /// empty.
    pub fn take(&self, client: &str, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(self.per_minute);
        let per_sec = capacity / 60.0;
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KEYS && !map.contains_key(client) {
            // Full buckets carry no information: drop them first.
            map.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_sec < capacity
            });
            if map.len() >= MAX_KEYS {
                return Err(Duration::from_secs(1));
            }
        }
        let (tokens, at) = map.entry(client.to_string()).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_sec).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / per_sec).max(Duration::from_secs(1)))
        }
    }

    /// Return a request [`RateLimit::take`] took (it turned out to be one
    /// that does not count): taking before the work and giving back after
    /// it bounds even a burst of simultaneous requests.
    pub fn give_back(&self, client: &str) {
        let capacity = f64::from(self.per_minute);
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((tokens, _)) = map.get_mut(client) {
            *tokens = (*tokens + 1.0).min(capacity);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(r: Result<(), GatewayError>) -> bool {
        matches!(r, Err(GatewayError::TooManyAttempts { .. }))
    }

    #[tokio::test]
    async fn per_account_and_per_client() {
        for store in crate::database::testing::stores().await {
            let t = Throttle::new(
                store.db.clone(),
                Limits {
                    per_account: 3,
                    per_client: 5,
                    window: Duration::from_secs(60),
                },
            );
            let now = 1_000_000;
            for _ in 0..3 {
                t.begin("a@x.de", "1.1.1.1", now).await.unwrap();
            }
            match t.begin("A@x.de", "2.2.2.2", now + 10_000).await {
                Err(GatewayError::TooManyAttempts { retry_after_secs }) => {
                    assert_eq!(retry_after_secs, 50, "{}", store.name)
                }
                other => panic!("{}: account limit, got {other:?}", store.name),
            }
            // Other accounts from the same client, up to the client limit.
            t.begin("b@x.de", "1.1.1.1", now).await.unwrap();
            t.begin("c@x.de", "1.1.1.1", now).await.unwrap();
            assert!(refused(t.begin("d@x.de", "1.1.1.1", now).await));
            t.begin("d@x.de", "3.3.3.3", now).await.unwrap();
            t.succeeded("a@x.de", "1.1.1.1").await.unwrap();
            t.begin("a@x.de", "4.4.4.4", now).await.unwrap();
            // Failures leave the window.
            for _ in 0..3 {
                t.begin("e@x.de", "5.5.5.5", now).await.unwrap();
            }
            assert!(refused(t.begin("e@x.de", "6.6.6.6", now).await));
            t.begin("e@x.de", "6.6.6.6", now + 60_000).await.unwrap();
            // An admin's new password clears the account's count.
            for _ in 0..2 {
                t.begin("f@x.de", "7.7.7.7", now).await.unwrap();
            }
            t.begin("f@x.de", "8.8.8.8", now).await.unwrap();
            assert!(refused(t.begin("f@x.de", "9.9.9.9", now).await));
            t.reset_account("F@x.de").await.unwrap();
            t.begin("f@x.de", "9.9.9.9", now).await.unwrap();
            // Housekeeping removes passed windows only.
            assert!(t.prune(now + 59_000).await.unwrap() == 0);
            assert!(t.prune(now + 60_000).await.unwrap() > 0);
        }
    }

    /// Begun attempts count at once: a burst cannot pass the limit, even
    /// through several connections (as from several replicas).
    #[tokio::test]
    async fn concurrent_attempts_count_before_they_finish() {
        for store in crate::database::testing::stores().await {
            let t = std::sync::Arc::new(Throttle::new(store.db.clone(), Limits::default()));
            let attempts: Vec<_> = (0..100)
                .map(|_| {
                    let t = t.clone();
                    tokio::spawn(async move { t.begin("x@y.de", "9.9.9.9", 5_000).await })
                })
                .collect();
            let mut admitted = 0;
            for a in attempts {
                match a.await.unwrap() {
                    Ok(()) => admitted += 1,
                    Err(GatewayError::TooManyAttempts { .. }) => {}
                    Err(e) => panic!("{}: {e:?}", store.name),
                }
            }
            assert_eq!(admitted, 5, "{}", store.name);
        }
    }

    #[test]
    fn rate_limit_refills() {
        let r = RateLimit::new(60);
        let now = Instant::now();
        for _ in 0..60 {
            r.take("a", now).unwrap();
        }
        assert!(r.take("a", now).is_err());
        assert!(r.take("b", now).is_ok());
        assert!(r.take("a", now + Duration::from_secs(1)).is_ok());
        assert!(r.take("a", now + Duration::from_secs(1)).is_err());
        // A request given back can be taken again, once.
        r.give_back("a");
        assert!(r.take("a", now + Duration::from_secs(1)).is_ok());
        assert!(r.take("a", now + Duration::from_secs(1)).is_err());
    }
}
