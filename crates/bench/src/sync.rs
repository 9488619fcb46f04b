//! The sync benchmark (issue 16), run after the users list's: a customer
//! file with one row per active end-user of the organisation (German
//! shape: `;`, decimal commas), every 100th with a changed last name, and
//! new customers up to `--users` rows, compared by `POST /api/sync/dry-run`
//! (target: at most 5 s, and the gateway's resident memory within the read
//! model's 150 MB plus 100 MB); then a run of 250 changes, whose write
//! rate must equal the budget (`GATEWAY_SYNC_RPS`, [`RATE`] here).

use std::time::{Duration, Instant};

use shared::directory::UserPage;

use crate::{memory_mb, Report};

/// The sync budget the benchmark's gateway runs with.
pub const RATE: u32 = 50;

fn cell(s: Option<&str>) -> String {
    let s = s.unwrap_or("");
    if s.contains([';', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn number(v: Option<f64>) -> String {
    v.map(|v| v.to_string().replace('.', ","))
        .unwrap_or_default()
}

/// The customer file: every active end-user (every `change_every`th with
/// a new last name, marked with `tag`), then new customers up to `rows`.
fn customer_file(users: &[shared::User], rows: usize, change_every: usize, tag: &str) -> String {
    let mut f = String::with_capacity(rows * 150);
    f.push_str("Kundennummer;E-Mail;Vorname;Nachname;Straße;Adresszusatz;PLZ;Ort;Land;Breitengrad;Längengrad\r\n");
    let mut n = 0;
    for (i, u) in users.iter().enumerate() {
        let last = if change_every > 0 && i % change_every == 0 {
            Some(format!("{} {tag}", u.last_name.as_deref().unwrap_or("")))
        } else {
            u.last_name.clone()
        };
        f.push_str(&format!(
            "{};{};{};{};{};{};{};{};{};{};{}\r\n",
            cell(u.external_user_id.as_deref()),
            cell(Some(&u.email)),
            cell(u.first_name.as_deref()),
            cell(last.as_deref()),
            cell(u.street_and_number.as_deref()),
            cell(u.street_add_info.as_deref()),
            cell(u.zip_code.as_deref()),
            cell(u.town.as_deref()),
            cell(u.country.as_deref()),
            number(u.latitude),
            number(u.longitude),
        ));
        n += 1;
    }
    let mut k = 0;
    while n < rows {
        f.push_str(&format!(
            "BENCH-{k};bench.{k}@example.de;Neu;Kunde;Hauptstraße 1;;80331;München;DE;48,1374;11,5755\r\n"
        ));
        k += 1;
        n += 1;
    }
    f
}

/// Every active end-user, from the list (pages of 500).
async fn end_users(http: &reqwest::Client, base: &str) -> Vec<shared::User> {
    let mut out = Vec::new();
    for page in 1.. {
        let r = http
            .get(format!(
                "{base}/api/directory/users?role=user&per_page=500&page={page}&sort=customer_number"
            ))
            .send()
            .await
            .expect("users page");
        let p: UserPage = r.json().await.expect("a page");
        let done = p.rows.len() < 500;
        out.extend(p.rows.into_iter().map(|r| r.user));
        if done {
            break;
        }
    }
    out
}

pub async fn run(http: &reqwest::Client, base: &str, pid: u32, rows: usize, report: &mut Report) {
    println!("\nSync benchmark: a {rows}-row customer file\n");
    let users = end_users(http, base).await;
    let file = customer_file(&users, rows, 100, "geändert");
    let (rss_before, _) = memory_mb(pid);
    let t = Instant::now();
    let r = http
        .post(format!("{base}/api/sync/dry-run"))
        .header("content-type", "text/csv")
        .body(file.clone())
        .send()
        .await
        .expect("dry run");
    assert!(r.status().is_success(), "dry run: {}", r.status());
    let d: serde_json::Value = r.json().await.expect("dry run answer");
    let secs = t.elapsed().as_secs_f64();
    let c = &d["counts"];
    report.line(
        "dry run of the file (upload, compare, answer)",
        format!(
            "{secs:.2} s: {} new, {} changed, {} unchanged, {} invalid, {} conflicts ({:.1} MB)",
            c["new"],
            c["changed"],
            c["unchanged"],
            c["invalid"],
            c["conflicts"],
            file.len() as f64 / 1e6
        ),
        Some((secs, 5.0, "s")),
    );
    assert_eq!(
        c["new"].as_u64().unwrap_or(0)
            + c["changed"].as_u64().unwrap_or(0)
            + c["unchanged"].as_u64().unwrap_or(0),
        rows as u64,
        "every row compared: {c}"
    );
    let (rss, hwm) = memory_mb(pid);
    report.line(
        "gateway memory after the dry run",
        format!("RSS {rss:.0} MB (before {rss_before:.0} MB, peak {hwm:.0} MB)"),
        Some((hwm, 250.0, "MB peak (150 + 100)")),
    );

    // The apply rate: 250 changes at the budget.
    let changes = 250;
    let file = customer_file(&users[..changes.min(users.len())], 0, 1, "bench-run");
    let r = http
        .post(format!("{base}/api/sync/runs"))
        .header("content-type", "text/csv")
        .body(file)
        .send()
        .await
        .expect("start a run");
    assert!(r.status().is_success(), "start a run: {}", r.status());
    let run: serde_json::Value = r.json().await.expect("run");
    let id = run["id"].as_str().expect("run id").to_string();
    let writes = run["writes"].as_u64().unwrap_or(0);
    let t = Instant::now();
    loop {
        let r: serde_json::Value = http
            .get(format!("{base}/api/sync/runs/{id}"))
            .send()
            .await
            .expect("run")
            .json()
            .await
            .expect("run");
        if r["written"].as_u64() == Some(writes) {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "the run did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rate = writes as f64 / t.elapsed().as_secs_f64();
    report.line(
        &format!("apply rate ({writes} writes, budget {RATE}/s)"),
        format!("{rate:.1} writes/s"),
        None,
    );
    let within = (rate - f64::from(RATE)).abs() / f64::from(RATE);
    report.line(
        "apply rate off the budget",
        format!("{:.1} %", within * 100.0),
        Some((within * 100.0, 10.0, "%")),
    );
}
