//! How an emulator is configured: data directory, demo-data size and seed,
//! token lifetime, the one accepted OAuth client, and the public URL that
//! reconnection links start with. The binary fills it from flags and
//! environment variables; in-process users build it with
//! [`EmulatorConfig::new`] and adjust the fields.

use std::path::PathBuf;
use std::time::Duration;

/// Client id the standalone emulator accepts unless told otherwise.
/// These guard only a local emulator and are documented in its README.
pub const DEFAULT_CLIENT_ID: &str = "podero-emulator";
pub const DEFAULT_CLIENT_SECRET: &str = "emulator-secret";

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
    /// The one OAuth client it accepts.
    pub client_id: String,
    pub client_secret: String,
    /// Base URL that links it hands out (`authentication_url`) start with;
    /// `None`: `http://{bound address}`.
    pub public_url: Option<String>,
}

impl EmulatorConfig {
    /// Defaults: 300 users, seed 42, 36000 s tokens, the default client.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            seed_users: 300,
            seed: 42,
            token_ttl: Duration::from_secs(36_000),
            client_id: DEFAULT_CLIENT_ID.to_string(),
            client_secret: DEFAULT_CLIENT_SECRET.to_string(),
            public_url: None,
        }
    }
}
