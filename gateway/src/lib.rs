//! The Podero Partner Back-Office gateway.
//!
//! One small axum server that does three things: it serves the Trunk-built
//! browser app (with long-lived caching for hashed assets and an
//! `index.html` fallback for client-side routes), it answers a couple of
//! gateway-owned endpoints (`/healthz`, `/api/app-info`), and it forwards an
//! explicit allow-list of Podero Partner API calls to Podero, adding the
//! organisation's OAuth2 access token, which never reaches the browser.
//! Without `PODERO_BASE_URL` it starts the local Podero emulator in-process
//! and talks to that instead.
//!
//! Modules are named by role, in the zero2prod style: [`configuration`]
//! (environment and flags), [`startup`] (building and running the server),
//! [`telemetry`] (tracing), [`token`] (the token manager), [`upstream`]
//! (the HTTP client towards Podero), [`directory`] (the read model of the
//! organisation's users: paging, sorting, search, reconnection scan),
//! [`routes`] (handlers) and [`error`] (the one error type every handler
//! answers with).

pub mod configuration;
pub mod directory;
pub mod error;
pub mod routes;
pub mod startup;
pub mod telemetry;
pub mod token;
pub mod upstream;

pub use configuration::{Config, EmbeddedEmulator, PoderoCredentials, Secret, UpstreamConfig};
pub use error::GatewayError;
pub use startup::{app, AppState, Application, RunningGateway};
