//! How an emulator is configured: data directory, demo-data size and seed,
//! token lifetime, the one accepted OAuth client, the public URL that
//! reconnection links start with, and how often device connections change
//! by themselves (churn). The binary fills it from flags and
//! environment variables; in-process users build it with
//! [`EmulatorConfig::new`] and adjust the fields.

use std::path::PathBuf;
use std::time::Duration;

/// Client id the standalone emulator accepts unless told otherwise.
/// These guard only a local emulator and are documented in its README.
pub const DEFAULT_CLIENT_ID: &str = "podero-emulator";
pub const DEFAULT_CLIENT_SECRET: &str = "emulator-secret";

/// The binary's `--churn-per-hour` unless told otherwise: connection
/// changes (a loss or a regain) per 1,000 devices per hour. At this rate an
/// organisation of 300 users (about 250 devices) sees a change every one
/// to two hours; one of 100,000 users one every few seconds.
/// [`EmulatorConfig::new`] starts with churn off (0) instead, so tests and
/// in-process users get data that holds still unless they ask otherwise.
pub const DEFAULT_CHURN_PER_HOUR: f64 = 3.0;

/// Access tokens an emulator remembers at most unless told otherwise: a
/// client asking for more (say, a new token per request) makes the oldest
/// invalid rather than memory grow.
pub const MAX_TOKENS: usize = 100_000;

/// The highest churn rate accepted: one change per device per second.
pub const MAX_CHURN_PER_HOUR: f64 = 3_600_000.0;

/// How to start an emulator.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Directory that keeps its state across restarts.
    pub data_dir: PathBuf,
    /// Users to seed into a fresh data directory (ignored if it has data).
    pub seed_users: usize,
    /// Seed of the deterministic demo-data generator.
    pub seed: u64,
    /// `expires_in` of issued tokens.
    pub token_ttl: Duration,
    /// Access tokens remembered at most (default [`MAX_TOKENS`]); when a
    /// new one would pass the bound, the oldest is forgotten.
    pub max_tokens: usize,
    /// The one OAuth client it accepts.
    pub client_id: String,
    pub client_secret: String,
    /// Base URL that links it hands out (`authentication_url`) start with;
    /// `None`: `http://{bound address}`.
    pub public_url: Option<String>,
    /// Connection changes per 1,000 devices per hour (half losses, half
    /// regains); 0 switches churn off. Values above [`MAX_CHURN_PER_HOUR`]
    /// are capped, negative or non-finite ones mean off.
    pub churn_per_hour: f64,
    /// How often the churn task runs (the changes of an hour are spread
    /// over its ticks).
    pub churn_tick: Duration,
    /// The time a client has to send a request's head (default 30 s);
    /// a connection that has not sent it by then is closed.
    pub head_timeout: Duration,
    /// Connections served at once at most (default 10,000); more wait to
    /// be accepted until one closes.
    pub max_connections: usize,
    /// The time a request body has to arrive whole once its head is in
    /// (default 30 s); later: 408.
    pub body_timeout: Duration,
}

impl EmulatorConfig {
    /// Defaults: 300 users, seed 42, 36000 s tokens, the default client,
    /// **no churn** (set `churn_per_hour`, e.g. to [`DEFAULT_CHURN_PER_HOUR`],
    /// for connections that change by themselves), churn tick 5 s, 30 s for
    /// a request's head and 30 s for its body, at most 10,000 connections
    /// at once.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            seed_users: 300,
            seed: 42,
            token_ttl: Duration::from_secs(36_000),
            max_tokens: MAX_TOKENS,
            client_id: DEFAULT_CLIENT_ID.to_string(),
            client_secret: DEFAULT_CLIENT_SECRET.to_string(),
            public_url: None,
            churn_per_hour: 0.0,
            churn_tick: Duration::from_secs(5),
            head_timeout: serve::HEAD_TIMEOUT,
            max_connections: serve::MAX_CONNECTIONS,
            body_timeout: serve::HEAD_TIMEOUT,
        }
    }

    /// The churn rate in effect: 0 when off, else capped at [`MAX_CHURN_PER_HOUR`].
    pub fn effective_churn_per_hour(&self) -> f64 {
        if self.churn_per_hour.is_finite() && self.churn_per_hour > 0.0 {
            self.churn_per_hour.min(MAX_CHURN_PER_HOUR)
        } else {
            0.0
        }
    }
}
