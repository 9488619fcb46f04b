//! `spawn_app()` and friends: a gateway on port 0 in front of an in-process
//! emulator (or a small capturing fake upstream), plus a checked HTTP client
//! that fails the test if any response carries the client secret or a token.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use gateway::{
    Application, Config, EmbeddedEmulator, PoderoCredentials, RunningGateway, Secret,
    UpstreamConfig,
};
use podero_emulator::{EmulatorConfig, RunningEmulator};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

/// The client secret the test emulators accept: unique, so finding it in a
/// response is a real leak.
pub const TEST_SECRET: &str = "test-secret-5b1f0c9e-never-in-a-response";

/// E-mail of the first admin in every test gateway.
pub const ADMIN_EMAIL: &str = "admin@backoffice.local";
/// Its initial (one-time) password, from the configuration.
pub const ADMIN_FIRST_PASSWORD: &str = "first-admin-password-0a1b";
/// The password the helpers replace it with.
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests-2c3d";

/// A last change to a test gateway's configuration.
pub type Adjust = Box<dyn FnOnce(&mut Config)>;

/// Options of [`spawn_app_with`].
pub struct Options {
    pub seed_users: usize,
    pub token_ttl: Option<Duration>,
    pub frontend_dir: Option<PathBuf>,
    pub request_timeout: Duration,
    /// Adjust the gateway's configuration last.
    pub adjust: Option<Adjust>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            seed_users: 30,
            token_ttl: None,
            frontend_dir: None,
            request_timeout: Duration::from_secs(10),
            adjust: None,
        }
    }
}

/// Settings every test gateway shares: a temporary data directory (its
/// database) and the first admin's password.
fn test_config(config: &mut Config, data_dir: PathBuf) {
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.data_dir = data_dir;
    config.admin_password = Some(Secret::new(ADMIN_FIRST_PASSWORD));
    // The fleet watch only where a test switches it on (it reads devices
    // and opens cases by itself).
    config.watch_rps = 0.0;
}

/// A gateway in front of an emulator the test controls.
pub struct TestApp {
    pub address: String,
    pub org_id: Uuid,
    pub gateway: Option<RunningGateway>,
    pub emulator: Option<RunningEmulator>,
    pub emulator_config: EmulatorConfig,
    pub emulator_addr: SocketAddr,
    pub client: Checked,
    _data: TempDir,
}

impl TestApp {
    /// The gateway's data directory (its database `gateway.sqlite`).
    pub fn data_dir(&self) -> PathBuf {
        self._data.path().join("gateway")
    }
}

/// An emulator in `dir/emulator` with `seed_users` users accepting
/// [`TEST_SECRET`], on a free port; its configuration (to restart it or
/// point a gateway at it).
pub async fn spawn_emulator(
    dir: &std::path::Path,
    seed_users: usize,
) -> (RunningEmulator, EmulatorConfig) {
    let mut ec = EmulatorConfig::new(dir.join("emulator"));
    ec.seed_users = seed_users;
    ec.client_secret = TEST_SECRET.to_string();
    let emulator = podero_emulator::spawn(ec.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (emulator, ec)
}

/// Gateway (Podero mode) + emulator with 30 users and [`TEST_SECRET`].
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(opts: Options) -> TestApp {
    gateway::telemetry::init();
    let data = tempfile::tempdir().unwrap();
    let mut ec = EmulatorConfig::new(data.path().join("emulator"));
    ec.seed_users = opts.seed_users;
    ec.client_secret = TEST_SECRET.to_string();
    if let Some(ttl) = opts.token_ttl {
        ec.token_ttl = ttl;
    }
    let emulator = podero_emulator::spawn(ec.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut config = Config::new(UpstreamConfig::Podero(PoderoCredentials {
        base_url: emulator.base_url.clone(),
        client_id: ec.client_id.clone(),
        client_secret: Secret::new(TEST_SECRET),
        org_id: emulator.org_id,
    }));
    test_config(&mut config, data.path().join("gateway"));
    config.frontend_dir = opts
        .frontend_dir
        .unwrap_or_else(|| data.path().join("no-frontend"));
    config.request_timeout = opts.request_timeout;
    if let Some(adjust) = opts.adjust {
        adjust(&mut config);
    }
    let gateway = Application::build(config).await.unwrap().spawn();
    let client = Checked::admin(&gateway.base_url, vec![TEST_SECRET.to_string()]).await;
    TestApp {
        address: gateway.base_url.clone(),
        org_id: emulator.org_id,
        emulator_addr: emulator.addr,
        gateway: Some(gateway),
        emulator: Some(emulator),
        emulator_config: ec,
        client,
        _data: data,
    }
}

/// Gateway with the embedded emulator (no `PODERO_BASE_URL`).
pub async fn spawn_embedded(seed_users: usize) -> (RunningGateway, TempDir) {
    gateway::telemetry::init();
    let data = tempfile::tempdir().unwrap();
    let mut config = Config::new(UpstreamConfig::Embedded(EmbeddedEmulator {
        seed_users,
        token_ttl: None,
        churn_per_hour: 0.0,
    }));
    test_config(&mut config, data.path().to_path_buf());
    config.frontend_dir = data.path().join("dist");
    (Application::build(config).await.unwrap().spawn(), data)
}

/// A gateway in front of an arbitrary base URL (fake or dead upstreams);
/// its data directory lives as long as the process (leaked on purpose).
pub async fn spawn_gateway_for(base_url: &str, request_timeout: Duration) -> RunningGateway {
    gateway::telemetry::init();
    let data = tempfile::tempdir().unwrap().keep();
    let mut config = Config::new(UpstreamConfig::Podero(PoderoCredentials {
        base_url: base_url.to_string(),
        client_id: "test-client".into(),
        client_secret: Secret::new(TEST_SECRET),
        org_id: FAKE_ORG,
    }));
    test_config(&mut config, data);
    config.frontend_dir = PathBuf::from("/nonexistent-frontend-dir");
    config.request_timeout = request_timeout;
    config.connect_timeout = Duration::from_secs(2);
    Application::build(config).await.unwrap().spawn()
}

impl TestApp {
    /// Make the emulator's device lose (`false`) or regain its
    /// manufacturer connection (its test hook).
    pub async fn set_connection(&self, device: &str, authenticated: bool) {
        let url = format!(
            "{}/_emulator/devices/{device}/connection",
            self.emulator.as_ref().unwrap().base_url
        );
        let r = reqwest::Client::new()
            .post(url)
            .json(&serde_json::json!({ "authenticated": authenticated }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "emulator hook: {}", r.status());
    }
}

/// Organisation used with fake upstreams.
pub const FAKE_ORG: Uuid = Uuid::from_u128(0x7f8a3c1e_0000_4000_8000_000000000001);

impl TestApp {
    /// Gateway URL of a Partner API path below the organisation.
    pub fn api(&self, rest: &str) -> String {
        format!(
            "{}/api/partners/v2.0/org/{}{}",
            self.address, self.org_id, rest
        )
    }

    /// A new colleague with `role`, invited by the admin, signed in with
    /// the one-time password replaced; their client and team record.
    pub async fn member(&self, role: &str) -> (Checked, serde_json::Value) {
        let email = format!("{role}-{}@example.com", Uuid::new_v4().simple());
        let r = self
            .client
            .send(self.client.http.post(format!("{}/api/team", self.address)).json(
                &serde_json::json!({"email": email, "first_name": "Test", "last_name": role, "role": role}),
            ))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "invite: {}", r.text());
        let invited = r.json();
        let otp = invited["one_time_password"].as_str().unwrap().to_string();
        let client = self
            .client
            .without_session()
            .sign_in(
                &self.address,
                &email,
                &otp,
                Some("a new password for tests"),
            )
            .await;
        (client, invited["member"].clone())
    }

    pub fn gateway(&self) -> &RunningGateway {
        self.gateway.as_ref().unwrap()
    }

    /// Stop the emulator and start it again on the same address and data
    /// directory (its tokens are in memory only, so the old one is gone).
    pub async fn restart_emulator(&mut self) {
        self.emulator.take().unwrap().shutdown().await;
        let emulator = podero_emulator::spawn(self.emulator_config.clone(), self.emulator_addr)
            .await
            .unwrap();
        self.emulator = Some(emulator);
    }

    pub async fn shutdown(mut self) {
        if let Some(g) = self.gateway.take() {
            g.shutdown().await;
        }
        if let Some(e) = self.emulator.take() {
            e.shutdown().await;
        }
    }
}

/// A response read completely.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `code` of a gateway error body.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_string()
    }
}

/// reqwest plus a scan of every response for forbidden strings.
#[derive(Clone)]
pub struct Checked {
    pub http: reqwest::Client,
    needles: Arc<Mutex<Vec<String>>>,
    /// The session cookie (`name=value`) this client sends, if any.
    pub cookie: Option<String>,
}

impl Checked {
    pub fn new(needles: Vec<String>) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            http,
            needles: Arc::new(Mutex::new(needles)),
            cookie: None,
        }
    }

    /// A client signed in as the first admin of the gateway at `base_url`,
    /// its one-time password already replaced by [`ADMIN_PASSWORD`].
    pub async fn admin(base_url: &str, needles: Vec<String>) -> Checked {
        let c = Checked::new(needles);
        c.sign_in(
            base_url,
            ADMIN_EMAIL,
            ADMIN_FIRST_PASSWORD,
            Some(ADMIN_PASSWORD),
        )
        .await
    }

    /// Sign in (replacing a one-time password with `new_password`) and
    /// return a client that sends the session cookie and the anti-forgery
    /// header with every request.
    pub async fn sign_in(
        &self,
        base_url: &str,
        email: &str,
        password: &str,
        new_password: Option<&str>,
    ) -> Checked {
        let r = self
            .send(
                self.http
                    .post(format!("{base_url}/api/session"))
                    .header(shared::staff::CSRF_HEADER, "sign-in")
                    .json(&serde_json::json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "sign-in of {email}: {}", r.text());
        let cookie = r
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_string();
        let csrf = r.json()["csrf_token"].as_str().unwrap().to_string();
        let client = self.with_session(&cookie, &csrf);
        if let Some(new_password) = new_password {
            let r = client
                .send(client.http.post(format!("{base_url}/api/session/password")).json(
                    &serde_json::json!({"current_password": password, "new_password": new_password}),
                ))
                .await;
            assert_eq!(r.status, StatusCode::OK, "password change: {}", r.text());
        }
        client
    }

    /// The same checks, without a session.
    pub fn without_session(&self) -> Checked {
        Checked {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            needles: self.needles.clone(),
            cookie: None,
        }
    }

    /// The same checks, sending `cookie` (`name=value`) and the
    /// anti-forgery header `csrf` with every request.
    pub fn with_session(&self, cookie: &str, csrf: &str) -> Checked {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::COOKIE, cookie.parse().unwrap());
        headers.insert(shared::staff::CSRF_HEADER, csrf.parse().unwrap());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap();
        Checked {
            http,
            needles: self.needles.clone(),
            cookie: Some(cookie.to_string()),
        }
    }

    /// Also fail on this string from now on (e.g. a token a fake issued).
    pub fn forbid(&self, s: impl Into<String>) {
        self.needles.lock().unwrap().push(s.into());
    }

    pub fn get(&self, url: &str) -> reqwest::RequestBuilder {
        self.http.get(url)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let r = req.send().await.expect("request to the gateway failed");
        let resp = Resp {
            status: r.status(),
            headers: r.headers().clone(),
            body: r.bytes().await.unwrap(),
        };
        self.check(&resp);
        resp
    }

    pub fn check(&self, resp: &Resp) {
        let body = resp.text();
        for needle in self.needles.lock().unwrap().iter() {
            assert!(
                !body.contains(needle.as_str()),
                "response body leaks {needle:?}: {body}"
            );
            for (name, value) in &resp.headers {
                let v = String::from_utf8_lossy(value.as_bytes());
                assert!(
                    !v.contains(needle.as_str()),
                    "header {name} leaks {needle:?}"
                );
            }
        }
    }
}

/// Send a raw HTTP/1.1 request (paths exactly as written: reqwest would
/// normalise `..` and `%2e%2e` away). Returns status and body.
pub async fn raw_request(
    address: &str,
    method: &str,
    path: &str,
    cookie: Option<&str>,
) -> (u16, String) {
    let host = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n{cookie}Connection: close\r\nContent-Length: 0\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Poll `f` until it returns `Some`, failing after `deadline`.
pub async fn eventually<T, F, Fut>(deadline: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < deadline,
            "condition not met within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the fake upstream saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path_and_query: String,
    pub headers: HeaderMap,
}

/// A fake Podero: token endpoint issuing `fake-token-<n>-...`, and every
/// other path answering `200 {"ok":true}` (with a `Set-Cookie` that must not
/// reach the browser) while recording the request.
pub struct FakeUpstream {
    pub base_url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub token_requests: Arc<Mutex<u32>>,
    /// API calls with this token get 401.
    pub revoked: Arc<Mutex<Vec<String>>>,
    /// When set, the token endpoint answers 401 invalid_client.
    pub reject_credentials: bool,
}

pub async fn spawn_fake_upstream(reject_credentials: bool) -> FakeUpstream {
    use axum::extract::{Request, State};
    use axum::response::IntoResponse;

    #[derive(Clone)]
    struct St {
        seen: Arc<Mutex<Vec<Seen>>>,
        tokens: Arc<Mutex<u32>>,
        revoked: Arc<Mutex<Vec<String>>>,
        reject: bool,
    }
    let st = St {
        seen: Arc::default(),
        tokens: Arc::default(),
        revoked: Arc::default(),
        reject: reject_credentials,
    };
    async fn token(State(st): State<St>, req: Request) -> axum::response::Response {
        let mut n = st.tokens.lock().unwrap();
        *n += 1;
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if st.reject || !auth.starts_with("Basic ") {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({"error": "invalid_client"})),
            )
                .into_response();
        }
        axum::Json(serde_json::json!({
            "access_token": format!("fake-token-{n}-9d2e"),
            "expires_in": 3600,
            "token_type": "Bearer",
        }))
        .into_response()
    }
    async fn api(State(st): State<St>, req: Request) -> axum::response::Response {
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        st.seen.lock().unwrap().push(Seen {
            method: req.method().to_string(),
            path_and_query: req
                .uri()
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            headers: req.headers().clone(),
        });
        let token = auth.trim_start_matches("Bearer ").to_string();
        if st.revoked.lock().unwrap().contains(&token) {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({"detail": "Invalid token"})),
            )
                .into_response();
        }
        (
            [
                ("set-cookie", "upstream_session=abc"),
                ("x-upstream-internal", "1"),
            ],
            axum::Json(serde_json::json!({"ok": true})),
        )
            .into_response()
    }
    let router = axum::Router::new()
        .route("/oauth2/token/", axum::routing::post(token))
        .fallback(api)
        .with_state(st.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    FakeUpstream {
        base_url: format!("http://{addr}"),
        seen: st.seen,
        token_requests: st.tokens,
        revoked: st.revoked,
        reject_credentials,
    }
}

/// Gateway URL for a fake-upstream gateway.
pub fn fake_api(gateway: &RunningGateway, rest: &str) -> String {
    format!(
        "{}/api/partners/v2.0/org/{}{}",
        gateway.base_url, FAKE_ORG, rest
    )
}

/// The real `gateway` binary, started by [`spawn_binary`]; killed on drop.
pub struct BinaryGateway {
    pub child: std::process::Child,
    pub base_url: String,
    pub log: PathBuf,
}

impl Drop for BinaryGateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl BinaryGateway {
    /// The first admin's one-time password, as the first start logged it.
    pub fn logged_password(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap();
        let after = text
            .split("with the one-time password ")
            .nth(1)
            .unwrap_or_else(|| panic!("no one-time password in the log:\n{text}"));
        after.split_whitespace().next().unwrap().to_string()
    }

    /// Peak resident memory of the process so far (`VmHWM`), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .expect("VmHWM in /proc/<pid>/status")
            * 1024
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start the real `gateway` binary in front of `emulator` (its data in
/// `data`, its log in `data/<log_name>`, serving `frontend`), with a clean
/// environment plus `env`, and wait (with a deadline) until it answers.
pub async fn spawn_binary(
    emulator: &RunningEmulator,
    client_id: &str,
    data: &std::path::Path,
    log_name: &str,
    frontend: &std::path::Path,
    env: &[(&str, &str)],
) -> BinaryGateway {
    let port = free_port();
    let log = data.join(log_name);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PODERO_BASE_URL", &emulator.base_url)
        .env("PODERO_CLIENT_ID", client_id)
        .env("PODERO_CLIENT_SECRET", TEST_SECRET)
        .env("PODERO_ORG_ID", emulator.org_id.to_string())
        .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
        .env("GATEWAY_DATA_DIR", data)
        .env("GATEWAY_FRONTEND_DIR", frontend)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("the gateway binary starts");
    let base_url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        if let Ok(r) = reqwest::get(format!("{base_url}/healthz")).await {
            if r.status().is_success() {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the gateway did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    BinaryGateway {
        child,
        base_url,
        log,
    }
}
