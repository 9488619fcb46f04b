//! The cluster test: two real `gateway` processes on one PostgreSQL
//! database behind nginx (round-robin, no sticky sessions), one Podero
//! emulator for both.
//!
//! Signed in through nginx, the same cookie works on either replica;
//! signing out, a role change and ending sessions on replica A apply on
//! replica B at the next request. Then a stream of user creations through
//! nginx, in parallel, while the replica holding the `housekeeping` lease
//! is killed with SIGKILL: every creation answered 2xx has its intent and
//! its outcome in the audit trail, and the lease moves to the other
//! replica within 15 s (the time is printed).
//!
//! Needs a PostgreSQL server in `TEST_DATABASE_URL` (a URL of a user who
//! may create databases) and nginx; `cargo xtask test` provides both and
//! sets `CI_REQUIRE_POSTGRES=1`, which turns a skip into a failure.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use devcluster::{free_port, wait_for_http, Nginx, Proc};
use podero_emulator::EmulatorConfig;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::postgres::{PgPool, PgPoolOptions};

const SECRET: &str = "cluster-test-secret-3f9e";
const ADMIN_EMAIL: &str = "admin@backoffice.local";
const ADMIN_FIRST_PASSWORD: &str = "cluster-first-password-7d1c";
const ADMIN_PASSWORD: &str = "cluster-admin-password-9a2b";
/// The lease of the once-per-cluster job.
const JOB: &str = "housekeeping";
/// How soon the job must move after its holder is killed.
const FAILOVER_LIMIT: Duration = Duration::from_secs(15);

/// The database server, or `None` (skip) without one, unless CI requires it.
fn postgres_server() -> Option<String> {
    let require = std::env::var("CI_REQUIRE_POSTGRES").as_deref() == Ok("1");
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        assert!(
            !require,
            "CI_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is unset"
        );
        eprintln!("skipped: set TEST_DATABASE_URL (cargo xtask test does)");
        return None;
    };
    if !Nginx::available() {
        assert!(!require, "CI_REQUIRE_POSTGRES=1 but nginx is not installed");
        eprintln!("skipped: nginx is not installed (cargo xtask install)");
        return None;
    }
    Some(url)
}

/// A replica: a `gateway` process.
struct Replica {
    id: &'static str,
    addr: SocketAddr,
    proc: Proc,
}

impl Replica {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Start a replica and wait for its `/healthz`.
fn start_replica(
    id: &'static str,
    dir: &Path,
    database_url: &str,
    emulator: &podero_emulator::RunningEmulator,
) -> Replica {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
    let mut proc = Proc::spawn(
        id,
        Command::new(env!("CARGO_BIN_EXE_gateway"))
            .env("DATABASE_URL", database_url)
            .env("GATEWAY_REPLICA_ID", id)
            .env("GATEWAY_LISTEN", addr.to_string())
            .env("GATEWAY_DATA_DIR", dir.join(id))
            .env("GATEWAY_FRONTEND_DIR", dir.join("no-frontend"))
            .env("GATEWAY_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("GATEWAY_ADMIN_PASSWORD", ADMIN_FIRST_PASSWORD)
            .env("GATEWAY_TRUSTED_PROXIES", "127.0.0.1")
            .env("PODERO_BASE_URL", &emulator.base_url)
            .env("PODERO_CLIENT_ID", podero_emulator::DEFAULT_CLIENT_ID)
            .env("PODERO_CLIENT_SECRET", SECRET)
            .env("PODERO_ORG_ID", emulator.org_id.to_string())
            .env("RUST_LOG", "info"),
        &dir.join(format!("{id}.log")),
    )
    .unwrap();
    let took = tokio::task::block_in_place(|| {
        wait_for_http(&mut proc, addr, "/healthz", Duration::from_secs(60))
    })
    .unwrap_or_else(|e| panic!("{id} did not start: {e}"));
    eprintln!("{id} on {addr}: healthy after {:.1} s", took.as_secs_f64());
    Replica { id, addr, proc }
}

/// A signed-in client: the session cookie and the anti-forgery header on
/// every request.
#[derive(Clone)]
struct Session {
    http: reqwest::Client,
}

impl Session {
    /// Sign in at `base` (forcing the password change if `new_password`).
    async fn sign_in(
        base: &str,
        email: &str,
        password: &str,
        new_password: Option<&str>,
    ) -> Session {
        let r = reqwest::Client::new()
            .post(format!("{base}/api/session"))
            .header(shared::staff::CSRF_HEADER, "sign-in")
            // nginx appends the peer; the gateway believes the entry
            // before its trusted proxy.
            .header("x-forwarded-for", "192.0.2.7")
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("sign-in answers");
        assert_eq!(r.status(), StatusCode::OK, "sign-in of {email}");
        let cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_string();
        let info: Value = r.json().await.unwrap();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::COOKIE, cookie.parse().unwrap());
        headers.insert(
            shared::staff::CSRF_HEADER,
            info["csrf_token"].as_str().unwrap().parse().unwrap(),
        );
        let session = Session {
            http: reqwest::Client::builder()
                .default_headers(headers)
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        };
        if let Some(new_password) = new_password {
            let r = session
                .http
                .post(format!("{base}/api/session/password"))
                .json(&json!({"current_password": password, "new_password": new_password}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "password change of {email}");
        }
        session
    }

    /// `GET /api/session` at `base`: status and body.
    async fn whoami(&self, base: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(format!("{base}/api/session"))
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

/// On a failing assertion, the ends of the replicas' and nginx's logs.
struct LogsOnPanic {
    files: Vec<std::path::PathBuf>,
}

impl Drop for LogsOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for f in &self.files {
                let text = std::fs::read_to_string(f).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                eprintln!(
                    "---- the end of {}:\n{}",
                    f.display(),
                    lines[lines.len().saturating_sub(40)..].join("\n")
                );
            }
        }
    }
}

/// The current holder of the job's lease.
async fn lease_holder(db: &PgPool) -> Option<String> {
    sqlx::query_scalar("SELECT holder FROM leases WHERE name = $1")
        .bind(JOB)
        .fetch_optional(db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_behind_nginx_share_sessions_and_survive_kill_9() {
    let Some(server) = postgres_server() else {
        return;
    };
    let database_url = gateway::database::scratch_postgres(&server)
        .await
        .expect("a fresh database on TEST_DATABASE_URL");
    let db = PgPoolOptions::new()
        .max_connections(2)
        .connect(&database_url)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("no-frontend")).unwrap();

    // One emulator for both replicas, in this process.
    let mut ec = EmulatorConfig::new(dir.path().join("emulator"));
    ec.seed_users = 5;
    ec.client_secret = SECRET.to_string();
    let emulator = podero_emulator::spawn(ec, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();

    // A first (it runs the migrations), then B.
    let a = start_replica("replica-a", dir.path(), &database_url, &emulator);
    let b = start_replica("replica-b", dir.path(), &database_url, &emulator);
    let nginx = tokio::task::block_in_place(|| Nginx::start_in(dir.path(), &[a.addr, b.addr]))
        .expect("nginx starts");
    let _logs = LogsOnPanic {
        files: vec![
            dir.path().join("replica-a.log"),
            dir.path().join("replica-b.log"),
            nginx.dir().join("error.log"),
            nginx.dir().join("access.log"),
        ],
    };
    let lb = nginx.url();
    let (at_a, at_b) = (a.url(), b.url());
    eprintln!("nginx on {lb} in front of {at_a} and {at_b}");

    // Signed in through nginx (the first admin's forced change too).
    let admin =
        Session::sign_in(&lb, ADMIN_EMAIL, ADMIN_FIRST_PASSWORD, Some(ADMIN_PASSWORD)).await;
    // The same cookie works on A and on B directly.
    for base in [&at_a, &at_b] {
        let (status, body) = admin.whoami(base).await;
        assert_eq!(status, StatusCode::OK, "the session on {base}: {body}");
        assert_eq!(body["account"]["email"], ADMIN_EMAIL);
        assert_eq!(body["account"]["must_change_password"], false, "{body}");
    }
    // Through nginx, requests alternate between the replicas.
    for _ in 0..6 {
        assert_eq!(admin.whoami(&lb).await.0, StatusCode::OK);
    }
    let log = nginx.access_log();
    for r in [&a, &b] {
        assert!(
            log.contains(&format!("upstream={}", r.addr)),
            "nginx sent nothing to {}:\n{log}",
            r.id
        );
    }
    // X-Forwarded-For from nginx is believed: the sign-in's client.
    let client: Option<String> = sqlx::query_scalar(
        "SELECT client_addr FROM audit WHERE action = 'session.sign_in' ORDER BY id LIMIT 1",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(client.as_deref(), Some("192.0.2.7"));

    // Signing out on A: B refuses the cookie at once.
    let second = Session::sign_in(&lb, ADMIN_EMAIL, ADMIN_PASSWORD, None).await;
    assert_eq!(second.whoami(&at_b).await.0, StatusCode::OK);
    let r = second
        .http
        .delete(format!("{at_a}/api/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(second.whoami(&at_b).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        admin.whoami(&at_b).await.0,
        StatusCode::OK,
        "only that session ended"
    );

    // A colleague (staff) through nginx; a role change on A applies on B.
    let email = "cluster-staff@example.com";
    let r = admin
        .http
        .post(format!("{lb}/api/team"))
        .json(
            &json!({"email": email, "first_name": "Cleo", "last_name": "Cluster", "role": "staff"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let invited: Value = r.json().await.unwrap();
    let member = invited["member"]["id"].as_str().unwrap().to_string();
    let otp = invited["one_time_password"].as_str().unwrap();
    let staff = Session::sign_in(&lb, email, otp, Some("cleo's own long password")).await;
    assert_eq!(staff.whoami(&at_b).await.1["account"]["role"], "staff");
    let r = admin
        .http
        .patch(format!("{at_a}/api/team/{member}"))
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(staff.whoami(&at_b).await.1["account"]["role"], "viewer");
    let r = staff
        .http
        .post(format!(
            "{at_b}/api/partners/v2.0/org/{}/users",
            emulator.org_id
        ))
        .json(&json!({"role": "user", "email": "viewer-try@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "a viewer creates nobody on B"
    );
    // Ending her sessions on A: B refuses her at once.
    let r = admin
        .http
        .delete(format!("{at_a}/api/team/{member}/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(staff.whoami(&at_b).await.0, StatusCode::UNAUTHORIZED);

    // The job runs on one replica.
    let deadline = Instant::now() + Duration::from_secs(15);
    let holder = loop {
        if let Some(h) = lease_holder(&db).await {
            break h;
        }
        assert!(Instant::now() < deadline, "no replica took the {JOB} lease");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (mut victim, survivor) = if holder == a.id { (a, b) } else { (b, a) };
    assert_eq!(holder, victim.id);

    // Writes through nginx in parallel; the lease holder is killed mid-stream.
    const WORKERS: usize = 4;
    const PER_WORKER: usize = 40;
    let users_url = format!("{lb}/api/partners/v2.0/org/{}/users", emulator.org_id);
    let done = Arc::new(AtomicUsize::new(0));
    let answered: Arc<Mutex<Vec<(String, u16)>>> = Arc::default();
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let (http, url) = (admin.http.clone(), users_url.clone());
        let (done, answered) = (done.clone(), answered.clone());
        workers.push(tokio::spawn(async move {
            for i in 0..PER_WORKER {
                let email = format!("cluster-w{w}-n{i}@example.com");
                let status = match http
                    .post(&url)
                    .json(&json!({"role": "user", "email": email, "first_name": "Stream"}))
                    .send()
                    .await
                {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                };
                answered.lock().unwrap().push((email, status));
                done.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while done.load(Ordering::SeqCst) < WORKERS * PER_WORKER / 4 {
        assert!(Instant::now() < deadline, "the writes do not progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let at_kill = done.load(Ordering::SeqCst);
    victim.proc.kill().unwrap();
    let killed = Instant::now();
    eprintln!("killed {} (SIGKILL) after {at_kill} writes", victim.id);

    // The lease moves to the survivor.
    let moved_in = loop {
        if lease_holder(&db).await.as_deref() == Some(survivor.id) {
            break killed.elapsed();
        }
        assert!(
            killed.elapsed() < FAILOVER_LIMIT,
            "the {JOB} lease did not move to {} within {FAILOVER_LIMIT:?}",
            survivor.id
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!(
        "fail-over: the {JOB} lease moved from {} to {} {:.1} s after kill -9",
        victim.id,
        survivor.id,
        moved_in.as_secs_f64()
    );
    for w in workers {
        w.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    let ok: Vec<&(String, u16)> = answered
        .iter()
        .filter(|(_, s)| (200..300).contains(s))
        .collect();
    let failed: Vec<&(String, u16)> = answered
        .iter()
        .filter(|(_, s)| !(200..300).contains(s))
        .collect();
    eprintln!(
        "{} writes: {} answered 2xx, {} not ({:?})",
        answered.len(),
        ok.len(),
        failed.len(),
        failed.iter().map(|(_, s)| *s).collect::<Vec<_>>()
    );
    // Only what was in flight on the killed replica may fail.
    assert!(
        failed.len() <= WORKERS,
        "more failures than requests in flight at the kill: {failed:?}"
    );
    assert!(ok.len() > at_kill, "writes went on after the kill");

    // Every write answered 2xx has its intent (status 0) and its outcome
    // (naming the intent, with that status) in the audit trail.
    let rows: Vec<(i64, i64, Option<i64>, String)> = sqlx::query_as(
        "SELECT id, status, outcome_of, changes FROM audit WHERE action = 'user.create' ORDER BY id",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    for (email, status) in &ok {
        let needle = format!("\"{email}\"");
        let mine: Vec<_> = rows.iter().filter(|r| r.3.contains(&needle)).collect();
        let intent = mine
            .iter()
            .find(|r| r.1 == 0 && r.2.is_none())
            .unwrap_or_else(|| panic!("no intent recorded for {email}: {mine:?}"));
        let outcome = mine
            .iter()
            .find(|r| r.2 == Some(intent.0))
            .unwrap_or_else(|| panic!("no outcome recorded for {email}: {mine:?}"));
        assert_eq!(outcome.1, i64::from(*status), "{email}");
    }
    eprintln!(
        "audit trail: intent and outcome for each of the {} writes",
        ok.len()
    );

    // The survivor answers everything through nginx.
    for _ in 0..4 {
        assert_eq!(admin.whoami(&lb).await.0, StatusCode::OK);
    }

    drop(nginx);
    drop(survivor);
    drop(victim);
    db.close().await;
    emulator.shutdown().await;
}
