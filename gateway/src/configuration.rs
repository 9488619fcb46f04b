//! Configuration from environment variables and command-line flags.
//!
//! [`Cli`] is what clap parses (every flag has an environment variable);
//! [`Config`] is the checked result the rest of the gateway uses. Either a
//! real Podero is configured (`PODERO_BASE_URL` plus client id, client
//! secret and organisation id, all required together) or, when
//! `PODERO_BASE_URL` is unset, the embedded emulator is started with a
//! random client secret that exists only in memory. The client secret is
//! read from the environment only (never a flag, so it does not show up in
//! the process list) and kept in a [`Secret`] that prints as `***`.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use uuid::Uuid;

use crate::database::Store;
pub use crate::telemetry::{BadLogFormat, LogFormat};

/// Environment variable holding the client secret (environment only).
pub const CLIENT_SECRET_VAR: &str = "PODERO_CLIENT_SECRET";
/// Environment variable with the first admin's initial password
/// (environment only; without it one is generated and logged once).
pub const ADMIN_PASSWORD_VAR: &str = "GATEWAY_ADMIN_PASSWORD";
/// Environment variable choosing the database (environment only: a
/// PostgreSQL URL may hold a password). Unset: SQLite in the data dir.
pub const DATABASE_URL_VAR: &str = "DATABASE_URL";
/// Environment variable naming the mail server (environment only: the URL
/// may hold a password).
pub const SMTP_URL_VAR: &str = "GATEWAY_SMTP_URL";
/// Sender of messages to customers unless `GATEWAY_MAIL_FROM` says otherwise.
pub const DEFAULT_MAIL_FROM: &str = "Customer service <service@localhost>";

/// Environment variable with the webhook's signing key (environment only).
pub const WEBHOOK_SECRET_VAR: &str = "GATEWAY_WEBHOOK_SECRET";

/// Whether the session cookie is `Secure` (and `__Host-` prefixed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CookieSecure {
    /// Secure unless the gateway listens on a loopback address (plain-HTTP
    /// development on this machine).
    Auto,
    /// Always (the gateway is reached over HTTPS, e.g. behind a TLS proxy).
    True,
    /// Never (plain HTTP; development only).
    False,
}

/// A string that must not be printed: `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The actual value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Command-line flags; each falls back to the environment variable named.
#[derive(Debug, Parser)]
#[command(
    name = "gateway",
    version,
    about = "Podero Partner Back-Office gateway"
)]
pub struct Cli {
    /// Base URL of Podero, e.g. https://app.podero.com. Unset: start the embedded emulator.
    #[arg(long, env = "PODERO_BASE_URL")]
    pub podero_base_url: Option<String>,
    /// OAuth2 client id of the organisation (the secret is read from PODERO_CLIENT_SECRET only).
    #[arg(long, env = "PODERO_CLIENT_ID")]
    pub podero_client_id: Option<String>,
    /// The organisation (UUID) this gateway serves.
    #[arg(long, env = "PODERO_ORG_ID")]
    pub podero_org_id: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "GATEWAY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory with the Trunk-built browser app.
    #[arg(long, env = "GATEWAY_FRONTEND_DIR", default_value = "dist")]
    pub frontend_dir: PathBuf,
    /// Directory for local state (the embedded emulator keeps its data in `<dir>/emulator`).
    #[arg(long, env = "GATEWAY_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Users seeded into a fresh embedded emulator.
    #[arg(long, env = "EMULATOR_USERS", default_value_t = 300)]
    pub emulator_users: usize,
    /// Connect timeout towards Podero, in seconds.
    #[arg(
        long,
        env = "GATEWAY_UPSTREAM_CONNECT_TIMEOUT_SECS",
        default_value_t = 5.0
    )]
    pub upstream_connect_timeout_secs: f64,
    /// Whole-request timeout towards Podero, in seconds.
    #[arg(long, env = "GATEWAY_UPSTREAM_TIMEOUT_SECS", default_value_t = 30.0)]
    pub upstream_timeout_secs: f64,
    /// Seconds between background refreshes of the users snapshot.
    #[arg(long, env = "GATEWAY_USERS_REFRESH_SECS", default_value_t = 60.0)]
    pub users_refresh_secs: f64,
    /// Requests to Podero in flight at most during the reconnection scan.
    #[arg(long, env = "GATEWAY_SCAN_CONCURRENCY", default_value_t = 4)]
    pub scan_concurrency: usize,
    /// Writes per second a sync run sends to Podero at most (1 to 1000).
    #[arg(long, env = "GATEWAY_SYNC_RPS", default_value_t = 10)]
    pub sync_rps: u32,
    /// Seconds "Verify connection" in the app keeps re-reading a device.
    #[arg(long, env = "GATEWAY_VERIFY_SECS", default_value_t = shared::DEFAULT_VERIFY_SECS)]
    pub verify_secs: u32,
    /// E-mail of the admin account created at the first start (the password comes from GATEWAY_ADMIN_PASSWORD, or is generated and logged once).
    #[arg(long, env = "GATEWAY_ADMIN_EMAIL", default_value = crate::auth::accounts::DEFAULT_ADMIN_EMAIL)]
    pub admin_email: String,
    /// A session ends after this many seconds without a request.
    #[arg(long, env = "GATEWAY_SESSION_IDLE_SECS", default_value_t = 1800.0)]
    pub session_idle_secs: f64,
    /// A session ends this many seconds after sign-in, whatever happens.
    #[arg(long, env = "GATEWAY_SESSION_MAX_SECS", default_value_t = 43200.0)]
    pub session_max_secs: f64,
    /// Secure session cookie: auto (secure unless listening on loopback), true, false.
    #[arg(
        long,
        env = "GATEWAY_COOKIE_SECURE",
        value_enum,
        default_value = "auto"
    )]
    pub cookie_secure: CookieSecure,
    /// Reverse proxies (IP addresses, comma-separated) whose X-Forwarded-For names the client.
    #[arg(long, env = "GATEWAY_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Requests per minute a client address may send without a session (sign-in included); more get 429.
    #[arg(
        long,
        env = "GATEWAY_UNAUTHENTICATED_PER_MINUTE",
        default_value_t = 120
    )]
    pub unauthenticated_per_minute: u32,
    /// Hours a one-time password (of an invitation or issued by an admin) works.
    #[arg(long, env = "GATEWAY_ONE_TIME_PASSWORD_HOURS", default_value_t = 72.0)]
    pub one_time_password_hours: f64,
    /// This replica's name in the leases of once-per-cluster jobs (default:
    /// host name, process id and a random suffix). The database itself is
    /// chosen by DATABASE_URL (environment only): unset for SQLite in the
    /// data directory, postgres://user:password@host:port/db for
    /// PostgreSQL (several replicas).
    #[arg(long, env = "GATEWAY_REPLICA_ID")]
    pub replica_id: Option<String>,
    /// Address for Prometheus metrics (GET /metrics), separate from the app's so it is not public, e.g. 127.0.0.1:9090. Unset: no metrics.
    #[arg(long, env = "GATEWAY_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Log format on stderr: text (human-readable lines) or json (one JSON object per line).
    #[arg(long, env = "GATEWAY_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
    /// Requests per second the fleet watch may send to Podero (reading device lists); 0 switches the watch off.
    #[arg(long, env = "GATEWAY_WATCH_RPS", default_value_t = 5.0)]
    pub watch_rps: f64,
    /// Where case events are posted as signed JSON (case opened, case resolved). Unset: no webhook.
    #[arg(long, env = "GATEWAY_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// Days a customer's self-service link works (1 to 90).
    #[arg(long, env = "GATEWAY_SELF_SERVICE_DAYS", default_value_t = shared::self_service::DEFAULT_LINK_DAYS)]
    pub self_service_days: u32,
    /// The address people reach the back-office at, e.g. https://backoffice.utility.example; self-service links start with it. Unset: the address the creating request came to.
    #[arg(long, env = "GATEWAY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Whom customers ask, shown on their self-service page, e.g. "0800 123 456 or service@utility.example" (at most 200 characters). Unset: "your energy provider's customer service".
    #[arg(long, env = "GATEWAY_SELF_SERVICE_CONTACT")]
    pub self_service_contact: Option<String>,
    /// Sender of messages to customers, e.g. "Customer service <service@utility.example>".
    #[arg(long, env = "GATEWAY_MAIL_FROM", default_value = DEFAULT_MAIL_FROM)]
    pub mail_from: String,
    /// Embedded emulator only: devices losing or regaining their connection per 1,000 devices per hour (0: never).
    #[arg(long, env = "GATEWAY_EMULATOR_CHURN_PER_HOUR", default_value_t = 3.0)]
    pub emulator_churn_per_hour: f64,
}

/// How long a client may take to send a request's head (30 s, as
/// hyper's own default when it has a timer).
pub const HEAD_TIMEOUT: Duration = serve::HEAD_TIMEOUT;

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub frontend_dir: PathBuf,
    pub data_dir: PathBuf,
    pub upstream: UpstreamConfig,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// How long a client may take to send a request's head (its line and
    /// headers) before the connection is closed ([`serve`], the crate).
    pub head_timeout: Duration,
    /// Largest request body forwarded (bytes); larger → 413.
    pub max_body_bytes: usize,
    /// Time between background refreshes of the users snapshot.
    pub users_refresh_interval: Duration,
    /// Requests to Podero in flight at most during the reconnection scan.
    pub scan_concurrency: usize,
    /// Writes per second a sync run sends to Podero at most.
    pub sync_rps: u32,
    /// How long "Verify connection" in the app keeps re-reading a device.
    pub verify_secs: u32,
    /// E-mail of the admin created at the first start.
    pub admin_email: String,
    /// That admin's initial password (`None`: generated, logged once).
    pub admin_password: Option<Secret>,
    /// Sessions end after this long without a request...
    pub session_idle: Duration,
    /// ...and this long after sign-in at the latest.
    pub session_max: Duration,
    pub cookie_secure: CookieSecure,
    /// Sign-in throttling.
    pub throttle: crate::auth::throttle::Limits,
    /// Reverse proxies whose `X-Forwarded-For` is believed (the client
    /// address of the audit trail and of sign-in throttling).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Requests per minute per client address without a session.
    pub unauthenticated_per_minute: u32,
    /// How long a one-time password works.
    pub one_time_password_ttl: Duration,
    /// `DATABASE_URL` (`None`: SQLite in `data_dir`); see [`Config::store`].
    pub database_url: Option<Secret>,
    /// This replica's name in job leases.
    pub replica_id: String,
    /// Where `GET /metrics` is served (`None`: nowhere).
    pub metrics_listen: Option<SocketAddr>,
    /// Log lines as text or JSON.
    pub log_format: LogFormat,
    /// The fleet watch's budget towards Podero (requests per second; 0:
    /// the watch is off).
    pub watch_rps: f64,
    /// The outgoing webhook (`None`: off).
    pub webhook: Option<WebhookConfig>,
    /// How long a self-service link works.
    pub self_service_lifetime: Duration,
    /// Refused self-service links per client address and minute (then 429).
    pub self_service_refusals_per_minute: u32,
    /// `GATEWAY_PUBLIC_URL`, without a trailing `/`.
    pub public_url: Option<String>,
    /// `GATEWAY_MAIL_FROM`.
    pub mail_from: String,
    /// `GATEWAY_SELF_SERVICE_CONTACT`.
    pub support_contact: Option<String>,
    /// `GATEWAY_SMTP_URL` (environment only: it may hold a password).
    /// `None`: messages are held in the outbox.
    pub smtp_url: Option<Secret>,
}

/// Where and how case events are posted.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub url: String,
    /// `GATEWAY_WEBHOOK_SECRET` (environment only): the HMAC-SHA256 key.
    pub secret: Secret,
}

impl Config {
    /// Whether the session cookie is `Secure` with this configuration.
    pub fn secure_cookie(&self) -> bool {
        match self.cookie_secure {
            CookieSecure::True => true,
            CookieSecure::False => false,
            CookieSecure::Auto => !self.listen.ip().is_loopback(),
        }
    }

    /// The database this configuration names.
    pub fn store(&self) -> Result<Store, ConfigError> {
        Store::from_url(
            self.database_url.as_ref().map(Secret::expose),
            &self.data_dir,
        )
        .map_err(ConfigError::BadDatabaseUrl)
    }
}

/// A name for this process among the replicas: host, process id and a
/// random suffix (a restarted process is a new holder).
fn default_replica_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "gateway".into());
    let suffix = Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &suffix[..6])
}

/// Which Podero to talk to.
#[derive(Debug, Clone)]
pub enum UpstreamConfig {
    /// A real Podero (or anything speaking its API).
    Podero(PoderoCredentials),
    /// Start the emulator in-process.
    Embedded(EmbeddedEmulator),
}

/// Where Podero is and how the gateway authenticates.
#[derive(Debug, Clone)]
pub struct PoderoCredentials {
    /// e.g. `https://app.podero.com` (no trailing slash needed).
    pub base_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub org_id: Uuid,
}

/// Settings of the embedded emulator.
#[derive(Debug, Clone)]
pub struct EmbeddedEmulator {
    /// Users seeded into a fresh data directory.
    pub seed_users: usize,
    /// Lifetime of the tokens it issues; `None`: the emulator's default.
    pub token_ttl: Option<Duration>,
    /// Devices losing or regaining their connection per 1,000 devices and
    /// hour (0: never).
    pub churn_per_hour: f64,
}

/// Startup configuration errors; the message names the variables involved.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("PODERO_BASE_URL is set, but {} {} missing; set {} too (or unset PODERO_BASE_URL to use the embedded emulator)", .0.join(", "), if .0.len() == 1 { "is" } else { "are" }, if .0.len() == 1 { "it" } else { "them" })]
    Missing(Vec<&'static str>),
    #[error("PODERO_ORG_ID must be a UUID, got {0:?}")]
    BadOrgId(String),
    #[error("PODERO_BASE_URL must start with http:// or https://, got {0:?}")]
    BadBaseUrl(String),
    #[error("{0} must be a positive number of seconds")]
    BadTimeout(&'static str),
    #[error("GATEWAY_SYNC_RPS must be between 1 and 1000")]
    BadSyncRate,
    #[error("GATEWAY_SCAN_CONCURRENCY must be at least 1")]
    BadConcurrency,
    #[error("GATEWAY_UNAUTHENTICATED_PER_MINUTE must be at least 1")]
    BadRateLimit,
    #[error("GATEWAY_ADMIN_EMAIL is not a usable e-mail address: {0}")]
    BadAdminEmail(String),
    #[error("{0}")]
    BadDatabaseUrl(String),
    #[error("GATEWAY_REPLICA_ID must be 1 to 100 characters without spaces")]
    BadReplicaId,
    #[error(
        "GATEWAY_METRICS_LISTEN must be an address with a port, e.g. 127.0.0.1:9090, got {0:?}"
    )]
    BadMetricsListen(String),
    #[error("GATEWAY_METRICS_LISTEN must differ from GATEWAY_LISTEN ({0}): the metrics are not for the public")]
    MetricsOnAppListen(SocketAddr),
    #[error(transparent)]
    BadLogFormat(#[from] BadLogFormat),
    #[error(
        "GATEWAY_WATCH_RPS must be a number of requests per second from 0 (watch off) to 1000"
    )]
    BadWatchRps,
    #[error("GATEWAY_EMULATOR_CHURN_PER_HOUR must be 0 or more")]
    BadChurn,
    #[error("GATEWAY_WEBHOOK_URL must start with http:// or https://, got {0:?}")]
    BadWebhookUrl(String),
    #[error("GATEWAY_SELF_SERVICE_DAYS must be a whole number of days from 1 to 90")]
    BadSelfServiceDays,
    #[error("GATEWAY_PUBLIC_URL must be the back-office's address starting with https:// (or http://), got '{0}'")]
    BadPublicUrl(String),
    #[error("{0}")]
    Mail(#[from] crate::mail::MailConfigError),
    #[error("GATEWAY_SELF_SERVICE_CONTACT is longer than 200 characters; give a phone number or an address")]
    BadContact,
    #[error("GATEWAY_WEBHOOK_URL is set but GATEWAY_WEBHOOK_SECRET is not: set the key receivers check the signature with (environment only)")]
    WebhookSecretMissing,
}

impl Config {
    /// Defaults for everything, with the given upstream (handy in tests).
    pub fn new(upstream: UpstreamConfig) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            frontend_dir: PathBuf::from("dist"),
            data_dir: PathBuf::from("data"),
            upstream,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            head_timeout: HEAD_TIMEOUT,
            max_body_bytes: 1024 * 1024,
            users_refresh_interval: Duration::from_secs(60),
            scan_concurrency: 4,
            sync_rps: 10,
            verify_secs: shared::DEFAULT_VERIFY_SECS,
            admin_email: crate::auth::accounts::DEFAULT_ADMIN_EMAIL.into(),
            admin_password: None,
            session_idle: Duration::from_secs(1800),
            session_max: Duration::from_secs(43200),
            cookie_secure: CookieSecure::Auto,
            throttle: Default::default(),
            trusted_proxies: Vec::new(),
            unauthenticated_per_minute: 120,
            one_time_password_ttl: Duration::from_secs(72 * 3600),
            database_url: None,
            replica_id: default_replica_id(),
            metrics_listen: None,
            log_format: LogFormat::Text,
            watch_rps: 5.0,
            webhook: None,
            self_service_lifetime: Duration::from_secs(
                u64::from(shared::self_service::DEFAULT_LINK_DAYS) * 86_400,
            ),
            self_service_refusals_per_minute: 20,
            public_url: None,
            mail_from: DEFAULT_MAIL_FROM.into(),
            support_contact: None,
            smtp_url: None,
        }
    }

    /// Parse flags and environment, then check them.
    pub fn from_env() -> Result<Self, ConfigError> {
        let secret = std::env::var(CLIENT_SECRET_VAR).ok();
        let mut config = Self::from_cli(Cli::parse(), secret)?;
        config.admin_password = std::env::var(ADMIN_PASSWORD_VAR)
            .ok()
            .filter(|p| !p.is_empty())
            .map(Secret::new);
        config.database_url = std::env::var(DATABASE_URL_VAR)
            .ok()
            .filter(|u| !u.trim().is_empty())
            .map(Secret::new);
        config.store()?;
        config.smtp_url = std::env::var(SMTP_URL_VAR)
            .ok()
            .filter(|u| !u.trim().is_empty())
            .map(|u| Secret::new(u.trim()));
        if let Some(url) = &config.smtp_url {
            crate::mail::transport(url)?;
        }
        if let Some(w) = config.webhook.as_mut() {
            match std::env::var(WEBHOOK_SECRET_VAR)
                .ok()
                .filter(|s| !s.is_empty())
            {
                Some(secret) => w.secret = Secret::new(secret),
                None => return Err(ConfigError::WebhookSecretMissing),
            }
        }
        Ok(config)
    }

    /// Check parsed flags; `client_secret` comes from the environment.
    pub fn from_cli(cli: Cli, client_secret: Option<String>) -> Result<Self, ConfigError> {
        let non_empty =
            |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let upstream = match non_empty(cli.podero_base_url) {
            None => UpstreamConfig::Embedded(EmbeddedEmulator {
                seed_users: cli.emulator_users,
                token_ttl: None,
                churn_per_hour: if cli.emulator_churn_per_hour.is_finite()
                    && cli.emulator_churn_per_hour >= 0.0
                {
                    cli.emulator_churn_per_hour
                } else {
                    return Err(ConfigError::BadChurn);
                },
            }),
            Some(base_url) => {
                let client_id = non_empty(cli.podero_client_id);
                let client_secret = non_empty(client_secret);
                let org_id = non_empty(cli.podero_org_id);
                let mut missing = Vec::new();
                if client_id.is_none() {
                    missing.push("PODERO_CLIENT_ID");
                }
                if client_secret.is_none() {
                    missing.push("PODERO_CLIENT_SECRET");
                }
                if org_id.is_none() {
                    missing.push("PODERO_ORG_ID");
                }
                let (Some(client_id), Some(client_secret), Some(org_id)) =
                    (client_id, client_secret, org_id)
                else {
                    return Err(ConfigError::Missing(missing));
                };
                if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
                    return Err(ConfigError::BadBaseUrl(base_url));
                }
                let org_id = Uuid::parse_str(&org_id).map_err(|_| ConfigError::BadOrgId(org_id))?;
                UpstreamConfig::Podero(PoderoCredentials {
                    base_url: base_url.trim_end_matches('/').to_string(),
                    client_id,
                    client_secret: Secret::new(client_secret),
                    org_id,
                })
            }
        };
        let secs = |v: f64, name| {
            if v.is_finite() && v > 0.0 {
                Ok(Duration::from_secs_f64(v))
            } else {
                Err(ConfigError::BadTimeout(name))
            }
        };
        let metrics_listen = match non_empty(cli.metrics_listen) {
            None => None,
            Some(addr) => match addr.parse::<SocketAddr>() {
                Ok(a) if a == cli.listen && a.port() != 0 => {
                    return Err(ConfigError::MetricsOnAppListen(a))
                }
                Ok(a) => Some(a),
                Err(_) => return Err(ConfigError::BadMetricsListen(addr)),
            },
        };
        Ok(Self {
            listen: cli.listen,
            frontend_dir: cli.frontend_dir,
            data_dir: cli.data_dir,
            upstream,
            connect_timeout: secs(
                cli.upstream_connect_timeout_secs,
                "GATEWAY_UPSTREAM_CONNECT_TIMEOUT_SECS",
            )?,
            request_timeout: secs(cli.upstream_timeout_secs, "GATEWAY_UPSTREAM_TIMEOUT_SECS")?,
            head_timeout: HEAD_TIMEOUT,
            max_body_bytes: 1024 * 1024,
            users_refresh_interval: secs(cli.users_refresh_secs, "GATEWAY_USERS_REFRESH_SECS")?,
            scan_concurrency: match cli.scan_concurrency {
                0 => return Err(ConfigError::BadConcurrency),
                n => n,
            },
            sync_rps: match cli.sync_rps {
                1..=1000 => cli.sync_rps,
                _ => return Err(ConfigError::BadSyncRate),
            },
            verify_secs: match cli.verify_secs {
                0 => return Err(ConfigError::BadTimeout("GATEWAY_VERIFY_SECS")),
                n => n,
            },
            admin_email: shared::Email::parse(&cli.admin_email)
                .map_err(|e| ConfigError::BadAdminEmail(e.message))?
                .normalized(),
            admin_password: None,
            session_idle: secs(cli.session_idle_secs, "GATEWAY_SESSION_IDLE_SECS")?,
            session_max: secs(cli.session_max_secs, "GATEWAY_SESSION_MAX_SECS")?,
            cookie_secure: cli.cookie_secure,
            throttle: Default::default(),
            trusted_proxies: cli.trusted_proxies,
            unauthenticated_per_minute: match cli.unauthenticated_per_minute {
                0 => return Err(ConfigError::BadRateLimit),
                n => n,
            },
            one_time_password_ttl: secs(
                cli.one_time_password_hours * 3600.0,
                "GATEWAY_ONE_TIME_PASSWORD_HOURS",
            )?,
            database_url: None,
            replica_id: match non_empty(cli.replica_id) {
                None => default_replica_id(),
                Some(id) if id.chars().count() <= 100 && !id.contains(char::is_whitespace) => id,
                Some(_) => return Err(ConfigError::BadReplicaId),
            },
            metrics_listen,
            log_format: cli.log_format.parse()?,
            watch_rps: if cli.watch_rps.is_finite() && (0.0..=1000.0).contains(&cli.watch_rps) {
                cli.watch_rps
            } else {
                return Err(ConfigError::BadWatchRps);
            },
            webhook: match non_empty(cli.webhook_url) {
                None => None,
                Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                    Some(WebhookConfig {
                        url,
                        secret: Secret::new(String::new()),
                    })
                }
                Some(url) => return Err(ConfigError::BadWebhookUrl(url)),
            },
            self_service_lifetime: match cli.self_service_days {
                1..=90 => Duration::from_secs(u64::from(cli.self_service_days) * 86_400),
                _ => return Err(ConfigError::BadSelfServiceDays),
            },
            self_service_refusals_per_minute: 20,
            public_url: match non_empty(cli.public_url) {
                None => None,
                Some(url)
                    if (url.starts_with("http://") || url.starts_with("https://"))
                        && !url.contains(char::is_whitespace) =>
                {
                    Some(url.trim_end_matches('/').to_string())
                }
                Some(url) => return Err(ConfigError::BadPublicUrl(url)),
            },
            mail_from: {
                crate::mail::parse_from(&cli.mail_from)?;
                cli.mail_from
            },
            support_contact: match non_empty(cli.self_service_contact) {
                Some(c) if c.chars().count() > 200 => return Err(ConfigError::BadContact),
                c => c,
            },
            smtp_url: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut all = vec!["gateway"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).unwrap()
    }

    #[test]
    fn secret_is_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        let c = PoderoCredentials {
            base_url: "x".into(),
            client_id: "id".into(),
            client_secret: s,
            org_id: Uuid::nil(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn missing_variables_are_named() {
        let err = Config::from_cli(cli(&["--podero-base-url", "https://app.podero.com"]), None)
            .unwrap_err()
            .to_string();
        for v in ["PODERO_CLIENT_ID", "PODERO_CLIENT_SECRET", "PODERO_ORG_ID"] {
            assert!(err.contains(v), "{err}");
        }
        let err = Config::from_cli(
            cli(&[
                "--podero-base-url",
                "https://app.podero.com",
                "--podero-client-id",
                "id",
                "--podero-org-id",
                "7f8a3c1e-0000-4000-8000-000000000001",
            ]),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("PODERO_CLIENT_SECRET is missing"), "{err}");
    }

    #[test]
    fn no_base_url_means_embedded_emulator() {
        let c = Config::from_cli(cli(&["--emulator-users", "12"]), None).unwrap();
        assert!(matches!(
            c.upstream,
            UpstreamConfig::Embedded(EmbeddedEmulator { seed_users: 12, .. })
        ));
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert_eq!(c.verify_secs, shared::DEFAULT_VERIFY_SECS);
    }

    #[test]
    fn durations_must_be_positive() {
        let c = Config::from_cli(cli(&["--verify-secs", "5"]), None).unwrap();
        assert_eq!(c.verify_secs, 5);
        for (flag, var) in [
            ("--verify-secs", "GATEWAY_VERIFY_SECS"),
            ("--users-refresh-secs", "GATEWAY_USERS_REFRESH_SECS"),
            ("--upstream-timeout-secs", "GATEWAY_UPSTREAM_TIMEOUT_SECS"),
        ] {
            let err = Config::from_cli(cli(&[flag, "0"]), None)
                .unwrap_err()
                .to_string();
            assert_eq!(err, format!("{var} must be a positive number of seconds"));
        }
    }

    #[test]
    fn trusted_proxies_are_a_list() {
        let c = Config::from_cli(cli(&["--trusted-proxies", "10.0.0.1,::1"]), None).unwrap();
        assert_eq!(c.trusted_proxies.len(), 2);
        assert!(Cli::try_parse_from(["gateway", "--trusted-proxies", "proxy.local"]).is_err());
    }

    #[test]
    fn first_admin_e_mail_is_checked() {
        let c = Config::from_cli(cli(&["--admin-email", " Ops@Example.COM "]), None).unwrap();
        assert_eq!(c.admin_email, "ops@example.com");
        let err = Config::from_cli(cli(&["--admin-email", "ops"]), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("GATEWAY_ADMIN_EMAIL is not a usable e-mail address"),
            "{err}"
        );
    }

    #[test]
    fn metrics_listen_and_log_format() {
        let c = Config::from_cli(cli(&[]), None).unwrap();
        assert_eq!(c.metrics_listen, None);
        assert_eq!(c.log_format, LogFormat::Text);
        let c = Config::from_cli(
            cli(&["--metrics-listen", "127.0.0.1:9090", "--log-format", "json"]),
            None,
        )
        .unwrap();
        assert_eq!(c.metrics_listen, Some("127.0.0.1:9090".parse().unwrap()));
        assert_eq!(c.log_format, LogFormat::Json);
        let c = Config::from_cli(cli(&["--metrics-listen", " "]), None).unwrap();
        assert_eq!(c.metrics_listen, None, "empty means unset");
        let err = Config::from_cli(cli(&["--metrics-listen", "9090"]), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("GATEWAY_METRICS_LISTEN must be an address"),
            "{err}"
        );
        let err = Config::from_cli(cli(&["--metrics-listen", "127.0.0.1:8080"]), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("must differ from GATEWAY_LISTEN"), "{err}");
        let err = Config::from_cli(cli(&["--log-format", "xml"]), None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            r#"GATEWAY_LOG_FORMAT must be one of: text, json; got "xml""#
        );
    }

    #[test]
    fn full_podero_config() {
        let c = Config::from_cli(
            cli(&[
                "--podero-base-url",
                "https://app.podero.com/",
                "--podero-client-id",
                "id",
                "--podero-org-id",
                "7f8a3c1e-0000-4000-8000-000000000001",
            ]),
            Some("s3cr3t".into()),
        )
        .unwrap();
        let UpstreamConfig::Podero(p) = c.upstream else {
            panic!()
        };
        assert_eq!(p.base_url, "https://app.podero.com");
        assert_eq!(p.client_secret.expose(), "s3cr3t");
    }
}
