//! Allow-listed calls reach the emulator and come back unchanged.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_embedded, Checked};

#[tokio::test]
async fn healthz_and_app_info() {
    let app = spawn_app().await;
    let r = app
        .client
        .send(app.client.get(&format!("{}/healthz", app.address)))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"status": "ok"}));

    let r = app
        .client
        .send(app.client.get(&format!("{}/api/app-info", app.address)))
        .await;
    assert_eq!(r.status, 200);
    let info: shared::AppInfo = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(info.org_id, app.org_id);
    assert_eq!(info.upstream, shared::Upstream::Podero);
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(info.verify_secs, shared::DEFAULT_VERIFY_SECS);
    app.shutdown().await;
}

#[tokio::test]
async fn embedded_emulator_is_used_without_base_url() {
    let (gateway, _dir) = spawn_embedded(12).await;
    let client = Checked::admin(&gateway.base_url, vec![]).await;
    let r = client
        .send(client.get(&format!("{}/api/app-info", gateway.base_url)))
        .await;
    let info: shared::AppInfo = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(info.upstream, shared::Upstream::Emulator);
    assert_eq!(info.org_id, gateway.org_id());
    let url = format!(
        "{}/api/partners/v2.0/org/{}/users?include_deleted=true",
        gateway.base_url,
        gateway.org_id()
    );
    let r = client.send(client.get(&url)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json().as_array().unwrap().len(), 12);
    gateway.shutdown().await;
}

#[tokio::test]
async fn users_crud_and_by_external_id() {
    let app = spawn_app().await;
    let c = &app.client;

    let r = c.send(c.get(&app.api("/users"))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let visible = r.json().as_array().unwrap().len();
    assert!((1..=30).contains(&visible), "{visible}");
    // The seed soft-deletes some users; `include_deleted` is forwarded.
    let r = c.send(c.get(&app.api("/users?include_deleted=true"))).await;
    assert_eq!(r.json().as_array().unwrap().len(), 30);

    let body =
        json!({"role": "user", "email": "gw-test@example.com", "external_user_id": "crm-42"});
    let r = c.send(c.http.post(app.api("/users")).json(&body)).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.text());
    let user = r.json();
    let id = user["id"].as_str().unwrap().to_string();
    assert_eq!(user["email"], "gw-test@example.com");

    let r = c.send(c.get(&app.api(&format!("/users/{id}")))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["id"], id.as_str());

    let r = c
        .send(
            c.http
                .put(app.api(&format!("/users/{id}")))
                .json(&json!({"first_name": "Grace"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["first_name"], "Grace");

    // The external id segment is percent-decoded, checked and re-encoded.
    let body =
        json!({"role": "user", "email": "gw-ext@example.com", "external_user_id": "crm-43_x.y"});
    let r = c.send(c.http.post(app.api("/users")).json(&body)).await;
    assert!(r.status.is_success(), "{}", r.text());
    let r = c
        .send(c.get(&app.api("/users/by-ext-id/crm%2D43_x.y")))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["email"], "gw-ext@example.com");

    let r = c
        .send(c.http.delete(app.api(&format!("/users/{id}"))))
        .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.text());
    let r = c.send(c.get(&app.api(&format!("/users/{id}")))).await;
    assert_eq!(r.status, 404, "{}", r.text());
    let r = c
        .send(c.get(&app.api(&format!("/users/{id}?include_deleted=true"))))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // Podero's own errors pass through with their status.
    let r = c
        .send(c.get(&app.api("/users/00000000-0000-4000-8000-000000000000")))
        .await;
    assert_eq!(r.status, 404);
    assert!(r.json()["detail"].is_string());
    app.shutdown().await;
}

#[tokio::test]
async fn devices_buildings_and_auth_session() {
    let app = spawn_app().await;
    let c = &app.client;
    let body = json!({"role": "user", "email": "devices@example.com"});
    let user: Value = c
        .send(c.http.post(app.api("/users")).json(&body))
        .await
        .json();
    let uid = user["id"].as_str().unwrap().to_string();

    for kind in ["heat-pumps", "electric-vehicles", "wallboxes", "inverters"] {
        let list = app.api(&format!("/users/{uid}/{kind}"));
        let r = c.send(c.http.post(&list).json(&json!({}))).await;
        assert!(r.status.is_success(), "{kind}: {} {}", r.status, r.text());
        let did = r.json()["id"].as_str().unwrap().to_string();
        let r = c.send(c.get(&list)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json().as_array().unwrap().len(), 1, "{kind}");
        let one = format!("{list}/{did}");
        let r = c.send(c.get(&one)).await;
        assert_eq!(r.status, 200, "{kind}: {}", r.text());
        let r = c.send(c.http.put(&one).json(&json!({}))).await;
        assert_eq!(r.status, 200, "{kind}: {}", r.text());
        if kind != "heat-pumps" {
            let r = c
                .send(c.http.post(format!("{one}/auth_session")).json(&json!({})))
                .await;
            assert_eq!(r.status, 200, "{kind}: {}", r.text());
            let s: shared::AuthSessionResponse = serde_json::from_slice(&r.body).unwrap();
            assert!(s.authentication_url.is_some());
        }
        let r = c.send(c.http.delete(&one)).await;
        assert!(r.status.is_success(), "{kind}: {} {}", r.status, r.text());
    }

    let list = app.api(&format!("/users/{uid}/buildings"));
    let r = c
        .send(c.http.post(&list).json(&json!({"name": "Home"})))
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    let bid = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        c.send(c.get(&list)).await.json().as_array().unwrap().len(),
        1
    );
    let one = format!("{list}/{bid}");
    let r = c
        .send(c.http.put(&one).json(&json!({"name": "Office"})))
        .await;
    assert_eq!(r.json()["name"], "Office");
    assert_eq!(c.send(c.get(&one)).await.json()["name"], "Office");
    assert!(c.send(c.http.delete(&one)).await.status.is_success());
    app.shutdown().await;
}

#[tokio::test]
async fn user_bodies_are_validated_with_the_shared_rules_before_podero() {
    let app = crate::helpers::spawn_app().await;
    let r = app
        .client
        .send(app.client.http.post(app.api("/users")).json(&json!({
            "role": "user", "email": "not-an-email", "country_iso2": "DEU", "latitude": 123.0
        })))
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let body = r.json();
    assert_eq!(body["code"], "invalid_body", "answered by the gateway");
    let fields: Vec<&str> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["loc"][1].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"email")
            && fields.contains(&"country_iso2")
            && fields.contains(&"latitude"),
        "{fields:?}"
    );
    let country = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["loc"][1] == "country_iso2")
        .unwrap();
    assert!(country["msg"].as_str().unwrap().contains("DE"), "{country}");
    // Nothing was created.
    let users: Vec<Value> = app
        .client
        .send(app.client.get(&app.api("/users?include_deleted=true")))
        .await
        .json()
        .as_array()
        .unwrap()
        .clone();
    assert!(!users.iter().any(|u| u["email"] == "not-an-email"));
    // A partial update is checked too; a valid one passes.
    let id = users[0]["id"].as_str().unwrap();
    let r = app
        .client
        .send(
            app.client
                .http
                .put(app.api(&format!("/users/{id}")))
                .json(&json!({"zip_code": "10115!"})),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["detail"][0]["loc"], json!(["body", "zip_code"]));
    let r = app
        .client
        .send(
            app.client
                .http
                .put(app.api(&format!("/users/{id}")))
                .json(&json!({"town": "Wels"})),
        )
        .await;
    assert_eq!(r.status, 200);
    app.shutdown().await;
}
