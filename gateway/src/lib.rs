//! The Podero Partner Back-Office gateway.
//!
//! One small axum server that serves the Trunk-built browser app (with
//! long-lived caching for hashed assets and an `index.html` fallback for
//! client-side routes), signs staff in and enforces their roles, records
//! every API operation in an append-only audit trail, answers its own
//! endpoints (sessions, team, audit, the users read model) and forwards an
//! explicit allow-list of Podero Partner API calls to Podero, adding the
//! organisation's OAuth2 access token, which never reaches the browser.
//! Without `PODERO_BASE_URL` it starts the local Podero emulator in-process
//! and talks to that instead.
//!
//! Modules are named by role, in the zero2prod style: [`configuration`]
//! (environment and flags), [`startup`] (building and running the server,
//! the state and its parts), [`telemetry`] (tracing, as text or JSON
//! lines), [`metrics`] (Prometheus metrics on a separate listener),
//! [`podero`] (the one home for talking to Podero: the route allow-list,
//! the organisation-bound client, the token), [`request`] (what is decided once per request),
//! [`directory`] (the read model of the organisation's users: paging,
//! sorting, search, reconnection scan), [`auth`] (staff accounts,
//! sessions, throttling, the guard every `/api` request passes, roles),
//! [`audit`] (the append-only audit trail), [`batch`] (one worker doing
//! many callers' work at once: group commit), [`cases`] (support cases and
//! the outgoing webhook), [`watch`] (the fleet watch that opens and
//! resolves device-connection cases), [`database`] (the gateway's
//! own SQLite), [`hardening`] (security headers), [`csv`] (exports),
//! [`lang`] (the language of a request's answers), [`self_service`]
//! (customers' self-service links and page), [`mail`] (the outbox of
//! messages to customers and its SMTP sender), [`routes`] (handlers),
//! [`openapi`] (the description of the gateway's own endpoints)
//! and [`error`] (the one error type every handler answers with). Data
//! flows one way: route handler → guard's facts → [`podero::Podero`].

pub mod audit;
pub mod auth;
pub mod batch;
pub mod cases;
pub mod configuration;
pub mod csv;
pub mod database;
pub mod directory;
pub mod error;
pub mod hardening;
pub mod jobs;
pub mod lang;
pub mod mail;
pub mod memory;
pub mod metrics;
pub mod openapi;
pub mod podero;
pub mod request;
pub mod routes;
pub mod self_service;
pub mod startup;
pub mod sync;
pub mod telemetry;
pub mod watch;

pub use configuration::{
    Config, CookieSecure, EmbeddedEmulator, PoderoCredentials, Secret, UpstreamConfig,
};
pub use error::GatewayError;
pub use startup::{app, AppState, Application, RunningGateway, Settings};
