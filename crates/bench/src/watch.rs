//! The fleet-watch benchmark (`cargo xtask bench watch`).
//!
//! Starts the release emulator with `--users` users (default 100,000) and
//! connection churn (`--churn`, per 1,000 devices and hour, default 30 so
//! a round sees changes), and the release gateway in front of it with the
//! watch's budget `--rps` (default 300 requests per second). It prints the
//! round's estimated time at that budget and size, then loses one device
//! (the emulator's test hook) whose user comes late in the round, and
//! measures how long until its case is open: within one round is the
//! target. When the round completes it prints its measured time and the
//! request rate it reached, and the gateway's memory against the read
//! model's budget (150 MB) plus 50 MB.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{gateway_command, memory_mb, sign_in, spawn_emulator_with, wait_healthy, Report};

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .skip_while(|a| *a != name)
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn json(http: &reqwest::Client, url: &str) -> Value {
    let r = http.get(url).send().await.expect("request");
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r.json().await.expect("JSON")
}

pub async fn run(args: &[String]) {
    let users: usize = arg(args, "--users", 100_000);
    let rps: f64 = arg(args, "--rps", 300.0);
    let churn: f64 = arg(args, "--churn", 30.0);
    let data = std::env::temp_dir().join(format!("podero-bench-watch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).expect("temp dir");
    let mut report = Report { missed: Vec::new() };
    println!(
        "Fleet-watch benchmark: {users} users, budget {rps} requests/s, churn {churn} per 1,000 devices and hour\n"
    );
    let churn_flag = churn.to_string();
    let (emulator, emu_port, org) =
        spawn_emulator_with(&data, users, &["--churn-per-hour", &churn_flag]).await;
    let emu = format!("http://127.0.0.1:{emu_port}");
    let (mut command, gw_port) = gateway_command(&data, emu_port, &org);
    let base = format!("http://127.0.0.1:{gw_port}");
    let gateway = command
        .env("GATEWAY_WATCH_RPS", rps.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start the gateway");
    let pid = gateway.id().expect("gateway pid");
    wait_healthy(&base).await;
    let plain = reqwest::Client::new();
    let http = sign_in(&base).await;
    // The read model first (the watch walks it).
    json(&http, &format!("{base}/api/directory/users")).await;
    let status = json(&http, &format!("{base}/api/watch")).await;
    let estimate = status["estimated_round_secs"].as_f64().unwrap_or(0.0);
    report.line(
        "users with devices / device reads per round",
        format!("{} / {}", status["users"], status["requests_per_round"]),
        None,
    );
    report.line(
        "round time at this budget (estimate)",
        format!("{:.0} s ({:.1} min)", estimate, estimate / 60.0),
        None,
    );

    // A device of the last user in the round's order (ids ascending).
    let all = json(&http, &format!("{base}/api/partners/v2.0/org/{org}/users")).await;
    let mut candidates: Vec<&Value> = all
        .as_array()
        .expect("users")
        .iter()
        .filter(|u| u["deleted_at"].is_null() && u["num_wallboxes"].as_u64().unwrap_or(0) > 0)
        .collect();
    candidates.sort_by_key(|u| u["id"].as_str().unwrap_or_default().to_string());
    let mut probe = None;
    for u in candidates.iter().rev().take(50) {
        let uid = u["id"].as_str().unwrap();
        let list = json(
            &http,
            &format!("{base}/api/partners/v2.0/org/{org}/users/{uid}/wallboxes"),
        )
        .await;
        if let Some(d) = list
            .as_array()
            .and_then(|l| l.iter().find(|d| d["is_authenticated"] == true))
        {
            probe = Some(d["id"].as_str().unwrap().to_string());
            break;
        }
    }
    let probe = probe.expect("a connected wallbox late in the round");
    let lost_at = Instant::now();
    let r = plain
        .post(format!("{emu}/_emulator/devices/{probe}/connection"))
        .json(&serde_json::json!({"authenticated": false}))
        .send()
        .await
        .expect("emulator hook");
    assert!(r.status().is_success(), "hook: {}", r.status());
    let round_start = json(&http, &format!("{base}/api/watch")).await;
    let rounds_before = round_start["rounds_completed"].as_u64().unwrap_or(0);

    let mut peak_rss = 0.0f64;
    let mut seen_after = None;
    let deadline = Duration::from_secs_f64(estimate * 3.0 + 120.0);
    let round_secs = loop {
        let (rss, _) = memory_mb(pid);
        peak_rss = peak_rss.max(rss);
        if seen_after.is_none() {
            let cases = json(
                &http,
                &format!("{base}/api/cases?device_id={probe}&state=open"),
            )
            .await;
            if cases["total"].as_u64().unwrap_or(0) > 0 {
                seen_after = Some(lost_at.elapsed().as_secs_f64());
            }
        }
        let s = json(&http, &format!("{base}/api/watch")).await;
        if s["rounds_completed"].as_u64().unwrap_or(0) > rounds_before && seen_after.is_some() {
            break s["last_round_secs"].as_f64().unwrap_or(f64::NAN);
        }
        assert!(
            lost_at.elapsed() < deadline,
            "the round did not finish in {deadline:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let seen = seen_after.unwrap_or(f64::NAN);
    report.line(
        "lost device's case open after",
        format!("{seen:.0} s"),
        Some((
            seen,
            (round_secs.max(estimate) * 1.05).round(),
            "s (one round)",
        )),
    );
    let requests = status["requests_per_round"].as_f64().unwrap_or(0.0);
    report.line(
        "round time, measured",
        format!(
            "{round_secs:.0} s ({:.0} device reads/s)",
            requests / round_secs
        ),
        Some((round_secs, (estimate * 1.25).round(), "s (estimate + 25 %)")),
    );
    let (rss, hwm) = memory_mb(pid);
    report.line(
        "gateway memory while watching",
        format!("RSS {rss:.0} MB, highest seen {peak_rss:.0} MB (peak {hwm:.0} MB)"),
        Some((peak_rss, 200.0, "MB RSS (150 + 50)")),
    );
    drop(gateway);
    drop(emulator);
    let _ = std::fs::remove_dir_all(&data);
    if !report.missed.is_empty() {
        eprintln!("\nMISSED: {}", report.missed.join(", "));
        std::process::exit(1);
    }
}
