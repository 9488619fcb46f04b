//! Sign-in throttling: after too many failed sign-ins for one e-mail
//! address, or from one client address, within a window, further attempts
//! are refused (429 with `Retry-After`) until the oldest failure leaves the
//! window. Counts are in memory: a restart forgets them, which costs an
//! attacker a restart they cannot cause.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

    /// `Some(wait)` if a sign-in for `email` from `client` must be refused now.
    pub fn check(&self, email: &str, client: &str, now: Instant) -> Option<Duration> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let [account, client] = keys(email, client);
        let mut wait = None::<Duration>;
        for (key, limit) in [
            (account, self.limits.per_account),
            (client, self.limits.per_client),
        ] {
            if let Some(times) = map.get_mut(&key) {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.limits.window)
                {
                    times.pop_front();
                }
                if times.len() >= limit {
                    let oldest = times[times.len() - limit];
                    let w = self
                        .limits
                        .window
                        .saturating_sub(now.duration_since(oldest));
                    wait = Some(wait.map_or(w, |x| x.max(w)));
                }
            }
        }
        wait
    }

    /// Count a failed sign-in.
    pub fn failed(&self, email: &str, client: &str, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            // Bounded memory under a spray of addresses: drop stale entries.
            let window = self.limits.window;
            map.retain(|_, t| t.back().is_some_and(|b| now.duration_since(*b) < window));
        }
        for key in keys(email, client) {
            map.entry(key).or_default().push_back(now);
        }
    }

    /// A successful sign-in clears the account's failures.
    pub fn succeeded(&self, email: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let [account, _] = keys(email, "");
        map.remove(&account);
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
            assert!(t.check("a@x.de", "1.1.1.1", now).is_none());
            t.failed("a@x.de", "1.1.1.1", now);
        }
        let wait = t.check("A@x.de", "2.2.2.2", now).expect("account limit");
        assert_eq!(wait, Duration::from_secs(60));
        // Other accounts from the same client, up to the client limit.
        t.failed("b@x.de", "1.1.1.1", now);
        assert!(t.check("c@x.de", "1.1.1.1", now).is_none());
        t.failed("c@x.de", "1.1.1.1", now);
        assert!(t.check("d@x.de", "1.1.1.1", now).is_some());
        assert!(t.check("d@x.de", "3.3.3.3", now).is_none());
        t.succeeded("a@x.de");
        assert!(t.check("a@x.de", "4.4.4.4", now).is_none());
        // Failures leave the window.
        t.failed("e@x.de", "5.5.5.5", now);
        t.failed("e@x.de", "5.5.5.5", now);
        t.failed("e@x.de", "5.5.5.5", now);
        assert!(t.check("e@x.de", "6.6.6.6", now).is_some());
        assert!(t
            .check("e@x.de", "6.6.6.6", now + Duration::from_secs(60))
            .is_none());
    }
}
