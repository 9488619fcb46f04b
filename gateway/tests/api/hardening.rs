//! Issue 11's breaks, each tried as an attacker would: a burst of
//! sign-ins (the real binary, its peak memory), a viewer reading the
//! team's records, a staff change when Podero cannot say the target's
//! role, the audit store failing around a change, a flood without a
//! session, an unbounded search, one-time passwords that expire, HSTS,
//! and bodies forwarded as JSON.

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use futures::future::join_all;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{
    eventually, fake_api, spawn_app, spawn_app_with, spawn_binary, spawn_emulator,
    spawn_fake_upstream, spawn_gateway_for, Checked, Options, Resp, TestApp, ADMIN_EMAIL,
    TEST_SECRET,
};

/// Statuses of `n` parallel wrong-password sign-ins (`email(i)` each).
async fn burst(base: &str, n: usize, email: impl Fn(usize) -> String) -> Vec<u16> {
    let http = reqwest::Client::new();
    join_all((0..n).map(|i| {
        let req = http
            .post(format!("{base}/api/session"))
            .header(shared::staff::CSRF_HEADER, "sign-in")
            .json(&json!({"email": email(i), "password": "wrong password for the burst"}));
        async move { req.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
    }))
    .await
}

#[tokio::test]
async fn a_burst_of_sign_ins_is_throttled_before_any_hashing() {
    let data = tempfile::tempdir().unwrap();
    let (emulator, ec) = spawn_emulator(data.path(), 10).await;
    let gw_data = data.path().join("gateway");
    std::fs::create_dir_all(&gw_data).unwrap();
    // The per-client limit of requests without a session is raised, so
    // what is measured is the sign-in throttle.
    let env = [("GATEWAY_UNAUTHENTICATED_PER_MINUTE", "100000")];
    let gw = spawn_binary(
        &emulator,
        &ec.client_id,
        &gw_data,
        "gateway.log",
        &gw_data.join("no-frontend"),
        &env,
    )
    .await;
    let base = gw.base_url.clone();

    // One account, one client: at most the account limit is checked.
    let statuses = burst(&base, 200, |_| ADMIN_EMAIL.to_string()).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!(checked <= 5, "{checked} wrong passwords were checked");
    assert_eq!(
        checked + refused,
        200,
        "every answer is 401 or 429: {statuses:?}"
    );

    // Many accounts, one client: at most the client limit.
    let statuses = burst(&base, 200, |i| format!("nobody-{i}@example.com")).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(checked <= 20, "{checked} unknown accounts were checked");
    assert_eq!(
        checked + statuses.iter().filter(|s| **s == 429).count(),
        200
    );

    let peak = gw.peak_rss();
    assert!(
        peak < 150 * 1024 * 1024,
        "peak RSS {} MB after 400 parallel sign-ins",
        peak / 1024 / 1024
    );
}

/// An end-user of the organisation (role `user`).
async fn end_user(app: &TestApp) -> Value {
    let r = app.client.send(app.client.get(&app.api("/users"))).await;
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "user" && u["deleted_at"].is_null())
        .cloned()
        .expect("an end-user")
}

#[tokio::test]
async fn only_admins_read_records_about_the_team() {
    let app = spawn_app().await;
    let (staff, staff_member) = app.member("staff").await;
    let (viewer, _) = app.member("viewer").await;
    let colleague = staff_member["podero_user_id"].as_str().unwrap().to_string();
    let history = |id: &str| format!("{}/api/audit/users/{id}", app.address);

    for (who, c) in [("viewer", &viewer), ("staff", &staff)] {
        let r = c.send(c.get(&history(&colleague))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}: {}", r.text());
        assert!(!r.text().contains("\"action\""), "{who} sees no record");
    }
    // The admin sees the colleague's history, but never the team records
    // in it (those are on the audit page).
    let r = app.client.send(app.client.get(&history(&colleague))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .all(|e| !e["action"].as_str().unwrap().starts_with("team.")));

    // An end-user's history is every role's.
    let u = end_user(&app).await;
    let id = u["id"].as_str().unwrap();
    let r = app
        .client
        .send(
            app.client
                .http
                .put(app.api(&format!("/users/{id}")))
                .json(&json!({"town": "Wels"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = viewer.send(viewer.get(&history(id))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()[0]["action"], "user.update");
    // An id Podero does not know.
    let r = viewer
        .send(viewer.get(&history(&Uuid::new_v4().to_string())))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// A proxy between gateway and emulator that can fail the role lookup
/// (`GET …/users/{id}?include_deleted=true`) with 503.
struct FaultyPodero {
    url: String,
    target: Arc<Mutex<String>>,
    fail_role_lookup: Arc<AtomicBool>,
    /// The status of the injected failure (503 unless set).
    fail_status: Arc<AtomicU16>,
}

async fn faulty_podero() -> FaultyPodero {
    use axum::body::Body;
    use axum::extract::{Request, State};
    use axum::response::{IntoResponse, Response};

    #[derive(Clone)]
    struct St {
        target: Arc<Mutex<String>>,
        fail: Arc<AtomicBool>,
        status: Arc<AtomicU16>,
        http: reqwest::Client,
    }
    async fn pass(State(st): State<St>, req: Request) -> Response {
        let path = req.uri().path().to_string();
        let query = req.uri().query().unwrap_or("").to_string();
        let last = path.rsplit('/').next().unwrap_or("");
        let role_lookup = req.method() == axum::http::Method::GET
            && Uuid::parse_str(last).is_ok()
            && path.contains("/users/")
            && query.contains("include_deleted=true");
        if role_lookup && st.fail.load(Ordering::SeqCst) {
            let status = StatusCode::from_u16(st.status.load(Ordering::SeqCst))
                .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return (status, axum::Json(json!({"detail": "injected failure"}))).into_response();
        }
        let target = st.target.lock().unwrap().clone();
        let url = format!("{target}{}", req.uri());
        let mut out = st.http.request(req.method().clone(), url);
        for (name, value) in req.headers() {
            if !matches!(
                name.as_str(),
                "host" | "content-length" | "transfer-encoding" | "connection"
            ) {
                out = out.header(name, value);
            }
        }
        let body = axum::body::to_bytes(req.into_body(), usize::MAX)
            .await
            .unwrap();
        let r = out.body(body).send().await.unwrap();
        let mut resp = Response::builder().status(r.status().as_u16());
        if let Some(ct) = r.headers().get("content-type") {
            resp = resp.header("content-type", ct.as_bytes());
        }
        resp.body(Body::from(r.bytes().await.unwrap())).unwrap()
    }
    let st = St {
        target: Arc::default(),
        fail: Arc::default(),
        status: Arc::new(AtomicU16::new(503)),
        http: reqwest::Client::new(),
    };
    let router = axum::Router::new().fallback(pass).with_state(st.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    FaultyPodero {
        url: format!("http://{addr}"),
        target: st.target,
        fail_role_lookup: st.fail,
        fail_status: st.status,
    }
}

#[tokio::test]
async fn staff_changes_fail_closed_when_the_role_cannot_be_read() {
    let proxy = faulty_podero().await;
    let (url, target) = (proxy.url.clone(), proxy.target.clone());
    let app = spawn_app_with(Options {
        adjust: Some(Box::new(move |config| {
            if let gateway::UpstreamConfig::Podero(p) = &mut config.upstream {
                *target.lock().unwrap() = p.base_url.clone();
                p.base_url = url;
            }
        })),
        ..Default::default()
    })
    .await;
    let (staff, _) = app.member("staff").await;
    let u = end_user(&app).await;
    let id = u["id"].as_str().unwrap();
    let buildings = app.api(&format!("/users/{id}/buildings"));
    let count = |r: Resp| r.json().as_array().map(Vec::len).unwrap_or(0);
    let before = count(app.client.send(app.client.get(&buildings)).await);

    proxy.fail_role_lookup.store(true, Ordering::SeqCst);
    let r = staff
        .send(staff.http.post(&buildings).json(&json!({"name": "Shed"})))
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert_eq!(r.code(), "role_check_failed");
    let r = staff
        .send(staff.http.delete(app.api(&format!("/users/{id}"))))
        .await;
    assert_eq!(r.code(), "role_check_failed", "{}", r.text());
    // Podero's own failure reaches the browser as Podero said it, not
    // dressed as one of the gateway's errors.
    proxy.fail_status.store(500, Ordering::SeqCst);
    let r = app
        .client
        .send(
            app.client
                .get(&app.api(&format!("/users/{id}?include_deleted=true"))),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.json()["detail"], "injected failure", "{}", r.text());
    proxy.fail_role_lookup.store(false, Ordering::SeqCst);
    assert_eq!(
        count(app.client.send(app.client.get(&buildings)).await),
        before,
        "nothing was created"
    );
    let r = app
        .client
        .send(app.client.get(&app.api(&format!("/users/{id}"))))
        .await;
    assert!(
        r.json()["deleted_at"].is_null(),
        "the user was not archived"
    );

    // An archived admin is still an admin.
    let r = app
        .client
        .send(app.client.http.post(app.api("/users")).json(
            &json!({"role": "admin", "email": format!("old-admin-{}@example.com", Uuid::new_v4().simple())}),
        ))
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    let admin_id = r.json()["id"].as_str().unwrap().to_string();
    let r = app
        .client
        .send(
            app.client
                .http
                .delete(app.api(&format!("/users/{admin_id}"))),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    let r = staff
        .send(
            staff
                .http
                .put(app.api(&format!("/users/{admin_id}")))
                .json(&json!({"first_name": "Mallory"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = staff
        .send(
            staff
                .http
                .post(app.api(&format!("/users/{admin_id}/buildings")))
                .json(&json!({"name": "Shed"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
}

async fn db(app: &TestApp) -> sqlx::SqlitePool {
    let path = app.data_dir().join("gateway.sqlite");
    sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap()
}

/// Run `f` while the audit table refuses inserts `when` (a real SQLite
/// trigger on the gateway's database: the store failing, no mock).
async fn with_failing_inserts<F, Fut>(pool: &sqlx::SqlitePool, when: &str, f: F) -> Resp
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Resp>,
{
    sqlx::query(&format!(
        "CREATE TRIGGER injected_failure BEFORE INSERT ON audit WHEN {when} \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    ))
    .execute(pool)
    .await
    .unwrap();
    let r = f().await;
    sqlx::query("DROP TRIGGER injected_failure")
        .execute(pool)
        .await
        .unwrap();
    r
}

async fn put_town(app: &TestApp, url: &str, town: &str) -> Resp {
    app.client
        .send(app.client.http.put(url).json(&json!({ "town": town })))
        .await
}

#[tokio::test]
async fn a_change_is_recorded_before_it_is_made_and_after() {
    let app = spawn_app().await;
    let u = end_user(&app).await;
    let id = u["id"].as_str().unwrap();
    let user_url = app.api(&format!("/users/{id}"));
    let pool = db(&app).await;

    // The outcome cannot be written: the change is made, its intent stands.
    let r = with_failing_inserts(&pool, "NEW.outcome_of IS NOT NULL", || {
        put_town(&app, &user_url, "Injected-Graz")
    })
    .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.text());
    assert_eq!(r.code(), "audit_unavailable");
    let r = app.client.send(app.client.get(&user_url)).await;
    assert_eq!(r.json()["town"], "Injected-Graz", "Podero made the change");
    let r = app
        .client
        .send(app.client.get(&format!(
            "{}/api/audit?action=user.update&user={id}",
            app.address
        )))
        .await;
    let entry = &r.json()["entries"][0];
    assert_eq!(entry["status"], 0, "outcome not recorded: {entry}");
    assert_eq!(entry["changes"][0]["to"], "Injected-Graz");

    // The intent cannot be written: nothing reaches Podero.
    let r = with_failing_inserts(&pool, "NEW.status = 0", || {
        put_town(&app, &user_url, "Never")
    })
    .await;
    assert_eq!(r.code(), "audit_unavailable", "{}", r.text());
    let r = app.client.send(app.client.get(&user_url)).await;
    assert_eq!(r.json()["town"], "Injected-Graz", "the change was not made");

    // Both recorded: one entry per operation, through its outcome.
    let r = put_town(&app, &user_url, "Linz").await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .client
        .send(app.client.get(&format!(
            "{}/api/audit?action=user.update&user={id}",
            app.address
        )))
        .await;
    assert_eq!(r.json()["entries"][0]["status"], 200);
    let (intents, outcomes): (i64, i64) = sqlx::query_as(
        "SELECT SUM(status = 0), SUM(outcome_of IS NOT NULL) FROM audit WHERE action = 'user.update'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((intents, outcomes), (2, 1));
}

#[tokio::test]
async fn requests_without_a_session_are_limited_and_folded() {
    let mut app = spawn_app().await;
    // A 16 KiB e-mail is stored cut.
    let long = format!("{}@example.com", "x".repeat(15 * 1024));
    let r = reqwest::Client::new()
        .post(format!("{}/api/session", app.address))
        .header(shared::staff::CSRF_HEADER, "x")
        .json(&json!({"email": long, "password": "whatever it is"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let anonymous = Checked::new(vec![TEST_SECRET.into()]);
    let url = format!("{}/api/directory/users", app.address);
    let statuses: Vec<u16> = join_all((0..300).map(|_| {
        let req = anonymous.http.get(&url);
        async move { req.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
    }))
    .await;
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(limited >= 150, "{limited} of 300 limited");
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    let r = anonymous.send(anonymous.get(&url)).await;
    assert_eq!(r.code(), "rate_limited");
    assert!(r.header("retry-after").is_some());

    let data = app.data_dir();
    // Stopping writes what is still folded.
    app.gateway.take().unwrap().shutdown().await;
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        data.join("gateway.sqlite").display()
    ))
    .await
    .unwrap();
    let (rows, total): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), SUM(count) FROM audit WHERE action = 'users.search' AND actor_id IS NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(total, 301, "every refusal is counted");
    assert!(rows <= 4, "{rows} records for 301 refusals");
    let longest: i64 = sqlx::query_scalar("SELECT MAX(LENGTH(actor_email)) FROM audit")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        longest <= 255,
        "an e-mail of {longest} characters was stored"
    );
}

#[tokio::test]
async fn searches_are_bounded() {
    let app = spawn_app().await;
    let words = ["mü"; 6000].join("+");
    let started = std::time::Instant::now();
    let r = app
        .client
        .send(
            app.client
                .get(&format!("{}/api/directory/users?q={words}", app.address)),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "invalid_query");
    assert_eq!(r.json()["detail"][0]["loc"], json!(["query", "q"]));
    assert!(r.text().contains("at most 200 characters and 12 words"));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn one_time_passwords_expire_and_admins_issue_new_ones() {
    let app = spawn_app_with(Options {
        adjust: Some(Box::new(|c| {
            c.one_time_password_ttl = Duration::from_secs(3);
        })),
        ..Default::default()
    })
    .await;
    let email = format!("otp-{}@example.com", Uuid::new_v4().simple());
    let r = app
        .client
        .send(app.client.http.post(format!("{}/api/team", app.address)).json(
            &json!({"email": email, "first_name": "Olga", "last_name": "Tee", "role": "staff"}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let member = r.json()["member"].clone();
    assert!(member["one_time_password_expires_at"].is_string());
    let otp = r.json()["one_time_password"].as_str().unwrap().to_string();
    let sign_in = |password: String| {
        let http = reqwest::Client::new();
        let url = format!("{}/api/session", app.address);
        let email = email.clone();
        async move {
            let r = http
                .post(url)
                .header(shared::staff::CSRF_HEADER, "x")
                .json(&json!({"email": email, "password": password}))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            (status, body["code"].as_str().unwrap_or("").to_string())
        }
    };
    eventually(Duration::from_secs(15), || {
        let attempt = sign_in(otp.clone());
        async move {
            let (status, code) = attempt.await;
            (status == StatusCode::UNAUTHORIZED && code == "one_time_password_expired")
                .then_some(())
        }
    })
    .await;

    // Locked out by wrong passwords as well.
    for _ in 0..6 {
        sign_in("not the password at all".into()).await;
    }
    assert_eq!(sign_in(otp.clone()).await.0, StatusCode::TOO_MANY_REQUESTS);

    // Only an admin may issue a new one, and not for themselves.
    let id = member["id"].as_str().unwrap();
    let reset = format!("{}/api/team/{id}/password", app.address);
    for role in ["staff", "viewer"] {
        let (c, _) = app.member(role).await;
        let r = c.send(c.http.post(&reset)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role}");
    }
    let me = app
        .client
        .send(app.client.get(&format!("{}/api/session", app.address)))
        .await
        .json()["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .client
        .send(
            app.client
                .http
                .post(format!("{}/api/team/{me}/password", app.address)),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app.client.send(app.client.http.post(&reset)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let new_otp = r.json()["one_time_password"].as_str().unwrap().to_string();
    assert_ne!(new_otp, otp);
    let (status, code) = sign_in(new_otp).await;
    assert_eq!(status, StatusCode::OK, "{code}");
    assert_eq!(sign_in(otp).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn strict_transport_security_only_over_https() {
    let app = spawn_app_with(Options {
        adjust: Some(Box::new(|c| c.cookie_secure = gateway::CookieSecure::True)),
        ..Default::default()
    })
    .await;
    let r = reqwest::get(format!("{}/healthz", app.address))
        .await
        .unwrap();
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    let plain = spawn_app().await;
    let r = reqwest::get(format!("{}/healthz", plain.address))
        .await
        .unwrap();
    assert!(r.headers().get("strict-transport-security").is_none());
}

#[tokio::test]
async fn forwarded_bodies_are_json() {
    let fake = spawn_fake_upstream(false).await;
    let gw = spawn_gateway_for(&fake.base_url, Duration::from_secs(5)).await;
    let admin = Checked::admin(&gw.base_url, vec![TEST_SECRET.into()]).await;
    let u = Uuid::new_v4();
    let url = fake_api(&gw, &format!("/users/{u}/buildings"));
    let r = admin
        .send(
            admin
                .http
                .post(&url)
                .header("content-type", "text/plain")
                .body(r#"{"name": "Shed"}"#),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    {
        let seen = fake.seen.lock().unwrap();
        let post = seen
            .iter()
            .rev()
            .find(|s| s.method == "POST")
            .expect("forwarded");
        assert_eq!(post.headers["content-type"], "application/json");
    }
    // Not JSON: refused here, never sent.
    let before = fake.seen.lock().unwrap().len();
    let r = admin
        .send(admin.http.post(&url).body("name=Shed&x=<script>"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(fake.seen.lock().unwrap().len(), before);
    gw.shutdown().await;
}

#[tokio::test]
async fn an_answer_without_a_body_is_not_encoded() {
    let app = spawn_app().await;
    let r = app
        .client
        .send(
            app.client
                .http
                .delete(format!("{}/api/session", app.address))
                .header("accept-encoding", "gzip, deflate, br"),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.header("content-encoding").is_none(), "{:?}", r.headers);
}

/// A client that trickles its request head ("slowloris") or sends none
/// loses the connection once the head time limit has passed, instead of
/// holding it (and its task and buffers) for ever; other clients are
/// served meanwhile.
#[tokio::test]
async fn a_request_head_not_sent_in_time_closes_the_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(Options {
        adjust: Some(Box::new(|c| c.head_timeout = Duration::from_secs(1))),
        ..Options::default()
    })
    .await;
    let host = app.address.trim_start_matches("http://").to_string();
    let mut idle = tokio::net::TcpStream::connect(&host).await.unwrap();
    let mut slow = tokio::net::TcpStream::connect(&host).await.unwrap();
    slow.write_all(format!("GET /api/session HTTP/1.1\r\nHost: {host}\r\nX-Slow: a").as_bytes())
        .await
        .unwrap();
    // Another client is answered while those two wait.
    let r = app
        .client
        .send(app.client.get(&format!("{}/api/session", app.address)))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    for (name, stream) in [("nothing sent", &mut idle), ("half a head", &mut slow)] {
        let mut buf = Vec::new();
        let closed =
            tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut buf)).await;
        assert!(
            closed.is_ok(),
            "{name}: the connection is still open 15 s after the 1 s head limit"
        );
    }
    app.shutdown().await;
}
