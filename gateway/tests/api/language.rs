//! German and English answers (issue 12): the language of a request is
//! the signed-in account's choice (`PUT /api/session/language`), else the
//! browser's `Accept-Language`, else English; field messages, the
//! gateway's own messages and the CSV headers follow it.

use serde_json::{json, Value};
use shared::staff::{LANGUAGE_PATH, SESSION_PATH};
use shared::{ApiError, Email, Lang};

use crate::helpers::{spawn_app, Checked, Resp, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};

/// A new end-user with a bad e-mail address, asking for `accept_language`.
async fn create_with_bad_email(app: &TestApp, c: &Checked, accept_language: &str) -> Resp {
    c.send(
        c.http
            .post(app.api("/users"))
            .header("accept-language", accept_language)
            .json(&json!({"role": "user", "email": "anna.berger@"})),
    )
    .await
}

/// The message of `field` in a 422 answer.
fn field_message(r: &Resp, field: &str) -> String {
    assert_eq!(r.status, 422, "{}", r.text());
    let error: ApiError = serde_json::from_slice(&r.body).unwrap();
    error
        .field_message(field)
        .unwrap_or_else(|| panic!("no message for {field}: {}", r.text()))
        .to_string()
}

async fn choose(app: &TestApp, c: &Checked, language: Value) -> Resp {
    c.send(
        c.http
            .put(format!("{}{LANGUAGE_PATH}", app.address))
            .json(&json!({ "language": language })),
    )
    .await
}

#[tokio::test]
async fn field_messages_follow_the_browser() {
    let app = spawn_app().await;
    let rule = Email::parse("anna.berger@").unwrap_err();

    let r = create_with_bad_email(&app, &app.client, "de-DE,de;q=0.9,en;q=0.8").await;
    let german = field_message(&r, "email");
    assert_eq!(
        german,
        "Nach dem @ folgt eine Domain mit Punkt, z. B. example.at."
    );
    // The same sentence the browser shows next to the field.
    assert_eq!(german, rule.message_in(Lang::De));

    let r = create_with_bad_email(&app, &app.client, "en-US,en;q=0.9").await;
    assert_eq!(
        field_message(&r, "email"),
        "After the @ comes a domain with a dot, e.g. example.at."
    );
    // A language the back-office does not have: English.
    let r = create_with_bad_email(&app, &app.client, "fr-FR").await;
    assert_eq!(field_message(&r, "email"), rule.message);
    app.shutdown().await;
}

#[tokio::test]
async fn the_account_choice_is_remembered_and_wins_over_the_browser() {
    let app = spawn_app().await;
    let c = &app.client;
    let session = format!("{}{SESSION_PATH}", app.address);
    assert_eq!(
        c.send(c.get(&session)).await.json()["account"]["language"],
        Value::Null,
        "no choice yet: the browser's language"
    );

    let r = choose(&app, c, json!("de")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["account"]["language"], "de");
    assert!(
        r.json()["csrf_token"].is_string(),
        "the session as GET says"
    );
    let info: shared::staff::SessionInfo =
        serde_json::from_value(c.send(c.get(&session)).await.json()).unwrap();
    assert_eq!(info.account.language, Some(Lang::De));

    // An English browser, a German account: German.
    let r = create_with_bad_email(&app, c, "en-US").await;
    assert_eq!(
        field_message(&r, "email"),
        "Nach dem @ folgt eine Domain mit Punkt, z. B. example.at."
    );
    // The gateway's own messages too.
    let r = c
        .send(
            c.get(&format!("{}/api/audit/users/not-a-uuid", app.address))
                .header("accept-language", "en"),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["detail"], "Die Benutzer-ID muss eine UUID sein.");
    assert_eq!(r.code(), "bad_path", "codes stay as they are");

    // Not a language of the back-office.
    let r = choose(&app, c, json!("fr")).await;
    assert_eq!(r.code(), "invalid_body");
    assert_eq!(
        field_message(&r, "language"),
        "'fr' ist keine Sprache des Back-Office; bitte verwenden Sie de, en oder null (wie im Browser eingestellt)."
    );
    let r = choose(&app, c, json!(7)).await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        c.send(c.get(&session)).await.json()["account"]["language"],
        "de",
        "a refused choice changes nothing"
    );

    // Back to the browser's language.
    let r = choose(&app, c, Value::Null).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["account"]["language"], Value::Null);
    let r = create_with_bad_email(&app, c, "en-GB").await;
    assert_eq!(
        field_message(&r, "email"),
        "After the @ comes a domain with a dot, e.g. example.at."
    );

    // Each choice is a change in the audit trail, with its intent first.
    let trail = c
        .send(c.get(&format!(
            "{}/api/audit?action=session.language",
            app.address
        )))
        .await
        .json();
    let entries = trail["entries"].as_array().unwrap();
    let done: Vec<&Value> = entries.iter().filter(|e| e["status"] == 200).collect();
    assert_eq!(done.len(), 2, "{trail}");
    assert_eq!(
        done[1]["changes"],
        json!([{"field": "language", "from": null, "to": "de"}])
    );
    assert_eq!(
        done[0]["changes"],
        json!([{"field": "language", "from": "de", "to": null}])
    );
    assert!(entries.iter().any(|e| e["status"] == 422));
    app.shutdown().await;
}

#[tokio::test]
async fn a_german_account_downloads_german_csv_headers() {
    let app = spawn_app().await;
    let c = &app.client;
    let users_csv = format!("{}/api/directory/users.csv", app.address);
    let audit_csv = format!("{}/api/audit.csv", app.address);

    let english = c.send(c.get(&users_csv)).await.text();
    assert!(
        english.starts_with(
            "\u{feff}\"id\",\"first_name\",\"last_name\",\"email\",\"customer_number\""
        ),
        "{}",
        english.lines().next().unwrap()
    );
    let r = c
        .send(c.get(&users_csv).header("accept-language", "de-AT"))
        .await;
    assert!(r
        .text()
        .starts_with("\u{feff}\"ID\",\"Vorname\",\"Nachname\""));

    assert_eq!(choose(&app, c, json!("de")).await.status, 200);
    let german = c
        .send(c.get(&users_csv).header("accept-language", "en-US"))
        .await
        .text();
    let header = german.lines().next().unwrap();
    assert_eq!(
        header,
        "\u{feff}\"ID\",\"Vorname\",\"Nachname\",\"E-Mail\",\"Kundennummer\",\"Rolle\",\
         \"Straße und Hausnummer\",\"Adresszusatz\",\"PLZ\",\"Ort\",\"Land\",\"Breitengrad\",\
         \"Längengrad\",\"Onboarding abgeschlossen\",\"Wärmepumpen\",\"E-Autos\",\"Wallboxen\",\
         \"PV-Wechselrichter\",\"Geräte ohne Verbindung\",\"Registriert am\",\
         \"Letzte Anmeldung\",\"Archiviert am\""
    );
    // The same columns in the same order: only the header changed.
    assert_eq!(german.lines().count(), english.lines().count());
    assert_eq!(german.lines().nth(1), english.lines().nth(1));

    let audit = c.send(c.get(&audit_csv)).await.text();
    assert!(
        audit.starts_with("\u{feff}\"ID\",\"Zeitpunkt\",\"E-Mail des Teammitglieds\""),
        "{}",
        audit.lines().next().unwrap()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn sign_in_and_session_messages_in_german() {
    let app = spawn_app().await;
    let anon = app.client.without_session();
    let sign_in = |accept_language: Option<&str>| {
        let mut req = anon
            .http
            .post(format!("{}{SESSION_PATH}", app.address))
            .header(shared::staff::CSRF_HEADER, "sign-in")
            .json(&json!({"email": ADMIN_EMAIL, "password": "wrong password 123"}));
        if let Some(l) = accept_language {
            req = req.header("accept-language", l);
        }
        anon.send(req)
    };
    let r = sign_in(Some("de")).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.code(), "sign_in_failed");
    assert_eq!(
        r.json()["detail"],
        "E-Mail-Adresse oder Passwort sind nicht korrekt."
    );
    let r = sign_in(None).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json()["detail"],
        "The e-mail address or the password is not right."
    );
    // Without a session, the browser decides.
    let r = anon
        .send(
            anon.get(&format!("{}/api/directory/users", app.address))
                .header("accept-language", "de-CH, en;q=0.5"),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json()["detail"],
        "Bitte melden Sie sich an, um das Back-Office zu verwenden."
    );
    // The right password still signs in (the throttle allows a few).
    anon.sign_in(&app.address, ADMIN_EMAIL, ADMIN_PASSWORD, None)
        .await;
    app.shutdown().await;
}

#[tokio::test]
async fn refusals_by_role_in_the_account_language() {
    let app = spawn_app().await;
    let (viewer, _) = app.member("viewer").await;
    assert_eq!(choose(&app, &viewer, json!("de")).await.status, 200);
    let r = viewer
        .send(viewer.get(&format!("{}/api/team", app.address)))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.code(), "forbidden");
    assert_eq!(
        r.json()["detail"],
        "Nur Admins können das Team einsehen; Ihre Rolle ist Nur Lesen."
    );
    let r = viewer
        .send(
            viewer
                .http
                .post(app.api("/users"))
                .json(&json!({"role": "user", "email": "new@example.at"})),
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .starts_with("Ihre Rolle (Nur Lesen) kann nur ansehen"),
        "{}",
        r.text()
    );
    // The admin (no choice, English browser) still gets English.
    let r = app
        .client
        .send(
            app.client
                .get(&format!("{}/api/audit/users/not-a-uuid", app.address)),
        )
        .await;
    assert_eq!(r.json()["detail"], "user id must be a UUID");
    app.shutdown().await;
}

#[tokio::test]
async fn the_language_can_be_chosen_before_the_one_time_password_is_replaced() {
    let app = spawn_app().await;
    let c = &app.client;
    let email = "neu@example.at";
    let r = c
        .send(c.http.post(format!("{}/api/team", app.address)).json(
            &json!({"email": email, "first_name": "Neu", "last_name": "Kollege", "role": "staff"}),
        ))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let otp = r.json()["one_time_password"].as_str().unwrap().to_string();
    let new = c
        .without_session()
        .sign_in(&app.address, email, &otp, None)
        .await;
    let r = choose(&app, &new, json!("de")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["account"]["must_change_password"], true);
    let r = new
        .send(new.get(&format!("{}/api/directory/users", app.address)))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.code(), "password_change_required");
    assert_eq!(
        r.json()["detail"],
        "Bitte ändern Sie zuerst Ihr Einmalpasswort."
    );
    // The password rules in German, from the same shared check.
    let r = new
        .send(
            new.http
                .post(format!("{}/api/session/password", app.address))
                .json(&json!({"current_password": otp, "new_password": "kurz"})),
        )
        .await;
    assert_eq!(
        field_message(&r, "new_password"),
        "Bitte verwenden Sie mindestens 12 Zeichen; dieses hat 4. Einige Wörter ohne Zusammenhang ergeben ein gutes Passwort."
    );
    app.shutdown().await;
}
