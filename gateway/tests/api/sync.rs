//! Bulk sync with a customer file (issue 16), over HTTP against the real
//! emulator: the dry run's counts and rows, its limits and roles, a run
//! that applies the file, pauses, resumes and reports, and a run that
//! resumes after the gateway was stopped without doing a row twice.

use serde_json::Value;

use crate::helpers::{spawn_app, TestApp};

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
