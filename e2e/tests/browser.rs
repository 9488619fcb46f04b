//! Journeys in a real browser: a user's devices, and the support journey
//! for a device that lost its connection. (The users list is in
//! `users_list.rs`.)

use e2e::{user_with_lost_device, Harness};
use fantoccini::Locator;

#[tokio::test]
async fn lost_connection_reconnect_and_verify() {
    let h = Harness::start().await;
    let (user, kind, device) = user_with_lost_device(&h).await;
    let device_id = device["id"].as_str().unwrap().to_string();

    // Deep link straight to the user (the gateway falls back to index.html).
    h.open(&format!("/users/{}", user.id)).await;
    let card_css = format!("[data-testid=device-card][data-device-id='{device_id}']");
    let card = h.wait_for(&card_css).await;
    assert_eq!(
        card.attr("data-authenticated").await.unwrap().as_deref(),
        Some("false")
    );
    assert_eq!(
        h.wait_for("[data-testid=user-name]")
            .await
            .text()
            .await
            .unwrap(),
        user.display_name()
    );
    // Reloading the deep link shows the same user again.
    h.browser.refresh().await.unwrap();
    let card = h.wait_for(&card_css).await;
    assert_eq!(
        h.wait_for("[data-testid=user-name]")
            .await
            .text()
            .await
            .unwrap(),
        user.display_name()
    );
    let link = card
        .find(Locator::Css("[data-testid=reconnection-link]"))
        .await
        .expect("a reconnection link");
    assert_eq!(
        link.attr("href").await.unwrap(),
        device["authorization_url"].as_str().map(str::to_string)
    );

    // Create a fresh link (auth_session) from the card.
    card.find(Locator::Css("[data-testid=new-link]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let old = device["authorization_url"].as_str().unwrap().to_string();
    let fresh = h
        .eventually("a new reconnection link", || async {
            let card = h.browser.find(Locator::Css(&card_css)).await.ok()?;
            let href = card
                .find(Locator::Css("[data-testid=reconnection-link]"))
                .await
                .ok()?
                .attr("href")
                .await
                .ok()??;
            (href != old && href.contains("/connect/")).then_some(href)
        })
        .await;

    // The pre-filled e-mail goes to the customer and carries the link.
    let mail = card
        .find(Locator::Css("[data-testid=email-link]"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(
        mail.starts_with(&format!("mailto:{}?", user.email)),
        "{mail}"
    );
    assert!(
        mail.contains(&shared::directory::percent_encode(&fresh)),
        "{mail}"
    );

    // The customer opens it (another tab) and connects at the (simulated)
    // manufacturer, while the agent's page stays open.
    h.connect_as_customer(&fresh).await;

    // "Verify connection" re-reads the device and says it is back.
    let card = h.wait_for(&card_css).await;
    card.find(Locator::Css("[data-testid=verify-connection]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let result = h
        .wait_for(&format!("{card_css} [data-testid=verify-result]"))
        .await;
    assert_eq!(
        result.attr("data-outcome").await.unwrap().as_deref(),
        Some("connected")
    );
    h.eventually("the card to show connected", || async {
        let card = h.browser.find(Locator::Css(&card_css)).await.ok()?;
        (card.attr("data-authenticated").await.ok()?.as_deref() == Some("true")).then_some(())
    })
    .await;

    // Reloaded, the device is still connected and has no link any more.
    h.open(&format!("/users/{}", user.id)).await;
    let card = h.wait_for(&card_css).await;
    assert_eq!(
        card.attr("data-authenticated").await.unwrap().as_deref(),
        Some("true")
    );
    assert!(card
        .find(Locator::Css("[data-testid=reconnection-link]"))
        .await
        .is_err());
    let api: serde_json::Value = h
        .api(&format!(
            "/users/{}/{}/{device_id}",
            user.id,
            kind.path_segment()
        ))
        .await;
    assert_eq!(api["is_authenticated"], true);
    h.finish().await;
}

#[tokio::test]
async fn verify_says_when_the_deadline_passes() {
    // A 3 s deadline instead of the default 60 s keeps this test short.
    let h = Harness::start_with(|c| c.verify_secs = 3).await;
    let (user, _kind, device) = user_with_lost_device(&h).await;
    let card_css = format!(
        "[data-testid=device-card][data-device-id='{}']",
        device["id"].as_str().unwrap()
    );
    h.open(&format!("/users/{}", user.id)).await;
    let card = h.wait_for(&card_css).await;
    let button = card
        .find(Locator::Css("[data-testid=verify-connection]"))
        .await
        .unwrap();
    button.click().await.unwrap();
    let progress = h
        .wait_for(&format!("{card_css} [data-testid=verify-progress]"))
        .await;
    assert!(
        progress.text().await.unwrap().contains("of 3 s"),
        "{}",
        progress.text().await.unwrap()
    );
    assert!(
        !button.is_enabled().await.unwrap(),
        "disabled while checking"
    );

    // The customer never reconnects: after the deadline the card says so,
    // stays marked as lost, and Verify can be started again.
    let result = h
        .wait_for(&format!("{card_css} [data-testid=verify-result]"))
        .await;
    assert_eq!(
        result.attr("data-outcome").await.unwrap().as_deref(),
        Some("timeout")
    );
    let text = result.text().await.unwrap();
    assert!(text.contains("Still not connected after 3 s"), "{text}");
    assert_eq!(
        card.attr("data-authenticated").await.unwrap().as_deref(),
        Some("false")
    );
    assert!(button.is_enabled().await.unwrap(), "enabled again");
    h.finish().await;
}

#[tokio::test]
async fn unknown_user_and_unknown_page_are_explained() {
    let h = Harness::start().await;
    h.open(&format!("/users/{}", e2e::nil())).await;
    h.eventually("the unknown user explained", || async {
        h.text("[data-testid=error-panel]")
            .await
            .contains("No user with this id")
            .then_some(())
    })
    .await;
    h.open("/no/such/page").await;
    h.wait_for("[data-testid=not-found]").await;
    h.finish().await;
}
