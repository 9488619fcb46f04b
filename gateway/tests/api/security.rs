//! What must not get through: other organisations, path tricks, routes off
//! the allow-list, browser credentials and hop-by-hop headers, big bodies.

use crate::helpers::{
    fake_api, raw_request, spawn_app, spawn_fake_upstream, spawn_gateway_for, Checked,
};
use std::time::Duration;

#[tokio::test]
async fn other_organisations_are_forbidden() {
    let app = spawn_app().await;
    let c = &app.client;
    let other = uuid::Uuid::new_v4();
    let url = format!("{}/api/partners/v2.0/org/{other}/users", app.address);
    let r = c.send(c.get(&url)).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.code(), "org_forbidden");
    let r = c
        .send(
            c.http
                .post(&url)
                .json(&serde_json::json!({"role": "user", "email": "x@example.com"})),
        )
        .await;
    assert_eq!(r.status, 403);
    app.shutdown().await;
}

#[tokio::test]
async fn path_tricks_are_refused() {
    let app = spawn_app().await;
    let org = app.org_id;
    let p = |rest: &str| format!("/api/partners/v2.0/org/{org}{rest}");
    for path in [
        p("/users/.."),
        p("/users/../users"),
        p("/users/%2e%2e/users"),
        p("/users/%2E%2E"),
        p("/users/./x"),
        p("/users/by-ext-id/a%2Fb"),
        p("/users/by-ext-id/a%2fb"),
        p("/users/by-ext-id/a%5Cb"),
        p("/users/by-ext-id/a%00b"),
        p("//users"),
        p("/users//heat-pumps"),
        p("/users/not-a-uuid"),
        p("/users/12345/heat-pumps"),
        "/api/partners/v2.0/org/not-a-uuid/users".to_string(),
        format!("/api/partners/v2.0/org/{org}/users/%2e%2e/%2e%2e/%2e%2e/oauth2/token/"),
    ] {
        let (status, body) =
            raw_request(&app.address, "GET", &path, app.client.cookie.as_deref()).await;
        assert_eq!(status, 400, "{path}: {body}");
        let v: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: {body}"));
        assert_eq!(v["code"], "bad_path", "{path}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn routes_off_the_allow_list_are_refused() {
    let app = spawn_app().await;
    let c = &app.client;
    let u = uuid::Uuid::new_v4();
    for url in [
        format!("{}/api/unknown", app.address),
        format!("{}/api", app.address),
        format!("{}/api/", app.address),
        format!(
            "{}/api/partners/v2.0/device-onboarding-sessions",
            app.address
        ),
        app.api(&format!("/users/{u}/energy-contracts")),
        app.api(&format!("/users/{u}/heat-pumps/{u}/data")),
        app.api(&format!("/users/{u}/electric-vehicles/{u}/boost")),
        app.api("/cues"),
    ] {
        let r = c.send(c.get(&url)).await;
        assert_eq!(r.status, 404, "{url}");
        assert_eq!(r.code(), "route_not_allowed", "{url}");
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("application/json"),
            "{url}"
        );
    }
    let r = c.send(c.http.delete(app.api("/users"))).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.code(), "method_not_allowed");
    assert_eq!(r.header("allow"), Some("GET, POST"));
    let r = c.send(c.http.patch(app.api(&format!("/users/{u}")))).await;
    assert_eq!(r.status, 405);
    let r = c
        .send(
            c.http
                .get(app.api(&format!("/users/{u}/wallboxes/{u}/auth_session"))),
        )
        .await;
    assert_eq!(r.status, 405);
    let r = c
        .send(c.http.post(format!("{}/api/app-info", app.address)))
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.code(), "method_not_allowed");
    app.shutdown().await;
}

#[tokio::test]
async fn only_allow_listed_headers_and_query_reach_podero() {
    let fake = spawn_fake_upstream(false).await;
    let gateway = spawn_gateway_for(&fake.base_url, Duration::from_secs(5)).await;
    let c = Checked::admin(
        &gateway.base_url,
        vec!["fake-token-".into(), crate::helpers::TEST_SECRET.into()],
    )
    .await;
    let session = c.cookie.clone().unwrap();
    let r = c
        .send(
            c.http
                .get(fake_api(
                    &gateway,
                    "/users?include_deleted=true&page=2&secret=x",
                ))
                .header("cookie", format!("sessionid=browser-cookie; {session}"))
                .header("authorization", "Bearer browser-token")
                .header("proxy-authorization", "Basic Zm9vOmJhcg==")
                .header("x-forwarded-for", "10.0.0.1")
                .header("keep-alive", "timeout=5")
                .header("te", "trailers")
                .header("trailer", "x-foo")
                .header("upgrade", "websocket")
                .header("connection", "keep-alive, x-custom")
                .header("x-custom", "1")
                .header("accept-language", "de-DE")
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.header("set-cookie").is_none(),
        "upstream Set-Cookie reached the browser"
    );
    assert!(r.header("x-upstream-internal").is_none());

    // The gateway's own users snapshot reads the same path; the browser's
    // call is the one that carried Accept-Language.
    let seen: Vec<_> = fake
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.headers.contains_key("accept-language"))
        .cloned()
        .collect();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(
        s.path_and_query,
        format!(
            "/api/partners/v2.0/org/{}/users?include_deleted=true",
            crate::helpers::FAKE_ORG
        )
    );
    let auth = s.headers.get("authorization").unwrap().to_str().unwrap();
    assert!(auth.starts_with("Bearer fake-token-"), "{auth}");
    for h in [
        "cookie",
        "proxy-authorization",
        "x-forwarded-for",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "x-custom",
    ] {
        assert!(s.headers.get(h).is_none(), "{h} was forwarded");
    }
    if let Some(conn) = s.headers.get("connection") {
        assert!(!conn.to_str().unwrap().contains("x-custom"));
    }
    let host = s.headers.get("host").unwrap().to_str().unwrap();
    assert_eq!(
        format!("http://{host}"),
        fake.base_url,
        "Host must be the upstream's"
    );
    assert_eq!(s.headers.get("accept-language").unwrap(), "de-DE");
    assert_eq!(s.headers.get("accept").unwrap(), "application/json");
    gateway.shutdown().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = spawn_app().await;
    let c = &app.client;
    let big = vec![b'x'; 1024 * 1024 + 1];
    let r = c
        .send(
            c.http
                .post(app.api("/users"))
                .header("content-type", "application/json")
                .body(big),
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.code(), "payload_too_large");
    // Without Content-Length (streamed) too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|_| Ok(vec![b'y'; 64 * 1024])).collect();
    let body = reqwest::Body::wrap_stream(futures_stream(chunks));
    let r = c.send(c.http.post(app.api("/users")).body(body)).await;
    assert_eq!(r.status, 413);
    app.shutdown().await;
}

fn futures_stream(
    chunks: Vec<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + Sync + 'static {
    struct S(std::vec::IntoIter<Result<Vec<u8>, std::io::Error>>);
    impl futures_core::Stream for S {
        type Item = Result<Vec<u8>, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    S(chunks.into_iter())
}
