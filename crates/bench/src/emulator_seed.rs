//! The emulator at a million users (`cargo xtask bench emulator-seed`).
//!
//! Starts the release emulator binary on a fresh temporary data directory
//! with `--users` users (default 1,000,000; churn off) and measures:
//!
//! * **seeding**: from start until it listens (the demo organisation
//!   generated, stored, indexed and synced), with the process's CPU time
//!   (user + system, from `/proc/<pid>/stat`) next to it: on a shared
//!   machine the wall time depends on the other load, the CPU time much
//!   less; the load average is printed too;
//! * the emulator's **peak memory** while seeding (`VmHWM`);
//! * the **whole users list** (`GET …/users`, the request the gateway's
//!   snapshot makes): time, bytes, users parsed; memory while serving;
//! * a **restart** on the same directory: time until it listens again.
//!
//! Targets: seeding ≤ 60 s, memory ≤ 2,048 MB seeding and serving. The data
//! directory is removed at the end.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::{banner_org, free_port, memory_mb, release_bin, Report};

const MEMORY_TARGET_MB: f64 = 2048.0;

/// User + system CPU seconds of a process so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses): state is 3rd,
    // utime the 14th and stime the 15th field of the whole line.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SC_CLK_TCK is 100 on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The emulator on `dir`, listening; its organisation and start time.
async fn start(dir: &Path, port: u16, users: usize) -> (Child, String, Duration) {
    let t = Instant::now();
    let mut child = Command::new(release_bin("podero-emulator"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--users", &users.to_string()])
        .args(["--churn-per-hour", "0"])
        .arg("--data-dir")
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the emulator");
    let org = banner_org(&mut child).await;
    (child, org, t.elapsed())
}

async fn token(http: &reqwest::Client, base: &str) -> String {
    let r = http
        .post(format!("{base}/oauth2/token/"))
        .basic_auth("podero-emulator", Some("emulator-secret"))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .expect("token request");
    let body: serde_json::Value = r.json().await.expect("token JSON");
    body["access_token"]
        .as_str()
        .expect("an access token")
        .to_string()
}

/// Stop the emulator as Ctrl-C does and wait for it.
async fn stop(mut child: Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status();
    }
    let _ = tokio::time::timeout(Duration::from_secs(60), child.wait()).await;
}

pub async fn run(users: usize) -> Report {
    let data = std::env::temp_dir().join(format!("podero-bench-emulator-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut report = Report { missed: Vec::new() };
    println!(
        "Emulator benchmark: {users} users seeded into a fresh directory, release build\n\
         (load average before: {})\n",
        load_average()
    );

    let port = free_port();
    let (child, org, seeded) = start(&data, port, users).await;
    let pid = child.id().expect("emulator pid");
    let cpu = cpu_seconds(pid);
    report.line(
        "seeded and listening",
        format!(
            "{:.1} s (CPU {cpu:.1} s; load average now {})",
            seeded.as_secs_f64(),
            load_average()
        ),
        Some((seeded.as_secs_f64(), 60.0, "s")),
    );
    let (_, peak) = memory_mb(pid);
    report.line(
        "emulator peak memory while seeding",
        format!("{peak:.0} MB (VmHWM)"),
        Some((peak, MEMORY_TARGET_MB, "MB")),
    );
    let size: u64 = std::fs::read_dir(&data)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    report.line(
        "data directory",
        format!("{:.2} GB", size as f64 / 1e9),
        None,
    );

    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let token = token(&http, &base).await;
    let url = format!("{base}/api/partners/v2.0/org/{org}/users");
    let t = Instant::now();
    let body = http
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("users list")
        .bytes()
        .await
        .expect("users list body");
    let listed = t.elapsed();
    let parsed: Vec<shared::User> = serde_json::from_slice(&body).expect("a JSON array of users");
    report.line(
        "GET /users (whole organisation)",
        format!(
            "{:.2} s, {:.0} MB, {} active users",
            listed.as_secs_f64(),
            body.len() as f64 / 1e6,
            parsed.len()
        ),
        None,
    );
    assert!(
        parsed.len() * 100 >= users * 95,
        "{} of {users} users listed",
        parsed.len()
    );
    drop(parsed);
    drop(body);
    let (rss, peak) = memory_mb(pid);
    report.line(
        "emulator memory after the list",
        format!("RSS {rss:.0} MB (peak so far {peak:.0} MB)"),
        Some((rss, MEMORY_TARGET_MB, "MB RSS")),
    );
    stop(child).await;

    let (child, _, reopened) = start(&data, port, users).await;
    let pid = child.id().expect("emulator pid");
    let (rss, _) = memory_mb(pid);
    report.line(
        "restart on the seeded directory",
        format!(
            "{:.2} s until listening, RSS {rss:.0} MB",
            reopened.as_secs_f64()
        ),
        None,
    );
    stop(child).await;
    let _ = std::fs::remove_dir_all(&data);
    report
}
