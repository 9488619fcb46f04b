//! The emulator against attackers and strict clients, over real HTTP on
//! loopback: bounded connections, request heads, bodies and tokens; a JSON
//! message (or the customer page) for every error; partial updates that
//! run at once keep each other's fields.

use std::time::{Duration, Instant};

use podero_emulator::{spawn, EmulatorConfig, RunningEmulator, DEFAULT_CLIENT_SECRET};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod common;
use common::token;

/// An emulator with a few users, started with `adjust` applied to its config.
async fn start(adjust: impl FnOnce(&mut EmulatorConfig)) -> (RunningEmulator, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EmulatorConfig::new(dir.path());
    config.seed_users = 5;
    adjust(&mut config);
    let emu = spawn(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("emulator starts");
    (emu, dir)
}

fn api(emu: &RunningEmulator, path: &str) -> String {
    format!(
        "{}/api/partners/v2.0/org/{}{path}",
        emu.base_url, emu.org_id
    )
}

/// The answer's status, `Allow` header and JSON body (the test fails if the
/// body is not JSON).
async fn json_answer(resp: reqwest::Response) -> (StatusCode, Option<String>, Value) {
    let status = resp.status();
    let allow = resp
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_string());
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{status}: not a JSON body: {text:?}"));
    (status, allow, body)
}

/// Wait until the server closes `stream` (read gives 0 or an error), at most `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn a_request_head_sent_too_slowly_loses_its_connection() {
    let (emu, _dir) = start(|c| c.head_timeout = Duration::from_secs(1)).await;
    let mut slow = TcpStream::connect(emu.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut idle = TcpStream::connect(emu.addr).await.unwrap();
    // Without a head time limit both would be held open for ever.
    assert!(
        closed_within(&mut slow, Duration::from_secs(10)).await,
        "a connection trickling its head is still open after 10 s"
    );
    assert!(
        closed_within(&mut idle, Duration::from_secs(10)).await,
        "a connection that sent nothing is still open after 10 s"
    );
    // The emulator serves on.
    let ok = Client::new()
        .get(format!("{}/healthz", emu.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn connections_served_at_once_are_bounded() {
    let (emu, _dir) = start(|c| c.max_connections = 2).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(emu.addr).await.unwrap());
    }
    // A third connection waits to be accepted while two are open…
    let client = Client::new();
    let url = format!("{}/healthz", emu.base_url);
    let waiting = tokio::spawn({
        let (client, url) = (client.clone(), url.clone());
        async move { client.get(url).send().await.map(|r| r.status()) }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !waiting.is_finished(),
        "a third connection was served while the bound is two"
    );
    // … and is served once one of them closes.
    drop(held.pop());
    let status = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("served within 10 s of a connection closing")
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
    drop(held);
    emu.shutdown().await;
}

#[tokio::test]
async fn tokens_remembered_are_bounded_and_the_oldest_is_forgotten() {
    let (emu, _dir) = start(|c| c.max_tokens = 3).await;
    let client = Client::new();
    let mut tokens = Vec::new();
    for _ in 0..5 {
        tokens.push(token(&client, &emu.base_url).await);
    }
    assert_eq!(emu.emulator.issued_tokens().len(), 3);
    let users = api(&emu, "/users");
    for (i, t) in tokens.iter().enumerate() {
        let (status, _, body) =
            json_answer(client.get(&users).bearer_auth(t).send().await.unwrap()).await;
        if i < 2 {
            assert_eq!(status, 401, "token {i} should be forgotten");
            assert_eq!(body["detail"], "Invalid access token.");
        } else {
            assert_eq!(status, 200, "token {i} should still work");
        }
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn token_errors_follow_rfc_6749() {
    let (emu, _dir) = start(|_| {}).await;
    let resp = Client::new()
        .post(format!("{}/oauth2/token/", emu.base_url))
        .basic_auth(podero_emulator::DEFAULT_CLIENT_ID, Some("wrong"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Basic"), "{challenge}");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let (_, _, body) = json_answer(resp).await;
    assert_eq!(body["error"], "invalid_client");
    emu.shutdown().await;
}

#[tokio::test]
async fn basic_credentials_are_taken_form_urlencoded_as_rfc_6749_asks() {
    let secret = "s3cr+t%/ä x";
    let (emu, _dir) = start(|c| c.client_secret = secret.into()).await;
    let client = Client::new();
    let encoded = "s3cr%2Bt%25%2F%C3%A4+x";
    for sent in [encoded, secret] {
        let basic = base64_of(&format!("{}:{sent}", podero_emulator::DEFAULT_CLIENT_ID));
        let resp = client
            .post(format!("{}/oauth2/token/", emu.base_url))
            .header("Authorization", format!("Basic {basic}"))
            .json(&json!({"grant_type": "client_credentials"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "secret sent as {sent:?}");
    }
    let basic = base64_of(&format!("{}:s3cr%2Bt", podero_emulator::DEFAULT_CLIENT_ID));
    let wrong = client
        .post(format!("{}/oauth2/token/", emu.base_url))
        .header("Authorization", format!("Basic {basic}"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    emu.shutdown().await;
}

#[tokio::test]
async fn authorization_schemes_are_case_insensitive() {
    let (emu, _dir) = start(|_| {}).await;
    let client = Client::new();
    let basic = base64_of(&format!(
        "{}:{DEFAULT_CLIENT_SECRET}",
        podero_emulator::DEFAULT_CLIENT_ID
    ));
    let resp = client
        .post(format!("{}/oauth2/token/", emu.base_url))
        .header("Authorization", format!("basic {basic}"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["cache-control"], "no-store", "RFC 6749 §5.1");
    assert_eq!(resp.headers()["pragma"], "no-cache");
    let (status, _, body) = json_answer(resp).await;
    assert_eq!(status, 200, "{body}");
    let t = body["access_token"].as_str().unwrap();
    let resp = client
        .get(api(&emu, "/users"))
        .header("Authorization", format!("bearer {t}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    emu.shutdown().await;
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn every_error_answers_json_with_a_message() {
    let (emu, _dir) = start(|_| {}).await;
    let client = Client::new();
    let t = token(&client, &emu.base_url).await;
    let users: Value = client
        .get(api(&emu, "/users"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uid = users[0]["id"].as_str().unwrap().to_string();
    let big = vec![b' '; 3 * 1024 * 1024];

    // A method the path does not take: 405, Allow, a message.
    for (method, url, allow) in [
        (reqwest::Method::PATCH, api(&emu, "/users"), "GET,HEAD,POST"),
        (
            reqwest::Method::GET,
            format!("{}/oauth2/token/", emu.base_url),
            "POST",
        ),
        (
            reqwest::Method::OPTIONS,
            api(&emu, &format!("/users/{uid}")),
            "GET,HEAD,PUT,DELETE",
        ),
    ] {
        let resp = client
            .request(method.clone(), &url)
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        let (status, got_allow, body) = json_answer(resp).await;
        assert_eq!(status, 405, "{method} {url}");
        assert_eq!(got_allow.as_deref(), Some(allow), "{method} {url}");
        assert!(body["detail"].as_str().unwrap().contains("Allow"), "{body}");
    }

    // Bodies over the bound: 413 with the bound, announced or chunked.
    let too_large = |resp| async move {
        let (status, _, body) = json_answer(resp).await;
        assert_eq!(status, 413, "{body}");
        body
    };
    let body = too_large(
        client
            .post(api(&emu, "/users"))
            .bearer_auth(&t)
            .header("Content-Type", "application/json")
            .body(big.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("2097152"),
        "{body}"
    );
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..3).map(|_| Ok(vec![b' '; 1024 * 1024])).collect();
    too_large(
        client
            .put(api(&emu, &format!("/users/{uid}")))
            .bearer_auth(&t)
            .header("Content-Type", "application/json")
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                chunks,
            )))
            .send()
            .await
            .unwrap(),
    )
    .await;
    too_large(
        client
            .post(api(&emu, &format!("/users/{uid}/heat-pumps")))
            .bearer_auth(&t)
            .body(big.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    let body = too_large(
        client
            .post(format!("{}/oauth2/token/", emu.base_url))
            .basic_auth(
                podero_emulator::DEFAULT_CLIENT_ID,
                Some(DEFAULT_CLIENT_SECRET),
            )
            .body(big.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["error"], "invalid_request");

    // A compressed body: 415 saying so.
    let resp = client
        .post(api(&emu, "/users"))
        .bearer_auth(&t)
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "gzip")
        .body(vec![0x1f, 0x8b, 0x08, 0x00])
        .send()
        .await
        .unwrap();
    let (status, _, body) = json_answer(resp).await;
    assert_eq!(status, 415);
    assert!(body["detail"].as_str().unwrap().contains("gzip"), "{body}");

    // A query flag given twice: 422 naming it.
    let resp = client
        .get(api(
            &emu,
            "/users?include_deleted=true&include_deleted=false",
        ))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let (status, _, body) = json_answer(resp).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["detail"][0]["loc"],
        json!(["query", "include_deleted"])
    );

    // A path the emulator does not have: 404 saying what paths look like.
    for path in ["/users/", "/energy-contracts"] {
        let resp = client
            .get(api(&emu, path))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        let (status, _, body) = json_answer(resp).await;
        assert_eq!(status, 404, "{path}");
        let msg = body["detail"].as_str().unwrap();
        assert!(
            msg.contains("no such path") && msg.contains("trailing slash"),
            "{msg}"
        );
    }

    // Only the hyphenated form names a user, as a Django uuid converter.
    let simple = uid.replace('-', "");
    for other in [
        simple.clone(),
        format!("urn:uuid:{uid}"),
        format!("{{{uid}}}"),
    ] {
        let resp = client
            .get(api(&emu, &format!("/users/{other}")))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{other}");
    }

    // A path id that is not UTF-8 once decoded: the test hook's 404.
    let resp = client
        .post(format!("{}/_emulator/devices/%FF/connection", emu.base_url))
        .json(&json!({"authenticated": false}))
        .send()
        .await
        .unwrap();
    let (status, _, body) = json_answer(resp).await;
    assert_eq!(status, 404);
    assert_eq!(body["detail"], "Not found.");
    emu.shutdown().await;
}

#[tokio::test]
async fn the_customer_page_refuses_forms_it_did_not_send() {
    let (emu, _dir, client, _, _, device) = customer_with_wallbox().await;
    let link = device["authorization_url"].as_str().unwrap().to_string();

    // An id that is not UTF-8: the unknown-link page, not a plain-text 400.
    let resp = client
        .get(format!("{}/connect/%FF", emu.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert!(resp.text().await.unwrap().contains("<html"));

    // Not to be framed, cached or passed on as a referrer; no scripts.
    let resp = client.get(&link).send().await.unwrap();
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(resp.headers()[name], value, "{name}");
    }
    let csp = resp.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));

    // Neither button, or no form at all: 400, the link still unused.
    for (content_type, body) in [
        ("application/x-www-form-urlencoded", "action=delete"),
        ("application/json", "{\"action\": \"connect\"}"),
        ("application/x-www-form-urlencoded", ""),
    ] {
        let resp = client
            .post(&link)
            .header("Content-Type", content_type)
            .header("Accept-Language", "de")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{content_type} {body}");
        let page = resp.text().await.unwrap();
        assert!(page.contains("<html lang=\"de\""), "{page}");
    }
    let page = client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("data-testid=\"emulator-connect\""));
    emu.shutdown().await;
}

#[tokio::test]
async fn partial_building_updates_at_once_keep_each_others_fields() {
    let (emu, _dir) = start(|c| c.seed_users = 0).await;
    let client = Client::new();
    let t = token(&client, &emu.base_url).await;
    let user: Value = created(
        &client,
        &emu,
        &t,
        "/users",
        json!({"role": "user", "email": "bau@example.at"}),
    )
    .await;
    let uid = user["id"].as_str().unwrap();
    let building: Value = created(
        &client,
        &emu,
        &t,
        &format!("/users/{uid}/buildings"),
        json!({"name": "Main home"}),
    )
    .await;
    let url = api(
        &emu,
        &format!(
            "/users/{uid}/buildings/{}",
            building["id"].as_str().unwrap()
        ),
    );
    let fields = [
        "street_and_number",
        "street_add_info",
        "zip_code",
        "town",
        "property_type",
        "occupant_type",
        "space_heating",
        "water_heating",
    ];
    for round in 0..5 {
        let puts = fields.iter().map(|f| {
            client
                .put(&url)
                .bearer_auth(&t)
                .json(&json!({ *f: format!("{round}{f}").chars().take(20).collect::<String>() }))
                .send()
        });
        for resp in futures_util::future::join_all(puts).await {
            assert_eq!(resp.unwrap().status(), 200);
        }
        let now: Value = client
            .get(&url)
            .bearer_auth(&t)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for f in fields {
            let want: String = format!("{round}{f}").chars().take(20).collect();
            assert_eq!(now[f], want, "round {round}: {f} lost: {now}");
        }
    }
    emu.shutdown().await;
}

/// POST `body` to the API `path` and the created object (the answer must be 200).
async fn created(
    client: &Client,
    emu: &RunningEmulator,
    t: &str,
    path: &str,
    body: Value,
) -> Value {
    let resp = client
        .post(api(emu, path))
        .bearer_auth(t)
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, _, body) = json_answer(resp).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// A running emulator with no demo users, a token, and a new customer with
/// a new wallbox: `(emulator, dir, client, token, user id, device)`.
async fn customer_with_wallbox() -> (
    RunningEmulator,
    tempfile::TempDir,
    Client,
    String,
    String,
    Value,
) {
    let (emu, dir) = start(|c| c.seed_users = 0).await;
    let client = Client::new();
    let t = token(&client, &emu.base_url).await;
    let user: Value = created(
        &client,
        &emu,
        &t,
        "/users",
        json!({"role": "user", "email": "lena.gruber@example.at"}),
    )
    .await;
    let uid = user["id"].as_str().unwrap().to_string();
    let device: Value = created(
        &client,
        &emu,
        &t,
        &format!("/users/{uid}/wallboxes"),
        json!({}),
    )
    .await;
    (emu, dir, client, t, uid, device)
}

#[tokio::test]
async fn device_writes_refuse_huge_texts_and_unknown_enum_values() {
    let (emu, _dir, client, t, uid, device) = customer_with_wallbox().await;
    let url = api(
        &emu,
        &format!("/users/{uid}/wallboxes/{}", device["id"].as_str().unwrap()),
    );
    for (body, field) in [
        (json!({"comment": "x".repeat(1001)}), "comment"),
        (
            json!({"device_model": {"model": "m".repeat(100_000)}}),
            "device_model.model",
        ),
        (json!({"price_zone": "DE"}), "price_zone"),
    ] {
        let resp = client
            .put(&url)
            .bearer_auth(&t)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, _, answer) = json_answer(resp).await;
        assert_eq!(status, 422, "{field}: {answer}");
        assert_eq!(
            answer["detail"][0]["loc"],
            json!(["body", field]),
            "{answer}"
        );
    }
    let hp = client
        .post(api(&emu, &format!("/users/{uid}/heat-pumps")))
        .bearer_auth(&t)
        .json(&json!({"optimization_level": "Ultra"}))
        .send()
        .await
        .unwrap();
    let (status, _, answer) = json_answer(hp).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        answer["detail"][0]["loc"],
        json!(["body", "optimization_level"])
    );
    // Within the bounds, as before.
    let ok = client
        .put(&url)
        .bearer_auth(&t)
        .json(&json!({"comment": "x".repeat(1000), "price_zone": "DE_LU"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn reconnection_sessions_kept_per_device_are_bounded() {
    let (emu, _dir, client, t, uid, device) = customer_with_wallbox().await;
    let first = device["authorization_url"].as_str().unwrap().to_string();
    assert_eq!(client.get(&first).send().await.unwrap().status(), 200);
    let url = api(
        &emu,
        &format!(
            "/users/{uid}/wallboxes/{}/auth_session",
            device["id"].as_str().unwrap()
        ),
    );
    let mut links = Vec::new();
    for _ in 0..55 {
        let s: Value = client
            .post(&url)
            .bearer_auth(&t)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        links.push(s["authentication_url"].as_str().unwrap().to_string());
    }
    // The newest 50 work; the registration's link and the first six of
    // these are forgotten (the page says the link is unknown).
    assert_eq!(client.get(&first).send().await.unwrap().status(), 404);
    for (i, link) in links.iter().enumerate() {
        let status = client.get(link).send().await.unwrap().status();
        assert_eq!(status, if i < 5 { 404 } else { 200 }, "link {i}");
    }
    emu.shutdown().await;
}

/// Send `head` (and the start of a body) on a new connection and read the
/// answer until the server closes it or `limit` passes.
async fn raw_answer(emu: &RunningEmulator, request: &[u8], limit: Duration) -> String {
    let mut stream = TcpStream::connect(emu.addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within {limit:?}: {answer:?}");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_body_that_does_not_arrive_or_is_broken_gets_a_json_answer() {
    let (emu, _dir) = start(|c| c.body_timeout = Duration::from_secs(1)).await;
    let t = token(&Client::new(), &emu.base_url).await;
    let path = format!("/api/partners/v2.0/org/{}/users", emu.org_id);
    // Ten bytes of a hundred announced, then nothing: 408 once the limit passes.
    let slow = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"role\": "
    );
    let answer = raw_answer(&emu, slow.as_bytes(), Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within 1 s"), "{answer}");
    // A chunk size that is not hexadecimal: 400 saying what to check.
    let broken = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n"
    );
    let answer = raw_answer(&emu, broken.as_bytes(), Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("chunked encoding"), "{answer}");
    emu.shutdown().await;
}

#[tokio::test]
async fn an_enum_field_of_the_wrong_type_is_named_as_such() {
    let (emu, _dir) = start(|c| c.seed_users = 0).await;
    let client = Client::new();
    let t = token(&client, &emu.base_url).await;
    for role in [json!(5), Value::Null, json!(["user"])] {
        let resp = client
            .post(api(&emu, "/users"))
            .bearer_auth(&t)
            .json(&json!({"role": role, "email": "typ@example.at"}))
            .send()
            .await
            .unwrap();
        let (status, _, body) = json_answer(resp).await;
        assert_eq!(status, 422, "{body}");
        let issue = &body["detail"][0];
        assert_eq!(issue["type"], "type_error", "{body}");
        assert_eq!(issue["loc"], json!(["body", "role"]));
        assert!(
            issue["msg"]
                .as_str()
                .unwrap()
                .contains("role must be one of its documented values"),
            "{body}"
        );
    }
    // Broken JSON stays json_invalid.
    let resp = client
        .post(api(&emu, "/users"))
        .bearer_auth(&t)
        .header("Content-Type", "application/json")
        .body("{\"role\": ")
        .send()
        .await
        .unwrap();
    let (status, _, body) = json_answer(resp).await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["type"], "json_invalid", "{body}");
    emu.shutdown().await;
}

#[tokio::test]
async fn redirect_urls_that_cannot_be_a_location_are_refused_up_front() {
    let (emu, _dir, client, t, uid, device) = customer_with_wallbox().await;
    let url = api(
        &emu,
        &format!(
            "/users/{uid}/wallboxes/{}/auth_session",
            device["id"].as_str().unwrap()
        ),
    );
    for (field, bad) in [
        ("success_url", "https://partner.example/\r\nSet-Cookie: a=b"),
        ("cancel_url", "https://partner.example/zurück"),
        ("success_url", "https://partner.example/a b"),
        ("success_url", "https://"),
        ("cancel_url", "ftp://partner.example/"),
    ] {
        let resp = client
            .post(&url)
            .bearer_auth(&t)
            .json(&json!({ field: bad }))
            .send()
            .await
            .unwrap();
        let (status, _, body) = json_answer(resp).await;
        assert_eq!(status, 422, "{bad:?}: {body}");
        assert_eq!(body["detail"][0]["loc"], json!(["body", field]), "{body}");
    }
    // A proper one: the customer is sent there after connecting.
    let session: Value = client
        .post(&url)
        .bearer_auth(&t)
        .json(&json!({"success_url": "https://partner.example/done?x=1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let no_redirects = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let done = no_redirects
        .post(session["authentication_url"].as_str().unwrap())
        .form(&[("action", "connect")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(
        done.headers()["location"],
        "https://partner.example/done?x=1"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_told_to_be_json() {
    let (emu, _dir, client, t, uid, device) = customer_with_wallbox().await;
    // What `curl -d` sends without a Content-Type header: a form.
    let resp = client
        .post(api(&emu, "/users"))
        .bearer_auth(&t)
        .form(&[("role", "user"), ("email", "form@example.at")])
        .send()
        .await
        .unwrap();
    let (status, _, body) = json_answer(resp).await;
    assert_eq!(status, 422);
    let msg = body["detail"][0]["msg"].as_str().unwrap();
    assert!(
        msg.contains("Content-Type: application/json")
            && msg.contains("application/x-www-form-urlencoded"),
        "{msg}"
    );
    let resp = client
        .put(api(
            &emu,
            &format!("/users/{uid}/wallboxes/{}", device["id"].as_str().unwrap()),
        ))
        .bearer_auth(&t)
        .header("Content-Type", "text/plain")
        .body("comment=hello")
        .send()
        .await
        .unwrap();
    let (status, _, body) = json_answer(resp).await;
    assert_eq!(status, 422);
    assert!(
        body["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("text/plain"),
        "{body}"
    );
    // JSON is read whatever the Content-Type says.
    let ok = client
        .post(api(&emu, "/users"))
        .bearer_auth(&t)
        .header("Content-Type", "text/plain")
        .body(json!({"role": "user", "email": "plain@example.at"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    emu.shutdown().await;
}
