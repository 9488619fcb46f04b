//! Customer self-service over HTTP, against the real emulator: links are
//! created, open only their own customer's page (no staff cookie read or
//! set, nothing personal beyond the first name), end when revoked, expired
//! or the user is archived, refuse tampering, reach no other user's device
//! and no staff endpoint, and are rate-limited per client even under a
//! burst; pressing Reconnect creates an `auth_session` and the case
//! timeline hears of it; and "Send to customer" writes a message that a
//! real SMTP server (an in-process sink speaking SMTP on a local port)
//! receives, or that waits in the outbox when no server is configured.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use gateway::Config;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::helpers::{eventually, spawn_app_with, Options, TestApp};

const WAIT: Duration = Duration::from_secs(30);

/// A message the sink received.
#[derive(Debug, Clone)]
struct Received {
    from: String,
    to: Vec<String>,
    data: String,
}

/// A local SMTP server that takes every message (or refuses recipients
/// containing "refuse") and keeps them.
struct SmtpSink {
    addr: SocketAddr,
    messages: Arc<Mutex<Vec<Received>>>,
}

async fn spawn_smtp_sink() -> SmtpSink {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let messages: Arc<Mutex<Vec<Received>>> = Arc::default();
    let kept = messages.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let mut current = Received {
                    from: String::new(),
                    to: Vec::new(),
                    data: String::new(),
                };
                write.write_all(b"220 sink ESMTP\r\n").await.ok();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let answer: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("MAIL FROM:") {
                        current.from = line[10..].trim().to_string();
                        b"250 OK\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        if line.contains("refuse") {
                            b"550 no such mailbox\r\n"
                        } else {
                            current.to.push(line[8..].trim().to_string());
                            b"250 OK\r\n"
                        }
                    } else if upper == "DATA" {
                        write.write_all(b"354 go ahead\r\n").await.ok();
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(l.strip_prefix('.').unwrap_or(&l));
                            data.push('\n');
                        }
                        current.data = data;
                        kept.lock().unwrap().push(current.clone());
                        b"250 OK queued\r\n"
                    } else if upper == "QUIT" {
                        write.write_all(b"221 bye\r\n").await.ok();
                        break;
                    } else {
                        b"250 OK\r\n"
                    };
                    if write.write_all(answer).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    SmtpSink { addr, messages }
}

/// `text` with quoted-printable soft breaks and escapes undone (what a
/// mail program shows).
fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An end-user with a device, the device made lost, and a case open for it.
async fn customer_with_lost_device(app: &TestApp) -> (String, String, String, i64) {
    let c = &app.client;
    let users = c.send(c.get(&app.api("/users"))).await.json();
    for u in users.as_array().unwrap() {
        if u["role"] != "user" || !u["deleted_at"].is_null() {
            continue;
        }
        let uid = u["id"].as_str().unwrap().to_string();
        for kind in ["heat-pumps", "wallboxes", "electric-vehicles", "inverters"] {
            let list = c
                .send(c.get(&app.api(&format!("/users/{uid}/{kind}"))))
                .await
                .json();
            let Some(d) = list.as_array().and_then(|l| l.first()) else {
                continue;
            };
            let device = d["id"].as_str().unwrap().to_string();
            app.set_connection(&device, false).await;
            let wire_kind = match kind {
                "heat-pumps" => "heat_pump",
                "wallboxes" => "wallbox",
                "electric-vehicles" => "electric_vehicle",
                _ => "inverter",
            };
            let r = c
                .send(c.http.post(format!("{}/api/cases", app.address)).json(&json!({
                    "user_id": uid, "kind": "device_connection", "subject": "Device offline",
                    "device_id": device, "device_kind": wire_kind,
                })))
                .await;
            assert_eq!(r.status, 201, "{}", r.text());
            let case = r.json()["case"]["id"].as_i64().unwrap();
            return (uid, device, kind.to_string(), case);
        }
    }
    panic!("no end-user with a device");
}

/// A browser without any cookie, not following redirects.
fn customer() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn create_link(app: &TestApp, uid: &str) -> Value {
    let c = &app.client;
    let r = c
        .send(
            c.http
                .post(format!("{}/api/users/{uid}/self-service-link", app.address))
                .json(&json!({})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

async fn case_events(app: &TestApp, id: i64) -> Vec<(String, Option<String>)> {
    let c = &app.client;
    let d = c
        .send(c.get(&format!("{}/api/cases/{id}", app.address)))
        .await
        .json();
    d["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["actor"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn short_lived(secs: u64) -> Options {
    Options {
        adjust: Some(Box::new(move |c: &mut Config| {
            c.self_service_lifetime = Duration::from_secs(secs)
        })),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_link_opens_its_customers_page_and_nothing_else() {
    let app = spawn_app_with(Options::default()).await;
    let c = &app.client;
    let a = &app.address;
    let (uid, device, kind, case) = customer_with_lost_device(&app).await;
    let user = c
        .send(c.get(&app.api(&format!("/users/{uid}"))))
        .await
        .json();
    let link = create_link(&app, &uid).await;
    let url = link["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{a}/self-service/")), "{url}");
    let token = url.rsplit('/').next().unwrap().to_string();
    assert!(token.len() >= 43, "at least 256 bits in base64url: {token}");
    let expires: chrono::DateTime<chrono::Utc> =
        link["expires_at"].as_str().unwrap().parse().unwrap();
    let days = (expires - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "7 days by default: {days} h");

    // The customer's page: their lost device, their first name, nothing
    // else personal; no cookie set; the CSP on; German for a German browser.
    let r = customer()
        .get(&url)
        .header("accept-language", "de-AT,de;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("set-cookie").is_none());
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("form-action 'self'") && csp.contains("style-src 'self'"),
        "{csp}"
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    // The page before this one is dropped from the browser's back/forward
    // cache: Back asks again.
    assert_eq!(r.headers()["clear-site-data"], "\"cache\"");
    let html = r.text().await.unwrap();
    assert!(html.contains("Erneut verbinden"), "{html}");
    assert!(html.contains(&format!("value=\"{device}\"")), "{html}");
    if let Some(first) = user["first_name"].as_str().filter(|f| !f.is_empty()) {
        assert!(html.contains(first), "greets by first name");
    }
    for private in [
        "email",
        "last_name",
        "street_and_number",
        "zip_code",
        "external_user_id",
    ] {
        if let Some(v) = user[private].as_str().filter(|v| v.len() > 3) {
            assert!(!html.contains(v), "{private} shown: {v}");
        }
    }

    // Tampered, truncated and made-up tokens: a plain 404 page.
    let mut tampered = token.clone().into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [tampered.as_str(), &token[..20], "x", "..%2f..%2fapi"] {
        let r = customer()
            .get(format!("{a}/self-service/{bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{bad}");
        assert!(r.text().await.unwrap().contains("This link is not valid"));
    }

    // The token opens no staff endpoint, as a cookie or anything else.
    for (name, value) in [
        ("cookie", format!("podero_session={token}")),
        ("authorization", format!("Bearer {token}")),
    ] {
        let r = customer()
            .get(format!("{a}/api/cases?user_id={uid}"))
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{name}");
    }

    // Reconnect another user's device through this link: refused, no
    // auth_session made, the page says why.
    let users = c.send(c.get(&app.api("/users"))).await.json();
    let other = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] != uid.as_str() && u["num_heat_pumps"].as_u64() > Some(0))
        .unwrap();
    let oid = other["id"].as_str().unwrap();
    let theirs = c
        .send(c.get(&app.api(&format!("/users/{oid}/heat-pumps"))))
        .await
        .json();
    let their_device = theirs[0]["id"].as_str().unwrap();
    let r = customer()
        .post(format!("{url}/reconnect"))
        .form(&[("kind", "heat-pumps"), ("device", their_device)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(r.text().await.unwrap().contains("not among yours"));
    for junk in ["", "kind=toasters&device=1", &"x".repeat(5000)] {
        let r = customer()
            .post(format!("{url}/reconnect"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(junk.to_string())
            .send()
            .await
            .unwrap();
        assert!(
            r.status() == 422 || r.status() == 413,
            "{junk:.20}: {}",
            r.status()
        );
    }
    // A form from another site is refused.
    let r = customer()
        .post(format!("{url}/reconnect"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("kind", kind.as_str()), ("device", device.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Reconnect: an auth_session, then on to the manufacturer's sign-in.
    let r = customer()
        .post(format!("{url}/reconnect"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("kind", kind.as_str()), ("device", device.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    let emulator = app.emulator.as_ref().unwrap().base_url.clone();
    assert!(html.contains("http-equiv=\"refresh\""), "{html}");
    assert!(html.contains(&emulator), "sign-in at the emulator: {html}");
    let events = case_events(&app, case).await;
    for kind in ["customer_opened_page", "customer_reconnect_pressed"] {
        let e = events
            .iter()
            .find(|(k, _)| k == kind)
            .unwrap_or_else(|| panic!("{kind}: {events:?}"));
        assert_eq!(e.1.as_deref(), Some("customer via self-service link"));
    }

    // The device is back: the page says so and the case is resolved.
    app.set_connection(&device, true).await;
    let html = customer()
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("All your devices are connected"), "{html}");
    let d = c.send(c.get(&format!("{a}/api/cases/{case}"))).await.json();
    assert_eq!(d["case"]["state"], "resolved", "{d}");

    // Every use is in the audit trail, by the customer, without the token.
    let trail = c
        .send(c.get(&format!("{a}/api/audit?user={uid}&per_page=100")))
        .await;
    assert_eq!(trail.status, 200, "{}", trail.text());
    assert!(
        !trail.text().contains(&token),
        "the token is in the audit trail"
    );
    let trail = trail.json();
    let actions: Vec<&str> = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor_email"] == "customer via self-service link")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in ["device.self_service_open", "device.self_service_reconnect"] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }

    // Revoked: 410 at once; listed as revoked.
    let id = link["id"].as_i64().unwrap();
    let r = c
        .send(
            c.http
                .delete(format!("{a}/api/users/{uid}/self-service-links/{id}")),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = customer().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.text().await.unwrap().contains("no longer works"));
    let listed = c
        .send(c.get(&format!("{a}/api/users/{uid}/self-service-links")))
        .await
        .json();
    assert_eq!(listed[0]["state"], "revoked", "{listed}");
    assert!(!listed.to_string().contains(&token));
    let r = c
        .send(
            c.http
                .delete(format!("{a}/api/users/{uid}/self-service-links/999999")),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = c
        .send(
            c.http
                .delete(format!("{a}/api/users/{uid}/self-service-links/abc")),
        )
        .await;
    assert_eq!(r.status, 400);

    // Archived: the user's links stop working, and no new one is made.
    let fresh = create_link(&app, &uid).await;
    let fresh_url = fresh["url"].as_str().unwrap();
    assert_eq!(
        customer().get(fresh_url).send().await.unwrap().status(),
        200
    );
    let r = c
        .send(c.http.delete(app.api(&format!("/users/{uid}"))))
        .await;
    assert!(r.status.is_success(), "archive: {}", r.text());
    assert_eq!(
        customer().get(fresh_url).send().await.unwrap().status(),
        410
    );
    let r = c
        .send(
            c.http
                .post(format!("{a}/api/users/{uid}/self-service-link"))
                .json(&json!({})),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    app.shutdown().await;
}

#[tokio::test]
async fn links_expire() {
    let app = spawn_app_with(short_lived(1)).await;
    let (uid, _, _, _) = customer_with_lost_device(&app).await;
    let link = create_link(&app, &uid).await;
    let url = link["url"].as_str().unwrap().to_string();
    // Within its second it may still open; after it, never again.
    eventually(WAIT, || async {
        let r = customer().get(&url).send().await.unwrap();
        (r.status() == 410).then_some(())
    })
    .await;
    let listed = app
        .client
        .send(app.client.get(&format!(
            "{}/api/users/{uid}/self-service-links",
            app.address
        )))
        .await
        .json();
    assert_eq!(listed[0]["state"], "expired", "{listed}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_burst_of_guesses_is_cut_off_per_client() {
    let app = spawn_app_with(Options::default()).await;
    let a = app.address.clone();
    let client = customer();
    let guesses = (0..60).map(|i| {
        let (client, a) = (client.clone(), a.clone());
        async move {
            let guess = format!("{i:0>43}");
            client
                .get(format!("{a}/self-service/{guess}"))
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    let statuses = futures::future::join_all(guesses).await;
    let not_found = statuses
        .iter()
        .filter(|s| **s == StatusCode::NOT_FOUND)
        .count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(not_found <= 20, "{not_found} guesses looked up");
    assert_eq!(not_found + limited, 60, "{statuses:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn send_to_customer_reaches_a_real_smtp_server() {
    let sink = spawn_smtp_sink().await;
    let smtp = format!("smtp://{}", sink.addr);
    let app = spawn_app_with(Options {
        adjust: Some(Box::new(move |c: &mut Config| {
            c.smtp_url = Some(gateway::Secret::new(smtp));
            c.mail_from = "Customer service <service@utility.example>".into();
        })),
        ..Default::default()
    })
    .await;
    let c = &app.client;
    let a = &app.address;
    let (uid, _, _, case) = customer_with_lost_device(&app).await;
    let user = c
        .send(c.get(&app.api(&format!("/users/{uid}"))))
        .await
        .json();
    let email = user["email"].as_str().unwrap().to_string();

    // Bad input is named per field.
    let r = c
        .send(
            c.http
                .post(format!("{a}/api/users/{uid}/self-service-email"))
                .json(&json!({"language": "fr", "case_id": 999999})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let text = r.text();
    assert!(
        text.contains("language") && text.contains("case_id"),
        "{text}"
    );

    let r = c
        .send(
            c.http
                .post(format!("{a}/api/users/{uid}/self-service-email"))
                .json(&json!({"language": "en", "case_id": case})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = r.json();
    assert_eq!(sent["will_be_sent"], true);
    assert_eq!(sent["to"], email.as_str());
    let url = sent["link"]["url"].as_str().unwrap().to_string();

    let got = eventually(WAIT, || async {
        sink.messages.lock().unwrap().first().cloned()
    })
    .await;
    assert!(got.from.contains("service@utility.example"), "{got:?}");
    assert_eq!(got.to, [format!("<{email}>")]);
    assert!(
        got.data.contains("Subject: Please reconnect your devices"),
        "{}",
        got.data
    );
    let body = quoted_printable(&got.data);
    assert!(body.contains(&url), "the link: {body}");
    assert!(body.contains("works until"), "{body}");
    // The link in the message works.
    assert_eq!(customer().get(&url).send().await.unwrap().status(), 200);

    // The case's timeline says it went out; the outbox says sent.
    eventually(WAIT, || async {
        let events = case_events(&app, case).await;
        events.iter().any(|(k, _)| k == "email_sent").then_some(())
    })
    .await;
    let outbox = c.send(c.get(&format!("{a}/api/outbox"))).await.json();
    assert_eq!(outbox["smtp_configured"], true);
    assert_eq!(outbox["messages"][0]["state"], "sent", "{outbox}");
    let links = c
        .send(c.get(&format!("{a}/api/users/{uid}/self-service-links")))
        .await
        .json();
    assert_eq!(links[0]["sent_to"], email.as_str());
    app.shutdown().await;
}

#[tokio::test]
async fn without_a_mail_server_messages_wait_in_the_outbox() {
    let app = spawn_app_with(Options {
        adjust: Some(Box::new(|c: &mut Config| {
            c.support_contact = Some("0800 123 456".into())
        })),
        ..Default::default()
    })
    .await;
    let c = &app.client;
    let a = &app.address;
    let (uid, _, _, case) = customer_with_lost_device(&app).await;
    let r = c
        .send(
            c.http
                .post(format!("{a}/api/users/{uid}/self-service-email"))
                .json(&json!({"language": "de", "case_id": case})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = r.json();
    assert_eq!(sent["will_be_sent"], false);
    let outbox = c.send(c.get(&format!("{a}/api/outbox"))).await.json();
    assert_eq!(outbox["smtp_configured"], false);
    let m = &outbox["messages"][0];
    assert_eq!(m["state"], "held");
    assert_eq!(m["subject"], "Bitte verbinden Sie Ihre Geräte erneut");
    let body = m["body"].as_str().unwrap();
    assert!(
        body.contains(sent["link"]["url"].as_str().unwrap()),
        "{body}"
    );
    assert!(
        body.contains("nicht verbunden seit"),
        "names the lost device: {body}"
    );
    let events = case_events(&app, case).await;
    assert!(events.iter().any(|(k, _)| k == "email_held"), "{events:?}");

    // Without a language, the customer's (from their country).
    let user = c
        .send(c.get(&app.api(&format!("/users/{uid}"))))
        .await
        .json();
    let r = c
        .send(
            c.http
                .post(format!("{a}/api/users/{uid}/self-service-email"))
                .json(&json!({})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let outbox = c.send(c.get(&format!("{a}/api/outbox"))).await.json();
    let expected = match user["country"].as_str() {
        Some("DE" | "AT" | "CH" | "LI" | "LU") | None => "de",
        Some(_) => "en",
    };
    assert_eq!(outbox["messages"][0]["language"], expected, "{user}");

    // The configured contact is on the customer's pages, also a refusal.
    let html = customer()
        .get(format!("{a}/self-service/{}", "A".repeat(43)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Questions? Contact 0800 123 456."), "{html}");
    app.shutdown().await;
}

/// What attackers and odd clients send to the customer's page: path
/// tricks, bad escapes, a huge token, other methods, gzip and brotli. No
/// answer is a 5xx, none sets a cookie, and the gzip'd page decodes.
#[tokio::test]
async fn malformed_requests_get_plain_answers() {
    let app = spawn_app_with(Options::default()).await;
    let a = &app.address;
    let long = "A".repeat(10_000);
    for path in [
        "/self-service/".to_string(),
        "/self-service/..".into(),
        "/self-service/%2e%2e/api/cases".into(),
        "/self-service/%ff%fe".into(),
        "/self-service/%00".into(),
        format!("/self-service/{long}"),
        format!("/self-service/{long}/reconnect"),
        "/self-service/a/b/c".into(),
    ] {
        for method in ["GET", "POST", "PUT", "DELETE", "HEAD"] {
            let (status, _) = crate::helpers::raw_request(a, method, &path, None).await;
            assert!(
                (200..500).contains(&status),
                "{method} {:.60}: {status}",
                path
            );
        }
    }
    let (uid, _, _, _) = customer_with_lost_device(&app).await;
    let url = create_link(&app, &uid).await["url"]
        .as_str()
        .unwrap()
        .to_string();
    for encoding in ["gzip", "br", "gzip, deflate, br"] {
        let r = customer()
            .get(&url)
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{encoding}");
        assert!(r.headers().get("set-cookie").is_none());
        let used = r
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = r.bytes().await.unwrap();
        let mut html = String::new();
        use std::io::Read;
        match used.as_str() {
            "gzip" => {
                flate2::read::GzDecoder::new(&bytes[..])
                    .read_to_string(&mut html)
                    .unwrap();
            }
            "br" => {
                brotli_decompressor::Decompressor::new(&bytes[..], 4096)
                    .read_to_string(&mut html)
                    .unwrap();
            }
            _ => html = String::from_utf8(bytes.to_vec()).unwrap(),
        }
        assert!(
            html.contains("</html>"),
            "{encoding} ({used}): decodes whole"
        );
    }
    let css = customer()
        .get(format!("{a}/self-service.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    app.shutdown().await;
}

/// A page address whose token is not UTF-8 once decoded (`%FF`) or that
/// ends in `/` gets the "not a valid link" page like any wrong token (it
/// was axum's plain-text "Invalid URL" 400, and the staff app), and a method the address does not have gets that
/// page as a 405 naming the methods it has (it was an empty answer
/// without a type).
#[tokio::test]
async fn bad_escapes_and_other_methods_get_the_link_page() {
    let app = spawn_app_with(Options::default()).await;
    let a = &app.address;
    let c = customer();
    let page = |r: &reqwest::Response| {
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .starts_with("text/html")
    };
    for (method, path, status, allow) in [
        ("GET", "/self-service/%FF%FE", 404, None),
        ("GET", "/self-service/%C0%80", 404, None),
        ("POST", "/self-service/%FF/reconnect", 404, None),
        ("POST", "/self-service/some-token", 405, Some("GET,HEAD")),
        ("PUT", "/self-service/some-token", 405, Some("GET,HEAD")),
        ("DELETE", "/self-service/%FF", 405, Some("GET,HEAD")),
        // A padded link: the page, not the staff app (it was the app's
        // index.html; other methods a bare 405).
        ("GET", "/self-service/some-token/", 404, None),
        ("POST", "/self-service/some-token/", 404, None),
        (
            "GET",
            "/self-service/some-token/reconnect",
            405,
            Some("POST"),
        ),
        (
            "PATCH",
            "/self-service/some-token/reconnect",
            405,
            Some("POST"),
        ),
    ] {
        let r = c
            .request(method.parse().unwrap(), format!("{a}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{method} {path}");
        assert!(page(&r), "{method} {path}: {:?}", r.headers());
        assert_eq!(
            r.headers().get("allow").map(|v| v.to_str().unwrap()),
            allow,
            "{method} {path}"
        );
        assert_eq!(r.headers()["cache-control"], "no-store", "{method} {path}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("This link is not valid"),
            "{method} {path}: {html:.300}"
        );
    }
    app.shutdown().await;
}
