//! The support desk over HTTP: case rules (opening, the timeline, no
//! duplicate device case, validation, the audit trail), the fleet watch
//! against the real emulator (cases opened for lost devices, resolved when
//! they come back, the request budget held under a counting upstream,
//! back-off on 429, resuming after a restart) and the outgoing webhook
//! against a real local receiver (signature, retries).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gateway::{Application, Config, PoderoCredentials, RunningGateway, Secret, UpstreamConfig};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::{
    eventually, spawn_app_with, spawn_emulator, Checked, Options, TestApp, ADMIN_EMAIL,
    ADMIN_FIRST_PASSWORD, ADMIN_PASSWORD, TEST_SECRET,
};

const WAIT: Duration = Duration::from_secs(60);

fn watched(rps: f64, seed_users: usize) -> Options {
    Options {
        seed_users,
        adjust: Some(Box::new(move |c: &mut Config| c.watch_rps = rps)),
        ..Default::default()
    }
}

/// The first end-user of the organisation (a Podero user with role `user`).
async fn end_user(app: &TestApp) -> Value {
    let c = &app.client;
    let users = c.send(c.get(&app.api("/users"))).await.json();
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "user" && u["deleted_at"].is_null())
        .unwrap()
        .clone()
}

async fn cases_of(app: &TestApp, query: &str) -> Value {
    let c = &app.client;
    let r = c
        .send(c.get(&format!("{}/api/cases?{query}", app.address)))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn event_kinds(detail: &Value) -> Vec<String> {
    detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn cases_by_hand_timeline_rules_and_audit() {
    let app = spawn_app_with(Options::default()).await;
    let c = &app.client;
    let a = &app.address;
    let user = end_user(&app).await;
    let uid = user["id"].as_str().unwrap();

    // Every broken rule is named, and nothing is stored.
    let r = c
        .send(c.http.post(format!("{a}/api/cases")).json(&json!({
            "user_id": uid, "subject": "  ", "comment": "x".repeat(6000)
        })))
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let text = r.text();
    for field in ["kind", "subject", "comment"] {
        assert!(text.contains(field), "{field} not named: {text}");
    }
    let r = c
        .send(
            c.http
                .post(format!("{a}/api/cases"))
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(cases_of(&app, &format!("user_id={uid}")).await["total"], 0);

    // A question, with a first comment.
    let r = c
        .send(c.http.post(format!("{a}/api/cases")).json(&json!({
            "user_id": uid, "kind": "question", "subject": "Which tariff fits the heat pump?",
            "priority": "high", "comment": "Customer called at 9:10."
        })))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let opened = r.json();
    let id = opened["case"]["id"].as_i64().unwrap();
    assert_eq!(opened["case"]["state"], "open");
    assert_eq!(opened["case"]["kind"], "question");
    assert_eq!(opened["case"]["priority"], "high");
    assert_eq!(event_kinds(&opened), ["opened", "comment"]);

    // The user's cases as JSON.
    let mine = cases_of(&app, &format!("user_id={uid}")).await;
    assert_eq!(mine["total"], 1);
    let listed = &mine["cases"][0];
    for key in [
        "state",
        "kind",
        "device_id",
        "opened_at",
        "subject",
        "user_id",
    ] {
        assert!(listed.get(key).is_some(), "{key} missing: {listed}");
    }
    assert_eq!(mine["counts"]["open"], 1);
    assert_eq!(mine["counts"]["open_unassigned"], 1);

    // Take it, wait on the customer, comment.
    let session = c.send(c.get(&format!("{a}/api/session"))).await.json();
    let me = session["account"]["id"]
        .as_str()
        .or_else(|| session["id"].as_str())
        .expect("the session names the account")
        .to_string();
    let r = c
        .send(
            c.http
                .patch(format!("{a}/api/cases/{id}"))
                .json(&json!({"assignee": me, "state": "waiting_on_customer"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let changed = r.json();
    assert_eq!(changed["case"]["state"], "waiting_on_customer");
    assert_eq!(changed["case"]["assignee"]["id"], me.as_str());
    let r = c
        .send(
            c.http
                .post(format!("{a}/api/cases/{id}/comments"))
                .json(&json!({"text": "Sent the tariff sheet."})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        event_kinds(&r.json()),
        ["opened", "comment", "state_changed", "assigned", "comment"]
    );
    let summary = c
        .send(c.get(&format!("{a}/api/cases/summary")))
        .await
        .json();
    assert_eq!(summary["waiting_on_customer"], 1);
    assert_eq!(summary["open_unassigned"], 0);

    // Filters: mine, unassigned, state; bad values named.
    assert_eq!(cases_of(&app, "assignee=mine").await["total"], 1);
    assert_eq!(cases_of(&app, "assignee=unassigned").await["total"], 0);
    assert_eq!(cases_of(&app, "state=open").await["total"], 0);
    let r = c
        .send(c.get(&format!("{a}/api/cases?state=closed&sort=sideways")))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("waiting_on_customer"), "{}", r.text());

    // Bad ids and unknown cases.
    for (path, status) in [("abc", 400), ("-1", 400), ("99999", 404)] {
        let r = c.send(c.get(&format!("{a}/api/cases/{path}"))).await;
        assert_eq!(r.status, status, "{path}: {}", r.text());
    }
    // An assignee that is not an account.
    let r = c
        .send(
            c.http
                .patch(format!("{a}/api/cases/{id}"))
                .json(&json!({"assignee": uuid::Uuid::new_v4()})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("assignee"));

    // One device-connection case per device.
    let r = c
        .send(
            c.http
                .post(app.api(&format!("/users/{uid}/wallboxes")))
                .json(&json!({})),
        )
        .await;
    let device = r.json()["id"].as_str().unwrap().to_string();
    let new_device_case = || {
        c.http.post(format!("{a}/api/cases")).json(&json!({
            "user_id": uid, "kind": "device_connection", "subject": "Wallbox offline",
            "device_id": device, "device_kind": "wallbox"
        }))
    };
    assert_eq!(c.send(new_device_case()).await.status, 201);
    let again = c.send(new_device_case()).await;
    assert_eq!(again.status, 409, "{}", again.text());
    assert!(again.text().contains("device_id"));

    // The CSV holds every match.
    let r = c
        .send(c.get(&format!("{a}/api/cases.csv?user_id={uid}")))
        .await;
    assert_eq!(r.status, 200);
    let csv = r.text();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.contains("Which tariff fits the heat pump?"));

    // Every change is in the audit trail, and in the user's history.
    let audit = c
        .send(c.get(&format!(
            "{a}/api/audit?action=case&changes_only=true&per_page=50"
        )))
        .await
        .json();
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in ["case.open", "case.update", "case.comment"] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
    let history = c
        .send(c.get(&format!("{a}/api/audit/users/{uid}")))
        .await
        .text();
    assert!(history.contains("case.open"), "{history}");
    app.shutdown().await;
}

/// The queue's search over HTTP: words of the subject or a comment find
/// their case, combined with the other filters and paging; `%` and `_`
/// are plain characters; a search too long is refused with a JSON message
/// naming `q` and the limits, in the CSV and the summary as in the list.
#[tokio::test]
async fn the_queue_searches_subjects_comments_and_users() {
    let app = spawn_app_with(Options::default()).await;
    let c = &app.client;
    let a = &app.address;
    let user = end_user(&app).await;
    let uid = user["id"].as_str().unwrap();
    let mut ids = Vec::new();
    for (subject, comment) in [
        ("Heat pump noisy at night", "Customer wants 100% quiet."),
        ("Tariff_change for March", "Sent the form."),
        ("Wallbox charges slowly", "Checked the fuse."),
    ] {
        let r = c
            .send(c.http.post(format!("{a}/api/cases")).json(&json!({
                "user_id": uid, "kind": "question", "subject": subject, "comment": comment
            })))
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        ids.push(r.json()["case"]["id"].as_i64().unwrap());
    }
    let found = |list: &Value| -> Vec<i64> {
        let mut ids: Vec<i64> = list["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect();
        ids.sort();
        ids
    };
    for (query, want) in [
        ("q=NOISY", vec![ids[0]]),
        ("q=heat+night", vec![ids[0]]),
        ("q=heat+fuse", vec![]),
        ("q=fuse", vec![ids[2]]),
        ("q=100%25", vec![ids[0]]),
        ("q=%25", vec![ids[0]]),
        ("q=_", vec![ids[1]]),
        ("q=tariff%25march", vec![]),
        ("q=march&state=resolved", vec![]),
        ("q=march&kind=question&state=open", vec![ids[1]]),
    ] {
        let list = cases_of(&app, query).await;
        assert_eq!(found(&list), want, "{query}: {list}");
        assert_eq!(list["total"], want.len(), "{query}");
    }
    // The end-user's name (the case keeps it), on one page of one.
    let name = cases_of(&app, &format!("user_id={uid}")).await["cases"][0]["user_name"]
        .as_str()
        .unwrap()
        .to_string();
    let word = name.split_whitespace().next().unwrap().to_uppercase();
    let paged = cases_of(
        &app,
        &format!(
            "q={}&per_page=1&page=2&sort=oldest",
            shared::directory::percent_encode(&word)
        ),
    )
    .await;
    assert_eq!(paged["total"], 3, "{word}: {paged}");
    assert_eq!(found(&paged), [ids[1]]);
    let summary = c
        .send(c.get(&format!("{a}/api/cases/summary?q=slowly")))
        .await
        .json();
    assert_eq!(summary["open"], 1, "{summary}");
    let csv = c.send(c.get(&format!("{a}/api/cases.csv?q=slowly"))).await;
    assert_eq!(csv.text().lines().count(), 2, "{}", csv.text());

    // Too long: 400 with a JSON message naming the field and the limits.
    let long = "a".repeat(201);
    for path in ["/api/cases", "/api/cases.csv", "/api/cases/summary"] {
        let r = c.send(c.get(&format!("{a}{path}?q={long}"))).await;
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        let body = r.json();
        assert_eq!(body["code"], "invalid_query", "{body}");
        let text = body.to_string();
        assert!(text.contains("\"q\""), "{path}: q not named: {text}");
        assert!(text.contains("200"), "{path}: no limit: {text}");
    }
    let many = ["w"; 13].join("+");
    let r = c.send(c.get(&format!("{a}/api/cases?q={many}"))).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("12"), "{}", r.text());

    // The OpenAPI description names the parameter and its bound.
    let doc = c.send(c.get(&format!("{a}/api/openapi.json"))).await.json();
    let params = doc["paths"]["/api/cases"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let q = params
        .iter()
        .find(|p| p["name"] == "q")
        .expect("q is described");
    assert_eq!(q["in"], "query");
    assert_eq!(q["schema"]["maxLength"], 200, "{q}");
    app.shutdown().await;
}

/// Set one device's manufacturer connection on the emulator.
async fn watch_status(app: &TestApp) -> Value {
    let c = &app.client;
    c.send(c.get(&format!("{}/api/watch", app.address)))
        .await
        .json()
}

async fn rounds(app: &TestApp) -> u64 {
    watch_status(app).await["rounds_completed"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn the_watch_opens_a_case_for_a_lost_device_and_resolves_it() {
    let app = spawn_app_with(watched(200.0, 20)).await;
    let c = &app.client;
    let a = &app.address;
    // The first round finds the seeded lost devices and opens their cases
    // with a "lost since" in the past.
    eventually(WAIT, || async { (rounds(&app).await >= 1).then_some(()) }).await;
    let status = watch_status(&app).await;
    let lost = status["devices_lost"].as_u64().unwrap();
    let seeded = cases_of(&app, "kind=device_connection&state=open&per_page=500").await;
    assert_eq!(seeded["total"].as_u64().unwrap(), lost, "{status}");
    assert!(status["estimated_round_secs"].as_f64().unwrap() > 0.0);
    for case in seeded["cases"].as_array().unwrap() {
        let since = case["lost_since"].as_str().expect("lost since");
        let since = chrono::DateTime::parse_from_rfc3339(since).unwrap();
        assert!(since <= chrono::Utc::now(), "{case}");
    }

    // A connected device of an end-user is lost now.
    let user = end_user(&app).await;
    let uid = user["id"].as_str().unwrap().to_string();
    let device = eventually(WAIT, || async {
        let w = c
            .send(c.get(&format!("{a}/api/watch/users/{uid}")))
            .await
            .json();
        w["devices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["is_authenticated"] == true && d["removed_at"].is_null())
            .map(|d| {
                (
                    d["device_id"].as_str().unwrap().to_string(),
                    d["kind"].clone(),
                )
            })
    })
    .await;
    let (device, kind) = device;
    app.set_connection(&device, false).await;
    let case = eventually(WAIT, || async {
        let found = cases_of(&app, &format!("device_id={device}&state=open")).await;
        found["cases"].as_array().unwrap().first().cloned()
    })
    .await;
    assert_eq!(case["kind"], "device_connection");
    assert_eq!(case["user_id"], uid.as_str());
    assert!(case["opened_by"].is_null(), "opened by the watch: {case}");
    let id = case["id"].as_i64().unwrap();

    // Another full round: still one case (no duplicate).
    let after = rounds(&app).await;
    eventually(WAIT, || async {
        (rounds(&app).await > after).then_some(())
    })
    .await;
    assert_eq!(
        cases_of(&app, &format!("device_id={device}")).await["total"],
        1
    );

    // The agent creates a reconnection link: an event on the case.
    let kind_path = match kind.as_str().unwrap() {
        "heat_pump" => "heat-pumps",
        "electric_vehicle" => "electric-vehicles",
        "wallbox" => "wallboxes",
        _ => "inverters",
    };
    let r = c
        .send(
            c.http
                .post(app.api(&format!("/users/{uid}/{kind_path}/{device}/auth_session")))
                .json(&json!({})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    let detail = c.send(c.get(&format!("{a}/api/cases/{id}"))).await.json();
    assert!(event_kinds(&detail).contains(&"link_created".to_string()));

    // The device comes back: the case resolves itself.
    app.set_connection(&device, true).await;
    let resolved = eventually(WAIT, || async {
        let d = c.send(c.get(&format!("{a}/api/cases/{id}"))).await.json();
        (d["case"]["state"] == "resolved").then_some(d)
    })
    .await;
    let last = resolved["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "device_reconnected");
    assert!(last["duration_secs"].as_i64().unwrap() >= 0);
    let w = c
        .send(c.get(&format!("{a}/api/watch/users/{uid}")))
        .await
        .json();
    let kinds: Vec<&str> = w["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["device_id"] == device.as_str())
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["reconnected", "lost"], "newest first");
    // The system's changes are in the audit trail with their actor.
    let audit = c
        .send(c.get(&format!("{a}/api/audit?actor=fleet%20watch&per_page=500")))
        .await
        .text();
    assert!(audit.contains("case.resolve"), "{audit}");
    app.shutdown().await;
}

/// What the counting upstream saw of device-list reads.
#[derive(Default)]
struct Counted {
    at: Vec<Instant>,
    refused: Vec<Instant>,
    refuse_next: usize,
}

#[derive(Clone)]
struct Counting {
    upstream: String,
    http: reqwest::Client,
    seen: Arc<Mutex<Counted>>,
}

fn is_device_list(path: &str) -> bool {
    [
        "/heat-pumps",
        "/electric-vehicles",
        "/wallboxes",
        "/inverters",
    ]
    .iter()
    .any(|k| path.ends_with(k))
}

async fn pass_on(State(s): State<Counting>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let query = req
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    if req.method() == axum::http::Method::GET && is_device_list(&path) {
        let mut seen = s.seen.lock().unwrap();
        if seen.refuse_next > 0 {
            seen.refuse_next -= 1;
            seen.refused.push(Instant::now());
            return (StatusCode::TOO_MANY_REQUESTS, "{\"detail\": \"slow down\"}").into_response();
        }
        seen.at.push(Instant::now());
    }
    let method = req.method().clone();
    let headers: HeaderMap = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let mut out = s
        .http
        .request(method, format!("{}{path}{query}", s.upstream))
        .body(body);
    for name in ["authorization", "content-type", "accept"] {
        if let Some(v) = headers.get(name) {
            out = out.header(name, v);
        }
    }
    match out.send().await {
        Ok(r) => {
            let status = r.status();
            let ct = r.headers().get("content-type").cloned();
            let bytes: Bytes = r.bytes().await.unwrap_or_default();
            let mut resp = (status, bytes).into_response();
            if let Some(ct) = ct {
                resp.headers_mut().insert("content-type", ct);
            }
            resp
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

/// A real HTTP proxy in front of the emulator that counts device-list
/// reads and can refuse the next ones with 429.
async fn counting_upstream(upstream: &str) -> (String, Arc<Mutex<Counted>>) {
    let seen = Arc::new(Mutex::new(Counted::default()));
    let state = Counting {
        upstream: upstream.to_string(),
        http: reqwest::Client::new(),
        seen: seen.clone(),
    };
    let app = axum::Router::new().fallback(pass_on).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

/// A gateway (watch at `rps`) in front of `base_url` for `org`, keeping
/// its state in `data`.
async fn gateway_at(
    base_url: &str,
    org: uuid::Uuid,
    data: &std::path::Path,
    rps: f64,
) -> RunningGateway {
    gateway::telemetry::init();
    let mut config = Config::new(UpstreamConfig::Podero(PoderoCredentials {
        base_url: base_url.to_string(),
        client_id: "podero-emulator".into(),
        client_secret: Secret::new(TEST_SECRET),
        org_id: org,
    }));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.data_dir = data.to_path_buf();
    config.frontend_dir = data.join("no-frontend");
    config.admin_password = Some(Secret::new(ADMIN_FIRST_PASSWORD));
    config.watch_rps = rps;
    Application::build(config).await.unwrap().spawn()
}

async fn status_at(client: &Checked, base: &str) -> Value {
    client
        .send(client.get(&format!("{base}/api/watch")))
        .await
        .json()
}

#[tokio::test]
async fn the_watch_keeps_its_budget_backs_off_on_429_and_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (emulator, _) = spawn_emulator(dir.path(), 60).await;
    let (proxy, seen) = counting_upstream(&emulator.base_url).await;
    seen.lock().unwrap().refuse_next = 2;
    let rps = 10.0;
    let data = dir.path().join("gateway");
    let gw = gateway_at(&proxy, emulator.org_id, &data, rps).await;
    let client = Checked::admin(&gw.base_url, vec![TEST_SECRET.into()]).await;

    // Podero refused twice: the watch waited before asking again.
    let (first_refusal, second_refusal, next) = eventually(WAIT, || async {
        let s = seen.lock().unwrap();
        (s.refused.len() == 2 && !s.at.is_empty()).then(|| (s.refused[0], s.refused[1], s.at[0]))
    })
    .await;
    assert!(
        second_refusal - first_refusal >= Duration::from_millis(1900),
        "no back-off after the first 429: {:?}",
        second_refusal - first_refusal
    );
    assert!(
        next - second_refusal >= Duration::from_millis(3900),
        "no longer back-off after the second 429: {:?}",
        next - second_refusal
    );

    // Part of a round, then a restart: the round goes on where it was.
    let before = eventually(WAIT, || async {
        let s = status_at(&client, &gw.base_url).await;
        (s["round_users_checked"].as_u64().unwrap() >= 5).then_some(s)
    })
    .await;
    assert_eq!(
        before["rounds_completed"], 0,
        "round too short for this test"
    );
    gw.shutdown().await;
    let gw = gateway_at(&proxy, emulator.org_id, &data, rps).await;
    let client = Checked::new(vec![TEST_SECRET.into()])
        .sign_in(&gw.base_url, ADMIN_EMAIL, ADMIN_PASSWORD, None)
        .await;
    let after = status_at(&client, &gw.base_url).await;
    assert_eq!(after["round_started_at"], before["round_started_at"]);
    assert!(
        after["round_users_checked"].as_u64() >= before["round_users_checked"].as_u64(),
        "{before} then {after}"
    );
    // It completes the round.
    eventually(Duration::from_secs(120), || async {
        let s = status_at(&client, &gw.base_url).await;
        (s["rounds_completed"].as_u64().unwrap() >= 1).then_some(())
    })
    .await;

    // Never faster than the budget: at most `rps` reads in any second
    // (+1 for a window's edge).
    let at = seen.lock().unwrap().at.clone();
    assert!(at.len() > 20, "too few reads to judge: {}", at.len());
    let window = Duration::from_secs(1);
    let most = (0..at.len())
        .map(|i| at[i..].iter().take_while(|t| **t - at[i] < window).count())
        .max()
        .unwrap();
    assert!(
        most as f64 <= rps + 1.0,
        "{most} device reads within one second at a budget of {rps}/s"
    );
    gw.shutdown().await;
    emulator.shutdown().await;
}

/// What the webhook receiver got.
#[derive(Default, Clone)]
struct Received {
    calls: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    fail_first: Arc<Mutex<usize>>,
}

async fn receive(State(r): State<Received>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.calls.lock().unwrap().push((headers, body));
    let mut fail = r.fail_first.lock().unwrap();
    if *fail > 0 {
        *fail -= 1;
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::NO_CONTENT
    }
}

#[tokio::test]
async fn the_webhook_posts_signed_case_events_and_retries() {
    let received = Received::default();
    *received.fail_first.lock().unwrap() = 2;
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let secret = "webhook-key-for-tests-91c2";
    let app = spawn_app_with(Options {
        adjust: Some(Box::new(move |c: &mut Config| {
            c.webhook = Some(gateway::configuration::WebhookConfig {
                url,
                secret: Secret::new(secret),
            })
        })),
        ..Default::default()
    })
    .await;
    let c = &app.client;
    let a = &app.address;
    let user = end_user(&app).await;
    let r = c
        .send(c.http.post(format!("{a}/api/cases")).json(&json!({
            "user_id": user["id"], "kind": "complaint", "subject": "Bill too high"
        })))
        .await;
    assert_eq!(r.status, 201);
    let id = r.json()["case"]["id"].as_i64().unwrap();

    // Refused twice, delivered the third time, 1 s and 2 s apart.
    let calls = eventually(WAIT, || async {
        let calls = received.calls.lock().unwrap().clone();
        (calls.len() >= 3).then_some(calls)
    })
    .await;
    for (headers, body) in &calls {
        let ts = headers["x-backoffice-timestamp"].to_str().unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{ts}.").as_bytes());
        mac.update(body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(headers["x-backoffice-signature"], expected.as_str());
        assert_eq!(headers["x-backoffice-event"], "case.opened");
        let json: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(json["event"], "case.opened");
        assert_eq!(json["case"]["id"], id);
        assert_eq!(json["case"]["subject"], "Bill too high");
    }
    let delivered = eventually(WAIT, || async {
        let log = c
            .send(c.get(&format!("{a}/api/webhooks/deliveries")))
            .await
            .json();
        let first = log.as_array().unwrap().first().cloned()?;
        (first["state"] == "delivered").then_some(first)
    })
    .await;
    assert_eq!(delivered["attempts"], 3);
    assert_eq!(delivered["case_id"], id);

    // Resolving it posts case.resolved.
    let r = c
        .send(
            c.http
                .patch(format!("{a}/api/cases/{id}"))
                .json(&json!({"state": "resolved"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    eventually(WAIT, || async {
        let calls = received.calls.lock().unwrap();
        calls
            .iter()
            .any(|(h, _)| h["x-backoffice-event"] == "case.resolved")
            .then_some(())
    })
    .await;
    app.shutdown().await;
}
