//! Team administration keeps the back-office account and the Podero team
//! member together: invite, link an existing Podero colleague, role changes
//! through viewer and back, removal.

use serde_json::{json, Value};

use crate::helpers::spawn_app;

#[tokio::test]
async fn account_and_podero_member_stay_together() {
    let app = spawn_app().await;
    let c = &app.client;
    let team = format!("{}/api/team", app.address);
    let podero = |id: &str| app.api(&format!("/users/{id}?include_deleted=true"));
    let invite = |email: &str, role: &str| {
        c.http.post(&team).json(
            &json!({"email": email, "first_name": "Eva", "last_name": "Berger", "role": role}),
        )
    };

    // A new colleague: Podero user of the same role, one-time password.
    let r = c.send(invite("eva.berger@example.com", "staff")).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let member = r.json()["member"].clone();
    let pid = member["podero_user_id"].as_str().unwrap().to_string();
    let u = c.send(c.get(&podero(&pid))).await.json();
    assert_eq!(
        (u["role"].as_str(), u["email"].as_str()),
        (Some("staff"), Some("eva.berger@example.com"))
    );
    assert_eq!(u["first_name"], "Eva");
    // Taken e-mail: named next to the field.
    let r = c.send(invite("Eva.Berger@example.com", "viewer")).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "conflict".into()));
    assert_eq!(r.json()["detail"][0]["loc"], json!(["body", "email"]));
    // Bad fields: all named at once.
    let r = c
        .send(
            c.http.post(&team).json(
                &json!({"email": "nope", "first_name": "", "last_name": "B", "role": "staff"}),
            ),
        )
        .await;
    assert_eq!(r.status, 422);
    let fields: Vec<Value> = r.json()["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["loc"][1].clone())
        .collect();
    assert_eq!(fields, [json!("email"), json!("first_name")]);

    // To viewer: the Podero team member is archived; back: a new one.
    let id = member["id"].as_str().unwrap();
    let r = c
        .send(
            c.http
                .patch(format!("{team}/{id}"))
                .json(&json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["podero_user_id"].is_null());
    assert!(!c.send(c.get(&podero(&pid))).await.json()["deleted_at"].is_null());
    let r = c
        .send(
            c.http
                .patch(format!("{team}/{id}"))
                .json(&json!({"role": "admin"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let new_pid = r.json()["podero_user_id"].as_str().unwrap().to_string();
    assert_eq!(
        c.send(c.get(&podero(&new_pid))).await.json()["role"],
        "admin"
    );

    // Removal archives the Podero team member and ends the account.
    let r = c.send(c.http.delete(format!("{team}/{id}"))).await;
    assert_eq!(r.status, 204);
    assert!(!c.send(c.get(&podero(&new_pid))).await.json()["deleted_at"].is_null());
    let list = c.send(c.get(&team)).await.json();
    // Answered right after the removal, the list already knows the Podero
    // member is archived (the gateway waited for its read model).
    assert!(
        list["without_access"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["id"] != new_pid.as_str()),
        "{list}"
    );
    assert!(list["members"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["id"] != id));
    app.shutdown().await;
}

#[tokio::test]
async fn existing_podero_colleagues_are_linked_and_customers_refused() {
    let app = spawn_app().await;
    let c = &app.client;
    let team = format!("{}/api/team", app.address);
    let users: Value = c.send(c.get(&app.api("/users"))).await.json();
    let users = users.as_array().unwrap();
    let staff = users
        .iter()
        .find(|u| u["role"] == "staff")
        .expect("the seed has staff");
    let customer = users.iter().find(|u| u["role"] == "user").unwrap();
    let without_access = |list: &Value| -> Vec<Value> {
        list["without_access"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].clone())
            .collect()
    };
    let before = c.send(c.get(&team)).await.json();
    assert!(without_access(&before).contains(&staff["id"]), "{before}");
    assert!(!without_access(&before).contains(&customer["id"]));

    // A seeded Podero staff member gets access, promoted to admin.
    let r = c
        .send(c.http.post(&team).json(&json!({"email": staff["email"], "first_name": "Seeded", "last_name": "Staff", "role": "admin"})))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["member"]["podero_user_id"], staff["id"]);
    let u = c
        .send(c.get(&app.api(&format!("/users/{}", staff["id"].as_str().unwrap()))))
        .await
        .json();
    assert_eq!(u["role"], "admin");
    // The list answered right after the change is current: no polling.
    let after = c.send(c.get(&team)).await.json();
    assert!(!without_access(&after).contains(&staff["id"]), "{after}");
    assert!(after["members"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["podero_user_id"] == staff["id"]));

    // A customer's address is not a colleague's.
    let r = c
        .send(c.http.post(&team).json(&json!({"email": customer["email"], "first_name": "C", "last_name": "U", "role": "staff"})))
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "conflict".into()));
    assert!(
        r.json()["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("end-user"),
        "{}",
        r.text()
    );
    app.shutdown().await;
}

/// Role changes of one colleague sent at the same moment (two admins, or
/// one impatient double click) are made one after the other: afterwards
/// the account and Podero agree. Without that, two changes read the same
/// account and both acted on Podero: a demotion to viewer left an active
/// Podero staff member behind that no account links to, or two promotions
/// from viewer made two Podero team members.
#[tokio::test]
async fn parallel_role_changes_leave_account_and_podero_in_step() {
    let app = spawn_app().await;
    let c = &app.client;
    let team = format!("{}/api/team", app.address);
    for round in 0..3 {
        let email = format!("race-{round}@example.com");
        let r = c
            .send(c.http.post(&team).json(
                &json!({"email": email, "first_name": "Ria", "last_name": "Race", "role": "staff"}),
            ))
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let id = r.json()["member"]["id"].as_str().unwrap().to_string();
        let roles = ["viewer", "staff", "admin", "viewer"];
        let answers = futures::future::join_all((0..24).map(|i| {
            c.send(
                c.http
                    .patch(format!("{team}/{id}"))
                    .json(&json!({"role": roles[i % roles.len()]})),
            )
        }))
        .await;
        for r in &answers {
            assert_eq!(r.status, 200, "{}", r.text());
        }
        let list = c.send(c.get(&team)).await.json();
        let member = list["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id.as_str())
            .unwrap()
            .clone();
        let users = c
            .send(c.get(&app.api("/users?include_deleted=true")))
            .await
            .json();
        let active: Vec<&Value> = users
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["email"] == email.as_str() && u["deleted_at"].is_null())
            .collect();
        if member["role"] == "viewer" {
            assert!(
                active.is_empty(),
                "a viewer, but active in Podero: {active:?}"
            );
            assert!(member["podero_user_id"].is_null(), "{member}");
        } else {
            assert_eq!(active.len(), 1, "{member}: {active:?}");
            assert_eq!(active[0]["id"], member["podero_user_id"], "{member}");
            assert_eq!(active[0]["role"], member["role"], "{member}");
        }
    }
    app.shutdown().await;
}
