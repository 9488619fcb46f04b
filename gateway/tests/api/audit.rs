//! The audit trail over HTTP: a record for every kind of operation with
//! its field changes, refused and failed calls kept, filters and CSV, a
//! user's history, and no password in any of it.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_gateway_for, Checked, ADMIN_EMAIL, ADMIN_PASSWORD};

/// The newest audit entries (admin view), newest first.
async fn entries(c: &Checked, address: &str, query: &str) -> Vec<Value> {
    let r = c.send(c.get(&format!("{address}/api/audit?{query}"))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["entries"].as_array().unwrap().clone()
}

/// The newest entry of `action`.
async fn newest(c: &Checked, address: &str, action: &str) -> Value {
    entries(c, address, &format!("action={action}&per_page=1")).await[0].clone()
}

#[tokio::test]
async fn each_kind_of_change_is_recorded_with_its_fields() {
    let app = spawn_app().await;
    let c = &app.client;
    let a = &app.address;

    // Create.
    let r = c
        .send(
            c.http.post(app.api("/users")).json(
                &json!({"role": "user", "email": "audit.me@example.com", "first_name": "Anna"}),
            ),
        )
        .await;
    let id = r.json()["id"].as_str().unwrap().to_string();
    let e = newest(c, a, "user.create").await;
    assert_eq!(e["target_user_id"], id.as_str());
    assert_eq!(e["actor_email"], ADMIN_EMAIL);
    assert_eq!(e["client_addr"], "127.0.0.1");
    assert_eq!(e["method"], "POST");
    assert_eq!(e["status"], 200);
    assert!(e["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|ch| ch["field"] == "email"
            && ch["from"].is_null()
            && ch["to"] == "audit.me@example.com"));

    // Update: only the changed fields, from what to what.
    c.send(
        c.http
            .put(app.api(&format!("/users/{id}")))
            .json(&json!({"first_name": "Anne", "town": "Linz", "email": "audit.me@example.com"})),
    )
    .await;
    let e = newest(c, a, "user.update").await;
    assert_eq!(
        e["route"],
        format!("/api/partners/v2.0/org/{}/users/{id}", app.org_id)
    );
    assert_eq!(
        e["changes"],
        json!([{"field": "first_name", "from": "Anna", "to": "Anne"}, {"field": "town", "from": null, "to": "Linz"}])
    );

    // Devices, reconnection links and buildings.
    let r = c
        .send(
            c.http
                .post(app.api(&format!("/users/{id}/wallboxes")))
                .json(&json!({})),
        )
        .await;
    let d = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        newest(c, a, "device.register").await["target_user_id"],
        id.as_str()
    );
    c.send(
        c.http
            .post(app.api(&format!("/users/{id}/wallboxes/{d}/auth_session")))
            .json(&json!({})),
    )
    .await;
    assert_eq!(
        newest(c, a, "device.reconnection_link").await["status"],
        200
    );
    let r = c
        .send(
            c.http
                .post(app.api(&format!("/users/{id}/buildings")))
                .json(&json!({"name": "Home"})),
        )
        .await;
    let b = r.json()["id"].as_str().unwrap().to_string();
    c.send(
        c.http
            .put(app.api(&format!("/users/{id}/buildings/{b}")))
            .json(&json!({"name": "Office"})),
    )
    .await;
    assert_eq!(
        newest(c, a, "building.update").await["changes"],
        json!([{"field": "name", "from": "Home", "to": "Office"}])
    );

    // Archive.
    c.send(c.http.delete(app.api(&format!("/users/{id}"))))
        .await;
    assert_eq!(newest(c, a, "user.archive").await["status"], 204);

    // Team: invite and role change.
    let (_, member) = app.member("staff").await;
    let e = newest(c, a, "team.invite").await;
    assert_eq!(e["target_user_id"], member["podero_user_id"]);
    assert!(e["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|ch| ch["field"] == "role" && ch["to"] == "staff"));
    let mid = member["id"].as_str().unwrap();
    let r = c
        .send(
            c.http
                .patch(format!("{a}/api/team/{mid}"))
                .json(&json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let e = newest(c, a, "team.role_change").await;
    assert!(e["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|ch| ch["field"] == "role" && ch["from"] == "staff" && ch["to"] == "viewer"));

    // Reads and sign-ins are recorded too.
    c.send(c.get(&format!("{a}/api/directory/users?q=anne")))
        .await;
    assert_eq!(
        newest(c, a, "users.search").await["route"],
        "/api/directory/users"
    );
    assert_eq!(newest(c, a, "session.sign_in").await["status"], 200);
    app.shutdown().await;
}

#[tokio::test]
async fn refused_and_failed_calls_are_kept() {
    let app = spawn_app().await;
    let (viewer, v) = app.member("viewer").await;
    let users: Value = app
        .client
        .send(app.client.get(&app.api("/users")))
        .await
        .json();
    let uid = users[0]["id"].as_str().unwrap();
    let r = viewer
        .send(
            viewer
                .http
                .put(app.api(&format!("/users/{uid}")))
                .json(&json!({"first_name": "Nope"})),
        )
        .await;
    assert_eq!(r.status, 403);
    let e = newest(&app.client, &app.address, "user.update").await;
    assert_eq!(e["actor_email"], v["email"]);
    assert_eq!(e["status"], 403);
    assert_eq!(e["detail"], "forbidden");
    assert_eq!(e["changes"][0]["to"], "Nope");
    // A failed sign-in names the e-mail tried.
    let anon = app.client.without_session();
    anon.send(
        anon.http
            .post(format!("{}/api/session", app.address))
            .header(shared::staff::CSRF_HEADER, "sign-in")
            .header("x-forwarded-for", "203.0.113.7")
            .json(&json!({"email": "Mallory@Example.com", "password": "guess guess"})),
    )
    .await;
    let e = newest(&app.client, &app.address, "session.sign_in").await;
    assert_eq!(
        (e["status"].as_u64(), e["actor_email"].as_str()),
        (Some(401), Some("mallory@example.com"))
    );
    // Without trusted proxies, X-Forwarded-For is ignored.
    assert_eq!(e["client_addr"], "127.0.0.1");
    app.shutdown().await;

    // Podero down: the change is still recorded, with the 502.
    let gateway = spawn_gateway_for("http://127.0.0.1:9", Duration::from_secs(2)).await;
    let c = Checked::admin(&gateway.base_url, vec![]).await;
    let url = format!(
        "{}/api/partners/v2.0/org/{}/users/{}",
        gateway.base_url,
        gateway.org_id(),
        uuid::Uuid::new_v4()
    );
    let r = c
        .send(c.http.put(&url).json(&json!({"first_name": "Offline"})))
        .await;
    assert_eq!(r.status, 502, "{}", r.text());
    let e = newest(&c, &gateway.base_url, "user.update").await;
    assert_eq!(e["status"], 502);
    assert_eq!(e["detail"], "upstream_unreachable");
    assert_eq!(
        e["changes"],
        json!([{"field": "first_name", "from": null, "to": "Offline"}])
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn filters_history_and_csv_without_passwords() {
    let app = spawn_app().await;
    let c = &app.client;
    let a = &app.address;
    let (staff, s) = app.member("staff").await;
    let users: Value = c.send(c.get(&app.api("/users"))).await.json();
    let end_user = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "user")
        .unwrap();
    let uid = end_user["id"].as_str().unwrap();
    for name in ["First", "Second"] {
        let r = staff
            .send(
                staff
                    .http
                    .put(app.api(&format!("/users/{uid}")))
                    .json(&json!({"last_name": name})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    staff
        .send(staff.get(&app.api(&format!("/users/{uid}"))))
        .await;
    let email = s["email"].as_str().unwrap();

    // By staff member, end-user, action group, changes only.
    let by_staff = entries(
        c,
        a,
        &format!(
            "actor={}&user={uid}&changes_only=true",
            email.to_uppercase()
        ),
    )
    .await;
    assert_eq!(by_staff.len(), 2);
    assert_eq!(by_staff[0]["changes"][0]["to"], "Second", "newest first");
    assert_eq!(
        entries(c, a, &format!("user={uid}&action=user"))
            .await
            .len(),
        3,
        "two updates and a read"
    );
    // Time range.
    let now = chrono::Utc::now();
    let later =
        (now + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(
        entries(c, a, &format!("from={}", later.replace('+', "%2B")))
            .await
            .is_empty()
    );
    assert!(!entries(c, a, "from=2026-01-01&to=2999-01-01")
        .await
        .is_empty());
    // Bad filter values are named.
    let r = c
        .send(c.get(&format!("{a}/api/audit?from=yesterday")))
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_query".into()));
    assert_eq!(r.json()["detail"][0]["loc"], json!(["query", "from"]));

    // The user's history: changes only, newest first, for every role.
    let (viewer, _) = app.member("viewer").await;
    let r = viewer
        .send(viewer.get(&format!("{a}/api/audit/users/{uid}")))
        .await;
    let history = r.json();
    assert_eq!(history.as_array().unwrap().len(), 2);
    assert_eq!(
        history[0]["changes"],
        json!([{"field": "last_name", "from": "First", "to": "Second"}])
    );

    // CSV: every matching entry, no password anywhere in the trail.
    let r = c.send(c.get(&format!("{a}/api/audit.csv"))).await;
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    let csv = r.text();
    assert!(csv.starts_with("\u{feff}\"id\",\"at\",\"actor_email\""));
    assert!(
        csv.contains("user.update")
            && csv.contains("team.invite")
            && csv.contains("session.password_change")
    );
    for secret in [
        ADMIN_PASSWORD,
        crate::helpers::ADMIN_FIRST_PASSWORD,
        "a new password for tests",
        "password_hash",
        "$argon2",
    ] {
        assert!(!csv.contains(secret), "the audit trail contains {secret:?}");
    }
    let page = c
        .send(c.get(&format!("{a}/api/audit?per_page=500")))
        .await
        .text();
    assert!(!page.contains(ADMIN_PASSWORD) && !page.contains("a new password for tests"));
    app.shutdown().await;
}

#[tokio::test]
async fn client_address_from_a_trusted_proxy() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        adjust: Some(Box::new(|c| {
            c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]
        })),
        ..Default::default()
    })
    .await;
    let r = app
        .client
        .send(
            app.client
                .get(&app.api("/users"))
                .header("x-forwarded-for", "198.51.100.1, 203.0.113.7"),
        )
        .await;
    assert_eq!(r.status, 200);
    let e = newest(&app.client, &app.address, "users.list").await;
    assert_eq!(
        e["client_addr"], "203.0.113.7",
        "the right-most address the proxy added"
    );
    app.shutdown().await;
}
