//! Tokens expiring or revoked, Podero down, slow, or refusing the gateway.

use std::time::{Duration, Instant};

use crate::helpers::{
    fake_api, spawn_app_with, spawn_fake_upstream, spawn_gateway_for, Checked, Options, TEST_SECRET,
};

#[tokio::test]
async fn one_token_renewal_for_many_concurrent_requests() {
    let app = spawn_app_with(Options {
        token_ttl: Some(Duration::from_secs(2)),
        ..Options::default()
    })
    .await;
    let c = app.client.clone();
    let url = app.api("/users");

    // First burst: everybody waits for the same first token.
    let burst = |n: usize| {
        let c = c.clone();
        let url = url.clone();
        async move {
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    let c = c.clone();
                    let url = url.clone();
                    tokio::spawn(async move { c.send(c.get(&url)).await.status })
                })
                .collect();
            for t in tasks {
                assert_eq!(t.await.unwrap(), 200);
            }
        }
    };
    burst(50).await;
    assert_eq!(app.gateway().token_fetch_count(), 1);

    // Wait until the token is past its renewal point (1.8 s of 2 s), then a
    // burst across the expiry: exactly one more fetch.
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    burst(50).await;
    assert_eq!(
        app.gateway().token_fetch_count(),
        2,
        "after {:?}",
        started.elapsed()
    );

    // Continuous load over several expiries: about one fetch per 1.8 s.
    let until = Instant::now() + Duration::from_millis(4500);
    while Instant::now() < until {
        burst(25).await;
    }
    let n = app.gateway().token_fetch_count();
    assert!((3..=6).contains(&n), "{n} token fetches");
    app.shutdown().await;
}

#[tokio::test]
async fn retries_once_after_401_when_the_emulator_forgot_the_token() {
    let mut app = spawn_app_with(Options::default()).await;
    let url = app.api("/users");
    let r = app.client.send(app.client.get(&url)).await;
    assert_eq!(r.status, 200);
    assert_eq!(app.gateway().token_fetch_count(), 1);

    app.restart_emulator().await;
    // The old token is unknown to the new emulator: 401 → renew → retry,
    // invisible to the browser.
    let r = app.client.send(app.client.get(&url)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(app.gateway().token_fetch_count(), 2);
    app.shutdown().await;
}

#[tokio::test]
async fn retries_once_after_401_with_a_new_token() {
    let fake = spawn_fake_upstream(false).await;
    let gateway = spawn_gateway_for(&fake.base_url, Duration::from_secs(5)).await;
    let c = Checked::admin(
        &gateway.base_url,
        vec!["fake-token-".into(), TEST_SECRET.into()],
    )
    .await;
    assert_eq!(
        c.send(c.get(&fake_api(&gateway, "/users"))).await.status,
        200
    );
    fake.revoked
        .lock()
        .unwrap()
        .push("fake-token-1-9d2e".into());

    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let c = c.clone();
            let url = fake_api(&gateway, "/users");
            tokio::spawn(async move { c.send(c.get(&url)).await.status })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    // One renewal for all the 401s.
    assert_eq!(*fake.token_requests.lock().unwrap(), 2);
    assert_eq!(gateway.token_fetch_count(), 2);

    // A token rejected again right after renewal: no loop, a clear 502.
    fake.revoked
        .lock()
        .unwrap()
        .push("fake-token-2-9d2e".into());
    fake.revoked
        .lock()
        .unwrap()
        .push("fake-token-3-9d2e".into());
    let r = c.send(c.get(&fake_api(&gateway, "/users"))).await;
    assert_eq!(r.status, 502);
    assert_eq!(r.code(), "upstream_bad_response");
    assert_eq!(*fake.token_requests.lock().unwrap(), 3);
    gateway.shutdown().await;
}

#[tokio::test]
async fn rejected_client_credentials_give_a_clear_502() {
    let fake = spawn_fake_upstream(true).await;
    let gateway = spawn_gateway_for(&fake.base_url, Duration::from_secs(5)).await;
    let c = Checked::admin(
        &gateway.base_url,
        vec![TEST_SECRET.into(), "test-client".into()],
    )
    .await;
    let r = c.send(c.get(&fake_api(&gateway, "/users"))).await;
    assert_eq!(r.status, 502);
    assert_eq!(r.code(), "upstream_auth_failed");
    let detail = r.json()["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("client credentials"), "{detail}");
    assert!(
        detail.contains("PODERO_CLIENT_ID") && detail.contains("PODERO_CLIENT_SECRET"),
        "{detail}"
    );
    assert!(
        fake.seen.lock().unwrap().is_empty(),
        "no API call without a token"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn podero_down_gives_502_naming_the_cause() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let base = format!("http://{closed}");
    let gateway = spawn_gateway_for(&base, Duration::from_secs(5)).await;
    let c = Checked::admin(
        &gateway.base_url,
        vec![TEST_SECRET.into(), "test-client".into()],
    )
    .await;
    let r = c.send(c.get(&fake_api(&gateway, "/users"))).await;
    assert_eq!(r.status, 502);
    assert_eq!(r.code(), "upstream_unreachable");
    let detail = r.json()["detail"].as_str().unwrap().to_lowercase();
    assert!(detail.contains(&base), "{detail}");
    assert!(detail.contains("refused"), "{detail}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn slow_podero_gives_504_within_the_deadline() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let gateway = spawn_gateway_for(&format!("http://{addr}"), Duration::from_secs(1)).await;
    let c = Checked::admin(&gateway.base_url, vec![TEST_SECRET.into()]).await;
    let started = Instant::now();
    let r = c.send(c.get(&fake_api(&gateway, "/users"))).await;
    let took = started.elapsed();
    assert_eq!(r.status, 504, "{}", r.text());
    assert_eq!(r.code(), "upstream_timeout");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "{took:?}"
    );
    gateway.shutdown().await;
}
