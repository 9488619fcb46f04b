//! Team administration in a real browser: the admins and staff listed,
//! invite a colleague (and a refused duplicate), change their role, remove
//! them after a confirmation that says it cannot be undone.

use e2e::Harness;
use fantoccini::Locator;
use shared::{Role, User};

async fn row_role(h: &Harness, id: uuid::Uuid) -> Option<String> {
    let row = h
        .browser
        .find(Locator::Css(&format!(
            "[data-testid=team-row][data-user-id='{id}']"
        )))
        .await
        .ok()?;
    row.attr("data-role").await.ok()?
}

#[tokio::test]
async fn invite_change_role_and_remove() {
    let h = Harness::start().await;
    let users: Vec<User> = h.api("/users").await;
    let team: Vec<&User> = users.iter().filter(|u| u.role.is_team()).collect();
    assert!(!team.is_empty(), "the seed has admins and staff");
    h.open("/team").await;
    h.eventually("every team member listed", || async {
        (h.all("[data-testid=team-row]").await.len() == team.len()).then_some(())
    })
    .await;
    for m in &team {
        assert_eq!(row_role(&h, m.id).await.as_deref(), Some(m.role.as_str()));
    }

    // A duplicate e-mail is refused next to the field.
    let form = "[data-testid=invite-form]";
    let email = h
        .wait_for(&format!("{form} [data-testid=field-email]"))
        .await;
    email.send_keys(&team[0].email).await.unwrap();
    h.wait_for(&format!("{form} [data-testid=field-first_name]"))
        .await
        .send_keys("Clara")
        .await
        .unwrap();
    h.wait_for("[data-testid=invite-submit]")
        .await
        .click()
        .await
        .unwrap();
    h.eventually("the duplicate message", || async {
        let el = h
            .wait_for(&format!("{form} [data-testid=error-email]"))
            .await;
        let text = el.text().await.ok()?;
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

    // Invite with a new address, as staff.
    email.clear().await.unwrap();
    email
        .send_keys("clara.kern@stadtwerke-demo.at")
        .await
        .unwrap();
    h.wait_for("[data-testid=invite-submit]")
        .await
        .click()
        .await
        .unwrap();
    let id = h
        .eventually("the new colleague in the list", || async {
            let all: Vec<User> = h.api("/users").await;
            let u = all
                .into_iter()
                .find(|u| u.email == "clara.kern@stadtwerke-demo.at")?;
            (row_role(&h, u.id).await.as_deref() == Some("staff")).then_some(u.id)
        })
        .await;
    h.wait_for("[data-testid=toast-success]").await;

    // Make her an admin.
    let row = format!("[data-testid=team-row][data-user-id='{id}']");
    h.wait_for(&format!("{row} [data-testid=role-select]"))
        .await
        .select_by_value("admin")
        .await
        .unwrap();
    h.wait_for(&format!("{row} [data-testid=save-role]"))
        .await
        .click()
        .await
        .unwrap();
    h.eventually("the row to say admin", || async {
        (row_role(&h, id).await.as_deref() == Some("admin")).then_some(())
    })
    .await;
    let u: User = h.api(&format!("/users/{id}")).await;
    assert_eq!(u.role, Role::Admin);

    // Remove her: the confirmation says it cannot be undone.
    h.wait_for(&format!("{row} [data-testid=remove-member]"))
        .await
        .click()
        .await
        .unwrap();
    let msg = h.text("[data-testid=confirm-message]").await;
    assert!(msg.contains("cannot be undone"), "{msg}");
    assert!(msg.contains("clara.kern@stadtwerke-demo.at"), "{msg}");
    h.wait_for("[data-testid=confirm-ok]")
        .await
        .click()
        .await
        .unwrap();
    h.eventually("the row to disappear", || async {
        row_role(&h, id).await.is_none().then_some(())
    })
    .await;
    let gone: User = h.api(&format!("/users/{id}?include_deleted=true")).await;
    assert!(gone.deleted_at.is_some());
    h.finish().await;
}
