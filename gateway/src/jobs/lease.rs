//! Leases: which replica runs a once-per-cluster job.
//!
//! A lease is a row `(name, holder, expires_at)` in the shared database.
//! [`Leases::acquire`] takes a free or expired lease, or renews one this
//! replica holds, in one statement (an upsert that only writes when the
//! row is ours or has expired), so two replicas can never both succeed.
//! [`Lease::keep`] renews every [`RENEW_EVERY`] and counts the lease as
//! held until [`TTL`] minus a margin after the start of its last
//! successful renewal, by this process's monotonic clock: a holder that
//! cannot reach the database stops working before anyone else may start.
//! Expiry times in the row are wall-clock milliseconds, so replicas'
//! clocks must agree to well under the margin (NTP).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::database::{failed, now_ms, Db};
use crate::error::GatewayError;

/// How long a lease lasts after its last renewal.
pub const TTL: Duration = Duration::from_secs(10);
/// How often the holder renews it (and others try to take it).
pub const RENEW_EVERY: Duration = Duration::from_secs(3);
/// Stop counting a lease as held this long before it expires.
const MARGIN: Duration = Duration::from_secs(2);

/// The lease table, seen by one replica.
#[derive(Debug, Clone)]
pub struct Leases {
    db: Db,
    holder: Arc<str>,
    /// Set by [`Leases::release_all`]: this replica takes no lease again.
    stopped: Arc<AtomicBool>,
}

impl Leases {
    pub fn new(db: Db, holder: &str) -> Self {
        Self {
            db,
            holder: holder.into(),
            stopped: Arc::default(),
        }
    }

    /// This replica's name.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Take the lease `name` at `now` (ms) if it is free or expired, or
    /// renew it if this replica holds it; whether it is ours now.
    pub async fn acquire(&self, name: &str, now: i64, ttl: Duration) -> Result<bool, GatewayError> {
        if self.stopped.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let expires_at = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        let row: Option<String> = sqlx::query_scalar(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at <= $4 \
             RETURNING holder",
        )
        .bind(name)
        .bind(&*self.holder)
        .bind(expires_at)
        .bind(now)
        .fetch_optional(&self.db)
        .await
        .map_err(failed)?;
        Ok(row.as_deref() == Some(&*self.holder))
    }

    /// Give up every lease this replica holds and take none again (a
    /// clean shutdown: another replica takes over at its next try instead
    /// of after the expiry).
    pub async fn release_all(&self) -> Result<(), GatewayError> {
        self.stopped.store(true, Ordering::SeqCst);
        sqlx::query("DELETE FROM leases WHERE holder = $1")
            .bind(&*self.holder)
            .execute(&self.db)
            .await
            .map(drop)
            .map_err(failed)
    }

    /// Who holds `name` and until when (ms), expired or not.
    pub async fn current(&self, name: &str) -> Result<Option<(String, i64)>, GatewayError> {
        sqlx::query_as("SELECT holder, expires_at FROM leases WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.db)
            .await
            .map_err(failed)
    }
}

/// One lease as kept by this replica (cheap to clone).
#[derive(Debug, Clone)]
pub struct Lease {
    name: &'static str,
    held_until: Arc<Mutex<Option<Instant>>>,
    changed: watch::Receiver<bool>,
}

impl Lease {
    /// Keep the lease `name`: a task takes it when it is free and renews
    /// it while held, for as long as any clone of the answer lives.
    pub fn keep(leases: Leases, name: &'static str) -> Self {
        let (tx, rx) = watch::channel(false);
        let lease = Self {
            name,
            held_until: Arc::new(Mutex::new(None)),
            changed: rx,
        };
        let held_until = lease.held_until.clone();
        let set = move |until: Option<Instant>| {
            *held_until.lock().unwrap_or_else(|p| p.into_inner()) = until;
        };
        let until = lease.held_until.clone();
        tokio::spawn(async move {
            loop {
                let started = Instant::now();
                let held = match leases.acquire(name, now_ms(), TTL).await {
                    Ok(true) => {
                        set(Some(started + TTL - MARGIN));
                        true
                    }
                    Ok(false) => {
                        set(None);
                        false
                    }
                    // Unknown: held at most until the last renewal runs out.
                    Err(e) => {
                        tracing::warn!(job = name, "could not renew the job's lease: {e}");
                        held_until_now(&until)
                    }
                };
                if *tx.borrow() != held {
                    if held {
                        tracing::info!(
                            job = name,
                            holder = leases.holder(),
                            "this replica now runs the job"
                        );
                    } else {
                        tracing::info!(job = name, "another replica runs the job");
                    }
                }
                if tx.send(held).is_err() {
                    break; // nobody keeps it any more
                }
                tokio::time::sleep(RENEW_EVERY).await;
            }
        });
        lease
    }

    /// The job's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether this replica may run the job now.
    pub fn is_held(&self) -> bool {
        held_until_now(&self.held_until)
    }

    /// Wait until this replica holds the lease.
    pub async fn wait_held(&self) {
        let mut rx = self.changed.clone();
        while !(*rx.borrow_and_update() && self.is_held()) {
            if rx.changed().await.is_err() {
                // The keeper stopped: never held again.
                std::future::pending::<()>().await;
            }
        }
    }
}

fn held_until_now(until: &Mutex<Option<Instant>>) -> bool {
    until
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .is_some_and(|t| Instant::now() < t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One holder at a time; the other takes over only after expiry;
    /// releasing frees it at once.
    #[tokio::test]
    async fn one_holder_at_a_time() {
        for store in crate::database::testing::stores().await {
            let a = Leases::new(store.db.clone(), "replica-a");
            let b = Leases::new(store.db.clone(), "replica-b");
            let ttl = Duration::from_secs(10);
            let t0 = 1_000_000;
            assert!(a.acquire("job", t0, ttl).await.unwrap(), "{}", store.name);
            assert!(!b.acquire("job", t0 + 1_000, ttl).await.unwrap());
            assert!(a.acquire("job", t0 + 5_000, ttl).await.unwrap(), "renewed");
            assert!(!b.acquire("job", t0 + 14_999, ttl).await.unwrap());
            assert!(b.acquire("job", t0 + 15_000, ttl).await.unwrap(), "expired");
            assert!(!a.acquire("job", t0 + 16_000, ttl).await.unwrap());
            assert_eq!(
                a.current("job").await.unwrap(),
                Some(("replica-b".to_string(), t0 + 25_000))
            );
            // Other jobs are other leases.
            assert!(a.acquire("other", t0 + 16_000, ttl).await.unwrap());
            b.release_all().await.unwrap();
            assert!(
                a.acquire("job", t0 + 17_000, ttl).await.unwrap(),
                "released"
            );
        }
    }

    /// Many replicas racing for a free lease: exactly one wins.
    #[tokio::test]
    async fn a_race_has_one_winner() {
        for store in crate::database::testing::stores().await {
            let tries: Vec<_> = (0..20)
                .map(|i| {
                    let l = Leases::new(store.db.clone(), &format!("replica-{i}"));
                    tokio::spawn(async move {
                        l.acquire("race", 5_000, Duration::from_secs(10))
                            .await
                            .unwrap()
                    })
                })
                .collect();
            let mut winners = 0;
            for t in tries {
                winners += usize::from(t.await.unwrap());
            }
            assert_eq!(winners, 1, "{}", store.name);
        }
    }
}
