//! Building the application and running it.
//!
//! [`Application::build`] resolves the upstream (starting the embedded
//! emulator when no Podero is configured), creates the shared HTTP client and
//! token manager, binds the listener and assembles the router from [`app`].
//! [`Application::run_until_stopped`] serves until Ctrl-C / SIGTERM;
//! [`Application::spawn`] serves in the background and returns a
//! [`RunningGateway`] whose [`RunningGateway::shutdown`] stops it
//! gracefully (tests, e2e).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::middleware::from_fn_with_state;
use axum::routing::{any, delete, get, patch, post};
use axum::Router;
use podero_emulator::{EmulatorConfig, RunningEmulator};
use shared::Upstream as UpstreamKind;
use tower_http::compression::CompressionLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::Level;
use uuid::Uuid;

use crate::audit::AuditLog;
use crate::auth::accounts::{bootstrap_admin, Accounts};
use crate::auth::sessions::{Sessions, PLAIN_COOKIE, SECURE_COOKIE};
use crate::auth::throttle::Throttle;
use crate::configuration::{Config, Secret, UpstreamConfig};
use crate::directory::Directory;
use crate::error::GatewayError;
use crate::hardening::Csp;
use crate::routes;
use crate::token::TokenManager;
use crate::upstream::{http_client, Upstream};

/// Shared state of all handlers (cheap to clone).
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    org_id: Uuid,
    kind: UpstreamKind,
    upstream: Upstream,
    frontend_dir: PathBuf,
    max_body_bytes: usize,
    request_timeout: std::time::Duration,
    verify_secs: u32,
    directory: Directory,
    accounts: Accounts,
    sessions: Sessions,
    throttle: Throttle,
    audit: AuditLog,
    cookie_secure: bool,
    csp: Csp,
    trusted_proxies: Vec<std::net::IpAddr>,
}

impl AppState {
    pub fn new(
        org_id: Uuid,
        kind: UpstreamKind,
        upstream: Upstream,
        db: sqlx::SqlitePool,
        config: &Config,
    ) -> Self {
        Self(Arc::new(Inner {
            org_id,
            kind,
            upstream,
            frontend_dir: config.frontend_dir.clone(),
            max_body_bytes: config.max_body_bytes,
            request_timeout: config.request_timeout,
            verify_secs: config.verify_secs,
            directory: Directory::new(config.users_refresh_interval, config.scan_concurrency),
            accounts: Accounts::new(db.clone()),
            sessions: Sessions::new(db.clone(), config.session_idle, config.session_max),
            throttle: Throttle::new(config.throttle),
            audit: AuditLog::new(db),
            cookie_secure: config.secure_cookie(),
            csp: Csp::new(&config.frontend_dir),
            trusted_proxies: config.trusted_proxies.clone(),
        }))
    }

    /// Staff accounts.
    pub fn accounts(&self) -> &Accounts {
        &self.0.accounts
    }

    /// Sign-in sessions.
    pub fn sessions(&self) -> &Sessions {
        &self.0.sessions
    }

    /// Sign-in throttling.
    pub fn throttle(&self) -> &Throttle {
        &self.0.throttle
    }

    /// The audit trail.
    pub fn audit(&self) -> &AuditLog {
        &self.0.audit
    }

    /// Whether the session cookie is `Secure` (`GATEWAY_COOKIE_SECURE`).
    pub fn cookie_secure(&self) -> bool {
        self.0.cookie_secure
    }

    /// Name of the session cookie.
    pub fn cookie_name(&self) -> &'static str {
        if self.0.cookie_secure {
            SECURE_COOKIE
        } else {
            PLAIN_COOKIE
        }
    }

    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub fn trusted_proxies(&self) -> &[std::net::IpAddr] {
        &self.0.trusted_proxies
    }

    /// The Content-Security-Policy of the served app.
    pub fn csp(&self) -> &Csp {
        &self.0.csp
    }

    /// The read model of the organisation's users.
    pub fn directory(&self) -> &Directory {
        &self.0.directory
    }

    /// Whole-request timeout towards Podero (also the longest a request
    /// waits for the first users snapshot).
    pub fn upstream_timeout(&self) -> std::time::Duration {
        self.0.request_timeout
    }

    pub fn org_id(&self) -> Uuid {
        self.0.org_id
    }

    pub fn upstream_kind(&self) -> UpstreamKind {
        self.0.kind
    }

    /// How long "Verify connection" in the app keeps re-reading a device.
    pub fn verify_secs(&self) -> u32 {
        self.0.verify_secs
    }

    pub fn upstream(&self) -> &Upstream {
        &self.0.upstream
    }

    pub fn max_body_bytes(&self) -> usize {
        self.0.max_body_bytes
    }
}

/// The router: gateway endpoints, the Partner API allow-list, the app.
/// Every `/api` route is behind [`crate::auth::guard::guard`] (session,
/// anti-forgery, audit); `/healthz` and the app's files are public.
pub fn app(state: AppState) -> Router {
    use shared::directory as d;
    use shared::staff as s;
    let frontend = routes::frontend::service(state.0.frontend_dir.clone());
    let not_allowed = || any(routes::proxy::not_allowed);
    let api = Router::new()
        .route(
            s::SESSION_PATH,
            get(routes::session::current)
                .post(routes::session::sign_in)
                .delete(routes::session::sign_out),
        )
        .route(s::PASSWORD_PATH, post(routes::session::change_password))
        .route(
            "/api/app-info",
            get(routes::app_info::app_info).fallback(|| async {
                GatewayError::MethodNotAllowed(vec![axum::http::Method::GET])
            }),
        )
        .route(d::DIRECTORY_USERS_PATH, get(routes::directory::users))
        .route(d::DIRECTORY_CSV_PATH, get(routes::directory::users_csv))
        .route(d::DIRECTORY_REFRESH_PATH, post(routes::directory::refresh))
        .route(
            d::DIRECTORY_RECONNECTION_PATH,
            get(routes::directory::reconnection).post(routes::directory::start_scan),
        )
        .route(
            s::TEAM_PATH,
            get(routes::team::list).post(routes::team::invite),
        )
        .route(
            "/api/team/{id}",
            patch(routes::team::change_role).delete(routes::team::remove),
        )
        .route(
            "/api/team/{id}/sessions",
            delete(routes::team::end_sessions),
        )
        .route(s::AUDIT_PATH, get(routes::audit::page))
        .route(s::AUDIT_CSV_PATH, get(routes::audit::csv))
        .route("/api/audit/users/{id}", get(routes::audit::user_history))
        .route("/api", not_allowed())
        .route("/api/", not_allowed())
        .route("/api/{*rest}", any(routes::proxy::forward))
        .layer(from_fn_with_state(state.clone(), crate::auth::guard::guard));
    Router::new()
        .route("/healthz", get(routes::health::healthz))
        .merge(api)
        .with_state(state.clone())
        .fallback_service(frontend)
        .layer(from_fn_with_state(state, crate::hardening::headers))
        .layer(CompressionLayer::new().gzip(true).br(true))
        // 5xx answers are logged as warnings: the gateway's own error
        // already says what went wrong.
        .layer(TraceLayer::new_for_http().on_failure(DefaultOnFailure::new().level(Level::WARN)))
}

/// Errors when starting the gateway.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("could not start the embedded Podero emulator (data in {dir}): {source}")]
    Emulator {
        dir: PathBuf,
        source: podero_emulator::StartError,
    },
    #[error("could not open the gateway's database in {dir}: {source}")]
    Database { dir: PathBuf, source: sqlx::Error },
    #[error("could not create the first admin account: {0}")]
    Bootstrap(GatewayError),
    #[error("could not create the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A built, bound, not yet serving gateway.
pub struct Application {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    router: Router,
    state: AppState,
    emulator: Option<RunningEmulator>,
}

impl Application {
    /// Resolve the upstream, bind `config.listen` (port 0: any free port).
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let http = http_client(config.connect_timeout, config.request_timeout)?;
        let (base_url, client_id, client_secret, org_id, kind, emulator) = match config
            .upstream
            .clone()
        {
            UpstreamConfig::Podero(p) => (
                p.base_url,
                p.client_id,
                p.client_secret,
                p.org_id,
                UpstreamKind::Podero,
                None,
            ),
            UpstreamConfig::Embedded(e) => {
                let dir = config.data_dir.join("emulator");
                std::fs::create_dir_all(&dir)?;
                // A fresh random secret each start, held only in memory: the
                // embedded emulator is reachable on loopback, and nobody but
                // this process needs its credentials.
                let secret = Secret::new(format!(
                    "{}{}",
                    Uuid::new_v4().simple(),
                    Uuid::new_v4().simple()
                ));
                let mut ec = EmulatorConfig::new(&dir);
                ec.seed_users = e.seed_users;
                if let Some(ttl) = e.token_ttl {
                    ec.token_ttl = ttl;
                }
                ec.client_secret = secret.expose().to_string();
                let client_id = ec.client_id.clone();
                let running = podero_emulator::spawn(ec, SocketAddr::from(([127, 0, 0, 1], 0)))
                    .await
                    .map_err(|source| StartupError::Emulator {
                        dir: dir.clone(),
                        source,
                    })?;
                tracing::info!(
                    "PODERO_BASE_URL is not set: using the embedded Podero emulator at {} (organisation {})",
                    running.base_url,
                    running.org_id
                );
                (
                    running.base_url.clone(),
                    client_id,
                    secret,
                    running.org_id,
                    UpstreamKind::Emulator,
                    Some(running),
                )
            }
        };
        let tokens = TokenManager::new(
            http.clone(),
            &base_url,
            client_id,
            client_secret,
            config.request_timeout,
        );
        let upstream = Upstream::new(http, &base_url, config.request_timeout, tokens);
        let db = crate::database::open(&config.data_dir)
            .await
            .map_err(|source| StartupError::Database {
                dir: config.data_dir.clone(),
                source,
            })?;
        let state = AppState::new(org_id, kind, upstream, db, &config);
        bootstrap_admin(
            state.accounts(),
            &config.admin_email,
            config.admin_password.as_ref(),
        )
        .await
        .map_err(StartupError::Bootstrap)?;
        if !state.cookie_secure() {
            tracing::warn!(
                "the session cookie is not Secure (GATEWAY_COOKIE_SECURE={:?}, listening on {}): \
                 fine for plain-HTTP development on this machine; serve over HTTPS otherwise",
                config.cookie_secure,
                config.listen
            );
        }
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartupError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr()?;
        Ok(Self {
            listener,
            addr,
            router: app(state.clone()),
            state,
            emulator,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The organisation served.
    pub fn org_id(&self) -> Uuid {
        self.state.org_id()
    }

    /// Base URL of the upstream (the embedded emulator's, if any).
    pub fn upstream_base_url(&self) -> &str {
        self.state.upstream().base_url()
    }

    /// Serve until Ctrl-C or SIGTERM, then stop gracefully.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serve until `signal` completes, then finish in-flight requests and
    /// stop the embedded emulator.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!("Open http://{}", self.addr);
        let directory = tokio::spawn(Directory::run(self.state.clone()));
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(self.listener, service)
            .with_graceful_shutdown(signal)
            .await;
        directory.abort();
        if let Some(emulator) = self.emulator {
            emulator.shutdown().await;
        }
        result
    }

    /// Serve in the background.
    pub fn spawn(self) -> RunningGateway {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let addr = self.addr;
        let state = self.state.clone();
        let task = tokio::spawn(self.run_until(async {
            let _ = rx.await;
        }));
        RunningGateway {
            addr,
            base_url: format!("http://{addr}"),
            state,
            stop: tx,
            task,
        }
    }
}

/// A gateway serving in the background ([`Application::spawn`]).
pub struct RunningGateway {
    /// The bound address.
    pub addr: SocketAddr,
    /// e.g. `http://127.0.0.1:41234`.
    pub base_url: String,
    state: AppState,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningGateway {
    /// The organisation served.
    pub fn org_id(&self) -> Uuid {
        self.state.org_id()
    }

    /// How often a token was requested from Podero so far.
    pub fn token_fetch_count(&self) -> u64 {
        self.state.upstream().tokens().fetch_count()
    }

    /// Base URL of the upstream (the embedded emulator's, if any).
    pub fn upstream_base_url(&self) -> &str {
        self.state.upstream().base_url()
    }

    /// Stop accepting, finish in-flight requests, stop the embedded emulator.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
