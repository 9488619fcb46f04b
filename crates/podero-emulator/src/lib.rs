//! A stateful local emulator of the Podero Partner API v2.0.
//!
//! (Stub: the public surface the gateway and the tests use. The
//! implementation replaces the bodies; the signatures stay.)

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use uuid::Uuid;

/// Client id the standalone emulator accepts unless told otherwise.
/// These guard only a local emulator and are documented in its README.
pub const DEFAULT_CLIENT_ID: &str = "podero-emulator";
pub const DEFAULT_CLIENT_SECRET: &str = "emulator-secret";

/// How to start an emulator.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Directory of the SQLite database that keeps its state across restarts.
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

/// A running emulator. Dropping it does not stop it; call [`RunningEmulator::shutdown`].
pub struct RunningEmulator {
    /// e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub base_url: String,
    pub addr: SocketAddr,
    /// The organisation the configured client belongs to.
    pub org_id: Uuid,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningEmulator {
    /// Stop serving and wait until the database is flushed.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Errors when starting: bad data directory, database, bind.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("emulator database: {0}")]
    Database(String),
}

/// Open (or seed) the state under `config.data_dir` and serve on `listen`
/// (use port 0 for a free port). Returns once it accepts connections.
pub async fn spawn(config: EmulatorConfig, listen: SocketAddr) -> Result<RunningEmulator, StartError> {
    let _ = (config, listen);
    todo!("implemented by the emulator work")
}
