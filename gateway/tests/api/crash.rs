//! `kill -9` in the middle of writing: the real `gateway` binary is killed
//! while eight clients keep changing an end-user, so audit batches are
//! being written (and their `fsync` waited for) at the moment of the kill;
//! three times, restarting on the same data directory in between. Then
//! every change that was answered before a kill has its audit record,
//! exactly once: nothing is acknowledged before it is durable, and the
//! database each kill cut off opens again. Changes that were in flight may
//! or may not be there. (An answer sent before its record's commit was
//! caught in about two of three single kills; three kills make a miss
//! unlikely.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{spawn_binary, spawn_emulator, Checked, ADMIN_EMAIL, TEST_SECRET};

const NEW_PASSWORD: &str = "crash-test-admin-password-41";
/// Concurrent writers.
const WRITERS: usize = 8;
/// Answered changes to wait for before each kill.
const BEFORE_KILL: usize = 120;
/// Kills.
const ROUNDS: usize = 3;

#[tokio::test]
async fn every_change_answered_before_a_kill_mid_write_is_in_the_trail_once() {
    let data = tempfile::tempdir().unwrap();
    let (emulator, ec) = spawn_emulator(data.path(), 20).await;
    let gw_data = data.path().join("gateway");
    std::fs::create_dir_all(&gw_data).unwrap();
    let frontend = gw_data.join("no-frontend");
    let start =
        |log: &'static str| spawn_binary(&emulator, &ec.client_id, &gw_data, log, &frontend, &[]);
    let org = emulator.org_id;
    let mut uid = String::new();
    let answered: Arc<Mutex<Vec<String>>> = Arc::default();
    for round in 0..ROUNDS {
        let mut gateway = start(["round-0.log", "round-1.log", "round-2.log"][round]).await;
        let a = gateway.base_url.clone();
        let c = if round == 0 {
            let otp = gateway.logged_password();
            Checked::new(vec![TEST_SECRET.into()])
                .sign_in(&a, ADMIN_EMAIL, &otp, Some(NEW_PASSWORD))
                .await
        } else {
            Checked::new(vec![TEST_SECRET.into()])
                .sign_in(&a, ADMIN_EMAIL, NEW_PASSWORD, None)
                .await
        };
        if uid.is_empty() {
            let users = c
                .send(c.get(&format!("{a}/api/partners/v2.0/org/{org}/users")))
                .await
                .json();
            uid = users
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["role"] == "user")
                .unwrap_or_else(|| panic!("no seeded end-user in {users}"))["id"]
                .as_str()
                .unwrap()
                .to_string();
        }
        let url = format!("{a}/api/partners/v2.0/org/{org}/users/{uid}");
        // Eight writers, each changing the town to a value of its own,
        // noting every value whose change was answered 200; they stop at
        // the first failed request (the kill).
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (http, url, answered) = (c.http.clone(), url.clone(), answered.clone());
                tokio::spawn(async move {
                    for n in 0.. {
                        let town = format!("Crash-{round}-{w}-{n}");
                        let sent = http.put(&url).json(&json!({ "town": town })).send().await;
                        match sent {
                            Ok(r) if r.status() == 200 => answered.lock().unwrap().push(town),
                            Ok(r) => {
                                panic!("a change was refused: {} {:?}", r.status(), r.text().await)
                            }
                            Err(_) => return,
                        }
                    }
                })
            })
            .collect();
        let enough = (round + 1) * BEFORE_KILL;
        let deadline = Instant::now() + Duration::from_secs(60);
        while answered.lock().unwrap().len() < enough {
            assert!(
                Instant::now() < deadline,
                "the writers made too few changes"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        gateway.child.kill().unwrap();
        gateway.child.wait().unwrap();
        for w in writers {
            w.await.expect("a writer panicked");
        }
    }
    let answered = answered.lock().unwrap().clone();

    // Restarted on the same files: each answered change's record, once.
    let again = start("after.log").await;
    let c2 = Checked::new(vec![TEST_SECRET.into()])
        .sign_in(&again.base_url, ADMIN_EMAIL, NEW_PASSWORD, None)
        .await;
    let mut recorded: HashMap<String, usize> = HashMap::new();
    for page in 1.. {
        let r = c2
            .send(c2.get(&format!(
                "{}/api/audit?action=user.update&user={uid}&per_page=500&page={page}",
                again.base_url
            )))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let entries: Vec<Value> = r.json()["entries"].as_array().unwrap().clone();
        for e in entries.iter().filter(|e| e["status"] == 200) {
            if let Some(town) = e["changes"]
                .as_array()
                .and_then(|cs| cs.iter().find(|ch| ch["field"] == "town"))
                .and_then(|ch| ch["to"].as_str())
            {
                *recorded.entry(town.to_string()).or_default() += 1;
            }
        }
        if entries.len() < 500 {
            break;
        }
    }
    let missing: Vec<&String> = answered
        .iter()
        .filter(|t| !recorded.contains_key(*t))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} answered changes have no audit record after the kills: {missing:?}",
        missing.len(),
        answered.len()
    );
    let twice: Vec<_> = recorded.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "recorded more than once: {twice:?}");
    // The restarted gateway writes again.
    let r = c2
        .send(
            c2.http
                .put(format!(
                    "{}/api/partners/v2.0/org/{org}/users/{uid}",
                    again.base_url
                ))
                .json(&json!({ "town": "After-The-Kills" })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}
