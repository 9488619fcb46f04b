//! Customer self-service in real browsers: a device is lost and the fleet
//! watch opens its case; the agent presses "Send to customer" on the case
//! (no mail server: the message waits in the outbox, where the admin reads
//! the link); the customer opens the link in a fresh browser (no
//! back-office session, a phone's 360 px), sees the lost device, presses
//! "Reconnect", connects on the manufacturer's (emulator's) page and is
//! back on their page, which says all devices are connected; the case
//! resolves itself and its timeline shows what the customer did. The
//! agent then revokes the link on the user's page and it stops working.
//! An admin creates a link (shown once); staff may act for end-users but
//! not for Podero team members; a viewer reads the links but is offered
//! nothing to change, and only admins have the outbox.

use std::time::Duration;

use e2e::{user_with_device, Harness, DEADLINE, WATCH_DEADLINE};
use fantoccini::Locator;
use shared::cases::CaseDetail;
use uuid::Uuid;

/// Click the button or link whose visible text is `text`, waiting for it.
async fn press(h: &Harness, text: &str) {
    h.eventually(&format!("a click on {text:?}"), || async {
        h.action(text).await?.click().await.ok()
    })
    .await;
}

/// The page's visible text now; empty while the browser is between two
/// documents (a navigation under way has no body yet), so that callers
/// polling for a text simply ask again.
async fn page_text(h: &Harness) -> String {
    match h.browser.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Open `path` again and again until it shows `css` (what the gateway
/// records on its own schedule), or fail after `deadline`.
async fn reload_until(h: &Harness, path: &str, css: &str, deadline: Duration) {
    h.eventually_within(&format!("{css} on {path}"), deadline, || async {
        h.open(path).await;
        h.browser
            .wait()
            .at_most(Duration::from_secs(5))
            .for_element(Locator::Css(css))
            .await
            .ok()
            .map(drop)
    })
    .await;
}

/// After "Reconnect": on to the manufacturer's sign-in (by itself, or
/// with the link), connect there, and wait to be back on the customer's
/// page, which says all devices are connected.
async fn connect_at_the_manufacturer(h: &Harness) {
    h.eventually("the manufacturer's page", || async {
        if h.browser
            .find(Locator::Css("[data-testid=emulator-connect]"))
            .await
            .is_ok()
        {
            return Some(());
        }
        if let Some(go) = h.action("Continue to sign-in").await {
            let _ = go.click().await;
        }
        None
    })
    .await;
    h.click("[data-testid=emulator-connect]").await;
    h.eventually("the customer's page to say all is connected", || async {
        page_text(h)
            .await
            .contains("All your devices are connected")
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_customer_reconnects_through_the_link_the_agent_sent() {
    let mut h = Harness::start_with(|c| c.watch_rps = 1000.0).await;
    let (user, _kind, device) = user_with_device(&h, true).await;
    let device_id: Uuid = device["id"].as_str().unwrap().parse().unwrap();
    let model = device["device_model"]["model"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    // The device loses its manufacturer connection; the watch opens a case.
    h.lose_connection(device_id).await;
    let case = h.watch_case(device_id).await;

    // On the case: "Send to customer", in English, to the customer's address.
    let case_path = format!("/cases/{}", case.id);
    h.open(&case_path).await;
    h.wait_for("[data-testid=case-send]").await;
    let to = h.text("[data-testid=ss-send-to]").await;
    assert_eq!(to.trim(), user.email, "the message goes to the customer");
    let language = h.by_label("Language of the message").await;
    assert_eq!(
        language.prop("value").await.unwrap().as_deref(),
        Some("de"),
        "German unless chosen otherwise"
    );
    language.select_by_value("en").await.unwrap();
    press(&h, "Send to customer").await;

    // No mail server in the test: it says the message waits in the outbox,
    // and so does the case's timeline.
    let outcome = h
        .wait_for("[data-testid=ss-sent][data-will-be-sent=false]")
        .await;
    let said = outcome.text().await.unwrap();
    assert!(said.contains("waits in the outbox"), "{said}");
    assert!(said.contains(&user.email), "{said}");
    let shown_link = h
        .text("[data-testid=ss-sent-link] [data-testid=ss-link-url]")
        .await;
    h.assert_accessible("a case after sending the link").await;
    reload_until(
        &h,
        &case_path,
        "[data-testid=case-event][data-kind=email_held]",
        DEADLINE,
    )
    .await;

    // The admin reads the message in the outbox: the link is in it.
    press(&h, "Outbox").await;
    h.wait_for("[data-testid=outbox-no-smtp]").await;
    let row_css = format!(
        "[data-testid=outbox-row][data-case-id='{}'][data-state=held]",
        case.id
    );
    h.wait_for(&row_css).await;
    assert_eq!(
        h.text(&format!("{row_css} [data-testid=outbox-to]")).await,
        user.email
    );
    h.click(&format!("{row_css} [data-testid=outbox-subject]"))
        .await;
    let body = h
        .text(&format!("{row_css} [data-testid=outbox-body]"))
        .await;
    let link = body
        .split_whitespace()
        .find(|w| w.contains(shared::self_service::PAGE_PREFIX))
        .unwrap_or_else(|| panic!("no self-service link in the message:\n{body}"))
        .trim_matches(|c| matches!(c, '<' | '>' | '(' | ')' | '"' | ',' | '.'))
        .to_string();
    assert_eq!(link, shown_link.trim(), "the outbox holds the link sent");
    h.assert_accessible("the outbox").await;
    let link = if link.starts_with('/') {
        h.url(&link)
    } else {
        link
    };

    // The customer: a fresh browser without any back-office cookie, 360 px wide.
    let agent = h.fresh_session().await;
    h.browser.set_window_size(360, 800).await.unwrap();
    h.browser.goto(&link).await.expect("open the link");
    let reconnect = h
        .eventually("the customer's page to list the lost device", || async {
            let text = page_text(&h).await;
            let listed = model.is_empty() || text.contains(&model);
            if listed {
                h.action("Reconnect").await
            } else {
                None
            }
        })
        .await;
    assert!(
        h.browser
            .get_all_cookies()
            .await
            .unwrap()
            .iter()
            .all(|c| !c.name().contains("podero_session")),
        "no back-office session cookie on the customer's page"
    );
    h.assert_fits_window("the customer's page at 360 px").await;
    reconnect.click().await.unwrap();
    connect_at_the_manufacturer(&h).await;
    assert!(
        h.browser
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with(shared::self_service::PAGE_PREFIX),
        "back on the customer's page"
    );
    h.assert_fits_window("the customer's page, all connected, at 360 px")
        .await;
    h.resume_session(agent).await;

    // The agent sees the case resolve itself, with the customer's steps.
    reload_until(
        &h,
        &case_path,
        "[data-testid=case-head][data-state=resolved]",
        WATCH_DEADLINE,
    )
    .await;
    for kind in [
        "email_held",
        "customer_opened_page",
        "customer_reconnect_pressed",
        "device_reconnected",
    ] {
        h.wait_for(&format!("[data-testid=case-event][data-kind={kind}]"))
            .await;
    }
    let timeline = h.text("[data-testid=timeline]").await;
    assert!(
        timeline.contains("The customer opened their self-service page"),
        "{timeline}"
    );
    assert!(
        timeline.contains("The customer pressed “Reconnect” on their self-service page"),
        "{timeline}"
    );
    let resolved: CaseDetail = h.get_json(&format!("/api/cases/{}", case.id)).await;
    assert!(resolved.case.resolved_at.is_some());

    // On the user's page: the link, sent to the customer and used; the
    // agent revokes it and it stops working.
    h.open(&format!("/users/{}", user.id)).await;
    let row = h
        .wait_for("[data-testid=ss-link-row][data-state=active]")
        .await;
    let text = row.text().await.unwrap();
    assert!(text.contains(&user.email), "sent to: {text}");
    assert!(text.contains(e2e::ADMIN_EMAIL), "created by: {text}");
    h.assert_accessible("the user's self-service links").await;
    h.click("[data-testid=ss-link-row][data-state=active] [data-testid=ss-revoke]")
        .await;
    let confirm = h.text("[data-testid=confirm-message]").await;
    assert!(confirm.contains("stops working"), "{confirm}");
    h.click("[data-testid=confirm-ok]").await;
    h.wait_for("[data-testid=ss-link-row][data-state=revoked]")
        .await;
    assert!(h
        .all("[data-testid=ss-link-row][data-state=active]")
        .await
        .is_empty());
    let status = reqwest::get(&link).await.expect("gateway answers").status();
    assert!(
        status == 404 || status == 410,
        "a revoked link is refused: {status}"
    );
    h.finish().await;
}

#[tokio::test]
async fn the_agent_creates_a_link_staff_only_for_end_users_a_viewer_only_reads() {
    let h = Harness::start().await;
    let (user, _kind, _device) = user_with_device(&h, false).await;

    // The admin creates a link: shown once, with Copy and its expiry.
    h.open(&format!("/users/{}", user.id)).await;
    h.wait_for("[data-testid=self-service] [data-testid=empty-state]")
        .await;
    press(&h, "Create link").await;
    let url = h
        .text("[data-testid=ss-new-link] [data-testid=ss-link-url]")
        .await;
    assert!(
        url.contains(shared::self_service::PAGE_PREFIX),
        "a self-service address: {url}"
    );
    let panel = h.text("[data-testid=ss-new-link]").await;
    assert!(panel.contains("shown only this once"), "{panel}");
    assert!(panel.contains("Works until"), "{panel}");
    h.wait_for("[data-testid=ss-link-row][data-state=active]")
        .await;

    // Staff: links for end-users, none for Podero team members; no outbox.
    let users: Vec<shared::User> = h.api("/users").await;
    let member = users
        .iter()
        .find(|u| matches!(u.role, shared::Role::Admin | shared::Role::Staff))
        .expect("a Podero admin or staff user");
    let (staff, _client) = h.colleague("staff").await;
    h.sign_out().await;
    h.sign_in(&staff, e2e::COLLEAGUE_PASSWORD).await;
    h.open(&format!("/users/{}", user.id)).await;
    h.wait_for("[data-testid=ss-link-row][data-state=active] [data-testid=ss-revoke]")
        .await;
    h.wait_for("[data-testid=ss-send-form]").await;
    h.wait_for("[data-testid=ss-create-link]").await;
    assert!(h.action("Outbox").await.is_none());
    h.open(&format!("/users/{}", member.id)).await;
    h.wait_for("[data-testid=self-service] [data-testid=empty-state]")
        .await;
    assert!(h.all("[data-testid=ss-create-link]").await.is_empty());
    assert!(h.all("[data-testid=ss-send-form]").await.is_empty());

    // A viewer: the list, nothing to create, send or revoke; no outbox.
    let (viewer, _client) = h.colleague("viewer").await;
    h.sign_out().await;
    h.sign_in(&viewer, e2e::COLLEAGUE_PASSWORD).await;
    h.open(&format!("/users/{}", user.id)).await;
    h.wait_for("[data-testid=ss-link-row][data-state=active]")
        .await;
    assert!(h.all("[data-testid=ss-create-link]").await.is_empty());
    assert!(h.all("[data-testid=ss-send-form]").await.is_empty());
    assert!(h.all("[data-testid=ss-revoke]").await.is_empty());
    assert!(h.action("Outbox").await.is_none());
    h.open("/outbox").await;
    h.wait_for("[data-testid=admin-only]").await;
    h.finish().await;
}

/// After reconnecting, Back to the customer's page shows the devices as
/// they are now, not the page as it was before the reconnection: the
/// page is `no-store`, and each devices page clears the origin's cache
/// (`Clear-Site-Data`), which drops the earlier page from Chromium's
/// back/forward cache, so the browser asks the gateway again.
#[tokio::test]
async fn back_after_reconnecting_shows_the_page_as_it_is_now() {
    let mut h = Harness::start().await;
    let (user, _kind, device) = user_with_device(&h, true).await;
    let device_id: Uuid = device["id"].as_str().unwrap().parse().unwrap();
    h.lose_connection(device_id).await;
    let model = device["device_model"]["model"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let r = h
        .http
        .post(h.url(&shared::self_service::link_path(user.id)))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("gateway answers");
    assert_eq!(r.status(), 200, "a link");
    let link: shared::self_service::NewLink = r.json().await.expect("the link");
    let link = if link.url.starts_with('/') {
        h.url(&link.url)
    } else {
        link.url
    };

    let _agent = h.fresh_session().await;
    h.browser.goto(&link).await.expect("open the link");
    h.eventually("the lost device on the customer's page", || async {
        let text = page_text(&h).await;
        let listed = model.is_empty() || text.contains(&model);
        (listed && h.action("Reconnect").await.is_some()).then_some(())
    })
    .await;
    press(&h, "Reconnect").await;
    connect_at_the_manufacturer(&h).await;

    // Back, until the customer's page before the reconnection: it is
    // asked for again and says what is true now.
    let connected = h.browser.current_url().await.unwrap();
    let opens = || async {
        let a: serde_json::Value = h
            .get_json("/api/audit?action=device.self_service_open&per_page=1")
            .await;
        a["total"].as_u64().unwrap()
    };
    let opened_before = opens().await;
    let mut steps = 0;
    loop {
        h.browser.back().await.unwrap();
        steps += 1;
        let url = h.browser.current_url().await.unwrap();
        if url.path() == connected.path() {
            break;
        }
        assert!(steps < 4, "no customer's page behind {url}");
    }
    h.eventually("the page as it is now after Back", || async {
        let text = page_text(&h).await;
        (text.contains("All your devices are connected") && h.action("Reconnect").await.is_none())
            .then_some(())
    })
    .await;
    // Asked of the gateway again, not restored from the browser's memory.
    assert!(
        opens().await > opened_before,
        "the page was not asked again"
    );
    h.finish().await;
}
