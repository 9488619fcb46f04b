//! The gateway's benchmarks: the users list at fleet scale (`cargo xtask
//! bench`, this file) and forwarding against nginx and the upstream
//! itself (`cargo xtask bench forwarding`, [`forwarding`]).
//!
//! Starts the release emulator binary seeded with `--users` users (default
//! 100,000) in a fresh temporary directory, then the release gateway binary
//! in front of it as if it were Podero (`PODERO_BASE_URL`), each in its own
//! process so the gateway's memory is measured alone. It then measures, over
//! loopback HTTP, what an agent's browser does and prints every figure next
//! to its target (up to 100,000 users the first targets, above them issue
//! 17's for a million: [`Targets::at`]):
//!
//! * the snapshot of all users built (fetch, parse, index; the gateway's
//!   own `build_ms`) and the first answer after start;
//! * the first page of the list, warm (sequential requests, p50/p95/max);
//! * search keystrokes: every prefix of real surnames, one request each;
//! * other sorts and filters, the CSV export of everything;
//! * the gateway's resident memory (VmRSS, and the peak VmHWM) with the
//!   snapshot loaded, and again after a refresh replaced it.
//!
//! Then the sync benchmark ([`sync`]): the dry run of a customer file as
//! large as the organisation, and a run's write rate.
//!
//! `bench watch` is the fleet-watch benchmark instead ([`watch`]);
//! `bench bundle` measures what a first visit downloads ([`bundle`]).
//!
//! Exits non-zero when a target is missed. Binaries are expected in
//! `target/release` (`cargo xtask bench` builds them first).
//!
//! `bench emulator-seed [--users N]` measures the emulator alone at a
//! million users instead (see `emulator_seed`).

mod emulator_seed;

mod forwarding;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use shared::directory::UserPage;

mod sync;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

mod bundle;
mod watch;

const SECRET: &str = "bench-secret-not-used-elsewhere";

/// Cargo's target directory (`$CARGO_TARGET_DIR`, else `target`).
fn target_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// A release binary: in `$BENCH_BIN_DIR` when set (to measure other
/// builds, e.g. an older commit's), else in the target directory.
fn release_bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("BENCH_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("release"));
    let bin = dir.join(name);
    if !bin.exists() {
        eprintln!(
            "{} is missing: run `cargo xtask bench` (it builds the release binaries)",
            bin.display()
        );
        std::process::exit(2);
    }
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `VmRSS` and `VmHWM` of a process, in MB.
fn memory_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

struct Stats {
    p50: f64,
    p95: f64,
    max: f64,
    n: usize,
}

fn stats(mut ms: Vec<f64>) -> Stats {
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    Stats {
        p50: at(0.50),
        p95: at(0.95),
        max: *ms.last().unwrap(),
        n: ms.len(),
    }
}

/// The users list's targets at one scale.
#[derive(Debug, Clone, Copy)]
struct Targets {
    snapshot_s: f64,
    first_page_ms: f64,
    search_ms: f64,
    rss_mb: f64,
}

impl Targets {
    /// Up to 100,000 users the first targets (2026-11-23); above, issue
    /// 17's for a million users.
    fn at(users: usize) -> Targets {
        if users <= 100_000 {
            Targets {
                snapshot_s: 3.0,
                first_page_ms: 100.0,
                search_ms: 50.0,
                rss_mb: 150.0,
            }
        } else {
            Targets {
                snapshot_s: 10.0,
                first_page_ms: 10.0,
                search_ms: 25.0,
                rss_mb: 400.0,
            }
        }
    }
}

struct Report {
    missed: Vec<String>,
}

impl Report {
    /// The gateway's resident memory now (and its peak), against
    /// `target` MB when given.
    fn memory(&mut self, pid: u32, what: &str, target: Option<f64>) {
        let (rss, hwm) = memory_mb(pid);
        self.line(
            what,
            format!("RSS {rss:.0} MB (peak {hwm:.0} MB)"),
            target.map(|t| (rss, t, "MB RSS")),
        );
    }

    fn latency(&mut self, what: &str, ms: Vec<f64>, target_p95: Option<f64>) {
        let s = stats(ms);
        self.line(
            what,
            format!(
                "p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms (n={})",
                s.p50, s.p95, s.max, s.n
            ),
            target_p95.map(|t| (s.p95, t, "ms p95")),
        );
    }

    /// Say whether every target was met; exit non-zero if not.
    fn finish(self) {
        if self.missed.is_empty() {
            println!("\nAll targets met.");
        } else {
            println!("\nMissed: {}", self.missed.join(", "));
            std::process::exit(1);
        }
    }

    fn line(&mut self, what: &str, value: String, target: Option<(f64, f64, &str)>) {
        match target {
            Some((got, limit, unit)) => {
                let ok = got <= limit;
                println!(
                    "  {what:<44} {value:<34} target <= {limit} {unit}  {}",
                    if ok { "ok" } else { "MISSED" }
                );
                if !ok {
                    self.missed.push(what.to_string());
                }
            }
            None => println!("  {what:<44} {value}"),
        }
    }
}

async fn get(http: &reqwest::Client, url: &str) -> (f64, reqwest::Response) {
    let t = Instant::now();
    let r = http.get(url).send().await.expect("request");
    assert!(r.status().is_success(), "{url}: {}", r.status());
    (t.elapsed().as_secs_f64() * 1000.0, r)
}

/// Time a GET including reading the whole body.
async fn timed(http: &reqwest::Client, url: &str) -> (f64, Vec<u8>) {
    let t = Instant::now();
    let (_, r) = get(http, url).await;
    let body = r.bytes().await.expect("body").to_vec();
    (t.elapsed().as_secs_f64() * 1000.0, body)
}

/// Poll the gateway's `/healthz` until it answers, or fail after `within`.
async fn wait_for_gateway(http: &reqwest::Client, base: &str, within: Duration) {
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(started.elapsed() < within, "the gateway did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Read the emulator's banner until it names its organisation.
async fn banner_org(child: &mut Child) -> String {
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(org) = line.trim_start().strip_prefix("organisation:") {
            let org = org.trim().to_string();
            // Keep draining the banner so the emulator never blocks on it.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return org;
        }
    }
    panic!("the emulator stopped before naming its organisation");
}

/// The release emulator with its data in `data/emulator`, seeded with
/// `users`, on a free port: the process, its port and its organisation.
async fn spawn_emulator(data: &Path, users: usize) -> (Child, u16, String) {
    spawn_emulator_with(data, users, &[]).await
}

/// [`spawn_emulator`] with more flags (e.g. `--churn-per-hour`).
async fn spawn_emulator_with(data: &Path, users: usize, extra: &[&str]) -> (Child, u16, String) {
    let port = free_port();
    let mut emulator = Command::new(release_bin("podero-emulator"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--users", &users.to_string()])
        .args(extra)
        .arg("--data-dir")
        .arg(data.join("emulator"))
        .args(["--client-secret", SECRET])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the emulator");
    let org = banner_org(&mut emulator).await;
    (emulator, port, org)
}

/// The release gateway in front of the emulator on `emu_port` as if it
/// were Podero, its data in `data/gateway`, on a free port: the command
/// (the caller sets its logging and starts it) and that port.
fn gateway_command(data: &Path, emu_port: u16, org: &str) -> (Command, u16) {
    let port = free_port();
    let mut command = Command::new(release_bin("gateway"));
    command
        .env("PODERO_BASE_URL", format!("http://127.0.0.1:{emu_port}"))
        .env("PODERO_CLIENT_ID", "podero-emulator")
        .env("PODERO_CLIENT_SECRET", SECRET)
        .env("PODERO_ORG_ID", org)
        .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
        .env("GATEWAY_FRONTEND_DIR", data.join("no-frontend"))
        .env("GATEWAY_DATA_DIR", data.join("gateway"))
        .env("GATEWAY_USERS_REFRESH_SECS", "3600")
        .env("GATEWAY_ADMIN_PASSWORD", ADMIN_FIRST_PASSWORD)
        .env_remove("DATABASE_URL")
        .kill_on_drop(true);
    (command, port)
}

/// Wait until the gateway at `base` answers `/healthz` (30 s at most).
async fn wait_healthy(base: &str) {
    let plain = reqwest::Client::new();
    let started = Instant::now();
    while !plain
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the gateway did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The first admin's password (replaced at sign-in, as the gateway asks).
const ADMIN_FIRST_PASSWORD: &str = "bench-first-admin-password";

/// A client signed in as the first admin: it sends the session cookie and
/// the anti-forgery header with every request.
async fn sign_in(base: &str) -> reqwest::Client {
    signed_in(base).await.client
}

/// A signed-in session: a client sending its cookie and anti-forgery
/// header, and both as header values (for other load generators).
struct SignedIn {
    client: reqwest::Client,
    /// `name=value` of the session cookie.
    cookie: String,
    csrf: String,
}

/// Sign in as the first admin and replace the one-time password.
async fn signed_in(base: &str) -> SignedIn {
    let plain = reqwest::Client::new();
    let r = plain
        .post(format!("{base}/api/session"))
        .header(shared::staff::CSRF_HEADER, "sign-in")
        .json(&serde_json::json!({"email": "admin@backoffice.local", "password": ADMIN_FIRST_PASSWORD}))
        .send()
        .await
        .expect("sign-in");
    assert!(r.status().is_success(), "sign-in: {}", r.status());
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_string();
    let info: serde_json::Value = r.json().await.expect("session");
    let csrf = info["csrf_token"].as_str().expect("token").to_string();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::COOKIE, cookie.parse().expect("cookie"));
    headers.insert(shared::staff::CSRF_HEADER, csrf.parse().expect("token"));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .default_headers(headers)
        .build()
        .unwrap();
    let r = http
        .post(format!("{base}/api/session/password"))
        .json(&serde_json::json!({"current_password": ADMIN_FIRST_PASSWORD, "new_password": "bench-admin-password-2"}))
        .send()
        .await
        .expect("password change");
    assert!(r.status().is_success(), "password change: {}", r.status());
    SignedIn {
        client: http,
        cookie,
        csrf,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let users_arg: Option<usize> = args
        .iter()
        .skip_while(|a| *a != "--users")
        .nth(1)
        .and_then(|n| n.parse().ok());
    match args.first().map(String::as_str) {
        Some("watch") => watch::run(&args[1..]).await,
        Some("forwarding") => forwarding::run().await,
        Some("bundle") => bundle::run().await,
        Some("emulator-seed") => {
            emulator_seed::run(users_arg.unwrap_or(1_000_000))
                .await
                .finish();
        }
        _ => users_list(users_arg.unwrap_or(100_000)).await,
    }
}

/// The users-list benchmark.
async fn users_list(users: usize) {
    let data = std::env::temp_dir().join(format!("podero-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).expect("temp dir");
    let mut report = Report { missed: Vec::new() };
    let targets = Targets::at(users);
    println!("Users-list benchmark: {users} users, release builds, loopback HTTP\n");

    // The emulator, seeded.
    let t = Instant::now();
    let (emulator, emu_port, org) = spawn_emulator(&data, users).await;
    report.line(
        "emulator seeded and listening",
        format!("{:.1} s", t.elapsed().as_secs_f64()),
        None,
    );

    // The gateway in front of it, as in production.
    let (mut command, gw_port) = gateway_command(&data, emu_port, &org);
    let base = format!("http://127.0.0.1:{gw_port}");
    let gateway = command
        .env("GATEWAY_SYNC_RPS", sync::RATE.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start the gateway");
    let pid = gateway.id().expect("gateway pid");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    wait_for_gateway(&http, &base, Duration::from_secs(30)).await;
    // Every request is a signed-in admin's, with its audit record.
    let http = sign_in(&base).await;
    let list = format!("{base}/api/directory/users");

    // First answer: waits for the first snapshot.
    let (cold_ms, body) = timed(&http, &list).await;
    let first: UserPage = serde_json::from_slice(&body).expect("a page");
    assert_eq!(
        first.total + first.archived_users,
        users,
        "every user listed"
    );
    let build_ms = first.freshness.build_ms.unwrap_or_default() as f64;
    report.line(
        "snapshot built (fetch + parse + index)",
        format!("{:.2} s", build_ms / 1000.0),
        Some((build_ms / 1000.0, targets.snapshot_s, "s")),
    );
    report.line(
        "first answer after gateway start",
        format!("{:.2} s", cold_ms / 1000.0),
        None,
    );
    report.memory(pid, "gateway memory, snapshot loaded", Some(targets.rss_mb));

    // First page, warm.
    for _ in 0..20 {
        timed(&http, &list).await;
    }
    let mut ms = Vec::new();
    for _ in 0..300 {
        ms.push(timed(&http, &list).await.0);
    }
    report.latency(
        "first page (50 rows), warm",
        ms,
        Some(targets.first_page_ms),
    );

    // Search keystrokes: every prefix of real surnames.
    let mut names: Vec<String> = Vec::new();
    for sort in ["name", "town", "email", "customer_number"] {
        let (_, body) = timed(&http, &format!("{list}?sort={sort}&per_page=500&page=37")).await;
        let p: UserPage = serde_json::from_slice(&body).unwrap();
        names.extend(
            p.rows
                .iter()
                .filter_map(|r| r.user.last_name.clone())
                .step_by(40),
        );
    }
    names.truncate(30);
    let mut ms = Vec::new();
    for name in &names {
        let chars: Vec<char> = name.chars().collect();
        for n in 1..=chars.len() {
            let prefix: String = chars[..n].iter().collect();
            let url = format!("{list}?q={}", shared::directory::percent_encode(&prefix));
            ms.push(timed(&http, &url).await.0);
        }
    }
    report.latency(
        &format!("search keystroke ({} surnames, each prefix)", names.len()),
        ms,
        Some(targets.search_ms),
    );

    // Other views: sorts, filters, deep pages.
    let views = [
        "sort=town&dir=desc",
        "sort=last_login&dir=desc&per_page=200",
        "role=admin,staff",
        "device=heat-pumps&onboarded=false",
        "archived=include&sort=joined",
        "page=1500&per_page=50",
        "q=wien&sort=email",
    ];
    let mut ms = Vec::new();
    for _ in 0..20 {
        for v in views {
            ms.push(timed(&http, &format!("{list}?{v}")).await.0);
        }
    }
    report.latency("other sorts, filters and deep pages", ms, None);

    // CSV of everyone.
    let (csv_ms, csv) = timed(&http, &format!("{base}/api/directory/users.csv")).await;
    report.line(
        "CSV export of every active user",
        format!(
            "{:.2} s, {:.1} MB, {} rows",
            csv_ms / 1000.0,
            csv.len() as f64 / 1e6,
            csv.iter().filter(|b| **b == b'\n').count() - 1
        ),
        None,
    );

    report.memory(pid, "gateway memory after the runs above", None);

    // A refresh replaces the snapshot while requests go on.
    let loaded = first.freshness.loaded_at;
    http.post(format!("{base}/api/directory/refresh"))
        .send()
        .await
        .expect("refresh");
    let mut during = Vec::new();
    let t = Instant::now();
    let refreshed = loop {
        let (ms, body) = timed(&http, &list).await;
        during.push(ms);
        let p: UserPage = serde_json::from_slice(&body).unwrap();
        if p.freshness.loaded_at > loaded && !p.freshness.refreshing {
            break p;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "refresh never finished"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    report.latency("first page while a refresh runs", during, None);
    report.line(
        "refresh (new snapshot) built",
        format!(
            "{:.2} s",
            refreshed.freshness.build_ms.unwrap_or_default() as f64 / 1000.0
        ),
        None,
    );
    report.memory(
        pid,
        "gateway memory after the refresh",
        Some(targets.rss_mb),
    );

    // `--no-sync`: the users list only (a million-row file is another run).
    if !std::env::args().any(|a| a == "--no-sync") {
        sync::run(&http, &base, pid, users, &mut report).await;
    }

    drop(gateway);
    drop(emulator);
    let _ = std::fs::remove_dir_all(&data);
    report.finish();
}
