//! Staff sign-in, roles and the audit trail in a real browser: sign in,
//! see the app, sign out (and come back to the page that was asked for); a
//! viewer sees no edit controls and the gateway refuses the call anyway;
//! an admin finds a colleague's change in the audit trail and on the
//! user's page.

use e2e::{Harness, ADMIN_EMAIL, ADMIN_PASSWORD, COLLEAGUE_PASSWORD};
use shared::User;

#[tokio::test]
async fn sign_in_see_the_app_and_sign_out() {
    let h = Harness::start().await;
    // The harness signed in through the page: the app and who is in it.
    h.open("/").await;
    assert_eq!(h.text("[data-testid=account-role]").await, "Admin");
    // ...running under the gateway's policy: its own scripts, WebAssembly
    // and Trunk's inline start-up script by hash, nothing else.
    let r = h.http.get(h.url("/")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    for part in [
        "script-src 'self' 'wasm-unsafe-eval' 'sha256-",
        "style-src 'self';",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    h.wait_for("a[href='/audit']").await;
    h.sign_out().await;

    // Signed out, any address shows the sign-in page and remembers it.
    h.open("/reconnection").await;
    h.wait_for("#sign-in-email").await;
    h.eventually("next= in the address", || async {
        h.path_and_query()
            .await
            .contains("next=%2Freconnection")
            .then_some(())
    })
    .await;
    // A wrong password is explained; the e-mail stays.
    h.submit_sign_in(ADMIN_EMAIL, "not the password").await;
    h.eventually("the sign-in error", || async {
        let text = h.text("[data-testid=sign-in-error]").await;
        text.contains("not right").then_some(())
    })
    .await;
    let kept = h
        .wait_for("#sign-in-email")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some(ADMIN_EMAIL));
    // The right one opens the page that was asked for.
    h.submit_sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    h.wait_for("[data-testid=account-name]").await;
    h.eventually("back on the asked-for page", || async {
        (h.path_and_query().await == "/reconnection").then_some(())
    })
    .await;
    h.finish().await;
}

#[tokio::test]
async fn viewer_sees_no_edit_controls_and_the_gateway_refuses_anyway() {
    let h = Harness::start().await;
    let (viewer_email, viewer) = h.colleague("viewer").await;
    let (user, _, _) = e2e::user_with_lost_device(&h).await;
    h.sign_out().await;
    h.sign_in(&viewer_email, COLLEAGUE_PASSWORD).await;
    assert_eq!(h.text("[data-testid=account-role]").await, "Viewer");

    // The list: readable, no "New user"; no team or audit links.
    h.open("/").await;
    h.wait_for("[data-testid=user-row]").await;
    assert!(h.all("[data-testid=new-user]").await.is_empty());
    assert!(h.all("a[href='/team']").await.is_empty());
    assert!(h.all("a[href='/audit']").await.is_empty());
    // The user's page: everything shown, nothing to change.
    h.open(&format!("/users/{}", user.id)).await;
    h.wait_for("[data-testid=user-history]").await;
    h.wait_for("[data-testid=device-card]").await;
    // A lost connection says to ask a colleague instead of offering links.
    h.wait_for("[data-testid=reconnect-read-only]").await;
    for control in [
        "edit-user",
        "archive-user",
        "new-link",
        "copy-link",
        "email-link",
        "verify-connection",
    ] {
        assert!(
            h.all(&format!("[data-testid={control}]")).await.is_empty(),
            "{control} shown to a viewer"
        );
    }
    // Opening the edit form directly says why not.
    h.open(&format!("/users/{}/edit", user.id)).await;
    h.wait_for("[data-testid=read-only]").await;
    // And the gateway refuses the call anyway.
    let r = viewer
        .put(h.api_url(&format!("/users/{}", user.id)))
        .json(&serde_json::json!({"first_name": "Changed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "forbidden");
    let after: User = h.api(&format!("/users/{}", user.id)).await;
    assert_eq!(after.first_name, user.first_name);
    h.finish().await;
}

#[tokio::test]
async fn admin_finds_a_change_in_the_audit_trail() {
    let h = Harness::start().await;
    let (staff_email, staff) = h.colleague("staff").await;
    let user = h.end_user().await;
    let r = staff
        .put(h.api_url(&format!("/users/{}", user.id)))
        .json(&serde_json::json!({"town": "Audithausen"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());

    // The audit page, filtered to the staff member and to changes.
    h.open(&format!("/audit?changes_only=true&actor={staff_email}"))
        .await;
    let row = h
        .eventually("the change in the audit table", || async {
            for row in h.all("[data-testid=audit-row]").await {
                let text = row.text().await.ok()?;
                if text.contains("User changed") && text.contains("Audithausen") {
                    return Some(text);
                }
            }
            None
        })
        .await;
    assert!(row.contains(&staff_email), "{row}");
    // The action and the field by their labels, not their codes.
    assert!(row.contains("Town: "), "{row}");
    assert!(
        !row.contains("user.update") && !row.contains("town:"),
        "{row}"
    );
    // Every row of this filter is the staff member's.
    for actor in h
        .all("[data-testid=audit-row] [data-testid=audit-actor]")
        .await
    {
        assert_eq!(actor.text().await.unwrap(), staff_email);
    }
    let csv = h
        .wait_for("a[data-testid=audit-csv]")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(
        csv.starts_with("/api/audit.csv?") && csv.contains("changes_only=true"),
        "{csv}"
    );

    // The filter form drives the address: the action group.
    h.wait_for("#audit-action")
        .await
        .select_by_value("session")
        .await
        .unwrap();
    h.eventually("action=session in the address", || async {
        h.path_and_query()
            .await
            .contains("action=session")
            .then_some(())
    })
    .await;

    // An exact action from the address is offered with its label.
    h.open("/audit?action=user.update").await;
    let option = h
        .wait_for("#audit-action option[value='user.update']")
        .await;
    assert_eq!(option.text().await.unwrap(), "User changed");
    assert_eq!(
        option.attr("title").await.unwrap().as_deref(),
        Some("user.update")
    );

    // The user's page shows the same change in its history.
    h.open(&format!("/users/{}", user.id)).await;
    let entry = h
        .text("[data-testid=user-history] [data-testid=history-entry]")
        .await;
    assert!(
        entry.contains("User changed") && entry.contains("Town: ") && entry.contains("Audithausen"),
        "{entry}"
    );
    assert!(!entry.contains("user.update"), "{entry}");
    h.finish().await;
}
