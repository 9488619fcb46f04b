//! Support work in a real browser: archiving a user (with a confirmation
//! that names them; an archived user offered for reading only), and the
//! organisation-wide "Needs reconnection" view.

use e2e::{user_with_lost_device, Harness};
use shared::User;

#[tokio::test]
async fn archive_asks_first_and_marks_the_user() {
    let h = Harness::start().await;
    let u = h.end_user().await;
    h.open(&format!("/users/{}", u.id)).await;
    h.wait_for("[data-testid=archive-user]")
        .await
        .click()
        .await
        .unwrap();
    let message = h.text("[data-testid=confirm-message]").await;
    assert!(message.contains(&u.display_name()), "{message}");
    assert!(message.contains(&u.email), "{message}");
    // The focus starts on Cancel, and Escape (a cancel) changes nothing.
    let focused = h.browser.active_element().await.unwrap();
    assert_eq!(
        focused.attr("data-testid").await.unwrap().as_deref(),
        Some("confirm-cancel")
    );
    focused.send_keys("\u{E00C}").await.unwrap();
    h.eventually("the dialog to close", || async {
        h.all("[data-testid=confirm-dialog]")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    let still: User = h.api(&format!("/users/{}", u.id)).await;
    assert!(still.deleted_at.is_none());

    // Confirm archives.
    h.wait_for("[data-testid=archive-user]")
        .await
        .click()
        .await
        .unwrap();
    h.wait_for("[data-testid=confirm-ok]")
        .await
        .click()
        .await
        .unwrap();
    h.wait_for("[data-testid=archived-badge]").await;
    h.wait_for("[data-testid=toast-success]").await;
    let archived: User = h
        .api(&format!("/users/{}?include_deleted=true", u.id))
        .await;
    assert!(archived.deleted_at.is_some());
    assert!(h.all("[data-testid=archive-user]").await.is_empty());

    // In the list: gone by default, marked under "Archived only".
    h.open(&format!(
        "/?archived=only&q={}",
        shared::directory::percent_encode(&u.email)
    ))
    .await;
    let row = h
        .wait_for(&format!("[data-testid=user-row][data-user-id='{}']", u.id))
        .await;
    assert!(row.text().await.unwrap().contains("Archived"));
    h.finish().await;
}

/// Podero refuses every change to an archived user (404), so its page
/// offers no Edit, and the edit address says why instead of a form whose
/// saving could only fail with "Not found".
#[tokio::test]
async fn an_archived_user_is_not_offered_for_editing() {
    let h = Harness::start().await;
    let u = h.end_user().await;
    let r = h
        .http
        .delete(h.api_url(&format!("/users/{}", u.id)))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "archived: {}", r.status());

    h.open(&format!("/users/{}", u.id)).await;
    h.wait_for("[data-testid=archived-badge]").await;
    assert!(h.all("[data-testid=edit-user]").await.is_empty());
    assert!(h.all("[data-testid=archive-user]").await.is_empty());

    h.open(&format!("/users/{}/edit", u.id)).await;
    let note = h.text("[data-testid=archived-note]").await;
    assert!(note.contains(&u.display_name()), "{note}");
    assert!(note.contains("archived"), "{note}");
    assert!(h.all("[data-testid=submit-user]").await.is_empty());
    assert!(h.all("[data-testid=field-town]").await.is_empty());
    h.finish().await;
}

#[tokio::test]
async fn needs_reconnection_lists_lost_devices() {
    let h = Harness::start().await;
    let (user, _kind, device) = user_with_lost_device(&h).await;
    let device_id = device["id"].as_str().unwrap().to_string();
    h.open("/reconnection").await;
    h.eventually("the scan to finish", || async {
        let p = h.wait_for("[data-testid=scan-progress]").await;
        let state = p.attr("data-state").await.ok()??;
        (state == "done").then_some(())
    })
    .await;
    let row = h
        .wait_for(&format!(
            "[data-testid=lost-row][data-device-id='{device_id}']"
        ))
        .await;
    let text = row.text().await.unwrap();
    assert!(text.contains(&user.display_name()), "{text}");
    // Its lifecycle by its label ("Error"), not Podero's `error`.
    let lifecycle = row
        .find(fantoccini::Locator::Css("[data-testid=lost-lifecycle]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(device["lifecycle_state"], "error");
    assert_eq!(
        lifecycle,
        shared::device::lifecycle_label("error", shared::Lang::En)
    );
    assert_ne!(lifecycle, "error");
    // Every lost device of the report is a row.
    let report: shared::directory::ReconnectionReport = h
        .http
        .get(h.url("/api/directory/reconnection"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        h.all("[data-testid=lost-row]").await.len(),
        report.devices.len()
    );
    // The customer's name leads to their page.
    row.find(fantoccini::Locator::Css("a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(h.text("[data-testid=user-name]").await, user.display_name());
    h.finish().await;
}
