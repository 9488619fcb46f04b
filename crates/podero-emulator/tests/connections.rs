//! Device connections over real HTTP: the test hook that sets one device's
//! connection, churn (connections that change by themselves) at a high rate
//! and switched off, the demo data's "last data" times, and churned state
//! surviving a restart.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use podero_emulator::{spawn, EmulatorConfig, RunningEmulator};
use reqwest::{Client, StatusCode};
use serde_json::Value;

mod common;

const KINDS: [(&str, &str); 4] = [
    ("num_heat_pumps", "heat-pumps"),
    ("num_electric_vehicles", "electric-vehicles"),
    ("num_wallboxes", "wallboxes"),
    ("num_inverters", "inverters"),
];

struct Emu {
    running: RunningEmulator,
    client: Client,
    token: String,
}

impl Emu {
    async fn start(dir: &std::path::Path, users: usize, churn_per_hour: f64) -> Emu {
        let mut config = EmulatorConfig::new(dir);
        config.seed_users = users;
        config.churn_per_hour = churn_per_hour;
        config.churn_tick = Duration::from_millis(50);
        let running = spawn(config, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("emulator starts");
        let client = Client::new();
        let token = common::token(&client, &running.base_url).await;
        Emu {
            running,
            client,
            token,
        }
    }

    async fn get(&self, path: &str) -> Value {
        let resp = self
            .client
            .get(format!(
                "{}/api/partners/v2.0/org/{}{path}",
                self.running.base_url, self.running.org_id
            ))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().await.unwrap()
    }

    /// Every device of every active user, by id: (device path, device JSON).
    async fn devices(&self) -> BTreeMap<String, (String, Value)> {
        let mut out = BTreeMap::new();
        for u in self.get("/users").await.as_array().unwrap() {
            let uid = u["id"].as_str().unwrap();
            for (count, kind) in KINDS {
                if u[count].as_u64().unwrap_or(0) == 0 {
                    continue;
                }
                for d in self
                    .get(&format!("/users/{uid}/{kind}"))
                    .await
                    .as_array()
                    .unwrap()
                {
                    let id = d["id"].as_str().unwrap().to_string();
                    out.insert(id.clone(), (format!("/users/{uid}/{kind}/{id}"), d.clone()));
                }
            }
        }
        out
    }

    /// `POST /_emulator/devices/{id}/connection` with `body` (raw).
    async fn hook(&self, device_id: &str, body: impl Into<reqwest::Body>) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(format!(
                "{}/_emulator/devices/{device_id}/connection",
                self.running.base_url
            ))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.expect("a JSON answer"))
    }
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .unwrap_or_else(|| panic!("a timestamp, got {v}"))
        .parse()
        .unwrap()
}

fn authenticated(devices: &BTreeMap<String, (String, Value)>) -> BTreeMap<String, bool> {
    devices
        .iter()
        .map(|(id, (_, d))| (id.clone(), d["is_authenticated"].as_bool().unwrap()))
        .collect()
}

/// Poll `check` until it gives `Some`, at most `deadline`.
async fn eventually<T, F, Fut>(deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let until = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "not reached within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_hook_sets_one_devices_connection() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emu::start(dir.path(), 30, 0.0).await;
    let devices = emu.devices().await;
    let (id, (path, _)) = devices
        .iter()
        .find(|(_, (_, d))| d["is_authenticated"] == true)
        .expect("a connected device");

    let before = Utc::now();
    let (s, lost) = emu.hook(id, r#"{"authenticated": false}"#).await;
    let after = Utc::now();
    assert_eq!(s, 200, "{lost}");
    assert_eq!(lost["id"], id.as_str());
    let seen = emu.get(path).await;
    assert_eq!(seen["is_authenticated"], false);
    assert_eq!(seen["lifecycle_state"], "error");
    assert_eq!(seen["lifecycle_error"], "auth_expired");
    assert_eq!(seen["connection_status"], "error");
    assert_eq!(seen["action_needed"], true);
    let link = seen["authorization_url"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("{}/connect/", emu.running.base_url)),
        "{link}"
    );
    assert_eq!(seen["actions"][0]["code"], "reauthenticate");
    assert_eq!(seen["actions"][0]["resolution_link"]["url"], link);
    // A lost device's last data is the moment it was lost, and stays there.
    let lost_at = time(&seen["current_state_last_updated_at"]);
    assert!(
        before - chrono::Duration::milliseconds(1) <= lost_at && lost_at <= after,
        "{lost_at}"
    );
    assert_eq!(time(&seen["updated_at"]), lost_at);
    // The link opens the customer's page.
    let page = emu.client.get(link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    // Asking for the state it has changes nothing.
    let (s, again) = emu.hook(id, r#"{"authenticated": false}"#).await;
    assert_eq!(s, 200);
    assert_eq!(again["authorization_url"], link);
    assert_eq!(time(&again["current_state_last_updated_at"]), lost_at);

    let (s, back) = emu.hook(id, r#"{"authenticated": true}"#).await;
    assert_eq!(s, 200, "{back}");
    let seen = emu.get(path).await;
    assert_eq!(seen["is_authenticated"], true);
    assert_eq!(seen["lifecycle_state"], "authenticated");
    assert_eq!(seen["connection_status"], "ok");
    assert_eq!(seen["action_needed"], false);
    assert!(
        seen.get("authorization_url").is_none_or(Value::is_null),
        "{seen}"
    );
    let fresh = time(&seen["current_state_last_updated_at"]);
    assert!(fresh >= lost_at && fresh <= Utc::now(), "{fresh}");

    // Unknown device, malformed id: 404 JSON.
    let (s, body) = emu
        .hook(
            "0b5c1d7e-0000-4000-8000-000000000000",
            r#"{"authenticated": true}"#,
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(body["detail"], "Not found.");
    assert_eq!(
        emu.hook("not-a-uuid", r#"{"authenticated": true}"#).await.0,
        404
    );
    // Bad bodies: 422 naming the field.
    for bad in [
        r#"{"authenticated": "yes"}"#,
        r#"{}"#,
        r#"{"authenticated": true, "extra": 1}"#,
        "not json",
        "",
    ] {
        let (s, body) = emu.hook(id, bad).await;
        assert_eq!(s, 422, "{bad}: {body}");
        assert_eq!(body["detail"][0]["loc"][0], "body", "{bad}: {body}");
    }
    // Bounded body: 413 JSON.
    let huge = format!(
        r#"{{"authenticated": true, "pad": "{}"}}"#,
        "x".repeat(4096)
    );
    let (s, body) = emu.hook(id, huge).await;
    assert_eq!(s, 413);
    assert!(
        body["detail"].as_str().unwrap().contains("too large"),
        "{body}"
    );
    emu.running.shutdown().await;
}

#[tokio::test]
async fn connected_devices_show_fresh_data_and_lost_ones_the_moment_they_were_lost() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emu::start(dir.path(), 60, 0.0).await;
    let now = Utc::now();
    let devices = emu.devices().await;
    let (mut connected, mut lost) = (0, 0);
    for (_, d) in devices.values() {
        let last = time(&d["current_state_last_updated_at"]);
        if d["is_authenticated"] == true {
            connected += 1;
            let age = now - last;
            assert!(
                age <= chrono::Duration::minutes(15) && last <= Utc::now(),
                "connected, last data {last} at {now}"
            );
            assert_eq!(
                d["last_monitoring_executed_at"],
                d["current_state_last_updated_at"]
            );
        } else {
            lost += 1;
            // Seeded lost devices lost their connection 2 hours to 4 days ago.
            let age = now - last;
            assert!(
                age >= chrono::Duration::minutes(119) && age <= chrono::Duration::days(4),
                "lost, last data {last} at {now}"
            );
            assert!(time(&d["created_at"]) <= last, "{d}");
        }
    }
    assert!(
        connected > 20 && lost > 0,
        "{connected} connected, {lost} lost"
    );
    emu.running.shutdown().await;
}

#[tokio::test]
async fn churn_changes_devices_and_the_changes_survive_a_restart() {
    let churning_dir = tempfile::tempdir().unwrap();
    let still_dir = tempfile::tempdir().unwrap();
    // One change per device per second on average (the highest rate).
    let churning = Emu::start(churning_dir.path(), 30, podero_emulator::MAX_CHURN_PER_HOUR).await;
    let still = Emu::start(still_dir.path(), 30, 0.0).await;
    // Same seed, same devices: the one without churn shows how they were
    // seeded (the churning one may have changed some already).
    let seeded = authenticated(&still.devices().await);
    assert!(seeded.values().any(|a| *a) && seeded.values().any(|a| !*a));

    // Both directions happen: some connected devices lose their
    // connection, some lost ones regain it.
    let (lost_some, regained_some) = eventually(Duration::from_secs(30), || async {
        let now = authenticated(&churning.devices().await);
        let lost = seeded.iter().filter(|(id, was)| **was && !now[*id]).count();
        let back = seeded.iter().filter(|(id, was)| !**was && now[*id]).count();
        (lost > 0 && back > 0).then_some((lost, back))
    })
    .await;
    assert!(lost_some > 0 && regained_some > 0);
    // Churned devices look like any lost device: a link in actions.
    let devices = churning.devices().await;
    for (_, d) in devices.values() {
        if d["is_authenticated"] == false {
            assert_eq!(d["lifecycle_state"], "error", "{d}");
            assert!(d["authorization_url"].is_string(), "{d}");
            assert_eq!(d["actions"][0]["code"], "reauthenticate");
        }
    }
    // Meanwhile (the churning one has run many rounds) the other holds still.
    assert_eq!(
        authenticated(&still.devices().await),
        seeded,
        "churn 0 changes nothing"
    );
    still.running.shutdown().await;

    // Stopped after its round, churn has left its changes on disk: a
    // restart shows every device as the stopped emulator showed it.
    let mut churning = churning;
    churning.running.stop_churn().await;
    let at_stop = authenticated(&churning.devices().await);
    assert_ne!(at_stop, seeded, "churn changed the stored state");
    churning.running.shutdown().await;
    let restarted = Emu::start(churning_dir.path(), 30, 0.0).await;
    assert_eq!(
        authenticated(&restarted.devices().await),
        at_stop,
        "churned state survives the restart"
    );
    restarted.running.shutdown().await;
}
