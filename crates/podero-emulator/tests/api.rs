//! The emulator over real HTTP on loopback: token endpoint, the seed
//! documents' requests, users, devices, buildings, reconnection, errors,
//! persistence across restarts.

use std::time::{Duration, Instant};

use podero_emulator::{
    spawn, EmulatorConfig, RunningEmulator, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

mod common;
use common::token;

struct Emu {
    running: RunningEmulator,
    client: Client,
    token: String,
    _dir: Option<tempfile::TempDir>,
}

impl Emu {
    fn api(&self, path: &str) -> String {
        format!(
            "{}/api/partners/v2.0/org/{}{}",
            self.running.base_url, self.running.org_id, path
        )
    }
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, self.api(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (
            status,
            if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).expect("JSON body")
            },
        )
    }
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
    async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }
    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }
}

async fn start_in(dir: &std::path::Path, users: usize) -> (RunningEmulator, Client, String) {
    let mut config = EmulatorConfig::new(dir);
    config.seed_users = users;
    let running = spawn(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("emulator starts");
    let client = Client::new();
    let t = token(&client, &running.base_url).await;
    (running, client, t)
}

async fn start(users: usize) -> Emu {
    let dir = tempfile::tempdir().unwrap();
    let (running, client, token) = start_in(dir.path(), users).await;
    Emu {
        running,
        client,
        token,
        _dir: Some(dir),
    }
}

#[tokio::test]
async fn token_endpoint_as_documented_and_form_encoded() {
    let emu = start(5).await;
    let base = &emu.running.base_url;
    let resp = emu
        .client
        .post(format!("{base}/oauth2/token/"))
        .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_CLIENT_SECRET))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 36000);
    assert_eq!(body["scope"], "read write");
    assert_eq!(body["access_token"].as_str().unwrap().len(), 30);

    let form = emu
        .client
        .post(format!("{base}/oauth2/token/"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=client_credentials&client_id={DEFAULT_CLIENT_ID}&client_secret={DEFAULT_CLIENT_SECRET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);

    let bad = emu
        .client
        .post(format!("{base}/oauth2/token/"))
        .basic_auth(DEFAULT_CLIENT_ID, Some("wrong"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    let grant = emu
        .client
        .post(format!("{base}/oauth2/token/"))
        .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_CLIENT_SECRET))
        .json(&json!({"grant_type": "password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), 400);
    assert_eq!(
        grant.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
}

#[tokio::test]
async fn api_needs_a_valid_unexpired_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EmulatorConfig::new(dir.path());
    config.seed_users = 3;
    config.token_ttl = Duration::from_secs(1);
    let running = spawn(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = Client::new();
    let url = format!(
        "{}/api/partners/v2.0/org/{}/users",
        running.base_url, running.org_id
    );
    let none = client.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    assert!(none.json::<Value>().await.unwrap()["detail"].is_string());
    assert_eq!(
        client
            .get(&url)
            .bearer_auth("made-up")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let t = token(&client, &running.base_url).await;
    let issued = Instant::now();
    assert_eq!(
        client
            .get(&url)
            .bearer_auth(&t)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The token expires one second after issue: poll until it does (deadline 5 s).
    let deadline = issued + Duration::from_secs(5);
    let expired = loop {
        let resp = client.get(&url).bearer_auth(&t).send().await.unwrap();
        if resp.status() == 401 {
            break resp.json::<Value>().await.unwrap();
        }
        assert!(Instant::now() < deadline, "token still valid after 5 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(issued.elapsed() >= Duration::from_millis(900));
    assert!(expired["detail"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn seed_document_requests_work_verbatim() {
    let emu = start(20).await;
    // List All Users
    let (s, users) = emu.get("/users").await;
    assert_eq!(s, 200);
    assert!(
        users.as_array().unwrap().len() >= 15,
        "bare array of the seeded users"
    );
    // Create New User
    let (s, created) = emu
        .post(
            "/users",
            json!({
                "role": "user",
                // As the seed document has it: its page's e-mail
                // protection replaced the address with this text.
                "email": "[email protected]",
                "external_user_id": "customer_12345",
                "first_name": "John",
                "last_name": "Doe"
            }),
        )
        .await;
    assert_eq!(s, 200, "{created}");
    assert_eq!(created["role"], "user");
    assert_eq!(created["organization_id"], emu.running.org_id.to_string());
    let id = created["id"].as_str().unwrap().to_string();
    // Update User Data
    let (s, updated) = emu
        .put(
            &format!("/users/{id}"),
            json!({
                "first_name": "Peter",
                "last_name": "Schmidt",
                "street_and_number": "Main Street 123",
                "zip_code": "10115",
                "town": "Berlin",
                "country_iso2": "DE"
            }),
        )
        .await;
    assert_eq!(s, 200, "{updated}");
    assert_eq!(updated["country"], "DE");
    assert_eq!(updated["first_name"], "Peter");
    assert_eq!(
        updated["email"], "[email protected]",
        "untouched fields stay"
    );
    assert_eq!(updated["external_user_id"], "customer_12345");
    // Get User Details
    let (s, got) = emu.get(&format!("/users/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(got, updated);
    // Get User's Devices
    let (s, hps) = emu.get(&format!("/users/{id}/heat-pumps")).await;
    assert_eq!(s, 200);
    assert_eq!(hps, json!([]));
    // Get details about a user by external ID
    let (s, by_ext) = emu.get("/users/by-ext-id/customer_12345").await;
    assert_eq!(s, 200);
    assert_eq!(by_ext["id"], id.as_str());
    // The documented response deserialises as the shared type.
    let _: shared::User = serde_json::from_value(by_ext).unwrap();
}

#[tokio::test]
async fn uniqueness_validation_and_error_shapes() {
    let emu = start(5).await;
    let (s, _) = emu
        .post(
            "/users",
            json!({"role": "user", "email": "Anna.Huber@example.at", "external_user_id": "C-1"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, dup) = emu
        .post(
            "/users",
            json!({"role": "user", "email": "anna.huber@EXAMPLE.at"}),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(dup["detail"][0]["loc"], json!(["body", "email"]));
    let (s, dup) = emu
        .post(
            "/users",
            json!({"role": "user", "email": "other@example.at", "external_user_id": "C-1"}),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(dup["detail"][0]["loc"], json!(["body", "external_user_id"]));

    let (s, bad) = emu
        .post(
            "/users",
            json!({"role": "user", "email": " ", "latitude": 123.0}),
        )
        .await;
    assert_eq!(s, 422);
    let fields: Vec<&str> = bad["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["loc"][1].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "latitude"]);
    let (s, missing) = emu.post("/users", json!({"role": "user"})).await;
    assert_eq!(s, 422);
    assert_eq!(missing["detail"][0]["loc"], json!(["body", "email"]));
    // The e-mail check is lenient (the seed's placeholder passes) but not
    // open: a control character or more than 254 characters are refused.
    let long = format!("{}@example.at", "a".repeat(250));
    for email in ["anna\nBcc: x@example.at", "tab\t@example.at", long.as_str()] {
        let (s, bad) = emu
            .post("/users", json!({"role": "user", "email": email}))
            .await;
        assert_eq!(s, 422, "{email:?}: {bad}");
        assert_eq!(
            bad["detail"][0]["loc"],
            json!(["body", "email"]),
            "{email:?}"
        );
    }
    let raw = emu
        .client
        .post(emu.api("/users"))
        .bearer_auth(&emu.token)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 422);
    assert!(raw.json::<Value>().await.unwrap()["detail"][0]["msg"].is_string());

    // Other organisation, unknown ids, malformed ids.
    let other = format!(
        "{}/api/partners/v2.0/org/{}/users",
        emu.running.base_url,
        uuid::Uuid::nil()
    );
    let resp = emu
        .client
        .get(other)
        .bearer_auth(&emu.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.json::<Value>().await.unwrap()["detail"].is_string());
    assert_eq!(
        emu.get(&format!("/users/{}", uuid::Uuid::nil())).await.0,
        404
    );
    assert_eq!(emu.get("/users/not-a-uuid").await.0, 404);
    assert_eq!(emu.get("/users/by-ext-id/nobody").await.0, 404);
}

#[tokio::test]
async fn soft_delete_and_include_deleted() {
    let emu = start(5).await;
    let (_, u) = emu
        .post(
            "/users",
            json!({"role": "staff", "email": "kim@stadtwerke.at", "external_user_id": "S-9"}),
        )
        .await;
    let id = u["id"].as_str().unwrap();
    let (s, _) = emu.delete(&format!("/users/{id}")).await;
    assert_eq!(s, 204);
    assert_eq!(emu.get(&format!("/users/{id}")).await.0, 404);
    let (s, archived) = emu.get(&format!("/users/{id}?include_deleted=true")).await;
    assert_eq!(s, 200);
    assert!(archived["deleted_at"].is_string());
    let (_, active) = emu.get("/users").await;
    assert!(!active.as_array().unwrap().iter().any(|x| x["id"] == id));
    let (_, all) = emu.get("/users?include_deleted=true").await;
    assert!(all.as_array().unwrap().iter().any(|x| x["id"] == id));
    assert_eq!(emu.get("/users/by-ext-id/S-9").await.0, 404);
    assert_eq!(
        emu.get("/users/by-ext-id/S-9?include_deleted=true").await.0,
        200
    );
    // The e-mail is free again.
    assert_eq!(
        emu.post(
            "/users",
            json!({"role": "user", "email": "kim@stadtwerke.at"})
        )
        .await
        .0,
        200
    );
    assert_eq!(emu.get("/users?include_deleted=maybe").await.0, 422);
}

#[tokio::test]
async fn device_lifecycle_reconnection_and_counters() {
    let emu = start(5).await;
    let (_, u) = emu
        .post("/users", json!({"role": "user", "email": "eva@example.at"}))
        .await;
    let uid = u["id"].as_str().unwrap().to_string();
    let (s, building) = emu
        .post(
            &format!("/users/{uid}/buildings"),
            json!({"name": "Main House"}),
        )
        .await;
    assert_eq!(s, 200);
    let bid = building["id"].as_str().unwrap();
    assert_eq!(
        emu.post(
            &format!("/users/{uid}/buildings"),
            json!({"photovoltaic": true})
        )
        .await
        .0,
        422
    );

    for kind in ["heat-pumps", "electric-vehicles", "wallboxes", "inverters"] {
        let (s, d) = emu
            .post(&format!("/users/{uid}/{kind}"), json!({"building_id": bid, "device_model": {"manufacturer": "Acme", "model": "One"}}))
            .await;
        assert_eq!(s, 200, "{kind}: {d}");
        assert_eq!(d["is_authenticated"], false);
        assert_eq!(d["building"], bid);
        assert_eq!(d["owner"]["id"], uid.as_str());
        assert!(d["authorization_url"]
            .as_str()
            .unwrap()
            .contains("/connect/"));
        assert_eq!(d["actions"][0]["code"], "reauthenticate");
    }
    let (_, u) = emu.get(&format!("/users/{uid}")).await;
    for f in [
        "num_heat_pumps",
        "num_electric_vehicles",
        "num_wallboxes",
        "num_inverters",
    ] {
        assert_eq!(u[f], 1, "{f}");
    }

    let (_, list) = emu.get(&format!("/users/{uid}/inverters")).await;
    let did = list[0]["id"].as_str().unwrap().to_string();
    let (s, session) = emu
        .post(
            &format!("/users/{uid}/inverters/{did}/auth_session"),
            json!({"success_url": "https://partner.example/ok", "cancel_url": null}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(session["device_id"], did.as_str());
    let link = session["authentication_url"].as_str().unwrap().to_string();
    let page = emu.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Connect"));
    let no_redirect = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let done = no_redirect
        .post(&link)
        .form(&[("action", "connect")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(done.headers()["location"], "https://partner.example/ok");
    let (_, d) = emu.get(&format!("/users/{uid}/inverters/{did}")).await;
    assert_eq!(d["is_authenticated"], true);
    assert_eq!(d["lifecycle_state"], "authenticated");
    assert!(d["authorization_url"].is_null());
    // A used link cannot be used again.
    assert_eq!(
        no_redirect
            .post(&link)
            .form(&[("action", "connect")])
            .send()
            .await
            .unwrap()
            .status(),
        410
    );

    let (s, d) = emu
        .put(
            &format!("/users/{uid}/inverters/{did}"),
            json!({"solar_power_rating_kw": 9.9, "comment": "roof"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(d["solar_power_rating_kw"], 9.9);
    assert_eq!(d["comment"], "roof");
    assert_eq!(d["is_authenticated"], true, "untouched by a partial PUT");
    assert_eq!(
        emu.put(
            &format!("/users/{uid}/inverters/{did}"),
            json!({"building_id": uuid::Uuid::nil()})
        )
        .await
        .0,
        422
    );

    assert_eq!(
        emu.delete(&format!("/users/{uid}/inverters/{did}")).await.0,
        204
    );
    let (_, u) = emu.get(&format!("/users/{uid}")).await;
    assert_eq!(u["num_inverters"], 0);
    assert_eq!(
        emu.get(&format!("/users/{uid}/inverters/{did}")).await.0,
        404
    );
    assert_eq!(
        emu.get(&format!(
            "/users/{uid}/inverters/{did}?include_deleted=true"
        ))
        .await
        .0,
        200
    );
    // A device under another user is not found.
    let (_, other) = emu
        .post("/users", json!({"role": "user", "email": "max@example.at"}))
        .await;
    let (_, hps) = emu.get(&format!("/users/{uid}/heat-pumps")).await;
    let hp = hps[0]["id"].as_str().unwrap();
    assert_eq!(
        emu.get(&format!(
            "/users/{}/heat-pumps/{hp}",
            other["id"].as_str().unwrap()
        ))
        .await
        .0,
        404
    );
    assert_eq!(emu.get(&format!("/users/{uid}/toasters")).await.0, 404);

    let (s, b) = emu
        .put(
            &format!("/users/{uid}/buildings/{bid}"),
            json!({"town": "Graz", "country_iso2": "at"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["name"], "Main House");
    assert_eq!(b["country"], "AT");
    assert_eq!(
        emu.get(&format!("/users/{uid}/buildings"))
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        emu.delete(&format!("/users/{uid}/buildings/{bid}")).await.0,
        204
    );
    assert_eq!(
        emu.get(&format!("/users/{uid}/buildings/{bid}")).await.0,
        404
    );
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (running, client, t) = start_in(dir.path(), 10).await;
    let org = running.org_id;
    let emu = Emu {
        running,
        client,
        token: t,
        _dir: None,
    };
    let (_, u) = emu
        .post(
            "/users",
            json!({"role": "user", "email": "persist@example.at", "external_user_id": "P-1"}),
        )
        .await;
    let uid = u["id"].as_str().unwrap().to_string();
    let (s, _) = emu
        .post(&format!("/users/{uid}/heat-pumps"), json!({}))
        .await;
    assert_eq!(s, 200);
    let (s, _) = emu
        .put(
            &format!("/users/{uid}"),
            json!({"country_iso2": "DE", "town": "Köln"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, b) = emu
        .post(
            &format!("/users/{uid}/buildings"),
            json!({"name": "Main home"}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, gone) = emu
        .post(
            "/users",
            json!({"role": "user", "email": "gone@example.at"}),
        )
        .await;
    let gone_id = gone["id"].as_str().unwrap().to_string();
    assert_eq!(emu.delete(&format!("/users/{gone_id}")).await.0, 204);
    emu.running.shutdown().await;
    assert!(
        dir.path().join("emulator.sqlite").is_file(),
        "state is kept in SQLite"
    );

    let (running, client, t) = start_in(dir.path(), 999).await;
    assert_eq!(running.org_id, org, "same organisation after restart");
    let emu = Emu {
        running,
        client,
        token: t,
        _dir: None,
    };
    let (s, again) = emu.get("/users/by-ext-id/P-1").await;
    assert_eq!(s, 200);
    assert_eq!(again["id"], u["id"]);
    assert_eq!(
        again["num_heat_pumps"], 1,
        "counters rebuilt from the stored devices"
    );
    assert_eq!(again["country"], "DE");
    assert_eq!(again["town"], "Köln");
    let (s, bs) = emu.get(&format!("/users/{uid}/buildings")).await;
    assert_eq!(s, 200);
    assert_eq!(bs[0]["id"], b["id"]);
    assert_eq!(bs[0]["name"], "Main home");
    assert_eq!(emu.get(&format!("/users/{gone_id}")).await.0, 404);
    let (s, archived) = emu
        .get(&format!("/users/{gone_id}?include_deleted=true"))
        .await;
    assert_eq!(s, 200);
    assert!(archived["deleted_at"].is_string());
    let (_, hps) = emu.get(&format!("/users/{uid}/heat-pumps")).await;
    assert_eq!(hps.as_array().unwrap().len(), 1);
    // The restarted emulator listens on another port; links follow it.
    let link = hps[0]["authorization_url"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("{}/connect/", emu.running.base_url)),
        "{link}"
    );
    assert_eq!(hps[0]["actions"][0]["resolution_link"]["url"], link);
    let (_, all) = emu.get("/users?include_deleted=true").await;
    assert_eq!(
        all.as_array().unwrap().len(),
        12,
        "--users applies only to a fresh data dir"
    );
}

#[tokio::test]
async fn seeding_is_deterministic_and_has_lost_devices() {
    let a = start(40).await;
    let b = start(40).await;
    assert_eq!(a.running.org_id, b.running.org_id);
    let (_, ua) = a.get("/users?include_deleted=true").await;
    let (_, ub) = b.get("/users?include_deleted=true").await;
    // Generated against a fixed reference time: the same seed gives the
    // very same users, timestamps included.
    assert_eq!(ua, ub);
    let first = ua[0].clone();
    assert!(first["email"].as_str().unwrap().contains('@'));
    let (_, devices_a) = a
        .get(&format!(
            "/users/{}/heat-pumps",
            ua[20]["id"].as_str().unwrap()
        ))
        .await;
    let (_, devices_b) = b
        .get(&format!(
            "/users/{}/heat-pumps",
            ub[20]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        devices_a.as_array().map(Vec::len),
        devices_b.as_array().map(Vec::len)
    );
    let c = {
        let dir = tempfile::tempdir().unwrap();
        let mut config = EmulatorConfig::new(dir.path());
        config.seed_users = 40;
        config.seed = 7;
        let running = spawn(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let org = running.org_id;
        running.shutdown().await;
        org
    };
    assert_ne!(c, a.running.org_id, "another seed, another organisation");
    let roles: Vec<&str> = ua
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["role"].as_str().unwrap())
        .collect();
    assert!(roles.contains(&"admin") && roles.contains(&"staff") && roles.contains(&"user"));
}

/// 100,000 users: run with
/// `cargo test --release -p podero-emulator --test api -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "large: run in release to measure"]
async fn hundred_thousand_users() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (running, client, t) = start_in(dir.path(), 100_000).await;
    println!("seeded 100000 users in {:?}", started.elapsed());
    let url = format!(
        "{}/api/partners/v2.0/org/{}/users",
        running.base_url, running.org_id
    );
    let started = Instant::now();
    let body = client
        .get(&url)
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    println!(
        "GET /users: {} bytes in {:?}",
        body.len(),
        started.elapsed()
    );
    let users: Vec<shared::User> = serde_json::from_slice(&body).unwrap();
    assert!(users.len() > 95_000);
    running.shutdown().await;
    let started = Instant::now();
    let (running, _, _) = start_in(dir.path(), 100_000).await;
    println!(
        "restart: opened 100000 users in SQLite in {:?}",
        started.elapsed()
    );
    running.shutdown().await;
}

#[tokio::test]
async fn team_members_wrong_types_and_update_conflicts() {
    let emu = start(5).await;
    let (s, admin) = emu
        .post(
            "/users",
            json!({"role": "admin", "email": "chefin@stadtwerke.at", "first_name": "Eva", "last_name": "Gruber"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(admin["role"], "admin");
    let (s, other) = emu
        .post("/users", json!({"role": "user", "email": "b@example.at"}))
        .await;
    assert_eq!(s, 200);
    let oid = other["id"].as_str().unwrap();
    // Changing an e-mail onto another user's, in other letter case: 409 on the field.
    let (s, dup) = emu
        .put(
            &format!("/users/{oid}"),
            json!({"email": "CHEFIN@stadtwerke.at"}),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(dup["detail"][0]["type"], "unique");
    assert_eq!(dup["detail"][0]["loc"], json!(["body", "email"]));
    assert!(dup["detail"][0]["msg"]
        .as_str()
        .unwrap()
        .contains("already exists in this organisation"));
    // Keeping one's own e-mail is no conflict; null clears a nullable field.
    let (s, same) = emu
        .put(
            &format!("/users/{oid}"),
            json!({"email": "B@example.at", "first_name": "Bernd"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(same["first_name"], "Bernd");
    let (s, cleared) = emu
        .put(&format!("/users/{oid}"), json!({"first_name": null}))
        .await;
    assert_eq!(s, 200);
    assert!(cleared["first_name"].is_null());
    assert_eq!(cleared["email"], same["email"], "untouched fields stay");
    // A wrong type names the field.
    let (s, wrong) = emu
        .post(
            "/users",
            json!({"role": "user", "email": "c@example.at", "latitude": "north"}),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(wrong["detail"][0]["loc"], json!(["body", "latitude"]));
    let (s, role) = emu
        .post(
            "/users",
            json!({"role": "emperor", "email": "d@example.at"}),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(role["detail"][0]["loc"], json!(["body", "role"]));
    // Buildings: name is required and at most 100 characters.
    let (s, b) = emu
        .post(
            &format!("/users/{oid}/buildings"),
            json!({"name": "x".repeat(101)}),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(b["detail"][0]["loc"], json!(["body", "name"]));
    let (s, _) = emu
        .post(
            &format!("/users/{oid}/buildings"),
            json!({"property_type": "house"}),
        )
        .await;
    assert_eq!(s, 422);
}
