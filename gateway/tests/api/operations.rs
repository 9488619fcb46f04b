//! Operations: Prometheus metrics on their own listener (and not on the
//! app's), JSON logs without secrets, a bad log format refused, and a
//! graceful shutdown that finishes the request in flight.
//!
//! The metrics recorder is process-wide and other tests run gateways in
//! this process at the same time, so the checks compare counters before
//! and after this test's own requests (they can only have grown by at
//! least as much) instead of expecting exact values.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use gateway::{Application, Config, PoderoCredentials, Secret, UpstreamConfig};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{
    eventually, free_port, spawn_app_with, spawn_binary, spawn_emulator, Checked, Options,
    ADMIN_EMAIL, ADMIN_FIRST_PASSWORD, FAKE_ORG, TEST_SECRET,
};

/// Scrape `/metrics` at `addr`: content type and the samples by series
/// (`name{labels}` as written).
async fn scrape(addr: SocketAddr) -> (String, HashMap<String, f64>) {
    let r = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = r.text().await.unwrap();
    let mut samples = HashMap::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample line: {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {line:?}"));
        samples.insert(series.to_string(), value);
    }
    (content_type, samples)
}

/// How much `series` grew from `before` to `after` (absent counts as 0).
fn grew(before: &HashMap<String, f64>, after: &HashMap<String, f64>, series: &str) -> f64 {
    let after = *after
        .get(series)
        .unwrap_or_else(|| panic!("{series} is not in the metrics: {after:#?}"));
    after - before.get(series).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_only() {
    // The app's index.html, to see what the main listener answers instead.
    let frontend = tempfile::tempdir().unwrap();
    let index = "<!doctype html><title>the app</title>";
    std::fs::write(frontend.path().join("index.html"), index).unwrap();
    let mut app = spawn_app_with(Options {
        frontend_dir: Some(frontend.path().to_path_buf()),
        adjust: Some(Box::new(|c: &mut Config| {
            c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
        })),
        ..Options::default()
    })
    .await;
    let metrics = app
        .gateway()
        .metrics_addr
        .expect("a metrics listener is bound");
    assert_ne!(metrics, app.gateway().addr);
    let c = app.client.clone();
    let a = app.address.clone();

    let (content_type, before) = scrape(metrics).await;
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );

    // This test's traffic: each kind of route, and a forwarded call that
    // is refused before its route is known.
    for _ in 0..3 {
        let r = c.send(c.get(&app.api("/users"))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let users = c.send(c.get(&app.api("/users"))).await.json();
    let uid = users[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        c.send(c.get(&app.api(&format!("/users/{uid}"))))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        c.send(c.get(&format!("{a}/api/team"))).await.status,
        StatusCode::OK
    );
    assert_eq!(
        c.send(c.get(&format!("{a}/api/directory/users")))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        c.send(c.get(&format!("{a}/healthz"))).await.status,
        StatusCode::OK
    );
    let anonymous = c.without_session();
    assert_eq!(
        anonymous
            .send(anonymous.get(&app.api("/users")))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // The main listener has no /metrics: it is a client-side route of the
    // app like any other (index.html), never the numbers.
    let r = c.send(c.get(&format!("{a}/metrics"))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), index);
    assert!(!r
        .header("content-type")
        .unwrap_or_default()
        .contains("version=0.0.4"));
    // The metrics listener serves nothing else.
    let r = reqwest::get(format!("http://{metrics}/")).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // A new token after Podero forgot the old one (emulator restarted).
    app.restart_emulator().await;
    assert_eq!(
        c.send(c.get(&app.api("/users"))).await.status,
        StatusCode::OK
    );
    // Podero unreachable: an upstream error.
    app.emulator.take().unwrap().shutdown().await;
    let r = c.send(c.get(&app.api("/users"))).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.text());

    let (_, after) = scrape(metrics).await;
    let at_least = |series: &str, n: f64| {
        let g = grew(&before, &after, series);
        assert!(g >= n, "{series} grew by {g}, expected at least {n}");
    };
    // Requests by route and status, and their latency.
    at_least(
        r#"gateway_http_requests_total{method="GET",route="users.list",status="200"}"#,
        5.0,
    );
    at_least(
        r#"gateway_http_requests_total{method="GET",route="user.read",status="200"}"#,
        1.0,
    );
    at_least(
        r#"gateway_http_requests_total{method="GET",route="/api/team",status="200"}"#,
        1.0,
    );
    at_least(
        r#"gateway_http_requests_total{method="GET",route="/api/directory/users",status="200"}"#,
        1.0,
    );
    at_least(
        r#"gateway_http_requests_total{method="GET",route="/healthz",status="200"}"#,
        1.0,
    );
    at_least(
        r#"gateway_http_requests_total{method="GET",route="/api/{*rest}",status="401"}"#,
        1.0,
    );
    at_least(
        r#"gateway_http_requests_total{method="GET",route="static",status="200"}"#,
        1.0,
    );
    at_least(
        r#"gateway_http_requests_total{method="GET",route="users.list",status="502"}"#,
        1.0,
    );
    at_least(
        r#"gateway_http_request_duration_seconds_count{method="GET",route="users.list"}"#,
        5.0,
    );
    at_least(
        r#"gateway_http_request_duration_seconds_bucket{method="GET",route="users.list",le="+Inf"}"#,
        5.0,
    );
    assert!(after.contains_key("gateway_http_requests_in_flight"));
    // Upstream calls and errors by status.
    at_least(
        r#"gateway_upstream_requests_total{action="users.list",status="200"}"#,
        5.0,
    );
    at_least(
        r#"gateway_upstream_requests_total{action="users.list",status="401"}"#,
        1.0,
    );
    at_least(
        r#"gateway_upstream_requests_total{action="users.list",status="connect_failed"}"#,
        1.0,
    );
    at_least(
        r#"gateway_upstream_errors_total{action="users.list",status="connect_failed"}"#,
        1.0,
    );
    at_least(
        r#"gateway_upstream_request_duration_seconds_count{action="users.list"}"#,
        5.0,
    );
    // Token renewals.
    at_least(
        r#"gateway_token_renewals_total{trigger="rejected",result="ok"}"#,
        1.0,
    );
    at_least(
        r#"gateway_upstream_requests_total{action="oauth2.token",status="200"}"#,
        1.0,
    );
    // The users snapshot: size, time, age. (Gauges: other gateways in this
    // process set them too, so only their presence and range are this
    // test's to check.)
    assert!(after["gateway_users_snapshot_users"] >= 0.0, "{after:#?}");
    assert!(after["gateway_users_snapshot_timestamp_seconds"] > 1.6e9);
    assert!(after["gateway_users_snapshot_age_seconds"] >= 0.0);
    assert!(after.contains_key("gateway_users_snapshot_build_duration_seconds_count"));
    // Audit writes: at least one per request above that reached the guard.
    at_least("gateway_audit_write_duration_seconds_count", 8.0);
    // Background jobs.
    assert!(after.contains_key(r#"gateway_job_leader{job="users_refresh"}"#));
    assert!(after.contains_key(r#"gateway_job_leader{job="audit_refusal_flush"}"#));
    assert!(
        after
            .get(r#"gateway_job_runs_total{job="users_refresh",result="ok"}"#)
            .copied()
            .unwrap_or(0.0)
            >= 1.0
    );
    assert!(
        after.contains_key(r#"gateway_job_last_success_timestamp_seconds{job="users_refresh"}"#)
    );
    // Bounded labels: no raw path, organisation or user id.
    let org = app.org_id.to_string();
    for series in after.keys() {
        assert!(
            !series.contains(&org) && !series.contains(&uid) && !series.contains("/partners/"),
            "a label carries a raw path or id: {series}"
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn json_logs_are_json_lines_without_secrets() {
    let data = tempfile::tempdir().unwrap();
    let (emulator, ec) = spawn_emulator(data.path(), 5).await;
    let gw_data = data.path().join("gateway");
    std::fs::create_dir_all(&gw_data).unwrap();
    let metrics_port = free_port().to_string();
    let metrics_listen = format!("127.0.0.1:{metrics_port}");
    let gateway = spawn_binary(
        &emulator,
        &ec.client_id,
        &gw_data,
        "json.log",
        &gw_data.join("no-frontend"),
        &[
            ("GATEWAY_LOG_FORMAT", "json"),
            ("GATEWAY_METRICS_LISTEN", &metrics_listen),
            ("GATEWAY_ADMIN_PASSWORD", ADMIN_FIRST_PASSWORD),
            ("RUST_LOG", "debug"),
        ],
    )
    .await;
    let a = gateway.base_url.clone();
    let new_password = "json-log-test-new-password-3e";
    let c = Checked::new(vec![TEST_SECRET.into()])
        .sign_in(&a, ADMIN_EMAIL, ADMIN_FIRST_PASSWORD, Some(new_password))
        .await;
    let api = format!("{a}/api/partners/v2.0/org/{}/users", emulator.org_id);
    assert_eq!(c.send(c.get(&api)).await.status, StatusCode::OK);
    assert_eq!(
        c.send(c.get(&format!("{a}/api/team"))).await.status,
        StatusCode::OK
    );
    // The binary serves metrics on GATEWAY_METRICS_LISTEN; it is the only
    // gateway in its process, so the numbers are exactly its own.
    let metrics_addr: SocketAddr = metrics_listen.parse().unwrap();
    let (_, samples) = scrape(metrics_addr).await;
    assert_eq!(
        samples[r#"gateway_http_requests_total{method="GET",route="/api/team",status="200"}"#],
        1.0
    );
    eventually(Duration::from_secs(10), || async move {
        let (_, samples) = scrape(metrics_addr).await;
        (samples.get("gateway_users_snapshot_users") == Some(&5.0)).then_some(())
    })
    .await;
    // Wait (with a deadline) for the last request's log line.
    let log = gateway.log.clone();
    let text = eventually(Duration::from_secs(10), || {
        let log = log.clone();
        async move {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            text.contains("/api/team").then_some(text)
        }
    })
    .await;
    drop(gateway);

    let cookie = c.cookie.clone().unwrap();
    let cookie_value = cookie.split_once('=').unwrap().1.to_string();
    let mut needles = emulator.emulator.issued_tokens();
    assert!(!needles.is_empty(), "the gateway took a token");
    needles.extend([
        TEST_SECRET.to_string(),
        ADMIN_FIRST_PASSWORD.to_string(),
        new_password.to_string(),
        cookie_value,
    ]);
    let mut request_spans = 0;
    let mut lines = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        lines += 1;
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(v["timestamp"].is_string(), "{line}");
        assert!(v["level"].is_string(), "{line}");
        assert!(v["target"].is_string(), "{line}");
        for n in &needles {
            assert!(!line.contains(n.as_str()), "the log carries {n:?}: {line}");
        }
        if v["span"]["name"] == "request" {
            request_spans += 1;
            let mut fields: Vec<&str> = v["span"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            fields.sort();
            assert_eq!(fields, ["method", "name", "path"], "{line}");
        }
    }
    assert!(lines > 5, "only {lines} log lines:\n{text}");
    assert!(
        request_spans > 0,
        "no request log line in the request span:\n{text}"
    );
    emulator.shutdown().await;
}

#[test]
fn a_bad_log_format_is_a_configuration_error() {
    let data = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
        .env_clear()
        .env("GATEWAY_LOG_FORMAT", "xml")
        .env("GATEWAY_DATA_DIR", data.path())
        .env("GATEWAY_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(r#"GATEWAY_LOG_FORMAT must be one of: text, json; got "xml""#),
        "{stderr}"
    );
}

/// A Podero whose read of one user answers only when the test says so.
struct SlowUpstream {
    base_url: String,
    arrived: Arc<AtomicBool>,
    release: Arc<tokio::sync::Notify>,
}

const SLOW_USER: Uuid = Uuid::from_u128(0x51050000_0000_4000_8000_000000000001);

async fn spawn_slow_upstream() -> SlowUpstream {
    use axum::extract::{Request, State};
    use axum::response::IntoResponse;

    #[derive(Clone)]
    struct St {
        arrived: Arc<AtomicBool>,
        release: Arc<tokio::sync::Notify>,
    }
    async fn token() -> impl IntoResponse {
        axum::Json(serde_json::json!({
            "access_token": "slow-upstream-token-4a1c",
            "expires_in": 3600,
            "token_type": "Bearer",
        }))
    }
    async fn api(State(st): State<St>, req: Request) -> axum::response::Response {
        if req.uri().path().ends_with(&SLOW_USER.to_string()) {
            let released = st.release.notified();
            st.arrived.store(true, Ordering::SeqCst);
            released.await;
            return axum::Json(serde_json::json!({"id": SLOW_USER, "first_name": "Slow"}))
                .into_response();
        }
        // The users list of the read model, and anything else: empty.
        axum::Json(serde_json::json!([])).into_response()
    }
    let st = St {
        arrived: Arc::default(),
        release: Arc::default(),
    };
    let router = axum::Router::new()
        .route("/oauth2/token/", axum::routing::post(token))
        .fallback(api)
        .with_state(st.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    SlowUpstream {
        base_url: format!("http://{addr}"),
        arrived: st.arrived,
        release: st.release,
    }
}

/// Whether nothing accepts connections at `addr` any more.
async fn refused(addr: SocketAddr) -> Option<()> {
    tokio::net::TcpStream::connect(addr)
        .await
        .is_err()
        .then_some(())
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight() {
    gateway::telemetry::init();
    let upstream = spawn_slow_upstream().await;
    let data = tempfile::tempdir().unwrap();
    let mut config = Config::new(UpstreamConfig::Podero(PoderoCredentials {
        base_url: upstream.base_url.clone(),
        client_id: "test-client".into(),
        client_secret: Secret::new(TEST_SECRET),
        org_id: FAKE_ORG,
    }));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    config.data_dir = data.path().to_path_buf();
    config.frontend_dir = data.path().join("no-frontend");
    config.admin_password = Some(Secret::new(ADMIN_FIRST_PASSWORD));
    config.request_timeout = Duration::from_secs(20);
    let gateway = Application::build(config).await.unwrap().spawn();
    let addr = gateway.addr;
    let metrics = gateway.metrics_addr.unwrap();
    let c = Checked::admin(&gateway.base_url, vec![TEST_SECRET.into()]).await;

    // A read that Podero answers only when released.
    let url = format!(
        "{}/api/partners/v2.0/org/{FAKE_ORG}/users/{SLOW_USER}",
        gateway.base_url
    );
    let in_flight = tokio::spawn({
        let c = c.clone();
        async move { c.send(c.get(&url)).await }
    });
    let arrived = upstream.arrived.clone();
    eventually(Duration::from_secs(10), || {
        let arrived = arrived.clone();
        async move { arrived.load(Ordering::SeqCst).then_some(()) }
    })
    .await;

    // Stop: neither listener takes new connections...
    let stopping = tokio::spawn(gateway.shutdown());
    eventually(Duration::from_secs(10), || refused(addr)).await;
    eventually(Duration::from_secs(10), || refused(metrics)).await;
    // ...but the request in flight is still being waited for.
    assert!(!stopping.is_finished(), "stopped with a request in flight");
    assert!(!in_flight.is_finished());

    upstream.release.notify_one();
    let r = tokio::time::timeout(Duration::from_secs(10), in_flight)
        .await
        .expect("the request in flight is answered")
        .unwrap();
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["first_name"], "Slow");
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("the gateway stops once the request is answered")
        .unwrap();
}
