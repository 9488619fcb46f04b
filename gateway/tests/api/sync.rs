//! Bulk sync with a customer file (issue 16), over HTTP against the real
//! emulator: the dry run's counts and rows, its limits and roles, a run
//! that applies the file, pauses, resumes and reports, and a run that
//! resumes after the gateway was stopped without doing a row twice.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{eventually, spawn_app, spawn_app_with, Options, TestApp};

/// An active end-user of the seed with a customer number.
async fn some_end_user(app: &TestApp) -> Value {
    let r = app
        .client
        .send(app.client.get(&format!(
            "{}/api/directory/users?role=user&per_page=100",
            app.address
        )))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["user"].clone())
        .find(|u| u["external_user_id"].is_string() && u["deleted_at"].is_null())
        .expect("an end-user with a customer number")
}

async fn dry_run(app: &TestApp, file: &str, query: &str) -> crate::helpers::Resp {
    let c = &app.client;
    c.send(
        c.http
            .post(format!("{}/api/sync/dry-run{query}", app.address))
            .header("content-type", "text/csv")
            .body(file.to_string()),
    )
    .await
}

/// A file with one changed, one new and one invalid row (semicolons, a
/// German decimal comma, the e-mail's case changed).
fn three_rows(u: &Value) -> String {
    format!(
        "Kundennummer;E-Mail;Vorname;Nachname;PLZ;Ort;Land;Breitengrad;Längengrad\r\n\
         {ext};{email};{first};Geändert;{zip};{town};{country};{lat};{lon}\r\n\
         S-NEW-1;neu.kunde@example.at;Neu;Kunde;1010;Wien;AT;48,2082;16,3738\r\n\
         S-BAD-1;kein-at-zeichen;Falsch;Kunde;1010;Wien;AT;48,2;16,3\r\n",
        ext = u["external_user_id"].as_str().unwrap(),
        email = u["email"].as_str().unwrap().to_uppercase(),
        first = u["first_name"].as_str().unwrap(),
        zip = u["zip_code"].as_str().unwrap(),
        town = u["town"].as_str().unwrap(),
        country = u["country"].as_str().unwrap(),
        lat = u["latitude"]
            .as_f64()
            .unwrap()
            .to_string()
            .replace('.', ","),
        lon = u["longitude"]
            .as_f64()
            .unwrap()
            .to_string()
            .replace('.', ","),
    )
}

#[tokio::test]
async fn the_dry_run_shows_new_changed_invalid_and_missing() {
    let app = spawn_app().await;
    let u = some_end_user(&app).await;
    let r = dry_run(&app, &three_rows(&u), "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let d = r.json();
    let counts = &d["counts"];
    assert_eq!(counts["new"], 1, "{d}");
    assert_eq!(counts["changed"], 1, "{d}");
    assert_eq!(counts["invalid"], 1, "{d}");
    assert_eq!(counts["conflicts"], 0, "{d}");
    assert!(counts["missing"].as_u64().unwrap() > 0, "{d}");
    assert_eq!(d["delimiter"], ";");
    let rows = d["rows"].as_array().unwrap();
    let changed = rows.iter().find(|r| r["kind"] == "changed").unwrap();
    assert_eq!(changed["user_id"], u["id"]);
    assert_eq!(changed["changes"][0]["field"], "last_name");
    assert_eq!(changed["changes"][0]["from"], u["last_name"]);
    assert_eq!(changed["changes"][0]["to"], "Geändert");
    let invalid = rows.iter().find(|r| r["kind"] == "invalid").unwrap();
    assert_eq!(invalid["line"], 4);
    assert_eq!(invalid["problems"][0]["column"], "E-Mail");
    assert_eq!(invalid["problems"][0]["error"]["field"], "email");
    // The message is the shared validator's.
    assert_eq!(
        invalid["problems"][0]["error"]["message"],
        shared::Email::parse("kein-at-zeichen").unwrap_err().message
    );
    // Unchanged rows only when asked; the mapping says what was guessed.
    assert!(rows.iter().all(|r| r["kind"] != "unchanged"));
    let email_column = d["mapping"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["field"] == "email")
        .unwrap()["column"]
        .clone();
    assert_eq!(email_column, "E-Mail");
    // The full diff as CSV.
    let r = dry_run(&app, &three_rows(&u), "?format=csv").await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    let text = r.text();
    assert!(
        text.contains("Geändert") && text.contains("S-NEW-1"),
        "{text}"
    );
    // A mapping override: leave the last name out, nothing changes then.
    let r = dry_run(&app, &three_rows(&u), "?last_name=").await;
    assert_eq!(r.json()["counts"]["changed"], 0, "{}", r.text());
    let r = dry_run(&app, &three_rows(&u), "?email=Mail").await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("Mail"));
    // Nothing was written.
    let again = dry_run(&app, &three_rows(&u), "").await.json();
    assert_eq!(again["counts"], d["counts"]);
    app.shutdown().await;
}

#[tokio::test]
async fn files_are_bounded_and_viewers_cannot_sync() {
    let app = spawn_app().await;
    let big = "x".repeat(shared::sync::MAX_FILE_BYTES + 1);
    let r = dry_run(&app, &big, "").await;
    assert_eq!(r.status, 413, "{}", &r.text()[..200.min(r.text().len())]);
    assert_eq!(r.code(), "payload_too_large");
    let r = dry_run(&app, "", "").await;
    assert_eq!(r.status, 422);
    assert_eq!(r.code(), "invalid_body");
    let (viewer, _) = app.member("viewer").await;
    let r = viewer
        .send(
            viewer
                .http
                .post(format!("{}/api/sync/dry-run", app.address))
                .body("email\na@b.de\n"),
        )
        .await;
    assert_eq!(r.status, 403);
    let (staff, _) = app.member("staff").await;
    let r = staff
        .send(
            staff
                .http
                .post(format!("{}/api/sync/dry-run", app.address))
                .body("email\na@b.de\n"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    app.shutdown().await;
}

/// A gateway whose sync job writes `rps` rows per second.
async fn app_with_rate(rps: u32) -> TestApp {
    spawn_app_with(Options {
        adjust: Some(Box::new(move |c: &mut gateway::Config| c.sync_rps = rps)),
        ..Default::default()
    })
    .await
}

async fn start(app: &TestApp, file: &str, query: &str) -> crate::helpers::Resp {
    let c = &app.client;
    c.send(
        c.http
            .post(format!("{}/api/sync/runs{query}", app.address))
            .body(file.to_string()),
    )
    .await
}

async fn get_run(app: &TestApp, id: &str) -> Value {
    let c = &app.client;
    let r = c
        .send(c.get(&format!("{}/api/sync/runs/{id}", app.address)))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

async fn until_done(app: &TestApp, id: &str) -> Value {
    eventually(Duration::from_secs(30), || async {
        let run = get_run(app, id).await;
        (run["state"] == "done").then_some(run)
    })
    .await
}

/// The audit records of a run's writes (not the reads of its progress).
async fn run_records(app: &TestApp, id: &str) -> Vec<Value> {
    let c = &app.client;
    let r = c
        .send(c.get(&format!("{}/api/audit?per_page=200", app.address)))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["route"] == format!("/api/sync/runs/{id}")
                && e["action"].as_str().unwrap().starts_with("user.")
        })
        .cloned()
        .collect()
}

#[tokio::test]
async fn applying_writes_audits_reports_and_is_idempotent() {
    let app = app_with_rate(50).await;
    let u = some_end_user(&app).await;
    let file = three_rows(&u);
    let r = start(&app, &file, "").await;
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(r.json()["writes"], 2);
    // One run at a time (it may be done already: then the next starts).
    let run = until_done(&app, &id).await;
    assert_eq!(
        (
            &run["created"],
            &run["updated"],
            &run["failed"],
            &run["written"]
        ),
        (&json!(1), &json!(1), &json!(1), &json!(2)),
        "{run}"
    );
    // Podero has the change and the new user.
    let c = &app.client;
    let user = c
        .send(c.get(&app.api(&format!("/users/{}", u["id"].as_str().unwrap()))))
        .await
        .json();
    assert_eq!(user["last_name"], "Geändert");
    let created = c.send(c.get(&app.api("/users/by-ext-id/S-NEW-1"))).await;
    assert_eq!(created.status, 200, "{}", created.text());
    assert_eq!(created.json()["role"], "user");
    // Each write is an audit record tied to the run, with its changes.
    let records = run_records(&app, &id).await;
    let actions: Vec<&str> = records
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(actions.contains(&"user.create") && actions.contains(&"user.update"));
    let update = records
        .iter()
        .find(|e| e["action"] == "user.update")
        .unwrap();
    assert_eq!(update["status"], 200);
    assert_eq!(update["target_user_id"], u["id"]);
    assert_eq!(update["changes"][0]["to"], "Geändert");
    assert_eq!(update["actor_email"], crate::helpers::ADMIN_EMAIL);
    // The report: one line per row, with outcome and reason.
    let r = c
        .send(c.get(&format!("{}/api/sync/runs/{id}/report.csv", app.address)))
        .await;
    assert_eq!(r.status, 200);
    let report = r.text();
    assert!(
        report.contains("\"updated\"") && report.contains("\"created\""),
        "{report}"
    );
    assert!(
        report.contains("\"failed\"") && report.contains("@"),
        "{report}"
    );
    // The dry run now says there is nothing to do; so does a second run.
    let d = dry_run(&app, &file, "").await.json();
    assert_eq!(
        (
            &d["counts"]["new"],
            &d["counts"]["changed"],
            &d["counts"]["unchanged"]
        ),
        (&json!(0), &json!(0), &json!(2)),
        "{d}"
    );
    let r = start(&app, &file, "").await;
    assert_eq!(r.status, 202, "{}", r.text());
    let again = r.json();
    assert_eq!(
        (&again["writes"], &again["state"]),
        (&json!(0), &json!("done"))
    );
    assert_eq!(again["skipped"], 2);
    app.shutdown().await;
}

/// `n` new customers.
fn new_customers(prefix: &str, n: usize) -> String {
    let mut file = String::from("customer_number,email,first_name,last_name\n");
    for i in 0..n {
        file.push_str(&format!(
            "{prefix}-{i},{prefix}-{i}@example.de,Neu,Kunde {i}\n"
        ));
    }
    file
}

#[tokio::test]
async fn a_run_pauses_and_resumes_within_its_budget() {
    let app = app_with_rate(5).await;
    let r = start(&app, &new_customers("P", 6), "").await;
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(r.json()["rate"], 5);
    // A second run is refused while this one is active.
    let r = start(&app, &new_customers("Q", 1), "").await;
    assert_eq!(r.status, 409, "{}", r.text());
    let c = &app.client;
    let r = c
        .send(
            c.http
                .post(format!("{}/api/sync/runs/{id}/pause", app.address)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["state"], "paused");
    let paused_at = get_run(&app, &id).await["written"].as_u64().unwrap();
    assert!(paused_at < 6, "paused after {paused_at}");
    let r = c
        .send(
            c.http
                .post(format!("{}/api/sync/runs/{id}/resume", app.address)),
        )
        .await;
    assert_eq!(r.json()["state"], "running");
    let started = std::time::Instant::now();
    let run = until_done(&app, &id).await;
    assert_eq!(run["created"], 6, "{run}");
    // The budget: the rows left took at least (left - 1) / 5 s.
    let left = 6 - paused_at;
    assert!(
        started.elapsed() >= Duration::from_millis(200 * left.saturating_sub(1)),
        "{:?} for {left} rows",
        started.elapsed()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_run_resumes_after_a_restart_without_doing_a_row_twice() {
    let mut app = app_with_rate(10).await;
    let r = start(&app, &new_customers("R", 20), "").await;
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    eventually(Duration::from_secs(20), || async {
        (get_run(&app, &id).await["written"].as_u64().unwrap() >= 3).then_some(())
    })
    .await;
    // Stop the gateway in the middle of the run (the job is cut off
    // wherever it is).
    app.gateway.take().unwrap().shutdown().await;
    // As if it had also been cut off right after sending the next row's
    // create to Podero: that row is marked sent, and (below) Podero has
    // the user. The run is paused meanwhile so it waits for that.
    let db = gateway::database::open(&gateway::database::Store::Sqlite(
        app.data_dir().join(gateway::database::FILE_NAME),
    ))
    .await
    .unwrap();
    let (seq, ext, email): (i64, String, String) = sqlx::query_as(
        "SELECT seq, external_user_id, email FROM sync_rows \
         WHERE run_id = $1 AND outcome = 'pending' AND sent = 0 ORDER BY seq LIMIT 1",
    )
    .bind(&id)
    .fetch_one(&db)
    .await
    .unwrap();
    sqlx::query("UPDATE sync_rows SET sent = 1 WHERE run_id = $1 AND seq = $2")
        .bind(&id)
        .bind(seq)
        .execute(&db)
        .await
        .unwrap();
    sqlx::query("UPDATE sync_runs SET state = 'paused' WHERE id = $1")
        .bind(&id)
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
    // A new gateway on the same database.
    let mut config = gateway::Config::new(gateway::UpstreamConfig::Podero(
        gateway::PoderoCredentials {
            base_url: app.emulator.as_ref().unwrap().base_url.clone(),
            client_id: app.emulator_config.client_id.clone(),
            client_secret: gateway::Secret::new(crate::helpers::TEST_SECRET),
            org_id: app.org_id,
        },
    ));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.data_dir = app.data_dir();
    config.frontend_dir = app.data_dir().join("no-frontend");
    config.sync_rps = 10;
    let gateway = gateway::Application::build(config).await.unwrap().spawn();
    app.address = gateway.base_url.clone();
    app.client = crate::helpers::Checked::new(vec![crate::helpers::TEST_SECRET.into()])
        .sign_in(
            &gateway.base_url,
            crate::helpers::ADMIN_EMAIL,
            crate::helpers::ADMIN_PASSWORD,
            None,
        )
        .await;
    app.gateway = Some(gateway);
    let c = &app.client;
    let r = c
        .send(
            c.http
                .post(app.api("/users"))
                .json(&json!({"role": "user", "email": email, "external_user_id": ext})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = c
        .send(
            c.http
                .post(format!("{}/api/sync/runs/{id}/resume", app.address)),
        )
        .await;
    assert_eq!(r.json()["state"], "running", "{}", r.text());
    let run = until_done(&app, &id).await;
    assert_eq!(
        (&run["created"], &run["failed"]),
        (&json!(20), &json!(0)),
        "{run}"
    );
    // Every customer exists once, and each row was created once: by a
    // successful create of the run, or (the rows cut off) before the
    // restart, which the report says.
    for i in 0..20 {
        let r = c
            .send(c.get(&app.api(&format!("/users/by-ext-id/R-{i}"))))
            .await;
        assert_eq!(r.status, 200, "R-{i}: {}", r.text());
    }
    let report = c
        .send(c.get(&format!("{}/api/sync/runs/{id}/report.csv", app.address)))
        .await
        .text();
    let before_restart = report.matches("created before a restart").count();
    assert!(
        report.contains(&format!("\"{ext}\"")) && (1..=2).contains(&before_restart),
        "{report}"
    );
    let records = run_records(&app, &id).await;
    let created_ok = records.iter().filter(|e| e["status"] == 200).count();
    assert_eq!(created_ok + before_restart, 20, "{records:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn the_data_quality_report_finds_bad_user_data() {
    let app = spawn_app().await;
    let c = &app.client;
    // Two users with data that hurts: no coordinates, no last name and a
    // postal code Austria does not have; coordinates in Berlin for Vienna
    // (where two others of 1010 are).
    for body in [
        json!({"role": "user", "email": "anchor1@example.at", "first_name": "A", "last_name": "Eins",
               "zip_code": "1010", "town": "Wien", "country_iso2": "AT",
               "latitude": 48.2082, "longitude": 16.3738}),
        json!({"role": "user", "email": "anchor2@example.at", "first_name": "A", "last_name": "Zwei",
               "zip_code": "1010", "town": "Wien", "country_iso2": "AT",
               "latitude": 48.2100, "longitude": 16.3700}),
        json!({"role": "user", "email": "q1@example.at", "first_name": "Quentin",
               "zip_code": "123", "town": "Wien", "country_iso2": "AT"}),
        json!({"role": "user", "email": "q2@example.at", "first_name": "Q", "last_name": "Zwei",
               "zip_code": "1010", "town": "Wien", "country_iso2": "AT",
               "latitude": 52.52, "longitude": 13.40}),
    ] {
        let r = c.send(c.http.post(app.api("/users")).json(&body)).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let get = |query: &str| {
        let url = format!("{}/api/sync/quality{query}", app.address);
        async move {
            let r = c.send(c.get(&url)).await;
            assert_eq!(r.status, 200, "{}", r.text());
            r.json()
        }
    };
    let report = eventually(Duration::from_secs(10), || async {
        let r = get("?per_page=500").await;
        let rows = r["rows"].as_array().unwrap().clone();
        (rows
            .iter()
            .filter(|r| r["email"].as_str().unwrap().starts_with("q"))
            .count()
            == 2)
            .then_some(r)
    })
    .await;
    let problems_of = |email: &str| -> Vec<String> {
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["email"] == email)
            .unwrap()["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["problem"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        problems_of("q1@example.at"),
        ["name_missing", "coordinates_missing", "postal_code_invalid"]
    );
    let q2 = problems_of("q2@example.at");
    assert!(
        q2.contains(&"outside_country".to_string())
            && q2.contains(&"far_from_postal_code".to_string()),
        "{q2:?}"
    );
    let count = |p: &str| {
        report["counts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["problem"] == p)
            .unwrap()["count"]
            .as_u64()
            .unwrap()
    };
    assert!(count("coordinates_missing") >= 1 && count("outside_country") >= 1);
    // Filters: one problem, words.
    let r = get("?problem=outside_country").await;
    assert!(r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|row| row["issues"].to_string().contains("outside_country")));
    let r = get("?q=quentin").await;
    assert_eq!(r["total"], 1, "{r}");
    let r = c
        .send(c.get(&format!(
            "{}/api/sync/quality?problem=shoe_size",
            app.address
        )))
        .await;
    assert_eq!(r.status, 400);
    // The CSV: one row per user and problem.
    let r = c
        .send(c.get(&format!("{}/api/sync/quality.csv?q=q1", app.address)))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text().matches("q1@example.at").count(), 3, "{}", r.text());
    // The dry run flags the same problems in a file.
    let d = dry_run(
        &app,
        "email;Vorname;PLZ;Ort;Land\nneu@example.at;Neu;99;Wien;AT\n",
        "",
    )
    .await
    .json();
    let flagged: Vec<&str> = d["rows"][0]["quality"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["problem"].as_str().unwrap())
        .collect();
    assert_eq!(
        flagged,
        ["name_missing", "coordinates_missing", "postal_code_invalid"],
        "{d}"
    );
    app.shutdown().await;
}

/// The column of `field` in a `mapping` array (`null` when none).
fn column_of(mapping: &Value, field: &str) -> Value {
    mapping
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["field"] == field)
        .unwrap_or_else(|| panic!("{field} in {mapping}"))["column"]
        .clone()
}

/// A file whose e-mail column has a name the gateway does not know is
/// refused naming the e-mail field, and the refusal carries the file's
/// header row and the columns it could use, so the app can offer the
/// choice; choosing the column then passes, the other choices kept.
#[tokio::test]
async fn a_file_without_a_recognised_email_column_is_refused_with_its_columns() {
    let app = spawn_app().await;
    let file = "Kundennummer;Kontakt;Ort\r\nK-1;anna@example.at;Wien\r\n";
    for r in [dry_run(&app, file, "").await, start(&app, file, "").await] {
        assert_eq!(r.status, 400, "{}", r.text());
        let body = r.json();
        assert_eq!(body["code"], "invalid_query", "{body}");
        let issues = body["detail"].as_array().unwrap();
        assert_eq!(issues.len(), 1, "{body}");
        assert_eq!(issues[0]["loc"], json!(["query", "email"]), "{body}");
        assert!(
            issues[0]["msg"].as_str().unwrap().contains("e-mail"),
            "{body}"
        );
        let columns = &body["columns"];
        assert_eq!(
            columns["headers"],
            json!(["Kundennummer", "Kontakt", "Ort"]),
            "{body}"
        );
        assert_eq!(column_of(&columns["mapping"], "email"), Value::Null);
        assert_eq!(
            column_of(&columns["mapping"], "external_user_id"),
            "Kundennummer"
        );
        assert_eq!(column_of(&columns["mapping"], "town"), "Ort");
    }
    // The agent's choices are in the refusal: the town left out, the
    // e-mail given as a column the file does not have (said once).
    let r = dry_run(&app, file, "?town=&email=Mail").await;
    assert_eq!(r.status, 400, "{}", r.text());
    let body = r.json();
    assert_eq!(body["detail"].as_array().unwrap().len(), 1, "{body}");
    assert!(body["detail"][0]["msg"].as_str().unwrap().contains("Mail"));
    assert_eq!(column_of(&body["columns"]["mapping"], "town"), Value::Null);
    assert_eq!(column_of(&body["columns"]["mapping"], "email"), Value::Null);
    // The column chosen for the e-mail: the comparison, in the same shape.
    let r = dry_run(&app, file, "?email=Kontakt&town=").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let d = r.json();
    assert_eq!(d["counts"]["new"], 1, "{d}");
    assert_eq!(column_of(&d["mapping"], "email"), "Kontakt");
    assert_eq!(column_of(&d["mapping"], "town"), Value::Null);
    assert_eq!(d["headers"], json!(["Kundennummer", "Kontakt", "Ort"]));
    // A file that cannot be read has no columns to offer.
    let r = dry_run(&app, "", "").await;
    assert_eq!(r.status, 422);
    assert!(r.json().get("columns").is_none(), "{}", r.text());
    app.shutdown().await;
}
