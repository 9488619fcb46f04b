//! What the emulator's HTTP tests share: an access token for the default
//! client.

use podero_emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
use reqwest::Client;
use serde_json::{json, Value};

/// A bearer token from the emulator at `base` for the default client.
pub async fn token(client: &Client, base: &str) -> String {
    let resp = client
        .post(format!("{base}/oauth2/token/"))
        .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_CLIENT_SECRET))
        .header("Cache-Control", "no-cache")
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}
