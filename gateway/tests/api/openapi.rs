//! The OpenAPI description (`GET /api/openapi.json`) checked against the
//! real routes: it is OpenAPI 3.1 JSON, public and GET only; its security
//! schemes and error body exist and every reference resolves; every
//! operation it describes is routed (called on the real app, the answer is
//! never the router's `404 route_not_allowed` or `405 method_not_allowed`,
//! and its status is one the operation lists); no method is routed on a
//! described path without being described; the roles each operation names
//! are the ones its handler lets through; and no route is registered in
//! the gateway's source without its description.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::{spawn_app, Checked, Resp, TestApp};

const DOC_PATH: &str = "/api/openapi.json";
/// The methods the gateway's routes can have (HEAD comes with GET).
const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

async fn document(app: &TestApp) -> Value {
    let c = app.client.without_session();
    let r = c.send(c.get(&format!("{}{DOC_PATH}", app.address))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// Every described operation: (path, method, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((path.clone(), method.to_string(), op.clone()));
            }
        }
    }
    out
}

/// The roles an operation names (scopes of its `session` requirement);
/// `None`: no session needed.
fn roles(op: &Value) -> Option<Vec<String>> {
    op["security"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|r| r.get("session"))
        .map(|scopes| {
            scopes
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        })
}

/// `path` with every `{parameter}` replaced by a fresh UUID (no such
/// record: a handler answers 404 `not_found`, the router still matches).
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') && seg.ends_with('}') {
                uuid::Uuid::new_v4().to_string()
            } else {
                seg.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Call `method path` as `c` (changes with an empty JSON object).
async fn call(app: &TestApp, c: &Checked, method: &str, path: &str) -> Resp {
    let url = format!("{}{}", app.address, concrete(path));
    let mut req = c.http.request(method.to_uppercase().parse().unwrap(), url);
    if method != "get" && method != "delete" {
        req = req.json(&serde_json::json!({}));
    }
    c.send(req).await
}

/// Was the request not routed: the router's 404 (a path off the
/// allow-list) or 405 (a method the route does not have)? A handler's own
/// 404 has `code` `not_found`.
fn routing_miss(r: &Resp) -> bool {
    let code = serde_json::from_slice::<Value>(&r.body)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_string));
    match code.as_deref() {
        Some("route_not_allowed" | "method_not_allowed") => true,
        Some(_) => false,
        None => r.status == 404 || r.status == 405,
    }
}

/// Sign-out last: the client's session ends with it.
fn sign_out_last(ops: &mut [(String, String, Value)]) {
    ops.sort_by_key(|(path, method, _)| path == shared::staff::SESSION_PATH && method == "delete");
}

#[tokio::test]
async fn the_description_is_public_openapi_3_1_json_and_get_only() {
    let app = spawn_app().await;
    let c = app.client.without_session();
    let url = format!("{}{DOC_PATH}", app.address);
    let r = c.send(c.get(&url)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let doc = r.json();
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1"), "{version}");
    assert!(!doc["info"]["title"].as_str().unwrap().is_empty());
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    // The forwarded Partner API calls are said to exist, not described.
    let info = doc["info"]["description"].as_str().unwrap();
    assert!(info.contains("/api/partners/v2.0/"), "{info}");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.keys().all(|p| !p.starts_with(shared::API_PREFIX)));
    for own in [
        shared::staff::SESSION_PATH,
        "/api/app-info",
        shared::directory::DIRECTORY_USERS_PATH,
        shared::staff::TEAM_PATH,
        shared::staff::AUDIT_PATH,
        DOC_PATH,
    ] {
        assert!(paths.contains_key(own), "{own} is not described");
    }
    // Only GET: a change gets the gateway's JSON 405, with or without a
    // session (so it is not the forwarding catch-all's answer either).
    for client in [&c, &app.client] {
        let r = client
            .send(
                client
                    .http
                    .post(&url)
                    .header(shared::staff::CSRF_HEADER, "x")
                    .json(&serde_json::json!({})),
            )
            .await;
        assert_eq!(r.status, 405, "{}", r.text());
        assert_eq!(r.code(), "method_not_allowed");
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
    }
    app.shutdown().await;
}

#[tokio::test]
async fn security_schemes_error_body_and_references() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["session"]["type"], "apiKey");
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(
        schemes["session"]["name"], "podero_session",
        "the cookie's name as configured (plain HTTP on loopback)"
    );
    assert_eq!(schemes["csrf"]["type"], "apiKey");
    assert_eq!(schemes["csrf"]["in"], "header");
    assert_eq!(schemes["csrf"]["name"], shared::staff::CSRF_HEADER);
    let error = &doc["components"]["schemas"]["ApiError"];
    for field in ["detail", "code"] {
        assert!(error["properties"].get(field).is_some(), "{error}");
    }
    // Every reference resolves.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.contains(&"#/components/schemas/ApiError".to_string()));
    for r in &all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r} is not a schema reference"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} does not resolve"
        );
    }
    let mut ids = BTreeSet::new();
    for (path, method, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_default();
        assert!(
            ids.insert(id.to_string()),
            "{method} {path}: id {id:?} twice"
        );
        for requirement in op["security"].as_array().into_iter().flatten() {
            for (scheme, scopes) in requirement.as_object().unwrap() {
                assert!(schemes.get(scheme).is_some(), "{method} {path}: {scheme}");
                if scheme == "session" {
                    for role in scopes.as_array().unwrap() {
                        let role = role.as_str().unwrap();
                        assert!(
                            shared::staff::StaffRole::parse(role).is_some(),
                            "{method} {path}: role {role}"
                        );
                    }
                }
            }
        }
        let signing_in = path == shared::staff::SESSION_PATH && method == "post";
        let public = !path.starts_with("/api/") || path == DOC_PATH;
        assert_eq!(
            roles(&op).is_some(),
            !public && !signing_in,
            "{method} {path}: a session (and its roles) is needed for every /api operation \
             but the sign-in and this document"
        );
        let writes = method != "get";
        let csrf = op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r.get("csrf").is_some());
        assert_eq!(csrf, writes, "{method} {path}: the anti-forgery header");
        assert!(
            op["description"]
                .as_str()
                .unwrap_or_default()
                .contains("**Roles:**"),
            "{method} {path}"
        );
        // Every error answer of the gateway is an ApiError.
        for (status, response) in op["responses"].as_object().unwrap() {
            if public || status.starts_with('2') {
                continue;
            }
            assert_eq!(
                response["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ApiError",
                "{method} {path} {status}"
            );
        }
    }
    app.shutdown().await;
}

/// Every described (path, method) is routed on the real app: called as
/// the admin with placeholder ids, the answer is the handler's, with a
/// status the description lists.
#[tokio::test]
async fn every_described_operation_is_routed() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let mut ops = operations(&doc);
    assert!(ops.len() >= 20, "{}", ops.len());
    sign_out_last(&mut ops);
    let mut wrong = Vec::new();
    for (path, method, op) in &ops {
        let r = call(&app, &app.client, method, path).await;
        let listed = op["responses"].get(r.status.as_str()).is_some()
            || op["responses"].get("default").is_some();
        if routing_miss(&r) || !listed {
            wrong.push(format!("{method} {path}: {} {}", r.status, r.text()));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    app.shutdown().await;
}

/// No method is routed on a described path without being described: each
/// other method gets the gateway's JSON 405 (`/healthz` once gave axum's
/// empty one), whose `Allow` names exactly the described methods (and
/// `HEAD` with `GET`; it was once empty on every own endpoint: the guard
/// answered before axum could add it).
#[tokio::test]
async fn no_undescribed_method_on_a_described_path() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let mut wrong = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let mut described: BTreeSet<String> = METHODS
            .iter()
            .filter(|m| item.get(**m).is_some())
            .map(|m| m.to_uppercase())
            .collect();
        if described.contains("GET") {
            described.insert("HEAD".into());
        }
        for method in METHODS.iter().filter(|m| item.get(**m).is_none()) {
            let r = call(&app, &app.client, method, path).await;
            let allow: BTreeSet<String> = r
                .header("allow")
                .unwrap_or_default()
                .split(',')
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty())
                .collect();
            if r.status != 405 || r.code() != "method_not_allowed" || allow != described {
                wrong.push(format!(
                    "{method} {path}: {} allow {:?} {}",
                    r.status,
                    r.header("allow"),
                    r.text()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    app.shutdown().await;
}

/// The roles each operation names are the ones its handler lets through:
/// a role not named gets `403 forbidden`, a role named never does.
#[tokio::test]
async fn the_roles_described_are_the_roles_let_through() {
    let app = spawn_app().await;
    let (staff, _) = app.member("staff").await;
    let (viewer, _) = app.member("viewer").await;
    let doc = document(&app).await;
    let mut ops = operations(&doc);
    sign_out_last(&mut ops);
    let mut wrong = Vec::new();
    for (role, c) in [("staff", &staff), ("viewer", &viewer)] {
        for (path, method, op) in &ops {
            let Some(roles) = roles(op) else { continue };
            let r = call(&app, c, method, path).await;
            let refused = r.status == 403 && r.code() == "forbidden";
            // A named role may still be refused for the record it asks
            // about (a team member's history); the placeholder id is none.
            if refused == roles.iter().any(|r| r == role) {
                wrong.push(format!(
                    "{role} {method} {path} (roles {roles:?}): {} {}",
                    r.status,
                    r.text()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    app.shutdown().await;
}

/// No route is registered without its description.
///
/// `startup.rs` registers the gateway's endpoints with utoipa-axum's
/// `routes!`, which takes a route from its handler's `#[utoipa::path]` and
/// adds the description in the same step, so those cannot go undescribed
/// (and `no_undescribed_method_on_a_described_path` checks their methods
/// on the running app). The way around it is a plain axum registration
/// (`.route(...)`, `.route_service(...)`, `.nest(...)`). axum's `Router`
/// cannot list its routes, so there is no list to compare at run time;
/// instead this reads the gateway's source and allows exactly the plain
/// registrations that are deliberately not described: `/api` and `/api/`
/// (refused like any path off the allow-list), `/api/{*rest}` (the
/// forwarded Partner API calls, which are Podero's), `/metrics` (on
/// its own listener, for operations) and the customer's self-service page
/// (HTML for a person with a link, like the app's files; described in
/// gateway/README.md).
#[test]
fn no_route_is_registered_without_its_description() {
    // The last one is `/metrics`, on the separate metrics listener
    // (`metrics.rs`): for operations, not part of the app's API.
    const UNDESCRIBED: [&str; 10] = [
        "\"/api\"",
        "\"/api/\"",
        "\"/api/{*rest}\"",
        "\"/metrics\"",
        "\"/self-service.css\"",
        "\"/self-service/{token}\"",
        "\"/self-service/{token}/reconnect\"",
        "\"/self-service/\"",
        "\"/self-service/{token}/\"",
        "\"/self-service/{token}/{*rest}\"",
    ];
    const PLAIN: [&str; 4] = [".route(", ".route_service(", ".nest(", ".nest_service("];
    fn walk(dir: &std::path::Path, found: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // The unit tests at the end of a module build routers of their own.
            let code = text.split("#[cfg(test)]").next().unwrap();
            for call in PLAIN {
                for (at, _) in code.match_indices(call) {
                    let first: String = code[at + call.len()..]
                        .trim_start()
                        .chars()
                        .take_while(|c| *c != ',' && *c != ')')
                        .collect();
                    found.push((path.display().to_string(), first.trim().to_string()));
                }
            }
        }
    }
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    walk(&src, &mut found);
    let registered: BTreeSet<&str> = found.iter().map(|(_, first)| first.as_str()).collect();
    assert_eq!(
        registered,
        UNDESCRIBED.into_iter().collect(),
        "a route registered without `routes!` (so without its description): {found:#?}"
    );
    let startup = std::fs::read_to_string(src.join("startup.rs")).unwrap();
    assert!(startup.matches(".routes(routes!(").count() >= 15);
}

/// The signed-out rows of the role matrix, for every described operation
/// and every Partner API route of the allow-list, each with every method
/// it has (and `HEAD` with `GET`): nobody without a session gets past the
/// guard — neither a stranger (with the anti-forgery header, so the
/// refusal is about the session) nor a customer holding a self-service
/// link, whose token opens their page only (sent as the session cookie or
/// as a bearer token). The answer is `401 not_signed_in`, JSON (not for
/// `HEAD`, which has no body). The public operations (the sign-in, this
/// document, `/healthz`) and `GET /api/session` (which answers 401 itself)
/// are left out.
#[tokio::test]
async fn nobody_without_a_session_gets_past_the_guard() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        // Every refusal below takes from the budget of requests without a
        // session; the limit is not what this test is about.
        adjust: Some(Box::new(|c| c.unauthenticated_per_minute = 100_000)),
        ..Default::default()
    })
    .await;
    let a = &app.address;
    let users = app.client.send(app.client.get(&app.api("/users"))).await;
    let user = users.json()[0]["id"].as_str().unwrap().to_string();
    let link = app
        .client
        .send(
            app.client
                .http
                .post(format!("{a}/api/users/{user}/self-service-link"))
                .json(&serde_json::json!({})),
        )
        .await;
    assert_eq!(link.status, 200, "{}", link.text());
    let token = link.json()["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let cookie = format!("podero_session={token}");
    let callers: [(&str, Option<(&str, &str)>); 3] = [
        ("stranger", None),
        ("link holder (cookie)", Some(("cookie", &cookie))),
        (
            "link holder (bearer)",
            Some(("authorization", &format!("Bearer {token}"))),
        ),
    ];
    let doc = document(&app).await;
    let mut cells: Vec<(String, String)> = Vec::new();
    for (path, method, op) in operations(&doc) {
        if roles(&op).is_none() || (path == shared::staff::SESSION_PATH && method == "get") {
            continue;
        }
        let path = concrete(&path);
        if method == "get" {
            cells.push(("HEAD".into(), path.clone()));
        }
        cells.push((method.to_uppercase(), path));
    }
    let (u, d) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let partner = format!("/api/partners/v2.0/org/{}", app.org_id);
    for (rest, methods) in [
        ("/users".to_string(), "GET HEAD POST"),
        ("/users/by-ext-id/C-1".into(), "GET HEAD"),
        (format!("/users/{u}"), "GET HEAD PUT DELETE"),
        (format!("/users/{u}/heat-pumps"), "GET HEAD POST"),
        (format!("/users/{u}/wallboxes/{d}"), "GET HEAD PUT DELETE"),
        (format!("/users/{u}/inverters/{d}/auth_session"), "POST"),
        (format!("/users/{u}/buildings"), "GET HEAD POST"),
        (format!("/users/{u}/buildings/{d}"), "GET HEAD PUT DELETE"),
    ] {
        for method in methods.split(' ') {
            cells.push((method.to_string(), format!("{partner}{rest}")));
        }
    }
    assert!(cells.len() > 80, "{}", cells.len());
    let anon = app.client.without_session();
    let mut wrong = Vec::new();
    for (who, header) in &callers {
        for (method, path) in &cells {
            let mut req = anon
                .http
                .request(method.parse().unwrap(), format!("{a}{path}"))
                .header(shared::staff::CSRF_HEADER, "x");
            if let Some((name, value)) = header {
                req = req.header(*name, *value);
            }
            if method != "GET" && method != "HEAD" && method != "DELETE" {
                req = req.json(&serde_json::json!({}));
            }
            let r = anon.send(req).await;
            let json_ok = method == "HEAD" || r.code() == "not_signed_in";
            if r.status != 401 || !json_ok {
                wrong.push(format!("{who} {method} {path}: {} {}", r.status, r.text()));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // ...and the link still opens the customer's own page.
    let r = anon
        .send(anon.get(&format!("{a}/self-service/{token}")))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    app.shutdown().await;
}

/// `HEAD` is `GET` without the body for every role: the same status on
/// every described read, so a role refused a `GET` is refused its `HEAD`
/// too (the rows of the role matrix for `HEAD`).
#[tokio::test]
async fn head_is_answered_like_get_for_every_role() {
    let app = spawn_app().await;
    let (staff, _) = app.member("staff").await;
    let (viewer, _) = app.member("viewer").await;
    let doc = document(&app).await;
    let mut wrong = Vec::new();
    for (role, c) in [
        ("admin", &app.client),
        ("staff", &staff),
        ("viewer", &viewer),
    ] {
        for (path, method, op) in operations(&doc) {
            if method != "get" || roles(&op).is_none() {
                continue;
            }
            // The same id for both, so both ask for the same record.
            let url = format!("{}{}", app.address, concrete(&path));
            let get = c.send(c.get(&url)).await;
            let head = c.send(c.http.head(&url)).await;
            if get.status != head.status || !head.body.is_empty() {
                wrong.push(format!(
                    "{role} {path}: GET {} HEAD {} ({} bytes)",
                    get.status,
                    head.status,
                    head.body.len()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    app.shutdown().await;
}
