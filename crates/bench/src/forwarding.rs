//! The forwarding benchmark (`cargo xtask bench forwarding`): one
//! forwarded Partner API read, `GET /api/partners/v2.0/org/{org}/users/{id}`,
//! through three doors to the same upstream, with the same load:
//!
//! * the **upstream** (the release emulator binary) directly, with the
//!   bearer token in the request;
//! * **nginx** as a reverse proxy that injects the same token (when nginx
//!   is installed; `devcluster::Nginx::start_token_proxy`, one worker, no
//!   access log);
//! * the **gateway** (release binary, SQLite in a directory on the target
//!   directory's disk, its default log filter, no metrics listener), with
//!   a signed-in session: every request passes the session check and has
//!   its audit record on disk before its answer;
//! * the **floor** (`floor-proxy`, `src/bin/floor_proxy.rs`): hyper and
//!   hyper-util's client alone, the stack the gateway is built on, once
//!   injecting the token only and once also appending a durable journal
//!   line per request (group commit). Not targets: they show what any
//!   gateway on this stack costs before it does its own work.
//!
//! The load comes from `wrk` (Debian's package; `cargo xtask bench
//! forwarding` installs it): 32 connections (2 threads), then 1
//! connection, each run after a short warm-up. It prints requests per
//! second and wrk's p50/p99 latency side by side, the latency each proxy
//! adds over the upstream (proxy minus upstream, at one connection), the
//! CPU time each process spent per request (from `/proc/<pid>/stat`), how
//! long one `fdatasync` takes on the gateway's disk, and checks that the
//! audit trail grew by at least the number of requests wrk saw answered.
//! Every answer must be a 2xx. Exits non-zero when a target is missed.
//!
//! `--secs N` sets each run's length (default 10). `--data-dir DIR` puts
//! the run's files (the gateway's database among them) below `DIR`
//! instead: `--data-dir /dev/shm` shows what the gateway costs when a
//! commit needs no disk (not durable: for explaining the figures only).

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Command;

use crate::{gateway_command, signed_in, spawn_emulator, stats, target_dir, SECRET};

/// One wrk run's figures.
#[derive(Debug, Clone, Copy)]
struct Run {
    requests: u64,
    per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// CPU seconds the proxy (or the upstream, when measured directly)
    /// and the upstream spent during the run.
    proxy_cpu: f64,
    upstream_cpu: f64,
}

/// A door to the upstream.
struct Target {
    name: &'static str,
    url: String,
    headers: Vec<String>,
    /// The proxy's pid (`None`: the upstream itself).
    pid: Option<u32>,
}

/// User plus system CPU seconds of a process so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    (ticks(11) + ticks(12)) / clock_ticks_per_sec()
}

/// `getconf CLK_TCK` (100 on Linux almost everywhere).
fn clock_ticks_per_sec() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The machine's load averages (1, 5, 15 minutes): other work on a small
/// machine moves every figure.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// `123.45us`, `1.2ms`, `3.00s` as milliseconds.
fn wrk_duration_ms(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => return None,
    })
}

/// Requests, requests/s, p50 and p99 from wrk's `--latency` output;
/// panics (naming the run) on errors or non-2xx answers.
fn parse_wrk(name: &str, out: &str) -> (u64, f64, f64, f64) {
    let fail = |what: &str| -> ! { panic!("{name}: {what} in wrk's output:\n{out}") };
    if let Some(line) = out.lines().find(|l| l.contains("Non-2xx or 3xx")) {
        fail(&format!("answers that are not 2xx ({})", line.trim()));
    }
    if let Some(line) = out.lines().find(|l| l.contains("Socket errors")) {
        // wrk counts the connections it closes at the end as timeouts
        // only when requests were cut; any error is worth failing on.
        fail(&format!("socket errors ({})", line.trim()));
    }
    let percentile = |p: &str| {
        out.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(p))
            .and_then(|v| wrk_duration_ms(v.trim()))
            .unwrap_or_else(|| fail(&format!("no {p} latency")))
    };
    let requests = out
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| fail("no request count"));
    let per_sec = out
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| fail("no Requests/sec"));
    (requests, per_sec, percentile("50%"), percentile("99%"))
}

/// Run wrk against `target` with `connections` for `secs` seconds.
async fn wrk(target: &Target, connections: u32, secs: u64, upstream_pid: u32) -> Run {
    let threads = connections.min(2);
    let mut cmd = Command::new("wrk");
    cmd.args(["--latency", "--timeout", "5s"])
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{secs}s"));
    for h in &target.headers {
        cmd.arg("-H").arg(h);
    }
    cmd.arg(&target.url).stdin(Stdio::null());
    let proxy_pid = target.pid.unwrap_or(upstream_pid);
    let (proxy0, upstream0) = (cpu_secs(proxy_pid), cpu_secs(upstream_pid));
    let out = cmd.output().await.expect("run wrk");
    let (proxy1, upstream1) = (cpu_secs(proxy_pid), cpu_secs(upstream_pid));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{}: wrk failed:\n{text}", target.name);
    let (requests, per_sec, p50_ms, p99_ms) = parse_wrk(target.name, &text);
    Run {
        requests,
        per_sec,
        p50_ms,
        p99_ms,
        proxy_cpu: proxy1 - proxy0,
        upstream_cpu: if target.pid.is_some() {
            upstream1 - upstream0
        } else {
            0.0
        },
    }
}

/// p50 and p99 of `n` 4 KiB overwrites each followed by `fdatasync`, in
/// a file in `dir`: the floor of a durable commit on that disk.
fn fdatasync_ms(dir: &Path, n: usize) -> (f64, f64) {
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path).expect("probe file");
    let block = [7u8; 4096];
    file.write_all(&block).expect("write");
    file.sync_all().expect("sync");
    let mut ms = Vec::with_capacity(n);
    for _ in 0..n {
        use std::io::Seek;
        file.seek(std::io::SeekFrom::Start(0)).expect("seek");
        let t = Instant::now();
        file.write_all(&block).expect("write");
        file.sync_data().expect("fdatasync");
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    drop(file);
    let _ = std::fs::remove_file(path);
    let s = stats(ms.clone());
    let mut sorted = ms;
    sorted.sort_by(|a, b| a.total_cmp(b));
    let p99 = sorted[((sorted.len() as f64 - 1.0) * 0.99).round() as usize];
    (s.p50, p99)
}

/// The floor proxy (`floor-proxy`, built next to this benchmark) in front
/// of the upstream on `upstream_port`, injecting `token`, with a durable
/// journal at `journal` when given; `None` when it is not built. Waits
/// until it listens.
fn spawn_floor(
    upstream_port: u16,
    token: &str,
    journal: Option<&Path>,
) -> Option<(tokio::process::Child, u16)> {
    let bin = target_dir().join("release").join("floor-proxy");
    if !bin.exists() {
        return None;
    }
    let port = super::free_port();
    let mut command = Command::new(bin);
    command
        .env("LISTEN", format!("127.0.0.1:{port}"))
        .env("UPSTREAM", format!("127.0.0.1:{upstream_port}"))
        .env("TOKEN", token)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true);
    if let Some(journal) = journal {
        command.env("JOURNAL", journal);
    }
    let child = command.spawn().expect("start floor-proxy");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    devcluster::wait_until("floor-proxy to listen", Duration::from_secs(20), || {
        Ok(std::net::TcpStream::connect(addr).is_ok().then_some(()))
    })
    .expect("floor-proxy listens");
    Some((child, port))
}

/// The number of audit records shown to an admin now.
async fn audit_total(http: &reqwest::Client, base: &str) -> u64 {
    let page: serde_json::Value = http
        .get(format!("{base}/api/audit?per_page=1"))
        .send()
        .await
        .expect("audit page")
        .json()
        .await
        .expect("audit page JSON");
    page["total"].as_u64().expect("total")
}

fn arg(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

pub async fn run() {
    let secs: u64 = arg("--secs").and_then(|s| s.parse().ok()).unwrap_or(10);
    if std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("wrk is not installed: run `cargo xtask bench forwarding` (it installs it), or `apt-get install wrk`");
        std::process::exit(2);
    }
    // On the disk builds use (not /tmp, which may be in memory): the
    // gateway's commits must cost what they cost in production.
    let parent = arg("--data-dir")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(target_dir);
    let data = parent.join(format!("bench-forwarding-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).expect("data dir");
    println!(
        "Forwarding benchmark: GET .../users/{{id}}, wrk, {secs} s per run, release builds, loopback HTTP"
    );
    println!(
        "  files (the gateway's SQLite database) in {}",
        data.display()
    );
    println!("  load average before: {}", load_average());
    let (sync_p50, sync_p99) = fdatasync_ms(&data, 300);
    println!(
        "  fdatasync of 4 KiB on the gateway's disk: p50 {sync_p50:.3} ms, p99 {sync_p99:.3} ms (n=300)"
    );

    // The upstream, and the gateway in front of it.
    let (emulator, emu_port, org) = spawn_emulator(&data, 300).await;
    let emu_pid = emulator.id().expect("emulator pid");
    let emu_url = format!("http://127.0.0.1:{emu_port}");
    let (mut command, gw_port) = gateway_command(&data, emu_port, &org);
    let base = format!("http://127.0.0.1:{gw_port}");
    let gateway = command
        // Its default log filter, as in production; the log in a file.
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(data.join("gateway.log")).expect("gateway log"))
        .spawn()
        .expect("start the gateway");
    let gw_pid = gateway.id().expect("gateway pid");
    super::wait_healthy(&base).await;
    let plain = reqwest::Client::new();
    let session = signed_in(&base).await;
    let http = session.client.clone();
    let api = format!("/api/partners/v2.0/org/{org}");
    let users: serde_json::Value = http
        .get(format!("{base}{api}/users"))
        .send()
        .await
        .expect("users")
        .json()
        .await
        .expect("users JSON");
    let id = users[0]["id"].as_str().expect("a user id").to_string();
    let path = format!("{api}/users/{id}");

    // The token the gateway holds, for the upstream and nginx.
    let token: serde_json::Value = plain
        .post(format!("{emu_url}/oauth2/token/"))
        .basic_auth("podero-emulator", Some(SECRET))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token JSON");
    let token = token["access_token"].as_str().expect("access_token");

    let nginx = if devcluster::Nginx::available() {
        Some(
            devcluster::Nginx::start_token_proxy(
                &data,
                format!("127.0.0.1:{emu_port}").parse().unwrap(),
                token,
            )
            .expect("start nginx"),
        )
    } else {
        println!("  nginx is not installed (cargo xtask install): its row is skipped");
        None
    };
    let mut targets = vec![Target {
        name: "upstream (emulator) directly",
        url: format!("{emu_url}{path}"),
        headers: vec![format!("Authorization: Bearer {token}")],
        pid: None,
    }];
    if let Some(n) = &nginx {
        targets.push(Target {
            name: "nginx injecting the token",
            url: format!("{}{path}", n.url()),
            headers: Vec::new(),
            pid: Some(n.pid()),
        });
    }
    // The floor: hyper and its client alone, without and with a durable
    // record per request (`src/bin/floor_proxy.rs`).
    let floors = [
        ("hyper alone (floor)", None),
        (
            "hyper + durable journal (floor)",
            Some(data.join("floor-journal")),
        ),
    ]
    .map(|(name, journal)| {
        let proxy = spawn_floor(emu_port, token, journal.as_deref());
        if proxy.is_none() {
            println!("  {name}: floor-proxy is not built (cargo xtask bench forwarding): skipped");
        }
        (name, proxy)
    });
    for (name, floor) in &floors {
        if let Some((child, port)) = floor {
            targets.push(Target {
                name,
                url: format!("http://127.0.0.1:{port}{path}"),
                headers: Vec::new(),
                pid: child.id(),
            });
        }
    }
    targets.push(Target {
        name: "gateway (session + durable audit)",
        url: format!("{base}{path}"),
        headers: vec![
            format!("Cookie: {}", session.cookie),
            format!("{}: {}", shared::staff::CSRF_HEADER, session.csrf),
        ],
        pid: Some(gw_pid),
    });

    let audit_before = audit_total(&http, &base).await;
    let mut gateway_requests = 0;
    let mut results: Vec<(u32, Vec<Run>)> = Vec::new();
    for connections in [32, 1] {
        let mut runs = Vec::new();
        for t in &targets {
            let warm = wrk(t, connections, 2, emu_pid).await;
            let run = wrk(t, connections, secs, emu_pid).await;
            if t.pid == Some(gw_pid) {
                gateway_requests += warm.requests + run.requests;
            }
            runs.push(run);
        }
        results.push((connections, runs));
    }
    let audit_after = audit_total(&http, &base).await;

    println!("\n  load average after: {}", load_average());
    let mut missed = Vec::new();
    for (connections, runs) in &results {
        println!("\n  {connections} connection(s):");
        println!(
            "    {:<36} {:>10} {:>9} {:>9} {:>10} {:>10} {:>9} {:>9}",
            "", "req/s", "p50 ms", "p99 ms", "+p50 ms", "+p99 ms", "CPU µs", "up. µs"
        );
        let direct = runs[0];
        for (t, r) in targets.iter().zip(runs) {
            let (added_p50, added_p99) = if t.pid.is_some() {
                (
                    format!("{:.3}", r.p50_ms - direct.p50_ms),
                    format!("{:.3}", r.p99_ms - direct.p99_ms),
                )
            } else {
                ("".into(), "".into())
            };
            let per = |cpu: f64| {
                if cpu > 0.0 {
                    format!("{:.1}", cpu * 1e6 / r.requests as f64)
                } else {
                    "".into()
                }
            };
            println!(
                "    {:<36} {:>10.0} {:>9.3} {:>9.3} {:>10} {:>10} {:>9} {:>9}",
                t.name,
                r.per_sec,
                r.p50_ms,
                r.p99_ms,
                added_p50,
                added_p99,
                per(r.proxy_cpu),
                per(r.upstream_cpu)
            );
        }
    }
    println!("\n  (+p50/+p99: the proxy's latency minus the upstream's at the same load;");
    println!("   CPU µs: the proxy's CPU time per request, up. µs: the upstream's)");

    // The upstream's, nginx's (when it ran) and the gateway's runs.
    let gateway_of = |connections: u32| {
        let (_, runs) = results.iter().find(|(c, _)| *c == connections).unwrap();
        let of = |name: &str| {
            targets
                .iter()
                .position(|t| t.name.starts_with(name))
                .map(|i| runs[i])
        };
        (runs[0], of("nginx"), of("gateway").unwrap())
    };
    println!("\n  Targets:");
    let mut check = |what: String, ok: bool| {
        println!("    {what:<72} {}", if ok { "ok" } else { "MISSED" });
        if !ok {
            missed.push(what);
        }
    };
    let (_, nginx32, gw32) = gateway_of(32);
    if let (Some(n), true) = (nginx32, nginx.is_some()) {
        check(
            format!(
                "32 connections: gateway {:.0} req/s >= nginx {:.0} req/s",
                gw32.per_sec, n.per_sec
            ),
            gw32.per_sec >= n.per_sec,
        );
    }
    let (direct1, _, gw1) = gateway_of(1);
    let (add50, add99) = (gw1.p50_ms - direct1.p50_ms, gw1.p99_ms - direct1.p99_ms);
    check(
        format!("1 connection: gateway adds {add50:.3} ms at p50 (<= 0.1 ms)"),
        add50 <= 0.1,
    );
    check(
        format!("1 connection: gateway adds {add99:.3} ms at p99 (<= 0.5 ms)"),
        add99 <= 0.5,
    );
    let audited = audit_after.saturating_sub(audit_before);
    check(
        format!("audit records written {audited} >= requests answered {gateway_requests}"),
        audited >= gateway_requests,
    );

    drop(nginx);
    drop(floors);
    drop(gateway);
    drop(emulator);
    let _ = std::fs::remove_dir_all(&data);
    if missed.is_empty() {
        println!("\nAll targets met.");
    } else {
        println!("\nMissed: {}", missed.len());
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_output() {
        let out = "Running 2s test @ http://127.0.0.1:1/x\n  1 threads and 1 connections\n  Latency Distribution\n     50%   52.00us\n     75%   60.00us\n     90%   70.00us\n     99%    1.20ms\n  40000 requests in 2.00s, 9.00MB read\nRequests/sec:  19999.50\nTransfer/sec:      4.50MB\n";
        let (n, rps, p50, p99) = parse_wrk("t", out);
        assert_eq!(n, 40_000);
        assert!((rps - 19_999.5).abs() < 1e-6);
        assert!((p50 - 0.052).abs() < 1e-9);
        assert!((p99 - 1.2).abs() < 1e-9);
        assert_eq!(wrk_duration_ms("2.50s"), Some(2500.0));
        assert_eq!(wrk_duration_ms("x"), None);
    }
}
