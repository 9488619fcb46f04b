//! A stateful local emulator of the Podero Partner API v2.0.
//!
//! It is the gateway's embedded default upstream when no Podero URL is
//! configured, and a standalone binary for developers (`podero-emulator`).
//! It implements the token endpoint, users, the four device types,
//! buildings and device re-authentication as REFERENCE.md describes them;
//! every choice made where Podero's behaviour is not public is listed in this
//! crate's README. State lives in SQLite (`<data_dir>/emulator.sqlite`),
//! read from there for every request and written there before any write is
//! acknowledged, so a million users cost disk rather than memory.
//!
//! Modules: `config` (how to start it), `auth` (client credentials and
//! bearer tokens), `state` (every operation on the organisation), `store`
//! (SQLite: schema, reads, writes, seeding), `seed` (deterministic demo
//! data), `connection` (a device's manufacturer connection: lost, regained,
//! last data), `churn` (connections that change by themselves), `routes` (HTTP: token,
//! users, devices, buildings, connect pages, test hooks), `error` (JSON
//! error bodies and the 422-producing body extractor), `serve` (connections
//! with a request-head time limit, at most so many at once).

mod auth;
mod churn;
mod config;
mod connection;
mod error;
mod routes;
mod seed;
mod state;
mod store;

use std::net::SocketAddr;
use std::sync::Arc;

use uuid::Uuid;

pub use config::{
    EmulatorConfig, DEFAULT_CHURN_PER_HOUR, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
    MAX_CHURN_PER_HOUR, MAX_TOKENS,
};
pub use routes::app;
pub use state::Emulator;

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
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    churn: Option<churn::Churn>,
}

impl RunningEmulator {
    /// Stop churn (connections that change by themselves) after the round
    /// under way, and keep serving: from now on the data holds still.
    pub async fn stop_churn(&mut self) {
        if let Some(churn) = self.churn.take() {
            churn.stop().await;
        }
    }

    /// Stop churn and serving, and wait until in-flight requests are done.
    /// The database is closed afterwards, so the same data directory can be
    /// opened again at once (e.g. a restart in the same process).
    pub async fn shutdown(mut self) {
        self.stop_churn().await;
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.emulator.close().await;
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
/// (use port 0 for a free port). Returns once it accepts connections; churn
/// (`config.churn_per_hour` > 0) runs from then until `shutdown`.
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
    let emulator = Emulator::open(&config, public_url).await?;
    let emulator = Arc::new(emulator);
    let org_id = emulator.org_id();
    let router = app(emulator.clone());
    let rate = config.effective_churn_per_hour();
    let churn = (rate > 0.0)
        .then(|| churn::Churn::start(emulator.clone(), rate, config.churn_tick, config.seed));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let limits = serve::Limits {
        head_timeout: config.head_timeout,
        max_connections: config.max_connections,
        ..serve::Limits::default()
    };
    let task = tokio::spawn(serve::serve(listener, router, limits, async {
        let _ = rx.await;
    }));
    Ok(RunningEmulator {
        base_url,
        addr,
        org_id,
        emulator,
        shutdown: Some(tx),
        task: Some(task),
        churn,
    })
}
