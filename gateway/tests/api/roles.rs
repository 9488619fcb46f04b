//! The role matrix of `gateway/README.md`, cell by cell, over HTTP: every
//! role against every kind of Partner API call on an end-user and on a
//! team member, every gateway endpoint, and creating users of each role.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, Checked, TestApp};

/// A fresh Podero user of `role` (made by the admin) with a wallbox and a
/// building: (user id, wallbox id, building id).
async fn target(app: &TestApp, role: &str) -> (String, String, String) {
    let c = &app.client;
    let email = format!("target-{}@example.com", uuid::Uuid::new_v4().simple());
    let r = c
        .send(
            c.http
                .post(app.api("/users"))
                .json(&json!({"role": role, "email": email})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let u = r.json()["id"].as_str().unwrap().to_string();
    let r = c
        .send(
            c.http
                .post(app.api(&format!("/users/{u}/wallboxes")))
                .json(&json!({})),
        )
        .await;
    let d = r.json()["id"].as_str().unwrap().to_string();
    let r = c
        .send(
            c.http
                .post(app.api(&format!("/users/{u}/buildings")))
                .json(&json!({"name": "Home"})),
        )
        .await;
    let b = r.json()["id"].as_str().unwrap().to_string();
    (u, d, b)
}

/// Is the answer a refusal by role (403 `forbidden`)?
fn refused(r: &crate::helpers::Resp) -> bool {
    r.status == 403 && r.code() == "forbidden"
}

#[tokio::test]
async fn partner_api_calls_by_role_and_target() {
    let app = spawn_app().await;
    let (staff, _) = app.member("staff").await;
    let (viewer, _) = app.member("viewer").await;
    let actors: [(&str, &Checked); 3] = [
        ("admin", &app.client),
        ("staff", &staff),
        ("viewer", &viewer),
    ];
    let ops = [
        "read user",
        "list users",
        "find by external id",
        "update user",
        "archive user",
        "list devices",
        "read device",
        "register device",
        "update device",
        "reconnection link",
        "delete device",
        "list buildings",
        "read building",
        "create building",
        "update building",
        "delete building",
    ];
    for target_role in ["user", "staff", "admin"] {
        for op in ops {
            for (actor_role, c) in actors {
                let (u, d, b) = target(&app, target_role).await;
                let user = app.api(&format!("/users/{u}"));
                let device = format!("{user}/wallboxes/{d}");
                let building = format!("{user}/buildings/{b}");
                let req = match op {
                    "read user" => c.get(&user),
                    "list users" => c.get(&app.api("/users")),
                    "find by external id" => c.get(&app.api("/users/by-ext-id/no-such-id")),
                    "update user" => c.http.put(&user).json(&json!({"first_name": "Changed"})),
                    "archive user" => c.http.delete(&user),
                    "list devices" => c.get(&format!("{user}/wallboxes")),
                    "read device" => c.get(&device),
                    "register device" => c.http.post(format!("{user}/wallboxes")).json(&json!({})),
                    "update device" => c.http.put(&device).json(&json!({})),
                    "reconnection link" => c
                        .http
                        .post(format!("{device}/auth_session"))
                        .json(&json!({})),
                    "delete device" => c.http.delete(&device),
                    "list buildings" => c.get(&format!("{user}/buildings")),
                    "read building" => c.get(&building),
                    "create building" => c
                        .http
                        .post(format!("{user}/buildings"))
                        .json(&json!({"name": "Office"})),
                    "update building" => c.http.put(&building).json(&json!({"name": "Office"})),
                    "delete building" => c.http.delete(&building),
                    _ => unreachable!(),
                };
                let r = c.send(req).await;
                let read =
                    op.starts_with("read") || op.starts_with("list") || op.starts_with("find");
                let allowed = match actor_role {
                    "admin" => true,
                    "staff" => read || target_role == "user",
                    _ => read,
                };
                // Nobody has that external id: Podero's own 404, past the
                // role check.
                let passed = r.status.is_success()
                    || (op == "find by external id" && r.status == 404 && r.code().is_empty());
                if allowed {
                    assert!(
                        passed,
                        "{actor_role} {op} on {target_role}: {} {}",
                        r.status,
                        r.text()
                    );
                } else {
                    assert!(
                        refused(&r),
                        "{actor_role} {op} on {target_role}: {} {}",
                        r.status,
                        r.text()
                    );
                    // ...and nothing changed upstream.
                    let now = app
                        .client
                        .send(app.client.get(&format!("{user}?include_deleted=true")))
                        .await
                        .json();
                    assert!(
                        now["deleted_at"].is_null() && now["first_name"] != "Changed",
                        "{actor_role} {op}"
                    );
                }
            }
        }
    }
    app.shutdown().await;
}

#[tokio::test]
async fn creating_users_by_role() {
    let app = spawn_app().await;
    let (staff, _) = app.member("staff").await;
    let (viewer, _) = app.member("viewer").await;
    for (actor_role, c) in [
        ("admin", &app.client),
        ("staff", &staff),
        ("viewer", &viewer),
    ] {
        for new_role in ["user", "staff", "admin"] {
            let email = format!("new-{}@example.com", uuid::Uuid::new_v4().simple());
            let r = c
                .send(
                    c.http
                        .post(app.api("/users"))
                        .json(&json!({"role": new_role, "email": email})),
                )
                .await;
            let allowed = match actor_role {
                "admin" => true,
                "staff" => new_role == "user",
                _ => false,
            };
            if allowed {
                assert_eq!(
                    r.status,
                    200,
                    "{actor_role} creates {new_role}: {}",
                    r.text()
                );
            } else {
                assert!(
                    refused(&r),
                    "{actor_role} creates {new_role}: {} {}",
                    r.status,
                    r.text()
                );
            }
        }
    }
    // Staff cannot promote an end-user either.
    let (u, _, _) = target(&app, "user").await;
    let r = staff
        .send(
            staff
                .http
                .put(app.api(&format!("/users/{u}")))
                .json(&json!({"role": "admin"})),
        )
        .await;
    assert!(refused(&r), "{}", r.text());
    app.shutdown().await;
}

#[tokio::test]
async fn gateway_endpoints_by_role() {
    let app = spawn_app().await;
    let (staff, _) = app.member("staff").await;
    let (viewer, _) = app.member("viewer").await;
    let (_, colleague) = app.member("staff").await;
    let colleague_id = colleague["id"].as_str().unwrap().to_string();
    let user: Value = app
        .client
        .send(app.client.get(&app.api("/users")))
        .await
        .json();
    let some_user = user
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "user")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let colleague_podero_id = colleague["podero_user_id"].as_str().unwrap().to_string();
    let a = &app.address;
    // (method, path, body, admin only)
    let cells: Vec<(&str, String, Option<Value>, bool)> = vec![
        ("GET", format!("{a}/api/app-info"), None, false),
        // Public (it needs no session), so every role reads it too.
        ("GET", format!("{a}/api/openapi.json"), None, false),
        ("GET", format!("{a}/api/session"), None, false),
        (
            "PUT",
            format!("{a}{}", shared::staff::LANGUAGE_PATH),
            Some(json!({"language": "en"})),
            false,
        ),
        ("GET", format!("{a}/api/directory/users"), None, false),
        ("GET", format!("{a}/api/directory/users.csv"), None, false),
        ("POST", format!("{a}/api/directory/refresh"), None, false),
        // Starting the reconnection scan changes nothing: every role.
        (
            "POST",
            format!("{a}/api/directory/reconnection"),
            None,
            false,
        ),
        (
            "GET",
            format!("{a}/api/directory/reconnection"),
            None,
            false,
        ),
        (
            "GET",
            format!("{a}/api/audit/users/{some_user}"),
            None,
            false,
        ),
        // Records about a team member are the admins'.
        (
            "GET",
            format!("{a}/api/audit/users/{colleague_podero_id}"),
            None,
            true,
        ),
        ("GET", format!("{a}/api/team"), None, true),
        ("GET", format!("{a}/api/audit"), None, true),
        ("GET", format!("{a}/api/audit.csv"), None, true),
        (
            "POST",
            format!("{a}/api/team"),
            Some(
                json!({"email": "x@example.com", "first_name": "X", "last_name": "Y", "role": "viewer"}),
            ),
            true,
        ),
        (
            "PATCH",
            format!("{a}/api/team/{colleague_id}"),
            Some(json!({"role": "staff"})),
            true,
        ),
        (
            "DELETE",
            format!("{a}/api/team/{colleague_id}/sessions"),
            None,
            true,
        ),
        (
            "POST",
            format!("{a}/api/team/{colleague_id}/password"),
            None,
            true,
        ),
    ];
    for (role, c) in [
        ("staff", &staff),
        ("viewer", &viewer),
        ("admin", &app.client),
    ] {
        for (method, url, body, admin_only) in &cells {
            let mut req = c.http.request(method.parse().unwrap(), url);
            if let Some(b) = body {
                req = req.json(b);
            }
            let r = c.send(req).await;
            let allowed = role == "admin" || !admin_only;
            if allowed {
                assert!(
                    r.status.is_success(),
                    "{role} {method} {url}: {} {}",
                    r.status,
                    r.text()
                );
            } else {
                assert!(
                    refused(&r),
                    "{role} {method} {url}: {} {}",
                    r.status,
                    r.text()
                );
            }
        }
    }
    // Removing a colleague: admins only (last, it is destructive).
    for c in [&staff, &viewer] {
        let r = c
            .send(c.http.delete(format!("{a}/api/team/{colleague_id}")))
            .await;
        assert!(refused(&r));
    }
    let r = app
        .client
        .send(
            app.client
                .http
                .delete(format!("{a}/api/team/{colleague_id}")),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    app.shutdown().await;
}

/// The support desk's endpoints: every role reads; staff work cases of
/// end-users, admins every case; the webhook log is the admins'.
#[tokio::test]
async fn case_endpoints_by_role() {
    let app = spawn_app().await;
    let (staff, _) = app.member("staff").await;
    let (viewer, _) = app.member("viewer").await;
    let (_, colleague) = app.member("staff").await;
    let team_user = colleague["podero_user_id"].as_str().unwrap().to_string();
    let (end_user, _, _) = target(&app, "user").await;
    let a = &app.address;
    let open = |c: &Checked, user: &str| {
        c.http
            .post(format!("{a}/api/cases"))
            .json(&json!({"user_id": user, "kind": "question", "subject": "Role matrix"}))
    };
    // A case of each kind of user, opened by the admin.
    let mut case_of = std::collections::HashMap::new();
    for (who, user) in [("end-user", &end_user), ("team member", &team_user)] {
        let r = app.client.send(open(&app.client, user)).await;
        assert_eq!(r.status, 201, "{}", r.text());
        case_of.insert(who, r.json()["case"]["id"].as_i64().unwrap());
    }
    let reads = [
        format!("{a}/api/cases"),
        format!("{a}/api/cases?user_id={end_user}"),
        format!("{a}/api/cases?q=role+matrix&state=open"),
        format!("{a}/api/cases.csv"),
        format!("{a}/api/cases/summary"),
        format!("{a}/api/cases/assignees"),
        format!("{a}/api/cases/{}", case_of["end-user"]),
        format!("{a}/api/cases/{}", case_of["team member"]),
        format!("{a}/api/watch"),
        format!("{a}/api/watch/users/{end_user}"),
    ];
    for (role, c) in [
        ("admin", &app.client),
        ("staff", &staff),
        ("viewer", &viewer),
    ] {
        for url in &reads {
            let r = c.send(c.get(url)).await;
            assert_eq!(r.status, 200, "{role} GET {url}: {}", r.text());
        }
        let r = c.send(c.get(&format!("{a}/api/webhooks/deliveries"))).await;
        assert_eq!(
            r.status.is_success(),
            role == "admin",
            "{role} webhook log: {}",
            r.status
        );
        if role != "admin" {
            assert!(refused(&r), "{role}: {}", r.text());
        }
        for (who, user) in [("end-user", &end_user), ("team member", &team_user)] {
            let allowed = match role {
                "admin" => true,
                "staff" => who == "end-user",
                _ => false,
            };
            let id = case_of[who];
            let writes = [
                ("open", open(c, user)),
                (
                    "change",
                    c.http
                        .patch(format!("{a}/api/cases/{id}"))
                        .json(&json!({"priority": "urgent"})),
                ),
                (
                    "comment",
                    c.http
                        .post(format!("{a}/api/cases/{id}/comments"))
                        .json(&json!({"text": "Called back."})),
                ),
            ];
            for (op, req) in writes {
                let r = c.send(req).await;
                if allowed {
                    assert!(
                        r.status.is_success(),
                        "{role} {op} on a case of a {who}: {} {}",
                        r.status,
                        r.text()
                    );
                } else {
                    assert!(
                        refused(&r),
                        "{role} {op} on a case of a {who}: {} {}",
                        r.status,
                        r.text()
                    );
                }
            }
        }
    }
    // Nothing a refused request tried is on the timeline.
    let detail = app
        .client
        .send(
            app.client
                .get(&format!("{a}/api/cases/{}", case_of["team member"])),
        )
        .await
        .json();
    let comments = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "comment")
        .count();
    assert_eq!(comments, 1, "only the admin's comment: {detail}");
    app.shutdown().await;
}

/// The sync endpoints: admins and staff compare and apply customer files
/// (a run touches end-users only) and pause or resume runs; viewers read
/// the runs, their reports and the data-quality report.
#[tokio::test]
async fn sync_endpoints_by_role() {
    let app = spawn_app().await;
    let (staff, _) = app.member("staff").await;
    let (viewer, _) = app.member("viewer").await;
    let a = &app.address;
    let file = "email\nsync-roles@example.de\n";
    let r = app
        .client
        .send(
            app.client
                .http
                .post(format!("{a}/api/sync/runs"))
                .body(file),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let run = r.json()["id"].as_str().unwrap().to_string();
    // (method, path, body, viewer may)
    let cells: [(&str, String, bool); 9] = [
        ("POST", format!("{a}/api/sync/dry-run"), false),
        ("GET", format!("{a}/api/sync/runs"), true),
        ("GET", format!("{a}/api/sync/runs/{run}"), true),
        ("GET", format!("{a}/api/sync/runs/{run}/report.csv"), true),
        ("POST", format!("{a}/api/sync/runs/{run}/pause"), false),
        ("POST", format!("{a}/api/sync/runs/{run}/resume"), false),
        ("GET", format!("{a}/api/sync/quality"), true),
        ("GET", format!("{a}/api/sync/quality.csv"), true),
        // Last: a run with nothing to write (the file is applied already).
        ("POST", format!("{a}/api/sync/runs"), false),
    ];
    for (role, c) in [
        ("viewer", &viewer),
        ("staff", &staff),
        ("admin", &app.client),
    ] {
        for (method, url, viewer_may) in &cells {
            let mut req = c.http.request(method.parse().unwrap(), url);
            if *method == "POST" {
                req = req.body(file);
            }
            let r = c.send(req).await;
            if role != "viewer" || *viewer_may {
                // Starting a run while another is active is a 409, not a
                // refusal by role.
                assert!(
                    r.status.is_success() || r.status == 409,
                    "{role} {method} {url}: {} {}",
                    r.status,
                    r.text()
                );
            } else {
                assert!(
                    refused(&r),
                    "{role} {method} {url}: {} {}",
                    r.status,
                    r.text()
                );
            }
        }
    }
    app.shutdown().await;
}

/// The self-service endpoints: every role reads a user's links; admins
/// create, revoke and send links for anyone, staff for end-users only
/// (not for a team member), viewers never; the outbox is for admins.
#[tokio::test]
async fn self_service_endpoints_by_role() {
    let app = spawn_app().await;
    let (staff, _) = app.member("staff").await;
    let (viewer, _) = app.member("viewer").await;
    let a = &app.address;
    let (end_user, _, _) = target(&app, "user").await;
    let (team_member, _, _) = target(&app, "staff").await;
    // A link per target for the revoke cells.
    let mut link_of = std::collections::HashMap::new();
    for u in [&end_user, &team_member] {
        let r = app
            .client
            .send(
                app.client
                    .http
                    .post(format!("{a}/api/users/{u}/self-service-link"))
                    .json(&json!({})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        link_of.insert(u.clone(), r.json()["id"].as_i64().unwrap());
    }
    for (role, c) in [
        ("viewer", &viewer),
        ("staff", &staff),
        ("admin", &app.client),
    ] {
        for (whose, u) in [("end-user", &end_user), ("team member", &team_member)] {
            // (method, path, body, who may: viewer, staff on end-users, admin)
            let link = link_of[u];
            let cells = [
                (
                    "GET",
                    format!("{a}/api/users/{u}/self-service-links"),
                    None,
                    true,
                ),
                (
                    "POST",
                    format!("{a}/api/users/{u}/self-service-link"),
                    Some(json!({})),
                    false,
                ),
                (
                    "POST",
                    format!("{a}/api/users/{u}/self-service-email"),
                    Some(json!({"language": "en"})),
                    false,
                ),
                (
                    "DELETE",
                    format!("{a}/api/users/{u}/self-service-links/{link}"),
                    None,
                    false,
                ),
            ];
            for (method, url, body, viewer_may) in cells {
                let mut req = c.http.request(method.parse().unwrap(), &url);
                if let Some(b) = body {
                    req = req.json(&b);
                }
                let r = c.send(req).await;
                let may = match role {
                    "admin" => true,
                    "staff" => viewer_may || whose == "end-user",
                    _ => viewer_may,
                };
                if may {
                    assert!(
                        r.status.is_success(),
                        "{role} {method} {url} ({whose}): {} {}",
                        r.status,
                        r.text()
                    );
                } else {
                    assert!(
                        refused(&r),
                        "{role} {method} {url} ({whose}): {} {}",
                        r.status,
                        r.text()
                    );
                }
            }
        }
        let r = c.send(c.get(&format!("{a}/api/outbox"))).await;
        if role == "admin" {
            assert_eq!(r.status, 200, "{}", r.text());
        } else {
            assert!(refused(&r), "{role} outbox: {} {}", r.status, r.text());
        }
    }
    app.shutdown().await;
}
