//! A stateful local emulator of the Podero Partner API v2.0.
//!
//! It is the gateway's embedded default upstream when no Podero URL is
//! configured, and a standalone binary for developers (`podero-emulator`).
//! It implements the token endpoint, users, the four device types,
//! buildings and device re-authentication as REFERENCE.md describes them;
//! every choice made where Podero's behaviour is not public is listed in this
//! crate's README. State lives in memory for reads and is made durable in a
//! snapshot plus an append-only journal under the data directory before any
//! write is acknowledged.

mod error;
mod routes;
mod seed;
mod state;
mod store;
mod tokens;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

pub use routes::app;
pub use state::Emulator;

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

/// A running emulator. Dropping it does not stop it; call [`RunningEmulator::shutdown`].
pub struct RunningEmulator {
    /// e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub base_url: String,
    pub addr: SocketAddr,
    /// The organisation the configured client belongs to.
    pub org_id: Uuid,
    /// The shared state, for in-process inspection (e.g. benchmarks).
    pub emulator: Arc<Emulator>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningEmulator {
    /// Stop serving and wait until in-flight requests are done.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Errors when starting: bad data directory, corrupt state, bind.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("emulator data: {0}")]
    Database(String),
}

/// Open (or seed) the state under `config.data_dir` and serve on `listen`
/// (use port 0 for a free port). Returns once it accepts connections.
pub async fn spawn(
    config: EmulatorConfig,
    listen: SocketAddr,
) -> Result<RunningEmulator, StartError> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| base_url.clone());
    let cfg = config.clone();
    let emulator = tokio::task::spawn_blocking(move || Emulator::open(&cfg, public_url))
        .await
        .map_err(|e| StartError::Database(e.to_string()))??;
    let emulator = Arc::new(emulator);
    let org_id = emulator.org_id();
    let router = app(emulator.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "emulator server stopped");
        }
    });
    Ok(RunningEmulator {
        base_url,
        addr,
        org_id,
        emulator,
        shutdown: Some(tx),
        task: Some(task),
    })
}
