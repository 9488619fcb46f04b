//! The allow-list of Partner API calls and their forwarding.
//!
//! The browser calls `/api/partners/v2.0/org/{org_id}/...` on the gateway.
//! The raw (still percent-encoded) path is split into segments and checked
//! before anything is sent: path tricks (`.`/`..` segments, also when
//! percent-encoded, empty segments, encoded `/` or `\`, control characters)
//! are refused with 400, ids must be UUIDs (400), the organisation must be
//! the configured one (403), and only the routes of [`ApiRoute`] with their
//! methods are forwarded (404 / 405 otherwise). The upstream path is then
//! rebuilt from the parsed route — never copied from the request — so only
//! what was checked reaches Podero. Only the `include_deleted` query
//! parameter (`true`/`false`) is forwarded.
//!
//! Changes are checked against the signed-in person's role
//! ([`crate::auth::roles`]) and noted for the audit trail: for a `PUT`, the
//! object is read first, so the record says which fields went from what
//! to what; for a `POST`, the fields sent.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, Method};
use axum::response::Response;
use axum::Extension;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;
use shared::staff::StaffRole;
use shared::{DeviceKind, Role};
use uuid::Uuid;

use crate::audit::{self, Note};
use crate::auth::roles::check_forward;
use crate::auth::Actor;
use crate::error::GatewayError;
use crate::startup::AppState;
use crate::upstream::FORWARDED_REQUEST_HEADERS;

/// Characters left as they are when re-encoding an external id: RFC 3986
/// unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One allow-listed Partner API route (below `/org/{org_id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiRoute {
    /// `/users`: GET list, POST create.
    Users,
    /// `/users/by-ext-id/{external_id}`: GET.
    UserByExternalId(String),
    /// `/users/{user_id}`: GET, PUT, DELETE.
    User(Uuid),
    /// `/users/{user_id}/{kind}`: GET list, POST register.
    Devices(Uuid, DeviceKind),
    /// `/users/{user_id}/{kind}/{device_id}`: GET, PUT, DELETE.
    Device(Uuid, DeviceKind, Uuid),
    /// `/users/{user_id}/{kind}/{device_id}/auth_session`: POST.
    AuthSession(Uuid, DeviceKind, Uuid),
    /// `/users/{user_id}/buildings`: GET list, POST create.
    Buildings(Uuid),
    /// `/users/{user_id}/buildings/{building_id}`: GET, PUT, DELETE.
    Building(Uuid, Uuid),
}

impl ApiRoute {
    /// Methods forwarded on this route.
    pub fn methods(&self) -> &'static [Method] {
        const LIST: &[Method] = &[Method::GET, Method::POST];
        const ITEM: &[Method] = &[Method::GET, Method::PUT, Method::DELETE];
        match self {
            ApiRoute::Users | ApiRoute::Devices(..) | ApiRoute::Buildings(_) => LIST,
            ApiRoute::UserByExternalId(_) => &[Method::GET],
            ApiRoute::User(_) | ApiRoute::Device(..) | ApiRoute::Building(..) => ITEM,
            ApiRoute::AuthSession(..) => &[Method::POST],
        }
    }

    /// The user the route is about (`None` for the whole list and the
    /// by-external-id lookup).
    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            ApiRoute::Users | ApiRoute::UserByExternalId(_) => None,
            ApiRoute::User(u)
            | ApiRoute::Devices(u, _)
            | ApiRoute::Device(u, ..)
            | ApiRoute::AuthSession(u, ..)
            | ApiRoute::Buildings(u)
            | ApiRoute::Building(u, _) => Some(*u),
        }
    }

    /// Upstream path for organisation `org`.
    pub fn upstream_path(&self, org: Uuid) -> String {
        let base = format!("{}/org/{org}/users", shared::API_PREFIX);
        match self {
            ApiRoute::Users => base,
            ApiRoute::UserByExternalId(ext) => {
                format!("{base}/by-ext-id/{}", utf8_percent_encode(ext, SEGMENT))
            }
            ApiRoute::User(u) => format!("{base}/{u}"),
            ApiRoute::Devices(u, k) => format!("{base}/{u}/{}", k.path_segment()),
            ApiRoute::Device(u, k, d) => format!("{base}/{u}/{}/{d}", k.path_segment()),
            ApiRoute::AuthSession(u, k, d) => {
                format!("{base}/{u}/{}/{d}/auth_session", k.path_segment())
            }
            ApiRoute::Buildings(u) => format!("{base}/{u}/buildings"),
            ApiRoute::Building(u, b) => format!("{base}/{u}/buildings/{b}"),
        }
    }
}

/// Split a raw `/api/...` path into decoded segments, refusing tricks.
fn segments(raw_path: &str) -> Result<Vec<String>, GatewayError> {
    let rest = raw_path
        .strip_prefix("/api/")
        .ok_or(GatewayError::RouteNotAllowed)?;
    rest.split('/')
        .map(|raw| {
            if raw.is_empty() {
                return Err(GatewayError::BadPath("empty path segment (`//`)".into()));
            }
            let lower = raw.to_ascii_lowercase();
            if lower.contains("%2f") || lower.contains("%5c") {
                return Err(GatewayError::BadPath(
                    "encoded `/` or `\\` in the path".into(),
                ));
            }
            let decoded = percent_decode_str(raw)
                .decode_utf8()
                .map_err(|_| GatewayError::BadPath("path is not valid UTF-8".into()))?;
            if decoded == "." || decoded == ".." || decoded.contains("..") {
                return Err(GatewayError::BadPath("`.` or `..` in the path".into()));
            }
            if decoded
                .chars()
                .any(|c| c.is_control() || c == '\\' || c == '/')
            {
                return Err(GatewayError::BadPath(
                    "forbidden character in the path".into(),
                ));
            }
            Ok(decoded.into_owned())
        })
        .collect()
}

fn uuid(s: &str, what: &str) -> Result<Uuid, GatewayError> {
    Uuid::parse_str(s).map_err(|_| GatewayError::BadPath(format!("{what} must be a UUID")))
}

/// Parse and check a raw request path: the route and its organisation.
pub fn parse_path(raw_path: &str, pinned_org: Uuid) -> Result<ApiRoute, GatewayError> {
    let segs = segments(raw_path)?;
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let ["partners", "v2.0", "org", org, rest @ ..] = segs.as_slice() else {
        return Err(GatewayError::RouteNotAllowed);
    };
    let org = uuid(org, "organisation id")?;
    if org != pinned_org {
        return Err(GatewayError::OrgForbidden);
    }
    let route = match rest {
        ["users"] => ApiRoute::Users,
        ["users", "by-ext-id", ext] => ApiRoute::UserByExternalId(ext.to_string()),
        ["users", user, tail @ ..] => {
            let user = uuid(user, "user id")?;
            match tail {
                [] => ApiRoute::User(user),
                ["buildings"] => ApiRoute::Buildings(user),
                ["buildings", b] => ApiRoute::Building(user, uuid(b, "building id")?),
                [k, tail @ ..] => {
                    let kind =
                        DeviceKind::from_path_segment(k).ok_or(GatewayError::RouteNotAllowed)?;
                    match tail {
                        [] => ApiRoute::Devices(user, kind),
                        [d] => ApiRoute::Device(user, kind, uuid(d, "device id")?),
                        [d, "auth_session"] => {
                            ApiRoute::AuthSession(user, kind, uuid(d, "device id")?)
                        }
                        _ => return Err(GatewayError::RouteNotAllowed),
                    }
                }
            }
        }
        _ => return Err(GatewayError::RouteNotAllowed),
    };
    Ok(route)
}

/// Keep only `include_deleted=true|false` from the query string.
fn forwarded_query(query: Option<&str>) -> Result<Option<&'static str>, GatewayError> {
    let mut out = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == "include_deleted" {
            out = Some(match v.to_ascii_lowercase().as_str() {
                "true" => "include_deleted=true",
                "false" => "include_deleted=false",
                _ => {
                    return Err(GatewayError::BadQuery(
                        "include_deleted must be true or false".into(),
                    ))
                }
            });
        }
    }
    Ok(out)
}

/// Allow-listed request headers, minus any that `Connection` names.
fn forwarded_headers(incoming: &HeaderMap) -> HeaderMap {
    let named_by_connection: Vec<String> = incoming
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    let mut out = HeaderMap::new();
    for name in FORWARDED_REQUEST_HEADERS.iter() {
        if named_by_connection.iter().any(|n| n == name.as_str()) {
            continue;
        }
        for value in incoming.get_all(name) {
            out.append(HeaderName::clone(name), value.clone());
        }
    }
    out
}

/// Handler for every `/api/...` path other than the gateway's own.
pub async fn forward(
    State(state): State<AppState>,
    actor: Actor,
    Extension(note): Extension<Note>,
    request: Request,
) -> Result<Response, GatewayError> {
    let (parts, body) = request.into_parts();
    let route = parse_path(parts.uri.path(), state.org_id())?;
    if !route.methods().contains(&parts.method) {
        return Err(GatewayError::MethodNotAllowed(route.methods().to_vec()));
    }
    let query = forwarded_query(parts.uri.query())?;
    let limit = state.max_body_bytes();
    if let Some(len) = parts.headers.get(header::CONTENT_LENGTH) {
        if len
            .to_str()
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|n| n > limit as u64)
        {
            return Err(GatewayError::PayloadTooLarge(limit));
        }
    }
    let body = read_body(body, limit).await?;
    validate_user_body(&route, &parts.method, &body)?;
    let is_write = parts.method != Method::GET && parts.method != Method::HEAD;
    let body_json: Value = if is_write {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    // The object as it is now: the "from" of the audit record's changes,
    // and (for a user) the role a staff member may or may not change.
    let before = if parts.method == Method::PUT {
        upstream_json(&state, route.upstream_path(state.org_id())).await
    } else {
        Value::Null
    };
    if is_write {
        let body_role = body_json
            .get("role")
            .and_then(|r| serde_json::from_value::<Role>(r.clone()).ok());
        let target_role = match (&route, actor.role()) {
            (_, r) if r != StaffRole::Staff => None,
            (ApiRoute::User(_), _) if parts.method == Method::PUT => role_of(&before),
            (r, _) => match r.user_id() {
                Some(u) => {
                    let path = ApiRoute::User(u).upstream_path(state.org_id());
                    role_of(&upstream_json(&state, format!("{path}?include_deleted=true")).await)
                }
                None => None,
            },
        };
        // Recorded even when refused or when Podero fails.
        note.changes(match parts.method {
            Method::PUT => audit::diff(&before, &body_json),
            Method::POST => audit::created(&body_json),
            _ => Vec::new(),
        });
        check_forward(actor.role(), &route, &parts.method, body_role, target_role)?;
    }
    let mut target = route.upstream_path(state.org_id());
    if let Some(q) = query {
        target.push('?');
        target.push_str(q);
    }
    let headers = forwarded_headers(&parts.headers);
    let response = state
        .upstream()
        .forward(parts.method.clone(), &target, headers, body)
        .await?;
    if is_write && response.status().is_success() {
        // Users, their devices (counters) or buildings changed: the users
        // list must not keep showing the old state.
        state.directory().request_refresh();
    }
    match route {
        ApiRoute::Users if parts.method == Method::POST && response.status().is_success() => {
            // The new user's id, so their history starts with the creation.
            let (parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, 1024 * 1024).await.map_err(|_| {
                GatewayError::UpstreamBadResponse("created user could not be read".into())
            })?;
            if let Some(id) = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| {
                v.get("id")
                    .and_then(|i| i.as_str())
                    .and_then(|i| Uuid::parse_str(i).ok())
            }) {
                note.target(id);
            }
            Ok(Response::from_parts(parts, Body::from(bytes)))
        }
        ApiRoute::Devices(user, kind) | ApiRoute::Device(user, kind, _)
            if !is_write && response.status().is_success() =>
        {
            observe_devices(&state, route.clone(), user, kind, response).await
        }
        _ => Ok(response),
    }
}

/// `GET` a Partner API path as JSON (`Null` if that fails: the call being
/// checked then meets the same failure and reports it).
async fn upstream_json(state: &AppState, path: String) -> Value {
    state
        .upstream()
        .get_json::<Value>(&path)
        .await
        .unwrap_or(Value::Null)
}

fn role_of(user: &Value) -> Option<Role> {
    user.get("role")
        .and_then(|r| serde_json::from_value(r.clone()).ok())
}

/// Let the reconnection report learn from device reads passing through
/// (small bodies: a user's devices of one kind), then answer them unchanged.
async fn observe_devices(
    state: &AppState,
    route: ApiRoute,
    user: Uuid,
    kind: DeviceKind,
    response: Response,
) -> Result<Response, GatewayError> {
    use crate::directory::scan::Observed;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .map_err(|_| GatewayError::UpstreamBadResponse("device answer could not be read".into()))?;
    let snapshot = state.directory().current();
    let owner = snapshot.as_ref().and_then(|s| s.get(user));
    let scanner = state.directory().scanner();
    if matches!(route, ApiRoute::Devices(..)) {
        if let Ok(list) = serde_json::from_slice::<Vec<shared::DeviceCommon>>(&bytes) {
            scanner.observe(owner.as_ref(), user, kind, Observed::List(&list));
        }
    } else if let Ok(one) = serde_json::from_slice::<shared::DeviceCommon>(&bytes) {
        scanner.observe(owner.as_ref(), user, kind, Observed::One(&one));
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

/// Check user create / update bodies with the `shared` validation (the
/// checks the app shows next to each field) before they reach Podero, so a
/// bad e-mail or customer number gets the same message whichever client
/// sent it. The body is forwarded as sent.
fn validate_user_body(route: &ApiRoute, method: &Method, body: &Bytes) -> Result<(), GatewayError> {
    let unreadable = |e: serde_json::Error| {
        GatewayError::InvalidBody(vec![shared::FieldError::new(
            "body",
            format!("the request body is not a valid user: {e}"),
        )])
    };
    match (route, method) {
        (ApiRoute::Users, &Method::POST) => serde_json::from_slice::<shared::CreateUser>(body)
            .map_err(unreadable)?
            .validate()
            .map_err(GatewayError::InvalidBody),
        (ApiRoute::User(_), &Method::PUT) => serde_json::from_slice::<shared::UpdateUser>(body)
            .map_err(unreadable)?
            .validate()
            .map_err(GatewayError::InvalidBody),
        _ => Ok(()),
    }
}

pub(crate) async fn read_body(body: Body, limit: usize) -> Result<Bytes, GatewayError> {
    use http_body_util::BodyExt;
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(GatewayError::PayloadTooLarge(limit))
        }
        Err(_) => Err(GatewayError::BadBody),
    }
}

/// `/api` and `/api/` themselves.
pub async fn not_allowed() -> GatewayError {
    GatewayError::RouteNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = "7f8a3c1e-0000-4000-8000-000000000001";
    const U: &str = "11111111-2222-4333-8444-555555555555";

    fn org() -> Uuid {
        ORG.parse().unwrap()
    }

    fn p(rest: &str) -> Result<ApiRoute, GatewayError> {
        parse_path(&format!("/api/partners/v2.0/org/{ORG}{rest}"), org())
    }

    #[test]
    fn allowed_routes() {
        let u: Uuid = U.parse().unwrap();
        assert_eq!(p("/users").unwrap(), ApiRoute::Users);
        assert_eq!(p(&format!("/users/{U}")).unwrap(), ApiRoute::User(u));
        assert_eq!(
            p("/users/by-ext-id/a%20b%C3%A4").unwrap(),
            ApiRoute::UserByExternalId("a bä".into())
        );
        assert_eq!(
            p(&format!("/users/{U}/wallboxes/{U}/auth_session")).unwrap(),
            ApiRoute::AuthSession(u, DeviceKind::Wallbox, u)
        );
        assert_eq!(
            p(&format!("/users/{U}/buildings/{U}")).unwrap(),
            ApiRoute::Building(u, u)
        );
        assert_eq!(
            p(&format!("/users/{U}/electric-vehicles")).unwrap(),
            ApiRoute::Devices(u, DeviceKind::ElectricVehicle)
        );
    }

    #[test]
    fn refused() {
        for (rest, code) in [
            ("/users/..", "bad_path"),
            ("/users/%2e%2e", "bad_path"),
            ("/users/%2E", "bad_path"),
            ("/users/by-ext-id/a%2Fb", "bad_path"),
            ("/users/by-ext-id/a%5cb", "bad_path"),
            ("/users/by-ext-id/a%00b", "bad_path"),
            ("/users/by-ext-id/", "bad_path"),
            ("//users", "bad_path"),
            ("/users/not-a-uuid", "bad_path"),
            ("/users/x/heat-pumps", "bad_path"),
            (&format!("/users/{U}/energy-contracts"), "route_not_allowed"),
            (
                &format!("/users/{U}/heat-pumps/{U}/data"),
                "route_not_allowed",
            ),
            ("/devices", "route_not_allowed"),
        ] {
            assert_eq!(p(rest).unwrap_err().code(), code, "{rest}");
        }
        let other = "/api/partners/v2.0/org/00000000-0000-4000-8000-000000000000/users";
        assert_eq!(
            parse_path(other, org()).unwrap_err().code(),
            "org_forbidden"
        );
        assert_eq!(
            parse_path("/api/unknown", org()).unwrap_err().code(),
            "route_not_allowed"
        );
    }

    #[test]
    fn external_id_is_reencoded() {
        let r = ApiRoute::UserByExternalId("a b?#ä".into());
        assert!(r
            .upstream_path(org())
            .ends_with("/by-ext-id/a%20b%3F%23%C3%A4"));
    }

    #[test]
    fn query_filter() {
        assert_eq!(
            forwarded_query(Some("a=1&include_deleted=TRUE")).unwrap(),
            Some("include_deleted=true")
        );
        assert_eq!(forwarded_query(Some("x=y")).unwrap(), None);
        assert!(forwarded_query(Some("include_deleted=1;drop")).is_err());
    }

    #[test]
    fn header_filter() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=b".parse().unwrap());
        h.insert(header::AUTHORIZATION, "Bearer x".parse().unwrap());
        h.insert(header::ACCEPT, "application/json".parse().unwrap());
        h.insert(header::ACCEPT_LANGUAGE, "de".parse().unwrap());
        h.insert(header::CONNECTION, "accept-language".parse().unwrap());
        let out = forwarded_headers(&h);
        assert_eq!(out.len(), 1);
        assert!(out.contains_key(header::ACCEPT));
    }
}
