//! The allow-list of Partner API routes, parsed once from the request path.
//!
//! [`parse_path`] splits the raw (still percent-encoded) `/api/...` path
//! into segments and checks them before anything is sent: path tricks
//! (`.`/`..` segments, also when percent-encoded, empty segments, encoded
//! `/` or `\`, control characters) are refused with 400, ids must be UUIDs
//! (400), the organisation must be the configured one (403), and only the
//! routes of [`ApiRoute`] are known (404). The upstream path is rebuilt
//! from the parsed route by [`ApiRoute::upstream_path`], never copied from
//! the request, so only what was checked reaches Podero. The guard parses a
//! request's route once and hands it on in the request's extensions.

use axum::http::Method;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use shared::audit_action::AuditAction;
use shared::DeviceKind;
use uuid::Uuid;

use crate::error::{GatewayError, Msg};
use crate::request::is_write;

/// Characters left as they are when re-encoding an external id: RFC 3986
/// unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Longest path segment accepted (an external id is far shorter).
const MAX_SEGMENT: usize = 256;

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

    /// The audit action of `method` on this route (`read` for GET/HEAD).
    pub fn action(&self, method: &Method) -> AuditAction {
        let read = !is_write(method);
        let delete = *method == Method::DELETE;
        match self {
            ApiRoute::Users if read => AuditAction::UsersList,
            ApiRoute::Users => AuditAction::UserCreate,
            ApiRoute::UserByExternalId(_) => AuditAction::UserFindByExternalId,
            ApiRoute::User(_) if read => AuditAction::UserRead,
            ApiRoute::User(_) if delete => AuditAction::UserArchive,
            ApiRoute::User(_) => AuditAction::UserUpdate,
            ApiRoute::Devices(..) if read => AuditAction::DeviceList,
            ApiRoute::Devices(..) => AuditAction::DeviceRegister,
            ApiRoute::Device(..) if read => AuditAction::DeviceRead,
            ApiRoute::Device(..) if delete => AuditAction::DeviceDelete,
            ApiRoute::Device(..) => AuditAction::DeviceUpdate,
            ApiRoute::AuthSession(..) => AuditAction::DeviceReconnectionLink,
            ApiRoute::Buildings(_) if read => AuditAction::BuildingList,
            ApiRoute::Buildings(_) => AuditAction::BuildingCreate,
            ApiRoute::Building(..) if read => AuditAction::BuildingRead,
            ApiRoute::Building(..) if delete => AuditAction::BuildingDelete,
            ApiRoute::Building(..) => AuditAction::BuildingUpdate,
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

/// Whether `path` is below the Partner API prefix (and so a forwarded route
/// or a refused one, never a gateway endpoint).
pub fn is_partner_api(path: &str) -> bool {
    path.starts_with(shared::API_PREFIX)
}

/// Split a raw `/api/...` path into decoded segments, refusing tricks.
fn segments(raw_path: &str) -> Result<Vec<String>, GatewayError> {
    let rest = raw_path
        .strip_prefix("/api/")
        .ok_or(GatewayError::RouteNotAllowed)?;
    rest.split('/')
        .map(|raw| {
            if raw.is_empty() {
                return Err(GatewayError::BadPath(Msg::new("error.path.empty_segment")));
            }
            if raw.len() > MAX_SEGMENT * 3 {
                return Err(GatewayError::BadPath(
                    Msg::new("error.path.segment_too_long").with("max", MAX_SEGMENT),
                ));
            }
            let lower = raw.to_ascii_lowercase();
            if lower.contains("%2f") || lower.contains("%5c") {
                return Err(GatewayError::BadPath(Msg::new("error.path.encoded_slash")));
            }
            let decoded = percent_decode_str(raw)
                .decode_utf8()
                .map_err(|_| GatewayError::BadPath(Msg::new("error.path.not_utf8")))?;
            if decoded == "." || decoded == ".." || decoded.contains("..") {
                return Err(GatewayError::BadPath(Msg::new("error.path.dots")));
            }
            if decoded
                .chars()
                .any(|c| c.is_control() || c == '\\' || c == '/')
            {
                return Err(GatewayError::BadPath(Msg::new(
                    "error.path.forbidden_character",
                )));
            }
            Ok(decoded.into_owned())
        })
        .collect()
}

/// `s` as a UUID; `what` is the catalog key of the error (`error.path.*_id`).
fn uuid(s: &str, what: &'static str) -> Result<Uuid, GatewayError> {
    Uuid::parse_str(s).map_err(|_| GatewayError::BadPath(Msg::new(what)))
}

/// Parse and check a raw request path: the route and its organisation.
pub fn parse_path(raw_path: &str, pinned_org: Uuid) -> Result<ApiRoute, GatewayError> {
    let segs = segments(raw_path)?;
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let ["partners", "v2.0", "org", org, rest @ ..] = segs.as_slice() else {
        return Err(GatewayError::RouteNotAllowed);
    };
    let org = uuid(org, "error.path.organisation_id")?;
    if org != pinned_org {
        return Err(GatewayError::OrgForbidden);
    }
    let route = match rest {
        ["users"] => ApiRoute::Users,
        ["users", "by-ext-id", ext] => ApiRoute::UserByExternalId(ext.to_string()),
        ["users", user, tail @ ..] => {
            let user = uuid(user, "error.path.user_id")?;
            match tail {
                [] => ApiRoute::User(user),
                ["buildings"] => ApiRoute::Buildings(user),
                ["buildings", b] => ApiRoute::Building(user, uuid(b, "error.path.building_id")?),
                [k, tail @ ..] => {
                    let kind =
                        DeviceKind::from_path_segment(k).ok_or(GatewayError::RouteNotAllowed)?;
                    match tail {
                        [] => ApiRoute::Devices(user, kind),
                        [d] => ApiRoute::Device(user, kind, uuid(d, "error.path.device_id")?),
                        [d, "auth_session"] => {
                            ApiRoute::AuthSession(user, kind, uuid(d, "error.path.device_id")?)
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

/// The one query parameter forwarded: `include_deleted=true|false`
/// (decoded by `form_urlencoded`; other parameters are dropped).
pub fn include_deleted(query: Option<&str>) -> Result<Option<bool>, GatewayError> {
    let mut out = None;
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if k == "include_deleted" {
            out = Some(match v.to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(GatewayError::BadQuery(Msg::new(
                        "error.query.include_deleted",
                    )))
                }
            });
        }
    }
    Ok(out)
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
        let long = format!("/users/by-ext-id/{}", "a".repeat(800));
        for (rest, code) in [
            ("/users/..", "bad_path"),
            ("/users/%2e%2e", "bad_path"),
            ("/users/%2E", "bad_path"),
            ("/users/by-ext-id/a%2Fb", "bad_path"),
            ("/users/by-ext-id/a%5cb", "bad_path"),
            ("/users/by-ext-id/a%00b", "bad_path"),
            ("/users/by-ext-id/%FF", "bad_path"),
            ("/users/by-ext-id/", "bad_path"),
            (long.as_str(), "bad_path"),
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
            include_deleted(Some("a=1&include_deleted=TRUE")).unwrap(),
            Some(true)
        );
        assert_eq!(include_deleted(Some("x=y&%zz")).unwrap(), None);
        assert!(include_deleted(Some("include_deleted=1;drop")).is_err());
    }

    #[test]
    fn actions() {
        let u = Uuid::nil();
        let k = DeviceKind::HeatPump;
        assert_eq!(ApiRoute::User(u).action(&Method::PUT).code(), "user.update");
        assert_eq!(
            ApiRoute::User(u).action(&Method::DELETE).code(),
            "user.archive"
        );
        assert_eq!(ApiRoute::Users.action(&Method::GET).code(), "users.list");
        assert_eq!(
            ApiRoute::AuthSession(u, k, u).action(&Method::POST).code(),
            "device.reconnection_link"
        );
        assert_eq!(
            ApiRoute::Building(u, u).action(&Method::GET).code(),
            "building.read"
        );
    }
}
