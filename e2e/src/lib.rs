//! The browser-test harness: a real Chromium, driven through chromedriver,
//! against the real gateway with its embedded Podero emulator.
//!
//! [`Harness::start`] checks that the tools and the built frontend are
//! there (failing with a message that says how to get them), starts the
//! gateway on a free port with a fresh data directory, starts chromedriver
//! on another, and opens a headless browser session. Waiting is always
//! polling with a deadline, never a fixed sleep; a wait that times out
//! saves a screenshot into `target/e2e-screenshots/` before failing.
//!
//! Each test builds its own [`Harness`] (gateway with a 60-user emulator in a
//! temp directory, its own chromedriver and browser profile) and ends it
//! with [`Harness::finish`]; chromedriver is killed on drop even when a
//! test panics. [`Harness::fresh_session`] opens a second browser with an
//! empty profile (a customer without a back-office session);
//! [`Harness::lose_connection`] and [`Harness::watch_case`] make a device
//! lose its connection and wait for the fleet watch's case. The
//! gateway's first admin gets a known password; the
//! harness replaces it over HTTP, keeps that session for set-up calls
//! ([`Harness::http`]), and signs the browser in on the sign-in page, so
//! every test starts in the app as an admin. Tool lookup: `CHROMEDRIVER` / `CHROME_BIN`, then
//! `/usr/bin/chromedriver` / `/usr/bin/chromium`, then `PATH`. The frontend
//! must be built into `<workspace>/dist` first (`cargo xtask frontend`).
//!
//! The browser speaks English ([`Harness::start`]) or the language given
//! to [`Harness::start_with_language`] (`de-DE`): Chromium's `--lang` and
//! its `Accept-Language` list. [`Harness::assert_accessible`] runs axe-core
//! (installed into `e2e/node_modules` by `cargo xtask test`, or
//! `npm ci --prefix e2e`) on the page shown, in the light and the dark
//! colour scheme, and fails on any violation.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use gateway::{Application, Config, EmbeddedEmulator, RunningGateway, Secret, UpstreamConfig};
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// How long any wait in a browser test may take.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// How long the fleet watch may take to notice a change (a round at the
/// highest budget, well under a second for the seeded users, plus the
/// pause between rounds).
pub const WATCH_DEADLINE: Duration = Duration::from_secs(60);

/// The first admin of every test gateway, and the password the harness
/// sets at the first sign-in (replacing [`ADMIN_FIRST_PASSWORD`]).
pub const ADMIN_EMAIL: &str = "admin@backoffice.local";
pub const ADMIN_FIRST_PASSWORD: &str = "e2e-first-admin-password";
pub const ADMIN_PASSWORD: &str = "e2e-admin-password-after-change";
/// The password [`Harness::colleague`] gives new colleagues.
pub const COLLEAGUE_PASSWORD: &str = "e2e-colleague-password";

pub struct Harness {
    pub browser: Client,
    pub gateway: RunningGateway,
    /// Plain HTTP client for calls through the gateway (test set-up).
    pub http: reqwest::Client,
    chromedriver: Driver,
    /// chromedriver's address, for its Chromium-only commands.
    driver: String,
    /// The Chromium binary and the browser's language, for
    /// [`Harness::fresh_session`].
    chrome: PathBuf,
    language: String,
    _data: tempfile::TempDir,
    /// The first session's profile, then those of fresh sessions.
    profiles: Vec<tempfile::TempDir>,
}

fn find_tool(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    for c in candidates {
        if Path::new(c).exists() {
            return Some(PathBuf::from(c));
        }
        if let Some(path) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&path) {
                let p = dir.join(c);
                if p.exists() {
                    return Some(p);
                }
            }
        }
    }
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// `<workspace>/dist`, where Trunk puts the built frontend, or `E2E_DIST`
/// when set (a separate build directory, e.g. while developing).
pub fn dist_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("E2E_DIST") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("dist")
}

/// The app's texts in `lang`, from the translator's file
/// `frontend/locales/<code>.yml`, by dotted key: tests expect what the
/// catalog says rather than repeat it.
pub fn app_texts(lang: shared::Lang) -> BTreeMap<String, String> {
    let path = format!(
        "{}/../frontend/locales/{}.yml",
        env!("CARGO_MANIFEST_DIR"),
        lang.code()
    );
    let yaml = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the catalog {path}: {e}"));
    shared::i18n::flat_entries(&yaml)
}

/// The browser's language list for a language tag: `de-DE` gives
/// `de-DE,de` (what a German Chromium sends as `Accept-Language`).
fn accept_languages(tag: &str) -> String {
    match tag.split_once('-') {
        Some((primary, _)) => format!("{tag},{primary}"),
        None => tag.to_string(),
    }
}

impl Harness {
    /// A gateway, a browser that speaks English (`en-US`), signed in as
    /// the admin.
    pub async fn start() -> Harness {
        Self::start_with(|_| {}).await
    }

    /// As [`Harness::start`], in a browser whose language is `tag` (e.g.
    /// `de-DE`): Chromium started with `--lang=<tag>` and the languages
    /// it asks pages for (`navigator.languages`, `Accept-Language`) set to
    /// `<tag>,<primary>`, as a browser set up in that language does.
    pub async fn start_with_language(tag: &str) -> Harness {
        Self::launch(tag, |_| {}).await
    }

    /// As [`Harness::start`], with the gateway's configuration adjusted
    /// first (e.g. a short "Verify connection" deadline).
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Harness {
        Self::launch("en-US", adjust).await
    }

    async fn launch(language: &str, adjust: impl FnOnce(&mut Config)) -> Harness {
        let chromedriver = find_tool("CHROMEDRIVER", &["/usr/bin/chromedriver", "chromedriver"]).unwrap_or_else(|| {
            panic!("chromedriver not found: run `cargo xtask test` (it installs it) or `apt-get install chromium chromium-driver`, or set CHROMEDRIVER")
        });
        let chrome = find_tool("CHROME_BIN", &["/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"]).unwrap_or_else(|| {
            panic!("Chromium not found: run `cargo xtask test` (it installs it) or `apt-get install chromium chromium-driver`, or set CHROME_BIN")
        });
        let dist = dist_dir();
        assert!(
            dist.join("index.html").exists(),
            "frontend bundle not built ({} has no index.html): run `cargo xtask frontend`",
            dist.display()
        );

        let data = tempfile::tempdir().expect("temp dir");
        let mut config = Config::new(UpstreamConfig::Embedded(EmbeddedEmulator {
            seed_users: 60,
            token_ttl: None,
            churn_per_hour: 0.0,
        }));
        config.listen = "127.0.0.1:0".parse().expect("address");
        config.data_dir = data.path().to_path_buf();
        config.frontend_dir = dist;
        config.admin_password = Some(Secret::new(ADMIN_FIRST_PASSWORD));
        config.watch_rps = 0.0;
        adjust(&mut config);
        let gateway = Application::build(config)
            .await
            .expect("gateway starts")
            .spawn();

        let port = free_port();
        let mut child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", chromedriver.display()));
        let probe = reqwest::Client::new();
        let driver = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            if let Ok(r) = probe.get(format!("{driver}/status")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("chromedriver exited at start ({status})");
            }
            assert!(
                started.elapsed() < DEADLINE,
                "chromedriver did not answer on port {port} within {DEADLINE:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let profile = tempfile::tempdir().expect("temp dir");
        let browser = open_browser(&driver, &chrome, language, profile.path()).await;
        // The admin's one-time password is replaced over HTTP; the
        // browser then signs in like a person does.
        let http = session_client(
            &gateway.base_url,
            ADMIN_EMAIL,
            ADMIN_FIRST_PASSWORD,
            Some(ADMIN_PASSWORD),
        )
        .await;
        let h = Harness {
            browser,
            gateway,
            http,
            chromedriver: Driver(child),
            driver,
            chrome,
            language: language.to_string(),
            _data: data,
            profiles: vec![profile],
        };
        h.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        h
    }

    /// Open another browser session through the same chromedriver, with
    /// a new, empty profile (no cookie, no storage: someone who never
    /// signed in to the back-office, such as a customer on their phone),
    /// in the same language, and make it the one every helper drives.
    /// Returns the session it replaces; [`Harness::resume_session`] goes
    /// back to it.
    pub async fn fresh_session(&mut self) -> Client {
        let profile = tempfile::tempdir().expect("temp dir");
        let fresh = open_browser(&self.driver, &self.chrome, &self.language, profile.path()).await;
        self.profiles.push(profile);
        std::mem::replace(&mut self.browser, fresh)
    }

    /// End the session opened by [`Harness::fresh_session`] and drive
    /// `previous` again.
    pub async fn resume_session(&mut self, previous: Client) {
        let fresh = std::mem::replace(&mut self.browser, previous);
        let _ = fresh.close().await;
    }

    /// Sign the browser in on the sign-in page and wait for the app.
    pub async fn sign_in(&self, email: &str, password: &str) {
        self.open("/sign-in").await;
        self.submit_sign_in(email, password).await;
        self.wait_for("[data-testid=account-name]").await;
    }

    /// Fill in the sign-in form shown now (whatever its address) and send it.
    pub async fn submit_sign_in(&self, email: &str, password: &str) {
        for (field, text) in [("#sign-in-email", email), ("#sign-in-password", password)] {
            let input = self.wait_for(field).await;
            input.clear().await.expect("clear");
            input.send_keys(text).await.expect("type");
        }
        self.click("[data-testid=sign-in-submit]").await;
    }

    /// Click the element `css`, finding it again if the page re-rendered
    /// it between finding and clicking.
    pub async fn click(&self, css: &str) {
        self.eventually(&format!("a click on {css}"), || async {
            self.wait_for(css).await.click().await.ok()
        })
        .await;
    }

    /// Send the forced password change shown now and wait until the app
    /// has replaced it (the top bar is on both pages, so waiting for it
    /// would race the change).
    pub async fn submit_password_change(&self) {
        self.click("[data-testid=password-submit]").await;
        self.eventually("the password change accepted", || async {
            self.all("[data-testid=password-required], #current-password")
                .await
                .is_empty()
                .then_some(())
        })
        .await;
    }

    /// Sign the browser out with the top bar's button and wait for the
    /// sign-in page.
    pub async fn sign_out(&self) {
        // The top bar may re-render between finding and clicking: find again.
        self.eventually("signed out", || async {
            if let Ok(button) = self
                .browser
                .find(Locator::Css("button[data-testid=sign-out]"))
                .await
            {
                let _ = button.click().await;
            }
            self.browser
                .find(Locator::Css("#sign-in-email"))
                .await
                .ok()
                .map(drop)
        })
        .await;
    }

    /// A new colleague with `role` (`admin`, `staff`, `viewer`), invited by
    /// the admin over HTTP, one-time password already replaced by
    /// [`COLLEAGUE_PASSWORD`]: their e-mail and a client with their session.
    pub async fn colleague(&self, role: &str) -> (String, reqwest::Client) {
        let email = format!("{role}-{}@example.com", Uuid::new_v4().simple());
        let r = self
            .http
            .post(self.url("/api/team"))
            .json(&serde_json::json!({"email": email, "first_name": "E2e", "last_name": role, "role": role}))
            .send()
            .await
            .expect("gateway answers");
        assert_eq!(r.status(), 201, "invite {role}");
        let invited: serde_json::Value = r.json().await.expect("JSON");
        let otp = invited["one_time_password"].as_str().expect("password");
        let client = session_client(
            &self.gateway.base_url,
            &email,
            otp,
            Some(COLLEAGUE_PASSWORD),
        )
        .await;
        (email, client)
    }

    /// Absolute URL of an app path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway.base_url)
    }

    pub async fn open(&self, path: &str) {
        self.browser.goto(&self.url(path)).await.expect("navigate");
    }

    /// GET a Partner API path of the served organisation through the gateway.
    pub async fn api<T: DeserializeOwned>(&self, path: &str) -> T {
        let url = self.api_url(path);
        let resp = self.http.get(&url).send().await.expect("gateway answers");
        assert!(resp.status().is_success(), "GET {url}: {}", resp.status());
        resp.json().await.expect("JSON")
    }

    /// GET one of the gateway's own paths (`/api/cases/7`) with the
    /// admin's session and read its JSON; fails on an error status.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> T {
        let r = self
            .http
            .get(self.url(path))
            .send()
            .await
            .expect("gateway answers");
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.expect("JSON")
    }

    /// The device loses its manufacturer connection (the emulator's hook).
    pub async fn lose_connection(&self, device: Uuid) {
        let r = self
            .http
            .post(format!(
                "{}/_emulator/devices/{device}/connection",
                self.gateway.upstream_base_url()
            ))
            .json(&serde_json::json!({"authenticated": false}))
            .send()
            .await
            .expect("emulator answers");
        assert!(r.status().is_success(), "emulator hook: {}", r.status());
    }

    /// The open case the fleet watch opened for `device`, waiting up to
    /// [`WATCH_DEADLINE`] for it (the gateway must run its watch:
    /// `watch_rps` above 0).
    pub async fn watch_case(&self, device: Uuid) -> shared::cases::Case {
        self.eventually_within(
            "the watch to open a case for the device",
            WATCH_DEADLINE,
            || async {
                let list: shared::cases::CaseList = self
                    .get_json(&format!("/api/cases?device_id={device}&state=open"))
                    .await;
                list.cases.into_iter().next()
            },
        )
        .await
    }

    /// Gateway URL of a Partner API path of the served organisation.
    pub fn api_url(&self, path: &str) -> String {
        self.url(&format!(
            "/api/partners/v2.0/org/{}{path}",
            self.gateway.org_id()
        ))
    }

    /// The text of the first element matching `css`, waiting for it.
    pub async fn text(&self, css: &str) -> String {
        // The page may re-render the element between finding and reading
        // it (a stale element): find it again.
        self.eventually(&format!("the text of {css}"), || async {
            self.wait_for(css).await.text().await.ok()
        })
        .await
    }

    /// The browser's current path and query, e.g. `/?q=anna&page=2`.
    pub async fn path_and_query(&self) -> String {
        let url = self.browser.current_url().await.expect("current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Waits until the browser's path and query contain `part`.
    pub async fn wait_for_address(&self, part: &str) {
        self.eventually(&format!("{part} in the address"), || async {
            self.path_and_query().await.contains(part).then_some(())
        })
        .await;
    }

    /// The control whose visible label is `label` (its `<label for>`),
    /// waiting for it.
    pub async fn by_label(&self, label: &str) -> Element {
        let xpath = format!("//label[normalize-space()={}]", xpath_literal(label));
        let id = self
            .eventually(&format!("the label {label:?}"), || async {
                let l = self.browser.find(Locator::XPath(&xpath)).await.ok()?;
                l.attr("for").await.ok()?
            })
            .await;
        self.wait_for(&format!("#{id}")).await
    }

    /// Empty the form field `field` (`data-testid=field-{field}`) and
    /// type `text` into it; the field.
    pub async fn type_into(&self, field: &str, text: &str) -> Element {
        let el = self.wait_for(&format!("[data-testid=field-{field}]")).await;
        el.clear().await.unwrap();
        el.send_keys(text).await.unwrap();
        el
    }

    /// An end-user of the seeded organisation (one with a first name).
    pub async fn end_user(&self) -> shared::User {
        let users: Vec<shared::User> = self.api("/users").await;
        users
            .into_iter()
            .find(|u| u.role == shared::Role::User && u.first_name.is_some())
            .expect("the seed has end-users")
    }

    /// The `id` of the element that has the focus.
    pub async fn focused_id(&self) -> String {
        self.focused_attr("id").await
    }

    /// The `data-testid` of the element that has the focus.
    pub async fn focused_testid(&self) -> String {
        self.focused_attr("data-testid").await
    }

    /// The visible text of the element that has the focus.
    pub async fn focused_text(&self) -> String {
        let el = self
            .browser
            .active_element()
            .await
            .expect("an active element");
        el.text().await.expect("its text")
    }

    /// Type `keys` where the focus is, as a person does (`Key::Enter`,
    /// text).
    pub async fn type_at_focus(&self, keys: &str) {
        self.browser
            .active_element()
            .await
            .expect("an active element")
            .send_keys(keys)
            .await
            .expect("keys typed");
    }

    /// The first button or link whose visible text is `text`, if shown now.
    pub async fn action(&self, text: &str) -> Option<Element> {
        let xpath = format!(
            "//*[self::button or self::a][normalize-space()={}]",
            xpath_literal(text)
        );
        self.browser.find(Locator::XPath(&xpath)).await.ok()
    }

    /// Attribute `name` of the element that has the focus ("" without).
    async fn focused_attr(&self, name: &str) -> String {
        let el = self
            .browser
            .active_element()
            .await
            .expect("an active element");
        el.attr(name)
            .await
            .expect("its attribute")
            .unwrap_or_default()
    }

    /// The first element matching `css`, waiting for it. On timeout a
    /// screenshot is saved (see [`Harness::screenshot`]) and the test fails.
    pub async fn wait_for(&self, css: &str) -> Element {
        match self
            .browser
            .wait()
            .at_most(DEADLINE)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => {
                let shot = self.screenshot(css).await;
                panic!("no element '{css}' within {DEADLINE:?}: {e} (screenshot: {shot})")
            }
        }
    }

    /// Save a PNG of the page into `target/e2e-screenshots/` and return its
    /// path (or why there is none). Called on every wait that times out.
    pub async fn screenshot(&self, what: &str) -> String {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("target")
            .join("e2e-screenshots");
        let name: String = what
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(60)
            .collect();
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let file = dir.join(format!("{stamp}-{name}.png"));
        let png = match self.browser.screenshot().await {
            Ok(png) => png,
            Err(e) => return format!("none ({e})"),
        };
        match std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&file, png)) {
            Ok(()) => file.display().to_string(),
            Err(e) => format!("none ({e})"),
        }
    }

    /// Poll `check` until it returns `Some`, or fail naming `what`.
    pub async fn eventually<T, F, Fut>(&self, what: &str, check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        self.eventually_within(what, DEADLINE, check).await
    }

    /// As [`Harness::eventually`], with another deadline (for what the
    /// gateway does on its own schedule, such as a fleet-watch round).
    pub async fn eventually_within<T, F, Fut>(
        &self,
        what: &str,
        deadline: Duration,
        mut check: F,
    ) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let started = Instant::now();
        loop {
            if let Some(v) = check().await {
                return v;
            }
            if started.elapsed() >= deadline {
                let shot = self.screenshot(what).await;
                panic!("timed out after {deadline:?} waiting for: {what} (screenshot: {shot})");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The customer's side of a reconnection: open `link` (the emulator's
    /// `/connect` page) in another tab, press Connect, wait for the
    /// manufacturer's confirmation, and return to the agent's tab.
    pub async fn connect_as_customer(&self, link: &str) {
        let agent = self.browser.window().await.expect("the agent's tab");
        let customer = self.browser.new_window(true).await.expect("a new tab");
        self.browser
            .switch_to_window(customer.handle)
            .await
            .expect("switch to the customer's tab");
        self.browser.goto(link).await.expect("open the link");
        self.click("[data-testid=emulator-connect]").await;
        self.eventually("the manufacturer page to confirm", || async {
            let title = self
                .browser
                .find(Locator::Css("h1"))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            title.contains("connected").then_some(())
        })
        .await;
        self.browser.close_window().await.expect("close the tab");
        self.browser
            .switch_to_window(agent)
            .await
            .expect("back to the agent's tab");
    }

    /// Fail, naming `what` (with a screenshot), if the page shown is
    /// wider than the window (something to scroll sideways, e.g. at a
    /// phone's 360 px).
    pub async fn assert_fits_window(&self, what: &str) {
        let fits = self
            .browser
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth;",
                vec![],
            )
            .await
            .expect("script runs");
        if fits != serde_json::Value::Bool(true) {
            let shot = self.screenshot(what).await;
            panic!("{what} is wider than the window (screenshot: {shot})");
        }
    }

    /// All elements matching `css` now.
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.browser
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
    }

    /// Run axe-core on the page shown now, in the light and in the dark
    /// colour scheme (the app follows the system's), and fail, naming
    /// `what` (the page), if it reports any violation: each with its rule,
    /// impact and help, and the failing elements' selectors, HTML and
    /// axe's summary (e.g. the contrast found). Call it once the page
    /// shows what is to be checked: it checks the page as it is, it does
    /// not wait.
    pub async fn assert_accessible(&self, what: &str) {
        let mut reports = Vec::new();
        for scheme in ["light", "dark"] {
            self.emulate_color_scheme(scheme).await;
            if let Some(report) = self
                .accessibility_violations(&format!("{what}, {scheme} scheme"))
                .await
            {
                reports.push(report);
            }
        }
        self.emulate_color_scheme("").await;
        if !reports.is_empty() {
            panic!("{}", reports.join("\n\n"));
        }
    }

    /// Make the page see `prefers-color-scheme: <scheme>` (`light`,
    /// `dark`; `""` for the system's again).
    pub async fn emulate_color_scheme(&self, scheme: &str) {
        self.cdp(
            "Emulation.setEmulatedMedia",
            serde_json::json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        )
        .await;
    }

    /// Let the browser save downloads into `dir` without asking (for a
    /// test that checks a file the page offers; see
    /// [`Harness::downloaded`]).
    pub async fn allow_downloads(&self, dir: &Path) {
        self.cdp(
            "Browser.setDownloadBehavior",
            serde_json::json!({"behavior": "allow", "downloadPath": dir.display().to_string()}),
        )
        .await;
    }

    /// The file named `prefix…suffix` that the browser downloaded into
    /// `dir`, once complete (Chromium writes `….crdownload` until then):
    /// its name and bytes.
    pub async fn downloaded(&self, dir: &Path, prefix: &str, suffix: &str) -> (String, Vec<u8>) {
        self.eventually(&format!("a download {prefix}…{suffix}"), || async {
            let entries = std::fs::read_dir(dir).ok()?;
            entries.flatten().find_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                (name.starts_with(prefix) && name.ends_with(suffix))
                    .then(|| std::fs::read(e.path()).ok().map(|bytes| (name, bytes)))
                    .flatten()
            })
        })
        .await
    }

    /// Run a Chrome DevTools command (`Network.clearBrowserCache`, ...)
    /// through chromedriver; its result. Fails the test when refused.
    pub async fn cdp(&self, cmd: &str, params: serde_json::Value) -> serde_json::Value {
        let session = self
            .browser
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        let r = reqwest::Client::new()
            .post(format!(
                "{}/session/{session}/goog/cdp/execute",
                self.driver
            ))
            .json(&serde_json::json!({"cmd": cmd, "params": params}))
            .send()
            .await
            .expect("chromedriver answers");
        assert!(
            r.status().is_success(),
            "chromedriver refused {cmd}: {}",
            r.text().await.unwrap_or_default()
        );
        let answer: serde_json::Value = r.json().await.expect("chromedriver's JSON");
        answer["value"].clone()
    }

    /// What [`Harness::assert_accessible`] fails with, if anything: the
    /// violations axe-core reports on the page shown now. axe-core is
    /// injected into the page first (once per page load) from
    /// `e2e/node_modules/axe-core` (`npm ci --prefix e2e`).
    pub async fn accessibility_violations(&self, what: &str) -> Option<String> {
        let loaded = self
            .browser
            .execute("return typeof window.axe === 'object';", vec![])
            .await
            .expect("script runs");
        if loaded != serde_json::Value::Bool(true) {
            self.browser
                .execute(axe_source(), vec![])
                .await
                .expect("axe-core loads into the page");
        }
        let result = self
            .browser
            .execute_async(AXE_RUN, vec![])
            .await
            .unwrap_or_else(|e| panic!("axe-core did not finish on {what}: {e}"));
        if let Some(error) = result.get("error") {
            panic!("axe-core failed on {what}: {error}");
        }
        let violations: Vec<AxeViolation> =
            serde_json::from_value(result["violations"].clone()).expect("axe results");
        if violations.is_empty() {
            return None;
        }
        let shot = self.screenshot(&format!("axe-{what}")).await;
        let lang = self
            .browser
            .execute("return document.documentElement.lang;", vec![])
            .await
            .unwrap_or_default();
        let url = self
            .browser
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let nodes: usize = violations.iter().map(|v| v.nodes.len()).sum();
        let mut report = format!(
            "axe-core: {} violation(s), {nodes} element(s), on {what} ({url}, lang {lang}; screenshot: {shot})",
            violations.len()
        );
        for v in &violations {
            report.push_str(&format!(
                "\n- {} ({}): {} [{} element(s)] {}",
                v.id,
                v.impact.as_deref().unwrap_or("?"),
                v.help,
                v.nodes.len(),
                v.help_url
            ));
            for n in &v.nodes {
                let target: Vec<String> = n
                    .target
                    .iter()
                    .map(|t| match t {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                report.push_str(&format!(
                    "\n    {}\n      {}\n      {}",
                    target.join(" > "),
                    shorten(&n.html, 160),
                    shorten(&n.failure_summary.replace('\n', " "), 300)
                ));
            }
        }
        Some(report)
    }

    /// End the browser session, chromedriver and the gateway.
    pub async fn finish(self) {
        let _ = self.browser.clone().close().await;
        drop(self.chromedriver);
        self.gateway.shutdown().await;
    }
}

/// A headless Chromium session through the chromedriver at `driver`,
/// speaking `language`, with its profile in `profile`.
async fn open_browser(driver: &str, chrome: &Path, language: &str, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chrome,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,900",
                format!("--lang={language}"),
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": { "intl.accept_languages": accept_languages(language) },
        }),
    );
    // Both ring and aws-lc-rs are linked (reqwest, fantoccini): choose one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    ClientBuilder::rustls()
        .expect("TLS setup")
        .capabilities(caps)
        .connect(driver)
        .await
        .unwrap_or_else(|e| panic!("could not open a Chromium session through chromedriver: {e}"))
}

/// Where `npm ci --prefix e2e` puts axe-core.
pub fn axe_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("node_modules")
        .join("axe-core")
        .join("axe.min.js")
}

/// axe-core's script, read once per test binary.
fn axe_source() -> &'static str {
    static AXE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    AXE.get_or_init(|| {
        let path = axe_path();
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "axe-core is not installed ({}: {e}): run `npm ci --prefix e2e` (or `cargo xtask test`, which does)",
                path.display()
            )
        })
    })
}

/// Runs axe-core on the whole document, violations only, and hands back
/// the parts a failure message needs (or the error it threw).
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] })
  .then(r => done({ violations: r.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      nodes: v.nodes.map(n => ({ target: n.target, html: n.html, failureSummary: n.failureSummary || '' })),
  })) }))
  .catch(e => done({ error: String(e && e.stack || e) }));
"#;

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct AxeViolation {
    id: String,
    impact: Option<String>,
    help: String,
    help_url: String,
    nodes: Vec<AxeNode>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct AxeNode {
    target: Vec<serde_json::Value>,
    html: String,
    failure_summary: String,
}

/// `text` cut to at most `max` characters, with an ellipsis if cut.
fn shorten(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}

/// A reqwest client signed in to the gateway at `base_url` (it sends the
/// session cookie and the anti-forgery header with every request),
/// replacing a one-time password with `new_password` if given.
pub async fn session_client(
    base_url: &str,
    email: &str,
    password: &str,
    new_password: Option<&str>,
) -> reqwest::Client {
    let plain = reqwest::Client::new();
    let r = plain
        .post(format!("{base_url}/api/session"))
        .header(shared::staff::CSRF_HEADER, "sign-in")
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .expect("gateway answers");
    assert!(
        r.status().is_success(),
        "sign-in of {email}: {}",
        r.status()
    );
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let info: shared::staff::SessionInfo = r.json().await.expect("session JSON");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::COOKIE, cookie.parse().expect("cookie"));
    headers.insert(
        shared::staff::CSRF_HEADER,
        info.csrf_token.parse().expect("token"),
    );
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client");
    if let Some(new_password) = new_password {
        let r = client
            .post(format!("{base_url}/api/session/password"))
            .json(&serde_json::json!({"current_password": password, "new_password": new_password}))
            .send()
            .await
            .expect("gateway answers");
        assert!(
            r.status().is_success(),
            "password change of {email}: {}",
            r.status()
        );
    }
    client
}

/// The chromedriver process; killed when dropped, so a failed test (which
/// never reaches `finish`) does not leave it behind.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A user of the served organisation with a device that lost its connection.
pub async fn user_with_lost_device(
    h: &Harness,
) -> (shared::User, shared::DeviceKind, serde_json::Value) {
    user_with_device(h, false).await
}

/// An end-user of the served organisation with a device whose connection
/// works (`authenticated`) or is lost.
pub async fn user_with_device(
    h: &Harness,
    authenticated: bool,
) -> (shared::User, shared::DeviceKind, serde_json::Value) {
    let users: Vec<shared::User> = h.api("/users").await;
    for u in users.iter().filter(|u| u.num_devices() > 0) {
        for kind in shared::DeviceKind::ALL {
            let devices: Vec<serde_json::Value> = h
                .api(&format!("/users/{}/{}", u.id, kind.path_segment()))
                .await;
            if let Some(d) = devices
                .into_iter()
                .find(|d| d["is_authenticated"] == authenticated)
            {
                return (u.clone(), kind, d);
            }
        }
    }
    panic!("the seeded organisation has no device with is_authenticated = {authenticated}")
}

/// An XPath literal for `text` (no text of the tests holds both quote
/// kinds).
pub fn xpath_literal(text: &str) -> String {
    if text.contains('\'') {
        format!("\"{text}\"")
    } else {
        format!("'{text}'")
    }
}

pub fn nil() -> Uuid {
    Uuid::nil()
}
