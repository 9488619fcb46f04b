//! Screenshots of every page at a laptop and a wide screen, for looking at
//! the app without clicking through it:
//! `cargo run -p e2e --example screenshots` (after `cargo xtask frontend`);
//! the PNGs go to `target/screenshots/`.

use e2e::Harness;

#[tokio::main]
async fn main() {
    // The fleet watch on, so the cases pages have the cases it opens.
    let h = Harness::start_with(|c| c.watch_rps = 1000.0).await;
    let users: Vec<shared::User> = h.api("/users").await;
    let (lost_user, _, _) = e2e::user_with_lost_device(&h).await;
    let case = h
        .eventually_within(
            "the fleet watch to open a case",
            std::time::Duration::from_secs(60),
            || async {
                let list: shared::cases::CaseList = h
                    .http
                    .get(h.url("/api/cases"))
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                list.cases.into_iter().next()
            },
        )
        .await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let pages = [
        ("users", "/".to_string(), "[data-testid=users-table]"),
        (
            "users-filtered",
            "/?device=heat-pumps&sort=town&dir=desc".to_string(),
            "[data-testid=users-table]",
        ),
        (
            "user",
            format!("/users/{}", lost_user.id),
            "[data-testid=device-card]",
        ),
        (
            "new-user",
            "/users/new".to_string(),
            "[data-testid=create-user-form]",
        ),
        (
            "edit-user",
            format!("/users/{}/edit", users[20].id),
            "[data-testid=edit-user-form]",
        ),
        ("team", "/team".to_string(), "[data-testid=podero-only]"),
        ("audit", "/audit".to_string(), "[data-testid=audit-table]"),
        (
            "reconnection",
            "/reconnection".to_string(),
            "[data-testid=lost-table]",
        ),
        ("cases", "/cases".to_string(), "[data-testid=cases-table]"),
        (
            "case",
            format!("/cases/{}", case.id),
            "[data-testid=timeline]",
        ),
        (
            "webhooks",
            "/webhooks".to_string(),
            "[data-testid=webhooks-reload]",
        ),
        (
            "outbox",
            "/outbox".to_string(),
            "[data-testid=outbox-reload]",
        ),
    ];
    for (w, hgt) in [(1024u32, 768u32), (1600, 1000)] {
        h.browser.set_window_size(w, hgt).await.unwrap();
        for (name, path, ready) in &pages {
            h.open(path).await;
            h.wait_for(ready).await;
            let png = h.browser.screenshot().await.unwrap();
            let file = dir.join(format!("{name}-{w}.png"));
            std::fs::write(&file, png).unwrap();
            println!("{}", file.display());
        }
    }
    // Signed out: the sign-in page.
    h.sign_out().await;
    for (w, hgt) in [(1024u32, 768u32), (1600, 1000)] {
        h.browser.set_window_size(w, hgt).await.unwrap();
        let file = dir.join(format!("sign-in-{w}.png"));
        std::fs::write(&file, h.browser.screenshot().await.unwrap()).unwrap();
        println!("{}", file.display());
    }
    h.finish().await;
}
