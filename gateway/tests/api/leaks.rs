//! The real `gateway` binary, logging at `RUST_LOG=trace`, in front of the
//! emulator: the client secret and every bearer token the emulator issued
//! must not appear in any response body or header, in the logs, or in the
//! built browser bundle. And the audit trail survives `kill -9`: the
//! record of a change answered just before the kill is there after a
//! restart.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::helpers::{spawn_binary, spawn_emulator, Checked, Resp, ADMIN_EMAIL, TEST_SECRET};

const NEW_PASSWORD: &str = "leak-test-admin-password-77";

/// The built bundle to scan: `<workspace>/dist`. Required when
/// `PODERO_REQUIRE_DIST` is set (`cargo xtask test` builds it first).
fn dist() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist");
    if dir.join("index.html").exists() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("PODERO_REQUIRE_DIST").is_none(),
        "{} has no built bundle: run `cargo xtask frontend`",
        dir.display()
    );
    eprintln!(
        "note: no built bundle in {}; the bundle is not scanned",
        dir.display()
    );
    None
}

fn scan(what: &str, haystack: &[u8], needles: &[String]) {
    let text = String::from_utf8_lossy(haystack);
    for n in needles {
        assert!(!text.contains(n.as_str()), "{what} contains {n:?}");
    }
}

#[tokio::test]
async fn secrets_stay_in_the_gateway_and_the_audit_survives_a_kill() {
    let data = tempfile::tempdir().unwrap();
    let (emulator, ec) = spawn_emulator(data.path(), 20).await;
    let gw_data = data.path().join("gateway");
    std::fs::create_dir_all(&gw_data).unwrap();
    let frontend = dist().unwrap_or_else(|| gw_data.join("no-frontend"));
    let env = [("RUST_LOG", "trace")];
    let gateway = spawn_binary(
        &emulator,
        &ec.client_id,
        &gw_data,
        "first.log",
        &frontend,
        &env,
    )
    .await;
    let a = gateway.base_url.clone();
    let otp = gateway.logged_password();
    let c = Checked::new(vec![TEST_SECRET.into()])
        .sign_in(&a, ADMIN_EMAIL, &otp, Some(NEW_PASSWORD))
        .await;
    let org = emulator.org_id;
    let api = |rest: &str| format!("{a}/api/partners/v2.0/org/{org}{rest}");

    // Everything the app does, keeping every answer.
    let mut answers: Vec<Resp> = Vec::new();
    for url in [
        format!("{a}/"),
        format!("{a}/api/app-info"),
        format!("{a}/api/session"),
        format!("{a}/api/directory/users"),
        format!("{a}/api/directory/users.csv"),
        api("/users"),
    ] {
        answers.push(c.send(c.get(&url)).await);
    }
    let users = answers.last().unwrap().json();
    let user = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "user" && u["num_wallboxes"].as_u64() > Some(0))
        .cloned()
        .unwrap_or_else(|| {
            users
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["role"] == "user")
                .unwrap()
                .clone()
        });
    let uid = user["id"].as_str().unwrap();
    answers.push(c.send(c.get(&api(&format!("/users/{uid}")))).await);
    let r = c
        .send(
            c.http
                .post(api(&format!("/users/{uid}/wallboxes")))
                .json(&json!({})),
        )
        .await;
    let did = r.json()["id"].as_str().unwrap().to_string();
    answers.push(r);
    answers.push(
        c.send(
            c.http
                .post(api(&format!("/users/{uid}/wallboxes/{did}/auth_session")))
                .json(&json!({})),
        )
        .await,
    );
    answers.push(
        c.send(
            c.http
                .post(api(&format!("/users/{uid}/buildings")))
                .json(&json!({"name": "Home"})),
        )
        .await,
    );
    let invite = c
        .send(c.http.post(format!("{a}/api/team")).json(&json!({"email": "leak.check@example.com", "first_name": "Leak", "last_name": "Check", "role": "staff"})))
        .await;
    assert_eq!(invite.status, 201, "{}", invite.text());
    let member_otp = invite.json()["one_time_password"]
        .as_str()
        .unwrap()
        .to_string();
    answers.push(invite);
    answers.push(c.send(c.get(&format!("{a}/api/audit?per_page=500"))).await);
    answers.push(c.send(c.get(&format!("{a}/api/audit.csv"))).await);
    // The last change, then kill -9 at once.
    let r = c
        .send(
            c.http
                .put(api(&format!("/users/{uid}")))
                .json(&json!({"town": "Killed-Right-After"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    answers.push(r);
    // Reads of the device, answered just before the kill.
    let device = api(&format!("/users/{uid}/wallboxes/{did}"));
    let reads = futures::future::join_all((0..20).map(|_| c.send(c.get(&device)))).await;
    for r in &reads {
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let mut gateway = gateway;
    gateway.child.kill().unwrap();
    gateway.child.wait().unwrap();

    // The tokens Podero (the emulator) issued: none in any answer.
    let tokens = emulator.emulator.issued_tokens();
    assert!(!tokens.is_empty(), "the gateway took a token");
    for t in &tokens {
        c.forbid(t.clone());
    }
    for r in &answers {
        c.check(r);
    }

    // The audit record of the change answered just before the kill.
    let again = spawn_binary(
        &emulator,
        &ec.client_id,
        &gw_data,
        "second.log",
        &frontend,
        &env,
    )
    .await;
    let c2 = Checked::new(vec![TEST_SECRET.into()])
        .sign_in(&again.base_url, ADMIN_EMAIL, NEW_PASSWORD, None)
        .await;
    let r = c2
        .send(c2.get(&format!(
            "{}/api/audit?action=user.update&user={uid}",
            again.base_url
        )))
        .await;
    let entries: Vec<Value> = r.json()["entries"].as_array().unwrap().clone();
    assert!(
        entries
            .iter()
            .any(|e| e["changes"][0]["to"] == "Killed-Right-After" && e["status"] == 200),
        "{entries:?}"
    );
    // Each read answered before the kill is in the trail, once.
    let r = c2
        .send(c2.get(&format!(
            "{}/api/audit?action=device.read&user={uid}&per_page=100",
            again.base_url
        )))
        .await;
    let reads = r.json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["method"] == "GET" && e["status"] == 200)
        .count();
    assert_eq!(reads, 20, "{}", r.text());
    // No first-admin password is logged on the second start.
    assert!(!std::fs::read_to_string(&again.log)
        .unwrap()
        .contains("one-time password"));
    drop(again);

    // Logs (at trace level) and the bundle.
    let mut needles: Vec<String> = tokens.clone();
    needles.push(TEST_SECRET.into());
    needles.push(NEW_PASSWORD.into());
    needles.push(member_otp);
    for log in ["first.log", "second.log"] {
        let bytes = std::fs::read(gw_data.join(log)).unwrap();
        assert!(bytes.len() > 1000, "{log} is suspiciously short");
        scan(log, &bytes, &needles);
    }
    if let Some(dist) = dist() {
        let mut scanned = 0;
        for entry in std::fs::read_dir(&dist).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                scan(
                    &path.display().to_string(),
                    &std::fs::read(&path).unwrap(),
                    &needles,
                );
                scanned += 1;
            }
        }
        assert!(scanned >= 3, "the bundle has {scanned} files");
    }
    emulator.shutdown().await;
}
