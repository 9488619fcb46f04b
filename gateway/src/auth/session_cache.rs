//! Valid sessions remembered per replica, checked against the database's
//! sessions generation at every request.
//!
//! Reading a session and its account from the database for every request
//! (and on SQLite, queueing behind the audit writer for it) was most of
//! what the gateway added to a forwarded call. A replica now keeps the
//! sessions it found valid in memory, keyed by the token's hash, together
//! with the account as read then. Whether that memory is still right is
//! decided by one number: `auth_generation.generation`, which database
//! triggers raise in the same transaction as **any** change that can end
//! a session or change what the guard reads of an account (a session's
//! `ended_at`, any update or deletion of an account: role, password,
//! one-time password, language, removal; a deleted session). No code path
//! has to remember to invalidate: a sign-out, an admin ending sessions or
//! a role change on any replica raises the generation when it commits.
//!
//! Every request reads the generation, with a read that **starts after
//! the request arrived** ([`crate::batch::Batcher`]: concurrent requests
//! share one read, but never one begun before they asked). So a change
//! committed (and answered) on another replica before a request arrives
//! here is seen by that request: it finds a newer generation, forgets
//! every remembered session and reads its own from the database again.
//! A read of one small row replaces the join of sessions and accounts; on
//! PostgreSQL it is one round trip, and under load one per batch.
//!
//! A remembered session is used only while `now` is before its absolute
//! end and less than the touch interval (a quarter of the idle limit, at
//! most a minute) after its `last_seen_at`; after that the database path
//! runs again, which also writes the new `last_seen_at`, so the idle limit
//! and the team page's "last seen" work as before. At most
//! [`MAX_ENTRIES`] sessions are remembered; when full, all are forgotten.
//! Unknown and ended tokens are never remembered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::batch::{Batcher, Gone, Work};
use crate::database::Db;
use crate::error::GatewayError;

use super::sessions::Signed;

/// Sessions remembered at most.
pub const MAX_ENTRIES: usize = 10_000;

/// A remembered valid session.
#[derive(Debug, Clone)]
struct Entry {
    signed: Signed,
    /// `last_seen_at` in the database when it was remembered.
    last_seen: i64,
}

#[derive(Debug, Default)]
struct Remembered {
    /// The generation the entries were read under.
    generation: i64,
    entries: HashMap<String, Entry>,
}

/// The per-replica session memory and the generation reader.
#[derive(Debug)]
pub struct SessionCache {
    remembered: Mutex<Remembered>,
    generation: Batcher<(), Result<i64, String>>,
}

impl SessionCache {
    pub fn new(pool: Db) -> Self {
        let work: Work<(), Result<i64, String>> = Arc::new(move |calls: Vec<()>| {
            let pool = pool.clone();
            Box::pin(async move {
                let read = sqlx::query_scalar::<_, i64>(
                    "SELECT generation FROM auth_generation WHERE id = 1",
                )
                .fetch_one(&pool)
                .await
                .map_err(|e| e.to_string());
                vec![read; calls.len()]
            })
        });
        Self {
            remembered: Mutex::new(Remembered::default()),
            // A read per batch; everyone waiting shares it.
            generation: Batcher::new("sessions generation", 4_096, 4_096, work),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Remembered) -> R) -> R {
        f(&mut self.remembered.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The sessions generation, read after this call was made.
    pub async fn generation(&self) -> Result<i64, GatewayError> {
        match self.generation.call(()).await {
            Ok(Ok(g)) => Ok(g),
            Ok(Err(e)) => Err(GatewayError::Database(e)),
            Err(Gone) => Err(GatewayError::Database(
                "the sessions generation could not be read".into(),
            )),
        }
    }

    /// The remembered session of `hash`, if it may be used at `now` under
    /// `generation` (`touch_every_ms`: how long after its last recorded
    /// activity the database path must run again).
    pub fn valid(
        &self,
        hash: &str,
        generation: i64,
        now: i64,
        touch_every_ms: i64,
    ) -> Option<Signed> {
        self.with(|r| {
            if generation > r.generation {
                // Something changed: nothing remembered can be trusted.
                r.entries.clear();
                r.generation = generation;
                return None;
            }
            if generation < r.generation {
                return None; // read before a newer one: ask the database
            }
            let e = r.entries.get(hash)?;
            (now < e.signed.expires_at && now - e.last_seen < touch_every_ms)
                .then(|| e.signed.clone())
        })
    }

    /// Remember a session found valid in the database under `generation`
    /// (read before the session was), with its `last_seen_at` there.
    pub fn remember(&self, signed: &Signed, last_seen: i64, generation: i64) {
        self.with(|r| {
            if generation > r.generation {
                r.entries.clear();
                r.generation = generation;
            }
            if generation != r.generation {
                return; // a change came in meanwhile: the row may be stale
            }
            if r.entries.len() >= MAX_ENTRIES && !r.entries.contains_key(&signed.token_hash) {
                r.entries.clear();
            }
            r.entries.insert(
                signed.token_hash.clone(),
                Entry {
                    signed: signed.clone(),
                    last_seen,
                },
            );
        })
    }

    /// Forget the session of `hash` (found ended or unknown).
    pub fn forget(&self, hash: &str) {
        self.with(|r| r.entries.remove(hash));
    }
}
