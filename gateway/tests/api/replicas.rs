//! Two gateway replicas on one PostgreSQL database (and one emulator):
//! any replica answers any request, and what one replica changes applies
//! on the other at once (sessions, roles, the sign-in throttle, the audit
//! trail); the once-per-cluster job's lease moves when its holder stops.
//! Needs `TEST_DATABASE_URL` (`cargo xtask test` starts a PostgreSQL and
//! sets it); without it the test says so and passes, unless
//! `CI_REQUIRE_POSTGRES=1`.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use gateway::database::{open, scratch_postgres, Store};
use gateway::jobs::lease::Leases;
use gateway::{Application, Config, PoderoCredentials, RunningGateway, Secret, UpstreamConfig};
use podero_emulator::EmulatorConfig;
use serde_json::json;
use tempfile::TempDir;

use crate::helpers::{
    eventually, spawn_emulator, Checked, ADMIN_EMAIL, ADMIN_FIRST_PASSWORD, TEST_SECRET,
};

/// A fresh PostgreSQL database, or `None` (test skipped) without a server.
async fn postgres() -> Option<String> {
    let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
        assert_ne!(
            std::env::var("CI_REQUIRE_POSTGRES").as_deref(),
            Ok("1"),
            "CI_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is unset"
        );
        eprintln!("skipped: set TEST_DATABASE_URL to a PostgreSQL server (cargo xtask test does)");
        return None;
    };
    Some(scratch_postgres(&admin).await.expect("a scratch database"))
}

async fn replica(
    emulator: &podero_emulator::RunningEmulator,
    ec: &EmulatorConfig,
    database_url: &str,
    name: &str,
    data: &TempDir,
) -> RunningGateway {
    let mut config = Config::new(UpstreamConfig::Podero(PoderoCredentials {
        base_url: emulator.base_url.clone(),
        client_id: ec.client_id.clone(),
        client_secret: Secret::new(TEST_SECRET),
        org_id: emulator.org_id,
    }));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.data_dir = data.path().join(name);
    config.frontend_dir = data.path().join("no-frontend");
    config.admin_password = Some(Secret::new(ADMIN_FIRST_PASSWORD));
    config.database_url = Some(Secret::new(database_url));
    config.replica_id = name.to_string();
    Application::build(config).await.unwrap().spawn()
}

#[tokio::test]
async fn two_replicas_share_sessions_roles_throttle_audit_and_jobs() {
    let Some(url) = postgres().await else {
        return;
    };
    gateway::telemetry::init();
    let data = tempfile::tempdir().unwrap();
    let (emulator, ec) = spawn_emulator(data.path(), 5).await;
    let a = replica(&emulator, &ec, &url, "replica-a", &data).await;
    let b = replica(&emulator, &ec, &url, "replica-b", &data).await;
    let (at_a, at_b) = (a.base_url.clone(), b.base_url.clone());

    // Signed in on A (one first admin for both), the session works on B.
    let admin = Checked::admin(&at_a, vec![TEST_SECRET.into()]).await;
    let r = admin.send(admin.get(&format!("{at_b}/api/session"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["account"]["email"], ADMIN_EMAIL);

    // A colleague invited on A signs in on B.
    let email = "replica-staff@example.com";
    let r = admin
        .send(admin.http.post(format!("{at_a}/api/team")).json(
            &json!({"email": email, "first_name": "Rita", "last_name": "Replica", "role": "staff"}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["member"]["id"].as_str().unwrap().to_string();
    let otp = r.json()["one_time_password"].as_str().unwrap().to_string();
    let staff = admin
        .without_session()
        .sign_in(&at_b, email, &otp, Some("rita's long password"))
        .await;

    // A role change on A applies on B at once, though B remembers her
    // session (she was just served there).
    let r = staff.send(staff.get(&format!("{at_b}/api/session"))).await;
    assert_eq!(r.json()["account"]["role"], "staff", "{}", r.text());
    let r = admin
        .send(
            admin
                .http
                .patch(format!("{at_a}/api/team/{id}"))
                .json(&json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = staff.send(staff.get(&format!("{at_b}/api/session"))).await;
    assert_eq!(r.json()["account"]["role"], "viewer", "{}", r.text());

    // Ending her sessions on A ends them on B at once.
    let r = admin
        .send(admin.http.delete(format!("{at_a}/api/team/{id}/sessions")))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = staff.send(staff.get(&format!("{at_b}/api/session"))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // The sign-in throttle counts on both: 5 failures for one e-mail,
    // spread over A and B, and the next attempt anywhere is refused.
    let anon = admin.without_session();
    for (i, base) in [&at_a, &at_b, &at_a, &at_b, &at_a].iter().enumerate() {
        let r = anon
            .send(
                anon.http
                    .post(format!("{base}/api/session"))
                    .header(shared::staff::CSRF_HEADER, "sign-in")
                    .json(&json!({"email": email, "password": format!("wrong {i}")})),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = anon
        .send(
            anon.http
                .post(format!("{at_b}/api/session"))
                .header(shared::staff::CSRF_HEADER, "sign-in")
                .json(&json!({"email": email, "password": "rita's long password"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());

    // One audit trail: B lists the invitation made on A.
    let r = admin
        .send(admin.get(&format!("{at_b}/api/audit?action=team.invite")))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["total"], 1, "{}", r.text());

    // Signing out on B ends the admin's session on A.
    let r = admin
        .send(admin.http.delete(format!("{at_b}/api/session")))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = admin.send(admin.get(&format!("{at_a}/api/session"))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // The housekeeping job runs on one replica; stopping it moves the job.
    let db = open(&Store::Postgres(url)).await.unwrap();
    let observer = Leases::new(db, "observer");
    let holder = eventually(Duration::from_secs(15), || async {
        observer
            .current("housekeeping")
            .await
            .unwrap()
            .map(|(holder, _)| holder)
    })
    .await;
    let (stopped, other, survivor) = if holder == "replica-a" {
        (a, "replica-b", b)
    } else {
        (b, "replica-a", a)
    };
    let started = Instant::now();
    stopped.shutdown().await;
    eventually(Duration::from_secs(15), || async {
        let now = observer.current("housekeeping").await.unwrap();
        now.filter(|(h, _)| h == other).map(drop)
    })
    .await;
    eprintln!(
        "the job moved from {holder} to {other} in {:.1} s after a clean shutdown",
        started.elapsed().as_secs_f64()
    );
    survivor.shutdown().await;
    emulator.shutdown().await;
}
