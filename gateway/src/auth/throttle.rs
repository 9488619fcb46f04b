//! Limits on what a client can make the gateway do before it is known.
//!
//! [`Throttle`]: failed sign-ins per e-mail address and per client address
//! within a window. An attempt is counted as a failure *when it starts*
//! ([`Throttle::begin`], one step under one lock) and taken back only when
//! it succeeds, so however many attempts arrive at once, at most the limit
//! reach the password check; the rest are refused (429 with `Retry-After`)
//! at once, without hashing anything.
//!
//! [`RateLimit`]: requests without a session per client address (a token
//! bucket), so unauthenticated traffic can neither burn CPU nor fill the
//! audit trail.
//!
//! Counts are in memory and bounded in size: a restart forgets them, which
//! costs an attacker a restart they cannot cause.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most keys either map keeps; beyond it, stale entries are dropped first
/// and, if none are stale, new attempts are refused (fail closed).
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

#[derive(Debug, Default)]
pub struct Throttle {
    limits: Limits,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

fn keys(email: &str, client: &str) -> [String; 2] {
    [
        format!("account:{}", email.trim().to_lowercase()),
        format!("client:{client}"),
    ]
}

impl Throttle {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            failures: Mutex::default(),
        }
    }

    /// Start a sign-in (or password check) for `email` from `client`:
    /// `Err(wait)` if it must be refused now; otherwise it is counted as a
    /// failure until [`Throttle::succeeded`] takes it back.
    pub fn begin(&self, email: &str, client: &str, now: Instant) -> Result<(), Duration> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let window = self.limits.window;
        let [account, client] = keys(email, client);
        let mut wait = None::<Duration>;
        for (key, limit) in [
            (&account, self.limits.per_account),
            (&client, self.limits.per_client),
        ] {
            if let Some(times) = map.get_mut(key) {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= window)
                {
                    times.pop_front();
                }
                if times.len() >= limit {
                    let oldest = times[times.len() - limit];
                    let w = window.saturating_sub(now.duration_since(oldest));
                    wait = Some(wait.map_or(w, |x| x.max(w)));
                }
            }
        }
        if let Some(w) = wait {
            return Err(w.max(Duration::from_secs(1)));
        }
        if map.len() + 2 > MAX_KEYS {
            map.retain(|_, t| t.back().is_some_and(|b| now.duration_since(*b) < window));
        }
        let missing = [&account, &client]
            .iter()
            .filter(|k| !map.contains_key(**k))
            .count();
        if map.len() + missing > MAX_KEYS {
            // Full of recent failures: an attack on many accounts at once.
            // Refuse rather than stop counting.
            return Err(window);
        }
        for key in [account, client] {
            map.entry(key).or_default().push_back(now);
        }
        Ok(())
    }

    /// The attempt begun for `email` from `client` succeeded: the account's
    /// failures are cleared and the client's count for it taken back.
    pub fn succeeded(&self, email: &str, client: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let [account, client] = keys(email, client);
        map.remove(&account);
        if let Some(times) = map.get_mut(&client) {
            times.pop_back();
        }
    }

    /// Forget the failures of `email` (an admin issued a new password).
    pub fn reset_account(&self, email: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let [account, _] = keys(email, "");
        map.remove(&account);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_account_and_per_client() {
        let t = Throttle::new(Limits {
            per_account: 3,
            per_client: 5,
            window: Duration::from_secs(60),
        });
        let now = Instant::now();
        for _ in 0..3 {
            assert!(t.begin("a@x.de", "1.1.1.1", now).is_ok());
        }
        let wait = t
            .begin("A@x.de", "2.2.2.2", now)
            .expect_err("account limit");
        assert_eq!(wait, Duration::from_secs(60));
        // Other accounts from the same client, up to the client limit.
        assert!(t.begin("b@x.de", "1.1.1.1", now).is_ok());
        assert!(t.begin("c@x.de", "1.1.1.1", now).is_ok());
        assert!(t.begin("d@x.de", "1.1.1.1", now).is_err());
        assert!(t.begin("d@x.de", "3.3.3.3", now).is_ok());
        t.succeeded("a@x.de", "1.1.1.1");
        assert!(t.begin("a@x.de", "4.4.4.4", now).is_ok());
        // Failures leave the window.
        for _ in 0..3 {
            t.begin("e@x.de", "5.5.5.5", now).unwrap();
        }
        assert!(t.begin("e@x.de", "6.6.6.6", now).is_err());
        assert!(t
            .begin("e@x.de", "6.6.6.6", now + Duration::from_secs(60))
            .is_ok());
    }

    /// Begun attempts count at once: a burst cannot pass the limit.
    #[test]
    fn concurrent_attempts_count_before_they_finish() {
        let t = std::sync::Arc::new(Throttle::new(Limits::default()));
        let now = Instant::now();
        let admitted: usize = std::thread::scope(|s| {
            (0..200)
                .map(|_| {
                    let t = t.clone();
                    s.spawn(move || t.begin("x@y.de", "9.9.9.9", now).is_ok())
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|h| h.join().unwrap() as usize)
                .sum()
        });
        assert_eq!(admitted, 5);
    }

    /// Full of recent failures, it refuses new keys instead of no longer
    /// counting them.
    #[test]
    fn a_full_throttle_fails_closed() {
        let t = Throttle::new(Limits::default());
        let now = Instant::now();
        for i in 0..MAX_KEYS / 2 {
            t.begin(&format!("a{i}@x.de"), &format!("c{i}"), now)
                .unwrap();
        }
        assert!(t.begin("new@x.de", "new-client", now).is_err());
        // Once those failures leave the window, there is room again.
        let later = now + Limits::default().window;
        assert!(t.begin("new@x.de", "new-client", later).is_ok());
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
    }
}
