//! Codes shown as words in a real browser: a user created and then edited
//! with the forms in a German browser has a change history that says
//! "Benutzer angelegt" and "Benutzer geändert" and names the changed
//! fields by the form's labels ("Ort", "Land"), never `user.create` or
//! `country_iso2`; a device's lifecycle reads "Connected" or "Error", not
//! Podero's `authenticated` / `error`, and a lost device's reads "Error:
//! manufacturer sign-in expired" (a cause this app does not know: "other
//! cause"), not `Error (auth_expired)`; a case's change reads "Status:
//! Offen → Erledigt" and "Betreff: …", not `state: "open" → "resolved"`;
//! the audit page's Action filter offers "Sign-in, sign-out, …", not
//! `session — Sign-in, …`; a heat pump's or an EV's settings changed
//! through the Partner API are named by their labels in a user's history
//! and on the audit page, not `minimum_temperature_limit`.
//!
//! The expected texts come from the catalogs (the action and lifecycle
//! labels through `shared`, the field labels from
//! `frontend/locales/<lang>.yml`), so the tests follow the translator's
//! files rather than repeat them.

use e2e::Harness;
use shared::audit_action::AuditAction;
use shared::cases::{CaseKind, CaseState};
use shared::device::{lifecycle_label, lifecycle_text};
use shared::i18n::Lang;
use shared::staff::{action_group_label, ACTIONS};
use shared::{DeviceKind, User};

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

/// The lifecycle cell of the device card of device `id`.
fn lifecycle_cell(id: &str) -> String {
    format!("[data-testid=device-card][data-device-id='{id}'] [data-testid=lifecycle]")
}

/// PUT `body` on a device through the gateway (the forwarded Partner API).
async fn change_device(
    h: &Harness,
    user: &User,
    kind: DeviceKind,
    id: &str,
    body: serde_json::Value,
) {
    let r = h
        .http
        .put(h.api_url(&format!("/users/{}/{}/{id}", user.id, kind.path_segment())))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "PUT {body}: {}", r.status());
}

#[tokio::test]
async fn a_lost_devices_lifecycle_names_its_cause_in_words_in_english_and_german() {
    for (tag, lang) in [("en-US", Lang::En), ("de-DE", Lang::De)] {
        let h = Harness::start_with_language(tag).await;
        let (user, kind, device) = e2e::user_with_lost_device(&h).await;
        assert_eq!(device["lifecycle_error"], "auth_expired", "{device}");
        let id = device["id"].as_str().unwrap();
        let cell = lifecycle_cell(id);
        for (state, error) in [
            ("error", "auth_expired"),
            // A cause and a state this app has no label for.
            ("error", "sensor_gone"),
            ("paired", "sensor_gone"),
        ] {
            if error != "auth_expired" {
                let body = serde_json::json!({"lifecycle_state": state, "lifecycle_error": error});
                change_device(&h, &user, kind, id, body).await;
            }
            let expected = lifecycle_text(Some(state), Some(error), lang).unwrap();
            h.open(&format!("/users/{}", user.id)).await;
            let text = h
                .eventually(&format!("the lifecycle {expected:?} ({tag})"), || async {
                    let text = h.wait_for(&cell).await.text().await.ok()?;
                    (text == expected).then_some(text)
                })
                .await;
            for raw in [state, error, "_"] {
                assert!(!text.contains(raw), "{raw} in {text:?} ({tag})");
            }
            // The codes stay at hand for support, in the tooltip.
            let title = h.wait_for(&cell).await.attr("title").await.unwrap();
            let title = title.unwrap_or_default();
            assert!(title.contains(state) && title.contains(error), "{title:?}");
        }
        h.finish().await;
    }
}

#[tokio::test]
async fn the_audit_action_filter_offers_groups_by_their_labels_and_still_filters() {
    for (tag, lang) in [("en-US", Lang::En), ("de-DE", Lang::De)] {
        let texts = e2e::app_texts(lang);
        let h = Harness::start_with_language(tag).await;
        h.open("/audit").await;
        h.wait_for("[data-testid=audit-table]").await;
        let filter = h.by_label(&texts["audit.filter_action"]).await;
        for (group, _) in ACTIONS {
            let option = h
                .wait_for(&format!("#audit-action option[value='{group}']"))
                .await;
            let text = option.text().await.unwrap();
            assert_eq!(text, action_group_label(group, lang), "{group} ({tag})");
        }
        // Choosing a group by its label filters the trail to that group
        // (signing in is in the trail: the session group).
        let label = action_group_label("session", lang);
        filter.select_by_label(&label).await.unwrap();
        h.wait_for_address("action=session").await;
        h.eventually("only sign-in and session rows", || async {
            let mut codes = Vec::new();
            for a in h
                .all("[data-testid=audit-row] [data-testid=audit-action]")
                .await
            {
                codes.push(a.attr("data-action").await.ok()??);
            }
            (!codes.is_empty() && codes.iter().all(|c| c.starts_with("session."))).then_some(())
        })
        .await;
        // An exact action from the address is offered by its label too.
        h.open("/audit?action=user.update").await;
        let option = h
            .wait_for("#audit-action option[value='user.update']")
            .await;
        assert_eq!(
            option.text().await.unwrap(),
            AuditAction::UserUpdate.label_in(lang),
            "{tag}"
        );
        h.finish().await;
    }
}

/// A device of `kind` of the seeded organisation, with its user.
async fn a_device_of(h: &Harness, kind: DeviceKind) -> (User, String) {
    let users: Vec<User> = h.api("/users").await;
    for u in users.iter().filter(|u| u.count_of(kind) > 0) {
        let devices: Vec<serde_json::Value> = h
            .api(&format!("/users/{}/{}", u.id, kind.path_segment()))
            .await;
        if let Some(d) = devices.first() {
            return (u.clone(), d["id"].as_str().unwrap().to_string());
        }
    }
    panic!("the seeded organisation has no {kind:?}")
}

#[tokio::test]
async fn device_settings_changes_are_named_by_their_labels_in_english_and_german() {
    let changes = [
        (
            DeviceKind::HeatPump,
            serde_json::json!({"minimum_temperature_limit": 18.5, "is_away_mode_enabled": true}),
        ),
        (
            DeviceKind::ElectricVehicle,
            serde_json::json!({"minimum_charge_limit": 65, "charge_deadline_at": "07:30"}),
        ),
    ];
    for (tag, lang) in [("en-US", Lang::En), ("de-DE", Lang::De)] {
        let texts = e2e::app_texts(lang);
        let changed = AuditAction::DeviceUpdate.label_in(lang);
        let h = Harness::start_with_language(tag).await;
        for (kind, body) in &changes {
            let (user, id) = a_device_of(&h, *kind).await;
            change_device(&h, &user, *kind, &id, body.clone()).await;
            let fields: Vec<&String> = body.as_object().unwrap().keys().collect();
            let labels: Vec<String> = fields
                .iter()
                .map(|f| format!("{}: ", texts[&format!("audit.field.{f}")]))
                .collect();
            let check = |text: &str, place: &str| {
                for label in &labels {
                    assert!(
                        text.contains(label.as_str()),
                        "{label:?} not in {text:?} ({place}, {tag})"
                    );
                }
                for field in &fields {
                    assert!(
                        !text.contains(field.as_str()),
                        "{field} in {text:?} ({place}, {tag})"
                    );
                }
            };
            // The user's change history.
            h.open(&format!("/users/{}", user.id)).await;
            check(&history_entry(&h, &changed).await, "history");
            // The audit page, the device changes of this user.
            h.open(&format!("/audit?action=device.update&user={}", user.id))
                .await;
            let changes = h
                .text("[data-testid=audit-row] [data-testid=audit-changes]")
                .await;
            check(&changes, "audit page");
        }
        h.finish().await;
    }
}
