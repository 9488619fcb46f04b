//! Team administration in a real browser: colleagues listed from the
//! back-office accounts, a Podero staff member without access given it
//! with one click, invite one (a duplicate refused next to the
//! field) and see the one-time password once, the colleague's first
//! sign-in forces a new password, then change their role (Podero follows),
//! end their sessions, and remove them after a confirmation that says it
//! cannot be undone. An admin gives a colleague a new one-time password
//! (their old one and their sessions stop working; the new one is shown
//! once) and the colleague's next sign-in goes to the forced change. The
//! team page and the audit trail fit a 375 px window (tables scroll in
//! their frames, the page does not).

use e2e::{session_client, Harness, ADMIN_EMAIL, ADMIN_PASSWORD, COLLEAGUE_PASSWORD};
use fantoccini::Locator;
use shared::{Role, User};

const CLARA: &str = "clara.kern@stadtwerke-demo.at";

async fn row_attr(h: &Harness, email: &str, attr: &str) -> Option<String> {
    let row = h
        .browser
        .find(Locator::Css(&format!(
            "[data-testid=team-row][data-email='{email}']"
        )))
        .await
        .ok()?;
    row.attr(attr).await.ok()?
}

async fn podero_user(h: &Harness, email: &str) -> Option<User> {
    let all: Vec<User> = h.api("/users?include_deleted=true").await;
    all.into_iter().find(|u| u.email == email)
}

#[tokio::test]
async fn invite_first_sign_in_role_sessions_and_remove() {
    let h = Harness::start().await;
    h.open("/team").await;
    h.wait_for(&format!(
        "[data-testid=team-row][data-email='{ADMIN_EMAIL}'] [data-testid=own-account]"
    ))
    .await;

    // Podero's own admins and staff without access are listed; "Give
    // access" fills the invitation (nothing is sent until Invite).
    let users: Vec<User> = h.api("/users").await;
    let seeded = users
        .iter()
        .find(|u| u.role == Role::Staff && u.first_name.is_some())
        .expect("the seed has staff");
    let podero_row = format!(
        "[data-testid=podero-only-row][data-user-id='{}']",
        seeded.id
    );
    h.click(&format!("{podero_row} [data-testid=give-access]"))
        .await;
    let filled = h
        .wait_for("[data-testid=invite-form] [data-testid=field-email]")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(filled.as_deref(), Some(seeded.email.as_str()));
    assert_eq!(
        h.wait_for("#invite-role")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("staff")
    );
    h.click("[data-testid=invite-submit]").await;
    h.text("[data-testid=one-time-password]").await;
    h.eventually("the seeded colleague moved to the team", || async {
        let in_team = row_attr(&h, &seeded.email, "data-role").await.is_some();
        let still_listed = !h.all(&podero_row).await.is_empty();
        (in_team && !still_listed).then_some(())
    })
    .await;
    h.click("[data-testid=invite-result-close]").await;
    for field in ["email", "first_name", "last_name"] {
        let el = h
            .wait_for(&format!(
                "[data-testid=invite-form] [data-testid=field-{field}]"
            ))
            .await;
        el.clear().await.unwrap();
    }

    // A duplicate e-mail is refused next to the field; typed values stay.
    let form = "[data-testid=invite-form]";
    let email = h
        .wait_for(&format!("{form} [data-testid=field-email]"))
        .await;
    email.send_keys(ADMIN_EMAIL).await.unwrap();
    h.wait_for(&format!("{form} [data-testid=field-first_name]"))
        .await
        .send_keys("Clara")
        .await
        .unwrap();
    h.wait_for(&format!("{form} [data-testid=field-last_name]"))
        .await
        .send_keys("Kern")
        .await
        .unwrap();
    h.click("[data-testid=invite-submit]").await;
    h.eventually("the duplicate message", || async {
        let text = h
            .wait_for(&format!("{form} [data-testid=error-email]"))
            .await
            .text()
            .await
            .ok()?;
        text.contains("already").then_some(())
    })
    .await;
    let first = h
        .wait_for(&format!("{form} [data-testid=field-first_name]"))
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(first.as_deref(), Some("Clara"), "typed values stay");

    // Invite with a new address, as staff: the one-time password, once.
    email.clear().await.unwrap();
    email.send_keys(CLARA).await.unwrap();
    h.wait_for("#invite-role")
        .await
        .select_by_value("staff")
        .await
        .unwrap();
    h.click("[data-testid=invite-submit]").await;
    let otp = h.text("[data-testid=one-time-password]").await;
    assert!(otp.len() >= 20, "{otp}");
    h.eventually("the new colleague in the list", || async {
        (row_attr(&h, CLARA, "data-role").await.as_deref() == Some("staff")).then_some(())
    })
    .await;
    let member = podero_user(&h, CLARA).await.expect("a Podero team member");
    assert_eq!(member.role, Role::Staff);

    // Her first sign-in: only the password change, then the app.
    h.sign_out().await;
    h.submit_sign_in(CLARA, &otp).await;
    h.wait_for("#current-password")
        .await
        .send_keys(&otp)
        .await
        .unwrap();
    h.wait_for("#new-password")
        .await
        .send_keys("short")
        .await
        .unwrap();
    h.wait_for("#new-password-again")
        .await
        .send_keys("short")
        .await
        .unwrap();
    h.click("[data-testid=password-submit]").await;
    let msg = h.text("[data-testid=error-new_password]").await;
    assert!(msg.contains("12"), "{msg}");
    let new = h.wait_for("#new-password").await;
    new.clear().await.unwrap();
    new.send_keys("clara's own long password").await.unwrap();
    let again = h.wait_for("#new-password-again").await;
    again.clear().await.unwrap();
    again.send_keys("clara's own long password").await.unwrap();
    h.submit_password_change().await;
    let role = h.text("[data-testid=account-role]").await;
    assert_eq!(role, "Staff");
    assert!(
        h.all("a[href='/team']").await.is_empty(),
        "staff see no team link"
    );
    h.sign_out().await;
    h.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // Make her an admin: the Podero team member follows.
    h.open("/team").await;
    let row = format!("[data-testid=team-row][data-email='{CLARA}']");
    h.wait_for(&format!("{row} [data-testid=role-select]"))
        .await
        .select_by_value("admin")
        .await
        .unwrap();
    h.click(&format!("{row} [data-testid=save-role]")).await;
    h.eventually("the row to say admin", || async {
        (row_attr(&h, CLARA, "data-role").await.as_deref() == Some("admin")).then_some(())
    })
    .await;
    h.eventually("Podero to say admin", || async {
        (podero_user(&h, CLARA).await?.role == Role::Admin).then_some(())
    })
    .await;

    // End her sessions: her open session stops working.
    let clara = session_client(
        &h.gateway.base_url,
        CLARA,
        "clara's own long password",
        None,
    )
    .await;
    assert!(clara
        .get(h.url("/api/session"))
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
    h.open("/team").await;
    h.click(&format!("{row} [data-testid=end-sessions]")).await;
    h.click("[data-testid=confirm-ok]").await;
    h.wait_for("[data-testid=toast-success]").await;
    assert_eq!(
        clara
            .get(h.url("/api/session"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // Dismiss the toast (it sits over the row's buttons at this width).
    h.click("[data-testid=toast-success] button[aria-label=Dismiss]")
        .await;
    h.eventually("the toast gone", || async {
        h.all("[data-testid=toast-success]")
            .await
            .is_empty()
            .then_some(())
    })
    .await;

    // Remove her: the confirmation says it cannot be undone.
    h.click(&format!("{row} [data-testid=remove-member]")).await;
    let msg = h.text("[data-testid=confirm-message]").await;
    assert!(msg.contains("cannot be undone"), "{msg}");
    assert!(msg.contains("Clara Kern") || msg.contains(CLARA), "{msg}");
    h.click("[data-testid=confirm-ok]").await;
    h.eventually("the row to disappear", || async {
        row_attr(&h, CLARA, "data-role")
            .await
            .is_none()
            .then_some(())
    })
    .await;
    let gone = podero_user(&h, CLARA)
        .await
        .expect("still in Podero, archived");
    assert!(gone.deleted_at.is_some());
    h.finish().await;
}

#[tokio::test]
async fn a_new_one_time_password_for_a_colleague() {
    let h = Harness::start().await;
    let (email, colleague) = h.colleague("staff").await;
    h.open("/team").await;
    let row = format!("[data-testid=team-row][data-email='{email}']");
    h.wait_for(&format!("{row} [data-testid=new-one-time-password]"))
        .await;
    assert!(
        h.all(&format!(
            "[data-testid=team-row][data-email='{ADMIN_EMAIL}'] [data-testid=new-one-time-password]"
        ))
        .await
        .is_empty(),
        "not offered for one's own account"
    );
    assert!(h
        .all(&format!("{row} [data-testid=must-change-password]"))
        .await
        .is_empty());

    // The confirmation says what happens to the colleague.
    h.click(&format!("{row} [data-testid=new-one-time-password]"))
        .await;
    let msg = h.text("[data-testid=confirm-message]").await;
    assert!(msg.contains(&email), "{msg}");
    assert!(msg.contains("stops working"), "{msg}");
    assert!(msg.contains("signed out"), "{msg}");
    h.click("[data-testid=confirm-ok]").await;

    // The new password, once; the row says it must be changed, and until when.
    let result = "[data-testid=new-one-time-password-result]";
    let otp = h
        .text(&format!("{result} [data-testid=one-time-password]"))
        .await;
    assert!(otp.len() >= 20, "{otp}");
    h.wait_for(&format!("{row} [data-testid=must-change-password]"))
        .await;
    let until = h
        .text(&format!("{row} [data-testid=otp-valid-until]"))
        .await;
    assert!(
        until.starts_with("One-time password valid until"),
        "{until}"
    );

    // Their open session has ended, and their password no longer works.
    let status = colleague
        .get(h.url("/api/session"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    let old = reqwest::Client::new()
        .post(h.url("/api/session"))
        .header(shared::staff::CSRF_HEADER, "sign-in")
        .json(&serde_json::json!({"email": email, "password": COLLEAGUE_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401, "the previous password is refused");

    // Done: the password is not shown again.
    h.click(&format!("{result} [data-testid=invite-result-close]"))
        .await;
    h.eventually("the password hidden", || async {
        h.all(result).await.is_empty().then_some(())
    })
    .await;

    // The colleague signs in with it: only the password change, then the app.
    h.sign_out().await;
    h.submit_sign_in(&email, &otp).await;
    h.wait_for("[data-testid=password-required]").await;
    h.wait_for("#current-password")
        .await
        .send_keys(&otp)
        .await
        .unwrap();
    for field in ["#new-password", "#new-password-again"] {
        h.wait_for(field)
            .await
            .send_keys("a fresh password of their own")
            .await
            .unwrap();
    }
    h.submit_password_change().await;
    assert_eq!(h.text("[data-testid=account-role]").await, "Staff");
    h.finish().await;
}

/// At 375 px the members table scrolls inside its frame: the hidden labels
/// of its role selects used to stick out of it and widen the whole page.
/// The audit trail's action filter (long option texts) shrinks to fit.
/// And "Save role" names the colleague, as the row's other buttons do.
#[tokio::test]
async fn the_team_and_audit_pages_fit_a_phone_window() {
    let h = Harness::start().await;
    let (email, _client) = h.colleague("staff").await;
    h.browser.set_window_size(375, 800).await.unwrap();
    h.open("/team").await;
    h.eventually("the colleague's role select", || async {
        row_attr(&h, &email, "data-email").await
    })
    .await;
    h.wait_for("tr select").await;
    h.assert_fits_window("the team page at 375 px").await;
    // Each row's "Save role" says whose role it saves, like the row's
    // other buttons (a screen reader lists them all out of their rows).
    let save = h
        .wait_for(&format!(
            "[data-testid=team-row][data-email='{email}'] [data-testid=save-role]"
        ))
        .await;
    assert_eq!(
        save.attr("aria-label").await.unwrap().as_deref(),
        Some("Save role of E2e staff")
    );
    h.open("/audit").await;
    h.wait_for("[data-testid=audit-table]").await;
    h.assert_fits_window("the audit trail at 375 px").await;
    h.finish().await;
}
