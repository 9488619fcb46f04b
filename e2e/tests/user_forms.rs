//! Create and edit users in a real browser: inline validation, a duplicate
//! e-mail refused next to its field with everything typed kept, partial
//! updates, the warning when someone else changed the user meanwhile,
//! what was typed surviving a session that ended before saving, the focus
//! on the first wrong field on screen, a gateway out of reach explained
//! with nothing typed lost, the form in a 375 px window, and Enter in the
//! forced password change leaving the app running.

use e2e::Harness;
use fantoccini::elements::Element;
use serde_json::json;
use shared::User;

const TAB: &str = "\u{E004}";

async fn value(el: &Element) -> String {
    el.prop("value").await.unwrap().unwrap_or_default()
}

/// The visible error under `field`, once there is one.
async fn field_error(h: &Harness, field: &str) -> String {
    h.eventually(&format!("an error under {field}"), || async {
        let el = h.wait_for(&format!("[data-testid=error-{field}]")).await;
        if el.attr("hidden").await.ok()?.is_some() {
            return None;
        }
        let text = el.text().await.ok()?;
        (!text.is_empty()).then_some(text)
    })
    .await
}

#[tokio::test]
async fn create_with_inline_validation_and_a_rejected_duplicate() {
    let h = Harness::start().await;
    let users: Vec<User> = h.api("/users").await;
    let taken = users[5].email.clone();
    h.open("/users/new").await;

    // A bad e-mail is explained when the field is left, before any request.
    let email = h.type_into("email", "anna.berger@").await;
    email.send_keys(TAB).await.unwrap();
    let msg = field_error(&h, "email").await;
    assert!(msg.contains("domain"), "{msg}");
    assert_eq!(value(&email).await, "anna.berger@");
    assert_eq!(
        email.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );

    // The rest of the form, then an e-mail that another user has.
    h.type_into("first_name", "Anna").await;
    h.type_into("last_name", "Berger").await;
    h.type_into("external_user_id", "K-990001").await;
    h.type_into("town", "Salzburg").await;
    h.wait_for("[data-testid=field-country_iso2]")
        .await
        .select_by_value("AT")
        .await
        .unwrap();
    h.type_into("email", &taken).await;
    h.click("[data-testid=submit-user]").await;
    let msg = field_error(&h, "email").await;
    assert!(
        msg.contains("already"),
        "the server's duplicate message: {msg}"
    );
    // Nothing typed is lost.
    for (field, expected) in [
        ("first_name", "Anna"),
        ("last_name", "Berger"),
        ("external_user_id", "K-990001"),
        ("town", "Salzburg"),
        ("country_iso2", "AT"),
        ("email", taken.as_str()),
    ] {
        let el = h.wait_for(&format!("[data-testid=field-{field}]")).await;
        assert_eq!(value(&el).await, expected, "{field}");
    }

    // Fixed: the user is created and shown.
    h.type_into("email", "anna.berger@example.at").await;
    h.click("[data-testid=submit-user]").await;
    assert_eq!(h.text("[data-testid=user-name]").await, "Anna Berger");
    assert_eq!(h.text("[data-testid=external-id]").await, "K-990001");
    let created: User = h.api("/users/by-ext-id/K-990001").await;
    assert_eq!(created.email, "anna.berger@example.at");
    assert_eq!(created.country.as_deref(), Some("AT"));
    assert_eq!(created.role, shared::Role::User, "end-user by default");
    h.finish().await;
}

#[tokio::test]
async fn edit_sends_only_what_changed() {
    let h = Harness::start().await;
    let users: Vec<User> = h.api("/users").await;
    let u = users
        .iter()
        .find(|u| u.role == shared::Role::User && u.first_name.is_some() && u.zip_code.is_some())
        .unwrap()
        .clone();
    h.open(&format!("/users/{}/edit", u.id)).await;
    let town = h.wait_for("[data-testid=field-town]").await;
    h.eventually("the form filled in", || async {
        (value(&town).await == u.town.clone().unwrap_or_default()).then_some(())
    })
    .await;
    // A bad postal code is refused next to the field.
    h.type_into("zip_code", "12!").await;
    h.click("[data-testid=submit-user]").await;
    field_error(&h, "zip_code").await;
    let zip = u.zip_code.clone().unwrap();
    h.type_into("zip_code", &zip).await;
    h.type_into("town", "Innsbruck").await;
    h.wait_for("[data-testid=field-country_iso2]")
        .await
        .select_by_value("AT")
        .await
        .unwrap();
    h.click("[data-testid=submit-user]").await;
    h.wait_for("[data-testid=user-name]").await;
    let after: User = h.api(&format!("/users/{}", u.id)).await;
    assert_eq!(after.town.as_deref(), Some("Innsbruck"));
    assert_eq!(after.country.as_deref(), Some("AT"));
    // Everything else as before.
    assert_eq!(after.first_name, u.first_name);
    assert_eq!(after.last_name, u.last_name);
    assert_eq!(after.email, u.email);
    assert_eq!(after.zip_code, u.zip_code);
    assert_eq!(after.street_and_number, u.street_and_number);
    assert_eq!(after.external_user_id, u.external_user_id);
    assert_eq!(after.latitude, u.latitude);
    h.finish().await;
}

#[tokio::test]
async fn a_change_by_someone_else_is_shown_before_saving() {
    let h = Harness::start().await;
    let u = h.end_user().await;
    h.open(&format!("/users/{}/edit", u.id)).await;
    let first = h.wait_for("[data-testid=field-first_name]").await;
    h.eventually("the form filled in", || async {
        (value(&first).await == u.first_name.clone().unwrap_or_default()).then_some(())
    })
    .await;

    // A colleague renames the customer meanwhile.
    let resp = h
        .http
        .put(h.api_url(&format!("/users/{}", u.id)))
        .json(&json!({"first_name": "Maximiliane"}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());

    // The agent changes the town and saves: told, not overwritten.
    h.type_into("town", "Villach").await;
    h.click("[data-testid=submit-user]").await;
    let panel = h.wait_for("[data-testid=conflict]").await;
    let text = panel.text().await.unwrap();
    assert!(text.contains("Maximiliane"), "{text}");
    let unchanged: User = h.api(&format!("/users/{}", u.id)).await;
    assert_eq!(unchanged.town, u.town, "nothing saved yet");

    // "Save mine anyway": my town, and their first name stays.
    h.wait_for("[data-testid=conflict-overwrite]")
        .await
        .click()
        .await
        .unwrap();
    h.wait_for("[data-testid=user-name]").await;
    let after: User = h.api(&format!("/users/{}", u.id)).await;
    assert_eq!(after.town.as_deref(), Some("Villach"));
    assert_eq!(after.first_name.as_deref(), Some("Maximiliane"));
    h.finish().await;
}

#[tokio::test]
async fn what_was_typed_survives_an_ended_session() {
    let h = Harness::start().await;
    let users: Vec<User> = h.api("/users").await;
    let u = users
        .iter()
        .find(|u| u.role == shared::Role::User && u.town.is_some())
        .unwrap()
        .clone();
    let me: serde_json::Value = h
        .http
        .get(h.url("/api/session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let my_id = me["account"]["id"].as_str().unwrap().to_string();
    let (_, other_admin) = h.colleague("admin").await;

    h.open(&format!("/users/{}/edit", u.id)).await;
    let town = h.wait_for("[data-testid=field-town]").await;
    h.eventually("the form filled in", || async {
        (value(&town).await == u.town.clone().unwrap_or_default()).then_some(())
    })
    .await;
    h.type_into("town", "Entwurfsdorf").await;

    // Meanwhile another admin ends every session of this agent.
    let r = other_admin
        .delete(h.url(&format!("/api/team/{my_id}/sessions")))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());

    // Saving meets the ended session: the sign-in page, keeping the way back.
    h.click("[data-testid=submit-user]").await;
    h.submit_sign_in(e2e::ADMIN_EMAIL, e2e::ADMIN_PASSWORD)
        .await;

    // Back on the form, with what was typed.
    h.wait_for("[data-testid=draft-restored]").await;
    let town = h.wait_for("[data-testid=field-town]").await;
    h.eventually("the typed town restored", || async {
        (value(&town).await == "Entwurfsdorf").then_some(())
    })
    .await;
    h.click("[data-testid=submit-user]").await;
    h.wait_for("[data-testid=user-name]").await;
    let after: User = other_admin
        .get(h.api_url(&format!("/users/{}", u.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after.town.as_deref(), Some("Entwurfsdorf"));
    // Saved: the draft is gone, the form opens with the saved values.
    h.open(&format!("/users/{}/edit", u.id)).await;
    h.wait_for("[data-testid=field-town]").await;
    assert!(h.all("[data-testid=draft-restored]").await.is_empty());
    h.finish().await;
}

/// A refused create puts the focus on the first wrong field on screen
/// (E-mail at the top), not on the last one checked (Latitude at the
/// bottom), so an agent sees the first thing to fix.
#[tokio::test]
async fn a_refused_create_focuses_the_first_wrong_field_on_screen() {
    let h = Harness::start().await;
    h.open("/users/new").await;
    h.type_into("email", "anna.berger@").await;
    h.type_into("last_name", "Berger").await;
    h.type_into("latitude", "123").await;
    h.type_into("longitude", "abc").await;
    h.click("[data-testid=submit-user]").await;
    field_error(&h, "latitude").await;
    field_error(&h, "email").await;
    assert_eq!(h.focused_id().await, "f-email");

    // The same for the second field when the first is right.
    h.type_into("email", "anna.berger@example.at").await;
    h.click("[data-testid=submit-user]").await;
    h.eventually("the focus on Latitude", || async {
        (h.focused_id().await == "f-latitude").then_some(())
    })
    .await;
    h.finish().await;
}

/// The gateway out of reach while saving: a message in words (no
/// "TypeError: Failed to fetch"), and everything typed still there.
#[tokio::test]
async fn an_unreachable_gateway_is_explained_and_nothing_typed_is_lost() {
    let h = Harness::start().await;
    h.open("/users/new").await;
    h.type_into("email", "offline.agent@example.at").await;
    h.type_into("first_name", "Olga").await;
    h.type_into("town", "Graz").await;
    h.cdp("Network.enable", json!({})).await;
    h.cdp(
        "Network.emulateNetworkConditions",
        json!({"offline": true, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
    )
    .await;
    h.click("[data-testid=submit-user]").await;
    let message = h.text("[data-testid=error-panel]").await;
    assert!(message.contains("could not be reached"), "{message}");
    assert!(!message.contains("TypeError"), "{message}");
    assert!(!message.contains("Failed to fetch"), "{message}");
    for (field, expected) in [
        ("email", "offline.agent@example.at"),
        ("first_name", "Olga"),
        ("town", "Graz"),
    ] {
        let el = h.wait_for(&format!("[data-testid=field-{field}]")).await;
        assert_eq!(value(&el).await, expected, "{field}");
    }
    h.cdp(
        "Network.emulateNetworkConditions",
        json!({"offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
    )
    .await;
    h.finish().await;
}

/// In a phone-sized window the top bar wraps to several rows; it scrolls
/// away with the page instead of staying on top of the form, covering the
/// field being typed in.
#[tokio::test]
async fn at_375_px_the_top_bar_does_not_cover_the_form() {
    let h = Harness::start().await;
    h.browser.set_window_size(375, 800).await.unwrap();
    h.open("/users/new").await;
    let first_name = h.wait_for("[data-testid=field-first_name]").await;
    first_name.send_keys("Olga").await.unwrap();
    let covered = h
        .browser
        .execute(
            "const f = document.activeElement; f.scrollIntoView({block: 'start'}); \
             const r = f.getBoundingClientRect(); \
             const top = document.elementFromPoint(r.left + 5, r.top + 5); \
             return top === f ? null : (top ? top.outerHTML.slice(0, 80) : 'nothing');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        covered,
        serde_json::Value::Null,
        "the focused First name field is covered by {covered}"
    );
    h.assert_fits_window("the new-user form at 375 px").await;
    h.finish().await;
}

/// Enter in the last field of the forced password change: the page is
/// replaced by the app while the field still has the focus. Chromium blurs
/// the removed field, and its check used to read the page's disposed
/// signals: a panic ("unreachable") that stops the app.
#[tokio::test]
async fn enter_in_the_forced_password_change_leaves_the_app_running() {
    let h = Harness::start().await;
    let email = format!("enter-{}@example.com", uuid::Uuid::new_v4().simple());
    let r = h
        .http
        .post(h.url("/api/team"))
        .json(&json!({"email": email, "first_name": "Enter", "last_name": "Key", "role": "staff"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let invited: serde_json::Value = r.json().await.unwrap();
    let otp = invited["one_time_password"].as_str().unwrap().to_string();
    h.sign_out().await;
    h.submit_sign_in(&email, &otp).await;
    h.wait_for("[data-testid=password-required]").await;
    h.wait_for("#current-password")
        .await
        .send_keys(&otp)
        .await
        .unwrap();
    h.wait_for("#new-password")
        .await
        .send_keys("a fresh password of their own")
        .await
        .unwrap();
    // Every uncaught error and panic message from now on.
    h.browser
        .execute(
            "window.__errors = []; \
             window.addEventListener('error', e => window.__errors.push(String(e.message))); \
             const log = console.error; \
             console.error = (...a) => { window.__errors.push(a.join(' ')); log(...a); };",
            vec![],
        )
        .await
        .unwrap();
    h.wait_for("#new-password-again")
        .await
        .send_keys("a fresh password of their own\u{E007}")
        .await
        .unwrap();
    h.eventually("the password change accepted", || async {
        h.all("[data-testid=password-required], #current-password")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    // The app runs: the users list answers a search.
    let search = h.wait_for("[data-testid=user-search]").await;
    search.send_keys("a").await.unwrap();
    h.eventually("the search in the address", || async {
        h.path_and_query().await.contains("q=a").then_some(())
    })
    .await;
    let errors = h
        .browser
        .execute("return window.__errors;", vec![])
        .await
        .unwrap();
    assert_eq!(errors, json!([]), "errors in the page");
    h.finish().await;
}
