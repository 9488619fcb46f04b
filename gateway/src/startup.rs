//! Building the application and running it.
//!
//! [`Application::build`] resolves the upstream (starting the embedded
//! emulator when no Podero is configured), creates the shared HTTP client and
//! token manager, binds the listener and assembles the router from [`app`].
//! With `GATEWAY_METRICS_LISTEN` it also installs the Prometheus recorder
//! and binds the metrics listener ([`crate::metrics`]).
//! [`Application::run_until_stopped`] serves until Ctrl-C / SIGTERM, then
//! stops accepting, finishes the requests in flight and stops the metrics
//! listener too; [`Application::spawn`] serves in the background and
//! returns a [`RunningGateway`] whose [`RunningGateway::shutdown`] stops it
//! the same way (tests, e2e).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Extension, Router};
use futures::FutureExt;
use podero_emulator::{EmulatorConfig, RunningEmulator};
use shared::Upstream as UpstreamKind;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::Level;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit::AuditLog;
use crate::auth::accounts::bootstrap_admin;
use crate::auth::guard::GuardState;
use crate::auth::Auth;
use crate::cases::Cases;
use crate::configuration::{Config, ConfigError, Secret, UpstreamConfig};
use crate::database::Db;
use crate::directory::Directory;
use crate::error::GatewayError;
use crate::hardening::Security;
use crate::jobs::lease::Leases;
use crate::openapi::Document;
use crate::podero::{http_client, Podero, TokenManager};
use crate::routes;
use crate::routes::OWN_BODY_LIMIT;
use crate::watch::Watch;

/// The gateway's settings that handlers read (cheap to clone).
#[derive(Debug, Clone)]
pub struct Settings {
    pub frontend_dir: PathBuf,
    /// Largest forwarded request body (bytes).
    pub max_body_bytes: usize,
    /// Whole-request timeout towards Podero (also the longest a request
    /// waits for the first users snapshot).
    pub request_timeout: Duration,
    /// How long "Verify connection" in the app keeps re-reading a device.
    pub verify_secs: u32,
    /// Writes per second of a sync run (`GATEWAY_SYNC_RPS`).
    pub sync_rps: u32,
    /// `GATEWAY_PUBLIC_URL`: where self-service links point.
    pub public_url: Option<String>,
    /// The gateway is reached over HTTPS (its cookie is `Secure`).
    pub https: bool,
    /// `GATEWAY_SELF_SERVICE_CONTACT`: whom customers ask, on their page.
    pub support_contact: Option<String>,
}

impl Settings {
    /// Longest any `/api` request may take: three upstream timeouts + 5 s
    /// (a change can take three calls to Podero: read, write, and the read
    /// model's refresh after a team change), so a slow but working Podero
    /// is not cut off between its write and the outcome record.
    pub fn time_limit(&self) -> Duration {
        self.request_timeout * 3 + Duration::from_secs(5)
    }
}

/// Shared state of the router. Handlers and background jobs take the part
/// they need (`State<Podero>`, `State<Auth>`, ...), never the whole. The
/// parts sit behind one `Arc` ([`StateParts`], read through `Deref`):
/// axum clones the state of a route's handler for every request, and a
/// clone is then one reference count instead of one for every part (that
/// was a few per cent of a forwarded request's CPU time).
#[derive(Debug, Clone)]
pub struct AppState(Arc<StateParts>);

impl std::ops::Deref for AppState {
    type Target = StateParts;

    fn deref(&self) -> &StateParts {
        &self.0
    }
}

/// `State<Part>` for each part of [`AppState`].
macro_rules! state_parts {
    ($($field:ident: $ty:ty),* $(,)?) => {
        $(
            impl FromRef<AppState> for $ty {
                fn from_ref(s: &AppState) -> Self {
                    s.$field.clone()
                }
            }
        )*
    };
}

state_parts!(
    podero: Podero,
    directory: Arc<Directory>,
    auth: Auth,
    audit: AuditLog,
    settings: Settings,
    security: Security,
    leases: Leases,
    cases: Cases,
    watch: Watch,
    sync: crate::sync::store::SyncStore,
    links: crate::self_service::Links,
    mail: crate::mail::Mail,
    customer_refusals: Arc<crate::auth::throttle::RateLimit>,
);

/// The parts of [`AppState`].
#[derive(Debug)]
pub struct StateParts {
    pub podero: Podero,
    pub directory: Arc<Directory>,
    pub auth: Auth,
    pub audit: AuditLog,
    pub settings: Settings,
    pub security: Security,
    /// Leases of the once-per-cluster jobs, as this replica.
    pub leases: Leases,
    pub cases: Cases,
    pub watch: Watch,
    /// Sync runs and their rows.
    pub sync: crate::sync::store::SyncStore,
    /// Customers' self-service links.
    pub links: crate::self_service::Links,
    /// The outbox of messages to customers.
    pub mail: crate::mail::Mail,
    /// Refused self-service links per client address.
    pub customer_refusals: Arc<crate::auth::throttle::RateLimit>,
}

impl AppState {
    pub fn new(podero: Podero, db: Db, config: &Config) -> Self {
        let audit = AuditLog::new(db.clone());
        let cases = Cases::new(db.clone(), audit.clone(), config.webhook.is_some());
        Self(Arc::new(StateParts {
            watch: Watch::new(db.clone(), cases.clone(), config.watch_rps),
            cases,
            podero,
            directory: Arc::new(Directory::new(
                config.users_refresh_interval,
                config.scan_concurrency,
            )),
            auth: Auth::new(db.clone(), config),
            audit,
            sync: crate::sync::store::SyncStore::new(db.clone()),
            links: crate::self_service::Links::new(db.clone(), config.self_service_lifetime),
            mail: crate::mail::Mail::new(db.clone(), config.smtp_url.as_ref(), &config.mail_from)
                .unwrap_or_else(|e| {
                    // Config::from_env checked both; a Config built in code
                    // with bad ones holds messages instead.
                    tracing::error!("messages to customers are held in the outbox: {e}");
                    crate::mail::Mail::held(db.clone())
                }),
            customer_refusals: Arc::new(crate::auth::throttle::RateLimit::new(
                config.self_service_refusals_per_minute,
            )),
            leases: Leases::new(db, &config.replica_id),
            settings: Settings {
                frontend_dir: config.frontend_dir.clone(),
                max_body_bytes: config.max_body_bytes,
                request_timeout: config.request_timeout,
                verify_secs: config.verify_secs,
                sync_rps: config.sync_rps,
                public_url: config.public_url.clone(),
                https: config.secure_cookie(),
                support_contact: config.support_contact.clone(),
            },
            security: Security::new(&config.frontend_dir, config.secure_cookie()),
        }))
    }
}

/// The answer to a request whose handler panicked (recorded by the guard
/// like any other answer).
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    GatewayError::Internal("a request handler panicked".into()).into_response()
}

/// `api` behind the guard, with the time limit and the panic catcher
/// between guard and handlers (so a timeout or a panic is an answer the
/// guard records).
fn guarded(api: Router<AppState>, state: &AppState) -> Router<AppState> {
    api.layer(CatchPanicLayer::custom(panicked))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            state.settings.time_limit(),
        ))
        .layer(from_fn_with_state(
            GuardState::from_ref(state),
            crate::auth::guard::guard,
        ))
}

/// Answers that have a body to compress (not `204`/`304`, which must not
/// carry a `Content-Encoding` for a body they do not have).
fn has_body(
    status: StatusCode,
    _: axum::http::Version,
    _: &axum::http::HeaderMap,
    _: &axum::http::Extensions,
) -> bool {
    !matches!(status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED)
}

/// The span of one request in the logs, so what is logged while answering
/// it says which request: method and path (not the query, never headers).
/// A self-service link's token is cut from the path.
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let path = crate::self_service::redacted(req.uri().path());
    tracing::info_span!("request", method = %req.method(), path = %path)
}

/// The gateway's own `/api` endpoints. Each is registered with utoipa-axum's
/// `routes!`, which takes the route (path and method) from the handler's
/// `#[utoipa::path]` and adds its description to the router's OpenAPI
/// document in the same step: an endpoint registered here cannot go
/// undescribed, nor a description unrouted. Handlers on one path go
/// into one `routes!`, handlers on different paths never do (it would
/// route each of them on every path).
fn own_routes() -> OpenApiRouter<AppState> {
    use routes::{app_info, audit, cases, directory, self_service, session, team, watch};
    OpenApiRouter::default()
        .routes(routes!(
            session::current,
            session::sign_in,
            session::sign_out
        ))
        .routes(routes!(session::change_password))
        .routes(routes!(session::set_language))
        .routes(routes!(app_info::app_info).map(|m| m.fallback(routes::get_only)))
        .routes(routes!(directory::users))
        .routes(routes!(directory::users_csv))
        .routes(routes!(directory::refresh))
        .routes(routes!(directory::reconnection, directory::start_scan))
        .routes(routes!(team::list, team::invite))
        .routes(routes!(team::change_role, team::remove))
        .routes(routes!(team::end_sessions))
        .routes(routes!(team::new_one_time_password))
        .routes(routes!(audit::page))
        .routes(routes!(audit::csv))
        .routes(routes!(audit::user_history))
        .routes(routes!(cases::list, cases::open))
        .routes(routes!(cases::csv))
        .routes(routes!(cases::summary))
        .routes(routes!(cases::assignees))
        .routes(routes!(cases::get, cases::update))
        .routes(routes!(cases::comment))
        .routes(routes!(watch::status))
        .routes(routes!(watch::user))
        .routes(routes!(watch::deliveries))
        .routes(routes!(self_service::create))
        .routes(routes!(self_service::list))
        .routes(routes!(self_service::revoke))
        .routes(routes!(self_service::email))
        .routes(routes!(self_service::outbox))
}

/// The sync endpoints: described and guarded like [`own_routes`], but
/// outside their 16 KiB body limit (a customer file is up to 32 MiB; the
/// handlers bound it themselves).
fn sync_routes() -> OpenApiRouter<AppState> {
    use routes::sync;
    OpenApiRouter::default()
        .routes(routes!(sync::dry_run_handler))
        .routes(routes!(sync::runs, sync::start))
        .routes(routes!(sync::run))
        .routes(routes!(sync::pause))
        .routes(routes!(sync::resume))
        .routes(routes!(sync::report))
        .routes(routes!(sync::quality))
        .routes(routes!(sync::quality_csv))
}

/// The public endpoints, outside the guard: liveness and the OpenAPI
/// description (registered and described like [`own_routes`]).
fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(routes::health::healthz).map(|m| m.fallback(routes::get_only)))
        .routes(routes!(routes::openapi::openapi_json).map(|m| m.fallback(routes::get_only)))
}

/// The router: gateway endpoints, the Partner API allow-list, the app.
/// Every `/api` route is behind [`crate::auth::guard::guard`] (session,
/// anti-forgery, route, audit), and inside it the time limit and the
/// panic catcher; bodies are bounded per route. `/healthz`,
/// `/api/openapi.json` and the app's files are public. The OpenAPI
/// document of the own and public endpoints is built here, once. Every
/// request is counted and timed ([`crate::metrics::track`], outermost);
/// `/metrics` is not here but on its own listener.
pub fn app(state: AppState) -> Router {
    let frontend = routes::frontend::service(state.settings.frontend_dir.clone());
    let not_allowed = || any(routes::proxy::not_allowed);
    let (own, mut description) = own_routes().split_for_parts();
    let (public, public_description) = public_routes().split_for_parts();
    description.merge(public_description);
    let (sync, sync_description) = sync_routes().split_for_parts();
    description.merge(sync_description);
    let document = Document::new(description, state.auth.cookie().name());
    // `/api` and `/api/` are no endpoint: refused like any path off the
    // allow-list, and not described. The forwarded Partner API calls are
    // Podero's, not described either (the document's info says so).
    let own = own
        .route("/api", not_allowed())
        .route("/api/", not_allowed())
        .layer(RequestBodyLimitLayer::new(OWN_BODY_LIMIT));
    let forwarded = Router::new()
        .route("/api/{*rest}", any(routes::proxy::forward))
        .layer(RequestBodyLimitLayer::new(state.settings.max_body_bytes))
        .layer(from_fn(crate::metrics::label_partner_call));
    let api = guarded(own.merge(sync).merge(forwarded), &state);
    Router::new()
        .merge(public.layer(Extension(document)))
        .merge(api)
        .merge(routes::customer::routes())
        .with_state(state.clone())
        .fallback_service(frontend)
        .layer(from_fn_with_state(
            state.security.clone(),
            crate::hardening::headers,
        ))
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .br(true)
                .compress_when(DefaultPredicate::new().and(has_body)),
        )
        .layer(CatchPanicLayer::custom(panicked))
        // 5xx answers are logged as warnings: the gateway's own error
        // already says what went wrong.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_failure(DefaultOnFailure::new().level(Level::WARN)),
        )
        .layer(from_fn(crate::metrics::track))
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
    #[error("could not open the gateway's database ({store}): {source}")]
    Database { store: String, source: sqlx::Error },
    #[error("{0}")]
    Config(#[from] ConfigError),
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
    metrics: Option<crate::metrics::Listener>,
    /// What the listener allows a client (the request-head time limit).
    limits: serve::Limits,
    /// The outgoing webhook's poster (`GATEWAY_WEBHOOK_URL`).
    webhook: Option<crate::cases::webhook::Deliverer>,
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
                ec.churn_per_hour = e.churn_per_hour;
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
        let podero = Podero::new(
            http,
            &base_url,
            config.request_timeout,
            tokens,
            org_id,
            kind,
        );
        let store = config.store()?;
        let db = crate::database::open(&store)
            .await
            .map_err(|source| StartupError::Database {
                store: store.to_string(),
                source,
            })?;
        tracing::info!("database: {store}; replica {}", config.replica_id);
        let state = AppState::new(podero, db, &config);
        bootstrap_admin(
            state.auth.accounts(),
            &config.admin_email,
            config.admin_password.as_ref(),
        )
        .await
        .map_err(StartupError::Bootstrap)?;
        if !state.auth.cookie().secure() {
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
        let metrics = match config.metrics_listen {
            None => None,
            Some(addr) => Some(
                crate::metrics::Listener::bind(addr)
                    .await
                    .map_err(|source| StartupError::Bind { addr, source })?,
            ),
        };
        let webhook = match config.webhook.clone() {
            Some(w) => Some(crate::cases::webhook::Deliverer::new(
                state.cases.db().clone(),
                w,
            )?),
            None => None,
        };
        Ok(Self {
            webhook,
            listener,
            addr,
            router: app(state.clone()),
            state,
            emulator,
            metrics,
            limits: serve::Limits {
                head_timeout: config.head_timeout,
                ..serve::Limits::default()
            },
        })
    }

    /// The bound metrics address (`GATEWAY_METRICS_LISTEN`), if any.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|m| m.addr())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The organisation served.
    pub fn org_id(&self) -> Uuid {
        self.state.podero.org_id()
    }

    /// Base URL of the upstream (the embedded emulator's, if any).
    pub fn upstream_base_url(&self) -> &str {
        self.state.podero.base_url()
    }

    /// Serve until Ctrl-C or SIGTERM, then stop gracefully.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serve until `signal` completes, then stop accepting, finish the
    /// requests in flight, stop the metrics listener and the embedded
    /// emulator.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!("Open http://{}", self.addr);
        // One signal for both listeners.
        let signal = signal.boxed().shared();
        let metrics = self.metrics.map(|m| {
            tracing::info!("Prometheus metrics at http://{}/metrics", m.addr());
            tokio::spawn(m.serve(signal.clone()))
        });
        // The app's files at Brotli's best quality, written once per build.
        let frontend_dir = self.state.settings.frontend_dir.clone();
        tokio::task::spawn_blocking(move || routes::frontend::precompress(&frontend_dir));
        let directory = tokio::spawn(Directory::run(
            self.state.directory.clone(),
            self.state.podero.clone(),
        ));
        let folds = tokio::spawn(crate::audit::refusals::flush_periodically(
            self.state.audit.clone(),
        ));
        let auth = self.state.auth.clone();
        let housekeeping = crate::jobs::spawn_once_per_cluster(
            self.state.leases.clone(),
            crate::jobs::housekeeping::JOB,
            crate::jobs::housekeeping::EVERY,
            move |_| {
                let auth = auth.clone();
                async move { crate::jobs::housekeeping::run(&auth).await }
            },
        );
        let watch = crate::watch::spawn(
            self.state.watch.clone(),
            self.state.leases.clone(),
            self.state.directory.clone(),
            self.state.podero.clone(),
        );
        let webhook = match &self.webhook {
            Some(deliverer) => {
                let deliverer = deliverer.clone();
                Some(crate::jobs::spawn_once_per_cluster(
                    self.state.leases.clone(),
                    crate::cases::webhook::JOB,
                    crate::cases::webhook::EVERY,
                    move |_| {
                        let deliverer = deliverer.clone();
                        async move { deliverer.run_once().await }
                    },
                ))
            }
            None => None,
        };
        let mail = {
            let mail = self.state.mail.clone();
            let cases = self.state.cases.clone();
            mail.configured().then(|| {
                crate::jobs::spawn_once_per_cluster(
                    self.state.leases.clone(),
                    crate::mail::JOB,
                    crate::mail::EVERY,
                    move |_| {
                        let (mail, cases) = (mail.clone(), cases.clone());
                        async move { mail.run_once(&cases).await }
                    },
                )
            })
        };
        let sync_job = crate::sync::apply::SyncJob {
            store: self.state.sync.clone(),
            podero: self.state.podero.clone(),
            directory: self.state.directory.clone(),
            rps: self.state.settings.sync_rps,
        };
        let sync = crate::jobs::spawn_once_per_cluster(
            self.state.leases.clone(),
            crate::sync::apply::JOB,
            crate::sync::apply::EVERY,
            move |lease| {
                let job = sync_job.clone();
                async move { job.work(lease).await }
            },
        );
        let result = serve::serve(self.listener, self.router, self.limits, signal).await;
        if let Some(metrics) = metrics {
            match metrics.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!("metrics listener error: {e}"),
                Err(e) => tracing::error!("metrics listener failed: {e}"),
            }
        }
        directory.abort();
        folds.abort();
        housekeeping.abort();
        for job in [watch, webhook, mail].into_iter().flatten() {
            job.abort();
        }
        sync.abort();
        if let Err(e) = self.state.leases.release_all().await {
            tracing::warn!("could not release this replica's job leases: {e}");
        }
        let audit = &self.state.audit;
        audit.append_all(audit.refusals().all()).await;
        if let Some(emulator) = self.emulator {
            emulator.shutdown().await;
        }
        result
    }

    /// Serve in the background.
    pub fn spawn(self) -> RunningGateway {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let addr = self.addr;
        let metrics_addr = self.metrics_addr();
        let state = self.state.clone();
        let task = tokio::spawn(self.run_until(async {
            let _ = rx.await;
        }));
        RunningGateway {
            addr,
            base_url: format!("http://{addr}"),
            metrics_addr,
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
    /// The metrics listener's address (`GATEWAY_METRICS_LISTEN`), if any.
    pub metrics_addr: Option<SocketAddr>,
    state: AppState,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningGateway {
    /// The organisation served.
    pub fn org_id(&self) -> Uuid {
        self.state.podero.org_id()
    }

    /// How often a token was requested from Podero so far.
    pub fn token_fetch_count(&self) -> u64 {
        self.state.podero.tokens().fetch_count()
    }

    /// Base URL of the upstream (the embedded emulator's, if any).
    pub fn upstream_base_url(&self) -> &str {
        self.state.podero.base_url()
    }

    /// Stop accepting, finish in-flight requests, stop the metrics
    /// listener and the embedded emulator.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::accounts::NewAccount;
    use crate::configuration::{EmbeddedEmulator, Secret};
    use axum::body::Body;
    use axum::http::{header, Request};
    use axum::routing::get;
    use shared::staff::{AuditQuery, StaffRole};
    use tower::ServiceExt;

    /// A handler that panics answers a JSON 500 that the audit trail
    /// records; the connection is not dropped.
    #[tokio::test]
    async fn a_panicking_handler_is_a_recorded_500() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::new(UpstreamConfig::Embedded(EmbeddedEmulator {
            seed_users: 0,
            token_ttl: None,
            churn_per_hour: 0.0,
        }));
        let http = http_client(Duration::from_secs(1), Duration::from_secs(1)).unwrap();
        let base = "http://127.0.0.1:9";
        let tokens = TokenManager::new(
            http.clone(),
            base,
            "id".into(),
            Secret::new("s"),
            Duration::from_secs(1),
        );
        let podero = Podero::new(
            http,
            base,
            Duration::from_secs(1),
            tokens,
            Uuid::nil(),
            UpstreamKind::Emulator,
        );
        let db = crate::database::open(&crate::database::Store::Sqlite(
            dir.path().join(crate::database::FILE_NAME),
        ))
        .await
        .unwrap();
        let state = AppState::new(podero, db, &config);
        let account = state
            .auth
            .accounts()
            .create(NewAccount {
                email: "a@example.com",
                first_name: "A",
                last_name: "B",
                role: StaffRole::Admin,
                password_hash: "x".into(),
                podero_user_id: None,
                password_expires_at: None,
            })
            .await
            .unwrap()
            .unwrap();
        state
            .auth
            .accounts()
            .set_password(account.id, "x", None)
            .await
            .unwrap();
        let (token, _) = state
            .auth
            .sessions()
            .create(account.id, None, None, crate::database::now_ms())
            .await
            .unwrap();
        let boom = Router::new().route(
            "/api/boom",
            get(|| async {
                if true {
                    panic!("boom");
                }
                "never"
            }),
        );
        let router = guarded(boom, &state).with_state(state.clone());
        let response = router
            .oneshot(
                Request::get("/api/boom")
                    .header(header::COOKIE, format!("podero_session={token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["code"], "internal");
        let page = state.audit.page(&AuditQuery::default()).await.unwrap();
        let entry = page
            .entries
            .iter()
            .find(|e| e.route == "/api/boom")
            .expect("the panic is recorded");
        assert_eq!(entry.status, 500);
        assert_eq!(entry.detail.as_deref(), Some("internal"));
    }
}
