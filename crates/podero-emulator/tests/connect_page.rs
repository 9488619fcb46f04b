//! The customer page a reconnection link opens, in the browser's
//! language: German for `de-*`, English otherwise.

use podero_emulator::{spawn, EmulatorConfig};
use reqwest::Client;
use serde_json::{json, Value};

mod common;

/// A running emulator and the reconnection link of a new wallbox of a new
/// customer "Eva Huber".
async fn link() -> (podero_emulator::RunningEmulator, tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EmulatorConfig::new(dir.path());
    config.seed_users = 0;
    let emu = spawn(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = Client::new();
    let token = common::token(&client, &emu.base_url).await;
    let api = format!("{}/api/partners/v2.0/org/{}", emu.base_url, emu.org_id);
    let post = |path: String, body: Value| {
        client
            .post(format!("{api}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let user: Value = post(
        "/users".into(),
        json!({"role": "user", "email": "eva.huber@example.at", "first_name": "Eva", "last_name": "Huber"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let uid = user["id"].as_str().unwrap();
    let device: Value = post(
        format!("/users/{uid}/wallboxes"),
        json!({"device_model": {"manufacturer": "Acme", "model": "One"}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let did = device["id"].as_str().unwrap();
    let session: Value = post(
        format!("/users/{uid}/wallboxes/{did}/auth_session"),
        json!({"success_url": null, "cancel_url": null}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let link = session["authentication_url"].as_str().unwrap().to_string();
    (emu, dir, link)
}

async fn page(url: &str, accept_language: Option<&str>) -> (u16, String) {
    let mut req = Client::new().get(url);
    if let Some(l) = accept_language {
        req = req.header("accept-language", l);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn the_sign_in_page_in_german_for_a_german_browser() {
    let (emu, _dir, link) = link().await;

    let (status, html) = page(&link, Some("de-AT,de;q=0.9,en;q=0.5")).await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"de\">"), "{html}");
    assert!(
        html.contains("<h1>Gerät verbinden: Wallbox Acme One</h1>"),
        "{html}"
    );
    assert!(
        html.contains(
            "Guten Tag Eva Huber, bitte melden Sie sich mit Ihrem Konto beim Hersteller an"
        ),
        "{html}"
    );
    assert!(html.contains("data-testid=\"emulator-connect\">Verbinden</button>"));
    assert!(html.contains(">Abbrechen</button>"));
    assert!(!html.contains("Connect"), "no English left: {html}");

    for accept in [Some("en-US,en;q=0.9"), Some("fr-FR"), None] {
        let (status, html) = page(&link, accept).await;
        assert_eq!(status, 200);
        assert!(html.contains("<html lang=\"en\">"), "{accept:?}: {html}");
        assert!(
            html.contains("<h1>Connect your Wallbox Acme One</h1>"),
            "{html}"
        );
        assert!(html.contains("Hello Eva Huber, sign in to your manufacturer account"));
    }

    // The answer to the customer's choice, and an unknown link, too.
    let done = Client::new()
        .post(&link)
        .header("accept-language", "de")
        .form(&[("action", "connect")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(done.contains("<h1>Gerät verbunden</h1>"), "{done}");
    let (status, html) = page(&link, Some("de")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Dieses Gerät ist bereits verbunden."),
        "{html}"
    );
    let unknown = format!("{}/connect/{}", emu.base_url, uuid::Uuid::nil());
    let (status, html) = page(&unknown, Some("de-DE")).await;
    assert_eq!(status, 404);
    assert!(html.contains("Dieser Zugangslink ist unbekannt."), "{html}");
    emu.shutdown().await;
}
