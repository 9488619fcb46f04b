//! Codes shown as words in a real browser: a user created and then edited
//! with the forms in a German browser has a change history that says
//! "Benutzer angelegt" and "Benutzer geändert" and names the changed
//! fields by the form's labels ("Ort", "Land"), never `user.create` or
//! `country_iso2`; a device's lifecycle reads "Connected" or "Error", not
//! Podero's `authenticated` / `error`; a case's change reads "Status:
//! Offen → Erledigt" and "Betreff: …", not `state: "open" → "resolved"`.
//!
//! The expected texts come from the catalogs (the action and lifecycle
//! labels through `shared`, the field labels from
//! `frontend/locales/<lang>.yml`), so the tests follow the translator's
//! files rather than repeat them.

use e2e::Harness;
use shared::audit_action::AuditAction;
use shared::cases::{CaseKind, CaseState};
use shared::device::lifecycle_label;
use shared::i18n::Lang;
use shared::User;

/// The text of the first entry of the user page's history that contains
/// `needle`, once the history shows one.
async fn history_entry(h: &Harness, needle: &str) -> String {
    h.eventually(&format!("a history entry with {needle:?}"), || async {
        for entry in h
            .all("[data-testid=user-history] [data-testid=history-entry]")
            .await
        {
            let text = entry.text().await.ok()?;
            if text.contains(needle) {
                return Some(text);
            }
        }
        None
    })
    .await
}

#[tokio::test]
async fn a_users_history_names_actions_and_fields_in_german() {
    let de = e2e::app_texts(Lang::De);
    let field = |name: &str| de[&format!("user_form.field.{name}")].clone();
    let created = AuditAction::UserCreate.label_in(Lang::De);
    let changed = AuditAction::UserUpdate.label_in(Lang::De);
    assert_eq!(created, "Benutzer angelegt");

    let h = Harness::start_with_language("de-DE").await;
    h.open("/users/new").await;
    h.type_into("email", "lena.gruber@example.at").await;
    h.type_into("first_name", "Lena").await;
    h.type_into("last_name", "Gruber").await;
    h.type_into("external_user_id", "K-770001").await;
    h.type_into("town", "Graz").await;
    h.wait_for("[data-testid=field-country_iso2]")
        .await
        .select_by_value("AT")
        .await
        .unwrap();
    h.click("[data-testid=submit-user]").await;
    assert_eq!(h.text("[data-testid=user-name]").await, "Lena Gruber");
    let user: User = h.api("/users/by-ext-id/K-770001").await;

    // The creation, by its German label, with the fields by the form's.
    let entry = history_entry(&h, &created).await;
    assert!(!entry.contains("user.create"), "{entry}");
    assert!(
        entry.contains(&format!("{}: — → \"Graz\"", field("town"))),
        "{entry}"
    );
    assert!(
        entry.contains(&format!("{}: — → \"AT\"", field("country"))),
        "{entry}"
    );
    assert!(!entry.contains("country_iso2"), "{entry}");
    assert!(!entry.contains("first_name"), "{entry}");
    // The code stays at hand for an admin, in the tooltip.
    let action = h
        .wait_for("[data-testid=history-entry] [data-action='user.create']")
        .await;
    assert_eq!(action.text().await.unwrap(), created);
    assert_eq!(
        action.attr("title").await.unwrap().as_deref(),
        Some("user.create")
    );

    // An edit: town and country.
    h.open(&format!("/users/{}/edit", user.id)).await;
    let town = h.wait_for("[data-testid=field-town]").await;
    h.eventually("the form filled in", || async {
        (town.prop("value").await.ok()??.as_str() == "Graz").then_some(())
    })
    .await;
    h.type_into("town", "Innsbruck").await;
    h.wait_for("[data-testid=field-country_iso2]")
        .await
        .select_by_value("DE")
        .await
        .unwrap();
    h.click("[data-testid=submit-user]").await;
    h.wait_for("[data-testid=user-name]").await;
    let entry = history_entry(&h, &changed).await;
    assert!(
        entry.contains(&format!("{}: \"Graz\" → \"Innsbruck\"", field("town"))),
        "{entry}"
    );
    assert!(
        entry.contains(&format!("{}: \"AT\" → \"DE\"", field("country"))),
        "{entry}"
    );
    for raw in ["user.update", "country_iso2", "town:"] {
        assert!(!entry.contains(raw), "{raw} in {entry}");
    }
    h.finish().await;
}

#[tokio::test]
async fn a_devices_lifecycle_is_shown_by_its_label() {
    let h = Harness::start().await;
    for (authenticated, state) in [(true, "authenticated"), (false, "error")] {
        let (user, _, device) = e2e::user_with_device(&h, authenticated).await;
        assert_eq!(device["lifecycle_state"], state, "{device}");
        let id = device["id"].as_str().unwrap();
        h.open(&format!("/users/{}", user.id)).await;
        let cell =
            format!("[data-testid=device-card][data-device-id='{id}'] [data-testid=lifecycle]");
        let label = lifecycle_label(state, Lang::En);
        assert_ne!(label, state);
        let text = h
            .eventually(&format!("the lifecycle {label:?}"), || async {
                let text = h.wait_for(&cell).await.text().await.ok()?;
                text.starts_with(&label).then_some(text)
            })
            .await;
        assert!(!text.contains(state), "{text}");
    }
    h.finish().await;
}

#[tokio::test]
async fn a_cases_changes_name_the_field_and_the_state_by_their_labels() {
    let de = e2e::app_texts(Lang::De);
    let state = de["case_page.state"].clone();
    let subject = de["user_cases.field_subject"].clone();
    let kind = de["case_page.kind"].clone();
    let (open, resolved) = (
        CaseState::Open.label(Lang::De),
        CaseState::Resolved.label(Lang::De),
    );
    assert_ne!(resolved, "resolved");

    let h = Harness::start_with_language("de-DE").await;
    let users: Vec<User> = h.api("/users").await;
    let user = users
        .iter()
        .find(|u| u.role == shared::Role::User)
        .expect("a seeded end-user");
    let r = h
        .http
        .post(h.url("/api/cases"))
        .json(&serde_json::json!({
            "user_id": user.id, "kind": "question", "subject": "Heizung bleibt kalt"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "the case");
    let case: serde_json::Value = r.json().await.unwrap();
    let id = case["case"]["id"].as_i64().expect("the case's id");
    let r = h
        .http
        .patch(h.url(&format!("/api/cases/{id}")))
        .json(&serde_json::json!({"state": "resolved", "subject": "Heizung wieder warm"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the change");

    h.open(&format!("/users/{}", user.id)).await;
    let entry = history_entry(&h, &format!("{state}: {open} → {resolved}")).await;
    assert!(
        entry.contains(&format!(
            "{subject}: \"Heizung bleibt kalt\" → \"Heizung wieder warm\""
        )),
        "{entry}"
    );
    for raw in ["state:", "subject:", "\"open\"", "\"resolved\""] {
        assert!(!entry.contains(raw), "{raw} in {entry}");
    }
    // The opening names the kind by its label too.
    let opened = history_entry(&h, &format!("{kind}: — → ")).await;
    assert!(
        opened.contains(&CaseKind::Question.label(Lang::De)),
        "{opened}"
    );
    assert!(!opened.contains("question"), "{opened}");
    h.finish().await;
}
