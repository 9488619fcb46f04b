//! The users read model: paging, sorting, search, filters, CSV export,
//! refresh after writes, and the reconnection scan, checked against the
//! emulator's own answers.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;
use shared::directory::{fold, ReconnectionReport, ScanState, UserPage};
use shared::{DeviceCommon, DeviceKind, Role, User};

use crate::helpers::{
    eventually, spawn_app_with, spawn_fake_upstream, spawn_gateway_for, Checked, Options, TestApp,
    TEST_SECRET,
};

async fn page(app: &TestApp, query: &str) -> UserPage {
    let r = app
        .client
        .send(
            app.client
                .get(&format!("{}/api/directory/users?{query}", app.address)),
        )
        .await;
    assert_eq!(r.status, 200, "{query}: {}", r.text());
    serde_json::from_slice(&r.body).unwrap()
}

/// Every user straight from Podero (through the proxy), archived too.
async fn all_users(app: &TestApp) -> Vec<User> {
    let r = app
        .client
        .send(app.client.get(&app.api("/users?include_deleted=true")))
        .await;
    serde_json::from_slice(&r.body).unwrap()
}

fn ids(p: &UserPage) -> Vec<uuid::Uuid> {
    p.rows.iter().map(|r| r.user.id).collect()
}

#[tokio::test]
async fn paging_sorting_search_and_filters_match_the_upstream_list() {
    let app = spawn_app_with(Options {
        seed_users: 120,
        ..Default::default()
    })
    .await;
    let users = all_users(&app).await;
    let active: Vec<&User> = users.iter().filter(|u| u.deleted_at.is_none()).collect();
    assert!(active.len() < users.len(), "the seed archives some users");

    // Default: active users by name, 50 a page, with the totals.
    let first = page(&app, "").await;
    assert_eq!(first.total, active.len());
    assert_eq!(first.active_users, active.len());
    assert_eq!(first.archived_users, users.len() - active.len());
    assert_eq!(first.rows.len(), 50);
    assert!(first.freshness.loaded_at.is_some());
    // Paging covers everyone exactly once.
    let mut seen = HashSet::new();
    for p in 1..=first.pages() {
        for id in ids(&page(&app, &format!("page={p}")).await) {
            assert!(seen.insert(id), "user {id} on two pages");
        }
    }
    assert_eq!(seen.len(), active.len());

    // Sort by e-mail, both directions, equals sorting the upstream list.
    let mut by_email: Vec<&User> = active.clone();
    by_email.sort_by_key(|u| u.email.to_lowercase());
    let asc = page(&app, "sort=email&per_page=500").await;
    assert_eq!(ids(&asc), by_email.iter().map(|u| u.id).collect::<Vec<_>>());
    let desc = page(&app, "sort=email&dir=desc&per_page=500").await;
    let mut reversed = ids(&asc);
    reversed.reverse();
    assert_eq!(ids(&desc), reversed);

    // Devices sort: counts never go up in descending order.
    let d = page(&app, "sort=devices&dir=desc&per_page=500").await;
    let counts: Vec<u32> = d.rows.iter().map(|r| r.user.num_devices()).collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");

    // Search: a surname, typed lower-case without accents.
    let target = active
        .iter()
        .find(|u| u.last_name.is_some() && u.town.is_some() && u.external_user_id.is_some())
        .unwrap();
    let last = fold(target.last_name.as_deref().unwrap());
    let found = page(&app, &format!("q={}", last.to_uppercase())).await;
    assert!(ids(&found).contains(&target.id));
    assert!(found
        .rows
        .iter()
        .all(|r| fold(&format!("{:?}", r.user)).contains(&last)));
    let expected = active
        .iter()
        .filter(|u| {
            [
                u.first_name.as_deref(),
                u.last_name.as_deref(),
                Some(u.email.as_str()),
                u.external_user_id.as_deref(),
                u.town.as_deref(),
            ]
            .into_iter()
            .flatten()
            .any(|f| fold(f).contains(&last))
        })
        .count();
    assert_eq!(found.total, expected);
    // By customer number and by town, too.
    let ext = target.external_user_id.clone().unwrap();
    assert!(ids(&page(&app, &format!("q={ext}")).await).contains(&target.id));
    let both = page(
        &app,
        &format!(
            "q={}+{}",
            shared::directory::percent_encode(&last),
            shared::directory::percent_encode(target.town.as_deref().unwrap())
        ),
    )
    .await;
    assert!(
        ids(&both).contains(&target.id),
        "words match different fields"
    );
    assert_eq!(page(&app, "q=zzzz-no-such-person").await.total, 0);

    // Filters agree with the upstream data.
    let team = page(&app, "role=admin,staff&per_page=500").await;
    assert_eq!(
        team.total,
        active.iter().filter(|u| u.role.is_team()).count()
    );
    assert!(team.rows.iter().all(|r| r.user.role != Role::User));
    let hp = page(&app, "device=heat-pumps&per_page=500").await;
    assert_eq!(
        hp.total,
        active.iter().filter(|u| u.num_heat_pumps > 0).count()
    );
    let none = page(&app, "device=none&per_page=500").await;
    assert_eq!(
        none.total,
        active.iter().filter(|u| u.num_devices() == 0).count()
    );
    let onboarded = page(&app, "onboarded=true&per_page=500").await;
    assert_eq!(
        onboarded.total,
        active
            .iter()
            .filter(|u| u.is_onboarded == Some(true))
            .count()
    );
    let archived = page(&app, "archived=only").await;
    assert_eq!(archived.total, users.len() - active.len());
    assert!(archived.rows.iter().all(|r| r.user.deleted_at.is_some()));
    assert_eq!(page(&app, "include_deleted=true").await.total, users.len());
    app.shutdown().await;
}

#[tokio::test]
async fn bad_query_values_are_named() {
    let app = spawn_app_with(Options {
        seed_users: 5,
        ..Default::default()
    })
    .await;
    let r = app
        .client
        .send(app.client.get(&format!(
            "{}/api/directory/users?sort=shoe_size&per_page=100000",
            app.address
        )))
        .await;
    assert_eq!(r.status, 400);
    let body = r.json();
    assert_eq!(body["code"], "invalid_query");
    assert_eq!(body["detail"][0]["loc"], json!(["query", "sort"]));
    assert!(body["detail"][0]["msg"]
        .as_str()
        .unwrap()
        .contains("use name, email"));
    assert_eq!(body["detail"][1]["loc"], json!(["query", "per_page"]));
    app.shutdown().await;
}

#[tokio::test]
async fn writes_through_the_gateway_refresh_the_list() {
    let app = spawn_app_with(Options {
        seed_users: 20,
        ..Default::default()
    })
    .await;
    let before = page(&app, "").await;
    // Create.
    let r = app
        .client
        .send(app.client.http.post(app.api("/users")).json(&json!({
            "role": "user", "email": "zoe.quellwasser@example.at",
            "first_name": "Zoë", "last_name": "Quellwasser", "town": "Bregenz"
        })))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let created: User = serde_json::from_slice(&r.body).unwrap();
    let found = eventually(Duration::from_secs(10), || async {
        let p = page(&app, "q=zoe+quellwasser").await;
        (p.total == 1).then_some(p)
    })
    .await;
    assert_eq!(found.rows[0].user.id, created.id);
    assert!(found.freshness.loaded_at >= before.freshness.loaded_at);
    // Update: the new town is searchable, the old one no longer finds her.
    let r = app
        .client
        .send(
            app.client
                .http
                .put(app.api(&format!("/users/{}", created.id)))
                .json(&json!({"town": "Dornbirn"})),
        )
        .await;
    assert_eq!(r.status, 200);
    eventually(Duration::from_secs(10), || async {
        let p = page(&app, "q=quellwasser+dornbirn").await;
        (p.total == 1).then_some(())
    })
    .await;
    assert_eq!(page(&app, "q=quellwasser+bregenz").await.total, 0);
    // Archive: hidden by default, listed with the archived filter.
    let r = app
        .client
        .send(
            app.client
                .http
                .delete(app.api(&format!("/users/{}", created.id))),
        )
        .await;
    assert_eq!(r.status, 204);
    eventually(Duration::from_secs(10), || async {
        (page(&app, "q=quellwasser").await.total == 0).then_some(())
    })
    .await;
    let archived = page(&app, "q=quellwasser&archived=only").await;
    assert_eq!(ids(&archived), [created.id]);
    assert!(archived.rows[0].user.deleted_at.is_some());

    // Refresh on request answers 202 and a new snapshot follows.
    let loaded = page(&app, "").await.freshness.loaded_at;
    let r = app
        .client
        .send(
            app.client
                .http
                .post(format!("{}/api/directory/refresh", app.address)),
        )
        .await;
    assert_eq!(r.status, 202);
    eventually(Duration::from_secs(10), || async {
        (page(&app, "").await.freshness.loaded_at > loaded).then_some(())
    })
    .await;
    app.shutdown().await;
}

#[tokio::test]
async fn csv_export_has_every_matching_user() {
    let app = spawn_app_with(Options {
        seed_users: 80,
        ..Default::default()
    })
    .await;
    let all = page(&app, "").await;
    assert!(all.total > 50, "more than one page");
    let r = app
        .client
        .send(app.client.get(&format!(
            "{}/api/directory/users.csv?page=2&per_page=25",
            app.address
        )))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(r
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment; filename=\"users-"));
    let text = r.text();
    let text = text.trim_start_matches('\u{feff}');
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0]
        .starts_with("\"id\",\"first_name\",\"last_name\",\"email\",\"customer_number\",\"role\""));
    assert_eq!(lines.len() - 1, all.total, "all pages, not only one");

    let team = page(&app, "role=admin,staff").await;
    let r = app
        .client
        .send(app.client.get(&format!(
            "{}/api/directory/users.csv?role=admin,staff",
            app.address
        )))
        .await;
    let text = r.text();
    assert_eq!(text.lines().count() - 1, team.total);
    for row in &team.rows {
        assert!(text.contains(&row.user.email));
    }
    app.shutdown().await;
}

#[tokio::test]
async fn reconnection_scan_finds_every_lost_device() {
    let app = spawn_app_with(Options {
        seed_users: 60,
        ..Default::default()
    })
    .await;
    // Ground truth: every active user's devices, read directly.
    let mut expected = HashSet::new();
    for u in all_users(&app).await {
        if u.deleted_at.is_some() {
            continue;
        }
        for kind in DeviceKind::ALL {
            let r = app
                .client
                .send(
                    app.client
                        .get(&app.api(&format!("/users/{}/{}", u.id, kind.path_segment()))),
                )
                .await;
            let devices: Vec<DeviceCommon> = serde_json::from_slice(&r.body).unwrap();
            for d in devices.iter().filter(|d| !d.is_authenticated) {
                expected.insert((u.id, d.id));
            }
        }
    }
    assert!(!expected.is_empty(), "the seed has lost devices");

    let url = format!("{}/api/directory/reconnection", app.address);
    let idle: ReconnectionReport =
        serde_json::from_slice(&app.client.send(app.client.get(&url)).await.body).unwrap();
    assert_eq!(idle.scan.state, ScanState::Idle);
    let r = app.client.send(app.client.http.post(&url)).await;
    assert_eq!(r.status, 202);
    let done: ReconnectionReport = eventually(Duration::from_secs(20), || async {
        let r: ReconnectionReport =
            serde_json::from_slice(&app.client.send(app.client.get(&url)).await.body).unwrap();
        (r.scan.state == ScanState::Done).then_some(r)
    })
    .await;
    assert_eq!(done.scan.users_scanned, done.scan.users_total);
    assert_eq!(done.scan.failures, 0);
    let got: HashSet<_> = done
        .devices
        .iter()
        .map(|d| (d.user_id, d.device_id))
        .collect();
    assert_eq!(got, expected);
    assert!(done.devices.iter().all(|d| d.reconnection_link.is_some()));

    // The list's "lost" filter now has exactly those users.
    let lost = page(&app, "lost=true&per_page=500").await;
    let users: HashSet<_> = expected.iter().map(|(u, _)| *u).collect();
    assert_eq!(ids(&lost).into_iter().collect::<HashSet<_>>(), users);
    assert!(lost.rows.iter().all(|r| r.lost_devices.unwrap_or(0) > 0));
    app.shutdown().await;
}

#[tokio::test]
async fn unreachable_podero_is_a_clear_503() {
    let gateway = spawn_gateway_for("http://127.0.0.1:9", Duration::from_secs(2)).await;
    let c = Checked::admin(&gateway.base_url, vec![]).await;
    let r = c
        .send(c.get(&format!("{}/api/directory/users", gateway.base_url)))
        .await;
    assert_eq!(r.status, 503);
    let body = r.json();
    assert_eq!(body["code"], "users_unavailable");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("could not be reached"),
        "{body}"
    );
    gateway.shutdown().await;
}

/// A users list that is not a JSON array of users (this fake Podero
/// answers `{"ok": true}`) is a clear 503 naming what is wrong, not a
/// panic or an empty list.
#[tokio::test]
async fn a_users_list_that_is_not_an_array_is_a_clear_503() {
    let fake = spawn_fake_upstream(false).await;
    let gateway = spawn_gateway_for(&fake.base_url, Duration::from_secs(5)).await;
    let c = Checked::admin(
        &gateway.base_url,
        vec!["fake-token-".into(), TEST_SECRET.into()],
    )
    .await;
    let r = c
        .send(c.get(&format!("{}/api/directory/users", gateway.base_url)))
        .await;
    assert_eq!(r.status, 503);
    let body = r.json();
    assert_eq!(body["code"], "users_unavailable");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("expected a JSON array"), "{body}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn device_reads_through_the_gateway_correct_the_reconnection_report() {
    let app = spawn_app_with(Options {
        seed_users: 60,
        ..Default::default()
    })
    .await;
    let url = format!("{}/api/directory/reconnection", app.address);
    app.client.send(app.client.http.post(&url)).await;
    let done: ReconnectionReport = eventually(Duration::from_secs(20), || async {
        let r: ReconnectionReport =
            serde_json::from_slice(&app.client.send(app.client.get(&url)).await.body).unwrap();
        (r.scan.state == ScanState::Done).then_some(r)
    })
    .await;
    let lost = done.devices[0].clone();
    // The customer completes the manufacturer sign-in on the link.
    let link = lost.reconnection_link.clone().unwrap();
    let r = app
        .client
        .send(app.client.http.post(&link).form(&[("action", "connect")]))
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    // "Verify connection" reads the device through the gateway...
    let r = app
        .client
        .send(app.client.get(&app.api(&format!(
            "/users/{}/{}/{}",
            lost.user_id,
            lost.kind.path_segment(),
            lost.device_id
        ))))
        .await;
    let device: DeviceCommon = serde_json::from_slice(&r.body).unwrap();
    assert!(device.is_authenticated);
    // ...and the report and the list's filter no longer count it.
    let now: ReconnectionReport =
        serde_json::from_slice(&app.client.send(app.client.get(&url)).await.body).unwrap();
    assert!(!now.devices.iter().any(|d| d.device_id == lost.device_id));
    assert_eq!(now.devices.len(), done.devices.len() - 1);
    let still_lost = done
        .devices
        .iter()
        .filter(|d| d.user_id == lost.user_id)
        .count()
        - 1;
    let row = page(&app, "lost=true&per_page=500").await;
    assert_eq!(
        row.rows.iter().any(|r| r.user.id == lost.user_id),
        still_lost > 0
    );
    app.shutdown().await;
}
