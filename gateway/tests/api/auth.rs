//! Sign-in, sessions and the anti-forgery rule, against the real gateway
//! and emulator over HTTP.

use std::time::Duration;

use gateway::auth::throttle::Limits;
use gateway::CookieSecure;
use serde_json::json;
use shared::staff::CSRF_HEADER;

use crate::helpers::{
    eventually, spawn_app, spawn_app_with, Checked, Options, ADMIN_EMAIL, ADMIN_PASSWORD,
    TEST_SECRET,
};

fn session_url(app: &crate::helpers::TestApp) -> String {
    format!("{}/api/session", app.address)
}

#[tokio::test]
async fn nothing_but_sign_in_and_health_without_a_session() {
    let app = spawn_app().await;
    let anon = app.client.without_session();
    let r = anon
        .send(anon.get(&format!("{}/healthz", app.address)))
        .await;
    assert_eq!(r.status, 200);
    for path in [
        "/api/app-info".to_string(),
        "/api/directory/users".into(),
        "/api/directory/users.csv".into(),
        "/api/team".into(),
        "/api/audit".into(),
        format!("/api/partners/v2.0/org/{}/users", app.org_id),
        "/api/session".into(),
    ] {
        let r = anon.send(anon.get(&format!("{}{path}", app.address))).await;
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.code(), "not_signed_in", "{path}");
    }
    // A change without a session is refused before anything else.
    let r = anon
        .send(
            anon.http
                .post(app.api("/users"))
                .header(CSRF_HEADER, "x")
                .json(&json!({"role": "user", "email": "a@b.de"})),
        )
        .await;
    assert_eq!(r.status, 401);
    app.shutdown().await;
}

#[tokio::test]
async fn unknown_account_and_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    let anon = app.client.without_session();
    let mut bodies = Vec::new();
    for (email, password) in [
        (ADMIN_EMAIL, "wrong password 123"),
        ("nobody@example.com", ADMIN_PASSWORD),
    ] {
        let r = anon
            .send(
                anon.http
                    .post(session_url(&app))
                    .header(CSRF_HEADER, "sign-in")
                    .json(&json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(r.status, 401);
        assert!(r.header("set-cookie").is_none());
        bodies.push(r.text());
    }
    assert_eq!(bodies[0], bodies[1]);
    assert!(bodies[0].contains("sign_in_failed"), "{}", bodies[0]);
    // Sign-in needs the anti-forgery header too.
    let r = anon
        .send(
            anon.http
                .post(session_url(&app))
                .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "csrf_missing".into()));
    // E-mail case and spaces do not matter.
    anon.sign_in(
        &app.address,
        " Admin@BackOffice.local ",
        ADMIN_PASSWORD,
        None,
    )
    .await;
    app.shutdown().await;
}

#[tokio::test]
async fn sign_in_is_throttled_per_account_and_per_client() {
    let app = spawn_app_with(Options {
        adjust: Some(Box::new(|c| {
            c.throttle = Limits {
                per_account: 3,
                per_client: 6,
                window: Duration::from_secs(600),
            }
        })),
        ..Default::default()
    })
    .await;
    let anon = app.client.without_session();
    let attempt = |email: &'static str, password: &'static str| {
        let anon = anon.clone();
        let url = session_url(&app);
        async move {
            anon.send(
                anon.http
                    .post(url)
                    .header(CSRF_HEADER, "sign-in")
                    .json(&json!({"email": email, "password": password})),
            )
            .await
        }
    };
    for _ in 0..3 {
        assert_eq!(attempt(ADMIN_EMAIL, "guess guess guess").await.status, 401);
    }
    // Locked: even the right password is refused now, with a time to wait.
    let r = attempt(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.code(), "too_many_attempts");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(wait > 500 && wait <= 600, "{wait}");
    assert!(r.json()["detail"].as_str().unwrap().contains("minute"));
    // Other accounts from the same client, until the client's limit.
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        assert_eq!(attempt(email, "guess guess guess").await.status, 401);
    }
    assert_eq!(
        attempt("d@example.com", "guess guess guess").await.status,
        429
    );
    app.shutdown().await;
}

#[tokio::test]
async fn one_time_password_must_be_changed_first() {
    let app = spawn_app().await;
    let r = app
        .client
        .send(app.client.http.post(format!("{}/api/team", app.address)).json(
            &json!({"email": "new.colleague@example.com", "first_name": "New", "last_name": "Colleague", "role": "staff"}),
        ))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let otp = r.json()["one_time_password"].as_str().unwrap().to_string();
    let c = app
        .client
        .without_session()
        .sign_in(&app.address, "new.colleague@example.com", &otp, None)
        .await;
    let r = c.send(c.get(&session_url(&app))).await;
    assert_eq!(r.json()["account"]["must_change_password"], true);
    let r = c.send(c.get(&app.api("/users"))).await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (403, "password_change_required".into())
    );
    let change = |current: &str, new: &str| {
        c.http
            .post(format!("{}/api/session/password", app.address))
            .json(&json!({"current_password": current, "new_password": new}))
    };
    // Each field's problem is named.
    let r = c.send(change(&otp, "short")).await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["detail"][0]["loc"],
        json!(["body", "new_password"])
    );
    let r = c
        .send(change("not the password", "a long new password"))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["detail"][0]["loc"],
        json!(["body", "current_password"])
    );
    let r = c.send(change(&otp, "a long new password")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["account"]["must_change_password"], false);
    assert_eq!(c.send(c.get(&app.api("/users"))).await.status, 200);
    // The one-time password is spent.
    let r = app
        .client
        .without_session()
        .send(
            app.client
                .without_session()
                .http
                .post(session_url(&app))
                .header(CSRF_HEADER, "sign-in")
                .json(&json!({"email": "new.colleague@example.com", "password": otp})),
        )
        .await;
    assert_eq!(r.status, 401);
    app.shutdown().await;
}

#[tokio::test]
async fn sign_out_and_ended_sessions_are_refused() {
    let app = spawn_app().await;
    let (staff, member) = app.member("staff").await;
    // The same person signed in a second time (another tab or browser).
    let other_tab = app
        .client
        .without_session()
        .sign_in(
            &app.address,
            member["email"].as_str().unwrap(),
            "a new password for tests",
            None,
        )
        .await;
    assert_eq!(staff.send(staff.get(&app.api("/users"))).await.status, 200);
    // An admin ends every session of the member.
    let id = member["id"].as_str().unwrap();
    let r = app
        .client
        .send(
            app.client
                .http
                .delete(format!("{}/api/team/{id}/sessions", app.address)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["ended"], 2);
    for c in [&staff, &other_tab] {
        let r = c.send(c.get(&app.api("/users"))).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (401, "session_expired".into())
        );
    }
    // Admins cannot end their own sessions this way (they sign out).
    let me = app
        .client
        .send(app.client.get(&session_url(&app)))
        .await
        .json();
    let own = me["account"]["id"].as_str().unwrap();
    let r = app
        .client
        .send(
            app.client
                .http
                .delete(format!("{}/api/team/{own}/sessions", app.address)),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "own_account".into()));
    // Sign out: the cookie is removed and the session is dead.
    let r = app
        .client
        .send(app.client.http.delete(session_url(&app)))
        .await;
    assert_eq!(r.status, 204);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    let r = app.client.send(app.client.get(&session_url(&app))).await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (401, "session_expired".into())
    );
    app.shutdown().await;
}

#[tokio::test]
async fn sessions_end_at_their_absolute_expiry() {
    let app = spawn_app_with(Options {
        adjust: Some(Box::new(|c| c.session_max = Duration::from_secs(2))),
        ..Default::default()
    })
    .await;
    let r = app.client.send(app.client.get(&session_url(&app))).await;
    assert_eq!(r.status, 200);
    // Used all the time, and still it ends (polled, with a deadline).
    eventually(Duration::from_secs(10), || async {
        let r = app.client.send(app.client.get(&session_url(&app))).await;
        (r.status == 401 && r.code() == "session_expired").then_some(())
    })
    .await;
    app.shutdown().await;
}

#[tokio::test]
async fn state_changes_need_the_anti_forgery_header() {
    let app = spawn_app().await;
    let cookie = app.client.cookie.clone().unwrap();
    let bare = app.client.without_session();
    let count = || async {
        let r = app.client.send(app.client.get(&app.api("/users"))).await;
        r.json().as_array().unwrap().len()
    };
    let before = count().await;
    let body = json!({"role": "user", "email": "forged@example.com"});
    // No header, a wrong value, or the right value from another site.
    let cases = [
        (None, None, "csrf_missing"),
        (Some("0123abcd"), None, "csrf_mismatch"),
        (Some("RIGHT"), Some("cross-site"), "cross_site"),
    ];
    let right = app
        .client
        .send(app.client.get(&session_url(&app)))
        .await
        .json()["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    for (csrf, site, code) in cases {
        let mut req = bare
            .http
            .post(app.api("/users"))
            .header("cookie", &cookie)
            .json(&body);
        if let Some(v) = csrf {
            req = req.header(CSRF_HEADER, if v == "RIGHT" { right.as_str() } else { v });
        }
        if let Some(s) = site {
            req = req.header("sec-fetch-site", s);
        }
        let r = bare.send(req).await;
        assert_eq!((r.status.as_u16(), r.code()), (403, code.to_string()));
    }
    assert_eq!(count().await, before, "a refused request reached Podero");
    // Reads need no header; the right one from the app's own origin works.
    let r = bare
        .send(bare.get(&app.api("/users")).header("cookie", &cookie))
        .await;
    assert_eq!(r.status, 200);
    let r = bare
        .send(
            bare.http
                .post(app.api("/users"))
                .header("cookie", &cookie)
                .header(CSRF_HEADER, &right)
                .header("sec-fetch-site", "same-origin")
                .json(&body),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    app.shutdown().await;
}

#[tokio::test]
async fn own_endpoints_limit_request_bodies() {
    let app = spawn_app().await;
    let anon = app.client.without_session();
    let big = "x".repeat(20 * 1024);
    let r = anon
        .send(
            anon.http
                .post(session_url(&app))
                .header(CSRF_HEADER, "sign-in")
                .json(&json!({"email": ADMIN_EMAIL, "password": big})),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (413, "payload_too_large".into())
    );
    let r = app
        .client
        .send(
            app.client
                .http
                .post(format!("{}/api/team", app.address))
                .body("not json"),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (422, "invalid_body".into()));
    assert!(r.json()["detail"][0]["msg"]
        .as_str()
        .unwrap()
        .contains("not the expected JSON"));
    app.shutdown().await;
}

/// A compressed request body (`Content-Encoding: gzip`, as a script
/// might send a customer file) is refused as such on every gateway
/// endpoint that reads one, before anything is done: it used to be read
/// as the compressed bytes (a 422 "not the expected JSON", or a sync
/// dry run saying no column held the e-mail).
#[tokio::test]
async fn compressed_request_bodies_are_refused() {
    use std::io::Write;
    let app = spawn_app().await;
    let a = &app.address;
    let gzip = |text: &str| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let invite = r#"{"email":"gz@example.com","first_name":"G","last_name":"Z","role":"viewer"}"#;
    let cells = [
        (
            "POST",
            format!("{a}/api/session"),
            r#"{"email":"a@b.c","password":"x"}"#,
        ),
        ("POST", format!("{a}/api/session/password"), "{}"),
        (
            "PUT",
            format!("{a}/api/session/language"),
            r#"{"language":"de"}"#,
        ),
        ("POST", format!("{a}/api/team"), invite),
        ("POST", format!("{a}/api/cases"), "{}"),
        (
            "POST",
            format!("{a}/api/sync/dry-run"),
            "email\ngz@example.com\n",
        ),
        (
            "POST",
            format!("{a}/api/sync/runs"),
            "email\ngz@example.com\n",
        ),
        // A forwarded Partner API change: refused before it leaves.
        (
            "POST",
            format!("{a}/api/partners/v2.0/org/{}/users", app.org_id),
            r#"{"email":"gz@example.com","first_name":"G","last_name":"Z"}"#,
        ),
    ];
    for (method, url, body) in &cells {
        for encoding in ["gzip", "identity, gzip"] {
            let c = &app.client;
            let r = c
                .send(
                    c.http
                        .request(method.parse().unwrap(), url)
                        .header("content-type", "application/json")
                        .header("content-encoding", encoding)
                        .body(gzip(body)),
                )
                .await;
            assert_eq!(
                (r.status.as_u16(), r.code()),
                (415, "unsupported_encoding".into()),
                "{method} {url} ({encoding}): {}",
                r.text()
            );
            assert!(r.json()["detail"].as_str().unwrap().contains(encoding));
        }
    }
    // Nothing was done: no account, no run.
    let team = app
        .client
        .send(app.client.get(&format!("{a}/api/team")))
        .await;
    assert!(!team.text().contains("gz@example.com"), "{}", team.text());
    let runs = app
        .client
        .send(app.client.get(&format!("{a}/api/sync/runs")))
        .await;
    assert_eq!(runs.json(), json!([]));
    // `identity` is no compression: read as sent.
    let r = app
        .client
        .send(
            app.client
                .http
                .put(format!("{a}/api/session/language"))
                .header("content-encoding", "identity")
                .json(&json!({"language": "de"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    app.shutdown().await;
}

#[tokio::test]
async fn session_cookie_attributes() {
    let app = spawn_app().await;
    let anon = Checked::new(vec![TEST_SECRET.into()]);
    let sign_in = |anon: Checked, url: String| async move {
        anon.send(
            anon.http
                .post(url)
                .header(CSRF_HEADER, "sign-in")
                .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
        )
        .await
    };
    let r = sign_in(anon.clone(), session_url(&app)).await;
    let cookie = r.header("set-cookie").unwrap().to_string();
    assert!(cookie.starts_with("podero_session="), "{cookie}");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain-HTTP loopback: {cookie}");
    app.shutdown().await;

    let app = spawn_app_with(Options {
        adjust: Some(Box::new(|c| c.cookie_secure = CookieSecure::True)),
        ..Default::default()
    })
    .await;
    let r = sign_in(anon, session_url(&app)).await;
    let cookie = r.header("set-cookie").unwrap().to_string();
    assert!(cookie.starts_with("__Host-podero_session="), "{cookie}");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    app.shutdown().await;
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let app = spawn_app().await;
    let c = &app.client;
    for url in [
        format!("{}/healthz", app.address),
        format!("{}/api/session", app.address),
        app.api("/users"),
        format!("{}/users/some/page", app.address),
    ] {
        let r = c.send(c.get(&url)).await;
        let csp = r.header("content-security-policy").unwrap_or_default();
        for part in [
            "default-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "'wasm-unsafe-eval'",
            "style-src 'self'",
        ] {
            assert!(csp.contains(part), "{url}: {csp}");
        }
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{url}");
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{url}");
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{url}");
    }
    let r = c.send(c.get(&app.api("/users"))).await;
    assert_eq!(r.header("cache-control"), Some("no-store"));
    app.shutdown().await;
}
