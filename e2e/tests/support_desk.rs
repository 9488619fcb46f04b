//! The support desk in a real browser: the fleet watch opens a case when
//! a device loses its connection, the case shows in the queue and in the
//! top bar's count, an agent takes it and sends a reconnection link, and
//! the case resolves itself once the customer connected again; a case
//! opened by hand on a customer's page, with comments, in the customer's
//! cases and in the queue; the queue's search; a refused case form
//! focusing its first wrong field; and the webhook's delivery log.

use e2e::{user_with_device, Harness, WATCH_DEADLINE};
use fantoccini::key::Key;
use fantoccini::Locator;
use shared::cases::{CaseCounts, CaseDetail, CaseState};
use uuid::Uuid;

/// A gateway whose fleet watch runs at the highest budget it takes.
async fn start() -> Harness {
    Harness::start_with(|c| c.watch_rps = 1000.0).await
}

/// The count the top bar's badge shows (0 when it shows none).
async fn badge(h: &Harness) -> Option<u64> {
    let link = h
        .browser
        .find(Locator::Css("[data-testid=nav-cases]"))
        .await
        .ok()?;
    match link.find(Locator::Css("[data-testid=cases-badge]")).await {
        Ok(b) => b.text().await.ok()?.trim().parse().ok(),
        Err(_) => Some(0),
    }
}

/// The badge and the gateway agree on the open unassigned cases (both
/// read at about the same time; the watch may open more meanwhile).
async fn badge_matches_summary(h: &Harness) -> u64 {
    h.eventually_within(
        "the badge to count the open unassigned cases",
        WATCH_DEADLINE,
        || async {
            let summary: CaseCounts = h.get_json("/api/cases/summary").await;
            let shown = badge(h).await?;
            (shown == summary.open_unassigned).then_some(shown)
        },
    )
    .await
}

#[tokio::test]
async fn a_lost_device_is_a_case_that_resolves_itself_after_the_reconnection() {
    let h = start().await;
    let (user, _kind, device) = user_with_device(&h, true).await;
    let device_id: Uuid = device["id"].as_str().unwrap().parse().unwrap();

    // The device loses its manufacturer connection (the emulator's hook);
    // the fleet watch opens a device-connection case for it.
    h.lose_connection(device_id).await;
    let case = h.watch_case(device_id).await;
    assert_eq!(case.user_id, user.id);
    assert!(case.assignee.is_none());
    assert!(case.lost_since.is_some());

    // It is in the queue of open device-connection cases, with since when
    // the device is lost; the top bar counts it.
    h.open("/cases?kind=device_connection&state=open").await;
    let row_css = format!("[data-testid=case-row][data-case-id='{}']", case.id);
    let row = h.wait_for(&row_css).await;
    let text = row.text().await.unwrap();
    assert!(text.contains(&case.user_name), "{text}");
    assert!(text.contains("lost since"), "{text}");
    h.wait_for("[data-testid=watch-line]").await;
    let before = badge_matches_summary(&h).await;
    assert!(before >= 1, "the badge counts the new case");
    h.assert_accessible("the cases queue").await;

    // The agent takes it: assigned to them, one fewer open unassigned.
    h.click(&format!("{row_css} [data-testid=take-case]")).await;
    h.eventually("the case to be assigned", || async {
        let row = h.browser.find(Locator::Css(&row_css)).await.ok()?;
        let cell = row
            .find(Locator::Css("[data-testid=case-assignee]"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        (!cell.contains("Unassigned")).then_some(())
    })
    .await;
    let taken: CaseDetail = h.get_json(&format!("/api/cases/{}", case.id)).await;
    assert_eq!(
        taken.case.assignee.map(|a| a.email).as_deref(),
        Some(e2e::ADMIN_EMAIL)
    );
    badge_matches_summary(&h).await;

    // On the customer's page: a fresh reconnection link for the device.
    h.click(&format!("{row_css} [data-testid=case-customer]"))
        .await;
    let card_css = format!("[data-testid=device-card][data-device-id='{device_id}']");
    h.wait_for(&format!("{card_css}[data-authenticated=false]"))
        .await;
    h.wait_for("[data-testid=user-cases]").await;
    h.wait_for(&format!("[data-testid=user-cases] {row_css}"))
        .await;
    h.click(&format!("{card_css} [data-testid=new-link]")).await;
    let link = h
        .eventually("a reconnection link", || async {
            let card = h.browser.find(Locator::Css(&card_css)).await.ok()?;
            let href = card
                .find(Locator::Css("[data-testid=reconnection-link]"))
                .await
                .ok()?
                .attr("href")
                .await
                .ok()??;
            href.contains("/connect/").then_some(href)
        })
        .await;

    // The customer opens it and connects.
    h.connect_as_customer(&link).await;

    // The watch sees the device back and resolves the case by itself.
    h.eventually_within("the case to resolve itself", WATCH_DEADLINE, || async {
        let d: CaseDetail = h.get_json(&format!("/api/cases/{}", case.id)).await;
        (d.case.state == CaseState::Resolved).then_some(())
    })
    .await;
    h.open(&format!("/cases/{}", case.id)).await;
    h.wait_for("[data-testid=case-head][data-state=resolved]")
        .await;
    let timeline = h.text("[data-testid=timeline]").await;
    assert!(
        timeline.contains("Opened by the fleet watch: device lost its connection"),
        "{timeline}"
    );
    assert!(timeline.contains("Reconnection link created"), "{timeline}");
    assert!(timeline.contains("Device reconnected after"), "{timeline}");
    h.assert_accessible("a resolved case").await;
    h.finish().await;
}

#[tokio::test]
async fn a_case_opened_by_hand_is_on_the_customers_page_and_in_the_queue() {
    let h = start().await;
    let (user, _kind, _device) = user_with_device(&h, true).await;
    let subject = format!("Tariff question {}", Uuid::new_v4().simple());

    h.open(&format!("/users/{}", user.id)).await;
    h.wait_for("[data-testid=user-cases]").await;
    h.click("[data-testid=open-case]").await;
    h.wait_for("[data-testid=new-case-form]").await;
    h.wait_for("#f-case-kind")
        .await
        .select_by_value("question")
        .await
        .unwrap();
    let comment = "The customer asks whether the night tariff applies.";
    h.wait_for("#f-case-comment")
        .await
        .send_keys(comment)
        .await
        .unwrap();

    // Without a subject: the message next to the field, nothing typed lost.
    h.click("[data-testid=new-case-submit]").await;
    let error = h.text("[data-testid=error-subject]").await;
    assert!(error.contains("subject"), "{error}");
    assert_eq!(
        h.wait_for("#f-case-comment")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some(comment)
    );
    h.wait_for("#f-subject")
        .await
        .send_keys(&subject)
        .await
        .unwrap();
    h.click("[data-testid=new-case-submit]").await;
    h.wait_for("[data-testid=toast-success]").await;

    // In the customer's cases, and from there its page with the comment.
    let link = h
        .eventually("the case in the customer's cases", || async {
            for a in h
                .all("[data-testid=user-cases] [data-testid=case-link]")
                .await
            {
                if a.text().await.ok()? == subject {
                    return Some(a);
                }
            }
            None
        })
        .await;
    link.click().await.unwrap();
    assert_eq!(h.text("[data-testid=case-subject]").await, subject);
    let timeline = h.text("[data-testid=timeline]").await;
    assert!(timeline.contains("Opened the case"), "{timeline}");
    assert!(timeline.contains(comment), "{timeline}");

    // Another comment; an empty one is refused in place.
    h.click("[data-testid=comment-submit]").await;
    h.wait_for("[data-testid=error-comment]:not([hidden])")
        .await;
    let second = "Called back: yes, from 22:00.";
    h.wait_for("#case-comment")
        .await
        .send_keys(second)
        .await
        .unwrap();
    h.click("[data-testid=comment-submit]").await;
    h.eventually("the second comment in the timeline", || async {
        let t = h
            .browser
            .find(Locator::Css("[data-testid=timeline]"))
            .await
            .ok()?;
        t.text().await.ok()?.contains(second).then_some(())
    })
    .await;
    h.assert_accessible("a case with comments").await;

    // In the queue: open, unassigned, with the customer.
    h.open("/cases?kind=question").await;
    let row = h
        .eventually("the case in the queue", || async {
            for r in h.all("[data-testid=case-row]").await {
                if r.text().await.ok()?.contains(&subject) {
                    return Some(r);
                }
            }
            None
        })
        .await;
    let text = row.text().await.unwrap();
    assert!(text.contains(&user.display_name()), "{text}");
    assert_eq!(
        row.attr("data-state").await.unwrap().as_deref(),
        Some("open")
    );

    // At 360 px the queue still fits the screen (its table scrolls).
    h.browser.set_window_size(360, 800).await.unwrap();
    h.wait_for("[data-testid=case-row]").await;
    h.assert_fits_window("the cases queue at 360 px").await;
    h.browser.set_window_size(1280, 900).await.unwrap();

    // A viewer reads the queue and the case, with nothing to change.
    let (viewer, _client) = h.colleague("viewer").await;
    let case_path = row
        .find(Locator::Css("[data-testid=case-link]"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    h.sign_out().await;
    h.sign_in(&viewer, e2e::COLLEAGUE_PASSWORD).await;
    h.open("/cases?kind=question").await;
    h.wait_for("[data-testid=case-row]").await;
    assert!(h.all("[data-testid=take-case]").await.is_empty());
    h.open(&case_path).await;
    assert_eq!(h.text("[data-testid=case-subject]").await, subject);
    h.wait_for("[data-testid=timeline]").await;
    assert!(h.all("[data-testid=case-state-select]").await.is_empty());
    assert!(h.all("[data-testid=comment-form]").await.is_empty());
    h.finish().await;
}

/// A refused "Open case" puts the focus on the first wrong field in the
/// order of the form (Kind, then Subject), not on the button; the queue's
/// search (found by its visible label) finds the case by a word of its
/// subject, keeps the search in the address, and reload restores it.
#[tokio::test]
async fn the_queue_search_finds_a_case_by_a_word_of_its_subject() {
    let h = Harness::start().await;
    let (user, _kind, _device) = user_with_device(&h, false).await;
    let word = format!("quokka{}", &Uuid::new_v4().simple().to_string()[..8]);
    let subject = format!("Heat pump {word} hums at night");

    h.open(&format!("/users/{}", user.id)).await;
    h.wait_for("[data-testid=user-cases]").await;
    h.click("[data-testid=open-case]").await;
    h.wait_for("[data-testid=new-case-form]").await;
    // Nothing chosen or typed: Kind and Subject are wrong, Kind comes first.
    h.click("[data-testid=new-case-submit]").await;
    h.wait_for("[data-testid=error-kind]:not([hidden])").await;
    h.eventually("the focus on Kind", || async {
        (h.focused_id().await == "f-case-kind").then_some(())
    })
    .await;
    h.by_label("What is it about? *")
        .await
        .select_by_value("question")
        .await
        .unwrap();
    h.click("[data-testid=new-case-submit]").await;
    h.eventually("the focus on Subject", || async {
        (h.focused_id().await == "f-subject").then_some(())
    })
    .await;
    // The focused field takes the typing.
    h.type_at_focus(&subject).await;
    h.click("[data-testid=new-case-submit]").await;
    h.wait_for("[data-testid=toast-success]").await;

    // Another case, without the word.
    let r = h
        .http
        .post(h.url("/api/cases"))
        .json(&serde_json::json!({
            "user_id": user.id, "kind": "question", "subject": "Wallbox charges slowly"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "the other case");

    // The queue: type the word into the box labelled "Search cases".
    h.open("/cases").await;
    h.eventually("both cases in the queue", || async {
        (h.all("[data-testid=case-row]").await.len() == 2).then_some(())
    })
    .await;
    let search = h.by_label("Search cases").await;
    search.send_keys(&word.to_uppercase()).await.unwrap();
    let only = || async {
        let rows = h.all("[data-testid=case-row]").await;
        if rows.len() != 1 {
            return None;
        }
        let text = rows[0].text().await.ok()?;
        text.contains(&subject).then_some(())
    };
    h.eventually("only the case with the word in the queue", only)
        .await;
    let address = h.path_and_query().await;
    assert!(
        address.contains(&format!("q={}", word.to_uppercase())),
        "the search in the address: {address}"
    );
    // Reload: the search is still there, and so is the one case.
    h.browser.refresh().await.unwrap();
    h.eventually("the search restored after reload", || async {
        let value = h
            .wait_for("[data-testid=cases-search]")
            .await
            .prop("value")
            .await
            .ok()??;
        (value == word.to_uppercase()).then_some(())
    })
    .await;
    h.eventually("only the case with the word after reload", only)
        .await;
    h.assert_accessible("the cases queue with a search").await;
    h.finish().await;
}

/// With the keyboard only: "Open a case" puts the focus on the form's
/// first field, Escape closes the form and gives it back to the button,
/// and so does saving with Enter; on the case, changing the state or the
/// priority with the arrow keys keeps the focus on that control while
/// the answer comes in, "Take it" hands it to the assignee (the
/// controls used to be built anew on each change, the focus fell to the
/// page's start), and "Add comment" gives it back to the comment box.
#[tokio::test]
async fn the_focus_stays_where_a_keyboard_user_works_on_cases() {
    let h = Harness::start().await;
    let (user, _kind, _device) = user_with_device(&h, true).await;
    let focus_on = |testid: &'static str| {
        let h = &h;
        async move {
            h.eventually(&format!("the focus on {testid}"), || async {
                (h.focused_testid().await == testid).then_some(())
            })
            .await
        }
    };

    h.open(&format!("/users/{}", user.id)).await;
    h.wait_for("[data-testid=user-cases]").await;
    h.click("[data-testid=open-case]").await;
    focus_on("field-kind").await;
    h.type_at_focus(&Key::Escape.to_string()).await;
    focus_on("open-case").await;
    assert!(h.all("[data-testid=new-case-form]").await.is_empty());

    h.click("[data-testid=open-case]").await;
    focus_on("field-kind").await;
    h.by_label("What is it about? *")
        .await
        .select_by_value("question")
        .await
        .unwrap();
    let subject = h.type_into("subject", "Boiler makes noise").await;
    subject.send_keys(&Key::Enter.to_string()).await.unwrap();
    h.wait_for("[data-testid=toast-success]").await;
    focus_on("open-case").await;

    let list: shared::cases::CaseList =
        h.get_json(&format!("/api/cases?user_id={}", user.id)).await;
    let id = list.cases[0].id;
    h.open(&format!("/cases/{id}")).await;
    let changed = |check: fn(&CaseDetail) -> bool| {
        let h = &h;
        async move {
            h.eventually("the change saved", || async {
                let d: CaseDetail = h.get_json(&format!("/api/cases/{id}")).await;
                check(&d).then_some(())
            })
            .await
        }
    };
    // Open → Waiting on customer with the down arrow.
    h.by_label("State")
        .await
        .send_keys(&Key::Down.to_string())
        .await
        .unwrap();
    changed(|d| d.case.state == CaseState::WaitingOnCustomer).await;
    h.wait_for("[data-testid=case-head][data-state=waiting_on_customer]")
        .await;
    focus_on("case-state-select").await;
    // Normal → High.
    h.by_label("Priority")
        .await
        .send_keys(&Key::Down.to_string())
        .await
        .unwrap();
    changed(|d| d.case.priority == shared::cases::Priority::High).await;
    h.wait_for("[data-testid=toast-success]").await;
    focus_on("case-priority-select").await;
    // Take it: the button goes, the assignee names the agent.
    h.click("[data-testid=take-it]").await;
    changed(|d| d.case.assignee.is_some()).await;
    h.eventually("the button gone", || async {
        h.all("[data-testid=take-it]")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    focus_on("case-assignee-select").await;
    // A comment sent from its button: the focus goes back to the box.
    h.by_label("Comment")
        .await
        .send_keys("Called the customer back.")
        .await
        .unwrap();
    h.click("[data-testid=comment-submit]").await;
    h.eventually("the comment in the timeline", || async {
        h.text("[data-testid=timeline]")
            .await
            .contains("Called the customer back.")
            .then_some(())
    })
    .await;
    focus_on("field-comment").await;
    h.finish().await;
}

/// The admins' delivery log shows what became of each webhook message,
/// here taken by a real local receiver.
#[tokio::test]
async fn the_webhook_delivery_log_shows_each_message() {
    let received = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let h = Harness::start_with(move |c| {
        c.webhook = Some(gateway::configuration::WebhookConfig {
            url,
            secret: gateway::Secret::new("e2e-webhook-signing-key"),
        })
    })
    .await;
    let (user, _kind, _device) = user_with_device(&h, true).await;
    let r = h
        .http
        .post(h.url("/api/cases"))
        .json(&serde_json::json!({"user_id": user.id, "kind": "complaint", "subject": "Bill too high"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let case: CaseDetail = r.json().await.unwrap();
    h.eventually("the receiver to get the message", || async {
        (received.load(std::sync::atomic::Ordering::SeqCst) >= 1).then_some(())
    })
    .await;
    h.eventually("the delivery to be recorded as delivered", || async {
        let log: Vec<shared::cases::WebhookDelivery> = h.get_json("/api/webhooks/deliveries").await;
        log.iter()
            .any(|d| {
                d.case_id == case.case.id
                    && d.state == shared::cases::WebhookDeliveryState::Delivered
            })
            .then_some(())
    })
    .await;

    // From the audit trail to the log: delivered, first attempt, 204.
    h.open("/audit").await;
    h.click("[data-testid=webhooks-link]").await;
    let row_css = format!(
        "[data-testid=delivery-row][data-case-id='{}']",
        case.case.id
    );
    let row = h
        .wait_for(&format!("{row_css}[data-state=delivered]"))
        .await;
    let text = row.text().await.unwrap();
    assert!(text.contains("case.opened"), "{text}");
    assert!(text.contains("Delivered"), "{text}");
    assert!(text.contains("204"), "{text}");
    h.assert_accessible("the webhook delivery log").await;
    row.find(Locator::Css("a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(h.text("[data-testid=case-subject]").await, "Bill too high");
    h.finish().await;
}
