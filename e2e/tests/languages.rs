//! German and English in a real browser, and axe-core on every page in
//! both: a `de-DE` browser gets the sign-in and users pages in German
//! (`<html lang="de">`), an `en-US` one in English; the language switch
//! re-renders a user's page in German without a reload; a bad e-mail in
//! the create form is explained in German next to the field; and every
//! page (sign-in, forced password change, users, a user with a lost
//! device, create, edit, team, audit, needs reconnection, a page the role
//! may not use) passes axe-core in both languages.
//!
//! The expected texts come from the translator's files
//! (`frontend/locales/*.yml`, and the shared validation messages through
//! `shared`), so the tests follow the catalog rather than repeat it.

use std::collections::BTreeMap;

use e2e::Harness;
use shared::i18n::Lang;

const TAB: &str = "\u{E004}";

/// The app's texts in `lang`, from `frontend/locales/<code>.yml`.
struct Texts {
    lang: Lang,
    entries: BTreeMap<String, String>,
}

impl Texts {
    fn of(lang: Lang) -> Texts {
        Texts {
            lang,
            entries: e2e::app_texts(lang),
        }
    }

    /// The text of `key`, failing if the catalog does not have it.
    fn get(&self, key: &str) -> &str {
        self.entries
            .get(key)
            .unwrap_or_else(|| panic!("frontend/locales/{}.yml has no key {key}", self.lang.code()))
    }
}

/// The browser language tag a person in `lang` has.
fn tag(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "en-US",
        Lang::De => "de-DE",
    }
}

/// `<html lang>` of the page shown.
async fn document_lang(h: &Harness) -> String {
    h.browser
        .execute("return document.documentElement.lang;", vec![])
        .await
        .expect("script runs")
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Wait until the text of `css` is `expected` (the page may still be
/// rendering the other language or loading).
async fn wait_text(h: &Harness, css: &str, expected: &str) {
    h.eventually(&format!("'{expected}' in {css}"), || async {
        let text = h
            .browser
            .find(fantoccini::Locator::Css(css))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        (text.trim() == expected).then_some(())
    })
    .await;
}

/// Wait until the document's language is `lang`.
async fn wait_lang(h: &Harness, lang: Lang) {
    h.eventually(&format!("<html lang=\"{}\">", lang.code()), || async {
        (document_lang(h).await == lang.code()).then_some(())
    })
    .await;
}

/// The sign-in page and, after signing in, the users list are in the
/// browser's language.
async fn sign_in_and_users_in(lang: Lang) {
    let t = Texts::of(lang);
    let h = Harness::start_with_language(tag(lang)).await;
    h.sign_out().await;
    h.open("/sign-in").await;
    h.wait_for("#sign-in-email").await;
    wait_lang(&h, lang).await;
    wait_text(&h, "#sign-in-h", t.get("sign_in.title")).await;
    wait_text(&h, "label[for=sign-in-email]", t.get("sign_in.email")).await;
    wait_text(&h, "label[for=sign-in-password]", t.get("sign_in.password")).await;
    wait_text(&h, "[data-testid=sign-in-submit]", t.get("sign_in.submit")).await;

    h.submit_sign_in(e2e::ADMIN_EMAIL, e2e::ADMIN_PASSWORD)
        .await;
    h.wait_for("[data-testid=account-name]").await;
    h.open("/").await;
    h.wait_for("[data-testid=user-row]").await;
    wait_lang(&h, lang).await;
    wait_text(&h, "#users-h", t.get("users.title")).await;
    wait_text(&h, "[data-testid=new-user]", t.get("users.new_user")).await;
    wait_text(&h, "[data-testid=sign-out]", t.get("app.sign_out")).await;
    h.finish().await;
}

#[tokio::test]
async fn a_german_browser_gets_german_pages() {
    sign_in_and_users_in(Lang::De).await;
}

#[tokio::test]
async fn an_english_browser_gets_english_pages() {
    sign_in_and_users_in(Lang::En).await;
}

/// Choose `lang` with the top bar's language switch (a `<select>`).
async fn switch_to(h: &Harness, lang: Lang) {
    h.wait_for("[data-testid=language-switch]")
        .await
        .select_by_value(lang.code())
        .await
        .expect("choose the language");
}

#[tokio::test]
async fn the_switch_re_renders_in_german_without_a_reload() {
    let en = Texts::of(Lang::En);
    let de = Texts::of(Lang::De);
    let h = Harness::start().await;
    let (user, _, _) = e2e::user_with_lost_device(&h).await;
    h.open(&format!("/users/{}", user.id)).await;
    h.wait_for("[data-testid=device-card]").await;
    wait_lang(&h, Lang::En).await;
    wait_text(&h, "[data-testid=edit-user]", en.get("user_detail.edit")).await;
    h.browser
        .execute("window.__marker = 1;", vec![])
        .await
        .expect("script runs");

    switch_to(&h, Lang::De).await;
    wait_text(&h, "[data-testid=edit-user]", de.get("user_detail.edit")).await;
    wait_lang(&h, Lang::De).await;
    let marker = h
        .browser
        .execute("return window.__marker;", vec![])
        .await
        .expect("script runs");
    assert_eq!(marker, serde_json::json!(1), "the page was reloaded");
    assert_eq!(
        h.path_and_query().await,
        format!("/users/{}", user.id),
        "still on the user's page"
    );
    // The rest of the page follows: the top bar and the device cards.
    wait_text(&h, "[data-testid=sign-out]", de.get("app.sign_out")).await;
    h.wait_for("[data-testid=device-card]").await;
    h.finish().await;
}

#[tokio::test]
async fn a_bad_e_mail_is_explained_in_german_next_to_the_field() {
    let h = Harness::start_with_language("de-DE").await;
    h.open("/users/new").await;
    let email = h.wait_for("[data-testid=field-email]").await;
    email.send_keys("anna.berger@").await.unwrap();
    email.send_keys(TAB).await.unwrap();
    // The shared rule's message, in German from the shared catalog.
    let rule = shared::Email::parse("anna.berger@").expect_err("a bad e-mail");
    let german = rule.message_in(Lang::De);
    assert_ne!(
        german,
        rule.message_in(Lang::En),
        "the e-mail rule's message has no German text in shared/locales/de.yml"
    );
    wait_text(&h, "[data-testid=error-email]", &german).await;
    // Next to the field: in its box, and named by the field as its description.
    let error = h.wait_for("[data-testid=error-email]").await;
    let error_id = error
        .attr("id")
        .await
        .unwrap()
        .expect("the error has an id");
    let described = email
        .attr("aria-describedby")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        described.split_whitespace().any(|id| id == error_id),
        "aria-describedby '{described}' does not name the error '{error_id}'"
    );
    assert_eq!(
        email.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    let same_field = h
        .browser
        .execute(
            "return arguments[0].closest('.field') !== null && arguments[0].closest('.field') === arguments[1].closest('.field');",
            vec![
                serde_json::to_value(&email).unwrap(),
                serde_json::to_value(&error).unwrap(),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        same_field,
        serde_json::json!(true),
        "the message is not in the e-mail field's box"
    );
    wait_lang(&h, Lang::De).await;
    h.finish().await;
}

/// Every page, as it looks once loaded, passes axe-core in `lang`.
async fn every_page_accessible_in(lang: Lang) {
    let t = Texts::of(lang);
    let h = Harness::start_with_language(tag(lang)).await;
    let code = lang.code();
    let (viewer_email, _) = h.colleague("viewer").await;
    let (lost_user, _, _) = e2e::user_with_lost_device(&h).await;
    let users: Vec<shared::User> = h.api("/users").await;
    let plain = users
        .iter()
        .find(|u| u.role == shared::Role::User && u.id != lost_user.id)
        .expect("an end-user");

    // The users list.
    h.open("/").await;
    h.wait_for("[data-testid=user-row]").await;
    wait_lang(&h, lang).await;
    h.assert_accessible(&format!("the users list ({code})"))
        .await;

    // A user with devices, one of them lost, then with a new link.
    h.open(&format!("/users/{}", lost_user.id)).await;
    h.wait_for("[data-testid=device-card]").await;
    h.wait_for("[data-testid=user-history]").await;
    h.wait_for("[data-testid=new-link]").await;
    h.assert_accessible(&format!("a user with a lost device ({code})"))
        .await;
    h.click("[data-testid=new-link]").await;
    let created = t.get("device.link_created");
    h.eventually("the new link created", || async {
        for note in h.all(".reconnect .note").await {
            if note.text().await.ok()?.trim() == created {
                return Some(());
            }
        }
        None
    })
    .await;
    h.assert_accessible(&format!("a user with a new reconnection link ({code})"))
        .await;
    // ...and a self-service link for the customer, shown once, in the list.
    h.click("[data-testid=ss-create-link]").await;
    h.wait_for("[data-testid=ss-new-link]").await;
    h.wait_for("[data-testid=ss-link-row][data-state=active]")
        .await;
    h.assert_accessible(&format!("a user with a new self-service link ({code})"))
        .await;

    // Create, with an error shown next to a field.
    h.open("/users/new").await;
    let email = h.wait_for("[data-testid=field-email]").await;
    h.assert_accessible(&format!("the create-user form ({code})"))
        .await;
    email.send_keys("anna.berger@").await.unwrap();
    email.send_keys(TAB).await.unwrap();
    h.eventually("the e-mail error shown", || async {
        let el = h.wait_for("[data-testid=error-email]").await;
        let text = el.text().await.ok()?;
        (el.attr("hidden").await.ok()?.is_none() && !text.is_empty()).then_some(())
    })
    .await;
    h.assert_accessible(&format!("the create-user form with an error ({code})"))
        .await;

    // Edit, loaded.
    h.open(&format!("/users/{}/edit", plain.id)).await;
    h.wait_for("[data-testid=edit-user-form]").await;
    h.eventually("the form filled in", || async {
        let el = h.wait_for("[data-testid=field-first_name]").await;
        let value = el.prop("value").await.ok()??;
        (!value.is_empty()).then_some(())
    })
    .await;
    h.assert_accessible(&format!("the edit-user form ({code})"))
        .await;

    // A new colleague who still has to replace a one-time password.
    let new_email = format!("new-{code}-{}@example.com", uuid::Uuid::new_v4().simple());
    let invite = h
        .http
        .post(h.url("/api/team"))
        .json(&serde_json::json!({
            "email": new_email, "first_name": "Neu", "last_name": "Kollege", "role": "staff"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(invite.status(), 201);
    let invite: serde_json::Value = invite.json().await.unwrap();
    let otp = invite["one_time_password"].as_str().unwrap().to_string();

    // The team, with that colleague marked.
    h.open("/team").await;
    h.wait_for("[data-testid=team-row]").await;
    h.wait_for("[data-testid=podero-only], [data-testid=podero-only-empty]")
        .await;
    h.assert_accessible(&format!("the team page ({code})"))
        .await;

    // The audit trail.
    h.open("/audit").await;
    h.wait_for("[data-testid=audit-row]").await;
    h.assert_accessible(&format!("the audit trail ({code})"))
        .await;

    // The outbox, without a mail server.
    h.open("/outbox").await;
    h.wait_for("[data-testid=outbox-no-smtp]").await;
    h.wait_for("[data-testid=empty-state], [data-testid=outbox-table]")
        .await;
    h.assert_accessible(&format!("the outbox ({code})")).await;

    // Needs reconnection, once the check is done.
    h.open("/reconnection").await;
    h.wait_for("[data-testid=scan-progress][data-state=done]")
        .await;
    h.wait_for("[data-testid=lost-table]").await;
    h.assert_accessible(&format!("needs reconnection ({code})"))
        .await;

    // A page that does not exist.
    h.open("/no-such-page").await;
    h.wait_for("[data-testid=not-found]").await;
    h.assert_accessible(&format!("the not-found page ({code})"))
        .await;

    // Signed out: the sign-in page (also with its error shown), then the
    // new colleague's forced password change (also with its error).
    h.sign_out().await;
    wait_lang(&h, lang).await;
    h.assert_accessible(&format!("the sign-in page ({code})"))
        .await;
    h.submit_sign_in(e2e::ADMIN_EMAIL, "not the password").await;
    h.eventually("the sign-in error shown", || async {
        let el = h.wait_for("[data-testid=sign-in-error]").await;
        let text = el.text().await.ok()?;
        (el.attr("hidden").await.ok()?.is_none() && !text.is_empty()).then_some(())
    })
    .await;
    h.assert_accessible(&format!("the sign-in page with an error ({code})"))
        .await;
    h.submit_sign_in(&new_email, &otp).await;
    h.wait_for("[data-testid=password-required]").await;
    h.wait_for("#current-password").await;
    h.assert_accessible(&format!("the forced password change ({code})"))
        .await;
    h.wait_for("#current-password")
        .await
        .send_keys(&otp)
        .await
        .unwrap();
    for field in ["#new-password", "#new-password-again"] {
        h.wait_for(field).await.send_keys("short").await.unwrap();
    }
    h.click("[data-testid=password-submit]").await;
    h.wait_for("[data-testid=error-new_password]").await;
    h.assert_accessible(&format!("the password change with an error ({code})"))
        .await;
    for field in ["#new-password", "#new-password-again"] {
        let input = h.wait_for(field).await;
        input.clear().await.unwrap();
        input
            .send_keys("a long password of their own")
            .await
            .unwrap();
    }
    h.submit_password_change().await;

    // A viewer: the team page is not for their role, nor the edit form.
    h.sign_out().await;
    h.sign_in(&viewer_email, e2e::COLLEAGUE_PASSWORD).await;
    h.open("/team").await;
    h.wait_for("[data-testid=admin-only]").await;
    wait_lang(&h, lang).await;
    h.assert_accessible(&format!("the team page for a viewer ({code})"))
        .await;
    h.open(&format!("/users/{}/edit", plain.id)).await;
    h.wait_for("[data-testid=read-only]").await;
    h.assert_accessible(&format!("the edit form for a viewer ({code})"))
        .await;
    h.open(&format!("/users/{}", lost_user.id)).await;
    h.wait_for("[data-testid=reconnect-read-only]").await;
    h.assert_accessible(&format!("a user's page for a viewer ({code})"))
        .await;
    h.finish().await;
}

#[tokio::test]
async fn every_page_is_accessible_in_english() {
    every_page_accessible_in(Lang::En).await;
}

#[tokio::test]
async fn every_page_is_accessible_in_german() {
    every_page_accessible_in(Lang::De).await;
}
