//! Journeys in a real browser: find and open a user, see their devices,
//! and walk the support journey for a device that lost its connection.

use e2e::{user_with_lost_device, Harness};
use fantoccini::Locator;
use shared::User;

#[tokio::test]
async fn users_list_search_and_open_a_user() {
    let h = Harness::start().await;
    h.open("/").await;
    h.wait_for("[data-testid=users-table]").await;
    let org = h
        .wait_for("[data-testid=org-id]")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(org, h.gateway.org_id().to_string());

    // A customer with devices, found by customer number.
    let users: Vec<User> = h.api("/users").await;
    let target = users
        .iter()
        .find(|u| u.num_devices() > 1 && u.external_user_id.is_some())
        .expect("a seeded customer with devices")
        .clone();
    let name = target.display_name();
    // Every seeded user (from the API) is listed by display name.
    let names = h
        .eventually("one row per user", || async {
            let links = h.all("[data-testid=user-link]").await;
            if links.len() != users.len().min(200) {
                return None;
            }
            let mut names = Vec::new();
            for l in links {
                names.push(l.text().await.ok()?);
            }
            Some(names)
        })
        .await;
    for u in users.iter().take(5) {
        assert!(
            names.contains(&u.display_name()),
            "'{}' is not in the users table",
            u.display_name()
        );
    }

    let search = h.wait_for("[data-testid=user-search]").await;
    search
        .send_keys(target.external_user_id.as_deref().unwrap())
        .await
        .unwrap();
    let link = h
        .eventually("the search to leave exactly the customer's row", || async {
            let rows = h.all("[data-testid=user-row]").await;
            if rows.len() != 1 {
                return None;
            }
            rows[0]
                .find(Locator::Css("[data-testid=user-link]"))
                .await
                .ok()
        })
        .await;
    assert_eq!(link.text().await.unwrap(), name);
    link.click().await.unwrap();

    let heading = h.wait_for("[data-testid=user-name]").await;
    assert_eq!(heading.text().await.unwrap(), name);
    assert!(h
        .browser
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with(&target.id.to_string()));
    let expected = target.num_devices() as usize;
    let cards = h
        .eventually("one card per device", || async {
            let cards = h.all("[data-testid=device-card]").await;
            (cards.len() == expected).then_some(cards)
        })
        .await;
    for card in cards {
        let kind = card.attr("data-device-kind").await.unwrap().unwrap();
        assert!(
            ["heat_pump", "electric_vehicle", "wallbox", "inverter"].contains(&kind.as_str()),
            "{kind}"
        );
    }
    h.finish().await;
}

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

    // The customer opens it and connects at the (simulated) manufacturer.
    h.browser.goto(&fresh).await.unwrap();
    h.wait_for("[data-testid=emulator-connect]")
        .await
        .click()
        .await
        .unwrap();
    h.eventually("the manufacturer page to confirm", || async {
        let body = h
            .browser
            .find(Locator::Css("h1"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        body.contains("connected").then_some(())
    })
    .await;

    // Back in the back-office, the device is connected again.
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
async fn unknown_user_and_unknown_page_are_explained() {
    let h = Harness::start().await;
    h.open(&format!("/users/{}", e2e::nil())).await;
    let panel = h.wait_for("[data-testid=error-panel]").await;
    assert!(panel.text().await.unwrap().contains("No user with this id"));
    h.open("/no/such/page").await;
    h.wait_for("[data-testid=not-found]").await;
    h.finish().await;
}
